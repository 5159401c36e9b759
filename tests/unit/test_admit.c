/*
 * test_admit.c - the request-head checks, case by case: each request is
 * parsed by the real request parser, then admit_head, admit_url,
 * admit_policy (with the default allow_hosts and connect_ports) and
 * admit_wants_cache are asked about it as conn.c asks; the status, the
 * reason, close/keep, the log plan, the URL and the cache route are
 * compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admit.h"
#include "config.h"

struct admit_case {
    const char *name;
    const char *req;      /* the request head (and body) */
    int want_status;      /* after admit_head, then admit_policy */
    const char *want_why; /* substring of the reason, or NULL */
    int want_close;
    const char *want_plan; /* NULL: none */
    const char *want_url;  /* NULL: no URL */
    int want_body;
    int want_cache;
};

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define WU "http://download.windowsupdate.com"

static const struct admit_case cases[] = {
    {"plain GET is admitted", "GET " WU "/a.cab HTTP/1.1\r\n\r\n", 0, NULL, 0,
     NULL, WU "/a.cab", 0, 0},
    {"content URL goes to the cache",
     "GET " WU "/c/x_" SHA ".cab HTTP/1.1\r\n\r\n", 0, NULL, 0, NULL,
     WU "/c/x_" SHA ".cab", 0, 1},
    {"ranged GET goes to the cache",
     "GET " WU "/a.cab HTTP/1.1\r\nRange: bytes=0-9\r\n\r\n", 0, NULL, 0, NULL,
     WU "/a.cab", 0, 1},
    {"BITS goes to the cache",
     "GET " WU "/a.cab HTTP/1.1\r\nUser-Agent: Microsoft BITS/7.8\r\n\r\n", 0,
     NULL, 0, NULL, WU "/a.cab", 0, 1},
    {"HEAD of a content URL is not a cache GET",
     "HEAD " WU "/c/x_" SHA ".cab HTTP/1.1\r\n\r\n", 0, NULL, 0, NULL,
     WU "/c/x_" SHA ".cab", 0, 0},
    {"POST with a body is admitted",
     "POST " WU "/r HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 0, NULL, 0, NULL,
     WU "/r", 1, 0},
    {"PUT is 405, connection kept",
     "PUT " WU "/a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405,
     "method not allowed", 0, NULL, NULL, 0, 0},
    {"DELETE with a body is 405 and has a body",
     "DELETE " WU "/a HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", 405,
     "method not allowed", 0, NULL, NULL, 1, 0},
    {"userinfo in the URL is 400 and closes",
     "GET http://u@download.windowsupdate.com/ HTTP/1.1\r\n\r\n", 400, NULL, 1,
     NULL, NULL, 0, 0},
    {"https absolute-form is 400",
     "GET https://download.windowsupdate.com/ HTTP/1.1\r\n\r\n", 400, NULL, 1,
     NULL, NULL, 0, 0},
    {"Expect other than 100-continue is 417, URL kept",
     "GET " WU "/a HTTP/1.1\r\nExpect: fancy\r\n\r\n", 417,
     "unsupported Expect", 0, NULL, WU "/a", 0, 0},
    {"host outside allow_hosts is 403 denied",
     "GET http://example.org/ HTTP/1.1\r\n\r\n", 403, "allow_hosts", 0,
     "denied", "http://example.org/", 0, 0},
    {"CONNECT to 443 of an allowed host",
     "CONNECT fe2.update.microsoft.com:443 HTTP/1.1\r\n\r\n", 0, NULL, 0, NULL,
     "fe2.update.microsoft.com:443", 0, 0},
    {"CONNECT to another port is 403 and closes",
     "CONNECT fe2.update.microsoft.com:8443 HTTP/1.1\r\n\r\n", 403,
     "connect_ports", 1, "denied", "fe2.update.microsoft.com:8443", 0, 0},
    {"CONNECT without a port is 400",
     "CONNECT fe2.update.microsoft.com HTTP/1.1\r\n\r\n", 400, NULL, 1, NULL,
     NULL, 0, 0},
    {"chunked POST has a body",
     "POST " WU "/r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\na\r\n0\r\n\r\n",
     0, NULL, 0, NULL, WU "/r", 1, 0},
};

struct run {
    const struct shim_config *cfg;
    struct admit ad;
    int have_tgt;
    char *url;
    int body;
    int cache;
    int heads;
};

static int
on_head(void *arg, struct http_msg *m)
{
    struct run *r = arg;
    struct req_target t;

    r->heads++;
    r->have_tgt = admit_head(m, &t, &r->ad);
    if (r->have_tgt) {
        r->url = admit_url(m, &t);
        if (r->ad.ad_status == 0)
            admit_policy(r->cfg, m, &t, &r->ad);
        req_target_free(&t);
    }
    r->body = admit_has_body(m);
    r->cache = admit_wants_cache(m, r->url);
    return 0;
}

static int
on_body(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

static int
on_done(void *arg)
{
    (void)arg;
    return 0;
}

static void
t_cases(void **state)
{
    static const struct http_parser_cb cb = {on_head, on_body, on_done};
    struct http_limits lim = {16384, 100, 8192, 0};
    struct shim_config cfg;

    (void)state;
    assert_int_equal(config_defaults(&cfg), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct admit_case *k = &cases[i];
        struct run r;
        size_t used = 0;

        memset(&r, 0, sizeof(r));
        r.cfg = &cfg;
        struct http_parser *p =
            http_parser_new(HTTP_KIND_REQUEST, &lim, &cb, &r);
        assert_non_null(p);
        enum http_rc rc = http_parser_feed(p, k->req, strlen(k->req), &used);
        if (rc != HTTP_DONE)
            fail_msg("%s: parse rc %d", k->name, (int)rc);
        assert_int_equal(r.heads, 1);
        if (r.ad.ad_status != k->want_status)
            fail_msg("%s: status %d, want %d", k->name, r.ad.ad_status,
                     k->want_status);
        if (k->want_status == 0)
            assert_null(r.ad.ad_why);
        else
            assert_non_null(r.ad.ad_why);
        if (k->want_why != NULL && strstr(r.ad.ad_why, k->want_why) == NULL)
            fail_msg("%s: reason \"%s\"", k->name, r.ad.ad_why);
        if (r.ad.ad_close != k->want_close)
            fail_msg("%s: close %d", k->name, r.ad.ad_close);
        if (k->want_plan == NULL)
            assert_null(r.ad.ad_plan);
        else
            assert_string_equal(r.ad.ad_plan, k->want_plan);
        if (k->want_url == NULL) {
            if (r.url != NULL)
                fail_msg("%s: url %s", k->name, r.url);
        } else {
            assert_non_null(r.url);
            assert_string_equal(r.url, k->want_url);
        }
        if (r.body != k->want_body || r.cache != k->want_cache)
            fail_msg("%s: body %d cache %d", k->name, r.body, r.cache);
        free(r.url);
        http_parser_free(p);
    }
    config_free(&cfg);
}

/* The status page's origin-form target parses (the Host may be absent)
 * and is not absolute: conn.c's req_for_shim sees it. */
static void
t_origin_form(void **state)
{
    static const struct http_parser_cb cb = {on_head, on_body, on_done};
    struct http_limits lim = {16384, 100, 8192, 0};
    static const char req[] = "GET /status HTTP/1.0\r\n\r\n";
    struct shim_config cfg;
    struct run r;
    size_t used = 0;

    (void)state;
    assert_int_equal(config_defaults(&cfg), 0);
    memset(&r, 0, sizeof(r));
    r.cfg = &cfg;
    struct http_parser *p = http_parser_new(HTTP_KIND_REQUEST, &lim, &cb, &r);
    assert_non_null(p);
    assert_int_equal(http_parser_feed(p, req, sizeof(req) - 1, &used),
                     HTTP_DONE);
    assert_int_equal(r.have_tgt, 1);
    assert_null(r.url); /* no Host: no URL */
    /* admit_policy ran on the empty host: not in allow_hosts. */
    assert_int_equal(r.ad.ad_status, 403);
    http_parser_free(p);
    config_free(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_cases),
        cmocka_unit_test(t_origin_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
