/*
 * fuzz_normalize.c - libFuzzer target for request normalization
 * (proxy/normalize.c): the request head toward the upstream.
 *
 * Input: byte 0 holds the options (to a proxy, HTTP/1.1 upstream, our
 * Proxy-Authorization, pass the client's, a body, keep-alive, identity),
 * byte 1 the body length, the rest a client request. The request is parsed
 * strictly (http_msg.c); when it parses and its target does
 * (req_target_parse), normalize_request's output is serialized as
 * fetch.c does (relay_request_serialize). Properties, each an abort:
 *   - the output parses strictly, as one whole request, with the method,
 *     the version asked for and exactly one Host, the authority;
 *   - it carries no hop-by-hop field: no TE, Trailer, Transfer-Encoding,
 *     Upgrade, Keep-Alive or Expect; Connection only ours (close or
 *     keep-alive); Proxy-Connection only ours; Proxy-Authorization only to
 *     a proxy, and only ours or the client's when asked to pass it; no
 *     field the client's Connection names, but those we set ourselves;
 *   - Content-Length only, and exactly, when a body follows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"
#include "http_msg.h"
#include "normalize.h"
#include "relay.h"
#include "strutil.h"

enum {
    O_TO_PROXY = 1,
    O_UP11 = 2,
    O_OUR_AUTH = 4,
    O_PASS_AUTH = 8,
    O_BODY = 16,
    O_KEEP = 32,
    O_IDENTITY = 64,
};

#define OUR_AUTH "Basic b3VyOnNlY3JldA=="

static const struct http_limits fn_lim_in = {
    .hl_max_head = 4096,
    .hl_max_headers = 32,
    .hl_max_uri = 1024,
    .hl_max_body = 0,
};

/* The output gets the fields we add on top of the client's. */
static const struct http_limits fn_lim_out = {
    .hl_max_head = 16384,
    .hl_max_headers = 64,
    .hl_max_uri = 4096,
    .hl_max_body = 0,
};

/* What one parse saw: a copy of the head (http_msg is reset by the next
 * message). */
struct seen {
    int s_heads, s_dones;
    struct http_msg *s_m; /* the parser's, valid inside on_head */
    char *s_method, *s_target;
    int s_minor, s_has_length;
    uint64_t s_length;
    struct hdr_list s_hdrs;
};

static int
fn_head(void *arg, struct http_msg *m)
{
    struct seen *s = arg;

    s->s_heads++;
    s->s_method = str_dupn(m->hm_method, strlen(m->hm_method));
    s->s_target = str_dupn(m->hm_target, strlen(m->hm_target));
    CHECK(s->s_method != NULL && s->s_target != NULL);
    s->s_minor = m->hm_minor;
    s->s_has_length = m->hm_has_length;
    s->s_length = m->hm_length;
    CHECK(hdr_copy(&s->s_hdrs, &m->hm_hdrs) == 0);
    return 0;
}

static int
fn_body(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

static int
fn_done(void *arg)
{
    ((struct seen *)arg)->s_dones++;
    return 0;
}

static const struct http_parser_cb fn_cb = {fn_head, fn_body, fn_done};

static void
seen_free(struct seen *s)
{
    free(s->s_method);
    free(s->s_target);
    hdr_free(&s->s_hdrs);
}

/* Parse s[0..n) as one request. Returns its result; *used what it took. */
static enum http_rc
parse_one(const char *s, size_t n, const struct http_limits *lim,
          struct seen *out, size_t *used)
{
    struct http_parser *p;
    enum http_rc rc;

    memset(out, 0, sizeof(*out));
    hdr_init(&out->s_hdrs);
    p = http_parser_new(HTTP_KIND_REQUEST, lim, &fn_cb, out);
    CHECK(p != NULL);
    rc = http_parser_feed(p, s, n, used);
    if (rc == HTTP_BAD) {
        const char *why;
        int st = http_parser_error(p, &why);

        if (lim == &fn_lim_out)
            fprintf(stderr, "output refused: %d %s\n", st, why);
    }
    http_parser_free(p);
    return rc;
}

/* Is name one of those normalize_request sets itself? */
static int
ours(const char *name)
{
    static const char *const set[] = {
        "Host",
        "Content-Length",
        "Via",
        "Accept-Encoding",
        "Connection",
        "Proxy-Connection",
        "Proxy-Authorization",
    };

    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        if (str_ieq(name, set[i]))
            return 1;
    }
    return 0;
}

static void
check_output(const struct seen *in, const struct hdr_list *out,
             const struct req_target *t, const struct norm_opts *o,
             const char *auth)
{
    static const char *const never[] = {
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Keep-Alive", "Expect",
    };
    const char *pa = hdr_get(out, "Proxy-Authorization");

    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        CHECK(hdr_get(out, never[i]) == NULL);
    CHECK(hdr_count(out, "Host") == 1);
    CHECK(strcmp(hdr_get(out, "Host"), auth) == 0);
    for (size_t i = 0; i < out->hl_n; i++) {
        const char *n = out->hl_v[i].h_name, *v = out->hl_v[i].h_value;

        if (str_ieq(n, "Connection"))
            CHECK(strcmp(v, "close") == 0 || strcmp(v, "keep-alive") == 0);
        if (str_ieq(n, "Proxy-Connection"))
            CHECK(o->no_to_proxy && strcmp(v, "keep-alive") == 0);
        if (!ours(n))
            CHECK(!hdr_has_token(&in->s_hdrs, "Connection", n));
    }
    if (pa != NULL) {
        CHECK(o->no_to_proxy);
        CHECK((o->no_proxy_auth != NULL && strcmp(pa, OUR_AUTH) == 0) ||
              (o->no_proxy_auth == NULL && o->no_pass_client_auth));
    }
    if (o->no_has_body) {
        CHECK(hdr_count(out, "Content-Length") == 1);
    } else {
        CHECK(hdr_get(out, "Content-Length") == NULL);
    }
    (void)t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen in, again;
    struct req_target t;
    struct norm_opts o;
    struct hdr_list out;
    const char *why = NULL;
    char *line = NULL, *head = NULL, *msg;
    char auth[300];
    size_t used, hlen = 0, blen;
    enum http_rc rc;

    if (size < 2)
        return 0;
    rc = parse_one((const char *)data + 2, size - 2, &fn_lim_in, &in, &used);
    if (rc != HTTP_DONE ||
        req_target_parse(in.s_target, strcmp(in.s_method, "CONNECT") == 0,
                         hdr_get(&in.s_hdrs, "Host"), &t, &why) == -1) {
        seen_free(&in);
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.no_to_proxy = (data[0] & O_TO_PROXY) != 0;
    o.no_up_minor = (data[0] & O_UP11) != 0;
    o.no_proxy_auth = (data[0] & O_OUR_AUTH) ? OUR_AUTH : NULL;
    o.no_pass_client_auth = (data[0] & O_PASS_AUTH) != 0;
    o.no_via = in.s_minor >= 1 ? "1.1 wsus-shim" : "1.0 wsus-shim";
    o.no_identity = (data[0] & O_IDENTITY) != 0;
    o.no_has_body = (data[0] & O_BODY) != 0;
    o.no_body_len = o.no_has_body ? data[1] : 0;
    o.no_keep_alive = (data[0] & O_KEEP) != 0;
    blen = (size_t)o.no_body_len;

    /* A target without a host (origin-form, no Host) fails here, as the
     * contract says; the output of a success is checked. */
    hdr_init(&out);
    {
        /* normalize_request reads a struct http_msg: build one. */
        struct http_msg m;

        http_msg_init(&m, HTTP_KIND_REQUEST);
        m.hm_method = in.s_method;
        m.hm_target = in.s_target;
        m.hm_is_connect = strcmp(in.s_method, "CONNECT") == 0;
        m.hm_is_head = strcmp(in.s_method, "HEAD") == 0;
        m.hm_minor = (uint8_t)in.s_minor;
        m.hm_hdrs = in.s_hdrs;
        rc = normalize_request(&m, &t, &o, &line, &out) == 0 ? HTTP_DONE
                                                             : HTTP_BAD;
    }
    if (rc == HTTP_DONE) {
        CHECK(req_target_authority(&t, !(strcmp(in.s_method, "CONNECT") == 0),
                                   auth, sizeof(auth)) == 0);
        head = relay_request_serialize(line, &out, &hlen);
        CHECK(head != NULL);
        msg = malloc(hlen + blen + 1);
        CHECK(msg != NULL);
        memcpy(msg, head, hlen);
        memset(msg + hlen, 'b', blen);
        /* CONNECT has no body: its Content-Length would be refused */
        if (strcmp(in.s_method, "CONNECT") != 0 || !o.no_has_body ||
            blen == 0) {
            rc = parse_one(msg, hlen + blen, &fn_lim_out, &again, &used);
            if (rc != HTTP_DONE)
                fprintf(stderr, "output:\n%.*s\n", (int)hlen, head);
            CHECK(rc == HTTP_DONE);
            CHECK(used == hlen + blen);
            CHECK(strcmp(again.s_method, in.s_method) == 0);
            CHECK(again.s_minor == o.no_up_minor);
            CHECK(!o.no_has_body ||
                  (again.s_has_length && again.s_length == blen));
            check_output(&in, &again.s_hdrs, &t, &o, auth);
            seen_free(&again);
        }
        free(msg);
        free(head);
    } else {
        CHECK(line == NULL);
    }
    free(line);
    hdr_free(&out);
    req_target_free(&t);
    seen_free(&in);
    return 0;
}
