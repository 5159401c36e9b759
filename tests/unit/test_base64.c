/*
 * test_base64.c - common/base64.c: the RFC 4648 section 10 vectors both
 * ways, and the strict decoder's refusals (length, padding, characters,
 * a short out buffer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

static const struct {
    const char *plain;
    const char *enc;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void
test_vectors(void **state)
{
    char enc[16];
    unsigned char dec[16];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        size_t len = strlen(rfc4648[i].plain);

        assert_int_equal(BASE64_LEN(len), strlen(rfc4648[i].enc));
        memset(enc, 'x', sizeof(enc));
        base64_encode((const unsigned char *)rfc4648[i].plain, len, enc);
        assert_string_equal(enc, rfc4648[i].enc);
        n = 99;
        assert_int_equal(base64_decode(rfc4648[i].enc, dec, len, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, rfc4648[i].plain, len);
    }
}

static void
test_all_bytes(void **state)
{
    unsigned char in[256], out[256];
    char enc[BASE64_LEN(256) + 1];
    size_t n;

    (void)state;
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    base64_encode(in, sizeof(in), enc);
    assert_int_equal(strlen(enc), BASE64_LEN(256));
    assert_int_equal(base64_decode(enc, out, sizeof(out), &n), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(in, out, 256);
    /* '+' and '/' are the standard alphabet's last two. */
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
}

static void
test_bad_inputs(void **state)
{
    static const char *const bad[] = {
        "Zg=", /* length not a multiple of 4 */
        "Zg",  /* padding missing */
        "Z",
        "Zm9vY",
        "Z===", /* too much padding */
        "====",
        "=Zg=",     /* padding first */
        "Zg=a",     /* data after padding */
        "Zg==Zg==", /* padding in the middle */
        "Zm9v=Zg=",
        "Zm9-", /* URL-safe alphabet */
        "Zm9_",
        "Zm 9",   /* space */
        "Zm9v\n", /* line break */
        "Zm9v\r\nYg==",
        "Zm9\x80", /* non-ASCII */
        "Zm9*",
    };
    unsigned char out[64];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (base64_decode(bad[i], out, sizeof(out), &n) != -1)
            fail_msg("'%s' was accepted", bad[i]);
}

static void
test_short_out_buffer(void **state)
{
    unsigned char out[8];
    size_t n;

    (void)state;
    memset(out, 0xee, sizeof(out));
    assert_int_equal(base64_decode("Zm9vYmFy", out, 5, &n), -1);
    assert_int_equal(out[5], 0xee); /* nothing written past outlen */
    assert_int_equal(base64_decode("Zm9vYmE=", out, 4, &n), -1);
    assert_int_equal(out[4], 0xee);
    assert_int_equal(base64_decode("Zg==", out, 0, &n), -1);
    assert_int_equal(base64_decode("Zm9vYmFy", out, 6, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(base64_decode("", out, 0, &n), 0);
    assert_int_equal(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_short_out_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
