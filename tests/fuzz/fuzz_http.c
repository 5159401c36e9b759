/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 message parser
 * (proxy/http_msg.c), built twice: FUZZ_KIND picks requests
 * (fuzz_http_req) or responses (fuzz_http_resp).
 *
 * Input: byte 0 holds flags (a response to HEAD, to CONNECT, an EOF at
 * the end), byte 1 seeds the fragment sizes, the rest is the message
 * stream. It is parsed whole, then in pseudo-random fragments, message
 * after message (http_parser_next). Every property that fails aborts:
 *   - both runs agree: result, status, reason, body bytes and message
 *     count, and the bytes used unless the message failed, so no verdict
 *     depends on how bytes arrive;
 *   - a failure's status is 400..505 for a request, always 502 for a
 *     response; the parser never uses more bytes than it was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_msg.h"

#define MAX_MSGS 8

struct outcome {
    enum http_rc o_rc;
    int o_status;
    const char *o_reason;
    size_t o_used; /* bytes of the stream used */
    unsigned o_msgs;
    uint64_t o_body; /* body bytes delivered */
    uint32_t o_sum;  /* a checksum of them */
};

static int
f_head(void *arg, struct http_msg *m)
{
    (void)arg;
    (void)m;
    return 0;
}

static int
f_body(void *arg, const char *p, size_t n)
{
    struct outcome *o = arg;

    for (size_t i = 0; i < n; i++)
        o->o_sum = o->o_sum * 31u + (unsigned char)p[i];
    o->o_body += n;
    return 0;
}

static int
f_done(void *arg)
{
    (void)arg;
    return 0;
}

static const struct http_parser_cb f_cb = {f_head, f_body, f_done};

static const struct http_limits f_lim = {
    .hl_max_head = 2048,
    .hl_max_headers = 20,
    .hl_max_uri = 256,
    .hl_max_body = 100000,
};

/* Parse s[0..n) in pieces from *seed (0: whole). */
static void
parse(const char *s, size_t n, unsigned flags, unsigned seed, struct outcome *o)
{
    struct http_parser *p = http_parser_new(FUZZ_KIND, &f_lim, &f_cb, o);
    size_t at = 0;

    CHECK(p != NULL);
    memset(o, 0, sizeof(*o));
    o->o_rc = HTTP_MORE;
    for (;;) {
        if (FUZZ_KIND == HTTP_KIND_RESPONSE && (flags & 1))
            http_parser_set_no_body(p);
        if (FUZZ_KIND == HTTP_KIND_RESPONSE && (flags & 2))
            http_parser_set_connect(p);
        o->o_rc = HTTP_MORE;
        while (at < n && o->o_rc == HTTP_MORE) {
            size_t k = n - at, used = 0;
            if (seed != 0) {
                seed = seed * 1103515245u + 12345u;
                size_t piece = 1 + (seed >> 16) % 17;
                if (piece < k)
                    k = piece;
            }
            o->o_rc = http_parser_feed(p, s + at, k, &used);
            CHECK(used <= k);
            if (o->o_rc == HTTP_MORE)
                CHECK(used == k);
            at += used;
        }
        if (o->o_rc == HTTP_MORE && (flags & 4))
            o->o_rc = http_parser_eof(p);
        if (o->o_rc != HTTP_DONE || ++o->o_msgs >= MAX_MSGS || at >= n)
            break;
        http_parser_next(p);
    }
    o->o_used = at;
    if (o->o_rc == HTTP_BAD) {
        o->o_status = http_parser_error(p, &o->o_reason);
        if (FUZZ_KIND == HTTP_KIND_RESPONSE)
            CHECK(o->o_status == 502);
        else
            CHECK(o->o_status >= 400 && o->o_status <= 505);
        CHECK(o->o_reason != NULL);
    }
    http_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome whole, frag;

    if (size < 2)
        return 0;
    parse((const char *)data + 2, size - 2, data[0], 0, &whole);
    parse((const char *)data + 2, size - 2, data[0], data[1] + 1u, &frag);
    /* Where a failed message stopped is not part of the contract (the
     * connection closes); where a good one ended is. */
    if (whole.o_rc != frag.o_rc || whole.o_status != frag.o_status ||
        (whole.o_rc != HTTP_BAD && whole.o_used != frag.o_used) ||
        whole.o_msgs != frag.o_msgs || whole.o_body != frag.o_body ||
        whole.o_sum != frag.o_sum ||
        (whole.o_reason != NULL) != (frag.o_reason != NULL) ||
        (whole.o_reason != NULL &&
         strcmp(whole.o_reason, frag.o_reason) != 0)) {
        fprintf(stderr,
                "whole: rc %d %d %s used %zu msgs %u body %llu\n"
                "frag:  rc %d %d %s used %zu msgs %u body %llu\n",
                whole.o_rc, whole.o_status,
                whole.o_reason ? whole.o_reason : "-", whole.o_used,
                whole.o_msgs, (unsigned long long)whole.o_body, frag.o_rc,
                frag.o_status, frag.o_reason ? frag.o_reason : "-", frag.o_used,
                frag.o_msgs, (unsigned long long)frag.o_body);
        abort();
    }
    return 0;
}
