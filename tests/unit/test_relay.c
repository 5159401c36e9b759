/*
 * test_relay.c - response plans: framing, keep-alive and the head toward
 * the client for every kind of upstream answer, and entity heads (200,
 * 206, 416) for stored entities, above 4 GiB included, and the byte
 * window of fetched answers (pass and slice: trimming an upstream 206,
 * slice bounds, If-Range against the response's validators).
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
    {"length passes", 1, 0, 200, 1, 300000, 0, OUT_LENGTH, 1, "300000", NULL},
    {"close-delimited to 1.1 is chunked", 1, 0, 200, 0, 0, 0, OUT_CHUNKED, 1,
     NULL, "chunked"},
    {"close-delimited to 1.0 closes", 0, 0, 200, 0, 0, 0, OUT_CLOSE, 0, NULL,
     NULL},
    {"chunked to 1.1 stays chunked", 1, 0, 200, 0, 0, 1, OUT_CHUNKED, 1, NULL,
     "chunked"},
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
        assert_int_equal(relay_plan_entity(&req, &meta, ec->total, 1, &status,
                                           &first, &len, &plan, &out),
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

struct window_case {
    const char *name;
    const char *method;
    const char *range;    /* NULL: none */
    const char *if_range; /* NULL: none */
    int status;           /* the upstream's */
    int has_length;
    uint64_t length;
    const char *content_range; /* the upstream's, NULL: none */
    int slice;
    uint64_t max_discard;
    enum relay_window_rc want;
    uint64_t want_first, want_last, want_total, want_skip;
    int want_status; /* of relay_plan_window; 0: not applied */
    const char *want_cr;
};

#define GiB5 5368709120ull
static const struct window_case window_cases[] = {
    {"no range passes", "GET", NULL, NULL, 200, 1, 1000, NULL, 1, 1000,
     WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"pass mode leaves a 200 whole", "GET", "bytes=0-9", NULL, 200, 1, 1000,
     NULL, 0, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice a 200", "GET", "bytes=100-199", NULL, 200, 1, 1000, NULL, 1, 1000,
     WINDOW_PARTIAL, 100, 199, 1000, 100, 206, "bytes 100-199/1000"},
    {"slice a suffix", "GET", "bytes=-10", NULL, 200, 1, 1000, NULL, 1, 1000,
     WINDOW_PARTIAL, 990, 999, 1000, 990, 206, "bytes 990-999/1000"},
    {"slice past the end is 416", "GET", "bytes=1000-", NULL, 200, 1, 1000,
     NULL, 1, 1000, WINDOW_UNSAT, 0, 0, 1000, 0, 416, "bytes */1000"},
    {"slice start beyond the discard cap", "GET", "bytes=500-", NULL, 200, 1,
     1000, NULL, 1, 499, WINDOW_TOO_FAR, 0, 0, 1000, 0, 0, NULL},
    {"slice start at the discard cap", "GET", "bytes=499-500", NULL, 200, 1,
     1000, NULL, 1, 499, WINDOW_PARTIAL, 499, 500, 1000, 499, 206,
     "bytes 499-500/1000"},
    {"slice needs a length", "GET", "bytes=0-9", NULL, 200, 0, 0, NULL, 1, 1000,
     WINDOW_NO_LENGTH, 0, 0, 0, 0, 0, NULL},
    {"no length, a suffix", "GET", "bytes=-10", NULL, 200, 0, 0, NULL, 1, 1000,
     WINDOW_NO_LENGTH, 0, 0, 0, 0, 0, NULL},
    {"no length, If-Range differs: whole", "GET", "bytes=0-9", "\"e2\"", 200, 0,
     0, NULL, 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"no length, an invalid range: whole", "GET", "bytes=9-1", NULL, 200, 0, 0,
     NULL, 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"no length in pass mode: whole", "GET", "bytes=0-9", NULL, 200, 0, 0, NULL,
     0, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice ignores HEAD", "HEAD", "bytes=0-9", NULL, 200, 1, 1000, NULL, 1,
     1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice ignores an invalid range", "GET", "bytes=x", NULL, 200, 1, 1000,
     NULL, 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice: If-Range tag matches", "GET", "bytes=10-19", "\"e1\"", 200, 1,
     1000, NULL, 1, 1000, WINDOW_PARTIAL, 10, 19, 1000, 10, 206,
     "bytes 10-19/1000"},
    {"slice: If-Range tag differs", "GET", "bytes=10-19", "\"old\"", 200, 1,
     1000, NULL, 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice: If-Range weak tag never matches", "GET", "bytes=10-19", "W/\"e1\"",
     200, 1, 1000, NULL, 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice: If-Range date matches", "GET", "bytes=10-19",
     "Tue, 15 Oct 2013 10:00:00 GMT", 200, 1, 1000, NULL, 1, 1000,
     WINDOW_PARTIAL, 10, 19, 1000, 10, 206, "bytes 10-19/1000"},
    {"slice: If-Range date differs", "GET", "bytes=10-19",
     "Wed, 16 Oct 2013 10:00:00 GMT", 200, 1, 1000, NULL, 1, 1000, WINDOW_WHOLE,
     0, 0, 0, 0, 0, NULL},
    {"slice: If-Range mismatch with an unsatisfiable range", "GET",
     "bytes=2000-", "\"old\"", 200, 1, 1000, NULL, 1, 1000, WINDOW_WHOLE, 0, 0,
     0, 0, 0, NULL},
    {"upstream 206 exact", "GET", "bytes=10-19", NULL, 206, 1, 10,
     "bytes 10-19/1000", 0, 0, WINDOW_PARTIAL, 10, 19, 1000, 0, 206,
     "bytes 10-19/1000"},
    {"upstream 206 wider is trimmed", "GET", "bytes=10-19", NULL, 206, 1, 100,
     "bytes 0-99/1000", 0, 0, WINDOW_PARTIAL, 10, 19, 1000, 10, 206,
     "bytes 10-19/1000"},
    {"upstream 206 narrower", "GET", "bytes=10-19", NULL, 206, 1, 5,
     "bytes 10-14/1000", 0, 0, WINDOW_WRONG_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 elsewhere", "GET", "bytes=10-19", NULL, 206, 1, 10,
     "bytes 20-29/1000", 1, 1000, WINDOW_WRONG_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 without Content-Range", "GET", "bytes=10-19", NULL, 206, 1,
     10, NULL, 0, 0, WINDOW_BAD_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 of unknown total", "GET", "bytes=10-19", NULL, 206, 1, 10,
     "bytes 10-19/*", 0, 0, WINDOW_BAD_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 length disagrees", "GET", "bytes=10-19", NULL, 206, 1, 11,
     "bytes 10-19/1000", 0, 0, WINDOW_BAD_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 without a length", "GET", "bytes=10-19", NULL, 206, 0, 0,
     "bytes 10-19/1000", 0, 0, WINDOW_BAD_206, 0, 0, 0, 0, 0, NULL},
    {"upstream 206 without a Range passes", "GET", NULL, NULL, 206, 1, 10,
     "bytes 10-19/1000", 1, 1000, WINDOW_WHOLE, 0, 0, 0, 0, 0, NULL},
    {"slice near the end of 5 GiB", "GET", "bytes=5368709000-5368709119", NULL,
     200, 1, GiB5, NULL, 1, GiB5, WINDOW_PARTIAL, 5368709000ull, 5368709119ull,
     GiB5, 5368709000ull, 206, "bytes 5368709000-5368709119/5368709120"},
};

static void
test_window_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]);
         i++) {
        const struct window_case *wc = &window_cases[i];
        struct http_msg req, resp;
        struct relay_window w;
        struct resp_plan plan;
        struct hdr_list out;

        msg(&req, HTTP_KIND_REQUEST, 1);
        req.hm_method = strdup(wc->method);
        req.hm_is_head = strcmp(wc->method, "HEAD") == 0;
        if (wc->range)
            hdr_add(&req.hm_hdrs, "Range", wc->range);
        if (wc->if_range)
            hdr_add(&req.hm_hdrs, "If-Range", wc->if_range);
        msg(&resp, HTTP_KIND_RESPONSE, 0);
        resp.hm_status = wc->status;
        resp.hm_has_length = wc->has_length;
        resp.hm_length = wc->length;
        hdr_add(&resp.hm_hdrs, "ETag", "\"e1\"");
        hdr_add(&resp.hm_hdrs, "Last-Modified",
                "Tue, 15 Oct 2013 10:00:00 GMT");
        if (wc->content_range)
            hdr_add(&resp.hm_hdrs, "Content-Range", wc->content_range);
        enum relay_window_rc rc =
            relay_pass_window(&req, &resp, wc->slice, wc->max_discard, &w);
        if (rc != wc->want)
            fail_msg("%s: rc %d, want %d", wc->name, (int)rc, (int)wc->want);
        if (rc == WINDOW_PARTIAL || rc == WINDOW_UNSAT) {
            if (w.rw_first != wc->want_first || w.rw_last != wc->want_last ||
                w.rw_total != wc->want_total || w.rw_skip != wc->want_skip)
                fail_msg("%s: window %llu-%llu/%llu skip %llu", wc->name,
                         (unsigned long long)w.rw_first,
                         (unsigned long long)w.rw_last,
                         (unsigned long long)w.rw_total,
                         (unsigned long long)w.rw_skip);
            hdr_init(&out);
            assert_int_equal(relay_plan(&req, &resp, 1, 0, &plan, &out), 0);
            int st = relay_plan_window(rc, &w, &plan, &out);
            if (st != wc->want_status)
                fail_msg("%s: status %d", wc->name, st);
            assert_string_equal(hdr_get(&out, "Content-Range"), wc->want_cr);
            char num[32];
            uint64_t len =
                rc == WINDOW_PARTIAL ? wc->want_last - wc->want_first + 1 : 0;
            snprintf(num, sizeof(num), "%llu", (unsigned long long)len);
            assert_string_equal(hdr_get(&out, "Content-Length"), num);
            assert_null(hdr_get(&out, "Transfer-Encoding"));
            assert_int_equal(plan.rp_framing, OUT_LENGTH);
            assert_true(plan.rp_length == len);
            hdr_free(&out);
        } else if (wc->want_status != 0) {
            fail_msg("%s: bad row", wc->name);
        }
        http_msg_free(&req);
        http_msg_free(&resp);
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

/* The shim's own error answers: exact bytes, a HEAD without the body,
 * Allow and Proxy-Authenticate only when asked. */
static void
test_error_answer(void **state)
{
    struct relay_error e;
    size_t len = 0;
    char *out;
    static const char body[] = "wsus-shim: 403 Forbidden: not allowed\n"
                               "request id: 0123456789ab\n";
    static const char want[] = "HTTP/1.1 403 Forbidden\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 63\r\n"
                               "X-Wsus-Shim-Request-Id: 0123456789ab\r\n"
                               "\r\n";

    (void)state;
    assert_int_equal(strlen(body), 63);
    memset(&e, 0, sizeof(e));
    e.re_status = 403;
    e.re_reason = "not allowed";
    e.re_reqid = "0123456789ab";
    e.re_keep = 1;
    out = relay_error_answer(&e, &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(want) + strlen(body));
    assert_memory_equal(out, want, strlen(want));
    assert_memory_equal(out + strlen(want), body, strlen(body));
    free(out);

    e.re_is_head = 1;
    out = relay_error_answer(&e, &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);

    e.re_status = 407;
    e.re_keep = 0;
    e.re_allow = "GET, HEAD";
    e.re_challenge = "Basic realm=\"p\"";
    out = relay_error_answer(&e, &len);
    assert_non_null(out);
    assert_non_null(
        strstr(out, "HTTP/1.1 407 Proxy Authentication Required\r\n"));
    assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
    assert_non_null(
        strstr(out, "\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"));
    assert_non_null(strstr(out, "\r\nConnection: close\r\n\r\n"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_table),
        cmocka_unit_test(test_error_answer),
        cmocka_unit_test(test_plan_407_keeps_challenge_only_when_passed),
        cmocka_unit_test(test_entity_table),
        cmocka_unit_test(test_window_table),
        cmocka_unit_test(test_head_serialize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
