/*
 * fill.h - a cache fill shared by every client that wants the same URL.
 *
 * The first client that misses the cache starts a fill: one upstream GET of
 * the whole entity (no Range), written into the content cache. Clients
 * watch it and are served from the bytes on disk as they arrive; the fill
 * outlives the client that started it. At the end the entry is verified
 * (length, SHA-1 named by the URL) and committed, or discarded.
 */
#ifndef WSUS_FILL_H
#define WSUS_FILL_H

#include <stdint.h>

#include "cache.h"

struct server;
struct cfg_ref;
struct http_msg;
struct req_target;
struct fill;

enum fill_event {
    FILL_EV_HEAD = 0, /* the upstream answered 200: meta and maybe total */
    FILL_EV_DATA,     /* more bytes are on disk */
    FILL_EV_DONE,     /* committed: serve from the cache entry now */
    FILL_EV_FAIL,     /* failed: see fill_error */
};

/* A client's subscription; embedded in the watcher's own struct. */
struct fill_watch {
    struct fill_watch *fw_next;
    void (*fw_cb)(void *arg, enum fill_event ev);
    void *fw_arg;
};

/* The fill for url, or a new one started for req/tgt (the client's
 * request: its headers are copied, less Range and conditionals). Returns
 * NULL on failure to start (out of memory, cache file error). */
struct fill *fill_get(struct server *sv, struct cfg_ref *cfgr, const char *url,
                      const struct http_msg *req, const struct req_target *tgt,
                      const char *reqid);

/* The fill under way for url, or NULL. */
struct fill *fill_find(struct server *sv, const char *url);

/* Subscribe / unsubscribe. Callbacks come from the event loop, never from
 * inside fill_watch. A fill with no watcher goes on to fill the cache. */
void fill_watch(struct fill *f, struct fill_watch *w);
void fill_unwatch(struct fill *f, struct fill_watch *w);

/* The upstream's answer is known (FILL_EV_HEAD has happened). */
int fill_has_head(const struct fill *f);
/* The total length, when the upstream announced it (or at commit). */
int fill_total(const struct fill *f, uint64_t *total);
/* Validators and content type captured from the upstream. */
const struct cache_meta *fill_meta(const struct fill *f);
/* Bytes that may be served now: everything written except the last byte,
 * which is held back until the entry is verified and committed. */
uint64_t fill_available(const struct fill *f);
/* Descriptor of the data written so far (plat_pread). Valid until
 * FILL_EV_DONE/FAIL has been delivered. */
int fill_fd(const struct fill *f);

/* After FILL_EV_FAIL: the status to answer (502/504), a reason, and
 * whether the client should rather be answered by a plain pass-through
 * (the upstream answered something not cacheable, like a 404). */
int fill_error(const struct fill *f, const char **reason, int *use_pass);

/* Where the fill came from, for the access log. */
const char *fill_upstream(const struct fill *f);

/* What the status page shows of a fill; the strings are the fill's,
 * valid until the event loop runs again. */
struct fill_info {
    const char *fi_url;
    const char *fi_reqid;    /* of the request that started it */
    const char *fi_upstream; /* "-" until known */
    uint64_t fi_written;     /* bytes on disk */
    int fi_total_known;
    uint64_t fi_total;
    uint64_t fi_t0_ms;    /* monotonic start */
    unsigned fi_watchers; /* clients watching it now */
};
void fill_get_info(const struct fill *f, struct fill_info *fi);

/* The fills under way: the first (f NULL) or the one after f; NULL at
 * the end. Read-only walk; do not start or stop fills during it. */
const struct fill *fill_list_next(const struct server *sv,
                                  const struct fill *f);

/* Stop every fill (shutdown). */
void fill_abort_all(struct server *sv);

#endif
