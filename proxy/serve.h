/*
 * serve.h - answering a request from the content cache: a committed entry
 * (a hit, sent straight from the file) or a fill under way (bytes sent
 * from disk as they arrive), with 200, 206 or 416 decided by relay.c.
 *
 * conn.c owns a struct serve per connection and hears from it only
 * through struct serve_cb; serve.c never sees struct conn.
 */
#ifndef WSUS_SERVE_H
#define WSUS_SERVE_H

#include <stdint.h>

#include "fill.h"
#include "relay.h"

struct server;
struct cfg_ref;
struct cache_meta;
struct evbuffer;
struct http_msg;
struct req_target;

/* How serving ends. Each is delivered once, through scb_end. */
enum serve_outcome {
    SERVE_DONE = 0, /* the response's last byte is queued */
    SERVE_ERROR,    /* nothing was sent: answer status with reason */
    SERVE_CUT,      /* the head was sent, the body cannot be completed */
    SERVE_USE_PASS, /* the fill declined (not cacheable, a 404...):
                     * answer through a plain pass; nothing was sent */
};

struct serve_cb {
    /* The client's output buffer, where the response goes. */
    struct evbuffer *(*scb_output)(void *arg);
    /* n bytes were added to the output buffer. */
    void (*scb_sent)(void *arg, uint64_t n);
    /* May the client connection stay open after this response? */
    int (*scb_keep_ok)(void *arg);
    /* The response head is queued. */
    void (*scb_head)(void *arg, int status, const struct resp_plan *plan);
    /* The last call: the owner may serve_stop from inside it. status and
     * reason for ERROR and CUT. */
    void (*scb_end)(void *arg, enum serve_outcome oc, int status,
                    const char *reason);
};

/* What serving needs of the request; valid until serve_stop. */
struct serve_req {
    struct server *sr_srv;
    struct cfg_ref *sr_cfgr;
    const struct http_msg *sr_req;
    const struct req_target *sr_tgt;
    const char *sr_url;
    const char *sr_reqid;
};

struct serve {
    const struct serve_cb *se_cb;
    void *se_arg;
    const struct http_msg *se_req;
    const char *se_reqid;
    struct fill *se_fill;
    struct fill_watch se_watch;
    int se_watching;
    int se_head_sent;
    uint64_t se_pos; /* next entity byte to queue */
    uint64_t se_end; /* one past the last byte to queue */
    struct resp_plan se_plan;
    char se_up[300]; /* the fill's upstream, once known */
};

/* An idle serve. */
void serve_init(struct serve *se);

/* Answer from a committed entry: meta, fd (its open file) and hold from
 * the lookup, both taken: fd is closed and hold released (cache_release)
 * once the last byte queued from the file has left the output buffer,
 * or here when none is queued, so no eviction takes the entry while a
 * client is still being sent it. Runs to its end before it returns:
 * scb_end is called from inside. */
void serve_hit(struct serve *se, const struct serve_req *sr,
               const struct cache_meta *meta, int fd, struct cache_ent *hold,
               const struct serve_cb *cb, void *arg);

/* Answer from the fill for sr_url, starting one if none is under way.
 * Callbacks come from the event loop. Returns 0, or -1 when no fill could
 * start (nothing was sent, no callback will come). */
int serve_fill(struct serve *se, const struct serve_req *sr,
               const struct serve_cb *cb, void *arg);

/* The client drained its output below the low mark: queue more. */
void serve_resume(struct serve *se);

/* The fill's upstream for the log, "" until known. */
const char *serve_upstream(const struct serve *se);

/* Stop watching the fill; idempotent. */
void serve_stop(struct serve *se);

#endif
