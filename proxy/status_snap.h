/*
 * status_snap.h - what the operator's view shows, as a plain struct, and
 * its two renderings: the JSON of /status.json and the Prometheus text of
 * /metrics. status_collect.c fills a snapshot from the live server; the
 * renderers (status_render.c) are pure and see nothing else, so the
 * tests build snapshots by hand. No credential or conf secret has a
 * field here: nothing else can reach the output.
 */
#ifndef WSUS_STATUS_SNAP_H
#define WSUS_STATUS_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "errring.h"
#include "metrics.h"

#define STATUS_MAX_PARENTS 16
#define STATUS_MAX_XFERS 64

struct status_parent {
    const char *sp_label;      /* "host:port" */
    int sp_down;               /* held down now */
    uint64_t sp_down_ms;       /* hold-down left, ms */
    int64_t sp_down_until;     /* wall clock, seconds; 0 when up */
    const char *sp_http;       /* "1.0", "1.1" as it answered, "not seen" */
    const char *sp_why;        /* its last failure's reason, or "" */
    const char *sp_keep_alive; /* "yes" (pooled), "no", "unknown" */
    const char *sp_scheme;     /* auth scheme in use ("none", "NTLM"...) */
    uint64_t sp_idle;          /* pooled idle connections */
    uint64_t sp_failures;      /* requests it failed */
    const struct errrec *sp_last_err; /* its newest error, or NULL */
};

struct status_xfer {
    const char *sx_url;
    const char *sx_client; /* the first client */
    const char *sx_plan;   /* "cache-fill", "pass", "slice"... */
    const char *sx_reqid;
    const char *sx_upstream; /* "" until known */
    uint64_t sx_done;        /* bytes */
    int sx_total_known;
    uint64_t sx_total;
    uint64_t sx_ms;      /* running time */
    unsigned sx_clients; /* clients served by it */
};

struct status_snap {
    const char *ss_version;
    int64_t ss_now;     /* wall clock, seconds */
    int64_t ss_started; /* wall clock, seconds */
    uint64_t ss_uptime_ms;
    const char *ss_conf;       /* conf file path, or NULL */
    const char *ss_listen;     /* "127.0.0.1:8181" */
    char ss_listen_buf[96];    /* storage for ss_listen, if needed */
    const char *ss_range_mode; /* "cache", "slice", "pass" */

    /* The counters of the first /status (kept as they were). */
    unsigned ss_connections;
    uint64_t ss_requests, ss_errors, ss_tunnels, ss_bytes_out;
    uint64_t ss_bytes_up, ss_refused;

    int ss_cache_on;
    const char *ss_cache_state; /* "enabled", "unavailable", "off" */
    const char *ss_cache_why;   /* with "unavailable", else NULL */
    struct cache_stats ss_cache;
    uint64_t ss_cache_max;
    int ss_free_known;
    uint64_t ss_cache_free; /* free bytes on the cache's volume */
    int64_t ss_evict_time;  /* when evictions last grew; 0: never */
    uint64_t ss_evict_last; /* how many were evicted then */

    uint64_t ss_pool_idle, ss_pool_opened, ss_pool_reused, ss_pool_retried;
    unsigned ss_active_xfers; /* transfers in flight (all of them) */

    struct status_parent ss_parents[STATUS_MAX_PARENTS];
    size_t ss_nparents;
    struct status_xfer ss_xfers[STATUS_MAX_XFERS];
    size_t ss_nxfers;
    const struct errring *ss_errs;    /* NULL: none */
    const struct metrics *ss_metrics; /* NULL: none */
};

/* The JSON document, "\n"-terminated, in a malloc'd buffer of *len bytes
 * (the caller frees it); NULL on ENOMEM. Every string is escaped for
 * JSON, and <, > and & as \u00XX too, so no text can close a <script>. */
char *status_render_json(const struct status_snap *s, size_t *len);

/* The Prometheus text format (version 0.0.4), same contract. */
char *status_render_metrics(const struct status_snap *s, size_t *len);

/* Append the JSON string literal of text (quotes included) to out, of
 * size bytes. Returns the length it needs (like snprintf), so a caller
 * can size its buffer. */
size_t status_json_str(char *out, size_t size, const char *text);

#endif
