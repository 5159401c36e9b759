/*
 * test_normalize.c - request-target parsing (absolute-, authority- and
 * origin-form), the normalized URL, the upstream request head, and Basic
 * credentials. The request heads come from the real parser, fed in
 * fragments, so the two modules are tested the way conn.c chains them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"

struct tgt_case {
    const char *target;
    int connect;
    const char *host_hdr;
    int ok;
    const char *host; /* ok: expected fields; else the reason */
    unsigned port;
    const char *path;
    int absolute;
    const char *url; /* req_target_url, or NULL when it must fail */
};

static const struct tgt_case tgt_cases[] = {
    /* absolute-form */
    {"http://au.download.windowsupdate.com/c/msdownload/x_0123.exe", 0,
     "au.download.windowsupdate.com", 1, "au.download.windowsupdate.com", 80,
     "/c/msdownload/x_0123.exe", 1,
     "http://au.download.windowsupdate.com/c/msdownload/x_0123.exe"},
    {"HTTP://Example.COM:8080/a?b=C", 0, NULL, 1, "example.com", 8080, "/a?b=C",
     1, "http://example.com:8080/a?b=C"},
    {"http://example.com", 0, NULL, 1, "example.com", 80, "/", 1,
     "http://example.com/"},
    {"http://example.com?q=1", 0, NULL, 1, "example.com", 80, "/?q=1", 1,
     "http://example.com/?q=1"},
    {"http://example.com:80/", 0, NULL, 1, "example.com", 80, "/", 1,
     "http://example.com/"},
    {"http://[2001:DB8::1]:8080/x", 0, NULL, 1, "2001:db8::1", 8080, "/x", 1,
     "http://[2001:db8::1]:8080/x"},
    {"http://[::1]/", 0, NULL, 1, "::1", 80, "/", 1, "http://[::1]/"},
    {"http://my_host.local-1/", 0, NULL, 1, "my_host.local-1", 80, "/", 1,
     "http://my_host.local-1/"},
    /* the Host header is ignored for absolute-form (RFC 9112 §3.2.2) */
    {"http://a.example/x", 0, "evil.example", 1, "a.example", 80, "/x", 1,
     "http://a.example/x"},
    {"https://example.com/", 0, NULL, 0, "use CONNECT for https", 0, NULL, 0,
     NULL},
    {"ftp://example.com/", 0, NULL, 0, "unsupported URL scheme", 0, NULL, 0,
     NULL},
    {"http://user:pw@example.com/", 0, NULL, 0, "userinfo in request-target", 0,
     NULL, 0, NULL},
    {"http://example.com@evil.com/", 0, NULL, 0, "userinfo in request-target",
     0, NULL, 0, NULL},
    {"http://example.com/a#frag", 0, NULL, 0, "fragment in request-target", 0,
     NULL, 0, NULL},
    {"http://example.com:0/", 0, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"http://example.com:65536/", 0, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"http://example.com:/", 0, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"http://example.com:+80/", 0, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"http://example.com:8o/", 0, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"http://example.com:99999999999999999999/", 0, NULL, 0, "invalid port", 0,
     NULL, 0, NULL},
    {"http:///path", 0, NULL, 0, "empty host", 0, NULL, 0, NULL},
    {"http://exa%6dple.com/", 0, NULL, 0, "invalid host name", 0, NULL, 0,
     NULL},
    {"http://exa mple.com/", 0, NULL, 0, "invalid host name", 0, NULL, 0, NULL},
    {"http://[::1/", 0, NULL, 0, "unterminated IPv6 literal", 0, NULL, 0, NULL},
    {"http://[::1]x/", 0, NULL, 0, "junk after IPv6 literal", 0, NULL, 0, NULL},
    {"http://[fe80::1%25eth0]/", 0, NULL, 0, "invalid IPv6 literal", 0, NULL, 0,
     NULL},
    {"http://[1.2.3.4]/", 0, NULL, 0, "invalid IPv6 literal", 0, NULL, 0, NULL},
    {"example.com/x", 0, NULL, 0, "invalid request-target", 0, NULL, 0, NULL},
    {"*", 0, "a", 0, "invalid request-target", 0, NULL, 0, NULL},
    {"", 0, "a", 0, "empty request-target", 0, NULL, 0, NULL},
    /* authority-form (CONNECT) */
    {"sws.update.microsoft.com:443", 1, NULL, 1, "sws.update.microsoft.com",
     443, "/", 0, "http://sws.update.microsoft.com:443/"},
    {"[2001:db8::2]:443", 1, NULL, 1, "2001:db8::2", 443, "/", 0,
     "http://[2001:db8::2]:443/"},
    {"SWS.Update.Microsoft.com:443", 1, "ignored", 1,
     "sws.update.microsoft.com", 443, "/", 0,
     "http://sws.update.microsoft.com:443/"},
    {"sws.update.microsoft.com", 1, NULL, 0, "CONNECT needs host:port", 0, NULL,
     0, NULL},
    {"[2001:db8::2]", 1, NULL, 0, "CONNECT needs host:port", 0, NULL, 0, NULL},
    {"a:443/x", 1, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    {"u@a:443", 1, NULL, 0, "userinfo in request-target", 0, NULL, 0, NULL},
    {"http://a:443", 1, NULL, 0, "invalid port", 0, NULL, 0, NULL},
    /* origin-form */
    {"/status", 0, "localhost:3128", 1, "localhost", 3128, "/status", 0,
     "http://localhost:3128/status"},
    {"/a?b", 0, "Example.com", 1, "example.com", 80, "/a?b", 0,
     "http://example.com/a?b"},
    {"/a", 0, "[::1]:8080", 1, "::1", 8080, "/a", 0, "http://[::1]:8080/a"},
    {"/status", 0, NULL, 1, "", 80, "/status", 0, NULL},
    {"/status", 0, "", 1, "", 80, "/status", 0, NULL},
    {"/a", 0, "bad host", 0, "invalid host name", 0, NULL, 0, NULL},
    {"/a", 0, "a:99999", 0, "invalid port", 0, NULL, 0, NULL},
    {"/a", 0, "user@a", 0, "userinfo in request-target", 0, NULL, 0, NULL},
    {"/a#x", 0, "a", 0, "fragment in request-target", 0, NULL, 0, NULL},
};

static void
test_target_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tgt_cases) / sizeof(tgt_cases[0]); i++) {
        const struct tgt_case *c = &tgt_cases[i];
        struct req_target t;
        const char *why = NULL;
        char url[512];
        int rc = req_target_parse(c->target, c->connect, c->host_hdr, &t, &why);

        if (!c->ok) {
            if (rc != -1)
                fail_msg("case %zu [%s]: accepted", i, c->target);
            if (why == NULL || strcmp(why, c->host) != 0)
                fail_msg("case %zu [%s]: reason '%s' want '%s'", i, c->target,
                         why ? why : "-", c->host);
            assert_null(t.rt_host);
            assert_null(t.rt_path);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu [%s]: refused: %s", i, c->target, why);
        assert_string_equal(t.rt_host, c->host);
        assert_int_equal(t.rt_port, c->port);
        assert_string_equal(t.rt_path, c->path);
        assert_int_equal(t.rt_absolute, c->absolute);
        if (c->url == NULL) {
            assert_int_equal(req_target_url(&t, url, sizeof(url)), -1);
        } else {
            assert_int_equal(req_target_url(&t, url, sizeof(url)), 0);
            assert_string_equal(url, c->url);
        }
        req_target_free(&t);
        req_target_free(&t); /* idempotent */
    }
}

static void
test_authority(void **state)
{
    struct req_target t;
    const char *why;
    char buf[64];

    (void)state;
    assert_int_equal(req_target_parse("http://a.example/x", 0, NULL, &t, &why),
                     0);
    assert_int_equal(req_target_authority(&t, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a.example");
    assert_int_equal(req_target_authority(&t, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a.example:80");
    /* too small: exactly one byte short, then exactly enough */
    assert_int_equal(req_target_authority(&t, 0, buf, 12), -1);
    assert_int_equal(req_target_authority(&t, 0, buf, 13), 0);
    assert_int_equal(req_target_url(&t, buf, 18), -1);
    assert_int_equal(req_target_url(&t, buf, 19), 0);
    assert_string_equal(buf, "http://a.example/x");
    req_target_free(&t);
    assert_int_equal(req_target_parse("[::1]:443", 1, NULL, &t, &why), 0);
    assert_int_equal(req_target_authority(&t, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[::1]:443");
    req_target_free(&t);
}

/* ---- normalize_request over heads parsed by http_msg ------------------ */

static int
cap_done(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

static const struct http_limits cap_lim = {8192, 100, 4096, 0};

/* The head of in as the request parser leaves it, fed in 7-byte pieces.
 * Returns the parser; its message is head_msg until the parser is freed. */
static struct http_msg *head_msg;

static int
keep_head(void *arg, struct http_msg *m)
{
    (void)arg;
    head_msg = m;
    return 0;
}

static const struct http_parser_cb keep_cb = {keep_head, NULL, cap_done};

static struct http_parser *
parse_req(const char *in)
{
    int done = 0;
    struct http_parser *p =
        http_parser_new(HTTP_KIND_REQUEST, &cap_lim, &keep_cb, &done);
    size_t len = strlen(in), off = 0, used;

    assert_non_null(p);
    head_msg = NULL;
    while (off < len && !done) {
        size_t n = len - off < 7 ? len - off : 7;
        enum http_rc rc = http_parser_feed(p, in + off, n, &used);

        assert_true(rc == HTTP_MORE || rc == HTTP_DONE);
        off += used;
    }
    assert_non_null(head_msg);
    return p;
}

struct norm_case {
    const char *name;
    const char *in; /* client request head */
    struct norm_opts o;
    const char *line;       /* expected request line */
    const char *fields[32]; /* expected fields, name/value pairs, in order */
};

static const struct norm_case norm_cases[] = {
    {"BITS to a 1.0 proxy",
     "GET http://au.download.windowsupdate.com/c/x_ab.exe HTTP/1.1\r\n"
     "Accept: */*\r\nAccept-Encoding: identity\r\nRange: bytes=0-6361\r\n"
     "User-Agent: Microsoft BITS/6.7\r\nHost: au.download.windowsupdate.com"
     "\r\nProxy-Connection: Keep-Alive\r\n\r\n",
     {1, 0, "Basic dTpw", 0, "1.1 wsus-shim", 1, 0, 0, 0},
     "GET http://au.download.windowsupdate.com/c/x_ab.exe HTTP/1.0",
     {"Accept", "*/*", "Accept-Encoding", "identity", "Range", "bytes=0-6361",
      "User-Agent", "Microsoft BITS/6.7", "Host",
      "au.download.windowsupdate.com", "Proxy-Authorization", "Basic dTpw",
      "Via", "1.1 wsus-shim", "Connection", "close", NULL}},
    {"BITS to a 1.0 proxy, pooled: keep-alive asked both ways",
     "GET http://au.download.windowsupdate.com/c/x_ab.exe HTTP/1.1\r\n"
     "Range: bytes=0-9\r\nHost: au.download.windowsupdate.com\r\n"
     "Proxy-Connection: Keep-Alive\r\n\r\n",
     {1, 0, NULL, 0, "1.1 wsus-shim", 1, 0, 0, 1},
     "GET http://au.download.windowsupdate.com/c/x_ab.exe HTTP/1.0",
     {"Range", "bytes=0-9", "Host", "au.download.windowsupdate.com",
      "Accept-Encoding", "identity", "Via", "1.1 wsus-shim", "Connection",
      "keep-alive", "Proxy-Connection", "keep-alive", NULL}},
    {"direct to a 1.0 origin, pooled: no Proxy-Connection",
     "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
     {0, 0, NULL, 0, NULL, 0, 0, 0, 1},
     "GET /x HTTP/1.0",
     {"Host", "a.example", "Connection", "keep-alive", NULL}},
    {"direct, origin-form, 1.1, Host from the URL",
     "GET http://A.Example:8080/p?q HTTP/1.1\r\nHost: other.example\r\n"
     "Accept-Encoding: gzip, deflate\r\nProxy-Authorization: Basic x\r\n"
     "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Keep: 2\r\n\r\n",
     {0, 1, "Basic ours", 1, "1.1 wsus-shim", 1, 0, 0, 0},
     "GET /p?q HTTP/1.1",
     {"Host", "a.example:8080", "Accept-Encoding", "identity", "X-Keep", "2",
      "Via", "1.1 wsus-shim", NULL}},
    {"client Via extended, 1.0 client entry",
     "GET http://a.example/ HTTP/1.0\r\nVia: 1.0 upstream-a\r\n"
     "Via: 1.1 b\r\n\r\n",
     {1, 1, NULL, 0, "1.0 wsus-shim", 0, 0, 0, 0},
     "GET http://a.example/ HTTP/1.1",
     {"Host", "a.example", "Via", "1.0 upstream-a", "Via",
      "1.1 b, 1.0 wsus-shim", NULL}},
    {"empty last client Via takes our entry, the others stay",
     "GET http://a.example/ HTTP/1.1\r\nVia: 1.0 a\r\nX-K: 1\r\n"
     "Via: 1.1 b\r\nVia:\r\n\r\n",
     {1, 1, NULL, 0, "1.1 wsus-shim", 0, 0, 0, 0},
     "GET http://a.example/ HTTP/1.1",
     {"Host", "a.example", "Via", "1.0 a", "X-K", "1", "Via", "1.1 b", "Via",
      "1.1 wsus-shim", NULL}},
    {"only Via empty",
     "GET http://a.example/ HTTP/1.1\r\nVia: \r\n\r\n",
     {1, 1, NULL, 0, "1.1 wsus-shim", 0, 0, 0, 0},
     "GET http://a.example/ HTTP/1.1",
     {"Host", "a.example", "Via", "1.1 wsus-shim", NULL}},
    {"chunked body becomes Content-Length, Expect gone",
     "POST http://a.example/up HTTP/1.1\r\nHost: a.example\r\n"
     "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nTE: trailers\r\n"
     "Trailer: X-T\r\nContent-Type: text/xml\r\n\r\n0\r\n\r\n",
     {1, 1, NULL, 0, NULL, 0, 1, 1234, 0},
     "POST http://a.example/up HTTP/1.1",
     {"Host", "a.example", "Content-Type", "text/xml", "Content-Length", "1234",
      NULL}},
    {"Content-Length kept with its value from opts",
     "POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n"
     "Connection: Content-Length, Host\r\n\r\nhello",
     {0, 0, NULL, 0, NULL, 0, 1, 5, 0},
     "POST /up HTTP/1.0",
     {"Host", "a.example", "Content-Length", "5", "Connection", "close", NULL}},
    {"client proxy auth passed to a proxy when asked",
     "GET http://a.example/ HTTP/1.1\r\nProxy-Authorization: Basic cc\r\n\r\n",
     {1, 1, NULL, 1, NULL, 0, 0, 0, 0},
     "GET http://a.example/ HTTP/1.1",
     {"Host", "a.example", "Proxy-Authorization", "Basic cc", NULL}},
    {"our proxy auth replaces the client's",
     "GET http://a.example/ HTTP/1.1\r\nProxy-Authorization: Basic cc\r\n\r\n",
     {1, 1, "Basic ours", 1, NULL, 0, 0, 0, 0},
     "GET http://a.example/ HTTP/1.1",
     {"Host", "a.example", "Proxy-Authorization", "Basic ours", NULL}},
    {"HEAD on a non-default port with an IPv6 literal",
     "HEAD http://[2001:db8::1]:8080/f HTTP/1.1\r\n\r\n",
     {1, 1, NULL, 0, NULL, 1, 0, 0, 0},
     "HEAD http://[2001:db8::1]:8080/f HTTP/1.1",
     {"Host", "[2001:db8::1]:8080", "Accept-Encoding", "identity", NULL}},
};

static void
test_normalize_request(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        const struct norm_case *c = &norm_cases[i];
        struct http_parser *p = parse_req(c->in);
        struct req_target t;
        struct hdr_list out;
        const char *why;
        char *line = NULL;
        size_t k;

        if (req_target_parse(head_msg->hm_target, head_msg->hm_is_connect,
                             hdr_get(&head_msg->hm_hdrs, "Host"), &t,
                             &why) == -1)
            fail_msg("[%s] target: %s", c->name, why);
        hdr_init(&out);
        assert_int_equal(normalize_request(head_msg, &t, &c->o, &line, &out),
                         0);
        if (strcmp(line, c->line) != 0)
            fail_msg("[%s] line '%s' want '%s'", c->name, line, c->line);
        for (k = 0; c->fields[k] != NULL; k += 2) {
            const struct hdr *h = k / 2 < out.hl_n ? &out.hl_v[k / 2] : NULL;

            if (h == NULL || strcmp(h->h_name, c->fields[k]) != 0 ||
                strcmp(h->h_value, c->fields[k + 1]) != 0)
                fail_msg("[%s] field %zu: '%s: %s' want '%s: %s'", c->name,
                         k / 2, h ? h->h_name : "-", h ? h->h_value : "-",
                         c->fields[k], c->fields[k + 1]);
        }
        if (k / 2 != out.hl_n)
            fail_msg("[%s] %zu fields, want %zu (extra '%s')", c->name,
                     out.hl_n, k / 2, out.hl_v[k / 2].h_name);
        free(line);
        hdr_free(&out);
        req_target_free(&t);
        http_parser_free(p);
    }
}

static void
test_normalize_connect_and_failures(void **state)
{
    struct http_parser *p;
    struct req_target t;
    struct hdr_list out;
    struct norm_opts o;
    const char *why;
    char *line = (char *)"x";

    (void)state;
    memset(&o, 0, sizeof(o));
    o.no_to_proxy = 1;
    o.no_up_minor = 1;
    p = parse_req("CONNECT sws.update.microsoft.com:443 HTTP/1.1\r\n"
                  "Host: sws.update.microsoft.com:443\r\n\r\n");
    assert_int_equal(req_target_parse(head_msg->hm_target, 1,
                                      hdr_get(&head_msg->hm_hdrs, "Host"), &t,
                                      &why),
                     0);
    hdr_init(&out);
    assert_int_equal(normalize_request(head_msg, &t, &o, &line, &out), 0);
    assert_string_equal(line, "CONNECT sws.update.microsoft.com:443 HTTP/1.1");
    assert_string_equal(hdr_get(&out, "Host"), "sws.update.microsoft.com:443");
    free(line);
    hdr_free(&out);
    req_target_free(&t);
    http_parser_free(p);

    /* origin-form without Host: no authority, so no upstream head */
    p = parse_req("GET /status HTTP/1.0\r\n\r\n");
    assert_int_equal(req_target_parse(head_msg->hm_target, 0, NULL, &t, &why),
                     0);
    hdr_init(&out);
    line = (char *)"x";
    assert_int_equal(normalize_request(head_msg, &t, &o, &line, &out), -1);
    assert_null(line);
    hdr_free(&out);
    req_target_free(&t);
    http_parser_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_parse),
        cmocka_unit_test(test_authority),
        cmocka_unit_test(test_normalize_request),
        cmocka_unit_test(test_normalize_connect_and_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
