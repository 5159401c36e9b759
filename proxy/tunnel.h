/*
 * tunnel.h - the byte pump of an established CONNECT tunnel.
 *
 * Both directions stream with backpressure; a half-close on one side is
 * passed on to the other once its pending bytes are written. The tunnel
 * owns both bufferevents and writes the access-log line when it ends.
 */
#ifndef WSUS_TUNNEL_H
#define WSUS_TUNNEL_H

#include <stdint.h>

struct server;
struct bufferevent;

struct tunnel_info {
    const char *ti_client;   /* "addr:port" */
    const char *ti_target;   /* "host:443" */
    const char *ti_upstream; /* label of the hop used */
    const char *ti_reqid;
    uint64_t ti_t0_ms;    /* when the CONNECT arrived */
    uint64_t ti_bytes_in; /* request head bytes already counted */
    uint32_t ti_idle_ms;  /* idle timeout for both directions */
};

/* Start pumping between client and upstream. Takes ownership of both
 * bufferevents (freed on failure too). Returns 0 or -1. */
int tunnel_start(struct server *sv, struct bufferevent *client,
                 struct bufferevent *upstream, const struct tunnel_info *ti);

void tunnel_close_all(struct server *sv);

#endif
