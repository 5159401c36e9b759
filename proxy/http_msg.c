/*
 * http_msg.c - the HTTP/1.x message model and the llhttp glue.
 *
 * llhttp (8.1) tokenizes; this file decides. Whatever mode the llhttp we
 * link was built in, three checks of our own run over the raw bytes and
 * the parsed fields, so a lenient system llhttp cannot let a smuggling
 * vector through:
 *
 *  - a head scanner sees every byte of the start line and header section
 *    before llhttp does: it finds the end of the head itself, counts head
 *    bytes against hl_max_head, and refuses bare CR, bare LF, obs-fold
 *    and control characters (HTAB excepted);
 *  - when the head is complete, the fields are checked (token names,
 *    values, request-target, version) and the framing is derived from our
 *    own reading of Content-Length / Transfer-Encoding (strparse.h, never
 *    atol), then cross-checked against llhttp's;
 *  - a chunk scanner validates chunked framing (hex sizes without
 *    overflow, extensions, the CRLF after each chunk's data, trailers)
 *    and finds the end of the message itself.
 *
 * llhttp is only ever fed up to where the scanners stop, so its idea of the
 * message boundary and ours are the same or the message is refused.
 * on_message_complete returns HPE_PAUSED, so llhttp stops right after one
 * message and *consumed tells the caller where the next one starts.
 *
 * Errors on a request parser carry the status to answer (400, 413, 414,
 * 431, 500, 501, 505); on a response parser the status is always 502: bad
 * framing from an upstream is an upstream error.
 */
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "http_msg.h"
#include "shim_limits.h"
#include "strutil.h"
#include "strparse.h"

/* A growable NUL-terminated byte string. */
struct sbuf {
    char *sb_p;
    size_t sb_n;
    size_t sb_cap;
};

enum hp_phase {
    HP_HEAD = 0, /* start line and header section */
    HP_BODY,     /* head delivered, body (if any) running */
    HP_DONE,     /* message complete; waiting for http_parser_next */
    HP_FAILED,   /* HTTP_BAD or HTTP_ABORTED; sticky until next */
};

/* Head scanner states. */
enum hs_state {
    HS_LINE_START = 0, /* at the first byte of a line */
    HS_IN_LINE,        /* inside a non-empty line */
    HS_CR,             /* after CR: LF must follow */
    HS_END_CR,         /* CR of the empty line: LF ends the head */
};

/* Chunk scanner states. */
enum ck_state {
    CK_SIZE_START = 0, /* first hex digit of a chunk size */
    CK_SIZE,           /* more hex digits, ';' or CR */
    CK_EXT,            /* chunk extension, up to CR */
    CK_SIZE_LF,        /* LF after the chunk-size line */
    CK_DATA,           /* ck_left bytes of data */
    CK_DATA_CR,        /* CR after the data */
    CK_DATA_LF,        /* LF after the data */
    CK_TRL_START,      /* start of a trailer line or the final CRLF */
    CK_TRL_LINE,       /* inside a trailer line */
    CK_TRL_LF,         /* LF ending a trailer line */
    CK_END_LF,         /* LF ending the message */
    CK_END,            /* message complete */
};

/* Header callback progress. */
enum hf_state {
    HF_NONE = 0, /* between fields */
    HF_NAME,     /* accumulating a name */
    HF_VALUE,    /* name complete, accumulating a value */
};

struct http_parser {
    llhttp_t hp_ll;
    enum http_kind hp_kind;
    const struct http_limits *hp_lim;
    const struct http_parser_cb *hp_cb;
    void *hp_arg;

    enum hp_phase hp_phase;
    enum http_rc hp_rc;    /* the sticky result once HP_FAILED */
    int hp_status;         /* after HTTP_BAD */
    const char *hp_reason; /* static */
    int hp_no_body;        /* response to HEAD */
    int hp_connect;        /* response to CONNECT */
    int hp_skip_body;      /* decided at head time */
    int hp_scan_status;    /* a scanner's pending verdict */
    const char *hp_scan_reason;

    /* head scanner */
    enum hs_state hp_hs;
    int hp_hs_lines; /* non-empty lines seen */
    uint64_t hp_head_bytes;
    int hp_sl_field;     /* request line: 0 method, 1 target, 2 version */
    uint64_t hp_sl_tlen; /* request-target bytes so far */

    /* chunk scanner */
    int hp_ck_on;
    enum ck_state hp_ck;
    uint64_t hp_ck_size;  /* size being parsed */
    uint64_t hp_ck_left;  /* data bytes left in this chunk */
    uint64_t hp_ck_total; /* declared data bytes so far */
    uint64_t hp_trl_bytes;
    uint64_t hp_trl_max;   /* MAX_TRAILER_BYTES or the head limit */
    uint32_t hp_ext_bytes; /* of the current chunk extension */

    /* span accumulation */
    enum hf_state hp_hf;
    struct sbuf hp_url;
    struct sbuf hp_stat;
    struct sbuf hp_name;
    struct sbuf hp_value;

    uint64_t hp_body_bytes;
    struct http_msg hp_msg;
};

/* --- small helpers ------------------------------------------------------ */

/* RFC 9110 §5.6.2 tchar. */
static int
is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control character that may not appear in a field value or reason
 * phrase: everything below SP but HTAB, and DEL. */
static int
is_bad_ctl(int c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void
sb_reset(struct sbuf *b)
{
    b->sb_n = 0;
    if (b->sb_p != NULL)
        b->sb_p[0] = '\0';
}

static void
sb_free(struct sbuf *b)
{
    free(b->sb_p);
    b->sb_p = NULL;
    b->sb_n = b->sb_cap = 0;
}

/* Append n bytes, keeping the total at most max. Returns 0, -1 on
 * allocation failure, -2 when max would be passed. */
static int
sb_append(struct sbuf *b, const char *s, size_t n, size_t max)
{
    char *np;

    if (n > max || b->sb_n > max - n)
        return -2;
    if (b->sb_n + n + 1 > b->sb_cap) {
        size_t cap = b->sb_cap == 0 ? 64 : b->sb_cap;
        while (cap < b->sb_n + n + 1)
            cap *= 2;
        if ((np = realloc(b->sb_p, cap)) == NULL)
            return -1;
        b->sb_p = np;
        b->sb_cap = cap;
    }
    memcpy(b->sb_p + b->sb_n, s, n);
    b->sb_n += n;
    b->sb_p[b->sb_n] = '\0';
    return 0;
}

static const char *
sb_str(const struct sbuf *b)
{
    return b->sb_p != NULL ? b->sb_p : "";
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

/* --- the message -------------------------------------------------------- */

void
http_msg_init(struct http_msg *m, enum http_kind kind)
{
    memset(m, 0, sizeof(*m));
    m->hm_kind = kind;
    hdr_init(&m->hm_hdrs);
}

void
http_msg_free(struct http_msg *m)
{
    enum http_kind kind = m->hm_kind;

    free(m->hm_method);
    free(m->hm_target);
    free(m->hm_reason);
    hdr_free(&m->hm_hdrs);
    http_msg_init(m, kind);
}

/* --- errors ------------------------------------------------------------- */

/* Record HTTP_BAD: status for a request parser (a response parser always
 * reports 502). Returns -1 so callbacks can `return fail(...)`. */
static int
fail(struct http_parser *p, int status, const char *reason)
{
    if (p->hp_phase != HP_FAILED) {
        p->hp_phase = HP_FAILED;
        p->hp_rc = HTTP_BAD;
        p->hp_status = p->hp_kind == HTTP_KIND_RESPONSE ? 502 : status;
        p->hp_reason = reason;
    }
    return -1;
}

static int
abort_cb(struct http_parser *p)
{
    if (p->hp_phase != HP_FAILED) {
        p->hp_phase = HP_FAILED;
        p->hp_rc = HTTP_ABORTED;
        p->hp_status = 500;
        p->hp_reason = "aborted by the owner";
    }
    return -1;
}

static int
fail_oom(struct http_parser *p)
{
    return fail(p, 500, "out of memory");
}

/* Map an llhttp error we did not catch first. */
static void
fail_llhttp(struct http_parser *p, llhttp_errno_t e)
{
    const char *why = llhttp_get_error_reason(&p->hp_ll);

    switch (e) {
    case HPE_INVALID_VERSION:
        fail(p, 505, "HTTP version not supported");
        break;
    case HPE_INVALID_METHOD:
        fail(p, 400, "invalid method");
        break;
    case HPE_INVALID_URL:
        fail(p, 400, "invalid request-target");
        break;
    case HPE_INVALID_STATUS:
        fail(p, 502, "invalid status line");
        break;
    case HPE_INVALID_CONTENT_LENGTH:
        fail(p, 400, "invalid Content-Length");
        break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        if (why != NULL && strstr(why, "Duplicate") != NULL)
            fail(p, 400, "duplicate Content-Length");
        else
            fail(p, 400, "Content-Length with Transfer-Encoding");
        break;
    case HPE_INVALID_TRANSFER_ENCODING:
        fail(p, 400, "invalid Transfer-Encoding");
        break;
    case HPE_INVALID_CHUNK_SIZE:
        fail(p, 400, "invalid chunk size");
        break;
    case HPE_INVALID_HEADER_TOKEN:
        fail(p, 400, "invalid header field");
        break;
    case HPE_INVALID_EOF_STATE:
        fail(p, 400, "truncated message");
        break;
    default:
        fail(p, 400, "malformed message");
        break;
    }
}

/* --- scanners ----------------------------------------------------------- */

/*
 * A scanner found a violation at s[at]. It is not recorded yet: the
 * caller first gives llhttp the bytes before it, so that whichever error
 * comes first in the stream is the one reported, however the input was
 * cut into fragments.
 */
static int
scan_err(struct http_parser *p, int status, const char *reason, size_t at,
         size_t *used)
{
    p->hp_scan_status = status;
    p->hp_scan_reason = reason;
    *used = at;
    return -1;
}

/*
 * Scan head bytes s[0..n). Returns 1 when the head ends (*used = bytes up to
 * and including the final LF), 0 when all n bytes belong to the head so far
 * (*used = n), -1 on a violation at s[*used] (see scan_err). Empty lines before
 * the start line are skipped (RFC 9112 §2.2 lets a server ignore them).
 */
static int
scan_head(struct http_parser *p, const char *s, size_t n, size_t *used)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        if (p->hp_hs == HS_CR || p->hp_hs == HS_END_CR) {
            if (c != '\n')
                return scan_err(p, 400, "bare CR in head", i, used);
            if (p->hp_hs == HS_END_CR) {
                *used = i + 1;
                return 1;
            }
            p->hp_hs = HS_LINE_START;
            continue;
        }
        if (c == '\r') {
            if (p->hp_hs == HS_LINE_START && p->hp_hs_lines > 0) {
                p->hp_hs = HS_END_CR;
            } else {
                if (p->hp_hs == HS_IN_LINE)
                    p->hp_hs_lines++;
                p->hp_hs = HS_CR;
            }
            continue;
        }
        if (c == '\n')
            return scan_err(p, 400, "bare LF in head", i, used);
        if (c == 0)
            return scan_err(p, 400, "NUL in head", i, used);
        if (is_bad_ctl(c))
            return scan_err(p, 400, "control character in head", i, used);
        if (p->hp_hs == HS_LINE_START && (c == ' ' || c == '\t')) {
            if (p->hp_hs_lines > 0)
                return scan_err(p, 400, "obsolete line folding", i, used);
            return scan_err(p, 400, "whitespace before the start line", i,
                            used);
        }
        p->hp_hs = HS_IN_LINE;
        /* The URI limit is checked here, by position, so that it does not
         * depend on how llhttp happens to deliver the URL span. */
        if (p->hp_hs_lines == 0 && p->hp_kind == HTTP_KIND_REQUEST) {
            if (c == ' ')
                p->hp_sl_field++;
            else if (p->hp_sl_field == 1 &&
                     ++p->hp_sl_tlen > p->hp_lim->hl_max_uri)
                return scan_err(p, 414, "URI too long", i, used);
        }
    }
    *used = n;
    return 0;
}

/*
 * Scan chunked body bytes s[0..n). Returns 1 when the message ends
 * (*used = bytes up to and including its last LF), 0 when all n bytes were
 * used, -1 on a violation at s[*used] (see scan_err).
 * Long on purpose: one byte loop over one state switch (size, extension,
 * data, CRLF, trailers), so every state and its limit check read in one
 * place and no byte is seen twice; splitting it would scatter the states.
 */
static int
scan_chunks(struct http_parser *p, const char *s, size_t n, size_t *used)
{
    const struct http_limits *lim = p->hp_lim;
    size_t i = 0;

    while (i < n) {
        int c = (unsigned char)s[i];
        int h;

        switch (p->hp_ck) {
        case CK_SIZE_START:
        case CK_SIZE:
            h = str_hexval(c);
            if (h >= 0) {
                if (p->hp_ck_size > (UINT64_MAX >> 4))
                    return scan_err(p, 400, "chunk size overflow", i, used);
                p->hp_ck_size = (p->hp_ck_size << 4) | (uint64_t)h;
                p->hp_ck = CK_SIZE;
            } else if (p->hp_ck == CK_SIZE && c == ';') {
                p->hp_ck = CK_EXT;
                p->hp_ext_bytes = 0;
            } else if (p->hp_ck == CK_SIZE && c == '\r') {
                p->hp_ck = CK_SIZE_LF;
            } else {
                return scan_err(p, 400, "invalid chunk size", i, used);
            }
            break;
        case CK_EXT:
            if (c == '\r')
                p->hp_ck = CK_SIZE_LF;
            else if (is_bad_ctl(c))
                return scan_err(p, 400, "invalid chunk extension", i, used);
            else if (++p->hp_ext_bytes > MAX_CHUNK_EXT)
                return scan_err(p, 400, "chunk extension too long", i, used);
            break;
        case CK_SIZE_LF:
            if (c != '\n')
                return scan_err(p, 400, "bare CR in chunk size line", i, used);
            if (p->hp_ck_size == 0) {
                p->hp_ck = CK_TRL_START;
                break;
            }
            if (p->hp_ck_size > UINT64_MAX - p->hp_ck_total)
                return scan_err(p, 400, "chunk size overflow", i, used);
            p->hp_ck_total += p->hp_ck_size;
            if (p->hp_kind == HTTP_KIND_REQUEST && lim->hl_max_body != 0 &&
                p->hp_ck_total > lim->hl_max_body)
                return scan_err(p, 413, "request body too large", i, used);
            p->hp_ck_left = p->hp_ck_size;
            p->hp_ck_size = 0;
            p->hp_ck = CK_DATA;
            break;
        case CK_DATA: {
            uint64_t take = n - i;

            if (take > p->hp_ck_left)
                take = p->hp_ck_left;
            p->hp_ck_left -= take;
            i += (size_t)take;
            if (p->hp_ck_left == 0)
                p->hp_ck = CK_DATA_CR;
            continue;
        }
        case CK_DATA_CR:
            if (c != '\r')
                return scan_err(p, 400, "missing CRLF after chunk data", i,
                                used);
            p->hp_ck = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (c != '\n')
                return scan_err(p, 400, "missing CRLF after chunk data", i,
                                used);
            p->hp_ck = CK_SIZE_START;
            break;
        case CK_TRL_START:
            if (c == '\r') {
                p->hp_ck = CK_END_LF;
            } else if (c == ' ' || c == '\t') {
                return scan_err(p, 400, "obsolete line folding", i, used);
            } else if (c == '\n' || is_bad_ctl(c)) {
                return scan_err(p, 400, "invalid trailer section", i, used);
            } else {
                p->hp_ck = CK_TRL_LINE;
            }
            break;
        case CK_TRL_LINE:
            if (c == '\r')
                p->hp_ck = CK_TRL_LF;
            else if (c == '\n' || is_bad_ctl(c))
                return scan_err(p, 400, "invalid trailer section", i, used);
            break;
        case CK_TRL_LF:
        case CK_END_LF:
            if (c != '\n')
                return scan_err(p, 400, "invalid trailer section", i, used);
            if (p->hp_ck == CK_END_LF) {
                p->hp_ck = CK_END;
                *used = i + 1;
                return 1;
            }
            p->hp_ck = CK_TRL_START;
            break;
        case CK_END:
            *used = i;
            return 1;
        }
        if (p->hp_ck >= CK_TRL_START && p->hp_ck <= CK_END_LF &&
            ++p->hp_trl_bytes > p->hp_trl_max)
            return scan_err(p, 431, "trailer section too large", i, used);
        i++;
    }
    *used = n;
    return 0;
}

/* --- head validation ---------------------------------------------------- */

/* Commit the accumulated name/value as one field. */
static int
commit_field(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const char *name = sb_str(&p->hp_name), *v = sb_str(&p->hp_value);

    if (p->hp_name.sb_n == 0)
        return fail(p, 400, "empty header field name");
    for (size_t i = 0; i < p->hp_name.sb_n; i++) {
        if (!is_tchar((unsigned char)name[i]))
            return fail(p, 400, "invalid header field name");
    }
    for (size_t i = 0; i < p->hp_value.sb_n; i++) {
        if (is_bad_ctl((unsigned char)v[i]))
            return fail(p, 400, "invalid header field value");
    }
    if (m->hm_hdrs.hl_n >= p->hp_lim->hl_max_headers)
        return fail(p, 431, "too many header fields");
    if (hdr_addn(&m->hm_hdrs, name, p->hp_name.sb_n, v, p->hp_value.sb_n) == -1)
        return fail_oom(p);
    sb_reset(&p->hp_name);
    sb_reset(&p->hp_value);
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

static int
head_request(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const struct hdr_list *l = &m->hm_hdrs;
    const char *target = sb_str(&p->hp_url);
    struct te_info ti;
    size_t ncl, nhost;
    uint64_t len = 0;
    int rc;

    if (!target_ok(target, p->hp_url.sb_n))
        return fail(p, 400, "invalid request-target");
    m->hm_method = xstrdup(llhttp_method_name(p->hp_ll.method));
    m->hm_target = xstrdup(target);
    if (m->hm_method == NULL || m->hm_target == NULL)
        return fail_oom(p);
    m->hm_is_head = p->hp_ll.method == HTTP_HEAD;
    m->hm_is_connect = p->hp_ll.method == HTTP_CONNECT;

    /* framing: RFC 9112 §6, the strict way */
    rc = cl_read(l, &ncl, &len);
    if (ncl > 1 || rc == -2)
        return fail(p, 400, "duplicate Content-Length");
    if (rc == -1)
        return fail(p, 400, "invalid Content-Length");
    te_read(l, &ti);
    if (ti.ti_fields > 0) {
        if (ncl > 0)
            return fail(p, 400, "Content-Length with Transfer-Encoding");
        if (m->hm_minor == 0)
            return fail(p, 400, "Transfer-Encoding in HTTP/1.0 request");
        if (ti.ti_chunked == 1 && ti.ti_final && ti.ti_codings > 1)
            return fail(p, 501, "unsupported transfer coding");
        if (ti.ti_chunked != 1 || !ti.ti_final || ti.ti_codings != 1)
            return fail(p, 400, "invalid Transfer-Encoding");
        m->hm_chunked = 1;
    } else if (ncl == 1) {
        m->hm_has_length = 1;
        m->hm_length = len;
        if (p->hp_lim->hl_max_body != 0 && len > p->hp_lim->hl_max_body)
            return fail(p, 413, "request body too large");
    }
    if (m->hm_is_connect && (m->hm_chunked || m->hm_length > 0))
        return fail(p, 400, "CONNECT with a body");

    nhost = hdr_count(l, "Host");
    if (nhost > 1)
        return fail(p, 400, "multiple Host headers");
    /* RFC 9112 §3.2: Host is required in HTTP/1.1; absolute-form and
     * CONNECT's authority-form carry the authority themselves, and some
     * proxy clients leave Host out there, so only origin-form and
     * asterisk-form need it. */
    if (nhost == 0 && m->hm_minor >= 1 && !m->hm_is_connect &&
        (target[0] == '/' || strcmp(target, "*") == 0))
        return fail(p, 400, "missing Host header");

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

static int
head_response(struct http_parser *p)
{
    struct http_msg *m = &p->hp_msg;
    const struct hdr_list *l = &m->hm_hdrs;
    struct te_info ti;
    size_t ncl;
    uint64_t len = 0;
    int rc, st;

    st = m->hm_status = p->hp_ll.status_code;
    if (st < 100 || st > 599)
        return fail(p, 502, "invalid status code");
    for (size_t i = 0; i < p->hp_stat.sb_n; i++) {
        if (is_bad_ctl((unsigned char)p->hp_stat.sb_p[i]))
            return fail(p, 502, "invalid reason phrase");
    }
    if ((m->hm_reason = xstrdup(sb_str(&p->hp_stat))) == NULL)
        return fail_oom(p);

    m->hm_no_body = st / 100 == 1 || st == 204 || st == 304 || p->hp_no_body ||
                    (p->hp_connect && st / 100 == 2);

    rc = cl_read(l, &ncl, &len);
    if (rc == -1)
        return fail(p, 502, "invalid Content-Length");
    if (rc == -2)
        return fail(p, 502, "conflicting Content-Length");
    te_read(l, &ti);
    if (ti.ti_fields > 0 && ncl > 0)
        return fail(p, 502, "Content-Length with Transfer-Encoding");
    if (ti.ti_fields > 0) {
        if (ti.ti_chunked > 1)
            return fail(p, 502, "invalid Transfer-Encoding");
        if (ti.ti_final && ti.ti_codings > 1)
            /* framing is clear, but the decoded body would still carry a
             * coding we would present as identity */
            return fail(p, 502, "unsupported transfer coding");
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
static int
framing_agrees(const struct http_parser *p)
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

/* --- llhttp callbacks --------------------------------------------------- */

static struct http_parser *
hp_of(llhttp_t *ll)
{
    return ll->data;
}

static int
cb_message_begin(llhttp_t *ll)
{
    (void)ll;
    return 0;
}

static int
cb_url(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);

    switch (sb_append(&p->hp_url, at, n, p->hp_lim->hl_max_uri)) {
    case -1:
        return fail_oom(p);
    case -2:
        return fail(p, 414, "URI too long");
    }
    return 0;
}

static int
cb_status(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);

    switch (sb_append(&p->hp_stat, at, n, p->hp_lim->hl_max_head)) {
    case -1:
        return fail_oom(p);
    case -2:
        return fail(p, 431, "header section too large");
    }
    return 0;
}

static int
cb_header_field(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_HEAD)
        return 0; /* trailer fields: dropped (RFC 9110 §6.5.1 allows it) */
    p->hp_hf = HF_NAME;
    switch (sb_append(&p->hp_name, at, n, p->hp_lim->hl_max_head)) {
    case -1:
        return fail_oom(p);
    case -2:
        return fail(p, 431, "header section too large");
    }
    return 0;
}

static int
cb_header_field_complete(llhttp_t *ll)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_HEAD)
        return 0;
    p->hp_hf = HF_VALUE;
#if LLHTTP_VERSION_MAJOR == 8
    /*
     * llhttp refuses every repeated Content-Length, but legacy proxies
     * send the same value twice in responses, and RFC 9110 §8.6 lets a
     * recipient accept that. Forget the first one inside llhttp so it
     * parses the second afresh; head_response() then checks that every
     * value is the same and framing_agrees() that llhttp read it alike.
     */
    if (p->hp_kind == HTTP_KIND_RESPONSE &&
        str_ieqn(sb_str(&p->hp_name), p->hp_name.sb_n, "Content-Length") &&
        (ll->flags & F_CONTENT_LENGTH) != 0) {
        ll->flags &= (uint16_t)~F_CONTENT_LENGTH;
        ll->content_length = 0;
    }
#endif
    return 0;
}

static int
cb_header_value(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_HEAD)
        return 0;
    switch (sb_append(&p->hp_value, at, n, p->hp_lim->hl_max_head)) {
    case -1:
        return fail_oom(p);
    case -2:
        return fail(p, 431, "header section too large");
    }
    return 0;
}

static int
cb_header_value_complete(llhttp_t *ll)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_HEAD)
        return 0;
    p->hp_hf = HF_NONE;
    return commit_field(p);
}

/* Returns 0 (body as framed), 1 (no body), or -1. */
static int
cb_headers_complete(llhttp_t *ll)
{
    struct http_parser *p = hp_of(ll);
    struct http_msg *m = &p->hp_msg;

    if (p->hp_phase != HP_HEAD)
        return -1;
    if (p->hp_hf != HF_NONE)
        return fail(p, 400, "malformed header field");
    m->hm_major = ll->http_major;
    m->hm_minor = ll->http_minor;
    if (m->hm_major != 1 || m->hm_minor > 1)
        return fail(p, 505, "HTTP version not supported");
    if (p->hp_kind == HTTP_KIND_REQUEST) {
        if (head_request(p) == -1)
            return -1;
    } else if (head_response(p) == -1) {
        return -1;
    }
    if (!framing_agrees(p))
        return fail(p, 400, "ambiguous message framing");
    p->hp_phase = HP_BODY;
    p->hp_skip_body = m->hm_no_body;
    if (m->hm_chunked && !m->hm_no_body) {
        p->hp_ck_on = 1;
        p->hp_ck = CK_SIZE_START;
    }
    if (p->hp_cb->on_head != NULL && p->hp_cb->on_head(p->hp_arg, m) == -1)
        return abort_cb(p);
    return p->hp_skip_body ? 1 : 0;
}

static int
cb_body(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);
    uint64_t max = p->hp_lim->hl_max_body;

    p->hp_body_bytes += n;
    if (p->hp_kind == HTTP_KIND_REQUEST && max != 0 && p->hp_body_bytes > max)
        return fail(p, 413, "request body too large");
    if (p->hp_cb->on_body != NULL && p->hp_cb->on_body(p->hp_arg, at, n) == -1)
        return abort_cb(p);
    return 0;
}

static int
cb_message_complete(llhttp_t *ll)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_BODY)
        return fail(p, 400, "malformed message");
    if (p->hp_ck_on && p->hp_ck != CK_END)
        return fail(p, 400, "ambiguous message framing");
    p->hp_phase = HP_DONE;
    if (p->hp_cb->on_done != NULL && p->hp_cb->on_done(p->hp_arg) == -1)
        return abort_cb(p);
    return HPE_PAUSED;
}

static const llhttp_settings_t hp_settings = {
    .on_message_begin = cb_message_begin,
    .on_url = cb_url,
    .on_status = cb_status,
    .on_header_field = cb_header_field,
    .on_header_value = cb_header_value,
    .on_header_field_complete = cb_header_field_complete,
    .on_header_value_complete = cb_header_value_complete,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

/* --- the parser --------------------------------------------------------- */

static void
hp_start(struct http_parser *p)
{
    llhttp_init(&p->hp_ll,
                p->hp_kind == HTTP_KIND_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE,
                &hp_settings);
    p->hp_ll.data = p;
    p->hp_phase = HP_HEAD;
    p->hp_rc = HTTP_MORE;
    p->hp_status = 0;
    p->hp_reason = NULL;
    p->hp_no_body = 0;
    p->hp_connect = 0;
    p->hp_skip_body = 0;
    p->hp_hs = HS_LINE_START;
    p->hp_hs_lines = 0;
    p->hp_head_bytes = 0;
    p->hp_sl_field = 0;
    p->hp_sl_tlen = 0;
    p->hp_ck_on = 0;
    p->hp_ck = CK_SIZE_START;
    p->hp_ck_size = p->hp_ck_left = p->hp_ck_total = p->hp_trl_bytes = 0;
    p->hp_ext_bytes = 0;
    p->hp_trl_max = p->hp_lim->hl_max_head < MAX_TRAILER_BYTES
                        ? p->hp_lim->hl_max_head
                        : MAX_TRAILER_BYTES;
    p->hp_hf = HF_NONE;
    sb_reset(&p->hp_url);
    sb_reset(&p->hp_stat);
    sb_reset(&p->hp_name);
    sb_reset(&p->hp_value);
    p->hp_body_bytes = 0;
    http_msg_free(&p->hp_msg);
}

struct http_parser *
http_parser_new(enum http_kind kind, const struct http_limits *limits,
                const struct http_parser_cb *cb, void *arg)
{
    struct http_parser *p;

    if ((p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->hp_kind = kind;
    p->hp_lim = limits;
    p->hp_cb = cb;
    p->hp_arg = arg;
    http_msg_init(&p->hp_msg, kind);
    hp_start(p);
    return p;
}

void
http_parser_free(struct http_parser *p)
{
    if (p == NULL)
        return;
    http_msg_free(&p->hp_msg);
    sb_free(&p->hp_url);
    sb_free(&p->hp_stat);
    sb_free(&p->hp_name);
    sb_free(&p->hp_value);
    free(p);
}

void
http_parser_set_no_body(struct http_parser *p)
{
    p->hp_no_body = 1;
}

void
http_parser_set_connect(struct http_parser *p)
{
    p->hp_connect = 1;
}

void
http_parser_next(struct http_parser *p)
{
    hp_start(p);
}

/* Run llhttp over s[0..n). Returns HTTP_DONE with *used set when the
 * message completed inside, HTTP_MORE when all n were taken, or the
 * failure. */
static enum http_rc
run_llhttp(struct http_parser *p, const char *s, size_t n, size_t *used)
{
    llhttp_errno_t e = llhttp_execute(&p->hp_ll, s, n);

    if (p->hp_phase == HP_FAILED)
        return p->hp_rc;
    if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&p->hp_ll);

        if (p->hp_phase != HP_DONE) {
            fail(p, 400, "malformed message");
            return HTTP_BAD;
        }
        *used =
            (pos != NULL && pos >= s && pos <= s + n) ? (size_t)(pos - s) : n;
        return HTTP_DONE;
    }
    if (e != HPE_OK) {
        fail_llhttp(p, e);
        return HTTP_BAD;
    }
    *used = n;
    return HTTP_MORE;
}

enum http_rc
http_parser_feed(struct http_parser *p, const char *data, size_t len,
                 size_t *consumed)
{
    size_t off = 0;

    *consumed = 0;
    if (p->hp_phase == HP_FAILED)
        return p->hp_rc;
    if (p->hp_phase == HP_DONE)
        return HTTP_DONE;
    while (off < len) {
        const char *s = data + off;
        size_t n = len - off, k = n, used = 0;
        int end = 0, in_head = p->hp_phase == HP_HEAD;
        enum http_rc rc;

        if (p->hp_phase == HP_HEAD) {
            uint64_t budget = p->hp_lim->hl_max_head - p->hp_head_bytes;

            if (n > budget)
                n = (size_t)budget;
            end = scan_head(p, s, n, &k);
            p->hp_head_bytes += k;
        } else if (p->hp_ck_on) {
            end = scan_chunks(p, s, n, &k);
        }
        rc = run_llhttp(p, s, k, &used);
        if (rc != HTTP_MORE) {
            *consumed = off + used;
            return rc;
        }
        if (end == -1) {
            /* llhttp took everything before the bad byte without fault */
            *consumed = off + k;
            fail(p, p->hp_scan_status, p->hp_scan_reason);
            return HTTP_BAD;
        }
        off += k;
        if (end == 1 && in_head && p->hp_phase == HP_HEAD) {
            fail(p, 400, "malformed head");
            return HTTP_BAD;
        }
        if (end == 1 && !in_head) {
            /* our scanner saw the last chunk, llhttp did not finish */
            fail(p, 400, "ambiguous message framing");
            return HTTP_BAD;
        }
        if (p->hp_phase == HP_HEAD &&
            p->hp_head_bytes >= p->hp_lim->hl_max_head) {
            fail(p, 431, "header section too large");
            return HTTP_BAD;
        }
    }
    *consumed = len;
    return HTTP_MORE;
}

enum http_rc
http_parser_eof(struct http_parser *p)
{
    llhttp_errno_t e;

    switch (p->hp_phase) {
    case HP_FAILED:
        return p->hp_rc;
    case HP_DONE:
        return HTTP_MORE;
    case HP_HEAD:
        if (!http_parser_started(p))
            return HTTP_MORE;
        /* empty lines before a start line are not a message */
        if (p->hp_hs_lines == 0 && p->hp_hs == HS_LINE_START)
            return HTTP_MORE;
        fail(p, 400, "truncated message");
        return HTTP_BAD;
    case HP_BODY:
        break;
    }
    e = llhttp_finish(&p->hp_ll);
    if (p->hp_phase == HP_FAILED)
        return p->hp_rc;
    if (p->hp_phase == HP_DONE && (e == HPE_PAUSED || e == HPE_OK))
        return HTTP_DONE;
    fail(p, 400, "truncated message");
    return HTTP_BAD;
}

int
http_parser_error(const struct http_parser *p, const char **reason)
{
    if (reason != NULL)
        *reason = p->hp_reason != NULL ? p->hp_reason : "no error";
    return p->hp_status;
}

int
http_parser_started(const struct http_parser *p)
{
    return p->hp_phase != HP_HEAD || p->hp_head_bytes > 0;
}

uint64_t
http_parser_body_bytes(const struct http_parser *p)
{
    return p->hp_body_bytes;
}
