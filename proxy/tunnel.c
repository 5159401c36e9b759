/*
 * tunnel.c - the byte pump of an established CONNECT tunnel.
 *
 * Each direction reads from one bufferevent and writes to the other. When
 * the sink holds more than RELAY_HIGH_MARK, reading from the source stops;
 * the sink's write callback (at RELAY_LOW_MARK) starts it again. An EOF
 * from one side becomes a shutdown of the other side's write half once the
 * bytes before it are written, so TLS close_notify and half-closed
 * protocols work. The tunnel ends when both directions are done, on an
 * error, or after the idle timeout.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "shim_limits.h"
#include "log.h"
#include "plat.h"
#include "server.h"
#include "tunnel.h"

struct tunnel_side {
    struct bufferevent *ts_bev;
    int ts_eof;       /* this side sent EOF */
    int ts_shut;      /* our write half toward this side is shut */
    uint64_t ts_read; /* bytes read from this side */
};

struct tunnel {
    struct tunnel *t_next;
    struct tunnel *t_prev;
    struct server *t_srv;
    struct tunnel_side t_c; /* client */
    struct tunnel_side t_u; /* upstream */
    struct event *t_reaper;
    struct event *t_idle; /* re-armed by traffic in either direction */
    uint32_t t_idle_ms;
    int t_dead;
    char *t_client;
    char *t_target;
    char *t_upstream;
    char t_reqid[REQID_LEN + 1];
    uint64_t t_t0_ms;
    uint64_t t_bytes_in;
};

static void tun_read_cb(struct bufferevent *bev, void *arg);
static void tun_write_cb(struct bufferevent *bev, void *arg);
static void tun_event_cb(struct bufferevent *bev, short what, void *arg);

static struct tunnel_side *
tun_side(struct tunnel *t, const struct bufferevent *bev)
{
    return bev == t->t_c.ts_bev ? &t->t_c : &t->t_u;
}

static struct tunnel_side *
tun_other(struct tunnel *t, const struct tunnel_side *s)
{
    return s == &t->t_c ? &t->t_u : &t->t_c;
}

static void
tun_free(struct tunnel *t)
{
    struct server *sv = t->t_srv;
    struct access_rec r;

    memset(&r, 0, sizeof(r));
    r.ar_client = t->t_client ? t->t_client : "-";
    r.ar_method = "CONNECT";
    r.ar_url = t->t_target ? t->t_target : "-";
    r.ar_status = 200;
    r.ar_bytes_in = t->t_bytes_in + t->t_c.ts_read;
    r.ar_bytes_out = t->t_u.ts_read;
    r.ar_upstream = t->t_upstream ? t->t_upstream : "-";
    r.ar_plan = "tunnel";
    r.ar_duration_ms = plat_monotonic_ms() - t->t_t0_ms;
    r.ar_reqid = t->t_reqid;
    access_log_write(&r);
    sv->sv_stats.st_bytes_out += t->t_u.ts_read;

    if (t->t_prev != NULL)
        t->t_prev->t_next = t->t_next;
    else if (sv->sv_tunnels == t)
        sv->sv_tunnels = t->t_next;
    if (t->t_next != NULL)
        t->t_next->t_prev = t->t_prev;
    if (t->t_c.ts_bev != NULL)
        bufferevent_free(t->t_c.ts_bev);
    if (t->t_u.ts_bev != NULL)
        bufferevent_free(t->t_u.ts_bev);
    if (t->t_reaper != NULL)
        event_free(t->t_reaper);
    if (t->t_idle != NULL)
        event_free(t->t_idle);
    free(t->t_client);
    free(t->t_target);
    free(t->t_upstream);
    free(t);
    server_conn_gone(sv);
}

static void
tun_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tun_free(arg);
}

static void
tun_close(struct tunnel *t, const char *reason)
{
    if (t->t_dead)
        return;
    t->t_dead = 1;
    log_debug("tunnel %s %s: closed: %s", t->t_reqid,
              t->t_target ? t->t_target : "-", reason);
    event_del(t->t_idle);
    bufferevent_disable(t->t_c.ts_bev, EV_READ | EV_WRITE);
    bufferevent_disable(t->t_u.ts_bev, EV_READ | EV_WRITE);
    event_active(t->t_reaper, EV_TIMEOUT, 0);
}

/* Shut the write half toward side s once nothing is pending for it. */
static void
tun_maybe_shut(struct tunnel *t, struct tunnel_side *s)
{
    struct tunnel_side *o = tun_other(t, s);

    if (!o->ts_eof || s->ts_shut)
        return;
    if (evbuffer_get_length(bufferevent_get_output(s->ts_bev)) > 0)
        return;
    s->ts_shut = 1;
    plat_shutdown_write(bufferevent_getfd(s->ts_bev));
    if (t->t_c.ts_shut && t->t_u.ts_shut)
        tun_close(t, "both directions done");
}

static void
tun_arm_idle(struct tunnel *t)
{
    struct timeval tv = {(time_t)(t->t_idle_ms / 1000),
                         (long)(t->t_idle_ms % 1000) * 1000};

    event_add(t->t_idle, &tv);
}

static void
tun_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tun_close(arg, "idle timeout");
}

static void
tun_pump(struct tunnel *t, struct tunnel_side *src)
{
    struct tunnel_side *dst = tun_other(t, src);
    struct evbuffer *in = bufferevent_get_input(src->ts_bev);
    struct evbuffer *out = bufferevent_get_output(dst->ts_bev);
    size_t n = evbuffer_get_length(in);

    if (n == 0)
        return;
    tun_arm_idle(t);
    src->ts_read += n;
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) > RELAY_HIGH_MARK)
        bufferevent_disable(src->ts_bev, EV_READ);
}

static void
tun_read_cb(struct bufferevent *bev, void *arg)
{
    struct tunnel *t = arg;

    if (t->t_dead)
        return;
    tun_pump(t, tun_side(t, bev));
}

static void
tun_write_cb(struct bufferevent *bev, void *arg)
{
    struct tunnel *t = arg;
    struct tunnel_side *s = tun_side(t, bev);
    struct tunnel_side *o = tun_other(t, s);

    if (t->t_dead)
        return;
    /* The sink drained: let its source flow again. */
    if (!o->ts_eof &&
        evbuffer_get_length(bufferevent_get_output(bev)) <= RELAY_LOW_MARK)
        bufferevent_enable(o->ts_bev, EV_READ);
    tun_maybe_shut(t, s);
}

static void
tun_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct tunnel *t = arg;
    struct tunnel_side *s = tun_side(t, bev);

    if (t->t_dead)
        return;
    if (what & BEV_EVENT_ERROR) {
        tun_close(t, s == &t->t_c ? "client error" : "upstream error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        tun_pump(t, s);
        s->ts_eof = 1;
        tun_maybe_shut(t, tun_other(t, s));
        if (s->ts_eof && tun_other(t, s)->ts_eof &&
            evbuffer_get_length(bufferevent_get_output(t->t_c.ts_bev)) == 0 &&
            evbuffer_get_length(bufferevent_get_output(t->t_u.ts_bev)) == 0)
            tun_close(t, "both sides closed");
    }
}

int
tunnel_start(struct server *sv, struct bufferevent *client,
             struct bufferevent *upstream, const struct tunnel_info *ti)
{
    struct tunnel *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        bufferevent_free(client);
        bufferevent_free(upstream);
        return -1;
    }
    t->t_srv = sv;
    t->t_c.ts_bev = client;
    t->t_u.ts_bev = upstream;
    t->t_idle_ms = ti->ti_idle_ms;
    t->t_client = strdup(ti->ti_client);
    t->t_target = strdup(ti->ti_target);
    t->t_upstream = strdup(ti->ti_upstream);
    snprintf(t->t_reqid, sizeof(t->t_reqid), "%s", ti->ti_reqid);
    t->t_t0_ms = ti->ti_t0_ms;
    t->t_bytes_in = ti->ti_bytes_in;
    t->t_reaper = event_new(sv->sv_base, -1, 0, tun_reaper_cb, t);
    t->t_idle = evtimer_new(sv->sv_base, tun_idle_cb, t);
    t->t_next = sv->sv_tunnels;
    if (sv->sv_tunnels != NULL)
        sv->sv_tunnels->t_prev = t;
    sv->sv_tunnels = t;
    sv->sv_nconns++;
    if (t->t_reaper == NULL || t->t_idle == NULL) {
        tun_free(t);
        return -1;
    }
    bufferevent_setcb(client, tun_read_cb, tun_write_cb, tun_event_cb, t);
    bufferevent_setcb(upstream, tun_read_cb, tun_write_cb, tun_event_cb, t);
    bufferevent_setwatermark(client, EV_READ, 0, RELAY_HIGH_MARK);
    bufferevent_setwatermark(upstream, EV_READ, 0, RELAY_HIGH_MARK);
    bufferevent_setwatermark(client, EV_WRITE, RELAY_LOW_MARK, 0);
    bufferevent_setwatermark(upstream, EV_WRITE, RELAY_LOW_MARK, 0);
    tun_arm_idle(t);
    bufferevent_enable(client, EV_READ | EV_WRITE);
    bufferevent_enable(upstream, EV_READ | EV_WRITE);
    /* Bytes that arrived with the CONNECT head or with the upstream's 200
     * are already buffered: pass them on now. */
    tun_pump(t, &t->t_c);
    tun_pump(t, &t->t_u);
    log_debug("tunnel %s: %s -> %s via %s", t->t_reqid, t->t_client,
              t->t_target, t->t_upstream);
    return 0;
}

void
tunnel_close_all(struct server *sv)
{
    for (struct tunnel *t = sv->sv_tunnels; t != NULL; t = t->t_next)
        tun_close(t, "shutdown");
}
