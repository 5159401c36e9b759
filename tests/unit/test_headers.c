/*
 * test_headers.c - the header list: order, case-insensitive lookups,
 * comma-list tokens with quoted strings, hop-by-hop removal including the
 * fields Connection names (and the two it may never remove).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headers.h"

static void
test_add_get_order(void **state)
{
    struct hdr_list l;

    (void)state;
    hdr_init(&l);
    assert_int_equal(hdr_add(&l, "Host", "  example.com \t"), 0);
    assert_int_equal(hdr_add(&l, "X-A", "1"), 0);
    assert_int_equal(hdr_add(&l, "x-a", "2"), 0);
    assert_int_equal(hdr_addn(&l, "Empty", 5, "   ", 3), 0);
    assert_int_equal(l.hl_n, 4);
    assert_string_equal(hdr_get(&l, "HOST"), "example.com");
    assert_string_equal(l.hl_v[0].h_name, "Host");
    assert_string_equal(hdr_get(&l, "X-A"), "1");
    assert_string_equal(hdr_get(&l, "empty"), "");
    assert_null(hdr_get(&l, "X-Missing"));
    assert_null(hdr_get(&l, "X-"));
    assert_int_equal(hdr_count(&l, "X-A"), 2);
    assert_int_equal(hdr_count(&l, "Nope"), 0);
    hdr_free(&l);
    assert_int_equal(l.hl_n, 0);
}

static void
test_grow_many(void **state)
{
    struct hdr_list l;
    char name[32];

    (void)state;
    hdr_init(&l);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "X-%d", i);
        assert_int_equal(hdr_add(&l, name, name), 0);
    }
    assert_int_equal(l.hl_n, 300);
    assert_string_equal(hdr_get(&l, "x-299"), "X-299");
    assert_string_equal(l.hl_v[150].h_name, "X-150");
    hdr_free(&l);
}

static void
test_set_del(void **state)
{
    struct hdr_list l;

    (void)state;
    hdr_init(&l);
    assert_int_equal(hdr_add(&l, "A", "1"), 0);
    assert_int_equal(hdr_add(&l, "Via", "1.0 a"), 0);
    assert_int_equal(hdr_add(&l, "B", "2"), 0);
    assert_int_equal(hdr_add(&l, "VIA", "1.0 b"), 0);
    /* set: the first keeps its place, the others go */
    assert_int_equal(hdr_set(&l, "via", " 1.1 c "), 0);
    assert_int_equal(l.hl_n, 3);
    assert_string_equal(l.hl_v[1].h_name, "Via");
    assert_string_equal(l.hl_v[1].h_value, "1.1 c");
    assert_string_equal(l.hl_v[2].h_name, "B");
    /* set of an absent field appends */
    assert_int_equal(hdr_set(&l, "C", "3"), 0);
    assert_string_equal(l.hl_v[3].h_name, "C");
    assert_int_equal(hdr_del(&l, "a"), 1);
    assert_int_equal(hdr_del(&l, "a"), 0);
    assert_string_equal(l.hl_v[0].h_name, "Via");
    hdr_free(&l);
}

static void
test_copy(void **state)
{
    struct hdr_list a, b;

    (void)state;
    hdr_init(&a);
    hdr_init(&b);
    assert_int_equal(hdr_add(&a, "A", "1"), 0);
    assert_int_equal(hdr_add(&a, "B", "2"), 0);
    assert_int_equal(hdr_add(&b, "Z", "0"), 0);
    assert_int_equal(hdr_copy(&b, &a), 0);
    assert_int_equal(b.hl_n, 3);
    assert_string_equal(b.hl_v[2].h_value, "2");
    hdr_free(&a);
    assert_string_equal(hdr_get(&b, "A"), "1"); /* deep copy */
    hdr_free(&b);
}

struct tok_case {
    const char *value;
    const char *token;
    int want;
};

static const struct tok_case tok_cases[] = {
    {"close", "close", 1},
    {"Close", "close", 1},
    {"keep-alive, close", "close", 1},
    {"  keep-alive ,\tclose\t", "close", 1},
    {"keep-alive,,close", "close", 1},
    {",close,", "close", 1},
    {"closed", "close", 0},
    {"clos", "close", 0},
    {"\"close\"", "close", 0},           /* a quoted string is not the token */
    {"foo=\"a,close\"", "close", 0},     /* comma inside quotes doesn't split */
    {"foo=\"a\\\",close\"", "close", 0}, /* escaped quote stays inside */
    {"foo=\"a\", close", "close", 1},
    {"", "close", 0},
    {" , ", "close", 0},
    {"100-continue", "100-Continue", 1},
};

static void
test_has_token(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tok_cases) / sizeof(tok_cases[0]); i++) {
        const struct tok_case *c = &tok_cases[i];
        struct hdr_list l;

        hdr_init(&l);
        assert_int_equal(hdr_add(&l, "Connection", c->value), 0);
        if (hdr_has_token(&l, "connection", c->token) != c->want)
            fail_msg("case %zu: [%s] has [%s]: want %d", i, c->value, c->token,
                     c->want);
        assert_int_equal(hdr_has_token(&l, "Other", c->token), 0);
        hdr_free(&l);
    }
}

static void
test_has_token_across_fields(void **state)
{
    struct hdr_list l;

    (void)state;
    hdr_init(&l);
    assert_int_equal(hdr_add(&l, "TE", "trailers"), 0);
    assert_int_equal(hdr_add(&l, "Connection", "keep-alive"), 0);
    assert_int_equal(hdr_add(&l, "connection", "Upgrade"), 0);
    assert_int_equal(hdr_has_token(&l, "Connection", "upgrade"), 1);
    assert_int_equal(hdr_has_token(&l, "Connection", "trailers"), 0);
    hdr_free(&l);
}

static void
test_list_next(void **state)
{
    const char *s = " a , \"b,c\" ,, d;q=\"x,y\" ,", *t;
    const char *want[] = {"a", "\"b,c\"", "d;q=\"x,y\""};
    size_t n, k = 0;

    (void)state;
    while (hdr_list_next(&s, &t, &n)) {
        assert_true(k < 3);
        assert_int_equal(n, strlen(want[k]));
        assert_memory_equal(t, want[k], n);
        k++;
    }
    assert_int_equal(k, 3);
}

/* Hop-by-hop: input fields (name, value pairs), then the names that must
 * remain, in order. */
struct hop_case {
    const char *in[24];
    int keep_auth;
    const char *out[16];
};

static const struct hop_case hop_cases[] = {
    /* the fixed list */
    {{"Host", "a", "Connection", "keep-alive", "Keep-Alive", "300",
      "Proxy-Connection", "Keep-Alive", "TE", "trailers", "Trailer", "X",
      "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Accept", "*/*", NULL},
     0,
     {"Host", "Accept", NULL}},
    /* fields named by Connection, case-insensitively, across two fields */
    {{"Connection", "X-Foo, x-bar", "X-Foo", "1", "X-BAR", "2", "X-Baz", "3",
      "connection", "X-Baz", NULL},
     0,
     {NULL}},
    /* Connection may not remove Content-Length or Host */
    {{"Host", "a", "Content-Length", "5", "Connection",
      "content-length, HOST, X-A", "X-A", "1", NULL},
     0,
     {"Host", "Content-Length", NULL}},
    /* proxy auth: dropped unless kept */
    {{"Proxy-Authorization", "Basic eA==", "Proxy-Authenticate", "Basic",
      "Authorization", "Basic eQ==", NULL},
     0,
     {"Authorization", NULL}},
    {{"Proxy-Authorization", "Basic eA==", "Proxy-Authenticate", "Basic",
      "Connection", "Proxy-Authorization", NULL},
     1,
     {"Proxy-Authorization", "Proxy-Authenticate", NULL}},
    /* "Connection: connection" and quoted names don't confuse it */
    {{"Connection", "Connection, \"X-Q\"", "X-Q", "1", NULL}, 0, {"X-Q", NULL}},
    /* BITS through a proxy */
    {{"Accept", "*/*", "Accept-Encoding", "identity", "Range", "bytes=0-6361",
      "User-Agent", "Microsoft BITS/6.7", "Host",
      "au.download.windowsupdate.com", "Proxy-Connection", "Keep-Alive", NULL},
     0,
     {"Accept", "Accept-Encoding", "Range", "User-Agent", "Host", NULL}},
};

static void
test_strip_hop_by_hop(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hop_cases) / sizeof(hop_cases[0]); i++) {
        const struct hop_case *c = &hop_cases[i];
        struct hdr_list l;
        size_t k;

        hdr_init(&l);
        for (k = 0; c->in[k] != NULL; k += 2)
            assert_int_equal(hdr_add(&l, c->in[k], c->in[k + 1]), 0);
        hdr_strip_hop_by_hop(&l, c->keep_auth);
        for (k = 0; c->out[k] != NULL; k++) {
            if (k >= l.hl_n || strcmp(l.hl_v[k].h_name, c->out[k]) != 0)
                fail_msg("case %zu: field %zu: want %s got %s", i, k, c->out[k],
                         k < l.hl_n ? l.hl_v[k].h_name : "-");
        }
        if (k != l.hl_n)
            fail_msg("case %zu: %zu fields left, want %zu", i, l.hl_n, k);
        hdr_free(&l);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get_order),
        cmocka_unit_test(test_grow_many),
        cmocka_unit_test(test_set_del),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_has_token),
        cmocka_unit_test(test_has_token_across_fields),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_strip_hop_by_hop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
