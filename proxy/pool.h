/*
 * pool.h - idle upstream connections, kept for the next request.
 *
 * A connection is parked here only after a complete, length-delimited
 * response on it, when the upstream said it keeps the connection open.
 * Connections are keyed by destination and identity ("parent host:port"
 * or the origin when direct, plus who authenticated on it), so a
 * connection authenticated as one account never carries another's
 * request. An idle connection is closed after its idle time, when the
 * upstream closes it or sends anything unasked, and when its bucket is
 * over max_idle (the oldest goes first).
 *
 * The pool owns parked connections; pool_take hands one to the caller,
 * who then owns it (and its bufferevent) until it frees or parks it.
 */
#ifndef WSUS_POOL_H
#define WSUS_POOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;
struct pool;

/* One upstream connection with what was learnt on it. */
struct upconn {
    struct upconn *uc_next; /* in its pool bucket while parked */
    struct upconn *uc_prev;
    struct pool *uc_pool;       /* set while parked */
    struct bufferevent *uc_bev; /* owned */
    struct event *uc_idle_ev;   /* idle timer while parked */
    char *uc_key;               /* the pool key it belongs to */
};

/* An unparked connection around bev (taken) for key (copied). NULL when
 * out of memory (bev is then freed). */
struct upconn *upconn_new(struct bufferevent *bev, const char *key);
/* Close and free; NULL is fine. */
void upconn_free(struct upconn *uc);

struct pool *pool_new(struct event_base *base);
/* Close every parked connection and free the pool. */
void pool_free(struct pool *p);

/* The most recently parked connection for key, unparked; or NULL. */
struct upconn *pool_take(struct pool *p, const char *key);

/* Park uc (the pool takes it) for at most idle_ms; when key's bucket
 * then holds more than max_idle, the oldest are closed. max_idle 0 closes
 * uc at once. Its bufferevent's callbacks are replaced. */
void pool_park(struct pool *p, struct upconn *uc, uint32_t idle_ms,
               uint32_t max_idle);

/* Close every parked connection (a reload: credentials may have changed). */
void pool_clear(struct pool *p);

/* Parked connections in all, and for one key (NULL: all). */
size_t pool_idle(const struct pool *p, const char *key);

/* Connections opened for the pool's users and reuses, for the status
 * output and the tests. */
struct pool_stats {
    uint64_t ps_opened;  /* new upstream connections */
    uint64_t ps_reused;  /* requests sent on a parked connection */
    uint64_t ps_retried; /* reused connections that were stale */
};
struct pool_stats *pool_stats(struct pool *p);

/* Parked connections whose key starts with prefix (every identity of
 * one destination: "parent|host|port|"), for the status page. */
size_t pool_idle_prefix(const struct pool *p, const char *prefix);

#endif
