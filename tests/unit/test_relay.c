/*
 * test_relay.c - response plans: framing, keep-alive and the head toward
 * the client for every kind of upstream answer, and entity heads (200,
 * 206, 416) for stored entities, above 4 GiB included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "relay.h"

static void
msg(struct http_msg *m, enum http_kind kind, int minor)
{
    http_msg_init(m, kind);
    m->hm_major = 1;
    m->hm_minor = (uint8_t)minor;
    m->hm_keep_alive = 1;
}

struct plan_case {
    const char *name;
    int client_minor;
    int is_head;
    int status;
    int has_length;
    uint64_t length;
    int chunked;
    enum out_framing want;
    int want_keep;
    const char *want_cl;
    const char *want_te;
};

static const struct plan_case plan_cases[] = {
    {"length passes", 1, 0, 200, 1, 300000, 0, OUT_LENGTH, 1, "300000",
     NULL},
    {"close-delimited to 1.1 is chunked", 1, 0, 200, 0, 0, 0, OUT_CHUNKED,
     1, NULL, "chunked"},
    {"close-delimited to 1.0 closes", 0, 0, 200, 0, 0, 0, OUT_CLOSE, 0,
     NULL, NULL},
    {"chunked to 1.1 stays chunked", 1, 0, 200, 0, 0, 1, OUT_CHUNKED, 1,
     NULL, "chunked"},
    {"HEAD keeps the announced length", 1, 1, 200, 1, 5368709120ull, 0,
     OUT_NONE, 1, "5368709120", NULL},
    {"204 carries no length", 1, 0, 204, 1, 0, 0, OUT_NONE, 1, NULL, NULL},
    {"304 has no body", 1, 0, 304, 1, 10, 0, OUT_NONE, 1, "10", NULL},
    {"above 4 GiB", 1, 0, 200, 1, 4294967296ull + 7, 0, OUT_LENGTH, 1,
     "4294967303", NULL},
};

static void
test_plan_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
        const struct plan_case *pc = &plan_cases[i];
        struct http_msg req, resp;
        struct resp_plan plan;
        struct hdr_list out;
        char num[32];

        msg(&req, HTTP_KIND_REQUEST, pc->client_minor);
        req.hm_is_head = pc->is_head;
        msg(&resp, HTTP_KIND_RESPONSE, 0);
        resp.hm_status = pc->status;
        resp.hm_has_length = pc->has_length;
        resp.hm_length = pc->length;
        resp.hm_chunked = pc->chunked;
        hdr_add(&resp.hm_hdrs, "Connection", "close, X-Drop");
        hdr_add(&resp.hm_hdrs, "X-Drop", "1");
        hdr_add(&resp.hm_hdrs, "Keep-Alive", "timeout=5");
        hdr_add(&resp.hm_hdrs, "ETag", "\"abc\"");
        if (pc->has_length) {
            snprintf(num, sizeof(num), "%llu", (unsigned long long)pc->length);
            hdr_add(&resp.hm_hdrs, "Content-Length", num);
        }
        if (pc->chunked)
            hdr_add(&resp.hm_hdrs, "Transfer-Encoding", "chunked");
        hdr_init(&out);
        assert_int_equal(relay_plan(&req, &resp, 1, 0, &plan, &out), 0);
        if (plan.rp_framing != pc->want || plan.rp_keep_alive != pc->want_keep)
            fail_msg("%s: framing %d keep %d", pc->name, plan.rp_framing,
                     plan.rp_keep_alive);
        const char *cl = hdr_get(&out, "Content-Length");
        const char *te = hdr_get(&out, "Transfer-Encoding");
        if ((pc->want_cl == NULL) != (cl == NULL) ||
            (cl && strcmp(cl, pc->want_cl) != 0))
            fail_msg("%s: Content-Length %s", pc->name, cl ? cl : "(none)");
        if ((pc->want_te == NULL) != (te == NULL))
            fail_msg("%s: Transfer-Encoding %s", pc->name, te ? te : "(none)");
        assert_null(hdr_get(&out, "X-Drop"));
        assert_null(hdr_get(&out, "Keep-Alive"));
        assert_string_equal(hdr_get(&out, "ETag"), "\"abc\"");
        assert_non_null(hdr_get(&out, "Via"));
        if (!pc->want_keep)
            assert_string_equal(hdr_get(&out, "Connection"), "close");
        hdr_free(&out);
        http_msg_free(&req);
        http_msg_free(&resp);
    }
}

static void
test_plan_407_keeps_challenge_only_when_passed(void **state)
{
    struct http_msg req, resp;
    struct resp_plan plan;
    struct hdr_list out;

    (void)state;
    msg(&req, HTTP_KIND_REQUEST, 1);
    msg(&resp, HTTP_KIND_RESPONSE, 0);
    resp.hm_status = 407;
    resp.hm_has_length = 1;
    hdr_add(&resp.hm_hdrs, "Proxy-Authenticate", "Basic realm=\"x\"");
    hdr_init(&out);
    assert_int_equal(relay_plan(&req, &resp, 1, 1, &plan, &out), 0);
    assert_non_null(hdr_get(&out, "Proxy-Authenticate"));
    hdr_free(&out);
    hdr_init(&out);
    assert_int_equal(relay_plan(&req, &resp, 1, 0, &plan, &out), 0);
    assert_null(hdr_get(&out, "Proxy-Authenticate"));
    hdr_free(&out);
    http_msg_free(&req);
    http_msg_free(&resp);
}

struct entity_case {
    const char *name;
    const char *range;    /* NULL: none */
    const char *if_range; /* NULL: none */
    int is_head;
    uint64_t total;
    int want_status;
    uint64_t want_first;
    uint64_t want_len;
    const char *want_cr;
};

static const struct entity_case entity_cases[] = {
    {"no range", NULL, NULL, 0, 1000, 200, 0, 1000, NULL},
    {"closed range", "bytes=0-4874", NULL, 0, 10000, 206, 0, 4875,
     "bytes 0-4874/10000"},
    {"open range", "bytes=100-", NULL, 0, 1000, 206, 100, 900,
     "bytes 100-999/1000"},
    {"suffix", "bytes=-500", NULL, 0, 1000, 206, 500, 500,
     "bytes 500-999/1000"},
    {"one byte", "bytes=0-0", NULL, 0, 1000, 206, 0, 1, "bytes 0-0/1000"},
    {"past the end", "bytes=1000-", NULL, 0, 1000, 416, 0, 0, "bytes */1000"},
    {"coalesced", "bytes=0-9,20-29", NULL, 0, 100, 206, 0, 30,
     "bytes 0-29/100"},
    {"invalid ignored", "bytes=abc", NULL, 0, 100, 200, 0, 100, NULL},
    {"other unit ignored", "items=0-1", NULL, 0, 100, 200, 0, 100, NULL},
    {"if-range match", "bytes=10-19", "\"e1\"", 0, 100, 206, 10, 10,
     "bytes 10-19/100"},
    {"if-range mismatch", "bytes=10-19", "\"other\"", 0, 100, 200, 0, 100,
     NULL},
    {"HEAD ignores range", "bytes=10-19", NULL, 1, 100, 200, 0, 100, NULL},
    {"near the end of 5 GiB", "bytes=5368709000-5368709119", NULL, 0,
     5368709120ull, 206, 5368709000ull, 120,
     "bytes 5368709000-5368709119/5368709120"},
};

static void
test_entity_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(entity_cases) / sizeof(entity_cases[0]);
         i++) {
        const struct entity_case *ec = &entity_cases[i];
        struct http_msg req;
        struct cache_meta meta;
        struct resp_plan plan;
        struct hdr_list out;
        int status;
        uint64_t first, len;
        char num[32];

        msg(&req, HTTP_KIND_REQUEST, 1);
        req.hm_method = strdup(ec->is_head ? "HEAD" : "GET");
        req.hm_is_head = ec->is_head;
        if (ec->range)
            hdr_add(&req.hm_hdrs, "Range", ec->range);
        if (ec->if_range)
            hdr_add(&req.hm_hdrs, "If-Range", ec->if_range);
        memset(&meta, 0, sizeof(meta));
        strcpy(meta.cm_etag, "\"e1\"");
        strcpy(meta.cm_last_modified, "Tue, 15 Oct 2013 10:00:00 GMT");
        hdr_init(&out);
        assert_int_equal(relay_plan_entity(&req, &meta, ec->total, 1,
                                           &status, &first, &len, &plan,
                                           &out),
                         0);
        if (status != ec->want_status || first != ec->want_first ||
            len != ec->want_len)
            fail_msg("%s: status %d first %llu len %llu", ec->name, status,
                     (unsigned long long)first, (unsigned long long)len);
        const char *cr = hdr_get(&out, "Content-Range");
        if ((ec->want_cr == NULL) != (cr == NULL) ||
            (cr && strcmp(cr, ec->want_cr) != 0))
            fail_msg("%s: Content-Range %s", ec->name, cr ? cr : "(none)");
        snprintf(num, sizeof(num), "%llu", (unsigned long long)ec->want_len);
        assert_string_equal(hdr_get(&out, "Content-Length"), num);
        assert_string_equal(hdr_get(&out, "Accept-Ranges"), "bytes");
        assert_string_equal(hdr_get(&out, "ETag"), "\"e1\"");
        assert_null(hdr_get(&out, "Transfer-Encoding"));
        assert_int_equal(plan.rp_framing, ec->is_head ? OUT_NONE : OUT_LENGTH);
        hdr_free(&out);
        http_msg_free(&req);
    }
}

static void
test_head_serialize(void **state)
{
    struct hdr_list h;
    size_t len;

    (void)state;
    hdr_init(&h);
    hdr_add(&h, "Content-Length", "0");
    char *s = relay_head_serialize(1, 502, "Bad\r\nGateway", &h, &len);
    assert_non_null(s);
    assert_string_equal(s, "HTTP/1.1 502 Bad  Gateway\r\nContent-Length: 0"
                           "\r\n\r\n");
    assert_int_equal(len, strlen(s));
    free(s);
    hdr_free(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_table),
        cmocka_unit_test(test_plan_407_keeps_challenge_only_when_passed),
        cmocka_unit_test(test_entity_table),
        cmocka_unit_test(test_head_serialize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
