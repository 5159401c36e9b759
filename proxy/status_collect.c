/*
 * status_collect.c - the live server read into a status snapshot
 * (status_collect.h). Read-only but for the eviction note; everything
 * comes through the modules' accessors.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/listener.h>

#include "auth.h"
#include "cache.h"
#include "conn.h"
#include "fill.h"
#include "plat.h"
#include "pool.h"
#include "server.h"
#include "status_collect.h"
#include "upstream.h"

static const char *const range_names[] = {"cache", "slice", "pass"};

static void
collect_cache(struct server *sv, const struct shim_config *cfg,
              struct status_snap *s)
{
    s->ss_cache_on = sv->sv_cache != NULL;
    s->ss_cache_max = cfg->sc_cache_max;
    s->ss_cache_state = "off";
    s->ss_cache_why = NULL;
    if (sv->sv_cache == NULL) {
        if (cfg->sc_range_mode == RANGE_MODE_CACHE) {
            s->ss_cache_state = "unavailable";
            s->ss_cache_why = sv->sv_cache_why;
        }
        return;
    }
    s->ss_cache_state = "enabled";
    cache_get_stats(sv->sv_cache, &s->ss_cache);
    s->ss_free_known =
        plat_disk_free(cfg->sc_cache_dir, &s->ss_cache_free) == 0;
    if (s->ss_cache.cs_evictions > sv->sv_evict_seen) {
        sv->sv_evict_last = s->ss_cache.cs_evictions - sv->sv_evict_seen;
        sv->sv_evict_time = s->ss_now;
        sv->sv_evict_seen = s->ss_cache.cs_evictions;
    }
    s->ss_evict_time = sv->sv_evict_time;
    s->ss_evict_last = sv->sv_evict_last;
}

static uint64_t
failures_of(const struct metrics *m, const char *label)
{
    for (size_t i = 0; i < m->mt_nup; i++)
        if (strcmp(m->mt_up[i].mu_label, label) == 0)
            return m->mt_up[i].mu_failures;
    return 0;
}

static void
collect_parents(struct server *sv, struct status_snap *s, uint64_t now_ms)
{
    const struct cfg_ref *r = sv->sv_cfg;
    const struct upstream_set *us = r->cr_up;
    size_t n = upstream_count(us);

    for (size_t i = 0; i < n && i < STATUS_MAX_PARENTS; i++) {
        struct status_parent *p = &s->ss_parents[s->ss_nparents++];
        uint64_t until = upstream_down_until(us, (int)i);
        enum auth_scheme sch = upstream_scheme(us, (int)i);
        uint16_t port = 0;
        const char *host = upstream_host(us, (int)i, &port);
        char prefix[400];

        p->sp_label = upstream_label(us, (int)i);
        p->sp_down = until > now_ms;
        if (p->sp_down) {
            p->sp_down_ms = until - now_ms;
            p->sp_down_until =
                s->ss_now + (int64_t)((p->sp_down_ms + 999) / 1000);
        }
        struct upstream_info ui;
        upstream_get_info(us, (int)i, &ui);
        p->sp_http = ui.ui_minor == 1   ? "1.1"
                     : ui.ui_minor == 0 ? "1.0"
                                        : "not seen";
        p->sp_why = ui.ui_why;
        /* The pool key of fetch.c: "parent|host|port|identity". */
        snprintf(prefix, sizeof(prefix), "parent|%s|%u|",
                 host != NULL ? host : "", (unsigned)port);
        p->sp_idle =
            sv->sv_pool != NULL ? pool_idle_prefix(sv->sv_pool, prefix) : 0;
        p->sp_keep_alive = ui.ui_keep == 1 || p->sp_idle > 0 ? "yes"
                           : ui.ui_keep == 0                 ? "no"
                                                             : "not seen";
        p->sp_scheme = sch != AUTH_NONE ? auth_scheme_name(sch) : "none";
        p->sp_failures = failures_of(&sv->sv_metrics, p->sp_label);
        p->sp_last_err = errring_last_for(&sv->sv_errs, p->sp_label);
    }
}

/* Fills first (each with the clients it serves), then every other
 * answer in flight. */
static void
collect_xfers(struct server *sv, struct status_snap *s, uint64_t now_ms)
{
    struct conn_xfer cx[STATUS_MAX_XFERS];
    size_t ncx = conn_transfers(sv, cx, STATUS_MAX_XFERS);
    const struct fill *f = NULL;
    unsigned total = 0;

    if (ncx > STATUS_MAX_XFERS) {
        total += (unsigned)(ncx - STATUS_MAX_XFERS);
        ncx = STATUS_MAX_XFERS;
    }
    while ((f = fill_list_next(sv, f)) != NULL) {
        struct fill_info fi;
        fill_get_info(f, &fi);
        total++;
        if (s->ss_nxfers >= STATUS_MAX_XFERS)
            continue;
        struct status_xfer *x = &s->ss_xfers[s->ss_nxfers++];
        x->sx_url = fi.fi_url;
        x->sx_client = "-";
        x->sx_plan = "cache-fill";
        x->sx_reqid = fi.fi_reqid;
        x->sx_upstream = fi.fi_upstream;
        x->sx_done = fi.fi_written;
        x->sx_total_known = fi.fi_total_known;
        x->sx_total = fi.fi_total;
        x->sx_ms = now_ms - fi.fi_t0_ms;
        x->sx_clients = 0;
        for (size_t i = 0; i < ncx; i++) {
            if (cx[i].cx_fill != f)
                continue;
            if (x->sx_clients++ == 0) {
                x->sx_client = cx[i].cx_peer;
                x->sx_plan = cx[i].cx_plan;
            }
        }
    }
    for (size_t i = 0; i < ncx; i++) {
        const struct conn_xfer *c = &cx[i];
        if (c->cx_fill != NULL)
            continue;
        total++;
        if (s->ss_nxfers >= STATUS_MAX_XFERS)
            continue;
        struct status_xfer *x = &s->ss_xfers[s->ss_nxfers++];
        x->sx_url = c->cx_url;
        x->sx_client = c->cx_peer;
        x->sx_plan = c->cx_plan;
        x->sx_reqid = c->cx_reqid;
        x->sx_upstream = c->cx_upstream;
        x->sx_done = c->cx_done;
        x->sx_total_known = c->cx_total_known;
        x->sx_total = c->cx_total;
        x->sx_ms = now_ms - c->cx_t0_ms;
        x->sx_clients = 1;
    }
    s->ss_active_xfers = total;
}

void
status_collect(struct server *sv, struct status_snap *s)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    const struct server_stats *st = &sv->sv_stats;
    uint64_t now_ms = plat_monotonic_ms();
    struct timespec now;

    memset(s, 0, sizeof(*s));
    plat_clock_real(&now);
    s->ss_version = WSUS_SHIM_VERSION;
    s->ss_now = (int64_t)now.tv_sec;
    s->ss_started = sv->sv_started;
    s->ss_uptime_ms = now_ms - sv->sv_t0_ms;
    s->ss_conf = cfg->sc_path;
    if (sv->sv_lis == NULL ||
        plat_sock_local_str(evconnlistener_get_fd(sv->sv_lis), s->ss_listen_buf,
                            sizeof(s->ss_listen_buf)) == -1)
        snprintf(s->ss_listen_buf, sizeof(s->ss_listen_buf), "%s:%u",
                 cfg->sc_listen_addr, (unsigned)cfg->sc_listen_port);
    s->ss_listen = s->ss_listen_buf;
    s->ss_range_mode =
        (size_t)cfg->sc_range_mode < 3 ? range_names[cfg->sc_range_mode] : "?";
    s->ss_connections = sv->sv_nconns;
    s->ss_requests = st->st_requests;
    s->ss_errors = st->st_errors;
    s->ss_tunnels = st->st_tunnels;
    s->ss_bytes_out = st->st_bytes_out;
    s->ss_bytes_up = st->st_bytes_up;
    s->ss_refused = st->st_refused;
    collect_cache(sv, cfg, s);
    if (sv->sv_pool != NULL) {
        const struct pool_stats *ps = pool_stats(sv->sv_pool);
        s->ss_pool_idle = pool_idle(sv->sv_pool, NULL);
        s->ss_pool_opened = ps->ps_opened;
        s->ss_pool_reused = ps->ps_reused;
        s->ss_pool_retried = ps->ps_retried;
    }
    collect_parents(sv, s, now_ms);
    collect_xfers(sv, s, now_ms);
    s->ss_errs = &sv->sv_errs;
    s->ss_metrics = &sv->sv_metrics;
}
