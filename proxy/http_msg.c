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
 *
 * The scanners live in http_scan.c, the head validation in http_head.c;
 * http_msg_int.h holds the parser state they share.
 */
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "http_msg.h"
#include "http_msg_int.h"
#include "shim_limits.h"
#include "strutil.h"

/* --- small helpers ------------------------------------------------------ */

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

/* A control character that may not appear in a field value or reason
 * phrase: everything below SP but HTAB, and DEL. */
int
hp_bad_ctl(int c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

void
hp_sb_reset(struct sbuf *b)
{
    b->sb_n = 0;
    if (b->sb_p != NULL)
        b->sb_p[0] = '\0';
}

const char *
hp_sb_str(const struct sbuf *b)
{
    return b->sb_p != NULL ? b->sb_p : "";
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

/* Record HTTP_BAD: status for a request parser (a response parser always
 * reports 502). Returns -1 so callbacks can `return hp_fail(...)`. */
int
hp_fail(struct http_parser *p, int status, const char *reason)
{
    if (p->hp_phase != HP_FAILED) {
        p->hp_phase = HP_FAILED;
        p->hp_rc = HTTP_BAD;
        p->hp_status = p->hp_kind == HTTP_KIND_RESPONSE ? 502 : status;
        p->hp_reason = reason;
    }
    return -1;
}

/* --- errors ------------------------------------------------------------- */

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

/* Map an llhttp error we did not catch first. */
static void
fail_llhttp(struct http_parser *p, llhttp_errno_t e)
{
    const char *why = llhttp_get_error_reason(&p->hp_ll);

    switch (e) {
    case HPE_INVALID_VERSION:
        hp_fail(p, 505, "HTTP version not supported");
        break;
    case HPE_INVALID_METHOD:
        hp_fail(p, 400, "invalid method");
        break;
    case HPE_INVALID_URL:
        hp_fail(p, 400, "invalid request-target");
        break;
    case HPE_INVALID_STATUS:
        hp_fail(p, 502, "invalid status line");
        break;
    case HPE_INVALID_CONTENT_LENGTH:
        hp_fail(p, 400, "invalid Content-Length");
        break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        if (why != NULL && strstr(why, "Duplicate") != NULL)
            hp_fail(p, 400, "duplicate Content-Length");
        else
            hp_fail(p, 400, "Content-Length with Transfer-Encoding");
        break;
    case HPE_INVALID_TRANSFER_ENCODING:
        hp_fail(p, 400, "invalid Transfer-Encoding");
        break;
    case HPE_INVALID_CHUNK_SIZE:
        hp_fail(p, 400, "invalid chunk size");
        break;
    case HPE_INVALID_HEADER_TOKEN:
        hp_fail(p, 400, "invalid header field");
        break;
    case HPE_INVALID_EOF_STATE:
        hp_fail(p, 400, "truncated message");
        break;
    default:
        hp_fail(p, 400, "malformed message");
        break;
    }
}

int
hp_fail_oom(struct http_parser *p)
{
    return hp_fail(p, 500, "out of memory");
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
        return hp_fail_oom(p);
    case -2:
        return hp_fail(p, 414, "URI too long");
    }
    return 0;
}

static int
cb_status(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = hp_of(ll);

    switch (sb_append(&p->hp_stat, at, n, p->hp_lim->hl_max_head)) {
    case -1:
        return hp_fail_oom(p);
    case -2:
        return hp_fail(p, 431, "header section too large");
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
        return hp_fail_oom(p);
    case -2:
        return hp_fail(p, 431, "header section too large");
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
     * parses the second afresh; hp_head_response() then checks that every
     * value is the same and hp_framing_agrees() that llhttp read it alike.
     */
    if (p->hp_kind == HTTP_KIND_RESPONSE &&
        str_ieqn(hp_sb_str(&p->hp_name), p->hp_name.sb_n, "Content-Length") &&
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
        return hp_fail_oom(p);
    case -2:
        return hp_fail(p, 431, "header section too large");
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
    return hp_head_field(p);
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
        return hp_fail(p, 400, "malformed header field");
    m->hm_major = ll->http_major;
    m->hm_minor = ll->http_minor;
    if (m->hm_major != 1 || m->hm_minor > 1)
        return hp_fail(p, 505, "HTTP version not supported");
    if (p->hp_kind == HTTP_KIND_REQUEST) {
        if (hp_head_request(p) == -1)
            return -1;
    } else if (hp_head_response(p) == -1) {
        return -1;
    }
    if (!hp_framing_agrees(p))
        return hp_fail(p, 400, "ambiguous message framing");
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
        return hp_fail(p, 413, "request body too large");
    if (p->hp_cb->on_body != NULL && p->hp_cb->on_body(p->hp_arg, at, n) == -1)
        return abort_cb(p);
    return 0;
}

static int
cb_message_complete(llhttp_t *ll)
{
    struct http_parser *p = hp_of(ll);

    if (p->hp_phase != HP_BODY)
        return hp_fail(p, 400, "malformed message");
    if (p->hp_ck_on && p->hp_ck != CK_END)
        return hp_fail(p, 400, "ambiguous message framing");
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
    p->hp_sl_sp = 0;
    p->hp_sl_len = 0;
    p->hp_ck_on = 0;
    p->hp_ck = CK_SIZE_START;
    p->hp_ck_size = p->hp_ck_left = p->hp_ck_total = p->hp_trl_bytes = 0;
    p->hp_ext_bytes = 0;
    p->hp_trl_max = p->hp_lim->hl_max_head < MAX_TRAILER_BYTES
                        ? p->hp_lim->hl_max_head
                        : MAX_TRAILER_BYTES;
    p->hp_hf = HF_NONE;
    hp_sb_reset(&p->hp_url);
    hp_sb_reset(&p->hp_stat);
    hp_sb_reset(&p->hp_name);
    hp_sb_reset(&p->hp_value);
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
            hp_fail(p, 400, "malformed message");
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
            end = hp_scan_head(p, s, n, &k);
            p->hp_head_bytes += k;
        } else if (p->hp_ck_on) {
            end = hp_scan_chunks(p, s, n, &k);
        }
        rc = run_llhttp(p, s, k, &used);
        if (rc != HTTP_MORE) {
            *consumed = off + used;
            return rc;
        }
        if (end == -1) {
            /* llhttp took everything before the bad byte without fault */
            *consumed = off + k;
            hp_fail(p, p->hp_scan_status, p->hp_scan_reason);
            return HTTP_BAD;
        }
        off += k;
        if (end == 1 && in_head && p->hp_phase == HP_HEAD) {
            hp_fail(p, 400, "malformed head");
            return HTTP_BAD;
        }
        if (end == 1 && !in_head) {
            /* our scanner saw the last chunk, llhttp did not finish */
            hp_fail(p, 400, "ambiguous message framing");
            return HTTP_BAD;
        }
        if (p->hp_phase == HP_HEAD &&
            p->hp_head_bytes >= p->hp_lim->hl_max_head) {
            hp_fail(p, 431, "header section too large");
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
        hp_fail(p, 400, "truncated message");
        return HTTP_BAD;
    case HP_BODY:
        break;
    }
    e = llhttp_finish(&p->hp_ll);
    if (p->hp_phase == HP_FAILED)
        return p->hp_rc;
    if (p->hp_phase == HP_DONE && (e == HPE_PAUSED || e == HPE_OK))
        return HTTP_DONE;
    hp_fail(p, 400, "truncated message");
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
