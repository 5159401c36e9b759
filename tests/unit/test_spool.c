/*
 * test_spool.c - request bodies in memory, then in a file (spool.h): the
 * bytes come back intact whatever the pieces they were added in, and a
 * body of 1-byte pieces reaches its file in SPOOL_WRITE_CHUNK writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "plat.h"
#include "shim_limits.h"
#include "spool.h"

/* The body as the upstream would get it: memory or the sealed file. */
static size_t
spool_read_back(const struct spool *sp, char *out, size_t cap)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;

    assert_non_null(b);
    if (spool_segment(sp) != NULL)
        assert_int_equal(evbuffer_add_file_segment(b, spool_segment(sp), 0,
                                                   (ev_off_t)sp->sp_len),
                         0);
    else if (spool_mem(sp) != NULL)
        assert_int_equal(evbuffer_add_buffer_reference(b, spool_mem(sp)), 0);
    n = evbuffer_get_length(b);
    assert_true(n <= cap);
    assert_int_equal(evbuffer_remove(b, out, n), (int)n);
    evbuffer_free(b);
    return n;
}

static void
fill_pattern(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + (i * 7 + i / 251) % 26);
}

static void
test_memory_body(void **state)
{
    struct spool sp;
    char in[1000], out[1000];

    (void)state;
    fill_pattern(in, sizeof(in));
    assert_int_equal(spool_init(&sp), 0);
    for (size_t i = 0; i < sizeof(in); i += 10)
        assert_int_equal(spool_add(&sp, in + i, 10, 4096), 0);
    assert_int_equal(sp.sp_fd, -1);
    assert_int_equal(spool_seal(&sp), 0);
    assert_null(spool_segment(&sp));
    assert_int_equal(spool_read_back(&sp, out, sizeof(out)), sizeof(in));
    assert_memory_equal(in, out, sizeof(in));
    spool_free(&sp);
}

/* 1-byte pieces past the memory threshold: the file grows only by whole
 * SPOOL_WRITE_CHUNKs until the seal writes the rest. */
static void
test_tiny_pieces_coalesced(void **state)
{
    const size_t total = 3 * SPOOL_WRITE_CHUNK + 1234;
    char *in = malloc(total), *out = malloc(total);
    struct spool sp;
    uint64_t size = 0;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    fill_pattern(in, total);
    assert_int_equal(spool_init(&sp), 0);
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(spool_add(&sp, in + i, 1, 100), 0);
        if (sp.sp_fd != -1 && i % 4099 == 0) {
            assert_int_equal(plat_fsize(sp.sp_fd, &size), 0);
            assert_int_equal(size % SPOOL_WRITE_CHUNK, 0);
            assert_true(i + 1 - size < SPOOL_WRITE_CHUNK);
        }
    }
    assert_int_not_equal(sp.sp_fd, -1);
    assert_int_equal(plat_fsize(sp.sp_fd, &size), 0);
    assert_int_equal(size, 3 * SPOOL_WRITE_CHUNK);
    assert_int_equal(sp.sp_len, total);
    assert_null(spool_mem(&sp));
    assert_int_equal(spool_seal(&sp), 0);
    assert_non_null(spool_segment(&sp));
    assert_int_equal(spool_read_back(&sp, out, total), total);
    assert_memory_equal(in, out, total);
    /* Reused for the next body. */
    spool_reset(&sp);
    assert_int_equal(spool_add(&sp, "xyz", 3, 100), 0);
    assert_int_equal(spool_seal(&sp), 0);
    assert_int_equal(spool_read_back(&sp, out, total), 3);
    assert_memory_equal(out, "xyz", 3);
    spool_free(&sp);
    free(in);
    free(out);
}

/* Mixed piece sizes, some larger than a write chunk. */
static void
test_mixed_pieces(void **state)
{
    const size_t total = 5 * SPOOL_WRITE_CHUNK + 77;
    char *in = malloc(total), *out = malloc(total);
    struct spool sp;
    size_t at = 0, k = 0;
    static const size_t sizes[] = {1, 3, 4096, 2 * SPOOL_WRITE_CHUNK + 5, 17};

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    fill_pattern(in, total);
    assert_int_equal(spool_init(&sp), 0);
    while (at < total) {
        size_t n = sizes[k++ % 5];
        if (n > total - at)
            n = total - at;
        assert_int_equal(spool_add(&sp, in + at, n, 1000), 0);
        at += n;
    }
    assert_int_equal(spool_seal(&sp), 0);
    assert_int_equal(spool_read_back(&sp, out, total), total);
    assert_memory_equal(in, out, total);
    spool_free(&sp);
    free(in);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_body),
        cmocka_unit_test(test_tiny_pieces_coalesced),
        cmocka_unit_test(test_mixed_pieces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
