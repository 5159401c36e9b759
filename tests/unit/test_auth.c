/*
 * test_auth.c - auth.c: what a 407's Proxy-Authenticate fields offer and
 * the token after a scheme, the choice of a scheme (auto: Negotiate, then
 * NTLM, then Basic only when it is all that is offered), which schemes
 * credentials allow, and handshake sessions over the mechanism table
 * (Basic in one leg, NTLM in two).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "base64.h"
#include "headers.h"
#include "ntlm.h"

#define B AUTH_BIT(AUTH_BASIC)
#define L AUTH_BIT(AUTH_NTLM)
#define N AUTH_BIT(AUTH_NEGOTIATE)

static void
test_offered_and_challenge(void **state)
{
    struct hdr_list h;

    (void)state;
    hdr_init(&h);
    assert_int_equal(auth_offered(&h), 0);
    assert_int_equal(hdr_add(&h, "WWW-Authenticate", "NTLM"), 0);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "NTLMX abc"), 0);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "Digest realm=x"), 0);
    /* Neither a 401's field, an unknown scheme nor a longer name count. */
    assert_int_equal(auth_offered(&h), 0);
    assert_null(auth_challenge(&h, AUTH_NTLM));

    assert_int_equal(hdr_add(&h, "proxy-authenticate", "ntlm"), 0);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "Basic realm=\"corp\""),
                     0);
    assert_int_equal(auth_offered(&h), L | B);
    assert_string_equal(auth_challenge(&h, AUTH_NTLM), "");
    assert_string_equal(auth_challenge(&h, AUTH_BASIC), "realm=\"corp\"");
    assert_null(auth_challenge(&h, AUTH_NEGOTIATE));
    assert_null(auth_challenge(&h, AUTH_NONE));

    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "Negotiate\t YIIB"), 0);
    assert_int_equal(auth_offered(&h), L | B | N);
    assert_string_equal(auth_challenge(&h, AUTH_NEGOTIATE), "YIIB");
    hdr_free(&h);

    /* The first NTLM field with its token. */
    hdr_init(&h);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "NTLM TlRMTVNT"), 0);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate", "NTLM other"), 0);
    assert_string_equal(auth_challenge(&h, AUTH_NTLM), "TlRMTVNT");
    hdr_free(&h);
}

static void
test_choose(void **state)
{
    static const struct {
        unsigned offered;
        enum auth_want want;
        unsigned usable;
        enum auth_scheme want_scheme;
    } v[] = {
        {N | L | B, AUTH_WANT_AUTO, N | L | B, AUTH_NEGOTIATE},
        {N | L | B, AUTH_WANT_AUTO, L | B, AUTH_NTLM},
        {L | B, AUTH_WANT_AUTO, L | B, AUTH_NTLM},
        {N | B, AUTH_WANT_AUTO, L | B, AUTH_NONE}, /* Basic not alone */
        {L | B, AUTH_WANT_AUTO, B, AUTH_NONE},
        {B, AUTH_WANT_AUTO, B, AUTH_BASIC}, /* Basic alone */
        {B, AUTH_WANT_AUTO, L, AUTH_NONE},
        {0, AUTH_WANT_AUTO, N | L | B, AUTH_NONE},
        {N, AUTH_WANT_AUTO, L | B, AUTH_NONE},
        {N | L | B, AUTH_WANT_AUTO, 0, AUTH_NONE},
        {N | L, AUTH_WANT_NTLM, N | L | B, AUTH_NTLM},
        {N, AUTH_WANT_NTLM, N | L | B, AUTH_NONE},
        {L, AUTH_WANT_NTLM, B, AUTH_NONE},
        {L | B, AUTH_WANT_BASIC, B, AUTH_BASIC}, /* asked for: not alone */
        {L, AUTH_WANT_BASIC, B, AUTH_NONE},
        {N | L, AUTH_WANT_NEGOTIATE, N, AUTH_NEGOTIATE},
        {N | L, AUTH_WANT_NEGOTIATE, L, AUTH_NONE},
        {N | L | B, AUTH_WANT_NONE, N | L | B, AUTH_NONE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (auth_choose(v[i].offered, v[i].want, v[i].usable) !=
            v[i].want_scheme)
            fail_msg("row %zu: got %s", i,
                     auth_scheme_name(
                         auth_choose(v[i].offered, v[i].want, v[i].usable)));
}

static void
test_usable(void **state)
{
    static const uint8_t hash[16] = {1};
    struct auth_cred c;

    (void)state;
    memset(&c, 0, sizeof(c));
    /* No user: NTLM only as the own logon (test_ntlm_own_logon). */
    assert_int_equal(auth_usable(&c) & (B | L),
                     WSUS_EXPECT_NTLM_LOGON ? L : 0);
    c.ac_user = "CORP\\alice";
    assert_int_equal(auth_usable(&c) & (B | L), 0);
    c.ac_password = "pw";
    assert_int_equal(auth_usable(&c) & (B | L), B | L);
    c.ac_password = NULL;
    c.ac_nt_hash = hash; /* a hash is enough for NTLM, not for Basic */
    assert_int_equal(auth_usable(&c) & (B | L), L);
    assert_string_equal(auth_scheme_name(AUTH_NTLM), "NTLM");
    assert_string_equal(auth_scheme_name(AUTH_NONE), "none");
}

struct auth_case {
    const char *user, *pw, *want;
};

static const struct auth_case auth_cases[] = {
    /* RFC 7617 §2 example */
    {"Aladdin", "open sesame", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="},
    {"u", "p", "Basic dTpw"}, /* 3 bytes: no padding */
    {"ab", "", "Basic YWI6"}, /* 3 bytes */
    {"a", "", "Basic YTo="},  /* 2 bytes: one '=' */
    {"", "", "Basic Og=="},   /* 1 byte: two '=' */
    {"DOMAIN\\user", "p\xc3\xa4ss", "Basic RE9NQUlOXHVzZXI6cMOkc3M="},
    {"user", "pw:with:colons", "Basic dXNlcjpwdzp3aXRoOmNvbG9ucw=="},
};

static void
test_basic_auth(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
        struct auth_cred c = {
            auth_cases[i].user, auth_cases[i].pw, NULL, NULL, NULL, NULL};
        char err[128], *s = auth_basic_value(&c, err, sizeof(err));

        assert_non_null(s);
        if (strcmp(s, auth_cases[i].want) != 0)
            fail_msg("case %zu: '%s' want '%s'", i, s, auth_cases[i].want);
        auth_value_free(s);
    }
}

/* No user or no password: no Basic value, and a reason. */
static void
test_basic_value_needs_both(void **state)
{
    struct auth_cred c = {"alice", NULL, NULL, NULL, NULL, NULL};
    char err[128] = "";

    (void)state;
    assert_null(auth_basic_value(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "Basic"));
    c.ac_user = NULL;
    c.ac_password = "pw";
    assert_null(auth_basic_value(&c, err, sizeof(err)));
}

/* NTLM with no user: the process's own logon where the platform has one
 * (SSPI on Windows: a session starts and its first leg is a NEGOTIATE
 * message, or it fails naming the call and the package), never usable
 * elsewhere. Negotiate's usability is not touched. */
static void
test_ntlm_own_logon(void **state)
{
    struct auth_cred none = {NULL, NULL, NULL, NULL, NULL, NULL};
    struct auth_cred user = {"alice", NULL, NULL, NULL, NULL, NULL};
    struct auth_sess *a;
    char err[512] = "", *v = NULL;

    (void)state;
    assert_int_equal((auth_usable(&none) & AUTH_BIT(AUTH_NTLM)) != 0,
                     WSUS_EXPECT_NTLM_LOGON);
    assert_int_equal(auth_usable(&user) & AUTH_BIT(AUTH_NTLM), 0);
    assert_int_equal(auth_mech_ntlm_logon != NULL, WSUS_EXPECT_NTLM_LOGON);
    a = auth_sess_new(AUTH_NTLM, &none, "proxy", err, sizeof(err));
    if (!WSUS_EXPECT_NTLM_LOGON) {
        assert_null(a);
        assert_non_null(strstr(err, "NTLM needs user"));
        return;
    }
    if (a == NULL) {
        /* Wine without Samba's ntlm_auth has no NTLM package to run. */
        assert_non_null(strstr(err, "NTLM: AcquireCredentialsHandle(NTLM, "
                                    "own logon)"));
        return;
    }
    assert_int_equal(auth_sess_scheme(a), AUTH_NTLM);
    if (auth_sess_step(a, NULL, &v, err, sizeof(err)) == 0) {
        /* "NTLM " + base64 of "NTLMSSP\0" + type 1 */
        assert_true(strncmp(v, "NTLM TlRMTVNTUAABAAAA", 21) == 0);
        assert_int_equal(auth_sess_sent_last(a), 0);
        auth_value_free(v);
    } else {
        assert_non_null(strstr(err, "NTLM: "));
    }
    auth_sess_free(a);
}

static void
test_basic_session(void **state)
{
    struct auth_cred c = {"alice", "open sesame", NULL, NULL, NULL, NULL};
    struct auth_sess *a;
    char err[128], *v;

    (void)state;
    a = auth_sess_new(AUTH_BASIC, &c, "proxy", err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(auth_sess_step(a, NULL, &v, err, sizeof(err)), 0);
    assert_string_equal(v, "Basic YWxpY2U6b3BlbiBzZXNhbWU=");
    assert_int_equal(auth_sess_sent_last(a), 1);
    auth_value_free(v);
    assert_int_equal(auth_sess_step(a, NULL, &v, err, sizeof(err)), -1);
    assert_null(v);
    auth_sess_free(a);
    assert_null(auth_sess_new(AUTH_NONE, &c, "proxy", err, sizeof(err)));
}

/* [MS-NLMP] 4.2.4.3's CHALLENGE_MESSAGE, base64. */
static const char spec_challenge_b64[] =
    "TlRMTVNTUAACAAAADAAMADgAAAAzgoriASNFZ4mrze8AAAAAAAAAACQAJABEAAAABgBw"
    "FwAAAA9TAGUAcgB2AGUAcgACAAwARABvAG0AYQBpAG4AAQAMAFMAZQByAHYAZQByAAAA"
    "AAA=";

static void
test_ntlm_session(void **state)
{
    struct auth_cred c = {"Domain\\User", "Password", NULL, NULL, NULL, NULL};
    uint8_t neg[NTLM_NEGOTIATE_LEN], t3[512];
    char want[BASE64_LEN(NTLM_NEGOTIATE_LEN) + 6], err[128], *v;
    struct auth_sess *a;
    size_t n;

    (void)state;
    a = auth_sess_new(AUTH_NTLM, &c, "proxy", err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(auth_sess_scheme(a), AUTH_NTLM);
    /* Leg 1: our NEGOTIATE_MESSAGE. */
    assert_int_equal(auth_sess_step(a, NULL, &v, err, sizeof(err)), 0);
    ntlm_negotiate(neg);
    memcpy(want, "NTLM ", 5);
    base64_encode(neg, sizeof(neg), want + 5);
    assert_string_equal(v, want);
    assert_int_equal(auth_sess_sent_last(a), 0);
    auth_value_free(v);
    /* Leg 2 without a challenge, or with bad base64: refused, and the
     * session can still take the real one. */
    assert_int_equal(auth_sess_step(a, NULL, &v, err, sizeof(err)), -1);
    assert_int_equal(auth_sess_step(a, "TlRM!", &v, err, sizeof(err)), -1);
    /* Leg 2: the AUTHENTICATE_MESSAGE, the last. */
    assert_int_equal(
        auth_sess_step(a, spec_challenge_b64, &v, err, sizeof(err)), 0);
    assert_int_equal(auth_sess_sent_last(a), 1);
    assert_memory_equal(v, "NTLM ", 5);
    assert_int_equal(base64_decode(v + 5, t3, sizeof(t3), &n), 0);
    assert_memory_equal(t3, "NTLMSSP\0\3\0\0\0", 12);
    /* User and domain as split from "Domain\User", in UTF-16LE. */
    assert_memory_equal(t3 + 88, "D\0o\0m\0a\0i\0n\0U\0s\0e\0r\0", 20);
    auth_value_free(v);
    assert_int_equal(
        auth_sess_step(a, spec_challenge_b64, &v, err, sizeof(err)), -1);
    auth_sess_free(a);

    /* A malformed challenge (a NEGOTIATE sent back) is an error with a
     * message, never a token. */
    a = auth_sess_new(AUTH_NTLM, &c, "proxy", err, sizeof(err));
    assert_int_equal(auth_sess_step(a, NULL, &v, err, sizeof(err)), 0);
    auth_value_free(v);
    err[0] = '\0';
    assert_int_equal(auth_sess_step(a, want + 5, &v, err, sizeof(err)), -1);
    assert_null(v);
    assert_non_null(strstr(err, "challenge"));
    auth_sess_free(a);

    /* Credentials NTLM cannot use; a user it cannot split. */
    c.ac_password = NULL;
    assert_null(auth_sess_new(AUTH_NTLM, &c, "proxy", err, sizeof(err)));
    c.ac_password = "x";
    c.ac_user = "CORP\\";
    assert_null(auth_sess_new(AUTH_NTLM, &c, "proxy", err, sizeof(err)));
    assert_non_null(strstr(err, "DOMAIN\\user"));
}

/* One field listing several challenges (RFC 9110 11.6.1), split into one
 * field each, parameters kept with their challenge, quoted commas kept. */
static void
test_challenges_split(void **state)
{
    static const struct {
        const char *in[3];
        const char *out[5];
    } v[] = {
        {{"Negotiate, NTLM, Basic realm=\"corp\"", NULL},
         {"Negotiate", "NTLM", "Basic realm=\"corp\"", NULL}},
        {{"Basic realm=\"a, b\", charset=\"UTF-8\", NTLM TlRMTVNTUAAC==", NULL},
         {"Basic realm=\"a, b\", charset=\"UTF-8\"",
          "NTLM TlRMTVNTUAAC==", NULL}},
        {{"NTLM", "Digest realm=x, nonce=\"1\", Negotiate YIIB", NULL},
         {"NTLM", "Digest realm=x, nonce=\"1\"", "Negotiate YIIB", NULL}},
        {{" ,NTLM ,, ", NULL}, {"NTLM", NULL}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct hdr_list h;
        size_t k = 0;
        hdr_init(&h);
        assert_int_equal(hdr_add(&h, "Via", "1.1 p"), 0);
        for (size_t j = 0; v[i].in[j] != NULL; j++)
            assert_int_equal(hdr_add(&h, "Proxy-Authenticate", v[i].in[j]), 0);
        assert_int_equal(auth_challenges_split(&h), 0);
        assert_string_equal(hdr_get(&h, "Via"), "1.1 p");
        for (size_t j = 0; j < h.hl_n; j++) {
            if (strcmp(h.hl_v[j].h_name, "Proxy-Authenticate") != 0)
                continue;
            if (v[i].out[k] == NULL)
                fail_msg("row %zu: extra challenge '%s'", i, h.hl_v[j].h_value);
            assert_string_equal(h.hl_v[j].h_value, v[i].out[k]);
            k++;
        }
        assert_null(v[i].out[k]);
        hdr_free(&h);
    }
    /* Then read as separate fields. */
    struct hdr_list h;
    hdr_init(&h);
    assert_int_equal(hdr_add(&h, "Proxy-Authenticate",
                             "Negotiate, NTLM TlRM, Basic realm=x"),
                     0);
    assert_int_equal(auth_challenges_split(&h), 0);
    assert_int_equal(auth_offered(&h), AUTH_BIT(AUTH_NEGOTIATE) |
                                           AUTH_BIT(AUTH_NTLM) |
                                           AUTH_BIT(AUTH_BASIC));
    assert_string_equal(auth_challenge(&h, AUTH_NTLM), "TlRM");
    hdr_free(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenges_split),
        cmocka_unit_test(test_offered_and_challenge),
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_usable),
        cmocka_unit_test(test_basic_session),
        cmocka_unit_test(test_ntlm_own_logon),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_basic_value_needs_both),
        cmocka_unit_test(test_ntlm_session),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
