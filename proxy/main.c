/*
 * main.c - wsus-shim: command line, startup, signals.
 *
 *   SIGTERM/SIGINT  drain: stop accepting, finish in-flight requests
 *                   (bounded by [limits] drain_timeout), exit
 *   SIGHUP          reload the conf; new connections use it
 *   SIGUSR1         log the counters
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "cache.h"
#include "conn.h"
#include "fill.h"
#include "listener.h"
#include "log.h"
#include "plat.h"
#include "server.h"
#include "tunnel.h"
#include "upstream.h"

struct cfg_ref *
cfg_ref_hold(struct cfg_ref *r)
{
    r->cr_refs++;
    return r;
}

void
cfg_ref_drop(struct cfg_ref *r)
{
    if (r == NULL || --r->cr_refs > 0)
        return;
    upstream_set_free(r->cr_up);
    config_free(&r->cr_cfg);
    free(r);
}

/* Load path into a fresh reference (refs = 1). Returns NULL with err. */
static struct cfg_ref *
cfg_ref_load(const char *path, char *err, size_t errlen)
{
    struct cfg_ref *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (config_load(path, &r->cr_cfg, err, errlen) == -1) {
        free(r);
        return NULL;
    }
    r->cr_up = upstream_set_new(&r->cr_cfg);
    if (r->cr_up == NULL) {
        snprintf(err, errlen, "out of memory");
        config_free(&r->cr_cfg);
        free(r);
        return NULL;
    }
    r->cr_refs = 1;
    return r;
}

void
server_conn_gone(struct server *sv)
{
    if (sv->sv_nconns > 0)
        sv->sv_nconns--;
    if (sv->sv_draining && sv->sv_nconns == 0)
        event_base_loopexit(sv->sv_base, NULL);
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: wsus-shim [-c FILE] [-t] [-v] [--version] [--help]\n"
            "  -c FILE    configuration file (default: %s)\n"
            "  -t         check the configuration, print a summary, exit\n"
            "  -v         verbose: log at debug level\n"
            "  --version  print the version and exit\n"
            "signals: TERM/INT drain and exit, HUP reload, USR1 counters\n",
            WSUS_SHIM_DEFAULT_CONF);
}

/* The conf to use when -c is not given: conf/wsus-shim.conf in the current
 * folder or next to the source checkout, else the installed path. */
static const char *
default_conf(void)
{
    static const char *const cand[] = {"conf/wsus-shim.conf",
                                       WSUS_SHIM_SOURCE_CONF};
    for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
        FILE *f = fopen(cand[i], "r");
        if (f != NULL) {
            fclose(f);
            return cand[i];
        }
    }
    return WSUS_SHIM_DEFAULT_CONF;
}

static int
open_logs(const struct shim_config *cfg, int verbose)
{
    enum log_level lvl = verbose ? LOG_LVL_DEBUG
                                 : (enum log_level)cfg->sc_log_level;

    if (log_open(cfg->sc_log_file, lvl) == -1) {
        log_warn("cannot open log file %s", cfg->sc_log_file);
        return -1;
    }
    if (access_log_open(cfg->sc_access_log) == -1) {
        log_warn("cannot open access log %s", cfg->sc_access_log);
        return -1;
    }
    return 0;
}

struct sigctx {
    struct server *sc_srv;
    const char *sc_path;
    int sc_verbose;
};

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

static void
sig_term_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sigctx *sc = arg;
    struct server *sv = sc->sc_srv;
    uint32_t ms = sv->sv_cfg->cr_cfg.sc_drain_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};

    (void)what;
    if (sv->sv_draining) {
        log_info("signal %d again: stopping now", (int)sig);
        drain_timeout_cb(-1, 0, sv);
        return;
    }
    log_info("signal %d: draining %u connections (at most %u ms)", (int)sig,
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

static void
sig_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sigctx *sc = arg;
    struct server *sv = sc->sc_srv;
    char err[512];

    (void)sig;
    (void)what;
    struct cfg_ref *r = cfg_ref_load(sc->sc_path, err, sizeof(err));
    if (r == NULL) {
        log_warnx("reload failed, keeping the running configuration: %s",
                  err);
        return;
    }
    const struct shim_config *old = &sv->sv_cfg->cr_cfg;
    if (strcmp(old->sc_listen_addr, r->cr_cfg.sc_listen_addr) != 0 ||
        old->sc_listen_port != r->cr_cfg.sc_listen_port)
        log_warnx("reload: [listen] address/port changes need a restart");
    open_logs(&r->cr_cfg, sc->sc_verbose);
    cfg_ref_drop(sv->sv_cfg);
    sv->sv_cfg = r;
    log_info("reloaded %s; new connections use it", sc->sc_path);
}

static void
sig_stats_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sigctx *sc = arg;
    const struct server_stats *st = &sc->sc_srv->sv_stats;

    (void)sig;
    (void)what;
    log_info("stats: connections=%u requests=%llu errors=%llu tunnels=%llu "
             "bytes_out=%llu bytes_up=%llu refused=%llu",
             (unsigned)sc->sc_srv->sv_nconns,
             (unsigned long long)st->st_requests,
             (unsigned long long)st->st_errors,
             (unsigned long long)st->st_tunnels,
             (unsigned long long)st->st_bytes_out,
             (unsigned long long)st->st_bytes_up,
             (unsigned long long)st->st_refused);
    if (sc->sc_srv->sv_cache != NULL) {
        struct cache_stats cs;
        cache_get_stats(sc->sc_srv->sv_cache, &cs);
        log_info("cache: entries=%llu bytes=%llu hits=%llu misses=%llu "
                 "fills=%llu rejected=%llu evictions=%llu corrupt=%llu",
                 (unsigned long long)cs.cs_entries,
                 (unsigned long long)cs.cs_bytes,
                 (unsigned long long)cs.cs_hits,
                 (unsigned long long)cs.cs_misses,
                 (unsigned long long)cs.cs_fills,
                 (unsigned long long)cs.cs_rejected,
                 (unsigned long long)cs.cs_evictions,
                 (unsigned long long)cs.cs_corrupt);
    }
}

static void
print_banner(const struct server *sv, const char *bound)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;

    printf("wsus-shim %s listening on %s, ", WSUS_SHIM_VERSION, bound);
    if (cfg->sc_nproxies == 0) {
        printf("forwarding direct to origin servers\n");
    } else {
        printf("forwarding via");
        for (size_t i = 0; i < cfg->sc_nproxies; i++)
            printf("%s %s", i ? "," : "",
                   upstream_label(sv->sv_cfg->cr_up, (int)i));
        printf(" (HTTP/1.%d%s)\n", cfg->sc_up_minor,
               cfg->sc_up_user ? ", Basic auth" : "");
    }
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    int check = 0, verbose = 0, rc = 1;
    char err[512], bound[128];
    struct server sv;
    struct sigctx sc;
    struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL,
                 *ev_usr1 = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0) {
            /* Foreground console program: what POSIX always does. */
        } else if (strcmp(argv[i], "-t") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("wsus-shim %s\n", WSUS_SHIM_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "wsus-shim: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL)
        path = default_conf();

    memset(&sv, 0, sizeof(sv));
    sv.sv_cfg = cfg_ref_load(path, err, sizeof(err));
    if (sv.sv_cfg == NULL) {
        fprintf(stderr, "wsus-shim: %s\n", err);
        return 2;
    }
    if (check) {
        config_print(&sv.sv_cfg->cr_cfg, stdout);
        printf("%s: configuration OK\n", path);
        cfg_ref_drop(sv.sv_cfg);
        return 0;
    }
    if (open_logs(&sv.sv_cfg->cr_cfg, verbose) == -1)
        goto out;
    plat_ignore_sigpipe();
    plat_tune_allocator();

    sv.sv_base = event_base_new();
    if (sv.sv_base == NULL) {
        log_err("cannot create the event base");
        goto out;
    }
    sv.sv_dns = evdns_base_new(sv.sv_base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (sv.sv_dns == NULL) {
        /* No resolver configuration: numeric hosts still work. */
        log_warnx("no DNS configuration found; only numeric hosts resolve");
        sv.sv_dns = evdns_base_new(sv.sv_base, 0);
    }
    if (sv.sv_cfg->cr_cfg.sc_range_mode == RANGE_MODE_CACHE) {
        const struct shim_config *cfg = &sv.sv_cfg->cr_cfg;
        sv.sv_cache = cache_open(cfg->sc_cache_dir, cfg->sc_cache_max,
                                 cfg->sc_verify_sha1, err, sizeof(err));
        if (sv.sv_cache == NULL) {
            log_err("cache %s: %s", cfg->sc_cache_dir, err);
            goto out;
        }
    }
    if (listener_start(&sv, bound, sizeof(bound), err, sizeof(err)) == -1) {
        log_err("%s", err);
        goto out;
    }

    sc.sc_srv = &sv;
    sc.sc_path = path;
    sc.sc_verbose = verbose;
    ev_term = evsignal_new(sv.sv_base, SIGTERM, sig_term_cb, &sc);
    ev_int = evsignal_new(sv.sv_base, SIGINT, sig_term_cb, &sc);
    if (ev_term != NULL)
        evsignal_add(ev_term, NULL);
    if (ev_int != NULL)
        evsignal_add(ev_int, NULL);
    if (plat_sig_reload() != -1) {
        ev_hup = evsignal_new(sv.sv_base, plat_sig_reload(), sig_hup_cb, &sc);
        if (ev_hup != NULL)
            evsignal_add(ev_hup, NULL);
    }
    if (plat_sig_stats() != -1) {
        ev_usr1 = evsignal_new(sv.sv_base, plat_sig_stats(), sig_stats_cb,
                               &sc);
        if (ev_usr1 != NULL)
            evsignal_add(ev_usr1, NULL);
    }

    log_info("wsus-shim %s started with %s", WSUS_SHIM_VERSION, path);
    print_banner(&sv, bound);
    event_base_dispatch(sv.sv_base);
    log_info("wsus-shim stopped");
    rc = 0;
out:
    listener_stop(&sv);
    conn_close_all(&sv);
    tunnel_close_all(&sv);
    fill_abort_all(&sv);
    if (sv.sv_base != NULL) {
        /* Run the deferred frees of closed connections. */
        event_base_loop(sv.sv_base, EVLOOP_NONBLOCK);
    }
    if (ev_term != NULL)
        event_free(ev_term);
    if (ev_int != NULL)
        event_free(ev_int);
    if (ev_hup != NULL)
        event_free(ev_hup);
    if (ev_usr1 != NULL)
        event_free(ev_usr1);
    if (sv.sv_drain_ev != NULL)
        event_free(sv.sv_drain_ev);
    if (sv.sv_dns != NULL)
        evdns_base_free(sv.sv_dns, 0);
    if (sv.sv_base != NULL)
        event_base_free(sv.sv_base);
    if (sv.sv_cache != NULL)
        cache_close(sv.sv_cache);
    cfg_ref_drop(sv.sv_cfg);
    access_log_close();
    log_close();
    return rc;
}
