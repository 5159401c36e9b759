/*
 * test_strparse.c - strict number, size, duration and boolean parsing.
 * Each vector is a bug class seen in the field: wrap-around at 2^64, signs
 * that strtoul accepts silently, surrounding blanks, empty input, trailing
 * junk, fractions, and unit overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strparse.h"

struct u64_vec {
    const char *in;
    int rc;
    uint64_t want;
};

static void
test_u64(void **state)
{
    static const struct u64_vec v[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"007", 0, 7}, /* decimal, never octal */
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", -1, 0}, /* 2^64 must not wrap to 0 */
        {"18446744073709551620", -1, 0},
        {"99999999999999999999", -1, 0},
        {"-1", -1, 0}, /* strtoull would give UINT64_MAX */
        {"+1", -1, 0},
        {" 1", -1, 0},
        {"1 ", -1, 0},
        {"\t1", -1, 0},
        {"", -1, 0},
        {"1a", -1, 0},
        {"0x10", -1, 0},
        {"1.0", -1, 0},
        {"1e3", -1, 0},
    };
    uint64_t out;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        out = 12345;
        int rc = parse_u64(v[i].in, &out);
        if (rc != v[i].rc)
            fail_msg("parse_u64(\"%s\") = %d, want %d", v[i].in, rc, v[i].rc);
        if (rc == 0)
            assert_true(out == v[i].want);
        else
            assert_true(out == 12345); /* untouched on error */
    }
    assert_int_equal(parse_u64(NULL, &out), -1);
}

static void
test_u64_max(void **state)
{
    uint64_t out;

    (void)state;
    assert_int_equal(parse_u64_max("65535", 65535, &out), 0);
    assert_true(out == 65535);
    assert_int_equal(parse_u64_max("65536", 65535, &out), -1);
    assert_int_equal(parse_u64_max("0", 0, &out), 0);
    assert_int_equal(parse_u64_max("1", 0, &out), -1);
    assert_int_equal(parse_u64_max("18446744073709551616", UINT64_MAX, &out),
                     -1);
    assert_int_equal(parse_u64_max("", 10, &out), -1);
}

static void
test_size(void **state)
{
    static const struct u64_vec v[] = {
        {"0", 0, 0},
        {"1024", 0, 1024},
        {"1K", 0, 1024},
        {"1k", 0, 1024},
        {"1KB", 0, 1024},
        {"1KiB", 0, 1024},
        {"1kib", 0, 1024},
        {"10M", 0, 10ull << 20},
        {"20G", 0, 20ull << 30},
        {"3T", 0, 3ull << 40},
        {"1B", 0, 1},
        {"16777215T", 0, 16777215ull << 40},
        {"16777216T", -1, 0},    /* exactly 2^64 */
        {"17179869184G", -1, 0}, /* exactly 2^64 */
        {"18446744073709551616", -1, 0},
        {"1.5G", -1, 0}, /* no fractions */
        {"10 M", -1, 0},
        {" 10M", -1, 0},
        {"10M ", -1, 0},
        {"M", -1, 0},
        {"", -1, 0},
        {"-1K", -1, 0},
        {"+1K", -1, 0},
        {"1P", -1, 0},
        {"1KK", -1, 0},
        {"1KBB", -1, 0},
        {"1BB", -1, 0},
        {"1iB", -1, 0},
        {"1Ki", -1, 0},
    };
    uint64_t out;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int rc = parse_size(v[i].in, &out);
        if (rc != v[i].rc)
            fail_msg("parse_size(\"%s\") = %d, want %d", v[i].in, rc, v[i].rc);
        if (rc == 0 && out != v[i].want)
            fail_msg("parse_size(\"%s\") gave %llu", v[i].in,
                     (unsigned long long)out);
    }
}

static void
test_duration(void **state)
{
    static const struct u64_vec v[] = {
        {"250ms", 0, 250},
        {"30s", 0, 30000},
        {"30", 0, 30000}, /* bare number = seconds */
        {"5m", 0, 300000},
        {"1h", 0, 3600000},
        {"1H", 0, 3600000},
        {"1MS", 0, 1},
        {"0", 0, 0},
        {"4294967295ms", 0, UINT32_MAX},
        {"4294967296ms", -1, 0}, /* 2^32 ms must not wrap */
        {"4294967s", 0, 4294967000u},
        {"4294968s", -1, 0},
        {"1193h", 0, 1193u * 3600000u},
        {"1194h", -1, 0}, /* 4298400000 ms does not fit 32 bits */
        {"1.5s", -1, 0},
        {"1 s", -1, 0},
        {" 1s", -1, 0},
        {"1s ", -1, 0},
        {"ms", -1, 0},
        {"", -1, 0},
        {"-1s", -1, 0},
        {"+1s", -1, 0},
        {"1d", -1, 0},
        {"1sec", -1, 0},
        {"18446744073709551616ms", -1, 0},
    };
    uint32_t out;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int rc = parse_duration_ms(v[i].in, &out);
        if (rc != v[i].rc)
            fail_msg("parse_duration_ms(\"%s\") = %d, want %d", v[i].in, rc,
                     v[i].rc);
        if (rc == 0 && out != v[i].want)
            fail_msg("parse_duration_ms(\"%s\") gave %lu", v[i].in,
                     (unsigned long)out);
    }
}

static void
test_bool(void **state)
{
    static const struct {
        const char *in;
        int rc, want;
    } v[] = {
        {"yes", 0, 1},   {"YES", 0, 1},   {"true", 0, 1},  {"On", 0, 1},
        {"1", 0, 1},     {"no", 0, 0},    {"False", 0, 0}, {"off", 0, 0},
        {"0", 0, 0},     {"", -1, 0},     {"y", -1, 0},    {"2", -1, 0},
        {" yes", -1, 0}, {"yes ", -1, 0}, {"yess", -1, 0}, {"01", -1, 0},
    };
    int out;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int rc = parse_bool(v[i].in, &out);
        if (rc != v[i].rc)
            fail_msg("parse_bool(\"%s\") = %d, want %d", v[i].in, rc, v[i].rc);
        if (rc == 0)
            assert_int_equal(out, v[i].want);
    }
    assert_int_equal(parse_bool(NULL, &out), -1);
}

/* errfmt: the whole message when it fits, cut and NUL-ended when not,
 * and nothing written (no crash) without a buffer. */
static void
test_errfmt(void **state)
{
    char buf[8];

    (void)state;
    errfmt(buf, sizeof(buf), "%s:%d", "a.c", 7);
    assert_string_equal(buf, "a.c:7");
    memset(buf, 'x', sizeof(buf));
    errfmt(buf, sizeof(buf), "line %d: %s", 12, "too long");
    assert_string_equal(buf, "line 12");
    memset(buf, 'x', sizeof(buf));
    errfmt(buf, 0, "%s", "never");
    assert_int_equal(buf[0], 'x');
    errfmt(NULL, 64, "%s", "never");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),  cmocka_unit_test(test_u64_max),
        cmocka_unit_test(test_size), cmocka_unit_test(test_duration),
        cmocka_unit_test(test_bool), cmocka_unit_test(test_errfmt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
