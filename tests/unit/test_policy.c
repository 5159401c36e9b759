/*
 * test_policy.c - CIDR parsing and matching, host patterns, IP literals.
 * These decide who may use the proxy and where it may go, so the vectors
 * are the classic ACL bugs: host bits beyond the prefix, /0 and full
 * prefixes, IPv4-mapped IPv6 clients slipping past IPv4 rules, sloppy
 * inet_aton forms (octal, short, decimal), suffix matches without a dot
 * boundary, case, and trailing dots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

struct cidr_vec {
    const char *in;
    int rc;
    int family, bits;
};

static void
test_cidr_parse(void **state)
{
    static const struct cidr_vec v[] = {
        {"0.0.0.0/0", 0, 4, 0},
        {"10.0.0.0/8", 0, 4, 8},
        {"192.168.1.1/32", 0, 4, 32},
        {"192.168.1.1", 0, 4, 32}, /* bare address: full prefix */
        {"192.168.1.128/25", 0, 4, 25},
        {"255.255.255.255/32", 0, 4, 32},
        {"::/0", 0, 6, 0},
        {"::1/128", 0, 6, 128},
        {"::1", 0, 6, 128},
        {"2001:db8::/32", 0, 6, 32},
        {"2001:DB8::/32", 0, 6, 32},
        {"::ffff:127.0.0.1", 0, 6, 128},
        {"::ffff:10.0.0.0/104", 0, 6, 104},
        /* host bits set beyond the prefix */
        {"10.1.0.0/8", -1, 0, 0},
        {"192.168.1.64/25", -1, 0, 0},
        {"1.0.0.0/0", -1, 0, 0},
        {"2001:db8::1/32", -1, 0, 0},
        {"::1/0", -1, 0, 0},
        /* bad prefixes */
        {"192.168.1.1/33", -1, 0, 0},
        {"::1/129", -1, 0, 0},
        {"1.2.3.4/", -1, 0, 0},
        {"/8", -1, 0, 0},
        {"1.2.3.4/-1", -1, 0, 0},
        {"1.2.3.4/+8", -1, 0, 0},
        {"0.0.0.0/00", -1, 0, 0},
        {"10.0.0.0/08", -1, 0, 0},
        {"1.2.3.4/ 32", -1, 0, 0},
        {"1.2.3.4/32 ", -1, 0, 0},
        {"1.2.3.4/4294967328", -1, 0, 0},           /* 32 + 2^32 */
        {"1.2.3.4/18446744073709551648", -1, 0, 0}, /* 32 + 2^64 */
        {"1.2.3.4/8/8", -1, 0, 0},
        /* addresses inet_aton would take */
        {"1.2.3", -1, 0, 0},
        {"127.1", -1, 0, 0},
        {"2130706433", -1, 0, 0},
        {"0x7f.0.0.1", -1, 0, 0},
        {"01.2.3.4", -1, 0, 0}, /* octal in some parsers */
        {"1.2.3.4.5", -1, 0, 0},
        {"1.2.3.256", -1, 0, 0},
        {"1.2.3.0004", -1, 0, 0},
        {"1..3.4", -1, 0, 0},
        {" 1.2.3.4", -1, 0, 0},
        {"1.2.3.4 ", -1, 0, 0},
        {"+1.2.3.4", -1, 0, 0},
        {"-1.2.3.4", -1, 0, 0},
        /* IPv6 oddities */
        {"fe80::1%eth0", -1, 0, 0},
        {"[::1]", -1, 0, 0},
        {"[::1]/128", -1, 0, 0},
        {":::", -1, 0, 0},
        {"1:2:3:4:5:6:7:8:9", -1, 0, 0},
        {"1::2::3", -1, 0, 0},
        {"::g", -1, 0, 0},
        {":: 1", -1, 0, 0},
        /* garbage */
        {"", -1, 0, 0},
        {"/", -1, 0, 0},
        {"localhost", -1, 0, 0},
        {"*", -1, 0, 0},
        {"10.0.0.0/8,", -1, 0, 0},
        {"0000:0000:0000:0000:0000:0000:0000:0000:0000/1", -1, 0, 0},
    };
    struct cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(&c, 0xa5, sizeof(c));
        int rc = cidr_parse(v[i].in, &c);
        if (rc != v[i].rc)
            fail_msg("cidr_parse(\"%s\") = %d, want %d", v[i].in, rc, v[i].rc);
        if (rc == 0) {
            assert_int_equal(c.c_family, v[i].family);
            assert_int_equal(c.c_bits, v[i].bits);
        }
    }
    assert_int_equal(cidr_parse(NULL, &c), -1);

    assert_int_equal(cidr_parse("10.1.2.0/24", &c), 0);
    assert_memory_equal(c.c_addr, "\x0a\x01\x02\x00", 4);
}

static void
test_cidr_format(void **state)
{
    static const char *const v[] = {"10.0.0.0/8", "0.0.0.0/0",
                                    "::1/128",    "2001:db8::/32",
                                    "::/0",       "192.168.1.128/25"};
    char buf[CIDR_TEXT_MAX];
    struct cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(cidr_parse(v[i], &c), 0);
        assert_int_equal(cidr_format(&c, buf, sizeof(buf)), 0);
        assert_string_equal(buf, v[i]);
    }
    assert_int_equal(cidr_parse("1.2.3.4", &c), 0);
    assert_int_equal(cidr_format(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1.2.3.4/32");
    assert_int_equal(cidr_format(&c, buf, 10), -1); /* "1.2.3.4/32" + NUL */
    assert_int_equal(cidr_format(&c, buf, 11), 0);
}

/* Build a list from "a, b, c" (test helper; aborts on a bad entry). */
static void
cidrs(struct cidr_list *l, const char *spec)
{
    char buf[256], *tok, *save = NULL;
    struct cidr c;

    memset(l, 0, sizeof(*l));
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        if (cidr_parse(tok, &c) == -1)
            fail_msg("bad test CIDR %s", tok);
        assert_int_equal(cidr_list_add(l, &c), 0);
    }
}

static void
test_cidr_match(void **state)
{
    static const struct {
        const char *list, *ip;
        int want;
    } v[] = {
        {"127.0.0.0/8", "127.0.0.1", 1},
        {"127.0.0.0/8", "127.255.255.255", 1},
        {"127.0.0.0/8", "128.0.0.1", 0},
        {"127.0.0.0/8", "126.255.255.255", 0},
        /* an IPv4-mapped client on a dual-stack socket */
        {"127.0.0.0/8", "::ffff:127.0.0.1", 1},
        {"127.0.0.0/8", "::FFFF:127.0.0.1", 1},
        {"127.0.0.0/8", "::ffff:7f00:1", 1},
        {"127.0.0.0/8", "::ffff:128.0.0.1", 0},
        {"127.0.0.0/8", "::127.0.0.1", 0}, /* IPv4-compatible: not mapped */
        {"127.0.0.0/8", "::1", 0},
        {"::1/128", "::1", 1},
        {"::1/128", "0:0:0:0:0:0:0:1", 1},
        {"::1/128", "127.0.0.1", 0},
        {"::1/128", "::2", 0},
        {"0.0.0.0/0", "1.2.3.4", 1},
        {"0.0.0.0/0", "::ffff:1.2.3.4", 1},
        {"0.0.0.0/0", "::1", 0},
        {"::/0", "2001:db8::1", 1},
        {"::/0", "1.2.3.4", 1}, /* seen as ::ffff:1.2.3.4 */
        {"::ffff:10.0.0.0/104", "10.1.2.3", 1},
        {"::ffff:10.0.0.0/104", "11.0.0.1", 0},
        {"10.0.0.0/8, 192.168.0.0/16", "192.168.5.5", 1},
        {"10.0.0.0/8, 192.168.0.0/16", "172.16.0.1", 0},
        {"192.168.1.128/25", "192.168.1.127", 0},
        {"192.168.1.128/25", "192.168.1.128", 1},
        {"192.168.1.128/25", "192.168.1.255", 1},
        {"192.168.1.1/32", "192.168.1.1", 1},
        {"192.168.1.1/32", "192.168.1.2", 0},
        {"2001:db8::/33", "2001:db8:7fff::1", 1},
        {"2001:db8::/33", "2001:db8:8000::1", 0},
        {"2001:db8::/127", "2001:db8::1", 1},
        {"2001:db8::/127", "2001:db8::2", 0},
        {"", "127.0.0.1", 0},
        /* not addresses: never a match, even against /0 */
        {"0.0.0.0/0, ::/0", "localhost", 0},
        {"0.0.0.0/0, ::/0", "", 0},
        {"0.0.0.0/0, ::/0", "127.0.0.1 ", 0},
        {"0.0.0.0/0, ::/0", "127.0.0.1:80", 0},
        {"0.0.0.0/0, ::/0", "127.1", 0},
        {"0.0.0.0/0, ::/0", "[::1]", 0},
        {"0.0.0.0/0, ::/0", "fe80::1%lo", 0},
    };
    struct cidr_list l;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cidrs(&l, v[i].list);
        int got = cidr_list_match_str(&l, v[i].ip);
        cidr_list_free(&l);
        if (got != v[i].want)
            fail_msg("[%s] match \"%s\" = %d, want %d", v[i].list, v[i].ip, got,
                     v[i].want);
    }
    cidrs(&l, "10.0.0.0/8");
    assert_int_equal(cidr_list_match_str(&l, NULL), 0);
    cidr_list_free(&l);
    assert_null(l.cl_v);
    assert_int_equal(l.cl_n, 0);
}

static void
test_cidr_match_raw(void **state)
{
    static const uint8_t v4[4] = {10, 9, 8, 7};
    static const uint8_t mapped[16] = {0, 0, 0,    0,    0,  0, 0, 0,
                                       0, 0, 0xff, 0xff, 10, 9, 8, 7};
    static const uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8};
    struct cidr_list l;

    (void)state;
    cidrs(&l, "10.0.0.0/8");
    assert_int_equal(cidr_list_match(&l, 4, v4), 1);
    assert_int_equal(cidr_list_match(&l, 6, mapped), 1);
    assert_int_equal(cidr_list_match(&l, 6, other), 0);
    assert_int_equal(cidr_list_match(&l, 5, v4), 0); /* bad family */
    cidr_list_free(&l);
}

static void
test_pattern_add(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *stored;
    } v[] = {
        {"*", 0, "*"},
        {"*.windowsupdate.com", 0, "*.windowsupdate.com"},
        {"download.microsoft.com", 0, "download.microsoft.com"},
        {"Download.Microsoft.COM.", 0, "download.microsoft.com"},
        {"*.Update.Microsoft.com", 0, "*.update.microsoft.com"},
        {"localhost", 0, "localhost"},
        {"xn--bcher-kva.example", 0, "xn--bcher-kva.example"},
        {"_srv.example.com", 0, "_srv.example.com"},
        {"10.1.2.3", 0, "10.1.2.3"},
        {"", -1, NULL},
        {".", -1, NULL},
        {"*.", -1, NULL},
        {"**", -1, NULL},
        {"*.*.com", -1, NULL},
        {"*com", -1, NULL},
        {"a*b.com", -1, NULL},
        {"*a.com", -1, NULL},
        {"a.*.com", -1, NULL},
        {"a.com*", -1, NULL},
        {"a..b", -1, NULL},
        {".a.b", -1, NULL},
        {"a.b..", -1, NULL},
        {"-a.com", -1, NULL},
        {"a-.com", -1, NULL},
        {"a b.com", -1, NULL},
        {"a/b", -1, NULL},
        {"a.com:80", -1, NULL},
        {"[::1]", -1, NULL},
        {"::1", -1, NULL},
        {"a\tb", -1, NULL},
        {"exa\xc3\xa9mple.com", -1, NULL}, /* raw UTF-8: use punycode */
        /* a 64-character label */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         ".com",
         -1, NULL},
        /* a 63-character label is fine */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         ".com",
         0, NULL},
    };
    struct pattern_list l;

    (void)state;
    memset(&l, 0, sizeof(l));
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t before = l.pl_n;
        int rc = pattern_list_add(&l, v[i].in);

        if (rc != v[i].rc)
            fail_msg("pattern_list_add(\"%s\") = %d, want %d", v[i].in, rc,
                     v[i].rc);
        assert_int_equal(l.pl_n, before + (rc == 0 ? 1 : 0));
        if (rc == 0 && v[i].stored != NULL)
            assert_string_equal(l.pl_v[l.pl_n - 1], v[i].stored);
    }
    assert_int_equal(pattern_list_add(&l, NULL), -1);
    pattern_list_free(&l);
    assert_null(l.pl_v);

    /* 253 characters is the longest name; 254 is too long. */
    char name[300];
    memset(name, 0, sizeof(name));
    for (size_t i = 0; i < 253; i++)
        name[i] = (i % 4 == 3) ? '.' : 'a';
    assert_int_equal(policy_host_valid(name), 1);
    name[253] = 'a'; /* last label "aa": valid but for the length */
    assert_int_equal(policy_host_valid(name), 0);
}

static void
test_pattern_match(void **state)
{
    static const struct {
        const char *pat, *host;
        int want;
    } v[] = {
        {"*.windowsupdate.com", "x.windowsupdate.com", 1},
        {"*.windowsupdate.com", "a.b.windowsupdate.com", 1},
        {"*.windowsupdate.com", "windowsupdate.com", 0},
        {"*.windowsupdate.com", "evilwindowsupdate.com", 0},
        {"*.windowsupdate.com", "x.evilwindowsupdate.com", 0},
        {"*.windowsupdate.com", "X.WindowsUpdate.COM", 1},
        {"*.windowsupdate.com", "x.windowsupdate.com.", 1},
        {"*.windowsupdate.com", "x.windowsupdate.com..", 0},
        {"*.windowsupdate.com", ".windowsupdate.com", 0},
        {"*.windowsupdate.com", "..windowsupdate.com", 0},
        {"*.windowsupdate.com", "x.windowsupdate.com.evil.net", 0},
        {"*.windowsupdate.com", "windowsupdate.com.evil.net", 0},
        {"*.windowsupdate.com", "x.windowsupdate.co", 0},
        {"*.windowsupdate.com", "x.windowsupdate.com:80", 0},
        {"*.windowsupdate.com", "x.windowsupdate.com/", 0},
        {"*.windowsupdate.com", "", 0},
        {"download.microsoft.com", "download.microsoft.com", 1},
        {"download.microsoft.com", "DOWNLOAD.Microsoft.com.", 1},
        {"download.microsoft.com", "x.download.microsoft.com", 0},
        {"download.microsoft.com", "ownload.microsoft.com", 0},
        {"download.microsoft.com", "download.microsoft.co", 0},
        {"download.microsoft.com", "download.microsoft.com.evil", 0},
        {"download.microsoft.com", "download-microsoft.com", 0},
        {"windowsupdate.com.", "windowsupdate.com", 1},
        {"*.Update.Microsoft.com", "fe2.update.microsoft.com", 1},
        {"*", "anything.example", 1},
        {"*", "1.2.3.4", 1},
        {"*", "::1", 1},
        {"*", "", 0},
        {"10.1.2.3", "10.1.2.3", 1},
        {"10.1.2.3", "10.1.2.30", 0},
    };
    struct pattern_list l;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(&l, 0, sizeof(l));
        assert_int_equal(pattern_list_add(&l, v[i].pat), 0);
        int got = pattern_list_match(&l, v[i].host);
        pattern_list_free(&l);
        if (got != v[i].want)
            fail_msg("\"%s\" match \"%s\" = %d, want %d", v[i].pat, v[i].host,
                     got, v[i].want);
    }

    /* Several patterns; the empty list matches nothing. */
    memset(&l, 0, sizeof(l));
    assert_int_equal(pattern_list_match(&l, "example.com"), 0);
    assert_int_equal(pattern_list_add(&l, "a.example"), 0);
    assert_int_equal(pattern_list_add(&l, "*.b.example"), 0);
    assert_int_equal(pattern_list_match(&l, "a.example"), 1);
    assert_int_equal(pattern_list_match(&l, "x.b.example"), 1);
    assert_int_equal(pattern_list_match(&l, "b.example"), 0);
    assert_int_equal(pattern_list_match(&l, NULL), 0);
    pattern_list_free(&l);
}

static void
test_ip_literal(void **state)
{
    static const struct {
        const char *in;
        int want;
    } v[] = {
        {"127.0.0.1", 4},
        {"0.0.0.0", 4},
        {"255.255.255.255", 4},
        {"::1", 6},
        {"::", 6},
        {"::ffff:1.2.3.4", 6},
        {"2001:db8::1", 6},
        {"localhost", 0},
        {"1.2.3", 0},
        {"256.0.0.1", 0},
        {"0127.0.0.1", 0},
        {"[::1]", 0},
        {"", 0},
        {"1.2.3.4/32", 0},
        {"fe80::1%1", 0},
        {" 1.2.3.4", 0},
        {"1.2.3.4.", 0},
        {"::1 ", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int got = ip_literal_family(v[i].in);
        if (got != v[i].want)
            fail_msg("ip_literal_family(\"%s\") = %d, want %d", v[i].in, got,
                     v[i].want);
    }
    assert_int_equal(ip_literal_family(NULL), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_format),
        cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_cidr_match_raw),
        cmocka_unit_test(test_pattern_add),
        cmocka_unit_test(test_pattern_match),
        cmocka_unit_test(test_ip_literal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
