/*
 * conn.h - one client connection of the proxy: request parsing, policy,
 * the upstream exchange and the relay back, keep-alive and pipelining.
 * The connection state machine lives entirely in conn.c.
 */
#ifndef WSUS_CONN_H
#define WSUS_CONN_H

#include <stdint.h>

#include <event2/util.h>

struct server;
struct sockaddr;
struct fill;

/* Take over an accepted socket (fd is closed on failure). Returns 0 or -1. */
int conn_new(struct server *sv, evutil_socket_t fd, const struct sockaddr *sa,
             int salen);

/* Graceful stop: idle connections close now, busy ones after their
 * current response. */
void conn_drain_all(struct server *sv);

/* Close every connection at once (end of drain timeout, shutdown). */
void conn_close_all(struct server *sv);

/* A client connection's answer in flight, for the status page. The
 * strings belong to the connection: valid until the event loop runs. */
struct conn_xfer {
    const char *cx_peer;
    const char *cx_url;
    const char *cx_plan; /* "pass", "slice", "cache-fill"... */
    const char *cx_reqid;
    const char *cx_upstream;    /* "" until known */
    const struct fill *cx_fill; /* the fill it is served from, or NULL */
    uint64_t cx_done;           /* bytes sent to the client */
    int cx_total_known;
    uint64_t cx_total; /* the body length announced */
    uint64_t cx_t0_ms; /* monotonic start of the request */
};

/* Fill out[0..max) with the connections answering a request now (waiting
 * for the upstream, relaying, or serving from the cache or a fill).
 * Returns how many there are, which may exceed max. */
size_t conn_transfers(const struct server *sv, struct conn_xfer *out,
                      size_t max);

#endif
