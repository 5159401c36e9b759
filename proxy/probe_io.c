/*
 * probe_io.c - the small blocking client under `wsus-shim probe`: one
 * non-blocking socket waited on with a timeout per step, and one answer
 * read through the strict response parser into a struct probe_answer.
 * No body is read past PROBE_BODY_CAP, so every exchange ends in bounded
 * time.
 */
#include <stdlib.h>
#include <string.h>

#include "probe_io.h"
#include "headers.h"
#include "plat.h"
#include "range.h"
#include "shim_limits.h"
#include "strparse.h"

const struct http_limits probe_io_limits = {MAX_RESP_HEADER_BYTES,
                                            MAX_RESP_HEADERS, 0, 0};

static void
sock_err(int e, char *err, size_t errlen)
{
    char buf[128];

    plat_strerror(e, buf, sizeof(buf));
    errfmt(err, errlen, "%s", buf);
}

void
pconn_close(struct pconn *c)
{
    if (c->pc_fd != (evutil_socket_t)EVUTIL_INVALID_SOCKET)
        evutil_closesocket(c->pc_fd);
    c->pc_fd = EVUTIL_INVALID_SOCKET;
}

int
pconn_open(uint32_t cto, uint32_t rto, const struct sockaddr *sa, int salen,
           struct pconn *c, char *err, size_t errlen)
{
    int r;

    memset(c, 0, sizeof(*c));
    c->pc_rto = rto;
    c->pc_fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (c->pc_fd == (evutil_socket_t)EVUTIL_INVALID_SOCKET) {
        sock_err(plat_errno(), err, errlen);
        return -1;
    }
    if (evutil_make_socket_nonblocking(c->pc_fd) == -1 ||
        evutil_make_socket_closeonexec(c->pc_fd) == -1) {
        sock_err(plat_errno(), err, errlen);
        goto fail;
    }
    r = plat_connect_start(c->pc_fd, sa, salen);
    if (r == -1) {
        sock_err(plat_errno(), err, errlen);
        goto fail;
    }
    if (r == 1) {
        r = plat_sock_wait(c->pc_fd, 1, cto);
        if (r == 0) {
            errfmt(err, errlen, "timed out after %u ms", (unsigned)cto);
            goto fail;
        }
        if (r == -1) {
            sock_err(plat_errno(), err, errlen);
            goto fail;
        }
        if ((r = plat_sock_error(c->pc_fd)) != 0) {
            sock_err(r, err, errlen);
            goto fail;
        }
    }
    plat_sock_nodelay(c->pc_fd);
    return 0;
fail:
    pconn_close(c);
    return -1;
}

int
pconn_send(struct pconn *c, const char *buf, size_t len, char *err,
           size_t errlen)
{
    while (len > 0) {
        int64_t n = plat_send(c->pc_fd, buf, len);
        if (n == -2) {
            int r = plat_sock_wait(c->pc_fd, 1, c->pc_rto);
            if (r == 1)
                continue;
            if (r == 0)
                errfmt(err, errlen, "send timed out");
            else
                sock_err(plat_errno(), err, errlen);
            return -1;
        }
        if (n < 0) {
            sock_err(plat_errno(), err, errlen);
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read more bytes into the empty buffer. 1 got some, 0 EOF, -1 error or
 * timeout (err set). */
static int
pconn_fill(struct pconn *c, char *err, size_t errlen)
{
    for (;;) {
        int64_t n = plat_recv(c->pc_fd, c->pc_buf, sizeof(c->pc_buf));
        if (n > 0) {
            c->pc_off = 0;
            c->pc_len = (size_t)n;
            return 1;
        }
        if (n == 0) {
            c->pc_eof = 1;
            return 0;
        }
        if (n == -1) {
            sock_err(plat_errno(), err, errlen);
            return -1;
        }
        int r = plat_sock_wait(c->pc_fd, 0, c->pc_rto);
        if (r == 0) {
            errfmt(err, errlen, "no answer within %u ms", (unsigned)c->pc_rto);
            return -1;
        }
        if (r == -1) {
            sock_err(plat_errno(), err, errlen);
            return -1;
        }
    }
}

static int
pr_head(void *arg, struct http_msg *m)
{
    struct pread *r = arg;
    struct probe_answer *a = r->pr_a;
    const char *cr;

    if (m->hm_status >= 100 && m->hm_status < 200)
        return 0; /* interim: the final answer follows */
    a->pa_status = m->hm_status;
    a->pa_minor = m->hm_minor;
    a->pa_has_length = m->hm_has_length;
    a->pa_length = m->hm_length;
    a->pa_chunked = m->hm_chunked;
    a->pa_close_delimited = m->hm_close_delimited;
    a->pa_persistent = m->hm_keep_alive;
    a->pa_said_keep_alive =
        hdr_has_token(&m->hm_hdrs, "Connection", "keep-alive") ||
        hdr_has_token(&m->hm_hdrs, "Proxy-Connection", "keep-alive");
    if ((cr = hdr_get(&m->hm_hdrs, "Content-Range")) != NULL) {
        struct byte_range br;
        int known = 0;
        a->pa_has_cr = 1;
        if (range_parse_content_range(cr, &br, &a->pa_cr_total, &known) == 0 &&
            known) {
            a->pa_cr_valid = 1;
            a->pa_cr_first = br.br_first;
            a->pa_cr_last = br.br_last;
        }
    }
    if (auth_challenges_split(&m->hm_hdrs) == -1)
        return -1;
    a->pa_offered = auth_offered(&m->hm_hdrs);
    if (m->hm_status == 407 && r->pr_scheme != AUTH_NONE) {
        const char *ch = auth_challenge(&m->hm_hdrs, r->pr_scheme);
        if (ch != NULL && (r->pr_challenge = strdup(ch)) == NULL)
            return -1;
    }
    return r->pr_head_only ? -1 : 0;
}

static int
pr_body(void *arg, const char *p, size_t n)
{
    struct pread *r = arg;

    (void)p;
    r->pr_a->pa_body += n;
    return r->pr_a->pa_body > PROBE_BODY_CAP ? -1 : 0;
}

static int
pr_done(void *arg)
{
    struct pread *r = arg;

    if (r->pr_a->pa_status != 0) {
        r->pr_done = 1;
        r->pr_a->pa_body_complete = 1;
    }
    return 0;
}

const struct http_parser_cb probe_io_parser_cb = {pr_head, pr_body, pr_done};

int
pread_answer(struct pconn *c, struct http_parser *hp, struct pread *r)
{
    struct probe_answer *a = r->pr_a;
    enum http_rc rc;
    size_t used;
    const char *why;

    for (;;) {
        if (c->pc_off == c->pc_len && !c->pc_eof) {
            if (pconn_fill(c, a->pa_err, sizeof(a->pa_err)) == -1)
                return a->pa_status != 0 ? 0 : -1;
            if (c->pc_eof)
                continue;
        }
        if (c->pc_eof && c->pc_off == c->pc_len) {
            rc = http_parser_eof(hp);
            if (rc == HTTP_DONE && a->pa_status != 0) {
                r->pr_done = 1;
                a->pa_body_complete = 1;
                return 0;
            }
            if (a->pa_status != 0)
                return 0; /* head seen, body cut short */
            errfmt(a->pa_err, sizeof(a->pa_err), "%s",
                   http_parser_started(hp) ? "answer cut short"
                                           : "closed without answering");
            return -1;
        }
        rc = http_parser_feed(hp, c->pc_buf + c->pc_off, c->pc_len - c->pc_off,
                              &used);
        c->pc_off += used;
        switch (rc) {
        case HTTP_MORE:
            break;
        case HTTP_DONE:
            if (!r->pr_done) { /* an interim 1xx: the next message */
                http_parser_next(hp);
                break;
            }
            return a->pa_persistent ? 1 : 0;
        case HTTP_ABORTED:
            if (a->pa_status == 0) {
                errfmt(a->pa_err, sizeof(a->pa_err), "out of memory");
                return -1;
            }
            return 0; /* head only, or the body passed the cap */
        case HTTP_BAD:
            http_parser_error(hp, &why);
            errfmt(a->pa_err, sizeof(a->pa_err), "malformed answer: %s", why);
            return a->pa_status != 0 ? 0 : -1;
        }
    }
}
