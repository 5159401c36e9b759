/*
 * pool.c - parked upstream connections, one list per key.
 *
 * Buckets are a short singly linked list of keys, each with a doubly
 * linked list of connections, newest first: a site has a handful of
 * parents, so a linear walk over keys is cheaper than a hash table.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "pool.h"

struct bucket {
    struct bucket *b_next;
    char *b_key;
    struct upconn *b_head; /* newest first */
    size_t b_n;
};

struct pool {
    struct event_base *p_base;
    struct bucket *p_buckets;
    size_t p_idle;
    struct pool_stats p_stats;
};

struct upconn *
upconn_new(struct bufferevent *bev, const char *key)
{
    struct upconn *uc = calloc(1, sizeof(*uc));

    if (uc == NULL || (uc->uc_key = strdup(key)) == NULL) {
        free(uc);
        bufferevent_free(bev);
        return NULL;
    }
    uc->uc_bev = bev;
    return uc;
}

void
upconn_free(struct upconn *uc)
{
    if (uc == NULL)
        return;
    if (uc->uc_idle_ev != NULL)
        event_free(uc->uc_idle_ev);
    if (uc->uc_bev != NULL)
        bufferevent_free(uc->uc_bev);
    free(uc->uc_key);
    free(uc);
}

struct pool *
pool_new(struct event_base *base)
{
    struct pool *p = calloc(1, sizeof(*p));

    if (p != NULL)
        p->p_base = base;
    return p;
}

static struct bucket *
bucket_find(const struct pool *p, const char *key)
{
    struct bucket *b;

    for (b = p->p_buckets; b != NULL; b = b->b_next)
        if (strcmp(b->b_key, key) == 0)
            return b;
    return NULL;
}

/* Take uc out of its bucket (it stays allocated). */
static void
pool_unlink(struct upconn *uc)
{
    struct pool *p = uc->uc_pool;
    struct bucket *b = bucket_find(p, uc->uc_key);

    if (uc->uc_prev != NULL)
        uc->uc_prev->uc_next = uc->uc_next;
    else if (b != NULL)
        b->b_head = uc->uc_next;
    if (uc->uc_next != NULL)
        uc->uc_next->uc_prev = uc->uc_prev;
    uc->uc_next = uc->uc_prev = NULL;
    if (b != NULL)
        b->b_n--;
    p->p_idle--;
    uc->uc_pool = NULL;
    if (uc->uc_idle_ev != NULL)
        event_del(uc->uc_idle_ev);
    bufferevent_setcb(uc->uc_bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(uc->uc_bev, EV_READ);
}

static void
pool_close(struct upconn *uc)
{
    pool_unlink(uc);
    upconn_free(uc);
}

/* A parked connection is readable: the upstream closed it, reset it or
 * sent bytes nobody asked for. Either way it is of no further use. */
static void
idle_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    pool_close(arg);
}

static void
idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    pool_close(arg);
}

static void
idle_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pool_close(arg);
}

struct upconn *
pool_take(struct pool *p, const char *key)
{
    struct bucket *b = bucket_find(p, key);
    struct upconn *uc;

    if (b == NULL || (uc = b->b_head) == NULL)
        return NULL;
    pool_unlink(uc);
    p->p_stats.ps_reused++;
    return uc;
}

void
pool_park(struct pool *p, struct upconn *uc, uint32_t idle_ms,
          uint32_t max_idle)
{
    struct bucket *b;
    struct timeval tv = {(time_t)(idle_ms / 1000),
                         (long)(idle_ms % 1000) * 1000};

    if (max_idle == 0 || idle_ms == 0 ||
        evbuffer_get_length(bufferevent_get_input(uc->uc_bev)) > 0)
        goto drop;
    if ((b = bucket_find(p, uc->uc_key)) == NULL) {
        if ((b = calloc(1, sizeof(*b))) == NULL)
            goto drop;
        if ((b->b_key = strdup(uc->uc_key)) == NULL) {
            free(b);
            goto drop;
        }
        b->b_next = p->p_buckets;
        p->p_buckets = b;
    }
    if (uc->uc_idle_ev == NULL &&
        (uc->uc_idle_ev = evtimer_new(p->p_base, idle_timeout_cb, uc)) == NULL)
        goto drop;
    uc->uc_pool = p;
    uc->uc_prev = NULL;
    uc->uc_next = b->b_head;
    if (b->b_head != NULL)
        b->b_head->uc_prev = uc;
    b->b_head = uc;
    b->b_n++;
    p->p_idle++;
    bufferevent_setcb(uc->uc_bev, idle_read_cb, NULL, idle_event_cb, uc);
    bufferevent_setwatermark(uc->uc_bev, EV_READ, 0, 0);
    bufferevent_enable(uc->uc_bev, EV_READ);
    bufferevent_disable(uc->uc_bev, EV_WRITE);
    event_add(uc->uc_idle_ev, &tv);
    /* Over the cap: the oldest go. */
    while (b->b_n > max_idle) {
        struct upconn *old = b->b_head;
        /* pool_close unlinks old from b (its bucket, found by its key),
         * so b_head and b_n move on; the analyzer cannot follow the
         * lookup and thinks a freed entry stays listed. */
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
        while (old->uc_next != NULL)
            old = old->uc_next;
        pool_close(old);
    }
    return;
drop:
    upconn_free(uc);
}

void
pool_clear(struct pool *p)
{
    for (struct bucket *b = p->p_buckets; b != NULL; b = b->b_next)
        while (b->b_head != NULL)
            /* as above: pool_close moves b_head on */
            // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
            pool_close(b->b_head);
}

void
pool_free(struct pool *p)
{
    struct bucket *b, *next;

    if (p == NULL)
        return;
    pool_clear(p);
    for (b = p->p_buckets; b != NULL; b = next) {
        next = b->b_next;
        free(b->b_key);
        free(b);
    }
    free(p);
}

size_t
pool_idle(const struct pool *p, const char *key)
{
    const struct bucket *b;

    if (key == NULL)
        return p->p_idle;
    b = bucket_find(p, key);
    return b != NULL ? b->b_n : 0;
}

struct pool_stats *
pool_stats(struct pool *p)
{
    return &p->p_stats;
}

size_t
pool_idle_prefix(const struct pool *p, const char *prefix)
{
    const struct bucket *b;
    size_t n = 0, plen = strlen(prefix);

    for (b = p->p_buckets; b != NULL; b = b->b_next)
        if (strncmp(b->b_key, prefix, plen) == 0)
            n += b->b_n;
    return n;
}
