/*
 * server.c - the process-wide state every connection shares: loading and
 * reference counting configurations, the count of live connections that
 * ends a drain, and the counters in the log.
 *
 * The bottom of the daemon's layers: it calls nothing above it (no
 * connection, tunnel or listener code); daemon.c orchestrates those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cache.h"
#include "log.h"
#include "server.h"
#include "svc.h"
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

struct cfg_ref *
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

void
server_log_stats(const struct server *sv)
{
    const struct server_stats *st = &sv->sv_stats;

    log_info("stats: connections=%u requests=%llu errors=%llu tunnels=%llu "
             "bytes_out=%llu bytes_up=%llu refused=%llu",
             (unsigned)sv->sv_nconns, (unsigned long long)st->st_requests,
             (unsigned long long)st->st_errors,
             (unsigned long long)st->st_tunnels,
             (unsigned long long)st->st_bytes_out,
             (unsigned long long)st->st_bytes_up,
             (unsigned long long)st->st_refused);
    if (sv->sv_cache != NULL) {
        struct cache_stats cs;
        cache_get_stats(sv->sv_cache, &cs);
        log_info(
            "cache: entries=%llu bytes=%llu hits=%llu misses=%llu "
            "fills=%llu rejected=%llu evictions=%llu corrupt=%llu",
            (unsigned long long)cs.cs_entries, (unsigned long long)cs.cs_bytes,
            (unsigned long long)cs.cs_hits, (unsigned long long)cs.cs_misses,
            (unsigned long long)cs.cs_fills, (unsigned long long)cs.cs_rejected,
            (unsigned long long)cs.cs_evictions,
            (unsigned long long)cs.cs_corrupt);
    }
}
