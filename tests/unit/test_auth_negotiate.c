/*
 * test_auth_negotiate.c - the Negotiate mechanism of this build (GSSAPI on
 * POSIX, SSPI on Windows under Wine) through auth.h's session API, with no
 * KDC: what must hold whatever credentials the host has.
 *
 * - A parent given by address is refused before any Kerberos call, with
 *   a message that says to use its name or spn; spn lifts that.
 * - A session toward a name no KDC knows gives either a first token
 *   ("Negotiate <base64>" whose bytes are a SPNEGO/GSS-API token or an
 *   NTLM message) or a clear error that starts with "Negotiate" and is
 *   printable text; never an empty message, never a crash.
 * The real handshake is tests/integration/test_negotiate.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "base64.h"

static void
assert_clear_error(const char *err)
{
    size_t n = strlen(err);

    assert_true(n > 12);
    assert_true(strncmp(err, "Negotiate", 9) == 0);
    for (size_t i = 0; i < n; i++)
        assert_true(err[i] >= 0x20 && err[i] < 0x7f);
}

static void
test_address_refused(void **state)
{
    static const char *const hosts[] = {"127.0.0.1", "10.1.2.3", "::1", "[::1]",
                                        "[2001:db8::5]"};
    struct auth_cred c;
    char err[512];

    (void)state;
    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        err[0] = '\0';
        assert_null(
            auth_sess_new(AUTH_NEGOTIATE, &c, hosts[i], err, sizeof(err)));
        assert_non_null(strstr(err, "is an address"));
        assert_non_null(strstr(err, "spn"));
        assert_non_null(strstr(err, hosts[i]));
        assert_clear_error(err);
    }
}

static void
test_no_host(void **state)
{
    struct auth_cred c;
    char err[512] = "";

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_null(auth_sess_new(AUTH_NEGOTIATE, &c, "", err, sizeof(err)));
    assert_non_null(strstr(err, "no parent host name"));
}

/* A session toward host (with cred c): a token or a clear error. */
static void
token_or_clear_error(const struct auth_cred *c, const char *host)
{
    struct auth_sess *a;
    char err[512] = "", *v = NULL;

    a = auth_sess_new(AUTH_NEGOTIATE, c, host, err, sizeof(err));
    if (a == NULL) {
        assert_null(strstr(err, "is an address"));
        assert_clear_error(err);
        return;
    }
    assert_int_equal(auth_sess_scheme(a), AUTH_NEGOTIATE);
    if (auth_sess_step(a, NULL, &v, err, sizeof(err)) == -1) {
        assert_null(v);
        assert_clear_error(err);
    } else {
        unsigned char tok[4096];
        size_t n = 0;
        assert_non_null(v);
        assert_true(strncmp(v, "Negotiate ", 10) == 0);
        assert_int_equal(base64_decode(v + 10, tok, sizeof(tok), &n), 0);
        assert_true(n > 8);
        /* [APPLICATION 0] (SPNEGO NegTokenInit, or raw Kerberos) or
         * an NTLM Type 1 from SSPI's fallback. */
        assert_true(tok[0] == 0x60 || memcmp(tok, "NTLMSSP", 8) == 0);
        auth_value_free(v);
    }
    auth_sess_free(a);
}

static void
test_unknown_parent(void **state)
{
    struct auth_cred c;

    (void)state;
    memset(&c, 0, sizeof(c));
    token_or_clear_error(&c, "proxy.invalid");
}

static void
test_spn_overrides_address(void **state)
{
    struct auth_cred c;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.ac_spn = "HTTP@proxy.invalid";
    token_or_clear_error(&c, "127.0.0.1");
    c.ac_spn = "HTTP/proxy.invalid@EXAMPLE.INVALID";
    token_or_clear_error(&c, "127.0.0.1");
}

static void
test_keytab_missing(void **state)
{
    struct auth_cred c;
    char err[512] = "";
    struct auth_sess *a;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.ac_keytab = "no-such-dir/client.keytab";
    c.ac_principal = "wsus@EXAMPLE.INVALID";
    /* POSIX: not usable, and a session fails naming the keytab problem;
     * Windows ignores keytabs (SSPI uses the logon): token or error. */
    a = auth_sess_new(AUTH_NEGOTIATE, &c, "proxy.invalid", err, sizeof(err));
    if (a == NULL)
        assert_clear_error(err);
    auth_sess_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_refused),
        cmocka_unit_test(test_no_host),
        cmocka_unit_test(test_unknown_parent),
        cmocka_unit_test(test_spn_overrides_address),
        cmocka_unit_test(test_keytab_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
