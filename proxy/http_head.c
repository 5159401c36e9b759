/*
 * http_head.c - validation of a complete message head, done by us and not
 * by llhttp: field names are tokens and values carry no control character,
 * the request-target and status code are well formed, and the framing is
 * derived from our own reading of Content-Length / Transfer-Encoding
 * (strparse.h, never atol), the strict way of RFC 9112 §6, then checked
 * against what llhttp read.
 */
#include <stdlib.h>
#include <string.h>

#include "http_msg_int.h"
#include "strparse.h"
#include "strutil.h"

/* RFC 9110 §5.6.2 tchar. */
static int
is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char *
xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

/* Commit the accumulated name/value as one field. */
int
hp_head_field(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const char *name = hp_sb_str(&p->hp_name), *v = hp_sb_str(&p->hp_value);

    if (p->hp_name.sb_n == 0)
        return hp_fail(p, 400, "empty header field name");
    for (size_t i = 0; i < p->hp_name.sb_n; i++) {
        if (!is_tchar((unsigned char)name[i]))
            return hp_fail(p, 400, "invalid header field name");
    }
    for (size_t i = 0; i < p->hp_value.sb_n; i++) {
        if (hp_bad_ctl((unsigned char)v[i]))
            return hp_fail(p, 400, "invalid header field value");
    }
    if (m->hm_hdrs.hl_n >= p->hp_lim->hl_max_headers)
        return hp_fail(p, 431, "too many header fields");
    if (hdr_addn(&m->hm_hdrs, name, p->hp_name.sb_n, v, p->hp_value.sb_n) == -1)
        return hp_fail_oom(p);
    hp_sb_reset(&p->hp_name);
    hp_sb_reset(&p->hp_value);
    return 0;
}

/* Transfer-Encoding over every field, in order. */
struct te_info {
    int ti_fields;  /* Transfer-Encoding fields */
    int ti_codings; /* codings listed */
    int ti_chunked; /* how often "chunked" appears */
    int ti_final;   /* the last coding is chunked */
};

static void
te_read(const struct hdr_list *l, struct te_info *ti)
{
    memset(ti, 0, sizeof(*ti));
    for (size_t i = 0; i < l->hl_n; i++) {
        const char *s, *t;
        size_t n;

        if (!str_ieq(l->hl_v[i].h_name, "Transfer-Encoding"))
            continue;
        ti->ti_fields++;
        s = l->hl_v[i].h_value;
        while (hdr_list_next(&s, &t, &n)) {
            int ch = str_ieqn(t, n, "chunked");

            ti->ti_codings++;
            ti->ti_chunked += ch;
            ti->ti_final = ch;
        }
    }
}

/* Content-Length over every field: *n gets how many fields, *len the value
 * when all of them parse and agree. Returns 0, -1 for a value that does
 * not parse, -2 for values that differ. */
static int
cl_read(const struct hdr_list *l, size_t *n, uint64_t *len)
{
    uint64_t v;

    *n = 0;
    for (size_t i = 0; i < l->hl_n; i++) {
        if (!str_ieq(l->hl_v[i].h_name, "Content-Length"))
            continue;
        /* values are trimmed; "5, 5", "", "+5", "-1", "0x5", and anything
         * past UINT64_MAX fail here */
        if (parse_u64(l->hl_v[i].h_value, &v) == -1)
            return -1;
        if (*n > 0 && v != *len)
            return -2;
        *len = v;
        (*n)++;
    }
    return 0;
}

/* Connection-like tokens: close / keep-alive. */
static int
wants_keep_alive(const struct http_msg *m, int proxy_conn_too)
{
    const struct hdr_list *l = &m->hm_hdrs;
    int close = hdr_has_token(l, "Connection", "close");
    int ka = hdr_has_token(l, "Connection", "keep-alive");

    if (proxy_conn_too) {
        close |= hdr_has_token(l, "Proxy-Connection", "close");
        ka |= hdr_has_token(l, "Proxy-Connection", "keep-alive");
    }
    if (close)
        return 0;
    return m->hm_minor >= 1 ? 1 : ka;
}

/* request-target: visible ASCII only, no space, no CTL. */
static int
target_ok(const char *t, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

int
hp_head_request(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const struct hdr_list *l = &m->hm_hdrs;
    const char *target = hp_sb_str(&p->hp_url);
    struct te_info ti;
    size_t ncl, nhost;
    uint64_t len = 0;
    int rc;

    if (!target_ok(target, p->hp_url.sb_n))
        return hp_fail(p, 400, "invalid request-target");
    m->hm_method = xstrdup(llhttp_method_name(p->hp_ll.method));
    m->hm_target = xstrdup(target);
    if (m->hm_method == NULL || m->hm_target == NULL)
        return hp_fail_oom(p);
    m->hm_is_head = p->hp_ll.method == HTTP_HEAD;
    m->hm_is_connect = p->hp_ll.method == HTTP_CONNECT;

    /* framing: RFC 9112 §6, the strict way */
    rc = cl_read(l, &ncl, &len);
    if (ncl > 1 || rc == -2)
        return hp_fail(p, 400, "duplicate Content-Length");
    if (rc == -1)
        return hp_fail(p, 400, "invalid Content-Length");
    te_read(l, &ti);
    if (ti.ti_fields > 0) {
        if (ncl > 0)
            return hp_fail(p, 400, "Content-Length with Transfer-Encoding");
        if (m->hm_minor == 0)
            return hp_fail(p, 400, "Transfer-Encoding in HTTP/1.0 request");
        if (ti.ti_chunked == 1 && ti.ti_final && ti.ti_codings > 1)
            return hp_fail(p, 501, "unsupported transfer coding");
        if (ti.ti_chunked != 1 || !ti.ti_final || ti.ti_codings != 1)
            return hp_fail(p, 400, "invalid Transfer-Encoding");
        m->hm_chunked = 1;
    } else if (ncl == 1) {
        m->hm_has_length = 1;
        m->hm_length = len;
        if (p->hp_lim->hl_max_body != 0 && len > p->hp_lim->hl_max_body)
            return hp_fail(p, 413, "request body too large");
    }
    if (m->hm_is_connect && (m->hm_chunked || m->hm_length > 0))
        return hp_fail(p, 400, "CONNECT with a body");

    nhost = hdr_count(l, "Host");
    if (nhost > 1)
        return hp_fail(p, 400, "multiple Host headers");
    /* RFC 9112 §3.2: Host is required in HTTP/1.1; absolute-form and
     * CONNECT's authority-form carry the authority themselves, and some
     * proxy clients leave Host out there, so only origin-form and
     * asterisk-form need it. */
    if (nhost == 0 && m->hm_minor >= 1 && !m->hm_is_connect &&
        (target[0] == '/' || strcmp(target, "*") == 0))
        return hp_fail(p, 400, "missing Host header");

    /* Expect (ignored in HTTP/1.0 requests, RFC 9110 §10.1.1) */
    if (m->hm_minor >= 1) {
        for (size_t i = 0; i < l->hl_n; i++) {
            const char *s, *t;
            size_t n;

            if (!str_ieq(l->hl_v[i].h_name, "Expect"))
                continue;
            s = l->hl_v[i].h_value;
            if (*s == '\0')
                m->hm_expect_other = 1;
            while (hdr_list_next(&s, &t, &n)) {
                if (str_ieqn(t, n, "100-continue"))
                    m->hm_expect_continue = 1;
                else
                    m->hm_expect_other = 1;
            }
        }
    }
    m->hm_keep_alive = wants_keep_alive(m, 1);
    return 0;
}

int
hp_head_response(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const struct hdr_list *l = &m->hm_hdrs;
    struct te_info ti;
    size_t ncl;
    uint64_t len = 0;
    int rc, st;

    st = m->hm_status = p->hp_ll.status_code;
    if (st < 100 || st > 599)
        return hp_fail(p, 502, "invalid status code");
    for (size_t i = 0; i < p->hp_stat.sb_n; i++) {
        if (hp_bad_ctl((unsigned char)p->hp_stat.sb_p[i]))
            return hp_fail(p, 502, "invalid reason phrase");
    }
    if ((m->hm_reason = xstrdup(hp_sb_str(&p->hp_stat))) == NULL)
        return hp_fail_oom(p);

    m->hm_no_body = st / 100 == 1 || st == 204 || st == 304 || p->hp_no_body ||
                    (p->hp_connect && st / 100 == 2);

    rc = cl_read(l, &ncl, &len);
    if (rc == -1)
        return hp_fail(p, 502, "invalid Content-Length");
    if (rc == -2)
        return hp_fail(p, 502, "conflicting Content-Length");
    te_read(l, &ti);
    if (ti.ti_fields > 0 && ncl > 0)
        return hp_fail(p, 502, "Content-Length with Transfer-Encoding");
    if (ti.ti_fields > 0) {
        if (ti.ti_chunked > 1)
            return hp_fail(p, 502, "invalid Transfer-Encoding");
        if (ti.ti_final && ti.ti_codings > 1)
            /* framing is clear, but the decoded body would still carry a
             * coding we would present as identity */
            return hp_fail(p, 502, "unsupported transfer coding");
        if (ti.ti_final)
            m->hm_chunked = 1;
        else if (!m->hm_no_body)
            /* RFC 9112 §6.3: read until the connection closes */
            m->hm_close_delimited = 1;
    } else if (ncl > 0) {
        m->hm_has_length = 1;
        m->hm_length = len;
    } else if (!m->hm_no_body) {
        m->hm_close_delimited = 1;
    }
    m->hm_keep_alive = wants_keep_alive(m, 0) && !m->hm_close_delimited;
    /* RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message: process
     * it, then close the connection. */
    if (ti.ti_fields > 0 && m->hm_minor == 0)
        m->hm_keep_alive = 0;
    return 0;
}

/* Does llhttp frame the body the way we decided? */
int
hp_framing_agrees(const struct http_parser *p)
{
    const struct http_msg *m = &p->hp_msg;
    int ll_chunked = (p->hp_ll.flags & F_CHUNKED) != 0;
    int ll_cl = (p->hp_ll.flags & F_CONTENT_LENGTH) != 0;

    if (m->hm_no_body || m->hm_is_connect)
        return 1;
    if (ll_chunked != m->hm_chunked)
        return 0;
    if (m->hm_has_length && (!ll_cl || p->hp_ll.content_length != m->hm_length))
        return 0;
    if (!m->hm_has_length && !m->hm_chunked && ll_cl)
        return 0;
    return 1;
}
