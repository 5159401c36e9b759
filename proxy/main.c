/*
 * main.c - wsus-shim: command line, startup, signals and service controls.
 *
 *   SIGTERM/SIGINT  drain: stop accepting, finish in-flight requests
 *                   (bounded by [limits] drain_timeout), exit
 *   SIGHUP          reload the conf; new connections use it
 *   SIGUSR1         log the counters
 *
 * On Windows the service control manager's stop, paramchange and user
 * control 128, and the console's Ctrl+C, do the same through the control
 * channel of svc.h.
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
#include "hashpw.h"
#include "listener.h"
#include "log.h"
#include "plat.h"
#include "pool.h"
#include "server.h"
#include "svc.h"
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

/* A service has no console: diagnostics and the access log default to
 * files in the platform's log folder (%ProgramData%\wsus-shim\logs). */
static int
service_log_defaults(struct shim_config *cfg, char *err, size_t errlen)
{
    char path[1024];

    if (cfg->sc_log_file == NULL &&
        svc_log_path("wsus-shim.log", path, sizeof(path)) == 0) {
        if ((cfg->sc_log_file = strdup(path)) == NULL)
            goto oom;
    }
    if (cfg->sc_access_log != NULL && strcmp(cfg->sc_access_log, "-") == 0 &&
        svc_log_path("access.log", path, sizeof(path)) == 0) {
        free(cfg->sc_access_log);
        if ((cfg->sc_access_log = strdup(path)) == NULL)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
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
    if (service_log_defaults(&r->cr_cfg, err, errlen) == -1) {
        config_free(&r->cr_cfg);
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

/* Where an installed wsus-shim looks for its conf. */
static const char *
installed_conf(void)
{
    return plat_default_conf() != NULL ? plat_default_conf()
                                       : WSUS_SHIM_DEFAULT_CONF;
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: wsus-shim [-c FILE] [-f] [-t] [-v] [--version] [--help]\n"
            "  -c FILE    configuration file (default: %s)\n"
            "  -f         run in the foreground as a console program (what it\n"
            "             always does on POSIX)\n"
            "  -t         check the configuration, print a summary, exit\n"
            "  -v         verbose: log at debug level\n"
            "  --version  print the version and exit\n"
            "       wsus-shim hash-password [-u DOMAIN\\user]\n"
            "  hash-password  read a password (no echo, or piped) and print\n"
            "             the conf's password_hash line for NTLM\n",
            installed_conf());
    svc_usage(out);
    if (plat_sig_reload() != -1)
        fprintf(out, "signals: TERM/INT drain and exit, HUP reload, "
                     "USR1 counters\n");
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
    return installed_conf();
}

static int
open_logs(const struct shim_config *cfg, int verbose)
{
    enum log_level lvl = verbose ? LOG_LVL_DEBUG
                                 : (enum log_level)cfg->sc_log_level;

    log_set_rotation(cfg->sc_log_rotate_size, cfg->sc_log_rotate_keep);
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

/* Stop accepting and finish the requests in flight, at most
 * [limits] drain_timeout; a second request stops at once. */
static void
shim_stop(struct sigctx *sc, const char *why)
{
    struct server *sv = sc->sc_srv;
    uint32_t ms = sv->sv_cfg->cr_cfg.sc_drain_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};

    svc_report_stopping();
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

/* Read the conf again; new connections use it, a bad one is ignored. */
static void
shim_reload(struct sigctx *sc)
{
    struct server *sv = sc->sc_srv;
    char err[512];

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
    /* Parked connections may be authenticated with the old credentials. */
    pool_clear(sv->sv_pool);
    log_info("reloaded %s; new connections use it", sc->sc_path);
}

static void
shim_log_stats(struct sigctx *sc)
{
    const struct server_stats *st = &sc->sc_srv->sv_stats;

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
sig_term_cb(evutil_socket_t sig, short what, void *arg)
{
    char why[32];

    (void)what;
    snprintf(why, sizeof(why), "signal %d", (int)sig);
    shim_stop(arg, why);
}

static void
sig_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    shim_reload(arg);
}

static void
sig_stats_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    shim_log_stats(arg);
}

/* Controls from the service manager or the console (svc.h). */
static void
control_cb(evutil_socket_t fd, short what, void *arg)
{
    unsigned char buf[16];
    int64_t n;

    (void)what;
    while ((n = plat_recv(fd, buf, sizeof(buf))) > 0) {
        for (int64_t i = 0; i < n; i++) {
            switch (buf[i]) {
            case SVC_CTL_STOP:
                shim_stop(arg, "stop requested");
                break;
            case SVC_CTL_RELOAD:
                shim_reload(arg);
                break;
            case SVC_CTL_STATS:
                shim_log_stats(arg);
                break;
            default:
                break;
            }
        }
    }
}

static void
print_banner(const struct server *sv, const char *bound)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    char via[512];
    size_t off = 0;

    if (cfg->sc_nproxies == 0) {
        snprintf(via, sizeof(via), "forwarding direct to origin servers");
    } else {
        off = (size_t)snprintf(via, sizeof(via), "forwarding via");
        for (size_t i = 0; i < cfg->sc_nproxies && off < sizeof(via); i++)
            off += (size_t)snprintf(via + off, sizeof(via) - off, "%s %s",
                                    i ? "," : "",
                                    upstream_label(sv->sv_cfg->cr_up, (int)i));
        if (off < sizeof(via))
            snprintf(via + off, sizeof(via) - off, " (HTTP/1.%d%s)",
                     cfg->sc_up_minor, cfg->sc_up_user ? ", Basic auth" : "");
    }
    log_info("listening on %s, %s", bound, via);
    if (!svc_is_service()) {
        printf("wsus-shim %s listening on %s, %s\n", WSUS_SHIM_VERSION, bound,
               via);
        fflush(stdout);
    }
}

struct opts {
    const char *o_path;
    int o_verbose;
};

/* The daemon: runs until stopped; returns the exit code. */
static int
shim_serve(void *arg)
{
    const struct opts *o = arg;
    int rc = 1;
    char err[512], bound[128];
    struct server sv;
    struct sigctx sc;
    struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL,
                 *ev_usr1 = NULL, *ev_ctl = NULL;
    evutil_socket_t ctl;

    log_mirror_syslog(svc_syslog_mirror());
    memset(&sv, 0, sizeof(sv));
    sv.sv_cfg = cfg_ref_load(o->o_path, err, sizeof(err));
    if (sv.sv_cfg == NULL) {
        if (svc_is_service())
            log_err("%s", err); /* the Event Log: there is no console */
        else
            fprintf(stderr, "wsus-shim: %s\n", err);
        return 2;
    }
    if (open_logs(&sv.sv_cfg->cr_cfg, o->o_verbose) == -1)
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
    if ((sv.sv_pool = pool_new(sv.sv_base)) == NULL) {
        log_err("out of memory");
        goto out;
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
    sc.sc_path = o->o_path;
    sc.sc_verbose = o->o_verbose;
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
    if (svc_control_open(&ctl) == -1) {
        log_warn("cannot open the service control channel");
        goto out;
    }
    if (ctl != -1) {
        ev_ctl = event_new(sv.sv_base, ctl, EV_READ | EV_PERSIST, control_cb,
                           &sc);
        if (ev_ctl == NULL || event_add(ev_ctl, NULL) == -1) {
            log_err("cannot watch the service control channel");
            goto out;
        }
    }

    log_info("wsus-shim %s started with %s", WSUS_SHIM_VERSION, o->o_path);
    print_banner(&sv, bound);
    svc_report_running(sv.sv_cfg->cr_cfg.sc_drain_timeout_ms);
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
    if (ev_ctl != NULL)
        event_free(ev_ctl);
    svc_control_close();
    if (sv.sv_drain_ev != NULL)
        event_free(sv.sv_drain_ev);
    pool_free(sv.sv_pool);
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

int
main(int argc, char **argv)
{
    struct opts o = {NULL, 0};
    const char *verb = NULL;
    int check = 0, console = 0;
    char err[512];

    if (argc > 1 && strcmp(argv[1], "hash-password") == 0)
        return hashpw_main(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            o.o_path = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0) {
            console = 1;
        } else if (strcmp(argv[i], "-t") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            o.o_verbose = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("wsus-shim %s\n", WSUS_SHIM_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (i == 1 && svc_is_verb(argv[i])) {
            verb = argv[i];
        } else {
            fprintf(stderr, "wsus-shim: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (verb != NULL) {
        int install = strcmp(verb, "install") == 0;

        if ((!install && o.o_path != NULL) || check || console ||
            o.o_verbose) {
            fprintf(stderr, "wsus-shim: %s takes %s\n", verb,
                    install ? "no option but -c" : "no options");
            return 2;
        }
        if (!install)
            return svc_verb(verb, NULL);
    }
    if (verb == NULL && o.o_path == NULL)
        o.o_path = default_conf();

    if (check || verb != NULL) {
        /* install checks the conf it will run with before registering. */
        struct shim_config cfg;
        const char *path = o.o_path != NULL ? o.o_path : installed_conf();

        if (config_load(path, &cfg, err, sizeof(err)) == -1) {
            fprintf(stderr, "wsus-shim: %s\n", err);
            return 2;
        }
        if (verb != NULL) {
            config_free(&cfg);
            return svc_verb(verb, o.o_path);
        }
        config_print(&cfg, stdout);
        printf("%s: configuration OK\n", path);
        config_free(&cfg);
        return 0;
    }
    return svc_run(shim_serve, &o, console);
}
