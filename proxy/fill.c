/*
 * fill.c - cache fills shared between clients.
 *
 *   FETCHING --200--> STREAMING --complete, verified--> COMMITTED
 *       |                 |
 *       +-----------------+--> FAILED (non-200, HTML page, reset,
 *                                      length or SHA-1 mismatch)
 *
 * Watchers are told what happened through deferred events, never from
 * inside a call they made. While streaming, the bytes on disk can be
 * served except the very last one: a client gets the end of the entity
 * only once the whole body has been verified and committed, so a body
 * that fails its SHA-1 never ends in a response that looks complete. A
 * finished fill leaves the server's list at once (new requests go to the
 * cache or start afresh) and is freed when its last watcher leaves.
 *
 * The cache writes and hashes on its worker thread (offload.c): "on
 * disk" grows as its jobs complete (fill_progress_cb), and the upstream
 * is paused while FILL_QUEUE_MAX bytes (2 MiB) wait for the disk, so
 * memory stays bounded however fast the parent and however slow the disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fetch.h"
#include "fill.h"
#include "shim_limits.h"
#include "strutil.h"
#include "log.h"
#include "normalize.h"
#include "plat.h"
#include "server.h"

/* The upstream pauses above this many bytes not yet on disk, and goes on
 * below half of it. */
#define FILL_QUEUE_MAX ((uint64_t)2 << 20)

enum fill_state {
    FILL_FETCHING = 0,
    FILL_STREAMING,
    FILL_COMMITTED,
    FILL_FAILED,
};

struct fill {
    struct fill *fl_next;
    struct fill *fl_prev;
    int fl_listed;
    struct server *fl_srv;
    struct cfg_ref *fl_cfgr;
    char *fl_url;
    char fl_reqid[REQID_LEN + 1];
    struct http_msg fl_req; /* the GET sent upstream */
    struct req_target fl_tgt;
    struct fetch *fl_fetch;
    struct http_msg fl_hreq; /* the length probe: a HEAD of the same URL */
    struct fetch *fl_probe;  /* while the probe runs */
    char fl_declined[160];   /* the GET stopped, waiting for the probe */
    struct cache_fill *fl_cf;
    int fl_committing;         /* cache_fill_commit asked, not answered */
    int fl_paused;             /* the GET waits for the disk */
    struct event *fl_progress; /* the cache's news, on the loop */
    int fl_fd;                 /* committed entry, opened for watchers */
    struct cache_ent *fl_hold; /* fl_fd's entry, held against eviction */
    enum fill_state fl_state;
    struct cache_meta fl_meta;
    int fl_total_known;
    uint64_t fl_total;
    uint64_t fl_written; /* on disk */
    uint64_t fl_got;     /* body bytes the GET delivered */
    uint64_t fl_t0_ms;   /* monotonic, when it started */
    int fl_err_status;
    int fl_err_pass;
    char fl_err[160];
    char fl_upstream[300];
    struct fill_watch *fl_watchers;
    struct event *fl_notify;
    unsigned fl_pending; /* 1 << enum fill_event */
};

static const char *const skip_hdrs[] = {
    "Range",          "If-Range",          "If-Match",
    "If-None-Match",  "If-Modified-Since", "If-Unmodified-Since",
    "Content-Length", "Transfer-Encoding", "Expect",
};

static void fill_unlist(struct fill *f);

static void
fill_free(struct fill *f)
{
    fill_unlist(f);
    if (f->fl_fetch != NULL)
        fetch_free(f->fl_fetch);
    if (f->fl_probe != NULL)
        fetch_free(f->fl_probe);
    if (f->fl_cf != NULL)
        cache_fill_abort(f->fl_cf);
    if (f->fl_fd != -1)
        plat_close(f->fl_fd);
    cache_release(f->fl_hold);
    if (f->fl_notify != NULL)
        event_free(f->fl_notify);
    if (f->fl_progress != NULL)
        event_free(f->fl_progress);
    http_msg_free(&f->fl_req);
    http_msg_free(&f->fl_hreq);
    req_target_free(&f->fl_tgt);
    free(f->fl_url);
    cfg_ref_drop(f->fl_cfgr);
    free(f);
}

static int
fill_finished(const struct fill *f)
{
    return f->fl_state == FILL_COMMITTED || f->fl_state == FILL_FAILED;
}

static void
fill_maybe_free(struct fill *f)
{
    if (fill_finished(f) && f->fl_watchers == NULL && f->fl_pending == 0)
        fill_free(f);
}

static void
fill_unlist(struct fill *f)
{
    struct server *sv = f->fl_srv;

    if (!f->fl_listed)
        return;
    if (f->fl_prev != NULL)
        f->fl_prev->fl_next = f->fl_next;
    else
        sv->sv_fills = f->fl_next;
    if (f->fl_next != NULL)
        f->fl_next->fl_prev = f->fl_prev;
    f->fl_next = f->fl_prev = NULL;
    f->fl_listed = 0;
}

static void
fill_notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fill *f = arg;
    static const enum fill_event order[] = {FILL_EV_HEAD, FILL_EV_DATA,
                                            FILL_EV_DONE, FILL_EV_FAIL};

    (void)fd;
    (void)what;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        unsigned bit = 1u << order[i];
        if (!(f->fl_pending & bit))
            continue;
        f->fl_pending &= ~bit;
        struct fill_watch *w = f->fl_watchers, *next;
        for (; w != NULL; w = next) {
            next = w->fw_next; /* the callback may unwatch w */
            w->fw_cb(w->fw_arg, order[i]);
        }
    }
    fill_maybe_free(f);
}

static void
fill_post(struct fill *f, enum fill_event ev)
{
    f->fl_pending |= 1u << ev;
    event_active(f->fl_notify, EV_TIMEOUT, 0);
}

static void
fill_fail(struct fill *f, int status, const char *reason, int use_pass)
{
    if (fill_finished(f))
        return;
    if (f->fl_cf != NULL) {
        cache_fill_abort(f->fl_cf);
        f->fl_cf = NULL;
    }
    f->fl_state = FILL_FAILED;
    f->fl_err_status = status;
    f->fl_err_pass = use_pass;
    snprintf(f->fl_err, sizeof(f->fl_err), "%.150s", reason);
    fill_unlist(f);
    if (!use_pass)
        log_warnx("req %s: cache fill of %s failed: %s", f->fl_reqid, f->fl_url,
                  reason);
    fill_post(f, FILL_EV_FAIL);
}

/* The entity cannot be cached (too big, no space, a write error, a
 * failed check): the fill stops, clients whose answer has begun are cut,
 * the others and later requests for the URL (cache_refuse) are answered
 * without the cache (a pass, sliced for a range). */
static void
fill_decline(struct fill *f, const char *why)
{
    char reason[sizeof(f->fl_err)];

    /* why may live in the cache fill, which fill_fail frees. */
    snprintf(reason, sizeof(reason), "%s", why);
    log_warnx("req %s: cache fill of %s stopped, serving it without the "
              "cache: %s",
              f->fl_reqid, f->fl_url, reason);
    /* A length the body already ran past (a HEAD that said less) is
     * wrong: nobody may slice with it. */
    if (f->fl_srv->sv_cache != NULL)
        cache_refuse(f->fl_srv->sv_cache, f->fl_url,
                     f->fl_total_known && f->fl_got <= f->fl_total
                         ? f->fl_total
                         : UINT64_MAX);
    fill_fail(f, 502, reason, 1);
}

static void
copy_field(char *dst, size_t len, const char *v)
{
    size_t n = 0;

    /* Validators are stored as received when they fit and are clean;
     * otherwise dropped (an absent validator is better than a wrong one). */
    if (v == NULL || strlen(v) >= len) {
        dst[0] = '\0';
        return;
    }
    for (const char *p = v; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            dst[0] = '\0';
            return;
        }
    n = strlen(v);
    memcpy(dst, v, n + 1);
}

static void fill_probe_start(struct fill *f);
static void fill_cf_news(void *arg);

/* Is m a proxy's notice ("please wait", an error page) rather than the
 * file: an HTML page for a URL that names its content by SHA-1? Neither
 * its body nor its length is the entity's. */
static int
fill_notice_page(const struct fill *f, const struct http_msg *m)
{
    const char *ct = hdr_get(&m->hm_hdrs, "Content-Type");
    char sha[41];

    return cache_url_sha1(f->fl_url, sha) && ct != NULL &&
           str_iprefix(ct, "text/html");
}

static int
fl_head(void *arg, struct http_msg *m)
{
    struct fill *f = arg;
    char err[200];
    const char *ct = hdr_get(&m->hm_hdrs, "Content-Type");
    const char *ce = hdr_get(&m->hm_hdrs, "Content-Encoding");

    snprintf(f->fl_upstream, sizeof(f->fl_upstream), "%s",
             fetch_upstream(f->fl_fetch));
    if (m->hm_status != 200) {
        snprintf(err, sizeof(err), "upstream answered %d", m->hm_status);
        fill_fail(f, 502, err, 1);
        return -1;
    }
    if (fill_notice_page(f, m)) {
        fill_fail(f, 502,
                  "upstream sent an HTML page instead of the file "
                  "(a proxy notice or error page)",
                  0);
        return -1;
    }
    if (ce != NULL && strcmp(ce, "identity") != 0) {
        fill_fail(f, 502, "upstream sent an encoded body", 0);
        return -1;
    }
    memset(&f->fl_meta, 0, sizeof(f->fl_meta));
    copy_field(f->fl_meta.cm_etag, sizeof(f->fl_meta.cm_etag),
               hdr_get(&m->hm_hdrs, "ETag"));
    copy_field(f->fl_meta.cm_last_modified, sizeof(f->fl_meta.cm_last_modified),
               hdr_get(&m->hm_hdrs, "Last-Modified"));
    copy_field(f->fl_meta.cm_content_type, sizeof(f->fl_meta.cm_content_type),
               ct);
    if (m->hm_has_length && !m->hm_chunked) {
        f->fl_total_known = 1;
        f->fl_total = m->hm_length;
    }
    if (f->fl_srv->sv_cache == NULL) {
        /* The folder is unusable (daemon.c): this fill only learns the
         * length for a HEAD. */
        fill_fail(f, 502, "the cache is unavailable", 1);
        return -1;
    }
    f->fl_cf = cache_fill_begin(f->fl_srv->sv_cache, f->fl_url,
                                f->fl_total_known ? f->fl_total : UINT64_MAX,
                                &f->fl_meta, err, sizeof(err));
    if (f->fl_cf == NULL) {
        log_warnx("req %s: not caching %s: %s", f->fl_reqid, f->fl_url, err);
        cache_refuse(f->fl_srv->sv_cache, f->fl_url,
                     f->fl_total_known ? f->fl_total : UINT64_MAX);
        fill_fail(f, 502, err, 1);
        return -1;
    }
    cache_fill_set_notify(f->fl_cf, fill_cf_news, f);
    f->fl_state = FILL_STREAMING;
    fill_post(f, FILL_EV_HEAD);
    if (!f->fl_total_known)
        fill_probe_start(f);
    return 0;
}

/* The fill cannot be cached (cache_fill_why says why): with a HEAD still
 * out for the length, let it answer first, so that the clients' ranges
 * can be sliced (pr_end declines); else decline now. The GET is stopped
 * by the caller. */
static void
fill_broke(struct fill *f)
{
    const char *why = cache_fill_why(f->fl_cf);

    if (f->fl_probe != NULL && !f->fl_total_known) {
        snprintf(f->fl_declined, sizeof(f->fl_declined), "%s", why);
        return;
    }
    fill_decline(f, why);
}

/* What the cache did in the background, seen from the loop: more bytes
 * on disk for the watchers, room for the paused GET, or a write that
 * failed. */
static void
fill_progress_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fill *f = arg;

    (void)fd;
    (void)what;
    if (f->fl_cf == NULL || fill_finished(f))
        return;
    if (cache_fill_why(f->fl_cf)[0] != '\0') {
        if (f->fl_committing)
            return; /* fill_committed hears it */
        if (f->fl_fetch != NULL) {
            fetch_free(f->fl_fetch);
            f->fl_fetch = NULL;
        }
        fill_broke(f);
        return;
    }
    uint64_t w = cache_fill_written(f->fl_cf);
    if (w != f->fl_written) {
        f->fl_written = w;
        fill_post(f, FILL_EV_DATA);
    }
    if (f->fl_paused && f->fl_fetch != NULL &&
        cache_fill_queued(f->fl_cf) < FILL_QUEUE_MAX / 2) {
        f->fl_paused = 0;
        fetch_pause(f->fl_fetch, 0);
    }
}

/* The cache's notify: never act inside its call, from the loop instead. */
static void
fill_cf_news(void *arg)
{
    struct fill *f = arg;

    event_active(f->fl_progress, EV_TIMEOUT, 0);
}

static int
fl_body(void *arg, const char *p, size_t n)
{
    struct fill *f = arg;

    if (f->fl_cf == NULL)
        return -1;
    f->fl_got += n;
    if (cache_fill_write(f->fl_cf, p, n) == -1) {
        fill_broke(f);
        return -1;
    }
    if (!f->fl_paused && cache_fill_queued(f->fl_cf) >= FILL_QUEUE_MAX) {
        f->fl_paused = 1;
        fetch_pause(f->fl_fetch, 1);
    }
    return 0;
}

/* The commit's outcome (cache_fill_commit). */
static void
fill_committed(void *arg, const struct cache_commit *cc)
{
    struct fill *f = arg;
    struct cache_meta meta;
    int fd = -1;

    f->fl_cf = NULL;
    f->fl_committing = 0;
    if (cc->cc_rc == -1) {
        /* A body that failed its checks (length, SHA-1) is never shown
         * to anyone, sliced or not; a store that failed (fsync, rename)
         * leaves the client to a pass. */
        if (cc->cc_rejected)
            fill_fail(f, 502, cc->cc_err, 0);
        else
            fill_decline(f, cc->cc_err);
        return;
    }
    /* Watchers keep reading through the fill from the committed file. */
    if (cache_lookup(f->fl_srv->sv_cache, f->fl_url, &meta, &fd, &f->fl_hold) ==
        -1) {
        fill_fail(f, 502, "the committed entry vanished", 0);
        return;
    }
    f->fl_fd = fd;
    f->fl_meta = meta;
    f->fl_total = meta.cm_length;
    f->fl_total_known = 1;
    f->fl_written = meta.cm_length;
    f->fl_state = FILL_COMMITTED;
    fill_unlist(f);
    log_info("req %s: cached %s (%llu bytes, sha1 %s)", f->fl_reqid, f->fl_url,
             (unsigned long long)meta.cm_length, meta.cm_sha1);
    fill_post(f, FILL_EV_DONE);
}

/* The GET is complete: commit once every byte is on disk. Watchers go on
 * reading the temporary file meanwhile. */
static void
fl_done(void *arg)
{
    struct fill *f = arg;

    fetch_free(f->fl_fetch);
    f->fl_fetch = NULL;
    if (f->fl_cf == NULL) {
        fill_fail(f, 502, "empty fill", 0);
        return;
    }
    f->fl_committing = 1;
    cache_fill_commit(f->fl_cf, fill_committed, f);
}

static void
fl_fail(void *arg, int status, const char *reason, int head_seen)
{
    struct fill *f = arg;
    char why[sizeof(f->fl_err)];

    (void)head_seen;
    /* reason may live in the fetch: copied before it goes. */
    snprintf(why, sizeof(why), "%s", reason ? reason : "upstream failed");
    reason = why;
    fetch_free(f->fl_fetch);
    f->fl_fetch = NULL;
    if (f->fl_declined[0] != '\0')
        return; /* pr_end finishes it */
    if (!fill_finished(f))
        fill_fail(f, status ? status : 502, reason ? reason : "upstream failed",
                  0);
}

static const struct fetch_cb fill_fetch_cb = {fl_head, fl_body, fl_done,
                                              fl_fail};

/* ---- the length probe ----
 *
 * A parent that close-delimits its GET bodies (HTTP/1.0 legacy proxies)
 * gives no length until the last byte: a range cannot be answered before
 * the whole file is in, and BITS waits, its progress at zero. So when the
 * GET's head carries no length, the fill asks the parent for a HEAD of
 * the same URL alongside it. A 200 with a Content-Length (and the same
 * ETag when both give one) sets the fill's length: ranges are answered as
 * their bytes arrive, and the commit checks the body against it. Without
 * it nothing changes. */

static int
pr_head(void *arg, struct http_msg *m)
{
    struct fill *f = arg;
    const char *etag = hdr_get(&m->hm_hdrs, "ETag");
    char err[200];

    if (f->fl_state != FILL_STREAMING || f->fl_total_known ||
        m->hm_status != 200 || !m->hm_has_length || m->hm_chunked ||
        fill_notice_page(f, m))
        return -1;
    if (f->fl_declined[0] != '\0') {
        /* Not cached anyway: the length is for slicing (pr_end). */
        f->fl_total_known = 1;
        f->fl_total = m->hm_length;
        return -1;
    }
    if (etag != NULL && f->fl_meta.cm_etag[0] != '\0' &&
        strcmp(etag, f->fl_meta.cm_etag) != 0) {
        log_info("req %s: HEAD of %s gave another ETag, length not used",
                 f->fl_reqid, f->fl_url);
        return -1;
    }
    if (cache_fill_expect(f->fl_cf, m->hm_length, err, sizeof(err)) == -1) {
        /* The GET is not this callback's fetch: it may go here. */
        fetch_free(f->fl_fetch);
        f->fl_fetch = NULL;
        f->fl_total_known = 1;
        f->fl_total = m->hm_length;
        fill_decline(f, err);
        return -1;
    }
    f->fl_total_known = 1;
    f->fl_total = m->hm_length;
    log_debug("req %s: HEAD gave the length of %s: %llu", f->fl_reqid,
              f->fl_url, (unsigned long long)m->hm_length);
    /* Watchers waiting for a length can answer now. */
    fill_post(f, FILL_EV_HEAD);
    fill_post(f, FILL_EV_DATA);
    return -1;
}

static int
pr_body(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

static void
pr_end(struct fill *f)
{
    fetch_free(f->fl_probe);
    f->fl_probe = NULL;
    if (f->fl_declined[0] != '\0' && !fill_finished(f))
        fill_decline(f, f->fl_declined);
}

static void
pr_done(void *arg)
{
    pr_end(arg);
}

static void
pr_fail(void *arg, int status, const char *reason, int head_seen)
{
    (void)status;
    (void)reason;
    (void)head_seen;
    pr_end(arg);
}

static const struct fetch_cb probe_fetch_cb = {pr_head, pr_body, pr_done,
                                               pr_fail};

/* m as a request for the fill's URL (origin-form target parts in
 * fl_tgt), keep-alive HTTP/1.1. 0, or -1 when out of memory. */
static int
fill_msg_init(struct fill *f, struct http_msg *m, const char *method)
{
    http_msg_init(m, HTTP_KIND_REQUEST);
    m->hm_method = strdup(method);
    m->hm_target = strdup(f->fl_url);
    m->hm_major = 1;
    m->hm_minor = 1;
    m->hm_keep_alive = 1;
    m->hm_is_head = strcmp(method, "HEAD") == 0;
    return m->hm_method == NULL || m->hm_target == NULL ? -1 : 0;
}

/* Start a fetch of m to the fill's target. */
static struct fetch *
fill_fetch(struct fill *f, const struct http_msg *m, const struct fetch_cb *cb)
{
    struct fetch_req fr;

    memset(&fr, 0, sizeof(fr));
    fr.fr_req = m;
    fr.fr_tgt = &f->fl_tgt;
    fr.fr_reqid = f->fl_reqid;
    return fetch_start(f->fl_srv, f->fl_cfgr, &fr, cb, f);
}

/* Start the HEAD: the GET's request with another method. A probe that
 * cannot start is no loss: the fill goes on without a length. */
static void
fill_probe_start(struct fill *f)
{
    if (fill_msg_init(f, &f->fl_hreq, "HEAD") == -1)
        return;
    for (size_t i = 0; i < f->fl_req.hm_hdrs.hl_n; i++) {
        const struct hdr *h = &f->fl_req.hm_hdrs.hl_v[i];
        if (hdr_add(&f->fl_hreq.hm_hdrs, h->h_name, h->h_value) == -1)
            return;
    }
    f->fl_probe = fill_fetch(f, &f->fl_hreq, &probe_fetch_cb);
}

/* The GET sent upstream: the client's request less Range, conditionals
 * and body framing. */
static int
fill_build_request(struct fill *f, const struct http_msg *req,
                   const struct req_target *tgt)
{
    int rc = fill_msg_init(f, &f->fl_req, "GET");

    f->fl_tgt.rt_host = strdup(tgt->rt_host);
    f->fl_tgt.rt_path = strdup(tgt->rt_path);
    f->fl_tgt.rt_port = tgt->rt_port;
    f->fl_tgt.rt_absolute = 1;
    if (rc == -1 || f->fl_tgt.rt_host == NULL || f->fl_tgt.rt_path == NULL)
        return -1;
    for (size_t i = 0; i < req->hm_hdrs.hl_n; i++) {
        const struct hdr *h = &req->hm_hdrs.hl_v[i];
        int skip = 0;
        for (size_t k = 0; k < sizeof(skip_hdrs) / sizeof(skip_hdrs[0]); k++)
            if (evutil_ascii_strcasecmp(h->h_name, skip_hdrs[k]) == 0)
                skip = 1;
        if (!skip && hdr_add(&f->fl_req.hm_hdrs, h->h_name, h->h_value) == -1)
            return -1;
    }
    return 0;
}

struct fill *
fill_find(struct server *sv, const char *url)
{
    for (struct fill *f = sv->sv_fills; f != NULL; f = f->fl_next)
        if (strcmp(f->fl_url, url) == 0)
            return f;
    return NULL;
}

struct fill *
fill_get(struct server *sv, struct cfg_ref *cfgr, const char *url,
         const struct http_msg *req, const struct req_target *tgt,
         const char *reqid)
{
    struct fill *f;

    if ((f = fill_find(sv, url)) != NULL)
        return f;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->fl_srv = sv;
    f->fl_cfgr = cfg_ref_hold(cfgr);
    f->fl_fd = -1;
    f->fl_t0_ms = plat_monotonic_ms();
    snprintf(f->fl_reqid, sizeof(f->fl_reqid), "%s", reqid);
    snprintf(f->fl_upstream, sizeof(f->fl_upstream), "-");
    f->fl_url = strdup(url);
    f->fl_notify = event_new(sv->sv_base, -1, 0, fill_notify_cb, f);
    f->fl_progress = event_new(sv->sv_base, -1, 0, fill_progress_cb, f);
    if (f->fl_url == NULL || f->fl_notify == NULL || f->fl_progress == NULL ||
        fill_build_request(f, req, tgt) == -1)
        goto fail;
    f->fl_fetch = fill_fetch(f, &f->fl_req, &fill_fetch_cb);
    if (f->fl_fetch == NULL)
        goto fail;
    f->fl_next = sv->sv_fills;
    if (sv->sv_fills != NULL)
        sv->sv_fills->fl_prev = f;
    sv->sv_fills = f;
    f->fl_listed = 1;
    log_debug("req %s: cache fill of %s started", reqid, url);
    return f;
fail:
    fill_free(f);
    return NULL;
}

void
fill_watch(struct fill *f, struct fill_watch *w)
{
    w->fw_next = f->fl_watchers;
    f->fl_watchers = w;
    /* A late watcher catches up with what already happened. */
    if (f->fl_state != FILL_FETCHING)
        fill_post(f, FILL_EV_HEAD);
    if (f->fl_state == FILL_COMMITTED)
        fill_post(f, FILL_EV_DONE);
    if (f->fl_state == FILL_FAILED)
        fill_post(f, FILL_EV_FAIL);
}

void
fill_unwatch(struct fill *f, struct fill_watch *w)
{
    struct fill_watch **pp;

    for (pp = &f->fl_watchers; *pp != NULL; pp = &(*pp)->fw_next) {
        if (*pp == w) {
            *pp = w->fw_next;
            break;
        }
    }
    w->fw_next = NULL;
    if (f->fl_watchers == NULL && fill_finished(f)) {
        /* Pending events have nobody left to reach. Free from the event
         * loop: the caller may be inside fill_notify_cb. */
        f->fl_pending = 0;
        event_active(f->fl_notify, EV_TIMEOUT, 0);
    }
}

int
fill_has_head(const struct fill *f)
{
    return f->fl_state == FILL_STREAMING || f->fl_state == FILL_COMMITTED;
}

int
fill_total(const struct fill *f, uint64_t *total)
{
    if (!f->fl_total_known)
        return 0;
    *total = f->fl_total;
    return 1;
}

const struct cache_meta *
fill_meta(const struct fill *f)
{
    return &f->fl_meta;
}

uint64_t
fill_available(const struct fill *f)
{
    if (f->fl_state == FILL_COMMITTED)
        return f->fl_total;
    if (f->fl_state != FILL_STREAMING || f->fl_written == 0)
        return 0;
    return f->fl_written - 1;
}

int
fill_fd(const struct fill *f)
{
    if (f->fl_state == FILL_COMMITTED)
        return f->fl_fd;
    if (f->fl_state == FILL_STREAMING && f->fl_cf != NULL)
        return cache_fill_fd(f->fl_cf);
    return -1;
}

int
fill_error(const struct fill *f, const char **reason, int *use_pass)
{
    *reason = f->fl_err;
    *use_pass = f->fl_err_pass;
    return f->fl_err_status ? f->fl_err_status : 502;
}

const char *
fill_upstream(const struct fill *f)
{
    return f->fl_upstream;
}

void
fill_abort_all(struct server *sv)
{
    while (sv->sv_fills != NULL) {
        struct fill *f = sv->sv_fills;
        if (f->fl_fetch != NULL) {
            fetch_free(f->fl_fetch);
            f->fl_fetch = NULL;
        }
        fill_fail(f, 503, "shutting down", 0);
    }
}

const struct fill *
fill_list_next(const struct server *sv, const struct fill *f)
{
    return f == NULL ? sv->sv_fills : f->fl_next;
}

void
fill_get_info(const struct fill *f, struct fill_info *fi)
{
    const struct fill_watch *w;

    fi->fi_url = f->fl_url;
    fi->fi_reqid = f->fl_reqid;
    fi->fi_upstream = f->fl_upstream;
    fi->fi_written = f->fl_written;
    fi->fi_total_known = f->fl_total_known;
    fi->fi_total = f->fl_total;
    fi->fi_t0_ms = f->fl_t0_ms;
    fi->fi_watchers = 0;
    for (w = f->fl_watchers; w != NULL; w = w->fw_next)
        fi->fi_watchers++;
}
