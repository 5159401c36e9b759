/*
 * daemon.c - start, reload, drain and stop the server (daemon.h).
 *
 * The layer between main.c (command line, signals, service entry) and the
 * modules that hold connections: listener.c, conn.c, tunnel.c, fill.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "cache.h"
#include "conn.h"
#include "daemon.h"
#include "fill.h"
#include "listener.h"
#include "log.h"
#include "offload.h"
#include "plat.h"
#include "pool.h"
#include "server.h"
#include "svc.h"
#include "tunnel.h"

int
daemon_open_logs(const struct shim_config *cfg, int verbose)
{
    enum log_level lvl =
        verbose ? LOG_LVL_DEBUG : (enum log_level)cfg->sc_log_level;
    int rc = 0;

    log_set_rotation(cfg->sc_log_rotate_size, cfg->sc_log_rotate_keep);
    if (log_open(cfg->sc_log_file, lvl) == -1) {
        log_warn("cannot open log file %s, logging to stderr instead",
                 cfg->sc_log_file);
        rc = -1;
    }
    if (access_log_open(cfg->sc_access_log) == -1) {
        log_warn("cannot open access log %s, serving without an access log "
                 "until a reload opens it",
                 cfg->sc_access_log);
        rc = -1;
    }
    return rc;
}

/* Open the cache of the current config. 0 or -1 with sv_cache_why. */
static int
cache_try_open(struct server *sv)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    char err[sizeof(sv->sv_cache_why)];

    sv->sv_cache = cache_open(cfg->sc_cache_dir, cfg->sc_cache_max,
                              cfg->sc_verify_sha1, err, sizeof(err));
    if (sv->sv_cache == NULL) {
        snprintf(sv->sv_cache_why, sizeof(sv->sv_cache_why), "%s", err);
        return -1;
    }
    cache_set_min_free(sv->sv_cache, cfg->sc_cache_min_free,
                       cfg->sc_cache_min_free_pct);
    cache_set_offload(sv->sv_cache, sv->sv_offload);
    sv->sv_cache_why[0] = '\0';
    return 0;
}

static void
cache_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    (void)fd;
    (void)what;
    if (sv->sv_cache != NULL || cache_try_open(sv) == -1) {
        log_debug("cache %s still unusable: %s",
                  sv->sv_cfg->cr_cfg.sc_cache_dir, sv->sv_cache_why);
        return;
    }
    log_info("cache %s is usable again: caching resumes",
             sv->sv_cfg->cr_cfg.sc_cache_dir);
    event_del(sv->sv_cache_retry);
}

/* A cache folder that cannot be used does not stop the shim: it serves
 * without the cache (ranges by slicing) and tries the folder again every
 * retry_interval. Returns -1 only when even that cannot be arranged. */
static int
daemon_cache_start(struct server *sv)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    uint32_t ms = cfg->sc_cache_retry_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};
    char err[128];

    /* Without the worker the cache still works, on the event loop. */
    if ((sv->sv_offload = offload_new(sv->sv_base, err, sizeof(err))) == NULL)
        log_warnx("%s: cache files are written on the event loop", err);
    if (cache_try_open(sv) == 0)
        return 0;
    log_warnx("cache %s cannot be used (%s): serving without the cache "
              "(ranges by slicing) and trying the folder again every %lu s",
              cfg->sc_cache_dir, sv->sv_cache_why, (unsigned long)(ms / 1000));
    sv->sv_cache_retry =
        event_new(sv->sv_base, -1, EV_PERSIST, cache_retry_cb, sv);
    if (sv->sv_cache_retry == NULL ||
        event_add(sv->sv_cache_retry, &tv) == -1) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

int
daemon_start(struct server *sv, char *bound, size_t boundlen)
{
    char err[512];
    struct timespec now;

    plat_clock_real(&now);
    sv->sv_started = (int64_t)now.tv_sec;
    sv->sv_t0_ms = plat_monotonic_ms();
    sv->sv_base = event_base_new();
    if (sv->sv_base == NULL) {
        log_err("cannot create the event base");
        return -1;
    }
    sv->sv_dns = evdns_base_new(sv->sv_base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (sv->sv_dns == NULL) {
        /* No resolver configuration: numeric hosts still work. */
        log_warnx("no DNS configuration found; only numeric hosts resolve");
        sv->sv_dns = evdns_base_new(sv->sv_base, 0);
    }
    if ((sv->sv_pool = pool_new(sv->sv_base)) == NULL) {
        log_err("out of memory");
        return -1;
    }
    if (sv->sv_cfg->cr_cfg.sc_range_mode == RANGE_MODE_CACHE &&
        daemon_cache_start(sv) == -1)
        return -1;
    if (listener_start(sv, bound, boundlen, err, sizeof(err)) == -1) {
        log_err("%s", err);
        return -1;
    }
    return 0;
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    (void)fd;
    (void)what;
    log_warnx("drain timeout: closing %u remaining connections",
              (unsigned)sv->sv_nconns);
    conn_close_all(sv);
    tunnel_close_all(sv);
    event_base_loopexit(sv->sv_base, NULL);
}

void
daemon_drain(struct server *sv, const char *why)
{
    uint32_t ms = sv->sv_cfg->cr_cfg.sc_drain_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};

    if (sv->sv_draining) {
        log_info("%s again: stopping now", why);
        drain_timeout_cb(-1, 0, sv);
        return;
    }
    log_info("%s: draining %u connections (at most %u ms)", why,
             (unsigned)sv->sv_nconns, (unsigned)ms);
    sv->sv_draining = 1;
    listener_stop(sv);
    /* Tunnels carry no request boundary to wait for: close them. */
    tunnel_close_all(sv);
    conn_drain_all(sv);
    if (sv->sv_nconns == 0) {
        event_base_loopexit(sv->sv_base, NULL);
        return;
    }
    sv->sv_drain_ev = evtimer_new(sv->sv_base, drain_timeout_cb, sv);
    if (sv->sv_drain_ev != NULL)
        evtimer_add(sv->sv_drain_ev, &tv);
}

void
daemon_reload(struct server *sv, const char *path, int verbose)
{
    char err[512];

    struct cfg_ref *r = cfg_ref_load(path, err, sizeof(err));
    if (r == NULL) {
        log_warnx("reload failed, keeping the running configuration: %s", err);
        return;
    }
    const struct shim_config *old = &sv->sv_cfg->cr_cfg;
    if (strcmp(old->sc_listen_addr, r->cr_cfg.sc_listen_addr) != 0 ||
        old->sc_listen_port != r->cr_cfg.sc_listen_port)
        log_warnx("reload: [listen] address/port changes need a restart");
    daemon_open_logs(&r->cr_cfg, verbose);
    cfg_ref_drop(sv->sv_cfg);
    sv->sv_cfg = r;
    /* Parked connections may be authenticated with the old credentials. */
    pool_clear(sv->sv_pool);
    log_info("reloaded %s; new connections use it", path);
}

void
daemon_close(struct server *sv)
{
    listener_stop(sv);
    conn_close_all(sv);
    tunnel_close_all(sv);
    fill_abort_all(sv);
    if (sv->sv_base != NULL) {
        /* Run the deferred frees of closed connections. */
        event_base_loop(sv->sv_base, EVLOOP_NONBLOCK);
    }
}

void
daemon_free(struct server *sv)
{
    if (sv->sv_drain_ev != NULL)
        event_free(sv->sv_drain_ev);
    sv->sv_drain_ev = NULL;
    if (sv->sv_cache_retry != NULL)
        event_free(sv->sv_cache_retry);
    sv->sv_cache_retry = NULL;
    /* The aborted fills' last jobs complete here, before the base goes. */
    offload_free(sv->sv_offload);
    sv->sv_offload = NULL;
    pool_free(sv->sv_pool);
    sv->sv_pool = NULL;
    if (sv->sv_dns != NULL)
        evdns_base_free(sv->sv_dns, 0);
    sv->sv_dns = NULL;
    if (sv->sv_base != NULL)
        event_base_free(sv->sv_base);
    sv->sv_base = NULL;
    if (sv->sv_cache != NULL)
        cache_close(sv->sv_cache);
    sv->sv_cache = NULL;
    cfg_ref_drop(sv->sv_cfg);
    sv->sv_cfg = NULL;
}
