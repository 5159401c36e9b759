/*
 * fetch.c - one upstream exchange with failover.
 *
 *   KICK -> CONNECTING -> WAITING (request sent) -> BODY -> done
 *             |  refused, timed out, or closed before answering
 *             +-> next parent (held down for hold_down) ... -> fail 502/504
 *
 * A request goes to the next parent only while no byte of a response has
 * arrived, and after a connect failure always, after a close without an
 * answer only for GET and HEAD (safe to repeat). A body cut short is
 * reported with head_seen set, so the owner never presents it as complete.
 *
 * Connections come from the pool (pool.c) when one is parked for the same
 * destination and identity, and go back to it after a complete,
 * length-delimited response the upstream said it keeps open. Only GET and
 * HEAD ride a parked connection: one that turns out stale (closed or reset
 * before the first response byte) is replaced by a fresh connection once,
 * without counting as a failure of the parent. Requests with a body always
 * open a fresh connection, so a stale one can never make us send a POST
 * twice.
 *
 * Authentication to a parent runs here, on the connection (auth.h):
 *
 *   request ──► 407 + challenge ──► (body swallowed) same request again
 *   with the next token on the same connection ──► ... ──► the answer
 *
 * NTLM and Negotiate authenticate the connection, which then carries
 * further requests without credentials; Basic goes with every request. A
 * 407 after the mechanism's last message means the parent refused the
 * credentials: a 502 naming the scheme and the account, and no hold-down.
 * A 407 on a connection that was authenticated starts a new handshake.
 * The scheme a parent asked for is remembered (upstream.c), so the next
 * new connection to it starts the handshake with its first request.
 * fetch_auth.c decides the legs; fetch_msg.c builds and sends each
 * request head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "auth.h"
#include "fetch.h"
#include "fetch_int.h"
#include "log.h"
#include "metrics.h"
#include "plat.h"
#include "server.h"
#include "shim_limits.h"
#include "upstream.h"

static void fetch_connect_next(struct fetch *f);
static void fetch_open(struct fetch *f);
static void fetch_read_cb(struct bufferevent *bev, void *arg);
static int fetch_feed(struct fetch *f, struct evbuffer *in);
static void fetch_event_cb(struct bufferevent *bev, short what, void *arg);
static int fetch_complete(struct fetch *f);
static int fp_head(void *arg, struct http_msg *m);
static int fp_body(void *arg, const char *p, size_t n);
static int fp_done(void *arg);

static const struct http_parser_cb fetch_parser_cb = {fp_head, fp_body,
                                                      fp_done};
static const struct http_limits fetch_resp_limits = {MAX_RESP_HEADER_BYTES,
                                                     MAX_RESP_HEADERS, 0, 0};

static void
fetch_arm(struct fetch *f, uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};

    if (ms == 0)
        event_del(f->f_tmo);
    else
        event_add(f->f_tmo, &tv);
}

static void
fetch_drop_conn(struct fetch *f)
{
    upconn_free(f->f_uc);
    f->f_uc = NULL;
    f->f_bev = NULL;
    auth_sess_free(f->f_auth);
    f->f_auth = NULL;
    auth_value_free(f->f_auth_value);
    f->f_auth_value = NULL;
    f->f_auth_pending = 0;
    f->f_reused = 0;
}

static void
fetch_drop_parser(struct fetch *f)
{
    if (f->f_parser != NULL) {
        http_parser_free(f->f_parser);
        f->f_parser = NULL;
    }
    f->f_resp = NULL;
}

/* Terminal: report failure once. Nothing touches f afterwards. */
static void
fetch_fail(struct fetch *f, int status, const char *reason)
{
    int head_seen = f->f_state == FETCH_BODY;

    if (f->f_state == FETCH_FINISHED)
        return;
    f->f_state = FETCH_FINISHED;
    event_del(f->f_tmo);
    f->f_cb.fc_fail(f->f_arg, status, reason, head_seen);
}

/* After a complete response: park the connection when it can serve
 * again, else close it. A connection opened under a configuration that a
 * reload has since replaced is closed: it may be authenticated with
 * credentials the new one no longer has. */
static void
fetch_release_conn(struct fetch *f)
{
    struct upconn *uc = f->f_uc;

    if (uc == NULL)
        return;
    if (f->f_nopool || f->f_cfgr != f->f_srv->sv_cfg ||
        !fetch_resp_reusable(f)) {
        fetch_drop_conn(f);
        return;
    }
    f->f_uc = NULL;
    f->f_bev = NULL;
    fetch_drop_conn(f);
    pool_park(f->f_srv->sv_pool, uc, f->f_cfg->sc_up_idle_ms,
              f->f_cfg->sc_up_max_idle);
}

static void
fetch_finish(struct fetch *f)
{
    if (f->f_state == FETCH_FINISHED)
        return;
    f->f_state = FETCH_FINISHED;
    event_del(f->f_tmo);
    /* A CONNECT's connection is the tunnel's (fetch_take_bev). */
    if (!f->f_req.fr_req->hm_is_connect)
        fetch_release_conn(f);
    f->f_cb.fc_done(f->f_arg);
}

static int
fetch_repeatable(const struct fetch *f)
{
    const struct http_msg *m = f->f_req.fr_req;

    return strcmp(m->hm_method, "GET") == 0 || m->hm_is_head;
}

const char *
fetch_upstream(const struct fetch *f)
{
    return upstream_label(f->f_cfgr->cr_up, f->f_hop);
}

/* The current parent failed: held down, counted by parent for
 * /metrics and the status page. A direct hop is no parent. */
static void
fetch_hop_failed(struct fetch *f, const char *why)
{
    if (f->f_direct)
        return;
    upstream_failed(f->f_cfgr->cr_up, f->f_hop, plat_monotonic_ms(), why);
    metrics_upstream_failure(&f->f_srv->sv_metrics, fetch_upstream(f));
}

static void
fetch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;

    (void)fd;
    (void)what;
    switch (f->f_state) {
    case FETCH_CONNECTING:
        log_warnx("req %s: connect to %s timed out", f->f_req.fr_reqid,
                  fetch_upstream(f));
        f->f_timed_out = 1;
        fetch_hop_failed(f, "connect timed out");
        fetch_drop_conn(f);
        fetch_connect_next(f);
        break;
    case FETCH_WAITING:
        log_warnx("req %s: %s did not answer in time", f->f_req.fr_reqid,
                  fetch_upstream(f));
        fetch_hop_failed(f, "did not answer in time");
        fetch_drop_conn(f);
        fetch_fail(f, 504, "upstream did not answer in time");
        break;
    case FETCH_BODY:
        log_warnx("req %s: body from %s stalled", f->f_req.fr_reqid,
                  fetch_upstream(f));
        fetch_drop_conn(f);
        fetch_fail(f, 504, "upstream body stalled");
        break;
    default:
        break;
    }
}

static void
fetch_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;

    (void)fd;
    (void)what;
    if (f->f_reopen) {
        /* The same hop again on a new connection (fetch_auth_resend). */
        f->f_reopen = 0;
        fetch_open(f);
        return;
    }
    fetch_connect_next(f);
}

struct fetch *
fetch_start(struct server *sv, struct cfg_ref *cfgr, const struct fetch_req *fr,
            const struct fetch_cb *cb, void *arg)
{
    struct fetch *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->f_srv = sv;
    f->f_cfgr = cfg_ref_hold(cfgr);
    f->f_cfg = &cfgr->cr_cfg;
    f->f_req = *fr;
    f->f_cb = *cb;
    f->f_arg = arg;
    f->f_hop = -1;
    f->f_direct = upstream_is_direct(cfgr->cr_up, fr->fr_tgt->rt_host);
    f->f_kick = event_new(sv->sv_base, -1, 0, fetch_kick_cb, f);
    f->f_tmo = evtimer_new(sv->sv_base, fetch_timeout_cb, f);
    if (f->f_kick == NULL || f->f_tmo == NULL) {
        fetch_free(f);
        return NULL;
    }
    f->f_state = FETCH_KICK;
    event_active(f->f_kick, EV_TIMEOUT, 0);
    return f;
}

void
fetch_free(struct fetch *f)
{
    if (f == NULL)
        return;
    fetch_drop_conn(f);
    fetch_drop_parser(f);
    if (f->f_kick != NULL)
        event_free(f->f_kick);
    if (f->f_tmo != NULL)
        event_free(f->f_tmo);
    free(f->f_head);
    cfg_ref_drop(f->f_cfgr);
    free(f);
}

void
fetch_pause(struct fetch *f, int paused)
{
    if (f->f_paused == paused || f->f_bev == NULL)
        return;
    f->f_paused = paused;
    if (paused) {
        bufferevent_disable(f->f_bev, EV_READ);
        if (f->f_state == FETCH_BODY)
            event_del(f->f_tmo);
    } else {
        bufferevent_enable(f->f_bev, EV_READ);
        if (f->f_state == FETCH_BODY)
            fetch_arm(f, f->f_cfg->sc_body_timeout_ms);
    }
}

struct bufferevent *
fetch_take_bev(struct fetch *f)
{
    struct bufferevent *b = f->f_bev;

    if (f->f_uc != NULL)
        f->f_uc->uc_bev = NULL;
    fetch_drop_conn(f);
    if (b != NULL)
        bufferevent_setcb(b, NULL, NULL, NULL, NULL);
    return b;
}

/* A fresh response parser for the request. */
static int
fetch_new_parser(struct fetch *f)
{
    fetch_drop_parser(f);
    f->f_parser = http_parser_new(HTTP_KIND_RESPONSE, &fetch_resp_limits,
                                  &fetch_parser_cb, f);
    if (f->f_parser == NULL)
        return -1;
    if (f->f_req.fr_req->hm_is_head)
        http_parser_set_no_body(f->f_parser);
    else if (f->f_req.fr_req->hm_is_connect)
        http_parser_set_connect(f->f_parser);
    f->f_resp_bytes = f->f_done = f->f_interim = 0;
    return 0;
}

static void
fetch_setup_bev(struct fetch *f)
{
    bufferevent_setcb(f->f_bev, fetch_read_cb, NULL, fetch_event_cb, f);
    bufferevent_setwatermark(f->f_bev, EV_READ, 0, RELAY_HIGH_MARK);
    /* libevent reads 16 KiB per call by default; bulk transfers want
     * fewer, larger system calls. */
    bufferevent_set_max_single_read(f->f_bev, RELAY_IO_CHUNK);
    f->f_paused = f->f_peer_eof = f->f_peer_err = 0;
}

/* Queue the request on f_bev (parked: state WAITING; new: CONNECTING,
 * the bytes leave once connected) and arm the state's timer. Returns 0,
 * or -1 after failing the fetch. */
static int
fetch_begin(struct fetch *f, enum fetch_state st)
{
    if (fetch_new_parser(f) == -1 || fetch_send(f) == -1) {
        fetch_drop_conn(f);
        fetch_fail(f, 502, "out of memory");
        return -1;
    }
    bufferevent_enable(f->f_bev, EV_READ | EV_WRITE);
    f->f_state = st;
    fetch_arm(f, st == FETCH_WAITING ? f->f_cfg->sc_first_byte_ms
                                     : f->f_cfg->sc_connect_timeout_ms);
    log_debug("req %s: %s %s via %s%s", f->f_req.fr_reqid,
              f->f_req.fr_req->hm_method, f->f_req.fr_req->hm_target,
              fetch_upstream(f), f->f_reused ? " (reused connection)" : "");
    return 0;
}

/* The request on a parked connection of the current hop, if one is
 * there. Returns 1 when sent, 0 when there was none (or it cannot be
 * used), -1 on failure (f is finished). */
static int
fetch_reuse(struct fetch *f)
{
    struct upconn *uc;

    if (f->f_nopool || f->f_stale_retry || !fetch_repeatable(f) ||
        f->f_req.fr_req->hm_is_connect ||
        (uc = pool_take(f->f_srv->sv_pool, f->f_key)) == NULL)
        return 0;
    f->f_uc = uc;
    f->f_bev = uc->uc_bev;
    f->f_reused = 1;
    f->f_connected = 1;
    fetch_setup_bev(f);
    return fetch_begin(f, FETCH_WAITING) == -1 ? -1 : 1;
}

/* The current hop's name did not resolve (why: the resolver's text):
 * the next parent, or a 502 when the origin's name fails. */
static void
fetch_unresolved(struct fetch *f, const char *why)
{
    log_warnx("req %s: cannot resolve %s: %s", f->f_req.fr_reqid,
              f->f_direct ? f->f_req.fr_tgt->rt_host : fetch_upstream(f), why);
    fetch_hop_failed(f, "cannot resolve its name");
    fetch_drop_conn(f);
    if (f->f_direct) {
        fetch_fail(f, 502, "cannot resolve the destination host");
        return;
    }
    fetch_connect_next(f);
}

/* Send the request to the current hop (f_host, f_port): on a parked
 * connection when one fits, else on a new one. */
static void
fetch_open(struct fetch *f)
{
    struct upstream_set *us = f->f_cfgr->cr_up;
    const struct auth_cred *cr = upstream_cred(us);
    struct bufferevent *bev;

    snprintf(f->f_key, sizeof(f->f_key), "%s|%s|%u|%s|%llu",
             f->f_direct ? "origin" : "parent", f->f_host, (unsigned)f->f_port,
             !f->f_direct && cr->ac_user != NULL ? cr->ac_user : "-",
             f->f_cfg->sc_pass_client_auth
                 ? (unsigned long long)f->f_req.fr_client
                 : 0ull);
    /* The client's own credentials, and no client to pin them to. */
    if (f->f_cfg->sc_pass_client_auth && f->f_req.fr_client == 0)
        f->f_nopool = 1;
    if (fetch_reuse(f) != 0)
        return;
    if (host_is_invalid_name(f->f_host)) {
        fetch_unresolved(f, "a name under .invalid never resolves");
        return;
    }
    bev = bufferevent_socket_new(f->f_srv->sv_base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL || (f->f_uc = upconn_new(bev, f->f_key)) == NULL) {
        fetch_fail(f, 502, "out of memory");
        return;
    }
    f->f_bev = bev;
    f->f_connected = 0;
    pool_stats(f->f_srv->sv_pool)->ps_opened++;
    fetch_setup_bev(f);
    if (!f->f_direct && f->f_auth == NULL && f->f_auth_value == NULL)
        fetch_auth_preempt(f);
    if (fetch_begin(f, FETCH_CONNECTING) == -1)
        return;
    unsigned gen = ++f->f_gen;
    /* Numeric hosts resolve at once; names go through evdns. */
    if (bufferevent_socket_connect_hostname(f->f_bev, f->f_srv->sv_dns,
                                            AF_UNSPEC, f->f_host,
                                            f->f_port) == -1) {
        /* The event callback may already have moved on. */
        if (gen == f->f_gen && f->f_state == FETCH_CONNECTING &&
            !f->f_connected) {
            fetch_hop_failed(f, "cannot connect");
            fetch_drop_conn(f);
            fetch_connect_next(f);
        }
    }
}

/* Connect to the next hop: the origin when direct (once), else the next
 * parent. Fails with 502/504 when none is left. */
static void
fetch_connect_next(struct fetch *f)
{
    struct upstream_set *us = f->f_cfgr->cr_up;

    if (f->f_direct) {
        if (f->f_tried_direct) {
            fetch_fail(f, f->f_timed_out ? 504 : 502,
                       f->f_timed_out ? "origin connect timed out"
                                      : "cannot connect to the origin");
            return;
        }
        f->f_tried_direct = 1;
        f->f_hop = -1;
        f->f_host = f->f_req.fr_tgt->rt_host;
        f->f_port = f->f_req.fr_tgt->rt_port;
    } else {
        struct upstream_hop hop;
        int next = upstream_next(us, f->f_hop, plat_monotonic_ms());
        if (next == -1) {
            fetch_fail(f, f->f_timed_out ? 504 : 502,
                       f->f_timed_out ? "every upstream proxy timed out"
                                      : "no upstream proxy could be reached");
            return;
        }
        f->f_hop = next;
        upstream_hop_parent(us, next, &hop);
        f->f_host = hop.uh_host;
        f->f_port = hop.uh_port;
    }
    f->f_auth_legs = 0;
    f->f_auth_failed = 0;
    fetch_open(f);
}

/* A parked connection that died before answering: it had gone stale
 * while idle, which is no fault of the parent. Once per request, the same
 * hop again on a new connection. Returns 1 when retried. */
static int
fetch_retry_stale(struct fetch *f)
{
    if (!f->f_reused || f->f_resp_bytes || f->f_stale_retry)
        return 0;
    log_debug("req %s: parked connection to %s was stale; reconnecting",
              f->f_req.fr_reqid, fetch_upstream(f));
    pool_stats(f->f_srv->sv_pool)->ps_retried++;
    f->f_stale_retry = 1;
    fetch_drop_conn(f);
    fetch_open(f);
    return 1;
}

/* A 407 was swallowed: send the request again with the next leg, on the
 * same connection when the parent keeps it, else on a new one, where a
 * connection-oriented handshake that was past its first leg starts over.
 * Returns 1 when the exchange ended (f may be gone), 0 when it goes on. */
static int
fetch_auth_resend(struct fetch *f)
{
    struct auth_sess *a;
    char *v;

    f->f_auth_pending = 0;
    /* After a 407 to a request that carried a body, the parent may not
     * read the rest of it: the next try goes on a new connection. */
    if (fetch_resp_reusable(f) && !f->f_sent_body &&
        evbuffer_get_length(bufferevent_get_input(f->f_bev)) == 0) {
        if (fetch_new_parser(f) == -1 || fetch_send(f) == -1) {
            fetch_drop_conn(f);
            fetch_fail(f, 502, "out of memory");
            return 1;
        }
        f->f_state = FETCH_WAITING;
        fetch_arm(f, f->f_cfg->sc_first_byte_ms);
        return 0;
    }
    a = f->f_auth;
    v = f->f_auth_value;
    f->f_auth = NULL;
    f->f_auth_value = NULL;
    fetch_drop_conn(f);
    f->f_stale_retry = 1; /* a new connection, not a parked one */
    if (a != NULL && f->f_auth_legs > 1) {
        /* The token answered a challenge bound to the closed
         * connection: the handshake begins again there. */
        log_debug("req %s: %s restarts on a new connection", f->f_req.fr_reqid,
                  auth_scheme_name(auth_sess_scheme(a)));
        auth_sess_free(a);
        auth_value_free(v);
    } else {
        f->f_auth = a;
        f->f_auth_value = v;
    }
    /* From the event loop: a failure there may free f, which the parser
     * loop above us still holds. */
    f->f_state = FETCH_WAITING;
    f->f_reopen = 1;
    event_active(f->f_kick, EV_TIMEOUT, 0);
    return 0;
}

/* The parser completed a message. Returns 1 when the exchange ended
 * (fc_done or fc_fail ran; f may be gone), 0 when it goes on. */
static int
fetch_complete(struct fetch *f)
{
    if (f->f_auth_pending)
        return fetch_auth_resend(f);
    fetch_finish(f);
    return 1;
}

/* The upstream closed a connected connection: finish what it sent, fail
 * over when nothing came back and the request can go again, else the
 * response ends short (a 502, or a cut body: never complete). */
static void
fetch_on_eof(struct fetch *f, struct bufferevent *bev)
{
    /* Whatever is still buffered comes first. */
    if (fetch_feed(f, bufferevent_get_input(bev)) || f->f_parser == NULL)
        return;
    enum http_rc rc = http_parser_eof(f->f_parser);
    if (f->f_state == FETCH_FINISHED)
        return;
    if (rc == HTTP_DONE && f->f_done) {
        (void)fetch_complete(f);
        return;
    }
    if (rc == HTTP_MORE && !f->f_resp_bytes && fetch_retry_stale(f))
        return;
    if (rc == HTTP_MORE && !f->f_resp_bytes) {
        /* Closed before answering: a dead or overloaded parent. */
        fetch_hop_failed(f, "closed without answering");
        fetch_drop_conn(f);
        if (!f->f_direct && fetch_repeatable(f)) {
            log_warnx("req %s: %s closed without answering; failing "
                      "over",
                      f->f_req.fr_reqid, fetch_upstream(f));
            fetch_connect_next(f);
            return;
        }
        fetch_fail(f, 502,
                   "upstream closed the connection without "
                   "answering");
        return;
    }
    fetch_drop_conn(f);
    fetch_fail(f, 502,
               f->f_state == FETCH_BODY
                   ? "upstream closed before the end of the body"
                   : "upstream closed in the middle of the "
                     "response");
}

static void
fetch_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct fetch *f = arg;

    if (f->f_state == FETCH_FINISHED)
        return;
    if (what & BEV_EVENT_CONNECTED) {
        (void)plat_sock_nodelay(bufferevent_getfd(bev));
        f->f_connected = 1;
        f->f_state = FETCH_WAITING;
        if (f->f_direct && f->f_req.fr_req->hm_is_connect) {
            fetch_finish(f);
            return;
        }
        fetch_arm(f, f->f_cfg->sc_first_byte_ms);
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;

    if (!f->f_connected) {
        int dnserr = bufferevent_socket_get_dns_error(bev);
        if (dnserr != 0) {
            fetch_unresolved(f, evutil_gai_strerror(dnserr));
            return;
        }
        log_warnx("req %s: cannot connect to %s", f->f_req.fr_reqid,
                  f->f_direct ? f->f_req.fr_tgt->rt_host : fetch_upstream(f));
        fetch_hop_failed(f, "cannot connect");
        fetch_drop_conn(f);
        fetch_connect_next(f);
        return;
    }

    if (what & BEV_EVENT_EOF) {
        fetch_on_eof(f, bev);
        return;
    }
    /* An error after connect: reset by the upstream. */
    if (!f->f_resp_bytes && fetch_retry_stale(f))
        return;
    if (f->f_state != FETCH_BODY && !f->f_resp_bytes && !f->f_direct &&
        fetch_repeatable(f)) {
        fetch_hop_failed(f, "reset before answering");
        fetch_drop_conn(f);
        fetch_connect_next(f);
        return;
    }
    fetch_drop_conn(f);
    fetch_fail(f, 502, "upstream connection reset");
}

/* libevent 2.1 reads at most 4 KiB per call, which makes a bulk transfer
 * cost a read, an ioctl and epoll calls per 4 KiB. When the socket is
 * readable, take up to RELAY_IO_CHUNK more with large reads of our own.
 * EOF or an error seen here is handled after the buffered bytes. */
static void
fetch_read_more(struct fetch *f, struct evbuffer *in)
{
    evutil_socket_t fd = bufferevent_getfd(f->f_bev);

    /* The bufferevent keeps the end of its input frozen against other
     * writers; it unfreezes it the same way around its own reads. */
    evbuffer_unfreeze(in, 0);
    while (!f->f_peer_eof && !f->f_paused &&
           evbuffer_get_length(in) < RELAY_IO_CHUNK) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(in, 64 * 1024, &v, 1) < 1)
            break;
        int64_t n = plat_recv(fd, v.iov_base, v.iov_len);
        if (n == -2)
            break;
        if (n <= 0) {
            f->f_peer_eof = 1;
            f->f_peer_err = n == -1;
            break;
        }
        v.iov_len = (size_t)n;
        evbuffer_commit_space(in, &v, 1);
    }
    evbuffer_freeze(in, 0);
}

/* Feed the buffered response bytes to the parser. Returns 1 when the
 * exchange ended (fc_done or fc_fail ran: the owner may have freed f, so
 * the caller must not touch it), 0 otherwise. */
static int
fetch_feed(struct fetch *f, struct evbuffer *in)
{

    while (f->f_state != FETCH_FINISHED && f->f_parser != NULL && !f->f_done) {
        size_t len = evbuffer_get_contiguous_space(in);
        if (len == 0)
            break;
        if (!f->f_resp_bytes) {
            f->f_resp_bytes = 1;
            f->f_state = FETCH_WAITING;
        }
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        size_t used = 0;
        enum http_rc rc = http_parser_feed(f->f_parser, p, len, &used);
        evbuffer_drain(in, used);
        if (rc == HTTP_MORE)
            continue;
        if (rc == HTTP_ABORTED) {
            /* The owner stopped it from a callback, or the handshake
             * with the parent cannot go on (f_abort_status). */
            fetch_drop_conn(f);
            fetch_fail(f, f->f_abort_status,
                       f->f_abort_status != 0 ? f->f_err : NULL);
            return 1;
        }
        if (rc == HTTP_BAD) {
            const char *why = "invalid response";
            http_parser_error(f->f_parser, &why);
            log_warnx("req %s: bad response from %s: %s", f->f_req.fr_reqid,
                      fetch_upstream(f), why);
            fetch_drop_conn(f);
            fetch_fail(f, 502, "invalid response from upstream");
            return 1;
        }
        /* HTTP_DONE */
        if (f->f_interim) {
            f->f_interim = 0;
            http_parser_next(f->f_parser);
            if (f->f_req.fr_req->hm_is_head)
                http_parser_set_no_body(f->f_parser);
            else if (f->f_req.fr_req->hm_is_connect)
                http_parser_set_connect(f->f_parser);
            continue;
        }
        /* Complete. Bytes after a CONNECT 200 stay in the input for the
         * tunnel. */
        if (fetch_complete(f))
            return 1;
    }
    return f->f_state == FETCH_FINISHED;
}

static void
fetch_read_cb(struct bufferevent *bev, void *arg)
{
    struct fetch *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (f->f_state == FETCH_BODY)
        fetch_read_more(f, in);
    if (fetch_feed(f, in))
        return;
    /* An EOF or error our own read saw, once the bytes before it are
     * parsed: handled as libevent would report it. */
    if (f->f_peer_eof && f->f_state != FETCH_FINISHED && f->f_bev == bev) {
        bufferevent_disable(bev, EV_READ);
        fetch_event_cb(bev,
                       f->f_peer_err ? BEV_EVENT_ERROR | BEV_EVENT_READING
                                     : BEV_EVENT_EOF | BEV_EVENT_READING,
                       f);
    }
}

static int
fp_head(void *arg, struct http_msg *m)
{
    struct fetch *f = arg;

    if (m->hm_status >= 100 && m->hm_status < 200) {
        f->f_interim = 1;
        return 0;
    }
    f->f_resp = m;
    upstream_succeeded(f->f_cfgr->cr_up, f->f_hop);
    if (m->hm_status == 407 && !f->f_direct) {
        if (auth_challenges_split(&m->hm_hdrs) == -1) {
            snprintf(f->f_err, sizeof(f->f_err), "out of memory");
            f->f_abort_status = 502;
            return -1;
        }
        switch (fetch_auth_on_407(f, m)) {
        case FAUTH_RESEND:
            /* The 407's body is dropped; the request goes again. */
            f->f_auth_pending = 1;
            if (!f->f_paused)
                fetch_arm(f, f->f_cfg->sc_body_timeout_ms);
            return 0;
        case FAUTH_REFUSED:
        case FAUTH_ERROR:
            f->f_abort_status = 502;
            return -1;
        case FAUTH_PASS:
            break;
        }
    } else {
        fetch_auth_done(f);
    }
    if (!f->f_direct)
        upstream_learn(
            f->f_cfgr->cr_up, f->f_hop, m->hm_minor,
            m->hm_keep_alive ||
                hdr_has_token(&m->hm_hdrs, "Proxy-Connection", "keep-alive"));
    f->f_state = FETCH_BODY;
    if (!f->f_paused)
        fetch_arm(f, f->f_cfg->sc_body_timeout_ms);
    return f->f_cb.fc_head(f->f_arg, m);
}

static int
fp_body(void *arg, const char *p, size_t n)
{
    struct fetch *f = arg;

    if (n == 0 || f->f_auth_pending)
        return 0;
    f->f_srv->sv_stats.st_bytes_up += n;
    if (!f->f_paused)
        fetch_arm(f, f->f_cfg->sc_body_timeout_ms);
    return f->f_cb.fc_body(f->f_arg, p, n);
}

static int
fp_done(void *arg)
{
    struct fetch *f = arg;

    if (!f->f_interim)
        f->f_done = 1;
    return 0;
}

int
fetch_sent_auth(const struct fetch *f)
{
    return f->f_sent_auth;
}
