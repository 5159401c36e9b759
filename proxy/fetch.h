/*
 * fetch.h - one upstream exchange: pick the hop (direct or the parents in
 * order with failover), connect, send the normalized request, parse the
 * response and hand its head and body to the owner.
 *
 * Owners are a client connection (conn.c) and a shared cache fill
 * (fill.c), which outlives the client that started it. The fetch never
 * calls back from inside fetch_start, and after fc_done or fc_fail it does
 * nothing more, so the owner may free it from inside those two.
 */
#ifndef WSUS_FETCH_H
#define WSUS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "http_msg.h"
#include "normalize.h"

struct server;
struct cfg_ref;
struct fetch;
struct evbuffer;
struct evbuffer_file_segment;
struct bufferevent;

struct fetch_cb {
    /* The final response head (1xx are skipped). Return 0 to go on or -1
     * to stop; the fetch then calls fc_fail(arg, 0, NULL) once the parser
     * has returned. resp stays valid until the fetch is freed. */
    int (*fc_head)(void *arg, struct http_msg *resp);
    /* Body bytes (framing removed). Return 0 or -1 as for fc_head. */
    int (*fc_body)(void *arg, const char *p, size_t n);
    /* The response is complete. For CONNECT: the tunnel can start. */
    void (*fc_done)(void *arg);
    /* The exchange failed. status: what to answer when no head was seen
     * (502 or 504), or 0 after the owner stopped it. reason: text or
     * NULL, valid until the fetch is freed (copy it before fetch_free).
     * head_seen: fc_head ran (the body was cut short). */
    void (*fc_fail)(void *arg, int status, const char *reason, int head_seen);
};

struct fetch_req {
    const struct http_msg *fr_req;   /* the request to send (not copied) */
    const struct req_target *fr_tgt; /* its target (not copied) */
    const char *fr_reqid;            /* for the log */
    struct evbuffer *fr_body;        /* body in memory, or NULL */
    struct evbuffer_file_segment *fr_body_seg; /* spooled body, or NULL */
    uint64_t fr_body_len;
    /* The client connection's id, or 0 (a shared cache fill). With
     * pass_client_auth the client authenticates to the parent itself, so
     * the upstream connections it used serve it alone: an NTLM handshake
     * from the client stays on one upstream connection. */
    uint64_t fr_client;
};

/* Start an exchange. fr's pointers must stay valid until the fetch is
 * freed. The first connect happens from the event loop. Returns NULL on
 * allocation failure. */
struct fetch *fetch_start(struct server *sv, struct cfg_ref *cfgr,
                          const struct fetch_req *fr, const struct fetch_cb *cb,
                          void *arg);
void fetch_free(struct fetch *f);

/* Backpressure from the owner: stop or resume reading the upstream. While
 * paused the body idle timer does not run. */
void fetch_pause(struct fetch *f, int paused);

/* After fc_done of a CONNECT: take the upstream bufferevent (bytes the
 * upstream sent after its 200 are still in its input). The fetch keeps
 * nothing of it. Its callbacks must be replaced by the taker. */
struct bufferevent *fetch_take_bev(struct fetch *f);

/* Did the request carry the shim's own Proxy-Authorization? */
int fetch_sent_auth(const struct fetch *f);

/* The hop in use: "direct" or "host:port" of the parent. */
const char *fetch_upstream(const struct fetch *f);

#endif
