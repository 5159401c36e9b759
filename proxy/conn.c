/*
 * conn.c - the client connection state machine.
 *
 * One struct conn per accepted socket. Requests are handled one at a time
 * in arrival order; bytes of pipelined requests wait in the input buffer
 * until the previous response is complete, so responses leave in order.
 *
 *   READ_HEAD -> [READ_BODY] -> plan:
 *     status page ......................... answered at once
 *     CONNECT ............ UPSTREAM -> tunnel.c takes both sockets
 *     cache hit ........................... SERVE from the cache file
 *     cache miss (range engine) ........... SERVE from a shared fill
 *     pass / slice ....... UPSTREAM -> RELAY (streamed from fetch.c)
 *   -> keep-alive: back to READ_HEAD, or CLOSING (flush, then free)
 *
 * Only this file assigns c_state, and every transition is here, which is
 * why it is longer than the other files: splitting it would scatter the
 * transitions. A connection ends in exactly one call to
 * conn_close() or conn_abort(), each given a reason; the struct is freed
 * from a deferred event, never from inside a callback that still uses it.
 * Decisions reached inside a parser callback are recorded as a verdict
 * and acted on once the parser has returned.
 *
 * The answers themselves live elsewhere and report back through callback
 * tables: serve.c (cache and fill), pass.c (pass, slice, HEAD synthesis,
 * the start of a CONNECT), status.c (the status page); spool.c keeps the
 * request body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "admit.h"
#include "cache.h"
#include "conn.h"
#include "conn_int.h"
#include "fill.h"
#include "http_msg.h"
#include "log.h"
#include "metrics.h"
#include "normalize.h"
#include "pass.h"
#include "plat.h"
#include "relay.h"
#include "serve.h"
#include "server.h"
#include "shim_limits.h"
#include "spool.h"
#include "status.h"
#include "tunnel.h"

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void conn_kick_cb(evutil_socket_t fd, short what, void *arg);
static void conn_reaper_cb(evutil_socket_t fd, short what, void *arg);
static void conn_process_input(struct conn *c);
static void conn_dispatch(struct conn *c);
static void conn_start_pass(struct conn *c);
static void conn_join_fill(struct conn *c, const char *plan);
static void conn_request_finish(struct conn *c);
static void conn_close(struct conn *c, const char *reason);
static void conn_abort(struct conn *c, const char *reason);
static void conn_error(struct conn *c, int status, const char *reason);

static int req_on_head(void *arg, struct http_msg *m);
static int req_on_body(void *arg, const char *p, size_t n);
static int req_on_done(void *arg);

static const struct http_parser_cb req_cb = {req_on_head, req_on_body,
                                             req_on_done};

static int
conn_gone(const struct conn *c)
{
    return c->c_state == CONN_CLOSING || c->c_state == CONN_DEAD;
}

/* Arm the state timer; ms == 0 disarms it. */
static void
conn_arm(struct conn *c, uint32_t ms)
{
    if (ms == 0) {
        event_del(c->c_tmo);
        return;
    }
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};
    event_add(c->c_tmo, &tv);
}

static void
conn_out(struct conn *c, const void *p, size_t n)
{
    evbuffer_add(bufferevent_get_output(c->c_bev), p, n);
    c->c_out_bytes += n;
}

/* Backpressure for every answer, the shim's own included: before a new
 * request is taken, the answers queued for the client must have drained
 * below RELAY_HIGH_MARK. Otherwise reading stops (the state timer too:
 * the bufferevent's write timeout judges a client that stopped reading)
 * and conn_write_cb resumes below RELAY_LOW_MARK. Returns 1 if paused. */
static int
conn_pause_if_full(struct conn *c)
{
    if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) <=
        RELAY_HIGH_MARK)
        return 0;
    c->c_rd_paused = 1;
    bufferevent_disable(c->c_bev, EV_READ);
    conn_arm(c, 0);
    return 1;
}

/* Take the next request: read, and parse what is already buffered. */
static void
conn_read_next(struct conn *c)
{
    c->c_rd_paused = 0;
    conn_arm(c, c->c_cfg->sc_idle_timeout_ms);
    bufferevent_enable(c->c_bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(c->c_bev)) > 0)
        event_active(c->c_kick, EV_TIMEOUT, 0);
}

/* ---- teardown ---- */

static void
conn_unlink(struct conn *c)
{
    struct server *sv = c->c_srv;

    if (c->c_prev != NULL)
        c->c_prev->c_next = c->c_next;
    else if (sv->sv_conns == c)
        sv->sv_conns = c->c_next;
    if (c->c_next != NULL)
        c->c_next->c_prev = c->c_prev;
    c->c_next = c->c_prev = NULL;
}

static void
conn_free(struct conn *c)
{
    struct server *sv = c->c_srv;

    conn_unlink(c);
    creq_reset(c);
    if (c->c_bev != NULL)
        bufferevent_free(c->c_bev);
    if (c->c_reqp != NULL)
        http_parser_free(c->c_reqp);
    spool_free(&c->c_body);
    if (c->c_tmo != NULL)
        event_free(c->c_tmo);
    if (c->c_kick != NULL)
        event_free(c->c_kick);
    if (c->c_reaper != NULL)
        event_free(c->c_reaper);
    cfg_ref_drop(c->c_cfgr);
    free(c);
    server_conn_gone(sv);
}

static void
conn_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

static void
conn_schedule_free(struct conn *c)
{
    c->c_state = CONN_DEAD;
    event_del(c->c_tmo);
    event_active(c->c_reaper, EV_TIMEOUT, 0);
}

/* Stop producing the response: used when it cannot be completed
 * truthfully (a truncated upstream body, a failed verification). What was
 * already queued is flushed, then the connection closes: the client sees
 * fewer bytes than the Content-Length, or no last chunk, so it knows the
 * body is incomplete, and a BITS job keeps what it got and resumes with a
 * Range. Nothing more is ever added. */
static void
conn_abort(struct conn *c, const char *reason)
{
    if (conn_gone(c))
        return;
    log_info("conn %llu %s: aborted: %s", (unsigned long long)c->c_id,
             c->c_peer, reason);
    if (c->c_req != NULL) {
        if (c->c_plan == NULL || strcmp(c->c_plan, "pass") == 0)
            c->c_plan = "aborted";
        creq_log(c);
        c->c_req = NULL;
    }
    c->c_keep = 0;
    conn_close(c, reason);
}

/* Close after the pending output is flushed (bounded by a timer). */
static void
conn_close(struct conn *c, const char *reason)
{
    if (conn_gone(c))
        return;
    log_debug("conn %llu %s: close: %s", (unsigned long long)c->c_id, c->c_peer,
              reason);
    creq_unfetch(c);
    creq_unfill(c);
    bufferevent_disable(c->c_bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0) {
        conn_schedule_free(c);
        return;
    }
    c->c_state = CONN_CLOSING;
    conn_arm(c, c->c_cfg->sc_idle_timeout_ms);
    bufferevent_enable(c->c_bev, EV_WRITE);
}

/* Answer the current request with a short text/plain error and a request
 * id, then close or keep the connection. Only possible while no response
 * head has been sent; afterwards the connection is aborted instead. */
static void
conn_error(struct conn *c, int status, const char *reason)
{
    struct relay_error e;
    size_t len;
    char *resp;

    if (conn_gone(c))
        return;
    if (c->c_head_sent) {
        conn_abort(c, reason);
        return;
    }
    if (c->c_reqid[0] == '\0')
        creq_new_id(c->c_reqid);
    creq_unfetch(c);
    creq_unfill(c);
    c->c_srv->sv_stats.st_errors++;
    status_note_error(c->c_srv, c->c_t0, status, c->c_reqid, c->c_peer,
                      c->c_req != NULL ? c->c_req->hm_method : NULL, c->c_url,
                      c->c_fetch_up, reason);
    log_info("conn %llu %s: req %s: %d %s", (unsigned long long)c->c_id,
             c->c_peer, c->c_reqid, status, reason);
    /* Only a fully read, well-formed request leaves the connection in a
     * state where the next request can be found. */
    c->c_keep = c->c_keep && c->c_req_done && !c->c_srv->sv_draining &&
                !c->c_client_eof;
    memset(&e, 0, sizeof(e));
    e.re_status = status;
    e.re_reason = reason;
    e.re_reqid = c->c_reqid;
    e.re_keep = c->c_keep;
    e.re_is_head = c->c_req != NULL && c->c_req->hm_is_head;
    e.re_allow = status == 405 ? ADMIT_METHODS : NULL;
    e.re_challenge = status == 407 ? c->c_err_auth : NULL;
    resp = relay_error_answer(&e, &len);
    if (resp != NULL) {
        conn_out(c, resp, len);
        free(resp);
    }
    c->c_status = status;
    if (c->c_plan == NULL || strcmp(c->c_plan, "pass") == 0)
        c->c_plan = "error";
    c->c_head_sent = 1;
    conn_request_finish(c);
}

/* Record a verdict from inside a parser callback. */
static void
conn_verdict(struct conn *c, int status, const char *reason)
{
    if (c->c_err_status != 0)
        return;
    c->c_err_status = status;
    snprintf(c->c_err_buf, sizeof(c->c_err_buf), "%s", reason);
}

/* Act on a recorded verdict. Returns 1 if there was one. */
static int
conn_verdict_apply(struct conn *c)
{
    char why[sizeof(c->c_err_buf)];

    if (c->c_err_status == 0)
        return 0;
    snprintf(why, sizeof(why), "%s", c->c_err_buf);
    conn_error(c, c->c_err_status, why);
    return 1;
}

/* ---- accept ---- */

int
conn_new(struct server *sv, evutil_socket_t fd, const struct sockaddr *sa,
         int salen)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct event_base *base = sv->sv_base;

    (void)salen;
    if (c == NULL) {
        evutil_closesocket(fd);
        return -1;
    }
    c->c_srv = sv;
    c->c_cfgr = cfg_ref_hold(sv->sv_cfg);
    c->c_cfg = &c->c_cfgr->cr_cfg;
    c->c_body.sp_fd = -1;
    pass_init(&c->c_pass);
    serve_init(&c->c_serve);
    c->c_plan = "pass";
    c->c_id = ++sv->sv_next_id;
    if (plat_sockaddr_str(sa, c->c_peer, sizeof(c->c_peer)) == -1)
        snprintf(c->c_peer, sizeof(c->c_peer), "?");
    c->c_lim.hl_max_head = c->c_cfg->sc_max_header_bytes;
    c->c_lim.hl_max_headers = c->c_cfg->sc_max_headers;
    c->c_lim.hl_max_uri = c->c_cfg->sc_max_uri;
    c->c_lim.hl_max_body = c->c_cfg->sc_max_body;

    evutil_make_socket_nonblocking(fd);
    (void)plat_sock_nodelay(fd);
    c->c_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->c_tmo = evtimer_new(base, conn_timeout_cb, c);
    c->c_kick = event_new(base, -1, 0, conn_kick_cb, c);
    c->c_reaper = event_new(base, -1, 0, conn_reaper_cb, c);
    int body_ok = spool_init(&c->c_body);
    c->c_reqp = http_parser_new(HTTP_KIND_REQUEST, &c->c_lim, &req_cb, c);
    /* Link first: conn_free unlinks and counts the connection as gone. */
    c->c_next = sv->sv_conns;
    if (sv->sv_conns != NULL)
        sv->sv_conns->c_prev = c;
    sv->sv_conns = c;
    sv->sv_nconns++;
    if (c->c_bev == NULL || c->c_tmo == NULL || c->c_kick == NULL ||
        c->c_reaper == NULL || body_ok == -1 || c->c_reqp == NULL) {
        log_warnx("conn: out of memory");
        if (c->c_bev == NULL)
            evutil_closesocket(fd);
        conn_free(c);
        return -1;
    }
    creq_reset(c);
    bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* Read at most this much ahead while a request is being answered. */
    bufferevent_setwatermark(c->c_bev, EV_READ, 0,
                             c->c_cfg->sc_max_header_bytes + 16384);
    bufferevent_setwatermark(c->c_bev, EV_WRITE, RELAY_LOW_MARK, 0);
    bufferevent_set_max_single_write(c->c_bev, RELAY_IO_CHUNK);
    /* A client that stops reading for body_timeout is dropped. */
    struct timeval wto = {(time_t)(c->c_cfg->sc_body_timeout_ms / 1000),
                          (long)(c->c_cfg->sc_body_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->c_bev, NULL, &wto);
    bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
    c->c_state = CONN_READ_HEAD;
    /* A new connection owes its first request head within header_timeout
     * of the accept, its first byte included: a client connects to send
     * a request, and one that sends nothing holds a descriptor and a
     * max_connections slot. idle_timeout is the wait between requests
     * of a kept-alive connection (conn_read_next). */
    conn_arm(c, c->c_cfg->sc_header_timeout_ms);
    log_debug("conn %llu %s: accepted", (unsigned long long)c->c_id, c->c_peer);
    return 0;
}

/* ---- client side callbacks ---- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process_input(arg);
}

static void
conn_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_process_input(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));

    if (c->c_state == CONN_CLOSING) {
        if (left == 0)
            conn_schedule_free(c);
        return;
    }
    if (left > RELAY_LOW_MARK)
        return;
    /* Backpressure: the client drained below the low mark. */
    if (c->c_rd_paused && c->c_state == CONN_READ_HEAD) {
        conn_read_next(c);
        return;
    }
    pass_resume(&c->c_pass);
    if (c->c_state == CONN_SERVE)
        serve_resume(&c->c_serve);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (c->c_state == CONN_DEAD)
        return;
    if (what & BEV_EVENT_TIMEOUT) {
        conn_abort(c, "client stopped reading");
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (c->c_state == CONN_CLOSING)
            conn_schedule_free(c);
        else
            conn_abort(c, "client connection error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->c_client_eof = 1;
        switch (c->c_state) {
        case CONN_READ_HEAD:
            /* Requests still buffered are answered first. */
            if (http_parser_started(c->c_reqp) ||
                evbuffer_get_length(bufferevent_get_input(c->c_bev)) == 0)
                conn_close(c, "client closed");
            break;
        case CONN_READ_BODY:
            conn_close(c, "client closed during the request body");
            break;
        case CONN_CLOSING:
            conn_schedule_free(c);
            break;
        default:
            /* Finish the response; the connection closes after it. */
            c->c_keep = 0;
            break;
        }
    }
}

static void
conn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    switch (c->c_state) {
    case CONN_READ_HEAD:
        if (!http_parser_started(c->c_reqp)) {
            conn_close(c,
                       c->c_nreq == 0 ? "no request in time" : "idle timeout");
            return;
        }
        c->c_keep = 0;
        conn_error(c, 408, "request header not received in time");
        break;
    case CONN_READ_BODY:
        c->c_keep = 0;
        conn_error(c, 408, "request body not received in time");
        break;
    case CONN_UPSTREAM:
    case CONN_RELAY:
    case CONN_SERVE:
        /* Upstream timers belong to fetch.c; nothing is armed here. */
        break;
    case CONN_CLOSING:
        conn_schedule_free(c);
        break;
    case CONN_DEAD:
        break;
    }
}

/* Feed buffered client bytes to the request parser while we are reading a
 * request. Stops at the end of one request; the rest waits. */
static void
conn_process_input(struct conn *c)
{
    struct evbuffer *in;

    if (c->c_state != CONN_READ_HEAD && c->c_state != CONN_READ_BODY)
        return;
    in = bufferevent_get_input(c->c_bev);
    while (c->c_state == CONN_READ_HEAD || c->c_state == CONN_READ_BODY) {
        size_t len = evbuffer_get_contiguous_space(in);
        if (len == 0)
            break;
        if (c->c_state == CONN_READ_HEAD && !http_parser_started(c->c_reqp)) {
            if (conn_pause_if_full(c))
                return;
            /* First byte of a new request: its head is due within
             * header_timeout. The first request's deadline runs from the
             * accept already (conn_new) and is not pushed back. */
            if (c->c_nreq++ > 0)
                conn_arm(c, c->c_cfg->sc_header_timeout_ms);
            c->c_t0 = plat_monotonic_ms();
            creq_new_id(c->c_reqid);
        }
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        size_t used = 0;
        enum http_rc rc = http_parser_feed(c->c_reqp, p, len, &used);
        if (conn_gone(c))
            return;
        evbuffer_drain(in, used);
        c->c_in_bytes += used;
        switch (rc) {
        case HTTP_MORE:
            continue;
        case HTTP_DONE:
            c->c_req_done = 1;
            if (!conn_verdict_apply(c))
                conn_dispatch(c);
            return;
        case HTTP_BAD: {
            const char *why = "malformed request";
            int status = http_parser_error(c->c_reqp, &why);
            c->c_keep = 0;
            c->c_plan = "rejected";
            conn_error(c, status, why);
            return;
        }
        case HTTP_ABORTED:
            /* A callback refused the request before its end. */
            c->c_keep = 0;
            if (!conn_verdict_apply(c))
                conn_close(c, "request aborted");
            return;
        }
    }
    if (c->c_client_eof && c->c_state == CONN_READ_HEAD)
        conn_close(c, "client closed");
}

/* ---- the request ---- */

/* Is this request for the shim itself (the status page) rather than one
 * to pass on? Returns 1 if so, 0 for a proxy request, -1 for neither (an
 * origin-form target the shim does not serve). */
static int
req_for_shim(const struct http_msg *m, const struct req_target *t)
{
    if (!t->rt_absolute && !m->hm_is_connect)
        return status_is_page(t->rt_path) ? 1 : -1;
    return strcmp(t->rt_host, STATUS_HOST) == 0;
}

/* Refuse the request. Without a body the request is complete and the
 * connection can stay open; with one, answer at once and close. */
static int
req_deny(struct conn *c, const struct http_msg *m, const struct admit *ad)
{
    if (ad->ad_close)
        c->c_keep = 0;
    if (ad->ad_plan != NULL)
        c->c_plan = ad->ad_plan;
    conn_verdict(c, ad->ad_status, ad->ad_why);
    return admit_has_body(m) ? -1 : 0;
}

static int
req_on_head(void *arg, struct http_msg *m)
{
    struct conn *c = arg;
    struct admit ad;

    c->c_req = m;
    c->c_keep = m->hm_keep_alive && !c->c_srv->sv_draining;
    c->c_have_tgt = admit_head(m, &c->c_tgt, &ad);
    if (c->c_have_tgt)
        c->c_url = admit_url(m, &c->c_tgt);
    if (ad.ad_status != 0)
        return req_deny(c, m, &ad);
    switch (req_for_shim(m, &c->c_tgt)) {
    case 1:
        c->c_local = 1;
        break;
    case -1:
        ad.ad_status = 400;
        ad.ad_why = "not a proxy request (absolute URL expected)";
        ad.ad_close = 1;
        return req_deny(c, m, &ad);
    default:
        if (!admit_policy(c->c_cfg, m, &c->c_tgt, &ad))
            return req_deny(c, m, &ad);
        break;
    }
    if (admit_has_body(m)) {
        c->c_state = CONN_READ_BODY;
        conn_arm(c, c->c_cfg->sc_body_timeout_ms);
        if (m->hm_expect_continue && m->hm_minor >= 1) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            conn_out(c, cont, sizeof(cont) - 1);
        }
    }
    return 0;
}

static int
req_on_body(void *arg, const char *p, size_t n)
{
    struct conn *c = arg;

    conn_arm(c, c->c_cfg->sc_body_timeout_ms);
    if (spool_add(&c->c_body, p, n, c->c_cfg->sc_body_memory) == 0)
        return 0;
    log_warn("req %s: cannot spool request body", c->c_reqid);
    c->c_keep = 0;
    conn_verdict(c, 500, "cannot store the request body");
    return -1;
}

static int
req_on_done(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- local answers ---- */

static void
conn_serve_status(struct conn *c)
{
    size_t len;
    int status = 200;
    char *resp =
        status_response(c->c_srv, c->c_cfg, c->c_tgt.rt_path, c->c_keep,
                        c->c_req->hm_is_head, &status, &len);

    if (resp != NULL) {
        conn_out(c, resp, len);
        free(resp);
    }
    c->c_status = status;
    c->c_plan = "status";
    c->c_head_sent = 1;
    conn_request_finish(c);
}

/* ---- what serve.c and pass.c see of the connection ---- */

static struct evbuffer *
answer_output(void *arg)
{
    struct conn *c = arg;

    return bufferevent_get_output(c->c_bev);
}

static void
answer_sent(void *arg, uint64_t n)
{
    struct conn *c = arg;

    c->c_out_bytes += n;
}

static int
answer_keep_ok(void *arg)
{
    const struct conn *c = arg;

    return c->c_keep && !c->c_srv->sv_draining && !c->c_client_eof;
}

/* A response head is queued: the connection follows its plan. */
static void
answer_head(struct conn *c, int status, const struct resp_plan *plan)
{
    c->c_plan_out = *plan;
    c->c_keep = plan->rp_keep_alive;
    c->c_head_sent = 1;
    c->c_status = status;
}

static void
serve_head_cb(void *arg, int status, const struct resp_plan *plan)
{
    answer_head(arg, status, plan);
}

static void
serve_end_cb(void *arg, enum serve_outcome oc, int status, const char *reason)
{
    struct conn *c = arg;

    creq_unfill(c);
    switch (oc) {
    case SERVE_DONE:
        conn_request_finish(c);
        break;
    case SERVE_ERROR:
        conn_error(c, status, reason);
        break;
    case SERVE_CUT:
        conn_abort(c, reason);
        break;
    case SERVE_USE_PASS:
        /* Not a cacheable answer (a 404, a redirect...): let the client
         * have the upstream's own answer. */
        c->c_no_cache = 1;
        c->c_plan = "pass";
        conn_start_pass(c);
        break;
    }
}

static const struct serve_cb conn_serve_cb = {
    answer_output, answer_sent, answer_keep_ok, serve_head_cb, serve_end_cb};

/* Wait on the fill for this URL (starting one if none is under way). */
static void
conn_join_fill(struct conn *c, const char *plan)
{
    struct serve_req sr;

    creq_serve_req(c, &sr);
    if (serve_fill(&c->c_serve, &sr, &conn_serve_cb, c) == -1) {
        conn_error(c, 500, "cannot start the cache fill");
        return;
    }
    c->c_plan = plan;
    c->c_state = CONN_SERVE;
}

/* Serve a committed cache entry (fd and hold from the lookup, taken). */
static void
conn_serve_hit(struct conn *c, const struct cache_meta *meta, int fd,
               struct cache_ent *hold)
{
    struct serve_req sr;

    c->c_plan = "cache-hit";
    c->c_upstream = "cache";
    c->c_state = CONN_SERVE;
    creq_serve_req(c, &sr);
    serve_hit(&c->c_serve, &sr, meta, fd, hold, &conn_serve_cb, c);
}

static void
pass_head_cb(void *arg, int status, const struct resp_plan *plan,
             const char *plan_name)
{
    struct conn *c = arg;

    if (plan_name != NULL)
        c->c_plan = plan_name;
    answer_head(c, status, plan);
    c->c_state = CONN_RELAY;
}

static void
conn_start_tunnel(struct conn *c)
{
    struct tunnel_info ti;
    struct bufferevent *cb = c->c_bev;
    struct bufferevent *ub = pass_take_bev(&c->c_pass);
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

    conn_out(c, ok, sizeof(ok) - 1);
    creq_tunnel_info(c, &ti);
    /* The tunnel takes both sockets (and copies ti); this connection
     * object ends here and the tunnel writes the log line. */
    c->c_bev = NULL;
    c->c_req = NULL;
    c->c_srv->sv_stats.st_tunnels++;
    conn_schedule_free(c);
    if (ub == NULL) {
        bufferevent_free(cb);
        return;
    }
    tunnel_start(c->c_srv, cb, ub, &ti);
}

static void
pass_end_cb(void *arg, enum pass_outcome oc, int status, const char *reason)
{
    struct conn *c = arg;

    switch (oc) {
    case PASS_TUNNEL:
        conn_start_tunnel(c);
        return;
    case PASS_DONE:
    case PASS_SLICE_DONE:
        creq_unfetch(c);
        conn_request_finish(c);
        return;
    case PASS_NEEDS_SYNTH:
        /* The upstream's HEAD had no length: learn it with a fill. */
        creq_unfetch(c);
        conn_join_fill(c, "head-synth");
        return;
    case PASS_VERDICT:
        if (c->c_req->hm_is_connect) {
            c->c_keep = 0;
            if (pass_challenge(&c->c_pass) != NULL)
                c->c_err_auth = strdup(pass_challenge(&c->c_pass));
        }
        conn_verdict(c, status, reason);
        conn_verdict_apply(c);
        return;
    case PASS_FAILED:
        conn_error(c, status, reason);
        return;
    case PASS_CUT:
        conn_abort(c, reason);
        return;
    }
}

static const struct pass_cb conn_pass_cb = {
    answer_output, answer_sent, answer_keep_ok, pass_head_cb, pass_end_cb};

static void
conn_start_pass(struct conn *c)
{
    struct pass_req pr;

    creq_pass_req(c, &pr);
    c->c_state = CONN_UPSTREAM;
    conn_arm(c, 0);
    if (pass_start(&c->c_pass, &pr, &conn_pass_cb, c) == -1)
        conn_error(c, 500, "out of memory");
}

/* ---- the plan ---- */

/* Should a GET go through the range engine's cache (admit.h)? */
static int
wants_cache(const struct conn *c)
{
    if (c->c_no_cache || c->c_srv->sv_cache == NULL ||
        c->c_cfg->sc_range_mode != RANGE_MODE_CACHE || c->c_body.sp_len > 0 ||
        cache_refused(c->c_srv->sv_cache, c->c_url))
        return 0;
    return admit_wants_cache(c->c_req, c->c_url);
}

static int
cache_entry_fresh(const struct conn *c, const struct cache_meta *meta)
{
    struct timespec now;

    plat_clock_real(&now);
    return cache_meta_fresh(meta, c->c_url, c->c_cfg->sc_unnamed_max_age_ms,
                            (int64_t)now.tv_sec);
}

static void
conn_dispatch(struct conn *c)
{
    const struct http_msg *m = c->c_req;

    if (c->c_local) {
        if (strcmp(m->hm_method, "GET") != 0 &&
            strcmp(m->hm_method, "HEAD") != 0) {
            conn_error(c, 405, "the status page takes GET or HEAD");
            return;
        }
        conn_serve_status(c);
        return;
    }
    if (m->hm_is_connect)
        c->c_plan = "tunnel";
    if (spool_seal(&c->c_body) == -1) {
        conn_error(c, 500, "cannot read the spooled request body");
        return;
    }
    if (c->c_srv->sv_cache != NULL && c->c_url != NULL &&
        c->c_cfg->sc_range_mode == RANGE_MODE_CACHE &&
        (strcmp(m->hm_method, "GET") == 0 || m->hm_is_head)) {
        struct cache_meta meta;
        struct cache_ent *hold;
        int fd;
        if (cache_lookup(c->c_srv->sv_cache, c->c_url, &meta, &fd, &hold) ==
            0) {
            if (cache_entry_fresh(c, &meta)) {
                conn_serve_hit(c, &meta, fd, hold);
                return;
            }
            /* Stale: an unnamed entry past unnamed_max_age. */
            plat_close(fd);
            cache_release(hold);
            cache_remove(c->c_srv->sv_cache, c->c_url);
            log_debug("req %s: cached %s is stale, refetching", c->c_reqid,
                      c->c_url);
        }
        if (fill_find(c->c_srv, c->c_url) != NULL || wants_cache(c)) {
            conn_join_fill(c, "cache-fill");
            return;
        }
    }
    conn_start_pass(c);
}

/* The current request is answered (its last byte is queued): log it,
 * then close or go back to reading the next request. */
static void
conn_request_finish(struct conn *c)
{
    if (conn_gone(c))
        return;
    creq_log(c);
    int keep = c->c_keep && c->c_req_done && !c->c_srv->sv_draining &&
               c->c_plan_out.rp_framing != OUT_CLOSE;
    creq_reset(c);
    if (!keep) {
        conn_close(c, "not keep-alive");
        return;
    }
    http_parser_next(c->c_reqp);
    struct evbuffer *in = bufferevent_get_input(c->c_bev);
    if (c->c_client_eof && evbuffer_get_length(in) == 0) {
        conn_close(c, "client closed");
        return;
    }
    c->c_state = CONN_READ_HEAD;
    if (!conn_pause_if_full(c))
        conn_read_next(c);
}

/* ---- server-wide ---- */

void
conn_drain_all(struct server *sv)
{
    struct conn *c, *next;

    for (c = sv->sv_conns; c != NULL; c = next) {
        next = c->c_next;
        if (c->c_state == CONN_READ_HEAD && !http_parser_started(c->c_reqp))
            conn_close(c, "shutting down");
        else
            c->c_keep = 0;
    }
}

void
conn_close_all(struct server *sv)
{
    struct conn *c, *next;

    for (c = sv->sv_conns; c != NULL; c = next) {
        next = c->c_next;
        if (c->c_state != CONN_DEAD)
            conn_abort(c, "shutdown");
    }
}
