/*
 * server.h - the process-wide context handed to every connection: event
 * base, resolver, the current configuration (reference counted so a reload
 * never pulls a config from under a live connection), parent proxy state
 * and counters. There are no mutable globals; everything hangs off one
 * struct server.
 *
 * server.c implements the functions below; it is the bottom of the
 * daemon's layers and calls nothing above it. daemon.h starts, reloads,
 * drains and stops the whole.
 */
#ifndef WSUS_SERVER_H
#define WSUS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errring.h"
#include "log.h"
#include "metrics.h"

struct event_base;
struct evdns_base;
struct evconnlistener;
struct event;
struct conn;
struct tunnel;
struct upstream_set;
struct cache;
struct fill;
struct pool;

/* A configuration shared by the connections accepted under it. */
struct cfg_ref {
    struct shim_config cr_cfg;
    struct upstream_set *cr_up; /* parents of cr_cfg, with hold-down state */
    unsigned cr_refs;
};

/* Load path into a fresh reference (refs = 1), with a service's log
 * defaults applied. Returns NULL with err. */
struct cfg_ref *cfg_ref_load(const char *path, char *err, size_t errlen);
struct cfg_ref *cfg_ref_hold(struct cfg_ref *r);
/* Drop one reference; the last frees the config and its parents. NULL is
 * allowed. */
void cfg_ref_drop(struct cfg_ref *r);

struct server_stats {
    uint64_t st_requests;
    uint64_t st_errors;
    uint64_t st_tunnels;
    uint64_t st_bytes_out;
    uint64_t st_bytes_up; /* body bytes received from upstreams */
    uint64_t st_refused;  /* ACL and connection cap */
};

/* The accept side (listener.c). */
struct accept_state {
    struct event *as_rearm; /* re-enables accepting after a pause */
    uint32_t as_pause_ms;   /* the last pause; 0 after an accept */
    int as_spare;           /* plat_fd_reserve's, or -1 */
    uint64_t as_shed;       /* answered 503 since the last error line */
    struct log_rate as_err_rl;
    struct log_rate as_cap_rl; /* refused over max_connections */
};

struct server {
    struct event_base *sv_base;
    struct evdns_base *sv_dns;
    struct cfg_ref *sv_cfg; /* for new connections */
    struct evconnlistener *sv_lis;
    struct accept_state sv_acc;
    struct cache *sv_cache; /* NULL when the cache is off */
    /* Range mode cache with a folder that could not be used: why, and the
     * timer that tries it again ("" and NULL otherwise). */
    char sv_cache_why[256];
    struct event *sv_cache_retry;
    struct offload *sv_offload; /* the cache's worker thread, or NULL */
    struct pool *sv_pool;       /* idle upstream connections */
    struct conn *sv_conns;      /* every live client connection */
    struct tunnel *sv_tunnels;  /* every live tunnel */
    struct fill *sv_fills;      /* cache fills under way, by URL */
    uint32_t sv_nconns;         /* conns + tunnels */
    uint64_t sv_next_id;
    int sv_draining;
    struct event *sv_drain_ev;
    struct server_stats sv_stats;

    /* The operator's view (status.c): recent errors, the counters of
     * /metrics, the start time, and when the cache last evicted. */
    struct errring sv_errs;
    struct metrics sv_metrics;
    int64_t sv_started;     /* wall clock, seconds */
    uint64_t sv_t0_ms;      /* monotonic */
    uint64_t sv_evict_seen; /* evictions at the last look */
    int64_t sv_evict_time;
    uint64_t sv_evict_last;
};

/* Called by conn/tunnel teardown; finishes a drain when the last one goes. */
void server_conn_gone(struct server *sv);

/* Log the counters (and the cache's) at info level. */
void server_log_stats(const struct server *sv);

#endif
