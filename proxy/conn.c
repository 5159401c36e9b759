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
 * Only this file assigns c_state. A connection ends in exactly one call to
 * conn_close() or conn_abort(), each given a reason; the struct is freed
 * from a deferred event, never from inside a callback that still uses it.
 * Decisions reached inside a parser callback are recorded as a verdict
 * and acted on once the parser has returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "cache.h"
#include "conn.h"
#include "fetch.h"
#include "fill.h"
#include "http_msg.h"
#include "shim_limits.h"
#include "log.h"
#include "normalize.h"
#include "plat.h"
#include "range.h"
#include "relay.h"
#include "server.h"
#include "tunnel.h"
#include "upstream.h"

enum conn_state {
    CONN_READ_HEAD = 0, /* waiting for or parsing a request head */
    CONN_READ_BODY,     /* collecting the request body */
    CONN_UPSTREAM,      /* fetch under way, no response head sent */
    CONN_RELAY,         /* streaming the fetch's response body */
    CONN_SERVE,         /* answering from the cache or a fill */
    CONN_CLOSING,       /* flushing the last bytes, then free */
    CONN_DEAD,          /* freed from the reaper event */
};

/* Why a fetch callback stopped the exchange. */
enum conn_stop {
    STOP_NONE = 0,
    STOP_VERDICT,   /* answer with c_err_status */
    STOP_SLICE,     /* the wanted range is complete */
    STOP_SYNTH,     /* HEAD without a length: learn it through a fill */
};

#define SHIM_STATUS_HOST "wsus-shim.local"
#define PUMP_CHUNK (256u * 1024)

struct conn {
    struct conn *c_next;
    struct conn *c_prev;
    struct server *c_srv;
    struct cfg_ref *c_cfgr;
    const struct shim_config *c_cfg;
    enum conn_state c_state;
    struct bufferevent *c_bev;
    struct event *c_tmo;    /* the timer of the current state */
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
    const char *c_upstream; /* for the log; NULL: the fetch's or "-" */
    int c_keep;      /* keep the client connection after this response */
    int c_req_done;  /* the whole request (head and body) has been read */
    int c_local;     /* answered by the shim itself */
    int c_no_cache;  /* the range engine declined: plain pass-through */
    int c_err_status;
    char c_err_buf[160];
    char *c_err_auth; /* Proxy-Authenticate to pass with a 407 */

    /* Request body, spooled: memory up to body_memory, then a file. */
    struct evbuffer *c_body;
    int c_body_fd;
    uint64_t c_body_len;
    struct evbuffer_file_segment *c_body_seg;

    /* Pass/slice through a fetch. */
    struct fetch *c_fetch;
    char c_fetch_up[300];
    enum conn_stop c_stop;
    uint64_t c_skip;      /* body bytes to discard before sending */
    uint64_t c_take;      /* body bytes still to send; UINT64_MAX: all */
    int c_paused;

    /* Serving an entity from the cache or a fill. */
    struct fill *c_fill;
    struct fill_watch c_watch;
    int c_watching;
    uint64_t c_pos;       /* next entity byte to queue */
    uint64_t c_end;       /* one past the last byte to queue */

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
static void conn_start_pass(struct conn *c);
static void conn_join_fill(struct conn *c, const char *plan);
static void conn_pump(struct conn *c);
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
conn_unfill(struct conn *c)
{
    if (c->c_fill != NULL && c->c_watching)
        fill_unwatch(c->c_fill, &c->c_watch);
    c->c_fill = NULL;
    c->c_watching = 0;
}

static void
conn_unfetch(struct conn *c)
{
    if (c->c_fetch != NULL) {
        snprintf(c->c_fetch_up, sizeof(c->c_fetch_up), "%s",
                 fetch_upstream(c->c_fetch));
        fetch_free(c->c_fetch);
        c->c_fetch = NULL;
    }
    c->c_paused = 0;
}

static void
request_reset(struct conn *c)
{
    conn_unfetch(c);
    conn_unfill(c);
    if (c->c_have_tgt)
        req_target_free(&c->c_tgt);
    c->c_have_tgt = 0;
    free(c->c_url);
    c->c_url = NULL;
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
    c->c_upstream = NULL;
    c->c_fetch_up[0] = '\0';
    c->c_req_done = c->c_local = c->c_no_cache = 0;
    c->c_stop = STOP_NONE;
    c->c_skip = 0;
    c->c_take = UINT64_MAX;
    c->c_pos = c->c_end = 0;
    c->c_head_sent = 0;
    c->c_err_status = 0;
    free(c->c_err_auth);
    c->c_err_auth = NULL;
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
    if (c->c_upstream != NULL)
        r.ar_upstream = c->c_upstream;
    else if (c->c_fetch != NULL)
        r.ar_upstream = fetch_upstream(c->c_fetch);
    else if (c->c_fetch_up[0] != '\0')
        r.ar_upstream = c->c_fetch_up;
    else
        r.ar_upstream = "-";
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
        access_log(c);
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
    log_debug("conn %llu %s: close: %s", (unsigned long long)c->c_id,
              c->c_peer, reason);
    conn_unfetch(c);
    conn_unfill(c);
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
    conn_unfetch(c);
    conn_unfill(c);
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
    c->c_stop = STOP_VERDICT;
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
    c->c_body_fd = -1;
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
    bufferevent_set_max_single_write(c->c_bev, RELAY_IO_CHUNK);
    /* A client that stops reading for body_timeout is dropped. */
    struct timeval wto = {(time_t)(c->c_cfg->sc_body_timeout_ms / 1000),
                          (long)(c->c_cfg->sc_body_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->c_bev, NULL, &wto);
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
    if (left > RELAY_LOW_MARK)
        return;
    /* Backpressure: the client drained below the low mark. */
    if (c->c_paused && c->c_fetch != NULL) {
        c->c_paused = 0;
        fetch_pause(c->c_fetch, 0);
    }
    if (c->c_state == CONN_SERVE && c->c_head_sent)
        conn_pump(c);
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
    char body[2048], num[32];
    const struct server_stats *st = &c->c_srv->sv_stats;
    struct cache_stats cs;
    size_t hlen;

    memset(&cs, 0, sizeof(cs));
    if (c->c_srv->sv_cache != NULL)
        cache_get_stats(c->c_srv->sv_cache, &cs);
    int n = snprintf(
        body, sizeof(body),
        "{\"version\":\"%s\",\"connections\":%u,\"requests\":%llu,"
        "\"errors\":%llu,\"tunnels\":%llu,\"bytes_out\":%llu,"
        "\"bytes_upstream\":%llu,\"refused\":%llu,"
        "\"cache\":{\"enabled\":%s,\"entries\":%llu,\"bytes\":%llu,"
        "\"hits\":%llu,\"misses\":%llu,\"fills\":%llu,"
        "\"rejected\":%llu,\"evictions\":%llu,\"corrupt\":%llu}}\n",
        WSUS_SHIM_VERSION, (unsigned)c->c_srv->sv_nconns,
        (unsigned long long)st->st_requests,
        (unsigned long long)st->st_errors,
        (unsigned long long)st->st_tunnels,
        (unsigned long long)st->st_bytes_out,
        (unsigned long long)st->st_bytes_up,
        (unsigned long long)st->st_refused,
        c->c_srv->sv_cache != NULL ? "true" : "false",
        (unsigned long long)cs.cs_entries, (unsigned long long)cs.cs_bytes,
        (unsigned long long)cs.cs_hits, (unsigned long long)cs.cs_misses,
        (unsigned long long)cs.cs_fills, (unsigned long long)cs.cs_rejected,
        (unsigned long long)cs.cs_evictions,
        (unsigned long long)cs.cs_corrupt);
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

/* ---- serving an entity from the cache or a fill ---- */

/* Send the head for an entity of known length and set the byte window.
 * Returns 0, or -1 after answering an error. */
static int
conn_entity_head(struct conn *c, const struct cache_meta *meta, uint64_t total)
{
    struct hdr_list out;
    int status;
    uint64_t first, len;
    size_t hlen;
    int keep_ok = c->c_keep && !c->c_srv->sv_draining && !c->c_client_eof;

    hdr_init(&out);
    if (relay_plan_entity(c->c_req, meta, total, keep_ok, &status, &first,
                          &len, &c->c_plan_out, &out) == -1) {
        hdr_free(&out);
        conn_error(c, 500, "out of memory");
        return -1;
    }
    char *head = relay_head_serialize(1, status, NULL, &out, &hlen);
    hdr_free(&out);
    if (head == NULL) {
        conn_error(c, 500, "out of memory");
        return -1;
    }
    conn_out(c, head, hlen);
    free(head);
    c->c_keep = c->c_plan_out.rp_keep_alive;
    c->c_head_sent = 1;
    c->c_status = status;
    c->c_pos = first;
    c->c_end = c->c_req->hm_is_head ? first : first + len;
    return 0;
}

/* Queue entity bytes while the client keeps up; finish at the end. */
static void
conn_pump(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->c_bev);

    while (c->c_pos < c->c_end &&
           evbuffer_get_length(out) < RELAY_HIGH_MARK) {
        uint64_t avail = fill_available(c->c_fill);
        int fd = fill_fd(c->c_fill);
        if (fd == -1 || avail <= c->c_pos)
            return; /* more comes with FILL_EV_DATA/DONE */
        uint64_t stop = avail < c->c_end ? avail : c->c_end;
        size_t n = stop - c->c_pos > PUMP_CHUNK ? PUMP_CHUNK
                                                : (size_t)(stop - c->c_pos);
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1) {
            conn_abort(c, "out of memory");
            return;
        }
        if (v.iov_len < n)
            n = v.iov_len;
        int64_t got = plat_pread(fd, v.iov_base, n, c->c_pos);
        if (got <= 0) {
            log_warn("req %s: reading the cache file", c->c_reqid);
            conn_abort(c, "cache read failed");
            return;
        }
        v.iov_len = (size_t)got;
        evbuffer_commit_space(out, &v, 1);
        c->c_pos += (uint64_t)got;
        c->c_out_bytes += (uint64_t)got;
    }
    if (c->c_pos >= c->c_end) {
        conn_unfill(c);
        conn_request_finish(c);
    }
}

static void
conn_fill_cb(void *arg, enum fill_event ev)
{
    struct conn *c = arg;
    struct fill *f = c->c_fill;
    uint64_t total;

    if (conn_gone(c) || f == NULL)
        return;
    if (ev == FILL_EV_FAIL) {
        const char *why;
        int use_pass;
        int status = fill_error(f, &why, &use_pass);
        char reason[160];
        snprintf(reason, sizeof(reason), "%s", why);
        c->c_upstream = NULL;
        snprintf(c->c_fetch_up, sizeof(c->c_fetch_up), "%s",
                 fill_upstream(f));
        conn_unfill(c);
        if (c->c_head_sent) {
            conn_abort(c, reason);
        } else if (use_pass) {
            /* Not a cacheable answer (a 404, a redirect...): let the
             * client have the upstream's own answer. */
            c->c_no_cache = 1;
            c->c_plan = "pass";
            conn_start_pass(c);
        } else {
            conn_error(c, status, reason);
        }
        return;
    }
    if (!c->c_head_sent) {
        /* A length is needed for the head: with an upstream that gave
         * none, wait for the end of the fill. */
        if (!fill_has_head(f) || !fill_total(f, &total))
            return;
        snprintf(c->c_fetch_up, sizeof(c->c_fetch_up), "%s",
                 fill_upstream(f));
        if (conn_entity_head(c, fill_meta(f), total) == -1)
            return;
    }
    conn_pump(c);
}

/* Wait on the fill for this URL (starting one if none is under way). */
static void
conn_join_fill(struct conn *c, const char *plan)
{
    struct fill *f = fill_get(c->c_srv, c->c_cfgr, c->c_url, c->c_req,
                              &c->c_tgt, c->c_reqid);

    if (f == NULL) {
        conn_error(c, 500, "cannot start the cache fill");
        return;
    }
    c->c_plan = plan;
    c->c_fill = f;
    c->c_watch.fw_cb = conn_fill_cb;
    c->c_watch.fw_arg = c;
    c->c_watching = 1;
    c->c_state = CONN_SERVE;
    fill_watch(f, &c->c_watch);
}

/* Serve a committed cache entry (fd is owned by the caller's lookup). */
static void
conn_serve_hit(struct conn *c, const struct cache_meta *meta, int fd)
{
    c->c_plan = "cache-hit";
    c->c_upstream = "cache";
    c->c_state = CONN_SERVE;
    if (conn_entity_head(c, meta, meta->cm_length) == -1) {
        plat_close(fd);
        return;
    }
    if (c->c_end > c->c_pos) {
        /* sendfile straight from the cache file: no copy, no memory. */
        struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
            fd, 0, (ev_off_t)meta->cm_length, EVBUF_FS_CLOSE_ON_FREE);
        if (seg == NULL) {
            plat_close(fd);
            conn_abort(c, "cannot map the cache file");
            return;
        }
        int r = evbuffer_add_file_segment(bufferevent_get_output(c->c_bev),
                                          seg, (ev_off_t)c->c_pos,
                                          (ev_off_t)(c->c_end - c->c_pos));
        /* The buffer holds its own reference; on failure it took none. */
        evbuffer_file_segment_free(seg);
        if (r == -1) {
            /* The head promised these bytes: a cut, never a short body
             * that looks complete. */
            conn_abort(c, "cannot queue the cache file");
            return;
        }
        c->c_out_bytes += c->c_end - c->c_pos;
        c->c_pos = c->c_end;
    } else {
        plat_close(fd);
    }
    conn_request_finish(c);
}

/* ---- pass and slice through a fetch ---- */

/* Turn the response head toward the client into a 206 for [first, last]
 * of total. */
static int
head_as_partial(struct hdr_list *out, struct resp_plan *plan, uint64_t first,
                uint64_t last, uint64_t total)
{
    struct byte_range br = {first, last};
    char cr[RANGE_CONTENT_RANGE_LEN], num[32];

    if (range_content_range(&br, total, cr, sizeof(cr)) == -1)
        return -1;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)(last - first + 1));
    hdr_del(out, "Transfer-Encoding");
    if (hdr_set(out, "Content-Range", cr) == -1 ||
        hdr_set(out, "Content-Length", num) == -1 ||
        hdr_set(out, "Accept-Ranges", "bytes") == -1)
        return -1;
    plan->rp_framing = OUT_LENGTH;
    plan->rp_length = last - first + 1;
    return 0;
}

/* The client's Range resolved against total: 1 with *br when one range
 * applies, 0 when the whole entity applies, -1 when unsatisfiable. */
static int
client_range(const struct conn *c, uint64_t total, struct byte_range *br)
{
    struct range_set set;
    const char *rv = hdr_get(&c->c_req->hm_hdrs, "Range");

    if (rv == NULL || c->c_req->hm_is_head ||
        strcmp(c->c_req->hm_method, "GET") != 0 ||
        hdr_count(&c->c_req->hm_hdrs, "Range") != 1 ||
        range_parse(rv, &set) != RANGE_OK)
        return 0;
    switch (range_resolve(&set, total, br)) {
    case RESOLVE_PARTIAL:
        return 1;
    case RESOLVE_UNSATISFIABLE:
        return -1;
    default:
        return 0;
    }
}

static int
pass_on_head(void *arg, struct http_msg *m)
{
    struct conn *c = arg;
    struct hdr_list out;
    struct byte_range br;
    int status = m->hm_status;
    size_t hlen;

    if (c->c_req->hm_is_connect) {
        if (status / 100 == 2)
            return 0;
        c->c_keep = 0;
        if (status == 407 && !fetch_sent_auth(c->c_fetch)) {
            /* No credentials of ours: the client may authenticate. */
            const char *ch = hdr_get(&m->hm_hdrs, "Proxy-Authenticate");
            if (ch != NULL)
                c->c_err_auth = strdup(ch);
            conn_verdict(c, 407, "the upstream proxy wants credentials");
        } else {
            char why[96];
            snprintf(why, sizeof(why), "upstream refused CONNECT: %d",
                     status);
            conn_verdict(c, 502, why);
        }
        return -1;
    }
    if (status == 407 && fetch_sent_auth(c->c_fetch)) {
        conn_verdict(c, 502, "the upstream proxy refused the configured "
                             "credentials (407)");
        return -1;
    }
    if (c->c_req->hm_is_head && status == 200 && !m->hm_has_length &&
        c->c_cfg->sc_range_mode == RANGE_MODE_CACHE && c->c_srv->sv_cache) {
        c->c_stop = STOP_SYNTH;
        return -1;
    }

    hdr_init(&out);
    int keep_ok = c->c_keep && !c->c_srv->sv_draining && !c->c_client_eof;
    if (relay_plan(c->c_req, m, keep_ok, status == 407, &c->c_plan_out,
                   &out) == -1)
        goto nomem;

    if (status == 206 && hdr_get(&c->c_req->hm_hdrs, "Range") != NULL) {
        /* An upstream 206 passes only if it holds what was asked. */
        struct byte_range up;
        uint64_t total;
        int known;
        const char *cr = hdr_get(&m->hm_hdrs, "Content-Range");
        if (cr == NULL ||
            range_parse_content_range(cr, &up, &total, &known) == -1 ||
            !known || !m->hm_has_length ||
            m->hm_length != up.br_last - up.br_first + 1) {
            hdr_free(&out);
            conn_verdict(c, 502, "upstream sent a 206 without a valid "
                                 "Content-Range");
            return -1;
        }
        if (client_range(c, total, &br) != 1 || br.br_first < up.br_first ||
            br.br_last > up.br_last) {
            hdr_free(&out);
            conn_verdict(c, 502, "upstream sent a different range than "
                                 "asked");
            return -1;
        }
        c->c_skip = br.br_first - up.br_first;
        c->c_take = br.br_last - br.br_first + 1;
        if (head_as_partial(&out, &c->c_plan_out, br.br_first, br.br_last,
                            total) == -1)
            goto nomem;
    } else if (status == 200 && m->hm_has_length &&
               c->c_cfg->sc_range_mode == RANGE_MODE_SLICE) {
        int r = client_range(c, m->hm_length, &br);
        if (r == 1) {
            if (br.br_first > c->c_cfg->sc_slice_max_discard) {
                hdr_free(&out);
                conn_verdict(c, 502, "range starts beyond "
                                     "slice_max_discard");
                return -1;
            }
            c->c_plan = "slice";
            c->c_skip = br.br_first;
            c->c_take = br.br_last - br.br_first + 1;
            status = 206;
            if (head_as_partial(&out, &c->c_plan_out, br.br_first,
                                br.br_last, m->hm_length) == -1)
                goto nomem;
        } else if (r == -1) {
            char cr[RANGE_CONTENT_RANGE_LEN];
            c->c_plan = "slice";
            status = 416;
            c->c_take = 0;
            range_content_range_unsat(m->hm_length, cr, sizeof(cr));
            if (hdr_set(&out, "Content-Range", cr) == -1 ||
                hdr_set(&out, "Content-Length", "0") == -1)
                goto nomem;
            c->c_plan_out.rp_framing = OUT_LENGTH;
            c->c_plan_out.rp_length = 0;
        }
    }
    c->c_keep = c->c_plan_out.rp_keep_alive;
    /* Our own version, whatever the client's (RFC 9110 6.2). */
    char *head = relay_head_serialize(
        1, status, status == m->hm_status ? m->hm_reason : NULL, &out, &hlen);
    hdr_free(&out);
    if (head == NULL) {
        conn_verdict(c, 500, "out of memory");
        return -1;
    }
    conn_out(c, head, hlen);
    free(head);
    c->c_head_sent = 1;
    c->c_status = status;
    c->c_state = CONN_RELAY;
    if (c->c_take == 0) {
        c->c_stop = STOP_SLICE;
        return -1;
    }
    return 0;
nomem:
    hdr_free(&out);
    conn_verdict(c, 500, "out of memory");
    return -1;
}

static int
pass_on_body(void *arg, const char *p, size_t n)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->c_bev);
    char hdr[32];

    if (c->c_skip > 0) {
        size_t d = c->c_skip < n ? (size_t)c->c_skip : n;
        p += d;
        n -= d;
        c->c_skip -= d;
    }
    if (c->c_take != UINT64_MAX && n > c->c_take)
        n = (size_t)c->c_take;
    if (n == 0)
        return 0;
    if (c->c_take != UINT64_MAX)
        c->c_take -= n;
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
    if (c->c_take == 0) {
        /* The wanted range is complete: drop the rest of the body. */
        c->c_stop = STOP_SLICE;
        return -1;
    }
    if (!c->c_paused && evbuffer_get_length(out) > RELAY_HIGH_MARK) {
        c->c_paused = 1;
        fetch_pause(c->c_fetch, 1);
    }
    return 0;
}

static void
conn_start_tunnel(struct conn *c)
{
    struct tunnel_info ti;
    struct bufferevent *cb = c->c_bev;
    struct bufferevent *ub = fetch_take_bev(c->c_fetch);
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

    conn_out(c, ok, sizeof(ok) - 1);
    memset(&ti, 0, sizeof(ti));
    ti.ti_client = c->c_peer;
    ti.ti_target = c->c_url ? c->c_url : "-";
    ti.ti_upstream = fetch_upstream(c->c_fetch);
    ti.ti_reqid = c->c_reqid;
    ti.ti_t0_ms = c->c_t0;
    ti.ti_bytes_in = c->c_in_bytes;
    ti.ti_idle_ms = c->c_cfg->sc_idle_timeout_ms;
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
pass_on_done(void *arg)
{
    struct conn *c = arg;

    if (c->c_req->hm_is_connect) {
        conn_start_tunnel(c);
        return;
    }
    if (c->c_take != UINT64_MAX && c->c_take > 0) {
        conn_abort(c, "upstream body shorter than the range");
        return;
    }
    if (c->c_plan_out.rp_framing == OUT_CHUNKED)
        conn_out(c, "0\r\n\r\n", 5);
    conn_request_finish(c);
}

static void
pass_on_fail(void *arg, int status, const char *reason, int head_seen)
{
    struct conn *c = arg;
    char why[256];

    /* reason may live in the fetch, which the answer below frees. */
    if (reason != NULL) {
        snprintf(why, sizeof(why), "%s", reason);
        reason = why;
    }

    switch (c->c_stop) {
    case STOP_SLICE:
        conn_unfetch(c);
        conn_request_finish(c);
        return;
    case STOP_SYNTH:
        /* The upstream's HEAD had no length: learn it with a fill. */
        conn_unfetch(c);
        c->c_stop = STOP_NONE;
        conn_join_fill(c, "head-synth");
        return;
    case STOP_VERDICT:
        conn_verdict_apply(c);
        return;
    case STOP_NONE:
        break;
    }
    if (head_seen || c->c_head_sent)
        conn_abort(c, reason ? reason : "upstream failed mid-body");
    else
        conn_error(c, status ? status : 502,
                   reason ? reason : "upstream failed");
}

static const struct fetch_cb pass_cb = {pass_on_head, pass_on_body,
                                        pass_on_done, pass_on_fail};

static void
conn_start_pass(struct conn *c)
{
    struct fetch_req fr;

    memset(&fr, 0, sizeof(fr));
    fr.fr_req = c->c_req;
    fr.fr_tgt = &c->c_tgt;
    fr.fr_reqid = c->c_reqid;
    fr.fr_body = c->c_body_len > 0 && c->c_body_seg == NULL ? c->c_body : NULL;
    fr.fr_body_seg = c->c_body_seg;
    fr.fr_body_len = c->c_body_len;
    c->c_state = CONN_UPSTREAM;
    conn_arm(c, 0);
    c->c_fetch = fetch_start(c->c_srv, c->c_cfgr, &fr, &pass_cb, c);
    if (c->c_fetch == NULL)
        conn_error(c, 500, "out of memory");
}

/* ---- the plan ---- */

/* Should a GET go through the range engine's cache? Content URLs always
 * (they are immutable and named by their SHA-1), any ranged GET (the
 * upstream may ignore Range), and anything BITS asks (BITS must get a
 * length, which a close-delimiting upstream does not give). */
static int
wants_cache(const struct conn *c)
{
    const struct http_msg *m = c->c_req;
    const char *ua = hdr_get(&m->hm_hdrs, "User-Agent");
    char sha[41];

    if (c->c_no_cache || c->c_srv->sv_cache == NULL ||
        c->c_cfg->sc_range_mode != RANGE_MODE_CACHE ||
        strcmp(m->hm_method, "GET") != 0 || c->c_body_len > 0)
        return 0;
    return cache_url_sha1(c->c_url, sha) ||
           hdr_get(&m->hm_hdrs, "Range") != NULL ||
           (ua != NULL && strstr(ua, "BITS") != NULL);
}

/* Content URLs are named by their SHA-1 and never change: always fresh.
 * Anything else is fresh for [cache] unnamed_max_age. */
static int
cache_entry_fresh(const struct conn *c, const struct cache_meta *meta)
{
    struct timespec now;
    char sha[41];

    if (cache_url_sha1(c->c_url, sha))
        return 1;
    plat_clock_real(&now);
    return (int64_t)now.tv_sec - meta->cm_stored <
           (int64_t)(c->c_cfg->sc_unnamed_max_age_ms / 1000);
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
    if (c->c_body_fd != -1) {
        c->c_body_seg = evbuffer_file_segment_new(
            c->c_body_fd, 0, (ev_off_t)c->c_body_len,
            EVBUF_FS_CLOSE_ON_FREE);
        if (c->c_body_seg == NULL) {
            conn_error(c, 500, "cannot read the spooled request body");
            return;
        }
    }
    if (c->c_srv->sv_cache != NULL && c->c_url != NULL &&
        c->c_cfg->sc_range_mode == RANGE_MODE_CACHE &&
        (strcmp(m->hm_method, "GET") == 0 || m->hm_is_head)) {
        struct cache_meta meta;
        int fd;
        if (cache_lookup(c->c_srv->sv_cache, c->c_url, &meta, &fd) == 0) {
            if (cache_entry_fresh(c, &meta)) {
                conn_serve_hit(c, &meta, fd);
                return;
            }
            /* Stale: an unnamed entry past unnamed_max_age. */
            plat_close(fd);
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
