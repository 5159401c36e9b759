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

#include <event2/event.h>

#include "cache.h"
#include "config.h"
#include "daemon.h"
#include "hashpw.h"
#include "log.h"
#include "plat.h"
#include "probe.h"
#include "server.h"
#include "svc.h"
#include "upstream.h"

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
            "       wsus-shim probe [-c FILE] [--json] [URL]\n"
            "             test each parent for what BITS needs (probe --help)\n"
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

struct sigctx {
    struct server *sc_srv;
    const char *sc_path;
    int sc_verbose;
};

/* Stop accepting and finish the requests in flight (daemon_drain). */
static void
shim_stop(struct sigctx *sc, const char *why)
{
    svc_report_stopping();
    daemon_drain(sc->sc_srv, why);
}

/* Read the conf again; new connections use it, a bad one is ignored. */
static void
shim_reload(struct sigctx *sc)
{
    daemon_reload(sc->sc_srv, sc->sc_path, sc->sc_verbose);
}

static void
shim_log_stats(struct sigctx *sc)
{
    server_log_stats(sc->sc_srv);
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

    if (cfg->sc_nproxies == 0) {
        snprintf(via, sizeof(via), "forwarding direct to origin servers");
    } else {
        size_t off = (size_t)snprintf(via, sizeof(via), "forwarding via");
        for (size_t i = 0; i < cfg->sc_nproxies && off < sizeof(via); i++)
            off += (size_t)snprintf(via + off, sizeof(via) - off, "%s %s",
                                    i ? "," : "",
                                    upstream_label(sv->sv_cfg->cr_up, (int)i));
        if (off < sizeof(via))
            snprintf(via + off, sizeof(via) - off, " (HTTP/1.%d, auth %s%s%s)",
                     cfg->sc_up_minor, config_auth_name(cfg->sc_up_auth),
                     cfg->sc_up_user ? " as " : "",
                     cfg->sc_up_user ? cfg->sc_up_user : "");
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

/* The events that reach the loop from outside: signals and the service
 * control channel. */
struct outside {
    struct event *ou_term, *ou_int, *ou_hup, *ou_usr1, *ou_ctl;
};

static struct event *
signal_arm(struct event_base *base, int sig, event_callback_fn cb,
           struct sigctx *sc)
{
    struct event *ev;

    if (sig == -1 || (ev = evsignal_new(base, sig, cb, sc)) == NULL)
        return NULL;
    evsignal_add(ev, NULL);
    return ev;
}

/* Arm the signals (stop, reload, statistics; the last two where the
 * platform has them) and the service control channel. -1 when the control
 * channel cannot be watched (logged). */
static int
outside_arm(struct outside *ou, struct event_base *base, struct sigctx *sc)
{
    evutil_socket_t ctl;

    memset(ou, 0, sizeof(*ou));
    ou->ou_term = signal_arm(base, SIGTERM, sig_term_cb, sc);
    ou->ou_int = signal_arm(base, SIGINT, sig_term_cb, sc);
    ou->ou_hup = signal_arm(base, plat_sig_reload(), sig_hup_cb, sc);
    ou->ou_usr1 = signal_arm(base, plat_sig_stats(), sig_stats_cb, sc);
    if (svc_control_open(&ctl) == -1) {
        log_warn("cannot open the service control channel");
        return -1;
    }
    if (ctl == -1)
        return 0;
    ou->ou_ctl = event_new(base, ctl, EV_READ | EV_PERSIST, control_cb, sc);
    if (ou->ou_ctl == NULL || event_add(ou->ou_ctl, NULL) == -1) {
        log_err("cannot watch the service control channel");
        return -1;
    }
    return 0;
}

static void
outside_free(struct outside *ou)
{
    struct event *evs[] = {ou->ou_term, ou->ou_int, ou->ou_hup, ou->ou_usr1,
                           ou->ou_ctl};

    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    memset(ou, 0, sizeof(*ou));
    svc_control_close();
}

/* The daemon: runs until stopped; returns the exit code. */
static int
shim_serve(void *arg)
{
    const struct opts *o = arg;
    int rc = 1;
    char err[512], bound[128];
    struct server sv;
    struct sigctx sc;
    struct outside ou;

    log_mirror_syslog(svc_syslog_mirror());
    memset(&sv, 0, sizeof(sv));
    memset(&ou, 0, sizeof(ou));
    sv.sv_cfg = cfg_ref_load(o->o_path, err, sizeof(err));
    if (sv.sv_cfg == NULL) {
        if (svc_is_service())
            log_err("%s", err); /* the Event Log: there is no console */
        else
            fprintf(stderr, "wsus-shim: %s\n", err);
        return 2;
    }
    if (daemon_open_logs(&sv.sv_cfg->cr_cfg, o->o_verbose) == -1)
        goto out;
    plat_ignore_sigpipe();
    plat_tune_allocator();
    if (daemon_start(&sv, bound, sizeof(bound)) == -1)
        goto out;
    sc.sc_srv = &sv;
    sc.sc_path = o->o_path;
    sc.sc_verbose = o->o_verbose;
    if (outside_arm(&ou, sv.sv_base, &sc) == -1)
        goto out;

    log_info("wsus-shim %s started with %s", WSUS_SHIM_VERSION, o->o_path);
    print_banner(&sv, bound);
    svc_report_running(sv.sv_cfg->cr_cfg.sc_drain_timeout_ms);
    event_base_dispatch(sv.sv_base);
    log_info("wsus-shim stopped");
    rc = 0;
out:
    daemon_close(&sv);
    outside_free(&ou);
    daemon_free(&sv);
    access_log_close();
    log_close();
    return rc;
}

/* -t, and install (which checks the conf it will run with before
 * registering the service): load the conf at path (install without -c:
 * the installed default), then print it or install. Returns the exit
 * code. */
static int
check_conf(const char *path, const char *verb, const char *account)
{
    struct shim_config cfg;
    const char *p = path != NULL ? path : installed_conf();
    char err[512];

    if (config_load(p, &cfg, err, sizeof(err)) == -1) {
        fprintf(stderr, "wsus-shim: %s\n", err);
        return 2;
    }
    if (verb != NULL) {
        config_free(&cfg);
        return svc_verb(verb, path, account);
    }
    config_print(&cfg, stdout);
    if (cfg.sc_range_mode == RANGE_MODE_CACHE &&
        cache_dir_check(cfg.sc_cache_dir, err, sizeof(err)) == -1)
        printf("warning: the cache folder cannot be used (%s): the shim "
               "would serve without the cache (ranges by slicing) and "
               "try the folder again every %lu s\n",
               err, (unsigned long)(cfg.sc_cache_retry_ms / 1000));
    printf("%s: configuration OK\n", p);
    config_free(&cfg);
    return 0;
}

int
main(int argc, char **argv)
{
    struct opts o = {NULL, 0};
    const char *verb = NULL;
    const char *account = NULL; /* install --account */
    int check = 0, console = 0;

    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return probe_main(argc - 1, argv + 1, default_conf());
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
        } else if (strcmp(argv[i], "--account") == 0 && i + 1 < argc) {
            account = argv[++i];
        } else if (i == 1 && svc_is_verb(argv[i])) {
            verb = argv[i];
        } else {
            fprintf(stderr, "wsus-shim: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (account != NULL && verb == NULL) {
        fprintf(stderr, "wsus-shim: --account goes with install\n");
        return 2;
    }
    if (verb != NULL) {
        int install = strcmp(verb, "install") == 0;

        if ((!install && (o.o_path != NULL || account != NULL)) || check ||
            console || o.o_verbose) {
            fprintf(stderr, "wsus-shim: %s takes %s\n", verb,
                    install ? "no option but -c and --account" : "no options");
            return 2;
        }
        if (!install)
            return svc_verb(verb, NULL, NULL);
    }
    if (verb == NULL && o.o_path == NULL)
        o.o_path = default_conf();

    if (check || verb != NULL)
        return check_conf(o.o_path, verb, account);
    return svc_run(shim_serve, &o, console);
}
