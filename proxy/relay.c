/*
 * relay.c - response plans and head serialization.
 *
 * The client always gets an HTTP/1.1-correct answer whatever the upstream
 * spoke: a body of known length keeps its Content-Length; a chunked or
 * close-delimited body is re-framed as chunked for a 1.1 client so the
 * connection survives, or close-delimited for a 1.0 client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "range.h"
#include "relay.h"

#define VIA_ENTRY "1.1 wsus-shim"

int
relay_has_body(int status, int is_head)
{
    if (is_head)
        return 0;
    if (status < 200 || status == 204 || status == 304)
        return 0;
    return 1;
}

int
relay_plan(const struct http_msg *req, const struct http_msg *resp,
           int keep_alive_ok, int pass_proxy_auth, struct resp_plan *plan,
           struct hdr_list *out)
{
    char num[32];
    int client11 = req->hm_major == 1 && req->hm_minor >= 1;
    int keep = keep_alive_ok && req->hm_keep_alive;

    memset(plan, 0, sizeof(*plan));
    if (hdr_copy(out, &resp->hm_hdrs) == -1)
        return -1;
    hdr_strip_hop_by_hop(out, pass_proxy_auth);

    if (!relay_has_body(resp->hm_status, req->hm_is_head)) {
        plan->rp_framing = OUT_NONE;
        /* A HEAD answer keeps the Content-Length it announces (it is the
         * size of the entity, which BITS needs); 1xx/204 carry none, and
         * neither does one that announced chunked. */
        if (resp->hm_status < 200 || resp->hm_status == 204 || resp->hm_chunked)
            hdr_del(out, "Content-Length");
    } else if (resp->hm_has_length && !resp->hm_chunked) {
        plan->rp_framing = OUT_LENGTH;
        plan->rp_length = resp->hm_length;
        snprintf(num, sizeof(num), "%llu", (unsigned long long)resp->hm_length);
        if (hdr_set(out, "Content-Length", num) == -1)
            return -1;
    } else {
        hdr_del(out, "Content-Length");
        if (client11) {
            plan->rp_framing = OUT_CHUNKED;
            if (hdr_add(out, "Transfer-Encoding", "chunked") == -1)
                return -1;
        } else {
            plan->rp_framing = OUT_CLOSE;
            keep = 0;
        }
    }

    plan->rp_keep_alive = keep;
    if (!keep) {
        if (hdr_add(out, "Connection", "close") == -1)
            return -1;
    } else if (!client11) {
        if (hdr_add(out, "Connection", "keep-alive") == -1)
            return -1;
    }

    const char *via = hdr_get(out, "Via");
    if (via != NULL) {
        size_t n = strlen(via) + sizeof(VIA_ENTRY) + 2;
        char *v = malloc(n);
        if (v == NULL)
            return -1;
        snprintf(v, n, "%s, %s", via, VIA_ENTRY);
        int rc = hdr_set(out, "Via", v);
        free(v);
        if (rc == -1)
            return -1;
    } else if (hdr_add(out, "Via", VIA_ENTRY) == -1) {
        return -1;
    }
    return 0;
}

int
relay_if_range_ok(const struct http_msg *req, const char *etag,
                  const char *last_modified)
{
    const char *ir = hdr_get(&req->hm_hdrs, "If-Range");

    if (ir == NULL)
        return 1;
    if (ir[0] == '"' || (ir[0] == 'W' && ir[1] == '/'))
        return etag != NULL && etag[0] != '\0' && strcmp(ir, etag) == 0 &&
               ir[0] != 'W';
    return last_modified != NULL && last_modified[0] != '\0' &&
           strcmp(ir, last_modified) == 0;
}

/* The single Range of a GET resolved against total: RESOLVE_FULL when
 * there is none (or it is invalid, or several Range headers came). */
static enum range_resolve_rc
client_range(const struct http_msg *req, uint64_t total, struct byte_range *br)
{
    struct range_set set;
    const char *rv = hdr_get(&req->hm_hdrs, "Range");

    if (rv == NULL || req->hm_is_head || req->hm_method == NULL ||
        strcmp(req->hm_method, "GET") != 0 ||
        hdr_count(&req->hm_hdrs, "Range") != 1 ||
        range_parse(rv, &set) != RANGE_OK)
        return RESOLVE_FULL;
    return range_resolve(&set, total, br);
}

enum relay_window_rc
relay_pass_window(const struct http_msg *req, const struct http_msg *resp,
                  int slice, uint64_t max_discard, struct relay_window *w)
{
    struct byte_range br, up;
    uint64_t total;
    int known;

    memset(w, 0, sizeof(*w));
    if (resp->hm_status == 206 && hdr_get(&req->hm_hdrs, "Range") != NULL) {
        const char *cr = hdr_get(&resp->hm_hdrs, "Content-Range");
        if (cr == NULL ||
            range_parse_content_range(cr, &up, &total, &known) == -1 ||
            !known || !resp->hm_has_length ||
            resp->hm_length != up.br_last - up.br_first + 1)
            return WINDOW_BAD_206;
        if (client_range(req, total, &br) != RESOLVE_PARTIAL ||
            br.br_first < up.br_first || br.br_last > up.br_last)
            return WINDOW_WRONG_206;
        w->rw_first = br.br_first;
        w->rw_last = br.br_last;
        w->rw_total = total;
        w->rw_skip = br.br_first - up.br_first;
        return WINDOW_PARTIAL;
    }
    if (!slice || resp->hm_status != 200 ||
        !relay_if_range_ok(req, hdr_get(&resp->hm_hdrs, "ETag"),
                           hdr_get(&resp->hm_hdrs, "Last-Modified")))
        return WINDOW_WHOLE;
    /* No length, nothing to cut a range from: never the whole file as
     * the answer to a range (BITS fails the job on that), an error it
     * retries instead. A range that names no bytes stays a whole 200. */
    if (!resp->hm_has_length)
        return client_range(req, UINT64_MAX, &br) == RESOLVE_PARTIAL
                   ? WINDOW_NO_LENGTH
                   : WINDOW_WHOLE;
    w->rw_total = resp->hm_length;
    switch (client_range(req, resp->hm_length, &br)) {
    case RESOLVE_PARTIAL:
        if (br.br_first > max_discard)
            return WINDOW_TOO_FAR;
        w->rw_first = br.br_first;
        w->rw_last = br.br_last;
        w->rw_skip = br.br_first;
        return WINDOW_PARTIAL;
    case RESOLVE_UNSATISFIABLE:
        return WINDOW_UNSAT;
    default:
        return WINDOW_WHOLE;
    }
}

int
relay_plan_window(enum relay_window_rc rc, const struct relay_window *w,
                  struct resp_plan *plan, struct hdr_list *out)
{
    struct byte_range br = {w->rw_first, w->rw_last};
    char cr[RANGE_CONTENT_RANGE_LEN], num[32];
    uint64_t len = 0;

    if (rc == WINDOW_PARTIAL) {
        len = w->rw_last - w->rw_first + 1;
        if (range_content_range(&br, w->rw_total, cr, sizeof(cr)) == -1)
            return -1;
    } else if (range_content_range_unsat(w->rw_total, cr, sizeof(cr)) == -1) {
        return -1;
    }
    snprintf(num, sizeof(num), "%llu", (unsigned long long)len);
    hdr_del(out, "Transfer-Encoding");
    if (hdr_set(out, "Content-Range", cr) == -1 ||
        hdr_set(out, "Content-Length", num) == -1)
        return -1;
    if (rc == WINDOW_PARTIAL && hdr_set(out, "Accept-Ranges", "bytes") == -1)
        return -1;
    plan->rp_framing = OUT_LENGTH;
    plan->rp_length = len;
    return rc == WINDOW_PARTIAL ? 206 : 416;
}

int
relay_plan_entity(const struct http_msg *req, const struct cache_meta *meta,
                  uint64_t total, int keep_alive_ok, int *status,
                  uint64_t *first, uint64_t *len, struct resp_plan *plan,
                  struct hdr_list *out)
{
    struct range_set set;
    struct byte_range br = {0, 0};
    char num[32], cr[RANGE_CONTENT_RANGE_LEN];
    const char *rv = hdr_get(&req->hm_hdrs, "Range");
    enum range_resolve_rc rc = RESOLVE_FULL;
    int keep = keep_alive_ok && req->hm_keep_alive;

    memset(plan, 0, sizeof(*plan));
    if (rv != NULL && !req->hm_is_head &&
        hdr_count(&req->hm_hdrs, "Range") == 1 &&
        relay_if_range_ok(req, meta->cm_etag, meta->cm_last_modified) &&
        range_parse(rv, &set) == RANGE_OK)
        rc = range_resolve(&set, total, &br);

    *first = 0;
    *len = total;
    if (rc == RESOLVE_PARTIAL) {
        *status = 206;
        *first = br.br_first;
        *len = br.br_last - br.br_first + 1;
        if (range_content_range(&br, total, cr, sizeof(cr)) == -1 ||
            hdr_add(out, "Content-Range", cr) == -1)
            return -1;
    } else if (rc == RESOLVE_UNSATISFIABLE) {
        *status = 416;
        *len = 0;
        if (range_content_range_unsat(total, cr, sizeof(cr)) == -1 ||
            hdr_add(out, "Content-Range", cr) == -1)
            return -1;
    } else {
        *status = 200;
    }
    snprintf(num, sizeof(num), "%llu", (unsigned long long)*len);
    if (hdr_add(out, "Content-Length", num) == -1 ||
        hdr_add(out, "Accept-Ranges", "bytes") == -1)
        return -1;
    if (meta->cm_etag[0] != '\0' && hdr_add(out, "ETag", meta->cm_etag) == -1)
        return -1;
    if (meta->cm_last_modified[0] != '\0' &&
        hdr_add(out, "Last-Modified", meta->cm_last_modified) == -1)
        return -1;
    if (hdr_add(out, "Content-Type",
                meta->cm_content_type[0] != '\0'
                    ? meta->cm_content_type
                    : "application/octet-stream") == -1)
        return -1;
    plan->rp_framing = req->hm_is_head ? OUT_NONE : OUT_LENGTH;
    plan->rp_length = req->hm_is_head ? 0 : *len;
    plan->rp_keep_alive = keep;
    if (!keep) {
        if (hdr_add(out, "Connection", "close") == -1)
            return -1;
    } else if (!(req->hm_major == 1 && req->hm_minor >= 1)) {
        if (hdr_add(out, "Connection", "keep-alive") == -1)
            return -1;
    }
    return hdr_add(out, "Via", VIA_ENTRY);
}

/* Growable byte buffer for serialization. */
struct sbuf {
    char *sb_p;
    size_t sb_len;
    size_t sb_cap;
    int sb_err;
};

static void
sbuf_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->sb_err)
        return;
    if (b->sb_len + n + 1 > b->sb_cap) {
        size_t cap = b->sb_cap ? b->sb_cap : 256;
        while (cap < b->sb_len + n + 1)
            cap *= 2;
        char *p = realloc(b->sb_p, cap);
        if (p == NULL) {
            b->sb_err = 1;
            return;
        }
        b->sb_p = p;
        b->sb_cap = cap;
    }
    memcpy(b->sb_p + b->sb_len, s, n);
    b->sb_len += n;
    b->sb_p[b->sb_len] = '\0';
}

static void
sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_put(b, s, strlen(s));
}

static char *
sbuf_finish(struct sbuf *b, const struct hdr_list *h, size_t *len)
{
    for (size_t i = 0; i < h->hl_n; i++) {
        sbuf_puts(b, h->hl_v[i].h_name);
        sbuf_put(b, ": ", 2);
        sbuf_puts(b, h->hl_v[i].h_value);
        sbuf_put(b, "\r\n", 2);
    }
    sbuf_put(b, "\r\n", 2);
    if (b->sb_err) {
        free(b->sb_p);
        return NULL;
    }
    *len = b->sb_len;
    return b->sb_p;
}

char *
relay_head_serialize(int minor, int status, const char *reason,
                     const struct hdr_list *h, size_t *len)
{
    struct sbuf b = {0};
    char line[64];

    if (reason == NULL || *reason == '\0')
        reason = relay_reason(status);
    snprintf(line, sizeof(line), "HTTP/1.%d %03d ", minor ? 1 : 0, status);
    sbuf_puts(&b, line);
    for (const char *p = reason; *p != '\0'; p++) {
        char ch =
            (*p == '\t' || (unsigned char)*p >= 0x20) && *p != 0x7f ? *p : ' ';
        sbuf_put(&b, &ch, 1);
    }
    sbuf_put(&b, "\r\n", 2);
    return sbuf_finish(&b, h, len);
}

char *
relay_request_serialize(const char *line, const struct hdr_list *h, size_t *len)
{
    struct sbuf b = {0};

    sbuf_puts(&b, line);
    sbuf_put(&b, "\r\n", 2);
    return sbuf_finish(&b, h, len);
}

char *
relay_error_answer(const struct relay_error *e, size_t *len)
{
    struct hdr_list h;
    char body[512], num[32];
    char *head, *out = NULL;
    size_t hlen;
    int n;

    n = snprintf(body, sizeof(body), "wsus-shim: %d %s: %s\nrequest id: %s\n",
                 e->re_status, relay_reason(e->re_status), e->re_reason,
                 e->re_reqid);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)strlen(body);
    hdr_init(&h);
    snprintf(num, sizeof(num), "%d", n);
    hdr_add(&h, "Content-Type", "text/plain; charset=utf-8");
    hdr_add(&h, "Content-Length", num);
    hdr_add(&h, "X-Wsus-Shim-Request-Id", e->re_reqid);
    if (e->re_allow != NULL)
        hdr_add(&h, "Allow", e->re_allow);
    if (e->re_challenge != NULL)
        hdr_add(&h, "Proxy-Authenticate", e->re_challenge);
    if (!e->re_keep)
        hdr_add(&h, "Connection", "close");
    head = relay_head_serialize(1, e->re_status, NULL, &h, &hlen);
    hdr_free(&h);
    if (head == NULL)
        return NULL;
    if (e->re_is_head)
        n = 0;
    out = malloc(hlen + (size_t)n);
    if (out != NULL) {
        memcpy(out, head, hlen);
        memcpy(out + hlen, body, (size_t)n);
        *len = hlen + (size_t)n;
    }
    free(head);
    return out;
}

const char *
relay_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}
