/*
 * pass.h - answering a request through a fetch: the upstream's answer is
 * relayed (pass), cut to the client's range (slice), or handed back for a
 * HEAD synthesized through a fill; a CONNECT's established exchange is
 * handed back for the tunnel.
 *
 * conn.c owns a struct pass per connection and hears from it only through
 * struct pass_cb; pass.c never sees struct conn.
 */
#ifndef WSUS_PASS_H
#define WSUS_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

struct server;
struct cfg_ref;
struct fetch;
struct evbuffer;
struct bufferevent;
struct http_msg;
struct req_target;
struct spool;

/* How a pass ends. Each is delivered once, through pcb_end. */
enum pass_outcome {
    PASS_DONE = 0,    /* the response's last byte is queued */
    PASS_SLICE_DONE,  /* the wanted range is queued; the rest of the
                       * upstream body was dropped */
    PASS_NEEDS_SYNTH, /* HEAD answered 200 without a length: learn the
                       * length through a cache fill; nothing was sent */
    PASS_VERDICT,     /* nothing was sent: answer status with reason */
    PASS_FAILED,      /* nothing was sent: the upstream failed (status) */
    PASS_CUT,         /* the head was sent, the body cannot be completed */
    PASS_TUNNEL,      /* CONNECT established: take the bufferevent */
};

struct pass_cb {
    /* The client's output buffer, where the response goes. */
    struct evbuffer *(*pcb_output)(void *arg);
    /* n bytes were added to the output buffer. */
    void (*pcb_sent)(void *arg, uint64_t n);
    /* May the client connection stay open after this response? */
    int (*pcb_keep_ok)(void *arg);
    /* The response head is queued: status, plan (framing, keep-alive) and
     * plan_name ("slice") or NULL. */
    void (*pcb_head)(void *arg, int status, const struct resp_plan *plan,
                     const char *plan_name);
    /* The last call: the owner may pass_stop from inside it. status and
     * reason (static text, or NULL) for VERDICT, FAILED and CUT. */
    void (*pcb_end)(void *arg, enum pass_outcome oc, int status,
                    const char *reason);
};

/* What a pass needs of the request; the pointers stay valid until
 * pass_stop. */
struct pass_req {
    struct server *pr_srv;
    struct cfg_ref *pr_cfgr;
    const struct http_msg *pr_req;
    const struct req_target *pr_tgt;
    const char *pr_reqid;
    const struct spool *pr_body;
    uint64_t pr_client; /* the client connection's id (fetch_req) */
    /* The cache declined this request (or this URL lately): no HEAD
     * synthesis through a fill. */
    int pr_uncached;
    /* The entity's length when the cache learnt it before declining
     * (cache_refused_length), else UINT64_MAX: a ranged GET whose 200
     * gives no length is sliced with it. */
    uint64_t pr_length;
};

struct pass {
    struct fetch *ps_fetch;
    const struct pass_cb *ps_cb;
    void *ps_arg;
    const struct http_msg *ps_req;
    int ps_synth_ok; /* a HEAD without a length may become a fill */
    int ps_slice;    /* [range] mode slice, or mode cache: a ranged GET
                      * the cache did not take is sliced */
    uint64_t ps_max_discard;
    uint64_t ps_length;        /* pr_length */
    enum pass_outcome ps_stop; /* why a fetch callback stopped it;
                                * PASS_DONE while it runs on */
    int ps_stopped;
    int ps_status; /* of a verdict */
    const char *ps_reason;
    char ps_why[96];
    char *ps_challenge; /* Proxy-Authenticate of a CONNECT's 407 */
    uint64_t ps_skip;   /* body bytes to drop before sending */
    uint64_t ps_take;   /* body bytes still to send; UINT64_MAX: all */
    int ps_paused;
    struct resp_plan ps_plan;
};

/* An idle pass (no fetch). */
void pass_init(struct pass *ps);

/* Start the exchange; callbacks come from the event loop, never from
 * inside pass_start. Returns 0 or -1 (ENOMEM, nothing started). */
int pass_start(struct pass *ps, const struct pass_req *pr,
               const struct pass_cb *cb, void *arg);

/* The client drained its output below the low mark: resume reading the
 * upstream if it was paused. */
void pass_resume(struct pass *ps);

/* After PASS_TUNNEL: take the upstream bufferevent (pass_stop still
 * applies). */
struct bufferevent *pass_take_bev(struct pass *ps);

/* After PASS_VERDICT for a CONNECT's 407: the upstream's challenge to
 * hand to the client, or NULL. The pass keeps it until pass_stop. */
const char *pass_challenge(const struct pass *ps);

/* The hop in use ("direct", "host:port"), "" when no fetch runs. */
const char *pass_upstream(const struct pass *ps);

/* Free the fetch and forget the exchange; idempotent. */
void pass_stop(struct pass *ps);

#endif
