/*
 * test_svcacct.c - `install --account` words, by table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "svcacct.h"

static void
test_resolve(void **state)
{
    static const struct {
        const char *word;
        int rc;
        enum svcacct_kind kind;
        const char *name;
        int password, logon, network;
        const char *msg;
    } v[] = {
        {NULL, 0, SVCACCT_LOCAL_SYSTEM, "", 0, 0, 1, NULL},
        {"localsystem", 0, SVCACCT_LOCAL_SYSTEM, "", 0, 0, 1, NULL},
        {"NetworkService", 0, SVCACCT_NETWORK_SERVICE,
         "NT AUTHORITY\\NetworkService", 0, 0, 1, NULL},
        {"nt authority\\networkservice", 0, SVCACCT_NETWORK_SERVICE,
         "NT AUTHORITY\\NetworkService", 0, 0, 1, NULL},
        {"LocalService", 0, SVCACCT_LOCAL_SERVICE, "NT AUTHORITY\\LocalService",
         0, 0, 0, NULL},
        {"CORP\\svc-wsus", 0, SVCACCT_USER, "CORP\\svc-wsus", 1, 1, 1, NULL},
        {".\\wsusshim", 0, SVCACCT_USER, ".\\wsusshim", 1, 1, 1, NULL},
        {"svc-wsus@corp.example", 0, SVCACCT_USER, "svc-wsus@corp.example", 1,
         1, 1, NULL},
        {"CORP\\gmsa-wsus$", 0, SVCACCT_GMSA, "CORP\\gmsa-wsus$", 0, 1, 1,
         NULL},
        {"svc-wsus", -1, 0, NULL, 0, 0, 0, "give DOMAIN\\user"},
        {"", -1, 0, NULL, 0, 0, 0, "is not an account name"},
        {"CORP\\a:b", -1, 0, NULL, 0, 0, 0, "is not an account name"},
        {"CORP\\\"x\"", -1, 0, NULL, 0, 0, 0, "is not an account name"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct svcacct a;
        char err[200] = "";
        int rc = svcacct_resolve(v[i].word, &a, err, sizeof(err));
        if (rc != v[i].rc)
            fail_msg("row %zu: rc %d (%s)", i, rc, err);
        if (rc == -1) {
            assert_non_null(strstr(err, v[i].msg));
            continue;
        }
        assert_int_equal(a.sa_kind, v[i].kind);
        assert_string_equal(a.sa_name, v[i].name);
        assert_int_equal(a.sa_password, v[i].password);
        assert_int_equal(a.sa_logon_right, v[i].logon);
        assert_int_equal(a.sa_network_id, v[i].network);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
