/*
 * probe.c - `wsus-shim probe [-c FILE] [--json] [--connect HOST:PORT] [URL]`:
 * what each configured parent does with the requests BITS and WSUS make,
 * and what the shim does about it.
 *
 * For every parent in [upstream] proxy (or the origin, when there is
 * none) it resolves and connects, sends a HEAD of the URL without
 * credentials (HTTP version, keep-alive, a 407's schemes), tries every
 * offered scheme the credentials can use on a connection of its own, then
 * with the scheme the shim would use sends HEAD, GET with Range:
 * bytes=0-99, GET (head only), a POST with a chunked body and CONNECT
 * host:443. probe_eval.c turns what it saw into findings and a verdict;
 * this file only talks and prints.
 *
 * The network side is a small blocking client over a non-blocking socket:
 * every connect is bounded by [limits] connect_timeout and every wait for
 * bytes by [limits] first_byte_timeout (both capped at PROBE_STEP_MAX_MS),
 * and no body is read past PROBE_BODY_CAP, so a probe of N parents ends in
 * bounded time. Each request goes on a fresh connection (NTLM and
 * Negotiate run all their legs on that one connection).
 *
 * Output never holds a credential: the findings carry scheme names and
 * statuses, never header values, and the mechanisms' error texts hold no
 * secret (auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "auth_conf.h"
#include "config.h"
#include "headers.h"
#include "http_msg.h"
#include "normalize.h"
#include "plat.h"
#include "probe.h"
#include "probe_eval.h"
#include "range.h"
#include "relay.h"
#include "shim_limits.h"
#include "strparse.h"

/* A small real content file (a driver cab from the Microsoft Update
 * Catalog, 2017); Windows Update names content after its SHA-1. Tests
 * always give their own URL. */
#define PROBE_DEFAULT_URL                                                      \
    "http://download.windowsupdate.com/c/msdownload/update/driver/drvs/"       \
    "2017/11/netaapl_7503681835e08ce761c52858949731761e1fa5a1.cab"
#define PROBE_STEP_MAX_MS 10000u    /* one connect, or one wait for bytes */
#define PROBE_BODY_CAP (64u * 1024) /* body bytes read per answer */
#define PROBE_MAX_LEGS 6            /* auth legs on one connection */
#define PROBE_UA "Microsoft BITS/7.8 (wsus-shim probe)"

struct probe {
    const struct shim_config *p_cfg;
    struct auth_cred p_cred;
    struct probe_conf p_pc;
    const char *p_url;
    struct req_target p_t;
    char p_host_hdr[300];  /* Host: of the URL */
    char p_abs[4096];      /* the URL as a proxy gets it */
    char p_tunnel[300];    /* CONNECT target */
    uint32_t p_cto, p_rto; /* connect, read timeouts (ms) */
    /* the peer under test */
    const char *p_peer_host; /* its name as configured (the SPN's host) */
    char p_label[300];
    int p_direct;
    struct sockaddr_storage p_sa;
    int p_salen;
};

/* One connection and its unread bytes. */
struct pconn {
    evutil_socket_t pc_fd;
    char pc_buf[16384];
    size_t pc_off, pc_len;
    int pc_eof;
};

/* What the parser callbacks collect of one answer. */
struct pread {
    struct probe_answer *pr_a;
    enum auth_scheme pr_scheme; /* whose challenge to keep */
    char *pr_challenge;         /* malloc'd, wiped on free */
    int pr_head_only;           /* stop after the head */
    int pr_done;
};

enum preq_kind {
    PREQ_HEAD = 0,
    PREQ_RANGE,
    PREQ_GET,
    PREQ_POST,
    PREQ_CONNECT,
};

static const struct http_limits probe_limits = {MAX_RESP_HEADER_BYTES,
                                                MAX_RESP_HEADERS, 0, 0};

/* ---- connections ------------------------------------------------------ */

static void
sock_err(int e, char *err, size_t errlen)
{
    char buf[128];

    plat_strerror(e, buf, sizeof(buf));
    errfmt(err, errlen, "%s", buf);
}

static void
pconn_close(struct pconn *c)
{
    if (c->pc_fd != (evutil_socket_t)EVUTIL_INVALID_SOCKET)
        evutil_closesocket(c->pc_fd);
    c->pc_fd = EVUTIL_INVALID_SOCKET;
}

/* Connect to the peer under test within the connect timeout. Returns 0,
 * or -1 with err set. */
static int
pconn_open(const struct probe *p, const struct sockaddr *sa, int salen,
           struct pconn *c, char *err, size_t errlen)
{
    int r;

    memset(c, 0, sizeof(*c));
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
        r = plat_sock_wait(c->pc_fd, 1, p->p_cto);
        if (r == 0) {
            errfmt(err, errlen, "timed out after %u ms", (unsigned)p->p_cto);
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

static int
pconn_send(const struct probe *p, struct pconn *c, const char *buf, size_t len,
           char *err, size_t errlen)
{
    while (len > 0) {
        int64_t n = plat_send(c->pc_fd, buf, len);
        if (n == -2) {
            int r = plat_sock_wait(c->pc_fd, 1, p->p_rto);
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
pconn_fill(const struct probe *p, struct pconn *c, char *err, size_t errlen)
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
        int r = plat_sock_wait(c->pc_fd, 0, p->p_rto);
        if (r == 0) {
            errfmt(err, errlen, "no answer within %u ms", (unsigned)p->p_rto);
            return -1;
        }
        if (r == -1) {
            sock_err(plat_errno(), err, errlen);
            return -1;
        }
    }
}

/* ---- reading one answer ------------------------------------------------ */

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

static const struct http_parser_cb probe_parser_cb = {pr_head, pr_body,
                                                      pr_done};

/* Read one final answer into r->pr_a. Returns 1 when the message was read
 * whole and the connection can carry another request, 0 when the head was
 * read but the connection is spent (head only, capped body, close), -1
 * when there was no usable answer (pa_err set). */
static int
pread_answer(const struct probe *p, struct pconn *c, struct http_parser *hp,
             struct pread *r)
{
    struct probe_answer *a = r->pr_a;
    enum http_rc rc;
    size_t used;
    const char *why;

    for (;;) {
        if (c->pc_off == c->pc_len && !c->pc_eof) {
            if (pconn_fill(p, c, a->pa_err, sizeof(a->pa_err)) == -1)
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

/* ---- one exchange ---------------------------------------------------- */

/* The request head for kind, with Proxy-Authorization auth (or none).
 * malloc'd (the caller wipes and frees it: it may hold a credential). */
static char *
preq_build(const struct probe *p, enum preq_kind kind, const char *auth,
           size_t *len)
{
    struct hdr_list h;
    char line[4300];
    const char *target = p->p_direct ? p->p_t.rt_path : p->p_abs;
    const char *method = kind == PREQ_HEAD   ? "HEAD"
                         : kind == PREQ_POST ? "POST"
                                             : "GET";
    char *out = NULL;
    int ok = 1;

    hdr_init(&h);
    if (kind == PREQ_CONNECT) {
        snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1", p->p_tunnel);
        ok = hdr_add(&h, "Host", p->p_tunnel) == 0;
    } else {
        snprintf(line, sizeof(line), "%s %s HTTP/1.1", method, target);
        ok = hdr_add(&h, "Host", p->p_host_hdr) == 0 &&
             hdr_add(&h, "Accept", "*/*") == 0 &&
             hdr_add(&h, "Accept-Encoding", "identity") == 0 &&
             hdr_add(&h, "User-Agent", PROBE_UA) == 0;
        if (ok && kind == PREQ_RANGE)
            ok = hdr_add(&h, "Range", "bytes=0-99") == 0;
        if (ok && kind == PREQ_POST)
            ok = hdr_add(&h, "Content-Type", "text/plain") == 0 &&
                 hdr_add(&h, "Transfer-Encoding", "chunked") == 0;
    }
    if (ok && !p->p_direct)
        ok = hdr_add(&h, "Proxy-Connection", "Keep-Alive") == 0;
    if (ok)
        ok = hdr_add(&h, "Connection", "Keep-Alive") == 0;
    if (ok && auth != NULL)
        ok = hdr_add(&h, "Proxy-Authorization", auth) == 0;
    if (ok)
        out = relay_request_serialize(line, &h, len);
    for (size_t i = 0; i < h.hl_n; i++)
        OPENSSL_cleanse(h.hl_v[i].h_value, strlen(h.hl_v[i].h_value));
    hdr_free(&h);
    return out;
}

/* The chunked body of the POST: two chunks and the last one. */
static const char probe_post_body[] = "5\r\nprobe\r\n"
                                      "7\r\n wsus-s\r\n"
                                      "3\r\nhim\r\n"
                                      "0\r\n\r\n";

/* Send the request of kind and read its answer on c (already connected),
 * authenticating with scheme s (AUTH_NONE: no credentials). *res gets the
 * handshake's result when s is set. Returns what pread_answer returns. */
static int
pexchange_on(const struct probe *p, struct pconn *c, enum preq_kind kind,
             enum auth_scheme s, struct probe_answer *a,
             enum probe_auth_res *res, char *autherr, size_t autherrlen)
{
    struct auth_sess *as = NULL;
    struct http_parser *hp = NULL;
    struct pread r;
    char *value = NULL, *head = NULL, *challenge = NULL;
    size_t hlen = 0;
    int rc = -1;

    memset(a, 0, sizeof(*a));
    a->pa_tried = 1;
    memset(&r, 0, sizeof(r));
    r.pr_a = a;
    r.pr_scheme = s;
    r.pr_head_only = kind == PREQ_GET;
    if ((hp = http_parser_new(HTTP_KIND_RESPONSE, &probe_limits,
                              &probe_parser_cb, &r)) == NULL) {
        errfmt(a->pa_err, sizeof(a->pa_err), "out of memory");
        return -1;
    }
    if (s != AUTH_NONE) {
        /* The parent is who authenticates us: its name makes the SPN. */
        as = auth_sess_new(s, &p->p_cred, p->p_peer_host, autherr, autherrlen);
        if (as == NULL) {
            *res = PAR_FAILED;
            errfmt(a->pa_err, sizeof(a->pa_err), "%s", autherr);
            goto out;
        }
    }
    for (int leg = 0; leg < PROBE_MAX_LEGS; leg++) {
        if (as != NULL &&
            auth_sess_step(as, challenge, &value, autherr, autherrlen) == -1) {
            *res = PAR_FAILED;
            errfmt(a->pa_err, sizeof(a->pa_err), "%s", autherr);
            rc = -1;
            goto out;
        }
        if (head != NULL) {
            OPENSSL_cleanse(head, hlen);
            free(head);
        }
        head = preq_build(p, kind, value, &hlen);
        auth_value_free(value);
        value = NULL;
        if (head == NULL) {
            errfmt(a->pa_err, sizeof(a->pa_err), "out of memory");
            rc = -1;
            goto out;
        }
        if (kind == PREQ_HEAD)
            http_parser_set_no_body(hp);
        else if (kind == PREQ_CONNECT)
            http_parser_set_connect(hp);
        if (pconn_send(p, c, head, hlen, a->pa_err, sizeof(a->pa_err)) == -1 ||
            (kind == PREQ_POST &&
             pconn_send(p, c, probe_post_body, sizeof(probe_post_body) - 1,
                        a->pa_err, sizeof(a->pa_err)) == -1)) {
            rc = -1;
            goto out;
        }
        if (challenge != NULL) {
            OPENSSL_cleanse(challenge, strlen(challenge));
            free(challenge);
            challenge = NULL;
        }
        rc = pread_answer(p, c, hp, &r);
        challenge = r.pr_challenge;
        r.pr_challenge = NULL;
        if (rc == -1 || as == NULL || a->pa_status != 407)
            break;
        if (auth_sess_sent_last(as)) {
            *res = PAR_REFUSED;
            goto out;
        }
        if (rc != 1 || challenge == NULL || challenge[0] == '\0') {
            *res = PAR_FAILED;
            errfmt(autherr, autherrlen, "%s",
                   rc != 1 ? "the parent closed the connection during the "
                             "handshake"
                           : "407 without a challenge during the handshake");
            goto out;
        }
        /* Another leg on the same connection. */
        http_parser_next(hp);
        memset(a, 0, sizeof(*a));
        a->pa_tried = 1;
        r.pr_done = 0;
    }
    if (as != NULL && rc != -1 && a->pa_status != 407)
        *res = PAR_PASSED;
    else if (as != NULL && rc != -1 && *res == PAR_UNTRIED) {
        *res = PAR_FAILED;
        errfmt(autherr, autherrlen, "too many handshake legs");
    } else if (as != NULL && rc == -1 && *res == PAR_UNTRIED) {
        *res = PAR_FAILED;
        errfmt(autherr, autherrlen, "%s", a->pa_err);
    }
out:
    if (head != NULL) {
        OPENSSL_cleanse(head, hlen);
        free(head);
    }
    if (challenge != NULL) {
        OPENSSL_cleanse(challenge, strlen(challenge));
        free(challenge);
    }
    auth_value_free(value);
    auth_sess_free(as);
    http_parser_free(hp);
    return rc;
}

/* One exchange on a fresh connection, closed afterwards. */
static int
pexchange(const struct probe *p, enum preq_kind kind, enum auth_scheme s,
          struct probe_answer *a, enum probe_auth_res *res, char *autherr,
          size_t autherrlen)
{
    struct pconn c;
    int rc;

    if (pconn_open(p, (const struct sockaddr *)&p->p_sa, p->p_salen, &c,
                   a->pa_err, sizeof(a->pa_err)) == -1) {
        char why[160];
        snprintf(why, sizeof(why), "%s", a->pa_err);
        memset(a, 0, sizeof(*a));
        a->pa_tried = 1;
        errfmt(a->pa_err, sizeof(a->pa_err), "connect: %s", why);
        return -1;
    }
    rc = pexchange_on(p, &c, kind, s, a, res, autherr, autherrlen);
    pconn_close(&c);
    return rc;
}

/* ---- one parent -------------------------------------------------------- */

/* Resolve host:port and connect once, timing it; the address that worked
 * is kept in p for every later request. */
static void
probe_reach(struct probe *p, const char *host, uint16_t port,
            struct probe_obs *o)
{
    struct evutil_addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    struct pconn c;
    int e;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    if ((e = evutil_getaddrinfo(host, portstr, &hints, &res)) != 0) {
        errfmt(o->po_connect_err, sizeof(o->po_connect_err), "%s: %s", host,
               evutil_gai_strerror(e));
        return;
    }
    o->po_resolved = 1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        uint64_t t0 = plat_monotonic_ms();
        if (ai->ai_addrlen > sizeof(p->p_sa))
            continue;
        if (pconn_open(p, ai->ai_addr, (int)ai->ai_addrlen, &c,
                       o->po_connect_err, sizeof(o->po_connect_err)) == -1)
            continue;
        pconn_close(&c);
        o->po_connected = 1;
        o->po_connect_ms = (uint32_t)(plat_monotonic_ms() - t0);
        o->po_connect_err[0] = '\0';
        memcpy(&p->p_sa, ai->ai_addr, ai->ai_addrlen);
        p->p_salen = (int)ai->ai_addrlen;
        break;
    }
    evutil_freeaddrinfo(res);
}

/* The first HEAD without credentials, then a second one on the same
 * connection when the answer allows it. */
static void
probe_first(struct probe *p, struct probe_obs *o)
{
    struct pconn c;
    struct probe_answer again;
    enum probe_auth_res unused = PAR_UNTRIED;
    char err[160];
    int rc;

    if (pconn_open(p, (const struct sockaddr *)&p->p_sa, p->p_salen, &c,
                   o->po_first.pa_err, sizeof(o->po_first.pa_err)) == -1)
        return;
    rc = pexchange_on(p, &c, PREQ_HEAD, AUTH_NONE, &o->po_first, &unused, err,
                      sizeof(err));
    if (rc == 1) {
        o->po_keep_tested = 1;
        rc = pexchange_on(p, &c, PREQ_HEAD, AUTH_NONE, &again, &unused, err,
                          sizeof(err));
        o->po_kept_alive = rc != -1 && again.pa_status != 0;
    }
    pconn_close(&c);
    if (o->po_first.pa_status == 407)
        o->po_offered = o->po_first.pa_offered;
}

/* The CONNECT check when there is no parent: a TCP connect to host:443. */
static void
probe_tunnel_direct(struct probe *p, struct probe_answer *a)
{
    struct probe save = *p;
    struct probe_obs o;
    struct req_target t;
    const char *why;

    memset(a, 0, sizeof(*a));
    a->pa_tried = 1;
    if (req_target_parse(p->p_tunnel, 1, NULL, &t, &why) == -1) {
        errfmt(a->pa_err, sizeof(a->pa_err), "%s: %s", p->p_tunnel, why);
        return;
    }
    memset(&o, 0, sizeof(o));
    probe_reach(&save, t.rt_host, t.rt_port, &o);
    req_target_free(&t);
    if (o.po_connected)
        a->pa_status = 200;
    else
        errfmt(a->pa_err, sizeof(a->pa_err), "%s", o.po_connect_err);
}

/* Probe the parent idx (-1: direct) into *o and evaluate it. */
static enum probe_verdict
probe_parent(struct probe *p, int idx, struct probe_obs *o,
             struct probe_finding f[PC_NCHECKS])
{
    const char *host;
    uint16_t port;
    enum probe_auth_res unused = PAR_UNTRIED;
    enum auth_scheme s = AUTH_NONE;
    char err[160];

    memset(o, 0, sizeof(*o));
    p->p_direct = idx < 0;
    o->po_direct = p->p_direct;
    if (p->p_direct) {
        host = p->p_t.rt_host;
        port = p->p_t.rt_port;
    } else {
        host = p->p_cfg->sc_proxies[idx].ua_host;
        port = p->p_cfg->sc_proxies[idx].ua_port;
    }
    p->p_peer_host = host;
    if (strchr(host, ':') != NULL)
        snprintf(p->p_label, sizeof(p->p_label), "[%s]:%u", host,
                 (unsigned)port);
    else
        snprintf(p->p_label, sizeof(p->p_label), "%s:%u", host, (unsigned)port);
    probe_reach(p, host, port, o);
    if (!o->po_connected)
        goto eval;
    probe_first(p, o);
    if (o->po_first.pa_status == 0)
        goto eval;
    o->po_usable = auth_usable(&p->p_cred);
    if (o->po_first.pa_status == 407 && !p->p_direct) {
        for (int i = AUTH_BASIC; i < AUTH_NSCHEMES; i++) {
            struct probe_answer a;
            if (!(o->po_offered & AUTH_BIT(i)))
                continue;
            if (!(o->po_usable & AUTH_BIT(i))) {
                o->po_auth[i] = PAR_UNUSABLE;
                continue;
            }
            pexchange(p, PREQ_HEAD, (enum auth_scheme)i, &a, &o->po_auth[i],
                      o->po_auth_err[i], sizeof(o->po_auth_err[i]));
        }
        s = probe_auth_pick(o, &p->p_pc);
        if (s == AUTH_NONE)
            goto eval;
    }
    pexchange(p, PREQ_HEAD, s, &o->po_head, &unused, err, sizeof(err));
    pexchange(p, PREQ_RANGE, s, &o->po_range, &unused, err, sizeof(err));
    pexchange(p, PREQ_GET, s, &o->po_get, &unused, err, sizeof(err));
    pexchange(p, PREQ_POST, s, &o->po_post, &unused, err, sizeof(err));
    if (p->p_direct)
        probe_tunnel_direct(p, &o->po_tunnel);
    else
        pexchange(p, PREQ_CONNECT, s, &o->po_tunnel, &unused, err, sizeof(err));
eval:
    return probe_eval(o, &p->p_pc, f);
}

/* ---- output ------------------------------------------------------------ */

static const char *
auth_res_name(enum probe_auth_res r)
{
    static const char *const n[] = {"untried", "not usable", "passed",
                                    "refused", "failed"};
    return r <= PAR_FAILED ? n[r] : "?";
}

static const char *
verdict_text(enum probe_verdict v)
{
    static const char *const n[] = {
        "WORKS through the shim with this conf",
        "WORKS through the shim once the conf lines above are set",
        "FAILS: the shim cannot make this parent work",
    };
    return v <= PV_FAILS ? n[v] : "?";
}

/* Was f[i]'s missing conf line already listed by an earlier finding? */
static int
conf_listed(const struct probe_finding *f, int i)
{
    for (int j = 0; j < i; j++)
        if (!f[j].pf_conf_set && strcmp(f[j].pf_conf, f[i].pf_conf) == 0)
            return 1;
    return 0;
}

static void
print_human(FILE *out, const struct probe *p, int idx, size_t n,
            const struct probe_obs *o, const struct probe_finding *f,
            enum probe_verdict v)
{
    char addr[80] = "";

    if (o->po_connected)
        plat_sockaddr_str((const struct sockaddr *)&p->p_sa, addr,
                          sizeof(addr));
    if (strcmp(addr, p->p_label) == 0)
        addr[0] = '\0';
    if (idx < 0)
        fprintf(out, "\ndirect (no parent configured): %s%s%s%s\n", p->p_label,
                addr[0] ? " (" : "", addr, addr[0] ? ")" : "");
    else
        fprintf(out, "\nparent %d of %u: %s%s%s%s\n", idx + 1, (unsigned)n,
                p->p_label, addr[0] ? " (" : "", addr, addr[0] ? ")" : "");
    for (int i = 0; i < PC_NCHECKS; i++) {
        fprintf(out, "  %-13s %-9s %s\n", probe_check_name(f[i].pf_check),
                probe_level_name(f[i].pf_level), f[i].pf_text);
        if (f[i].pf_bits[0] != '\0')
            fprintf(out, "  %-23s BITS without the shim: %s\n", "",
                    f[i].pf_bits);
        if (f[i].pf_conf[0] != '\0')
            fprintf(out, "  %-23s conf: %s (%s)\n", "", f[i].pf_conf,
                    f[i].pf_conf_set ? "set" : "needed");
        if (f[i].pf_check == PC_AUTH)
            for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
                if (o->po_auth[s] == PAR_UNTRIED)
                    continue;
                fprintf(out, "  %-23s %s: %s%s%s\n", "",
                        auth_scheme_name((enum auth_scheme)s),
                        auth_res_name(o->po_auth[s]),
                        o->po_auth[s] == PAR_FAILED ? " - " : "",
                        o->po_auth[s] == PAR_FAILED ? o->po_auth_err[s] : "");
            }
    }
    for (int i = 0; i < PC_NCHECKS; i++)
        if (!f[i].pf_conf_set && f[i].pf_conf[0] != '\0' && !conf_listed(f, i))
            fprintf(out, "  %-13s %s\n", "conf change", f[i].pf_conf);
    fprintf(out, "  %-13s %s\n", "verdict", verdict_text(v));
}

static void
json_str(FILE *out, const char *s)
{
    if (s == NULL)
        s = "";
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void
json_str_or_null(FILE *out, const char *s)
{
    if (s == NULL || s[0] == '\0')
        fputs("null", out);
    else
        json_str(out, s);
}

static void
json_schemes(FILE *out, unsigned mask)
{
    int first = 1;

    fputc('[', out);
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (!(mask & AUTH_BIT(s)))
            continue;
        fputs(first ? "" : ", ", out);
        json_str(out, auth_scheme_name((enum auth_scheme)s));
        first = 0;
    }
    fputc(']', out);
}

static void
print_json_parent(FILE *out, const struct probe *p, int idx,
                  const struct probe_obs *o, const struct probe_finding *f,
                  enum probe_verdict v, int last)
{
    char addr[80] = "";
    int first = 1;

    if (o->po_connected)
        plat_sockaddr_str((const struct sockaddr *)&p->p_sa, addr,
                          sizeof(addr));
    fputs("    {\n      \"parent\": ", out);
    json_str_or_null(out, idx < 0 ? NULL : p->p_label);
    fprintf(out, ",\n      \"direct\": %s,\n      \"target\": ",
            idx < 0 ? "true" : "false");
    json_str(out, p->p_label);
    fputs(",\n      \"address\": ", out);
    json_str_or_null(out, addr);
    if (o->po_connected)
        fprintf(out, ",\n      \"connect_ms\": %u", (unsigned)o->po_connect_ms);
    else
        fputs(",\n      \"connect_ms\": null", out);
    fputs(",\n      \"verdict\": ", out);
    json_str(out, probe_verdict_name(v));
    fputs(",\n      \"findings\": [\n", out);
    for (int i = 0; i < PC_NCHECKS; i++) {
        fputs("        {\"check\": ", out);
        json_str(out, probe_check_name(f[i].pf_check));
        fputs(", \"level\": ", out);
        json_str(out, probe_level_name(f[i].pf_level));
        fputs(", \"text\": ", out);
        json_str(out, f[i].pf_text);
        fputs(", \"bits_error\": ", out);
        json_str_or_null(out, f[i].pf_bits);
        fprintf(out, ", \"repaired\": %s, \"conf\": ",
                f[i].pf_level == PL_REPAIRED ? "true" : "false");
        json_str_or_null(out, f[i].pf_conf);
        fprintf(out, ", \"conf_set\": %s}%s\n",
                f[i].pf_conf_set ? "true" : "false",
                i + 1 < PC_NCHECKS ? "," : "");
    }
    fprintf(out, "      ],\n      \"auth\": {\"asked\": %s, \"offered\": ",
            o->po_first.pa_status == 407 ? "true" : "false");
    json_schemes(out, o->po_offered);
    fputs(", \"usable\": ", out);
    json_schemes(out, o->po_usable);
    fputs(", \"results\": {", out);
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (o->po_auth[s] == PAR_UNTRIED)
            continue;
        fputs(first ? "" : ", ", out);
        json_str(out, auth_scheme_name((enum auth_scheme)s));
        fputs(": ", out);
        json_str(out, auth_res_name(o->po_auth[s]));
        first = 0;
    }
    fputs("}, \"scheme\": ", out);
    enum auth_scheme pick = probe_auth_pick(o, &p->p_pc);
    json_str_or_null(out, pick == AUTH_NONE ? NULL : auth_scheme_name(pick));
    fputs("},\n      \"conf_changes\": [", out);
    first = 1;
    for (int i = 0; i < PC_NCHECKS; i++) {
        if (f[i].pf_conf_set || f[i].pf_conf[0] == '\0' || conf_listed(f, i))
            continue;
        fputs(first ? "" : ", ", out);
        json_str(out, f[i].pf_conf);
        first = 0;
    }
    fprintf(out, "]\n    }%s\n", last ? "" : ",");
}

/* ---- the command ----------------------------------------------------- */

static void
probe_usage(FILE *out)
{
    fprintf(out,
            "usage: wsus-shim probe [-c FILE] [--json] [--connect HOST:PORT] "
            "[URL]\n"
            "  Tests every [upstream] proxy (or the origin, with none) for "
            "what BITS\n"
            "  needs: connect, HTTP version, keep-alive, authentication, HEAD "
            "length,\n"
            "  Range, body framing, chunked request bodies and CONNECT; names "
            "the BITS\n"
            "  error each shortcoming causes, whether the shim repairs it and "
            "the conf\n"
            "  line it needs.\n"
            "  URL                 file to test (default: a small Windows "
            "Update .cab)\n"
            "  --json              machine-readable output (docs/probe.md)\n"
            "  --connect HOST:PORT CONNECT target (default: the URL's "
            "host:443)\n"
            "  exit: 0 every parent works with this conf, 1 one does not, "
            "2 usage or\n"
            "  conf error\n");
}

static uint32_t
step_ms(uint32_t conf_ms)
{
    return conf_ms == 0 || conf_ms > PROBE_STEP_MAX_MS ? PROBE_STEP_MAX_MS
                                                       : conf_ms;
}

int
probe_main(int argc, char **argv, const char *default_conf)
{
    const char *path = NULL, *url = NULL, *tunnel = NULL, *why;
    int json = 0, rc = 2, nparents;
    struct shim_config cfg;
    struct probe p;
    uint8_t nt_hash[16];
    char err[512];
    enum probe_verdict *verdicts = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
            tunnel = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            probe_usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && url == NULL) {
            url = argv[i];
        } else {
            fprintf(stderr, "wsus-shim probe: unknown argument '%s'\n",
                    argv[i]);
            probe_usage(stderr);
            return 2;
        }
    }
    if (path == NULL)
        path = default_conf;
    if (url == NULL)
        url = PROBE_DEFAULT_URL;

    memset(&p, 0, sizeof(p));
    if (config_load(path, &cfg, err, sizeof(err)) == -1) {
        fprintf(stderr, "wsus-shim probe: %s\n", err);
        return 2;
    }
    p.p_cfg = &cfg;
    p.p_url = url;
    if (auth_cred_from_config(&cfg, &p.p_cred, nt_hash) == -1) {
        fprintf(stderr,
                "wsus-shim probe: %s: password_hash is not 32 hex "
                "digits\n",
                path);
        goto out;
    }
    p.p_pc.pc_range_mode = (int)cfg.sc_range_mode;
    p.p_pc.pc_minor = cfg.sc_up_minor;
    p.p_pc.pc_want = cfg.sc_up_auth;
    p.p_cto = step_ms(cfg.sc_connect_timeout_ms);
    p.p_rto = step_ms(cfg.sc_first_byte_ms);
    why = "not an http:// URL";
    if (req_target_parse(url, 0, NULL, &p.p_t, &why) == -1 ||
        !p.p_t.rt_absolute) {
        fprintf(stderr, "wsus-shim probe: bad URL '%s': %s\n", url, why);
        goto out;
    }
    if (req_target_authority(&p.p_t, 1, p.p_host_hdr, sizeof(p.p_host_hdr)) ==
            -1 ||
        req_target_url(&p.p_t, p.p_abs, sizeof(p.p_abs)) == -1) {
        fprintf(stderr, "wsus-shim probe: bad URL '%s'\n", url);
        goto out;
    }
    if (tunnel != NULL) {
        struct req_target tt;
        if (req_target_parse(tunnel, 1, NULL, &tt, &why) == -1) {
            fprintf(stderr, "wsus-shim probe: bad --connect '%s': %s\n", tunnel,
                    why);
            goto out;
        }
        req_target_free(&tt);
        snprintf(p.p_tunnel, sizeof(p.p_tunnel), "%s", tunnel);
    } else {
        struct req_target tt = p.p_t;
        tt.rt_port = 443;
        if (req_target_authority(&tt, 0, p.p_tunnel, sizeof(p.p_tunnel)) ==
            -1) {
            fprintf(stderr, "wsus-shim probe: bad URL '%s'\n", url);
            goto out;
        }
    }

    nparents = cfg.sc_nproxies > 0 ? (int)cfg.sc_nproxies : 1;
    if ((verdicts = calloc((size_t)nparents, sizeof(*verdicts))) == NULL) {
        fprintf(stderr, "wsus-shim probe: out of memory\n");
        goto out;
    }
    if (json) {
        printf("{\n  \"probe_version\": 1,\n  \"url\": ");
        json_str(stdout, p.p_abs);
        printf(",\n  \"conf\": ");
        json_str(stdout, path);
        printf(",\n  \"parents\": [\n");
    } else {
        printf("wsus-shim probe of %s\nconf: %s\n", p.p_abs, path);
    }
    for (int i = 0; i < nparents; i++) {
        struct probe_obs o;
        struct probe_finding f[PC_NCHECKS];
        int idx = cfg.sc_nproxies > 0 ? i : -1;

        verdicts[i] = probe_parent(&p, idx, &o, f);
        if (json)
            print_json_parent(stdout, &p, idx, &o, f, verdicts[i],
                              i + 1 == nparents);
        else
            print_human(stdout, &p, idx, (size_t)nparents, &o, f, verdicts[i]);
        fflush(stdout);
    }
    rc = probe_exit_code(verdicts, (size_t)nparents);
    if (json)
        printf("  ],\n  \"exit_code\": %d\n}\n", rc);
    else
        printf("\nexit %d: %s\n", rc,
               rc == 0 ? "every parent works through the shim"
                       : "at least one parent does not work through the "
                         "shim with this conf");
out:
    free(verdicts);
    req_target_free(&p.p_t);
    OPENSSL_cleanse(nt_hash, sizeof(nt_hash));
    config_free(&cfg);
    return rc;
}
