/*
 * conn.c - the client connection state machine.
 *
 * One struct conn per accepted socket. Requests are handled one at a time
 * in arrival order; bytes of pipelined requests wait in the input buffer
 * until the previous response is complete, so responses leave in order.
 *
 *   READ_HEAD -> [READ_BODY] -> CONNECTING -> WAIT_RESPONSE -> RELAY
 *        ^                                                        |
 *        +------------------ keep-alive --------------------------+
 *   CONNECT: READ_HEAD -> CONNECTING -> WAIT_RESPONSE -> tunnel.c
 *   any state -> CLOSING (flush, then free) or freed at once (abort)
 *
 * Only this file assigns c_state. A connection ends in exactly one call to
 * conn_close() or conn_abort(), each given a reason; the struct is freed
 * from a deferred event, never from inside a callback that still uses it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "conn.h"
#include "http_msg.h"
#include "limits.h"
#include "log.h"
#include "normalize.h"
#include "plat.h"
#include "relay.h"
#include "server.h"
#include "tunnel.h"
#include "upstream.h"

enum conn_state {
    CONN_READ_HEAD = 0, /* waiting for or parsing a request head */
    CONN_READ_BODY,     /* collecting the request body */
    CONN_CONNECTING,    /* upstream connect under way */
    CONN_WAIT_RESPONSE, /* request sent, waiting for the response head */
    CONN_RELAY,         /* response head sent, streaming the body */
    CONN_CLOSING,       /* flushing the last bytes, then free */
    CONN_DEAD,          /* freed from the reaper event */
};

#define SHIM_STATUS_HOST "wsus-shim.local"

struct conn {
    struct conn *c_next;
    struct conn *c_prev;
    struct server *c_srv;
    struct cfg_ref *c_cfgr;
    const struct shim_config *c_cfg;
    enum conn_state c_state;
    struct bufferevent *c_bev;
    struct event *c_tmo;    /* the one timer of the current state */
    struct event *c_kick;   /* deferred: continue with buffered input */
    struct event *c_reaper; /* deferred: free */
    char c_peer[64];
    uint64_t c_id;
    int c_client_eof;

    struct http_limits c_lim;
    struct http_parser *c_reqp;

    /* The current request. */
    struct http_msg *c_req; /* owned by c_reqp until http_parser_next */
    struct req_target c_tgt;
    int c_have_tgt;
    char *c_url;
    char c_reqid[REQID_LEN + 1];
    uint64_t c_t0;
    uint64_t c_in_bytes;
    uint64_t c_out_bytes;
    int c_status;
    const char *c_plan;
    int c_keep;      /* keep the client connection after this response */
    int c_req_done;  /* the whole request (head and body) has been read */
    int c_local;     /* answered by the shim itself */
    /* A verdict reached inside a parser callback, acted on after the
     * parser returned (never reset a parser from its own callback). */
    int c_err_status;
    const char *c_err_reason;
    char c_err_buf[160];
    char *c_err_auth; /* Proxy-Authenticate to pass with a 407 */

    /* Request body, spooled: memory up to body_memory, then a file. */
    struct evbuffer *c_body;
    int c_body_fd;
    uint64_t c_body_len;
    struct evbuffer_file_segment *c_body_seg;

    /* Upstream side. */
    struct bufferevent *c_ubev;
    struct http_parser *c_respp;
    struct http_msg *c_resp;
    int c_hop;            /* parent index, -1 direct */
    int c_direct;
    int c_sent_auth;
    int c_resp_bytes;     /* any byte received from the upstream */
    int c_connected;
    int c_timed_out;
    int c_up_paused;      /* upstream reads stopped by backpressure */
    int c_resp_done;
    int c_interim;        /* the response just parsed was 1xx */
    unsigned c_up_gen;    /* bumped by every connect attempt */
    char *c_up_head;      /* serialized request head, kept for failover */
    size_t c_up_head_len;

    /* Client side framing of the current response. */
    struct resp_plan c_plan_out;
    int c_head_sent;
};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void conn_kick_cb(evutil_socket_t fd, short what, void *arg);
static void conn_reaper_cb(evutil_socket_t fd, short what, void *arg);
static void conn_process_input(struct conn *c);
static void conn_dispatch(struct conn *c);
static void conn_connect_next(struct conn *c);
static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_request_finish(struct conn *c);
static void conn_close(struct conn *c, const char *reason);
static void conn_abort(struct conn *c, const char *reason);
static void conn_error(struct conn *c, int status, const char *reason);

static int req_on_head(void *arg, struct http_msg *m);
static int req_on_body(void *arg, const char *p, size_t n);
static int req_on_done(void *arg);
static int resp_on_head(void *arg, struct http_msg *m);
static int resp_on_body(void *arg, const char *p, size_t n);
static int resp_on_done(void *arg);

static const struct http_parser_cb req_cb = {req_on_head, req_on_body,
                                             req_on_done};
static const struct http_parser_cb resp_cb = {resp_on_head, resp_on_body,
                                              resp_on_done};

static const struct http_limits resp_limits = {
    MAX_RESP_HEADER_BYTES, MAX_RESP_HEADERS, 0, 0};

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
new_reqid(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[REQID_LEN / 2];

    plat_random(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[REQID_LEN] = '\0';
}

static void
conn_out(struct conn *c, const void *p, size_t n)
{
    evbuffer_add(bufferevent_get_output(c->c_bev), p, n);
    c->c_out_bytes += n;
}

/* ---- per-request state ---- */

static void
up_free(struct conn *c)
{
    if (c->c_ubev != NULL) {
        bufferevent_free(c->c_ubev);
        c->c_ubev = NULL;
    }
    if (c->c_respp != NULL) {
        http_parser_free(c->c_respp);
        c->c_respp = NULL;
    }
    c->c_resp = NULL;
    c->c_up_paused = 0;
}

static void
request_reset(struct conn *c)
{
    up_free(c);
    if (c->c_have_tgt)
        req_target_free(&c->c_tgt);
    c->c_have_tgt = 0;
    free(c->c_url);
    c->c_url = NULL;
    free(c->c_up_head);
    c->c_up_head = NULL;
    if (c->c_body_seg != NULL) {
        evbuffer_file_segment_free(c->c_body_seg);
        c->c_body_seg = NULL;
        c->c_body_fd = -1;
    }
    if (c->c_body_fd != -1) {
        plat_close(c->c_body_fd);
        c->c_body_fd = -1;
    }
    if (c->c_body != NULL)
        evbuffer_drain(c->c_body, evbuffer_get_length(c->c_body));
    c->c_body_len = 0;
    c->c_req = NULL;
    c->c_in_bytes = c->c_out_bytes = 0;
    c->c_status = 0;
    c->c_plan = "pass";
    c->c_req_done = c->c_local = 0;
    c->c_hop = -1;
    c->c_direct = c->c_sent_auth = c->c_resp_bytes = 0;
    c->c_connected = c->c_timed_out = c->c_resp_done = c->c_interim = 0;
    c->c_head_sent = 0;
    c->c_err_status = 0;
    c->c_err_reason = NULL;
    free(c->c_err_auth);
    c->c_err_auth = NULL;
    c->c_up_gen++;
    c->c_reqid[0] = '\0';
    memset(&c->c_plan_out, 0, sizeof(c->c_plan_out));
}

static void
access_log(struct conn *c)
{
    struct access_rec r;

    if (c->c_req == NULL && c->c_status == 0)
        return;
    memset(&r, 0, sizeof(r));
    r.ar_client = c->c_peer;
    r.ar_method = c->c_req && c->c_req->hm_method ? c->c_req->hm_method : "-";
    r.ar_url = c->c_url ? c->c_url
                        : (c->c_req && c->c_req->hm_target ? c->c_req->hm_target
                                                         : "-");
    r.ar_status = c->c_status;
    r.ar_bytes_in = c->c_in_bytes;
    r.ar_bytes_out = c->c_out_bytes;
    if (c->c_local)
        r.ar_upstream = "-";
    else
        r.ar_upstream = upstream_label(c->c_cfgr->cr_up, c->c_hop);
    r.ar_plan = c->c_plan;
    r.ar_duration_ms = plat_monotonic_ms() - c->c_t0;
    r.ar_reqid = c->c_reqid;
    access_log_write(&r);
    c->c_srv->sv_stats.st_requests++;
    c->c_srv->sv_stats.st_bytes_out += c->c_out_bytes;
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
    request_reset(c);
    if (c->c_bev != NULL)
        bufferevent_free(c->c_bev);
    if (c->c_reqp != NULL)
        http_parser_free(c->c_reqp);
    if (c->c_body != NULL)
        evbuffer_free(c->c_body);
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

/* Stop everything now: no more bytes reach the client. Used when a
 * response cannot be completed truthfully (truncated upstream body). The
 * client sees a connection reset, never a short body that looks whole. */
static void
conn_abort(struct conn *c, const char *reason)
{
    if (c->c_state == CONN_DEAD)
        return;
    log_info("conn %llu %s: aborted: %s", (unsigned long long)c->c_id,
             c->c_peer, reason);
    if (c->c_req != NULL && c->c_state != CONN_CLOSING) {
        if (c->c_plan == NULL || strcmp(c->c_plan, "pass") == 0)
            c->c_plan = "aborted";
        access_log(c);
    }
    up_free(c);
    if (c->c_bev != NULL) {
        /* The peer gets a RST, not a clean FIN. */
        plat_socket_abort(bufferevent_getfd(c->c_bev));
        bufferevent_disable(c->c_bev, EV_READ | EV_WRITE);
    }
    conn_schedule_free(c);
}

/* Close after the pending output is flushed (bounded by a timer). */
static void
conn_close(struct conn *c, const char *reason)
{
    if (conn_gone(c))
        return;
    log_debug("conn %llu %s: close: %s", (unsigned long long)c->c_id,
              c->c_peer, reason);
    up_free(c);
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
    struct hdr_list h;
    char body[512], num[32];
    size_t hlen;
    char *head;

    if (conn_gone(c))
        return;
    if (c->c_head_sent) {
        conn_abort(c, reason);
        return;
    }
    if (c->c_reqid[0] == '\0')
        new_reqid(c->c_reqid);
    up_free(c);
    c->c_srv->sv_stats.st_errors++;
    log_info("conn %llu %s: req %s: %d %s", (unsigned long long)c->c_id,
             c->c_peer, c->c_reqid, status, reason);
    int n = snprintf(body, sizeof(body), "wsus-shim: %d %s: %s\nrequest id: %s\n",
                     status, relay_reason(status), reason, c->c_reqid);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)strlen(body);
    /* Only a fully read, well-formed request leaves the connection in a
     * state where the next request can be found. */
    c->c_keep = c->c_keep && c->c_req_done && !c->c_srv->sv_draining &&
                !c->c_client_eof;
    hdr_init(&h);
    snprintf(num, sizeof(num), "%d", n);
    hdr_add(&h, "Content-Type", "text/plain; charset=utf-8");
    hdr_add(&h, "Content-Length", num);
    hdr_add(&h, "X-Wsus-Shim-Request-Id", c->c_reqid);
    if (status == 405)
        hdr_add(&h, "Allow", "GET, HEAD, POST, CONNECT");
    if (status == 407 && c->c_err_auth != NULL)
        hdr_add(&h, "Proxy-Authenticate", c->c_err_auth);
    if (!c->c_keep)
        hdr_add(&h, "Connection", "close");
    head = relay_head_serialize(1, status, NULL, &h, &hlen);
    hdr_free(&h);
    if (head != NULL) {
        conn_out(c, head, hlen);
        free(head);
    }
    if (c->c_req == NULL || !c->c_req->hm_is_head)
        conn_out(c, body, (size_t)n);
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
    c->c_err_reason = c->c_err_buf;
}

/* Act on a recorded verdict. Returns 1 if there was one. */
static int
conn_verdict_apply(struct conn *c)
{
    char why[sizeof(c->c_err_buf)];

    if (c->c_err_status == 0)
        return 0;
    snprintf(why, sizeof(why), "%s", c->c_err_reason);
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
    c->c_body_fd = -1;
    c->c_hop = -1;
    c->c_plan = "pass";
    c->c_id = ++sv->sv_next_id;
    if (plat_sockaddr_str(sa, c->c_peer, sizeof(c->c_peer)) == -1)
        snprintf(c->c_peer, sizeof(c->c_peer), "?");
    c->c_lim.hl_max_head = c->c_cfg->sc_max_header_bytes;
    c->c_lim.hl_max_headers = c->c_cfg->sc_max_headers;
    c->c_lim.hl_max_uri = c->c_cfg->sc_max_uri;
    c->c_lim.hl_max_body = c->c_cfg->sc_max_body;

    evutil_make_socket_nonblocking(fd);
    c->c_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->c_tmo = evtimer_new(base, conn_timeout_cb, c);
    c->c_kick = event_new(base, -1, 0, conn_kick_cb, c);
    c->c_reaper = event_new(base, -1, 0, conn_reaper_cb, c);
    c->c_body = evbuffer_new();
    c->c_reqp = http_parser_new(HTTP_KIND_REQUEST, &c->c_lim, &req_cb, c);
    /* Link first: conn_free unlinks and counts the connection as gone. */
    c->c_next = sv->sv_conns;
    if (sv->sv_conns != NULL)
        sv->sv_conns->c_prev = c;
    sv->sv_conns = c;
    sv->sv_nconns++;
    if (c->c_bev == NULL || c->c_tmo == NULL || c->c_kick == NULL ||
        c->c_reaper == NULL || c->c_body == NULL || c->c_reqp == NULL) {
        log_warnx("conn: out of memory");
        if (c->c_bev == NULL)
            evutil_closesocket(fd);
        conn_free(c);
        return -1;
    }
    request_reset(c);
    bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb,
                      c);
    /* Read at most this much ahead while a request is being answered. */
    bufferevent_setwatermark(c->c_bev, EV_READ, 0,
                             c->c_cfg->sc_max_header_bytes + 16384);
    bufferevent_setwatermark(c->c_bev, EV_WRITE, RELAY_LOW_MARK, 0);
    bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
    c->c_state = CONN_READ_HEAD;
    /* Until its first byte the connection is idle; header_timeout starts
     * with that byte. */
    conn_arm(c, c->c_cfg->sc_idle_timeout_ms);
    log_debug("conn %llu %s: accepted", (unsigned long long)c->c_id,
              c->c_peer);
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
    /* Backpressure: the client drained below the low mark. */
    if (c->c_up_paused && left <= RELAY_LOW_MARK && c->c_ubev != NULL) {
        c->c_up_paused = 0;
        bufferevent_enable(c->c_ubev, EV_READ);
    }
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (c->c_state == CONN_DEAD)
        return;
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
            conn_close(c, "idle timeout");
            return;
        }
        c->c_keep = 0;
        conn_error(c, 408, "request header not received in time");
        break;
    case CONN_READ_BODY:
        c->c_keep = 0;
        conn_error(c, 408, "request body not received in time");
        break;
    case CONN_CONNECTING:
        c->c_timed_out = 1;
        upstream_failed(c->c_cfgr->cr_up, c->c_hop, plat_monotonic_ms());
        log_warnx("req %s: connect to %s timed out", c->c_reqid,
                  upstream_label(c->c_cfgr->cr_up, c->c_hop));
        up_free(c);
        conn_connect_next(c);
        break;
    case CONN_WAIT_RESPONSE:
        upstream_failed(c->c_cfgr->cr_up, c->c_hop, plat_monotonic_ms());
        conn_error(c, 504, "upstream did not answer in time");
        break;
    case CONN_RELAY:
        conn_abort(c, "upstream body stalled");
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
            /* First byte of a new request. */
            conn_arm(c, c->c_cfg->sc_header_timeout_ms);
            c->c_t0 = plat_monotonic_ms();
            new_reqid(c->c_reqid);
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

static int
method_allowed(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "POST") == 0 || strcmp(m, "CONNECT") == 0;
}

static int
port_allowed(const struct shim_config *cfg, uint16_t port)
{
    for (size_t i = 0; i < cfg->sc_nconnect_ports; i++)
        if (cfg->sc_connect_ports[i] == port)
            return 1;
    return 0;
}

/* Refuse the request. Without a body the request is complete and the
 * connection can stay open; with one, answer at once and close. */
static int
req_deny(struct conn *c, const struct http_msg *m, int status,
         const char *why)
{
    conn_verdict(c, status, why);
    if (m->hm_chunked || (m->hm_has_length && m->hm_length > 0))
        return -1;
    return 0;
}

static int
req_on_head(void *arg, struct http_msg *m)
{
    struct conn *c = arg;
    const char *why = NULL;

    c->c_req = m;
    c->c_keep = m->hm_keep_alive && !c->c_srv->sv_draining;
    if (!method_allowed(m->hm_method))
        return req_deny(c, m, 405, "method not allowed through this proxy");
    if (req_target_parse(m->hm_target, m->hm_is_connect,
                         hdr_get(&m->hm_hdrs, "Host"), &c->c_tgt,
                         &why) == -1) {
        c->c_keep = 0;
        return req_deny(c, m, 400, why ? why : "bad request target");
    }
    c->c_have_tgt = 1;
    char url[4096];
    if (m->hm_is_connect) {
        if (req_target_authority(&c->c_tgt, 0, url, sizeof(url)) == 0)
            c->c_url = strdup(url);
    } else if (req_target_url(&c->c_tgt, url, sizeof(url)) == 0) {
        c->c_url = strdup(url);
    }
    if (m->hm_expect_other)
        return req_deny(c, m, 417, "unsupported Expect");
    /* Requests addressed to the shim itself. */
    if (!c->c_tgt.rt_absolute && !m->hm_is_connect) {
        if (strcmp(c->c_tgt.rt_path, "/status") != 0) {
            c->c_keep = 0;
            return req_deny(c, m, 400,
                            "not a proxy request (absolute URL expected)");
        }
        c->c_local = 1;
    } else if (strcmp(c->c_tgt.rt_host, SHIM_STATUS_HOST) == 0) {
        c->c_local = 1;
    }
    if (!c->c_local) {
        if (!pattern_list_match(&c->c_cfg->sc_allow_hosts,
                                c->c_tgt.rt_host)) {
            c->c_plan = "denied";
            return req_deny(c, m, 403, "destination host not in allow_hosts");
        }
        if (m->hm_is_connect && !port_allowed(c->c_cfg, c->c_tgt.rt_port)) {
            c->c_plan = "denied";
            c->c_keep = 0;
            return req_deny(c, m, 403, "CONNECT port not in connect_ports");
        }
    }
    if (m->hm_chunked || (m->hm_has_length && m->hm_length > 0)) {
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
    if (c->c_body_fd == -1 &&
        c->c_body_len + n <= c->c_cfg->sc_body_memory) {
        if (evbuffer_add(c->c_body, p, n) == -1)
            goto fail;
    } else {
        if (c->c_body_fd == -1) {
            /* Above the memory threshold: move to a spool file. */
            c->c_body_fd = plat_tmpfile(NULL);
            if (c->c_body_fd == -1)
                goto fail;
            size_t have = evbuffer_get_length(c->c_body);
            const void *mem = evbuffer_pullup(c->c_body, (ev_ssize_t)have);
            if (have > 0 && plat_pwrite_all(c->c_body_fd, mem, have, 0) == -1)
                goto fail;
            evbuffer_drain(c->c_body, have);
        }
        if (plat_pwrite_all(c->c_body_fd, p, n, c->c_body_len) == -1)
            goto fail;
    }
    c->c_body_len += n;
    return 0;
fail:
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
    struct hdr_list h;
    char body[1024], num[32];
    const struct server_stats *st = &c->c_srv->sv_stats;
    size_t hlen;

    int n = snprintf(
        body, sizeof(body),
        "{\"version\":\"%s\",\"connections\":%u,\"requests\":%llu,"
        "\"errors\":%llu,\"tunnels\":%llu,\"bytes_out\":%llu,"
        "\"refused\":%llu}\n",
        WSUS_SHIM_VERSION, (unsigned)c->c_srv->sv_nconns,
        (unsigned long long)st->st_requests,
        (unsigned long long)st->st_errors,
        (unsigned long long)st->st_tunnels,
        (unsigned long long)st->st_bytes_out,
        (unsigned long long)st->st_refused);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = 0;
    hdr_init(&h);
    snprintf(num, sizeof(num), "%d", n);
    hdr_add(&h, "Content-Type", "application/json");
    hdr_add(&h, "Content-Length", num);
    hdr_add(&h, "Cache-Control", "no-store");
    if (!c->c_keep)
        hdr_add(&h, "Connection", "close");
    char *head = relay_head_serialize(1, 200, NULL, &h, &hlen);
    hdr_free(&h);
    if (head != NULL) {
        conn_out(c, head, hlen);
        free(head);
    }
    if (!c->c_req->hm_is_head)
        conn_out(c, body, (size_t)n);
    c->c_status = 200;
    c->c_plan = "status";
    c->c_head_sent = 1;
    conn_request_finish(c);
}

/* ---- upstream ---- */

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
    c->c_direct = upstream_is_direct(c->c_cfgr->cr_up, c->c_tgt.rt_host);
    if (m->hm_is_connect)
        c->c_plan = "tunnel";
    if (c->c_body_fd != -1) {
        c->c_body_seg = evbuffer_file_segment_new(
            c->c_body_fd, 0, (ev_off_t)c->c_body_len,
            EVBUF_FS_CLOSE_ON_FREE);
        if (c->c_body_seg == NULL) {
            conn_error(c, 500, "cannot read the spooled request body");
            return;
        }
    }
    c->c_hop = -1;
    conn_connect_next(c);
}

/* Build the request head for the current hop. Returns 0 or -1. */
static int
conn_build_upstream_head(struct conn *c)
{
    const struct shim_config *cfg = c->c_cfg;
    struct norm_opts o;
    struct hdr_list h;
    char *line = NULL;
    const char *auth = c->c_direct ? NULL : upstream_auth(c->c_cfgr->cr_up);

    free(c->c_up_head);
    c->c_up_head = NULL;
    c->c_sent_auth = auth != NULL;
    if (c->c_req->hm_is_connect) {
        char authority[300], lbuf[400];
        if (req_target_authority(&c->c_tgt, 0, authority,
                                 sizeof(authority)) == -1)
            return -1;
        hdr_init(&h);
        snprintf(lbuf, sizeof(lbuf), "CONNECT %s HTTP/1.%d", authority,
                 cfg->sc_up_minor);
        hdr_add(&h, "Host", authority);
        if (auth != NULL)
            hdr_add(&h, "Proxy-Authorization", auth);
        else if (cfg->sc_pass_client_auth) {
            const char *pa = hdr_get(&c->c_req->hm_hdrs,
                                     "Proxy-Authorization");
            if (pa != NULL)
                hdr_add(&h, "Proxy-Authorization", pa);
        }
        const char *ua = hdr_get(&c->c_req->hm_hdrs, "User-Agent");
        if (ua != NULL)
            hdr_add(&h, "User-Agent", ua);
        c->c_up_head = relay_request_serialize(lbuf, &h, &c->c_up_head_len);
        hdr_free(&h);
        return c->c_up_head == NULL ? -1 : 0;
    }
    memset(&o, 0, sizeof(o));
    o.no_to_proxy = !c->c_direct;
    o.no_up_minor = cfg->sc_up_minor;
    o.no_proxy_auth = auth;
    o.no_pass_client_auth = cfg->sc_pass_client_auth;
    o.no_via = c->c_req->hm_minor >= 1 ? "1.1 wsus-shim" : "1.0 wsus-shim";
    o.no_identity = 1;
    o.no_has_body = c->c_body_len > 0 || c->c_req->hm_chunked ||
                    c->c_req->hm_has_length;
    o.no_body_len = c->c_body_len;
    hdr_init(&h);
    if (normalize_request(c->c_req, &c->c_tgt, &o, &line, &h) == -1) {
        hdr_free(&h);
        return -1;
    }
    c->c_up_head = relay_request_serialize(line, &h, &c->c_up_head_len);
    free(line);
    hdr_free(&h);
    return c->c_up_head == NULL ? -1 : 0;
}

/* Connect to the next hop: the origin when direct (once), else the next
 * parent in order. Answers 502/504 when none is left. */
static void
conn_connect_next(struct conn *c)
{
    struct upstream_hop hop;
    struct upstream_set *us = c->c_cfgr->cr_up;

    if (c->c_direct) {
        if (c->c_hop == -2) {
            conn_error(c, c->c_timed_out ? 504 : 502,
                       c->c_timed_out ? "origin connect timed out"
                                      : "cannot connect to the origin");
            return;
        }
        c->c_hop = -2; /* tried */
        hop.uh_index = -1;
        hop.uh_host = c->c_tgt.rt_host;
        hop.uh_port = c->c_tgt.rt_port;
    } else {
        int next = upstream_next(us, c->c_hop, plat_monotonic_ms());
        if (next == -1) {
            conn_error(c, c->c_timed_out ? 504 : 502,
                       c->c_timed_out ? "every upstream proxy timed out"
                                      : "no upstream proxy could be reached");
            return;
        }
        c->c_hop = next;
        upstream_hop_parent(us, next, &hop);
    }
    if (conn_build_upstream_head(c) == -1) {
        conn_error(c, 500, "out of memory");
        return;
    }
    c->c_respp = http_parser_new(HTTP_KIND_RESPONSE, &resp_limits, &resp_cb,
                                 c);
    c->c_ubev = bufferevent_socket_new(c->c_srv->sv_base, -1,
                                       BEV_OPT_CLOSE_ON_FREE);
    if (c->c_respp == NULL || c->c_ubev == NULL) {
        conn_error(c, 500, "out of memory");
        return;
    }
    if (c->c_req->hm_is_head)
        http_parser_set_no_body(c->c_respp);
    else if (c->c_req->hm_is_connect)
        http_parser_set_connect(c->c_respp);
    c->c_resp_bytes = c->c_connected = 0;
    bufferevent_setcb(c->c_ubev, up_read_cb, NULL, up_event_cb, c);
    bufferevent_setwatermark(c->c_ubev, EV_READ, 0, RELAY_HIGH_MARK);
    /* A direct CONNECT sends nothing of its own: the tunnel starts once
     * the TCP connection is up. */
    if (!(c->c_direct && c->c_req->hm_is_connect))
        evbuffer_add(bufferevent_get_output(c->c_ubev), c->c_up_head,
                     c->c_up_head_len);
    if (c->c_body_seg != NULL)
        evbuffer_add_file_segment(bufferevent_get_output(c->c_ubev),
                                  c->c_body_seg, 0, (ev_off_t)c->c_body_len);
    else if (c->c_body_len > 0)
        evbuffer_add_buffer_reference(bufferevent_get_output(c->c_ubev),
                                      c->c_body);
    bufferevent_enable(c->c_ubev, EV_READ | EV_WRITE);
    c->c_state = CONN_CONNECTING;
    conn_arm(c, c->c_cfg->sc_connect_timeout_ms);
    log_debug("req %s: %s %s via %s", c->c_reqid, c->c_req->hm_method,
              c->c_url ? c->c_url : "?", upstream_label(us, c->c_hop));
    /* Resolution of numeric hosts completes at once; names go through
     * evdns without blocking. */
    unsigned gen = ++c->c_up_gen;
    if (bufferevent_socket_connect_hostname(c->c_ubev, c->c_srv->sv_dns,
                                            AF_UNSPEC, hop.uh_host,
                                            hop.uh_port) == -1) {
        /* The event callback may already have run and moved on. */
        if (gen == c->c_up_gen && !conn_gone(c) && c->c_ubev != NULL &&
            !c->c_connected) {
            up_free(c);
            upstream_failed(us, c->c_hop, plat_monotonic_ms());
            conn_connect_next(c);
        }
    }
}

static void
conn_start_tunnel(struct conn *c)
{
    struct tunnel_info ti;
    struct bufferevent *cb = c->c_bev, *ub = c->c_ubev;
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

    conn_out(c, ok, sizeof(ok) - 1);
    c->c_status = 200;
    c->c_head_sent = 1;
    memset(&ti, 0, sizeof(ti));
    ti.ti_client = c->c_peer;
    ti.ti_target = c->c_url ? c->c_url : "-";
    ti.ti_upstream = upstream_label(c->c_cfgr->cr_up, c->c_hop);
    ti.ti_reqid = c->c_reqid;
    ti.ti_t0_ms = c->c_t0;
    ti.ti_bytes_in = c->c_in_bytes;
    ti.ti_idle_ms = c->c_cfg->sc_idle_timeout_ms;
    /* The tunnel takes both sockets; this connection object ends here
     * without a log line of its own (the tunnel writes it). */
    c->c_bev = NULL;
    c->c_ubev = NULL;
    c->c_req = NULL;
    c->c_srv->sv_stats.st_tunnels++;
    tunnel_start(c->c_srv, cb, ub, &ti);
    conn_schedule_free(c);
}

/* May the request be sent again to another parent after one closed
 * without answering? Only methods that are safe to repeat. */
static int
req_idempotent(const struct http_msg *m)
{
    return strcmp(m->hm_method, "GET") == 0 || m->hm_is_head;
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct upstream_set *us = c->c_cfgr->cr_up;

    (void)bev;
    if (conn_gone(c))
        return;
    if (what & BEV_EVENT_CONNECTED) {
        c->c_connected = 1;
        c->c_state = CONN_WAIT_RESPONSE;
        if (c->c_direct && c->c_req->hm_is_connect) {
            conn_start_tunnel(c);
            return;
        }
        conn_arm(c, c->c_cfg->sc_first_byte_ms);
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;

    if (!c->c_connected) {
        int dnserr = bufferevent_socket_get_dns_error(bev);
        if (dnserr != 0)
            log_warnx("req %s: cannot resolve %s: %s", c->c_reqid,
                      c->c_direct ? c->c_tgt.rt_host
                                  : upstream_label(us, c->c_hop),
                      evutil_gai_strerror(dnserr));
        else
            log_warnx("req %s: cannot connect to %s", c->c_reqid,
                      c->c_direct ? c->c_tgt.rt_host
                                  : upstream_label(us, c->c_hop));
        upstream_failed(us, c->c_hop, plat_monotonic_ms());
        up_free(c);
        if (c->c_direct && dnserr != 0) {
            conn_error(c, 502, "cannot resolve the destination host");
            return;
        }
        conn_connect_next(c);
        return;
    }

    if (what & BEV_EVENT_EOF) {
        /* Feed whatever is still buffered first. */
        up_read_cb(c->c_ubev, c);
        if (conn_gone(c) || c->c_ubev == NULL)
            return;
        enum http_rc rc = http_parser_eof(c->c_respp);
        if (rc == HTTP_DONE) {
            /* resp_on_done ran: the close-delimited body is complete. */
            if (!conn_gone(c) && c->c_resp_done)
                conn_request_finish(c);
            return;
        }
        if (rc == HTTP_MORE && !c->c_resp_bytes) {
            /* Closed before answering: a dead or overloaded parent. */
            upstream_failed(us, c->c_hop, plat_monotonic_ms());
            up_free(c);
            if (!c->c_direct && req_idempotent(c->c_req)) {
                log_warnx("req %s: %s closed without answering; failing "
                          "over", c->c_reqid, upstream_label(us, c->c_hop));
                conn_connect_next(c);
                return;
            }
            conn_error(c, 502, "upstream closed the connection without "
                               "answering");
            return;
        }
        if (c->c_head_sent)
            conn_abort(c, "upstream closed before the end of the body");
        else
            conn_error(c, 502, "upstream closed in the middle of the "
                               "response");
        return;
    }
    /* BEV_EVENT_ERROR after connect: reset by the upstream. */
    if (c->c_head_sent) {
        conn_abort(c, "upstream connection reset during the body");
    } else if (!c->c_resp_bytes && !c->c_direct &&
               req_idempotent(c->c_req)) {
        upstream_failed(us, c->c_hop, plat_monotonic_ms());
        up_free(c);
        conn_connect_next(c);
    } else {
        conn_error(c, 502, "upstream connection reset");
    }
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!conn_gone(c) && c->c_ubev != NULL && !c->c_resp_done) {
        size_t len = evbuffer_get_contiguous_space(in);
        if (len == 0)
            break;
        if (!c->c_resp_bytes) {
            c->c_resp_bytes = 1;
            if (c->c_state == CONN_CONNECTING)
                c->c_state = CONN_WAIT_RESPONSE;
        }
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        size_t used = 0;
        enum http_rc rc = http_parser_feed(c->c_respp, p, len, &used);
        if (conn_gone(c) || c->c_ubev == NULL)
            return;
        evbuffer_drain(in, used);
        if (rc == HTTP_MORE)
            continue;
        if (rc == HTTP_ABORTED) {
            if (!conn_verdict_apply(c))
                conn_abort(c, "response aborted");
            return;
        }
        if (rc == HTTP_BAD) {
            const char *why = "invalid response";
            http_parser_error(c->c_respp, &why);
            log_warnx("req %s: bad response from %s: %s", c->c_reqid,
                      upstream_label(c->c_cfgr->cr_up, c->c_hop), why);
            if (c->c_head_sent)
                conn_abort(c, "invalid response body from upstream");
            else
                conn_error(c, 502, "invalid response from upstream");
            return;
        }
        /* HTTP_DONE */
        if (c->c_interim) {
            c->c_interim = 0;
            http_parser_next(c->c_respp);
            if (c->c_req->hm_is_head)
                http_parser_set_no_body(c->c_respp);
            else if (c->c_req->hm_is_connect)
                http_parser_set_connect(c->c_respp);
            continue;
        }
        if (c->c_req->hm_is_connect) {
            /* Leftover bytes stay in the upstream input: the tunnel
             * passes them on. */
            conn_start_tunnel(c);
            return;
        }
        conn_request_finish(c);
        return;
    }
}

static int
resp_on_head(void *arg, struct http_msg *m)
{
    struct conn *c = arg;
    struct hdr_list out;
    size_t hlen;

    if (m->hm_status >= 100 && m->hm_status < 200) {
        c->c_interim = 1;
        return 0;
    }
    c->c_resp = m;
    upstream_succeeded(c->c_cfgr->cr_up, c->c_hop);
    if (m->hm_status == 407 && c->c_sent_auth) {
        log_warnx("req %s: %s refused the configured credentials (407)",
                  c->c_reqid, upstream_label(c->c_cfgr->cr_up, c->c_hop));
        conn_verdict(c, 502, "the upstream proxy refused the configured "
                             "credentials (407)");
        return -1;
    }
    if (c->c_req->hm_is_connect) {
        if (m->hm_status / 100 == 2)
            return 0;
        char why[128];
        c->c_keep = 0;
        /* A 407 with no configured credentials goes back to the client
         * with its challenge, so the client can authenticate itself. */
        if (m->hm_status == 407) {
            const char *ch = hdr_get(&m->hm_hdrs, "Proxy-Authenticate");
            if (ch != NULL)
                c->c_err_auth = strdup(ch);
            conn_verdict(c, 407, "the upstream proxy wants credentials");
            return -1;
        }
        snprintf(why, sizeof(why), "upstream refused CONNECT: %d",
                 m->hm_status);
        conn_verdict(c, 502, why);
        return -1;
    }
    hdr_init(&out);
    int keep_ok = c->c_keep && !c->c_srv->sv_draining && !c->c_client_eof;
    if (relay_plan(c->c_req, m, keep_ok, m->hm_status == 407,
                   &c->c_plan_out, &out) == -1) {
        hdr_free(&out);
        conn_verdict(c, 500, "out of memory");
        return -1;
    }
    c->c_keep = c->c_plan_out.rp_keep_alive;
    /* Our own version, whatever the client's (RFC 9110 6.2). */
    char *head = relay_head_serialize(1, m->hm_status, m->hm_reason, &out,
                                      &hlen);
    hdr_free(&out);
    if (head == NULL) {
        conn_verdict(c, 500, "out of memory");
        return -1;
    }
    conn_out(c, head, hlen);
    free(head);
    c->c_head_sent = 1;
    c->c_status = m->hm_status;
    c->c_state = CONN_RELAY;
    conn_arm(c, c->c_cfg->sc_body_timeout_ms);
    return 0;
}

static int
resp_on_body(void *arg, const char *p, size_t n)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->c_bev);
    char hdr[32];

    if (n == 0)
        return 0;
    c->c_srv->sv_stats.st_bytes_up += n;
    switch (c->c_plan_out.rp_framing) {
    case OUT_NONE:
        return 0;
    case OUT_CHUNKED: {
        int k = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        conn_out(c, hdr, (size_t)k);
        conn_out(c, p, n);
        conn_out(c, "\r\n", 2);
        break;
    }
    case OUT_LENGTH:
    case OUT_CLOSE:
        conn_out(c, p, n);
        break;
    }
    conn_arm(c, c->c_cfg->sc_body_timeout_ms);
    if (!c->c_up_paused && evbuffer_get_length(out) > RELAY_HIGH_MARK) {
        c->c_up_paused = 1;
        bufferevent_disable(c->c_ubev, EV_READ);
    }
    return 0;
}

static int
resp_on_done(void *arg)
{
    struct conn *c = arg;

    if (c->c_interim)
        return 0;
    c->c_resp_done = 1;
    if (c->c_plan_out.rp_framing == OUT_CHUNKED)
        conn_out(c, "0\r\n\r\n", 5);
    return 0;
}

/* The current request is answered (its last byte is queued): log it,
 * then close or go back to reading the next request. */
static void
conn_request_finish(struct conn *c)
{
    if (conn_gone(c))
        return;
    access_log(c);
    int keep = c->c_keep && c->c_req_done && !c->c_srv->sv_draining &&
               c->c_plan_out.rp_framing != OUT_CLOSE;
    request_reset(c);
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
    conn_arm(c, c->c_cfg->sc_idle_timeout_ms);
    bufferevent_enable(c->c_bev, EV_READ);
    if (evbuffer_get_length(in) > 0)
        event_active(c->c_kick, EV_TIMEOUT, 0);
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
