/*
 * metrics.h - the counters behind /metrics that the rest of the daemon
 * does not keep already: requests by plan and status, client bytes each
 * way, upstream failures by parent. Fixed tables, no allocation; pure
 * (status_render.c turns them into the Prometheus text format).
 */
#ifndef WSUS_METRICS_H
#define WSUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_REQ 64 /* (plan, status) pairs; more go to "other" */
#define METRICS_MAX_UP 16  /* hops; more go to "other" */

struct metrics_req {
    char mr_plan[16];
    int mr_status;
    uint64_t mr_n;
};

struct metrics_up {
    char mu_label[300];
    uint64_t mu_failures;
};

struct metrics {
    struct metrics_req mt_req[METRICS_MAX_REQ];
    size_t mt_nreq;
    uint64_t mt_bytes_in;  /* request bytes read from clients */
    uint64_t mt_bytes_out; /* response bytes written to clients */
    struct metrics_up mt_up[METRICS_MAX_UP];
    size_t mt_nup;
};

/* One answered request: its plan ("pass", "cache-hit"...; NULL: "-"),
 * status, and bytes in and out. */
void metrics_request(struct metrics *m, const char *plan, int status,
                     uint64_t in, uint64_t out);

/* The hop label ("host:port", "direct") failed to answer a request. */
void metrics_upstream_failure(struct metrics *m, const char *label);

#endif
