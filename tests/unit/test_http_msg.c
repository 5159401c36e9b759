/*
 * test_http_msg.c - the llhttp glue, vector by vector.
 *
 * Every vector is fed whole, one byte at a time, split at every position
 * (vectors under 200 bytes) and in a few pseudo-random multi-way splits;
 * every fragmentation must give the same result: return code, status,
 * reason, where the message stopped, the framing fields and the body.
 * Each vector stands for a bug class seen in proxies (request smuggling,
 * truncation presented as complete, lengths past 4 GiB, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_msg.h"
#include "shim_limits.h"

#define BODY_CAP 4096

/* What one run produced. */
struct result {
    enum http_rc r_rc;
    int r_status;
    const char *r_reason;
    size_t r_consumed; /* bytes of the input the message used */
    int r_heads;       /* on_head calls */
    int r_dones;       /* on_done calls */
    char r_method[16];
    char r_target[128];
    int r_code;
    int r_chunked, r_has_length, r_close, r_keep_alive, r_no_body;
    int r_expect_continue, r_expect_other;
    uint64_t r_length;
    size_t r_nhdrs;
    char r_body[BODY_CAP];
    size_t r_body_n;
    int r_abort_head; /* make on_head fail */
};

static int
t_on_head(void *arg, struct http_msg *m)
{
    struct result *r = arg;

    r->r_heads++;
    if (m->hm_method != NULL)
        snprintf(r->r_method, sizeof(r->r_method), "%s", m->hm_method);
    if (m->hm_target != NULL)
        snprintf(r->r_target, sizeof(r->r_target), "%s", m->hm_target);
    r->r_code = m->hm_status;
    r->r_chunked = m->hm_chunked;
    r->r_has_length = m->hm_has_length;
    r->r_length = m->hm_length;
    r->r_close = m->hm_close_delimited;
    r->r_keep_alive = m->hm_keep_alive;
    r->r_no_body = m->hm_no_body;
    r->r_expect_continue = m->hm_expect_continue;
    r->r_expect_other = m->hm_expect_other;
    r->r_nhdrs = m->hm_hdrs.hl_n;
    return r->r_abort_head ? -1 : 0;
}

static int
t_on_body(void *arg, const char *p, size_t n)
{
    struct result *r = arg;

    if (r->r_body_n + n < BODY_CAP) {
        memcpy(r->r_body + r->r_body_n, p, n);
        r->r_body_n += n;
    }
    return 0;
}

static int
t_on_done(void *arg)
{
    struct result *r = arg;

    r->r_dones++;
    return 0;
}

static const struct http_parser_cb t_cb = {t_on_head, t_on_body, t_on_done};

static const struct http_limits lim_small = {
    .hl_max_head = 1024,
    .hl_max_headers = 10,
    .hl_max_uri = 64,
    .hl_max_body = 1000,
};

static const struct http_limits lim_nobody_cap = {
    .hl_max_head = 1024,
    .hl_max_headers = 10,
    .hl_max_uri = 64,
    .hl_max_body = 0,
};

#define S10 "0123456789"
#define S50 S10 S10 S10 S10 S10
#define LONG_500 S50 S50 S50 S50 S50 S50 S50 S50 S50 S50

enum { F_HEAD_REQ = 1, F_CONNECT_REQ = 2, F_EOF = 4, F_ABORT = 8 };

#define ALL (-1)

struct vec {
    const char *v_name;
    enum http_kind v_kind;
    int v_flags;
    const struct http_limits *v_lim; /* NULL: lim_small */
    const char *v_in;
    enum http_rc v_rc;
    int v_status;         /* HTTP_BAD */
    const char *v_reason; /* HTTP_BAD; NULL: not checked */
    long v_consumed;      /* ALL: the whole input */
    const char *v_body;   /* NULL: not checked */
    /* framing on DONE/MORE after the head: -1 = not checked */
    int v_chunked, v_has_length, v_close, v_keep_alive, v_no_body;
    uint64_t v_length;
};

#define OK_REQ(name, in, body, ka)                                             \
    {                                                                          \
        name, HTTP_KIND_REQUEST, 0, NULL, in, HTTP_DONE, 0, NULL, ALL, body,   \
            -1, -1, -1, ka, -1, 0                                              \
    }
#define BAD_REQ(name, in, status, reason)                                      \
    {                                                                          \
        name, HTTP_KIND_REQUEST, 0, NULL, in, HTTP_BAD, status, reason, -2,    \
            NULL, -1, -1, -1, -1, -1, 0                                        \
    }
#define BAD_RESP(name, flags, in, reason)                                      \
    {                                                                          \
        name, HTTP_KIND_RESPONSE, flags, NULL, in, HTTP_BAD, 502, reason, -2,  \
            NULL, -1, -1, -1, -1, -1, 0                                        \
    }

static const struct vec vecs[] = {
    /* --- requests that pass ------------------------------------------- */
    OK_REQ("get origin-form", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "", 1),
    OK_REQ("BITS absolute-form",
           "GET http://au.download.windowsupdate.com/c/msdownload/x.exe "
           "HTTP/1.1\r\nAccept: */*\r\nAccept-Encoding: identity\r\n"
           "Range: bytes=0-6361\r\nUser-Agent: Microsoft BITS/6.7\r\n"
           "Host: au.download.windowsupdate.com\r\n"
           "Proxy-Connection: Keep-Alive\r\n\r\n",
           "", 1),
    OK_REQ("absolute-form without Host", "GET http://a/ HTTP/1.1\r\n\r\n", "",
           1),
    OK_REQ("1.0 without Host, closes", "GET / HTTP/1.0\r\n\r\n", "", 0),
    OK_REQ("1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
           "", 1),
    OK_REQ("1.0 Proxy-Connection keep-alive",
           "GET http://a/ HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n", "",
           1),
    OK_REQ("1.1 close",
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n", "", 0),
    OK_REQ("leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "",
           1),
    OK_REQ("empty value then another field",
           "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\nX-T: a\tb\r\n\r\n", "", 1),
    {"POST with Content-Length", HTTP_KIND_REQUEST, 0, NULL,
     "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", HTTP_DONE,
     0, NULL, ALL, "hello", 0, 1, 0, 1, -1, 5},
    {"POST chunked with extension and trailer", HTTP_KIND_REQUEST, 0, NULL,
     "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
     "5\r\nhello\r\n6;ext=\"1\"\r\n world\r\nA\r\n0123456789\r\n"
     "0\r\nX-Trailer: x\r\n\r\n",
     HTTP_DONE, 0, NULL, ALL, "hello world0123456789", 1, 0, 0, 1, -1, 0},
    {"body without framing is no body", HTTP_KIND_REQUEST, 0, NULL,
     "GET / HTTP/1.1\r\nHost: a\r\n\r\nhello", HTTP_DONE, 0, NULL, 27, "", 0, 0,
     0, 1, -1, 0},
    {"pipelined second request left over", HTTP_KIND_REQUEST, 0, NULL,
     "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
     HTTP_DONE, 0, NULL, 28, "", -1, -1, -1, 1, -1, 0},
    {"CONNECT then tunnel bytes", HTTP_KIND_REQUEST, 0, NULL,
     "CONNECT sws.update.microsoft.com:443 HTTP/1.1\r\n"
     "Host: sws.update.microsoft.com:443\r\n\r\n\x16\x03\x01\x02\x00\x01",
     HTTP_DONE, 0, NULL, 85, "", -1, -1, -1, 1, -1, 0},
    {"Content-Length past 4 GiB parses exactly", HTTP_KIND_REQUEST, 0,
     &lim_nobody_cap,
     "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5368709120\r\n\r\nab",
     HTTP_MORE, 0, NULL, ALL, "ab", 0, 1, 0, 1, -1, 5368709120ull},
    {"Content-Length UINT64_MAX parses", HTTP_KIND_REQUEST, 0, &lim_nobody_cap,
     "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: "
     "18446744073709551615\r\n\r\n",
     HTTP_MORE, 0, NULL, ALL, "", 0, 1, 0, 1, -1, UINT64_MAX},

    /* --- request line: exactly one SP between its parts (RFC 9112 §3) -- */
    BAD_REQ("two spaces after the method",
            "GET  /H HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request-line"),
    BAD_REQ("two spaces after the method, target past max_uri",
            "GET  /H" S50 S50 " HTTP/1.1\r\nHost: a\r\n\r\n", 400,
            "invalid request-line"),
    BAD_REQ("two spaces before the version",
            "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request-line"),
    BAD_REQ("a third space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400,
            "invalid request-line"),
    OK_REQ("target of exactly max_uri",
           "GET /" S50 "0123456789012 HTTP/1.1\r\nHost: a\r\n\r\n", "", 1),
    BAD_REQ("target one past max_uri",
            "GET /" S50 "01234567890123 HTTP/1.1\r\nHost: a\r\n\r\n", 414,
            "URI too long"),

    /* --- request smuggling: Content-Length / Transfer-Encoding --------- */
    BAD_REQ("CL then TE",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, "Content-Length with Transfer-Encoding"),
    BAD_REQ("TE then CL",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            "Content-Length: 5\r\n\r\n0\r\n\r\n",
            400, "Content-Length with Transfer-Encoding"),
    BAD_REQ("duplicate equal CL",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            "Content-Length: 5\r\n\r\nhello",
            400, "duplicate Content-Length"),
    BAD_REQ("duplicate differing CL",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            "Content-Length: 6\r\n\r\nhello!",
            400, "duplicate Content-Length"),
    BAD_REQ("CL comma list",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
            400, "invalid Content-Length"),
    BAD_REQ("CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
            400, "invalid Content-Length"),
    BAD_REQ("CL signed",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
            400, "invalid Content-Length"),
    BAD_REQ("CL negative",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400,
            "invalid Content-Length"),
    BAD_REQ("CL hex",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400,
            "invalid Content-Length"),
    BAD_REQ("CL overflow",
            "POST / HTTP/1.1\r\nHost: a\r\n"
            "Content-Length: 18446744073709551616\r\n\r\n",
            400, "invalid Content-Length"),
    BAD_REQ("TE gzip",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nx",
            400, NULL),
    BAD_REQ("TE chunked, gzip",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip"
            "\r\n\r\n0\r\n\r\n",
            400, NULL),
    BAD_REQ("TE chunked , identity",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked , "
            "identity\r\n\r\n0\r\n\r\n",
            400, NULL),
    BAD_REQ("TE twice chunked",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, NULL),
    BAD_REQ("TE chunked then gzip in two fields",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
            400, NULL),
    BAD_REQ("TE gzip, chunked",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked"
            "\r\n\r\n0\r\n\r\n",
            501, "unsupported transfer coding"),
    BAD_REQ("TE in HTTP/1.0",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, "Transfer-Encoding in HTTP/1.0 request"),
    BAD_REQ("CONNECT with a body",
            "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n"
            "\r\nhello",
            400, "CONNECT with a body"),

    /* --- chunk framing ------------------------------------------------- */
    BAD_REQ("chunk size not hex",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "zz\r\nhello\r\n0\r\n\r\n",
            400, "invalid chunk size"),
    BAD_REQ("chunk size empty",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "\r\nhello\r\n0\r\n\r\n",
            400, "invalid chunk size"),
    BAD_REQ("chunk size overflow",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "10000000000000000\r\nhello\r\n0\r\n\r\n",
            400, "chunk size overflow"),
    BAD_REQ("chunk extension with bare CR",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5;a=b\rc\r\nhello\r\n0\r\n\r\n",
            400, "bare CR in chunk size line"),
    BAD_REQ("chunk size line bare LF",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\nhello\r\n0\r\n\r\n",
            400, "invalid chunk size"),
    BAD_REQ("missing CRLF after chunk data",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhelloXX0\r\n\r\n",
            400, "missing CRLF after chunk data"),
    BAD_REQ("chunk data LF only",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\n0\r\n\r\n",
            400, "missing CRLF after chunk data"),
    BAD_REQ("trailer obs-fold",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\nX: a\r\n b\r\n\r\n",
            400, "obsolete line folding"),

    /* --- head syntax ----------------------------------------------------- */
    BAD_REQ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400,
            "obsolete line folding"),
    BAD_REQ("obs-fold with tab",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400,
            "obsolete line folding"),
    BAD_REQ("bare CR in a field", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
            400, "bare CR in head"),
    BAD_REQ("bare CR in the start line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
            400, "bare CR in head"),
    BAD_REQ("bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n", 400,
            "bare LF in head"),
    BAD_REQ("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400,
            "bare LF in head"),
    {"NUL in a value", HTTP_KIND_REQUEST, 0, NULL,
     "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", HTTP_BAD, 400,
     "NUL in head", -2, NULL, -1, -1, -1, -1, -1, 0},
    BAD_REQ("CTL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n",
            400, "control character in head"),
    BAD_REQ("DEL in a name", "GET / HTTP/1.1\r\nHost: a\r\nX\x7f: a\r\n\r\n",
            400, "control character in head"),
    BAD_REQ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX : ab\r\n\r\n",
            400, NULL),
    BAD_REQ("space before colon on CL",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello",
            400, NULL),
    BAD_REQ("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400,
            NULL),
    BAD_REQ("name with a separator",
            "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400, NULL),
    BAD_REQ("lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
            "invalid method"),
    BAD_REQ("method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
            "invalid method"),
    BAD_REQ("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400,
            NULL),
    BAD_REQ("whitespace before the request line",
            " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
            "whitespace before the start line"),
    BAD_REQ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, NULL),
    BAD_REQ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, NULL),
    BAD_REQ("HTTP/0.9 style", "GET / HTTP/0.9\r\n\r\n", 505, NULL),

    /* --- Host --------------------------------------------------------------
     */
    BAD_REQ("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            400, "multiple Host headers"),
    BAD_REQ("two Host fields, absolute-form",
            "GET http://a/ HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400,
            "multiple Host headers"),
    BAD_REQ("1.1 origin-form without Host", "GET / HTTP/1.1\r\n\r\n", 400,
            "missing Host header"),

    /* --- limits ------------------------------------------------------------
     */
    BAD_REQ("URI too long",
            "GET /0123456789012345678901234567890123456789012345678901234567"
            "89/123456789 HTTP/1.1\r\nHost: a\r\n\r\n",
            414, "URI too long"),
    OK_REQ("URI exactly at the limit",
           "GET /0123456789012345678901234567890123456789012345678901234567"
           "89/ HTTP/1.1\r\nHost: a\r\n\r\n",
           "", 1),
    BAD_REQ("too many fields",
            "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n"
            "E: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\nJ: 1\r\n\r\n",
            431, "too many header fields"),
    BAD_REQ("Content-Length over the body limit",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413,
            "request body too large"),
    BAD_REQ("chunked body over the body limit",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1F4\r\n" LONG_500 "\r\n1F5\r\n",
            413, "request body too large"),
    {"chunked body exactly at the body limit", HTTP_KIND_REQUEST, 0, NULL,
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3E7\r\n",
     HTTP_MORE, 0, NULL, ALL, "", 1, 0, 0, 1, -1, 0},

    /* --- responses ---------------------------------------------------------
     */
    {"200 with Content-Length", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", HTTP_DONE, 0, NULL,
     ALL, "hello", 0, 1, 0, 1, 0, 5},
    {"206 chunked", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n",
     HTTP_DONE, 0, NULL, ALL, "abc", 1, 0, 0, 1, 0, 0},
    {"HEAD response with CL and no body", HTTP_KIND_RESPONSE, F_HEAD_REQ, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", HTTP_DONE, 0, NULL, ALL,
     "", 0, 1, 0, 1, 1, 1000},
    {"HEAD response, next bytes not body", HTTP_KIND_RESPONSE, F_HEAD_REQ, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1", HTTP_DONE, 0, NULL,
     38, "", 0, 1, 0, 1, 1, 5},
    {"304 with CL", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", HTTP_DONE, 0,
     NULL, ALL, "", 0, 1, 0, 1, 1, 5},
    {"204", HTTP_KIND_RESPONSE, 0, NULL, "HTTP/1.1 204 No Content\r\n\r\n",
     HTTP_DONE, 0, NULL, ALL, "", 0, 0, 0, 1, 1, 0},
    {"100 Continue is its own message", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
     "\r\n",
     HTTP_DONE, 0, NULL, 25, "", 0, 0, 0, 1, 1, 0},
    {"close-delimited completed by EOF", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\nsome body", HTTP_DONE, 0, NULL,
     ALL, "some body", 0, 0, 1, 0, 0, 0},
    {"HTTP/1.0 close-delimited", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.0 200 OK\r\n\r\nabc", HTTP_DONE, 0, NULL, ALL, "abc", 0, 0, 1, 0,
     0, 0},
    {"empty reason phrase", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", HTTP_DONE, 0, NULL, ALL, "",
     0, 1, 0, 1, 0, 0},
    {"truncated CL at EOF", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", HTTP_BAD, 502,
     "truncated message", -2, NULL, -1, -1, -1, -1, -1, 0},
    {"truncated chunked at EOF", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
     HTTP_BAD, 502, "truncated message", -2, NULL, -1, -1, -1, -1, -1, 0},
    {"truncated head at EOF", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nContent-Le", HTTP_BAD, 502, "truncated message", -2,
     NULL, -1, -1, -1, -1, -1, 0},
    {"duplicate identical CL accepted", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
     "helloXX",
     HTTP_DONE, 0, NULL, 62, "hello", 0, 1, 0, 1, 0, 5},
    BAD_RESP("duplicate differing CL", 0,
             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 3\r\n"
             "\r\nhello",
             "conflicting Content-Length"),
    BAD_RESP("duplicate differing CL, longer second", 0,
             "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n"
             "\r\nhello",
             "conflicting Content-Length"),
    BAD_RESP("CL plus TE", 0,
             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: "
             "chunked\r\n\r\n0\r\n\r\n",
             NULL),
    BAD_RESP("CL comma list", 0,
             "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", NULL),
    BAD_RESP("TE gzip, chunked", 0,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
             "0\r\n\r\n",
             "unsupported transfer coding"),
    BAD_RESP("bare LF (llhttp 8.1 refuses it too)", 0,
             "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", "bare LF in head"),
    BAD_RESP("obs-fold", 0,
             "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
             "obsolete line folding"),
    BAD_RESP("status code with a leading zero", 0,
             "HTTP/1.1 0200 OK\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("status code 0309", 0,
             "HTTP/1.1 0309 Moved\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("status code of two digits", 0,
             "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("status code of four digits", 0,
             "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("status code not digits", 0,
             "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("two spaces before the status code", 0,
             "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
             "invalid status line"),
    BAD_RESP("status out of range", 0,
             "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n",
             "invalid status code"),
    BAD_RESP("HTTP/2.0 status line", 0,
             "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", NULL),
    BAD_RESP("missing CRLF after chunk data", 0,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabcXY0\r\n\r\n",
             "missing CRLF after chunk data"),
    {"TE gzip is close-delimited", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", HTTP_DONE, 0,
     NULL, ALL, "abc", 0, 0, 1, 0, 0, 0},
    {"TE chunked, gzip is close-delimited", HTTP_KIND_RESPONSE, F_EOF, NULL,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc",
     HTTP_DONE, 0, NULL, ALL, "abc", 0, 0, 1, 0, 0, 0},
    {"HTTP/1.0 chunked: read it, then close", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
     "\r\n",
     HTTP_DONE, 0, NULL, ALL, "abc", 1, 0, 0, 0, 0, 0},
    {"CONNECT 200 then tunnel bytes", HTTP_KIND_RESPONSE, F_CONNECT_REQ, NULL,
     "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03", HTTP_DONE, 0,
     NULL, 39, "", 0, 0, 0, 1, 1, 0},
    {"CONNECT 407 has a body", HTTP_KIND_RESPONSE, F_CONNECT_REQ, NULL,
     "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: "
     "Basic realm=\"x\"\r\nContent-Length: 4\r\n\r\ndeny",
     HTTP_DONE, 0, NULL, ALL, "deny", 0, 1, 0, 1, 0, 4},
    {"response CL past 4 GiB", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 200 OK\r\nContent-Length: 5368709120\r\n\r\nabc", HTTP_MORE, 0,
     NULL, ALL, "abc", 0, 1, 0, 1, 0, 5368709120ull},
    {"response 1.1 Connection: close", HTTP_KIND_RESPONSE, 0, NULL,
     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
     HTTP_DONE, 0, NULL, ALL, "x", 0, 1, 0, 0, 0, 1},

    /* --- the owner aborts --------------------------------------------------
     */
    {"on_head says stop", HTTP_KIND_REQUEST, F_ABORT, NULL,
     "GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ABORTED, 500, NULL, -2, NULL, -1,
     -1, -1, -1, -1, 0},
};

/* Vector bytes and length (the NUL vector holds a NUL). */
static size_t
vec_len(const struct vec *v)
{
    if (strcmp(v->v_name, "NUL in a value") == 0)
        return 35;
    return strlen(v->v_in);
}

/* Feed v in the fragments cut at the sorted offsets cuts[0..ncuts). */
static void
run(const struct vec *v, const size_t *cuts, size_t ncuts, struct result *r)
{
    const struct http_limits *lim = v->v_lim != NULL ? v->v_lim : &lim_small;
    size_t len = vec_len(v), start = 0, used;
    struct http_parser *p;

    memset(r, 0, sizeof(*r));
    r->r_abort_head = (v->v_flags & F_ABORT) != 0;
    p = http_parser_new(v->v_kind, lim, &t_cb, r);
    assert_non_null(p);
    if (v->v_flags & F_HEAD_REQ)
        http_parser_set_no_body(p);
    if (v->v_flags & F_CONNECT_REQ)
        http_parser_set_connect(p);
    r->r_rc = HTTP_MORE;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        if (end <= start)
            continue;
        r->r_rc = http_parser_feed(p, v->v_in + start, end - start, &used);
        if (r->r_rc != HTTP_MORE) {
            r->r_consumed = start + used;
            break;
        }
        assert_int_equal(used, end - start);
        start = end;
        r->r_consumed = start;
    }
    if (r->r_rc == HTTP_MORE && (v->v_flags & F_EOF))
        r->r_rc = http_parser_eof(p);
    if (r->r_rc == HTTP_BAD || r->r_rc == HTTP_ABORTED)
        r->r_status = http_parser_error(p, &r->r_reason);
    http_parser_free(p);
}

static void
check(const struct vec *v, const struct result *r, const char *how)
{
#define CHK(cond, ...)                                                         \
    do {                                                                       \
        if (!(cond))                                                           \
            fail_msg("[%s] %s: " __VA_ARGS__);                                 \
    } while (0)
    CHK(r->r_rc == v->v_rc, "rc %d want %d (%d %s)", v->v_name, how, r->r_rc,
        v->v_rc, r->r_status, r->r_reason ? r->r_reason : "");
    if (v->v_rc == HTTP_BAD || v->v_rc == HTTP_ABORTED) {
        CHK(r->r_status == v->v_status, "status %d want %d (%s)", v->v_name,
            how, r->r_status, v->v_status, r->r_reason);
        CHK(v->v_reason == NULL || strcmp(r->r_reason, v->v_reason) == 0,
            "reason '%s' want '%s'", v->v_name, how, r->r_reason, v->v_reason);
        CHK(r->r_dones == 0, "on_done after failure", v->v_name, how);
        return;
    }
    if (v->v_consumed != -2) {
        size_t want = v->v_consumed == ALL ? vec_len(v) : (size_t)v->v_consumed;

        CHK(r->r_consumed == want, "consumed %zu want %zu", v->v_name, how,
            r->r_consumed, want);
    }
    CHK(r->r_heads == 1, "%d heads", v->v_name, how, r->r_heads);
    CHK(r->r_dones == (v->v_rc == HTTP_DONE), "%d dones", v->v_name, how,
        r->r_dones);
    if (v->v_body != NULL)
        CHK(r->r_body_n == strlen(v->v_body) &&
                memcmp(r->r_body, v->v_body, r->r_body_n) == 0,
            "body '%.*s' want '%s'", v->v_name, how, (int)r->r_body_n,
            r->r_body, v->v_body);
    CHK(v->v_chunked < 0 || r->r_chunked == v->v_chunked, "chunked %d",
        v->v_name, how, r->r_chunked);
    CHK(v->v_has_length < 0 || r->r_has_length == v->v_has_length,
        "has_length %d", v->v_name, how, r->r_has_length);
    CHK(v->v_has_length != 1 || r->r_length == v->v_length,
        "length %llu want %llu", v->v_name, how,
        (unsigned long long)r->r_length, (unsigned long long)v->v_length);
    CHK(v->v_close < 0 || r->r_close == v->v_close, "close_delimited %d",
        v->v_name, how, r->r_close);
    CHK(v->v_keep_alive < 0 || r->r_keep_alive == v->v_keep_alive,
        "keep_alive %d", v->v_name, how, r->r_keep_alive);
    CHK(v->v_no_body < 0 || r->r_no_body == v->v_no_body, "no_body %d",
        v->v_name, how, r->r_no_body);
#undef CHK
}

/* Same outcome, fragment by fragment. */
static void
same(const struct vec *v, const struct result *a, const struct result *b,
     const char *how)
{
    if (a->r_rc != b->r_rc || a->r_status != b->r_status ||
        (a->r_reason != NULL) != (b->r_reason != NULL) ||
        (a->r_reason != NULL && strcmp(a->r_reason, b->r_reason) != 0))
        fail_msg("[%s] %s differs from whole: rc %d/%d status %d/%d %s/%s",
                 v->v_name, how, b->r_rc, a->r_rc, b->r_status, a->r_status,
                 b->r_reason ? b->r_reason : "-",
                 a->r_reason ? a->r_reason : "-");
    if (a->r_rc == HTTP_BAD || a->r_rc == HTTP_ABORTED)
        return;
    if (a->r_consumed != b->r_consumed || a->r_body_n != b->r_body_n ||
        memcmp(a->r_body, b->r_body, a->r_body_n) != 0 ||
        a->r_length != b->r_length || a->r_chunked != b->r_chunked ||
        a->r_close != b->r_close || a->r_keep_alive != b->r_keep_alive ||
        a->r_nhdrs != b->r_nhdrs || strcmp(a->r_target, b->r_target) != 0 ||
        a->r_expect_continue != b->r_expect_continue)
        fail_msg("[%s] %s differs from whole", v->v_name, how);
}

static unsigned
lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void
test_vectors_fragmented(void **state)
{
    static struct result whole, r;
    size_t cuts[4096];
    char how[64];

    (void)state;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        const struct vec *v = &vecs[i];
        size_t len = vec_len(v);
        unsigned seed = (unsigned)i + 1;

        run(v, NULL, 0, &whole);
        check(v, &whole, "whole");
        /* one byte at a time */
        assert_true(len < sizeof(cuts) / sizeof(cuts[0]));
        for (size_t k = 0; k < len; k++)
            cuts[k] = k + 1;
        run(v, cuts, len, &r);
        check(v, &r, "1-byte");
        same(v, &whole, &r, "1-byte");
        /* every two-way split */
        if (len < 200) {
            for (size_t k = 1; k < len; k++) {
                cuts[0] = k;
                run(v, cuts, 1, &r);
                snprintf(how, sizeof(how), "split at %zu", k);
                check(v, &r, how);
                same(v, &whole, &r, how);
            }
        }
        /* pseudo-random multi-way splits */
        for (int t = 0; t < 20; t++) {
            size_t n = 0, at = 0;

            while (n < 16) {
                at += 1 + lcg(&seed) % 9;
                if (at >= len)
                    break;
                cuts[n++] = at;
            }
            run(v, cuts, n, &r);
            snprintf(how, sizeof(how), "random split %d", t);
            check(v, &r, how);
            same(v, &whole, &r, how);
        }
    }
}

/* Fields of the parsed head, beyond framing. */
struct head_snap {
    struct http_msg hs_m; /* shallow copy taken inside on_head */
    char hs_method[16], hs_target[64], hs_reason[64];
    char hs_x_empty[8], hs_x_t[8];
    int hs_has_empty;
};

static int
snap_head(void *arg, struct http_msg *m)
{
    struct head_snap *s = arg;
    const char *e = hdr_get(&m->hm_hdrs, "X-Empty");
    const char *t = hdr_get(&m->hm_hdrs, "x-t");

    s->hs_m = *m;
    snprintf(s->hs_method, sizeof(s->hs_method), "%s",
             m->hm_method ? m->hm_method : "");
    snprintf(s->hs_target, sizeof(s->hs_target), "%s",
             m->hm_target ? m->hm_target : "");
    snprintf(s->hs_reason, sizeof(s->hs_reason), "%s",
             m->hm_reason ? m->hm_reason : "");
    s->hs_has_empty = e != NULL;
    snprintf(s->hs_x_empty, sizeof(s->hs_x_empty), "%s", e ? e : "");
    snprintf(s->hs_x_t, sizeof(s->hs_x_t), "%s", t ? t : "");
    return 0;
}

static void
test_head_fields(void **state)
{
    static const struct http_parser_cb cb = {snap_head, NULL, NULL};
    const char *in = "HEAD /p?q=1 HTTP/1.1\r\nX-Empty:\r\nHost: a\r\n"
                     "X-T:  a\tb \r\nExpect: 100-Continue\r\n\r\n";
    struct head_snap s;
    struct http_parser *p;
    size_t used;

    (void)state;
    memset(&s, 0, sizeof(s));
    p = http_parser_new(HTTP_KIND_REQUEST, &lim_small, &cb, &s);
    assert_non_null(p);
    assert_int_equal(http_parser_started(p), 0);
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(used, strlen(in));
    assert_string_equal(s.hs_method, "HEAD");
    assert_string_equal(s.hs_target, "/p?q=1");
    assert_int_equal(s.hs_m.hm_is_head, 1);
    assert_int_equal(s.hs_m.hm_is_connect, 0);
    assert_int_equal(s.hs_m.hm_major, 1);
    assert_int_equal(s.hs_m.hm_minor, 1);
    assert_int_equal(s.hs_m.hm_hdrs.hl_n, 4);
    assert_int_equal(s.hs_has_empty, 1);
    assert_string_equal(s.hs_x_empty, "");
    assert_string_equal(s.hs_x_t, "a\tb");
    assert_int_equal(s.hs_m.hm_expect_continue, 1);
    assert_int_equal(s.hs_m.hm_expect_other, 0);
    assert_int_equal(http_parser_started(p), 1);
    /* sticky until next */
    assert_int_equal(http_parser_feed(p, "GET", 3, &used), HTTP_DONE);
    assert_int_equal(used, 0);
    http_parser_next(p);
    assert_int_equal(http_parser_started(p), 0);

    /* Expect other than 100-continue; ignored in 1.0 */
    in = "POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 0"
         "\r\n\r\n";
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(s.hs_m.hm_expect_continue, 0);
    assert_int_equal(s.hs_m.hm_expect_other, 1);
    http_parser_next(p);
    in = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0"
         "\r\n\r\n";
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(s.hs_m.hm_expect_continue, 0);
    assert_int_equal(s.hs_m.hm_expect_other, 0);
    http_parser_free(p);

    /* a response's reason phrase */
    p = http_parser_new(HTTP_KIND_RESPONSE, &lim_small, &cb, &s);
    assert_non_null(p);
    in = "HTTP/1.1 206 Partial Content\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(s.hs_m.hm_status, 206);
    assert_string_equal(s.hs_reason, "Partial Content");
    http_parser_free(p);
}

/* Pipelined requests, in one buffer and byte by byte across the boundary. */
static void
test_pipelined(void **state)
{
    const char *in =
        "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
        "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(in);

    (void)state;
    for (size_t frag = 1; frag <= len; frag++) {
        struct result r;
        struct http_parser *p;
        size_t off = 0, used, end;
        int msgs = 0;
        char targets[3][128];

        memset(&r, 0, sizeof(r));
        p = http_parser_new(HTTP_KIND_REQUEST, &lim_small, &t_cb, &r);
        assert_non_null(p);
        while (off < len) {
            enum http_rc rc;

            end = off + frag < len ? off + frag : len;
            rc = http_parser_feed(p, in + off, end - off, &used);
            off += used;
            if (rc == HTTP_DONE) {
                assert_true(msgs < 3);
                snprintf(targets[msgs], sizeof(targets[0]), "%s", r.r_target);
                msgs++;
                http_parser_next(p);
            } else {
                assert_int_equal(rc, HTTP_MORE);
            }
        }
        assert_int_equal(msgs, 3);
        assert_string_equal(targets[0], "/a");
        assert_string_equal(targets[1], "/b");
        assert_string_equal(targets[2], "/c");
        assert_int_equal(r.r_body_n, 3);
        assert_memory_equal(r.r_body, "xyz", 3);
        assert_int_equal(http_parser_eof(p), HTTP_MORE);
        http_parser_free(p);
    }
}

/* 100 Continue, then the final response on the same parser. */
static void
test_interim_then_final(void **state)
{
    const char *in = "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct result r;
    struct http_parser *p;
    size_t used;

    (void)state;
    memset(&r, 0, sizeof(r));
    p = http_parser_new(HTTP_KIND_RESPONSE, &lim_small, &t_cb, &r);
    assert_non_null(p);
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(used, 25);
    assert_int_equal(r.r_code, 100);
    http_parser_next(p);
    assert_int_equal(http_parser_feed(p, in + 25, strlen(in) - 25, &used),
                     HTTP_DONE);
    assert_int_equal(r.r_code, 200);
    assert_int_equal(http_parser_body_bytes(p), 2);
    http_parser_free(p);
}

/* The head limit is exact: a head of hl_max_head bytes passes, one more
 * byte is 431. */
static void
test_head_limit_exact(void **state)
{
    char buf[2048];
    struct result r;
    struct http_parser *p;
    size_t used, n;
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";

    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        /* pre + value + "\r\n\r\n" == 1024 + extra */
        size_t vlen = 1024 + (size_t)extra - strlen(pre) - 4;

        n = (size_t)snprintf(buf, sizeof(buf), "%s", pre);
        memset(buf + n, 'v', vlen);
        n += vlen;
        memcpy(buf + n, "\r\n\r\n", 4);
        n += 4;
        assert_int_equal(n, 1024 + (size_t)extra);
        memset(&r, 0, sizeof(r));
        p = http_parser_new(HTTP_KIND_REQUEST, &lim_small, &t_cb, &r);
        assert_non_null(p);
        if (extra == 0) {
            assert_int_equal(http_parser_feed(p, buf, n, &used), HTTP_DONE);
        } else {
            const char *why;

            assert_int_equal(http_parser_feed(p, buf, n, &used), HTTP_BAD);
            assert_int_equal(http_parser_error(p, &why), 431);
            assert_string_equal(why, "header section too large");
        }
        http_parser_free(p);
    }
}

/* A truncated request body, and EOF between messages. */
static void
test_eof(void **state)
{
    struct result r;
    struct http_parser *p;
    size_t used;
    const char *in =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe";

    (void)state;
    memset(&r, 0, sizeof(r));
    p = http_parser_new(HTTP_KIND_REQUEST, &lim_small, &t_cb, &r);
    assert_non_null(p);
    assert_int_equal(http_parser_eof(p), HTTP_MORE);
    assert_int_equal(http_parser_feed(p, "\r\n", 2, &used), HTTP_MORE);
    assert_int_equal(http_parser_eof(p), HTTP_MORE); /* empty line only */
    http_parser_next(p);
    assert_int_equal(http_parser_feed(p, in, strlen(in), &used), HTTP_MORE);
    assert_int_equal(http_parser_body_bytes(p), 2);
    assert_int_equal(http_parser_eof(p), HTTP_BAD);
    assert_int_equal(http_parser_error(p, NULL), 400);
    http_parser_free(p);
}

/*
 * Mutated vectors: random byte changes, insertions of the bytes parsers
 * trip on (CR, LF, SP, HTAB, NUL, ':', ',', digits) and deletions. Whatever
 * the outcome, it must not depend on how the bytes were cut up, and the
 * parser must neither crash nor leak (run under ASan).
 */
static void
test_mutations_fragment_invariant(void **state)
{
    static const char hot[] = "\r\n \t\0:,;09aAfF\"-";
    static struct result whole, r;
    struct vec mv;
    char buf[2048];
    size_t cuts[64];
    unsigned seed = 12345;

    (void)state;
    for (int iter = 0; iter < 6000; iter++) {
        const struct vec *v =
            &vecs[lcg(&seed) % (sizeof(vecs) / sizeof(vecs[0]))];
        size_t len = vec_len(v), n;
        int muts = 1 + (int)(lcg(&seed) % 3);

        if (len + 8 >= sizeof(buf))
            continue;
        memcpy(buf, v->v_in, len);
        for (int k = 0; k < muts && len > 1; k++) {
            size_t at = lcg(&seed) % len;
            char c = hot[lcg(&seed) % (sizeof(hot) - 1)];

            switch (lcg(&seed) % 3) {
            case 0:
                buf[at] = c;
                break;
            case 1:
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = c;
                len++;
                break;
            default:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            }
        }
        mv = *v;
        mv.v_name = "mutant";
        mv.v_in = buf;
        mv.v_flags &= ~F_ABORT;
        /* vec_len() is strlen for these: keep the buffer NUL-free after
         * the mutated length and cut where a NUL sits */
        buf[len] = '\0';
        if (strlen(buf) != len)
            continue;
        run(&mv, NULL, 0, &whole);
        for (int t = 0; t < 3; t++) {
            size_t at = 0;

            n = 0;
            while (n < 64) {
                at += 1 + lcg(&seed) % (t == 0 ? 2 : 23);
                if (at >= len)
                    break;
                cuts[n++] = at;
            }
            run(&mv, cuts, n, &r);
            same(&mv, &whole, &r, "mutant split");
        }
    }
}

/* ---- chunk extension and trailer bounds (shim_limits.h) ---- */

static const struct http_limits lim_big_head = {
    .hl_max_head = 65536,
    .hl_max_headers = 10,
    .hl_max_uri = 64,
    .hl_max_body = 0,
};

/* Feed in[0..len) in pieces of step bytes (0: whole). Returns the result;
 * *consumed gets where the message stopped. */
static enum http_rc
feed_steps(enum http_kind kind, const char *in, size_t len, size_t step,
           struct result *r, int *status, const char **reason)
{
    struct http_parser *p;
    enum http_rc rc = HTTP_MORE;
    size_t at = 0, used;

    memset(r, 0, sizeof(*r));
    p = http_parser_new(kind, &lim_big_head, &t_cb, r);
    assert_non_null(p);
    while (at < len && rc == HTTP_MORE) {
        size_t n = step == 0 || len - at < step ? len - at : step;
        rc = http_parser_feed(p, in + at, n, &used);
        at += used;
    }
    r->r_consumed = at;
    *status = 0;
    *reason = "";
    if (rc == HTTP_BAD)
        *status = http_parser_error(p, reason);
    http_parser_free(p);
    return rc;
}

/* A chunked message: head, one chunk "hello" with an extension of ext
 * bytes after the ';' (none when ext < 0), and a trailer field line of
 * trl bytes (CRLF included; none when 0). Returns malloc'd text. */
static char *
chunked_msg(enum http_kind kind, int ext, size_t trl, size_t *len)
{
    const char *head = kind == HTTP_KIND_REQUEST
                           ? "POST / HTTP/1.1\r\nHost: a\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
    size_t cap = strlen(head) + (ext > 0 ? (size_t)ext : 0) + trl + 64;
    char *m = malloc(cap), *q;

    assert_non_null(m);
    q = m + sprintf(m, "%s5", head);
    if (ext >= 0) {
        *q++ = ';';
        memset(q, 'e', (size_t)ext);
        q += ext;
    }
    q += sprintf(q, "\r\nhello\r\n0\r\n");
    if (trl > 0) {
        assert_true(trl >= 5);
        memcpy(q, "X: ", 3);
        memset(q + 3, 't', trl - 5);
        memcpy(q + trl - 2, "\r\n", 2);
        q += trl;
    }
    q += sprintf(q, "\r\n");
    *len = (size_t)(q - m);
    return m;
}

static void
test_chunk_extension_bounded(void **state)
{
    static const size_t steps[] = {0, 1, 7, 1000};
    static const enum http_kind kinds[] = {HTTP_KIND_REQUEST,
                                           HTTP_KIND_RESPONSE};
    static struct result r;
    const char *why;
    int status;
    size_t len;

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            char *ok = chunked_msg(kinds[k], MAX_CHUNK_EXT, 0, &len);
            char *bad = NULL;
            assert_int_equal(
                feed_steps(kinds[k], ok, len, steps[i], &r, &status, &why),
                HTTP_DONE);
            assert_int_equal(r.r_body_n, 5);
            assert_memory_equal(r.r_body, "hello", 5);
            bad = chunked_msg(kinds[k], MAX_CHUNK_EXT + 1, 0, &len);
            assert_int_equal(
                feed_steps(kinds[k], bad, len, steps[i], &r, &status, &why),
                HTTP_BAD);
            assert_int_equal(status, k == 0 ? 400 : 502);
            assert_string_equal(why, "chunk extension too long");
            free(ok);
            free(bad);
        }
    }
}

/* 50 MiB of extension is refused after MAX_CHUNK_EXT bytes of it, without
 * reading on. */
static void
test_chunk_extension_huge(void **state)
{
    static const char head[] = "POST / HTTP/1.1\r\nHost: a\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n1;";
    static struct result r;
    static char fill[65536];
    struct http_parser *p;
    enum http_rc rc;
    size_t used, total = 0;
    const char *why = "";

    (void)state;
    memset(fill, 'e', sizeof(fill));
    p = http_parser_new(HTTP_KIND_REQUEST, &lim_big_head, &t_cb, &r);
    assert_non_null(p);
    rc = http_parser_feed(p, head, sizeof(head) - 1, &used);
    assert_int_equal(rc, HTTP_MORE);
    while (rc == HTTP_MORE && total < 50u * 1024 * 1024) {
        rc = http_parser_feed(p, fill, sizeof(fill), &used);
        total += used;
    }
    assert_int_equal(rc, HTTP_BAD);
    assert_int_equal(http_parser_error(p, &why), 400);
    assert_string_equal(why, "chunk extension too long");
    assert_true(total <= MAX_CHUNK_EXT);
    http_parser_free(p);
}

static void
test_trailer_section_bounded(void **state)
{
    static const size_t steps[] = {0, 1, 13, 1000};
    static const enum http_kind kinds[] = {HTTP_KIND_REQUEST,
                                           HTTP_KIND_RESPONSE};
    static struct result r;
    const char *why;
    int status;
    size_t len;

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            /* The trailer count takes the LF before the section and the
             * final CR too: a field line of MAX - 2 bytes just fits. */
            char *ok = chunked_msg(kinds[k], -1, MAX_TRAILER_BYTES - 2, &len);
            char *bad = chunked_msg(kinds[k], -1, MAX_TRAILER_BYTES - 1, &len);
            size_t oklen = strlen(ok);
            assert_int_equal(
                feed_steps(kinds[k], ok, oklen, steps[i], &r, &status, &why),
                HTTP_DONE);
            assert_int_equal(r.r_consumed, oklen);
            assert_int_equal(
                feed_steps(kinds[k], bad, len, steps[i], &r, &status, &why),
                HTTP_BAD);
            assert_int_equal(status, k == 0 ? 431 : 502);
            assert_string_equal(why, "trailer section too large");
            free(ok);
            free(bad);
        }
    }
}

/* The fuzz finding as found: "GET", two SPs, "/H" and a long run of
 * '`' with no end of line, under the default limits. Whole and one byte at
 * a time it is the same 400: the request-line is invalid at the second SP,
 * before any length check could fire. */
static void
test_double_space_fuzz_input(void **state)
{
    static const struct http_limits lim_default = {
        .hl_max_head = DEF_MAX_HEADER_BYTES,
        .hl_max_headers = DEF_MAX_HEADERS,
        .hl_max_uri = DEF_MAX_URI,
        .hl_max_body = 0,
    };
    static const size_t steps[] = {0, 1, 2, 7};
    static char in[DEF_MAX_URI + 100];
    static struct result r;
    size_t len = sizeof(in) - 1;

    (void)state;
    memset(in, '`', len);
    memcpy(in, "GET  /H", 7);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct http_parser *p =
            http_parser_new(HTTP_KIND_REQUEST, &lim_default, &t_cb, &r);
        enum http_rc rc = HTTP_MORE;
        const char *why = "";
        size_t at = 0, used;

        assert_non_null(p);
        memset(&r, 0, sizeof(r));
        while (at < len && rc == HTTP_MORE) {
            size_t n =
                steps[i] == 0 || len - at < steps[i] ? len - at : steps[i];
            rc = http_parser_feed(p, in + at, n, &used);
            at += used;
        }
        assert_int_equal(rc, HTTP_BAD);
        assert_int_equal(http_parser_error(p, &why), 400);
        assert_string_equal(why, "invalid request-line");
        assert_int_equal(r.r_heads, 0);
        http_parser_free(p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_fragmented),
        cmocka_unit_test(test_head_fields),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_interim_then_final),
        cmocka_unit_test(test_head_limit_exact),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_mutations_fragment_invariant),
        cmocka_unit_test(test_chunk_extension_bounded),
        cmocka_unit_test(test_chunk_extension_huge),
        cmocka_unit_test(test_trailer_section_bounded),
        cmocka_unit_test(test_double_space_fuzz_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
