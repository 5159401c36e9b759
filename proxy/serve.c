/*
 * serve.c - answering from the cache or a fill (serve.h).
 *
 * The head needs the entity's length: from the entry, or from the fill's
 * upstream; with an upstream that gave none, serving waits for the end of
 * the fill. Bytes go from the file at se_pos while the client keeps up
 * (below RELAY_HIGH_MARK) and the fill has them (fill_available): as file
 * segments of their own (sendfile) where plat_dup_for_send allows, else
 * read into the output buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cache.h"
#include "log.h"
#include "plat.h"
#include "serve.h"
#include "shim_limits.h"

#define PUMP_CHUNK (256u * 1024)

void
serve_init(struct serve *se)
{
    memset(se, 0, sizeof(*se));
}

static void
serve_end(struct serve *se, enum serve_outcome oc, int status,
          const char *reason)
{
    serve_stop(se);
    se->se_cb->scb_end(se->se_arg, oc, status, reason);
}

/* Send the head for an entity of known length and set the byte window.
 * Returns 0, or -1 after ending with SERVE_ERROR. */
static int
serve_head(struct serve *se, const struct cache_meta *meta, uint64_t total)
{
    struct hdr_list out;
    int status;
    uint64_t first, len;
    size_t hlen;

    hdr_init(&out);
    if (relay_plan_entity(se->se_req, meta, total,
                          se->se_cb->scb_keep_ok(se->se_arg), &status, &first,
                          &len, &se->se_plan, &out) == -1) {
        hdr_free(&out);
        serve_end(se, SERVE_ERROR, 500, "out of memory");
        return -1;
    }
    char *head = relay_head_serialize(1, status, NULL, &out, &hlen);
    hdr_free(&out);
    if (head == NULL) {
        serve_end(se, SERVE_ERROR, 500, "out of memory");
        return -1;
    }
    evbuffer_add(se->se_cb->scb_output(se->se_arg), head, hlen);
    se->se_cb->scb_sent(se->se_arg, hlen);
    free(head);
    se->se_head_sent = 1;
    se->se_pos = first;
    se->se_end = se->se_req->hm_is_head ? first : first + len;
    se->se_cb->scb_head(se->se_arg, status, &se->se_plan);
    return 0;
}

/* Queue n bytes at se_pos of fd as a file segment of their own (sendfile
 * from the page cache, no copy here). 1 queued, 0 not possible here (the
 * caller reads them instead), -1 after ending with a cut. */
static int
serve_segment(struct serve *se, struct evbuffer *out, int fd, size_t n)
{
    int sfd = plat_dup_for_send(fd);
    struct evbuffer_file_segment *seg;

    if (sfd == -1)
        return 0;
    seg = evbuffer_file_segment_new(sfd, (ev_off_t)se->se_pos, (ev_off_t)n,
                                    EVBUF_FS_CLOSE_ON_FREE);
    if (seg == NULL) {
        plat_close(sfd);
        return 0;
    }
    int r = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)n);
    evbuffer_file_segment_free(seg); /* out holds its own reference */
    if (r == -1) {
        serve_end(se, SERVE_CUT, 0, "cannot queue the cache file");
        return -1;
    }
    se->se_pos += n;
    se->se_cb->scb_sent(se->se_arg, n);
    return 1;
}

/* Queue entity bytes while the client keeps up; end at the last one. */
static void
serve_pump(struct serve *se)
{
    struct evbuffer *out = se->se_cb->scb_output(se->se_arg);

    while (se->se_pos < se->se_end &&
           evbuffer_get_length(out) < RELAY_HIGH_MARK) {
        uint64_t avail = fill_available(se->se_fill);
        int fd = fill_fd(se->se_fill);
        if (fd == -1 || avail <= se->se_pos)
            return; /* more comes with FILL_EV_DATA/DONE */
        uint64_t stop = avail < se->se_end ? avail : se->se_end;
        size_t n = stop - se->se_pos > PUMP_CHUNK ? PUMP_CHUNK
                                                  : (size_t)(stop - se->se_pos);
        int sent = serve_segment(se, out, fd, n);
        if (sent == -1)
            return;
        if (sent == 1)
            continue;
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1) {
            serve_end(se, SERVE_CUT, 0, "out of memory");
            return;
        }
        if (v.iov_len < n)
            n = v.iov_len;
        int64_t got = plat_pread(fd, v.iov_base, n, se->se_pos);
        if (got <= 0) {
            log_warn("req %s: reading the cache file", se->se_reqid);
            serve_end(se, SERVE_CUT, 0, "cache read failed");
            return;
        }
        v.iov_len = (size_t)got;
        evbuffer_commit_space(out, &v, 1);
        se->se_pos += (uint64_t)got;
        se->se_cb->scb_sent(se->se_arg, (uint64_t)got);
    }
    if (se->se_pos >= se->se_end)
        serve_end(se, SERVE_DONE, 0, NULL);
}

static void
serve_fill_cb(void *arg, enum fill_event ev)
{
    struct serve *se = arg;
    struct fill *f = se->se_fill;
    uint64_t total;

    if (f == NULL)
        return;
    if (ev == FILL_EV_FAIL) {
        const char *why;
        int use_pass;
        int status = fill_error(f, &why, &use_pass);
        char reason[160];
        snprintf(reason, sizeof(reason), "%s", why);
        snprintf(se->se_up, sizeof(se->se_up), "%s", fill_upstream(f));
        if (se->se_head_sent) {
            serve_end(se, SERVE_CUT, 0, reason);
        } else if (use_pass && se->se_req->hm_is_head &&
                   fill_total(f, &total)) {
            /* Not cached, but the upstream's GET gave the length: a HEAD
             * has all it needs. */
            if (serve_head(se, fill_meta(f), total) == 0)
                serve_end(se, SERVE_DONE, 0, NULL);
        } else if (use_pass)
            serve_end(se, SERVE_USE_PASS, 0, NULL);
        else
            serve_end(se, SERVE_ERROR, status, reason);
        return;
    }
    if (!se->se_head_sent) {
        /* A length is needed for the head: with an upstream that gave
         * none, wait for the end of the fill. */
        if (!fill_has_head(f) || !fill_total(f, &total))
            return;
        snprintf(se->se_up, sizeof(se->se_up), "%s", fill_upstream(f));
        if (serve_head(se, fill_meta(f), total) == -1)
            return;
    }
    serve_pump(se);
}

static void
serve_setup(struct serve *se, const struct serve_req *sr,
            const struct serve_cb *cb, void *arg)
{
    serve_stop(se);
    serve_init(se);
    se->se_cb = cb;
    se->se_arg = arg;
    se->se_req = sr->sr_req;
    se->se_reqid = sr->sr_reqid;
}

int
serve_fill(struct serve *se, const struct serve_req *sr,
           const struct serve_cb *cb, void *arg)
{
    serve_setup(se, sr, cb, arg);
    se->se_fill = fill_get(sr->sr_srv, sr->sr_cfgr, sr->sr_url, sr->sr_req,
                           sr->sr_tgt, sr->sr_reqid);
    if (se->se_fill == NULL)
        return -1;
    se->se_watch.fw_cb = serve_fill_cb;
    se->se_watch.fw_arg = se;
    se->se_watching = 1;
    fill_watch(se->se_fill, &se->se_watch);
    return 0;
}

/* The file segment of a hit is freed (its fd closed): the entry may be
 * evicted again. */
static void
serve_hit_released(struct evbuffer_file_segment const *seg, int flags,
                   void *arg)
{
    (void)seg;
    (void)flags;
    cache_release(arg);
}

void
serve_hit(struct serve *se, const struct serve_req *sr,
          const struct cache_meta *meta, int fd, struct cache_ent *hold,
          const struct serve_cb *cb, void *arg)
{
    serve_setup(se, sr, cb, arg);
    if (serve_head(se, meta, meta->cm_length) == -1) {
        plat_close(fd);
        cache_release(hold);
        return;
    }
    if (se->se_end > se->se_pos) {
        /* sendfile straight from the cache file: no copy, no memory. */
        struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
            fd, 0, (ev_off_t)meta->cm_length, EVBUF_FS_CLOSE_ON_FREE);
        if (seg == NULL) {
            plat_close(fd);
            cache_release(hold);
            serve_end(se, SERVE_CUT, 0, "cannot map the cache file");
            return;
        }
        /* From here the segment owns both: freed with its last
         * reference, whichever path drops it. */
        evbuffer_file_segment_add_cleanup_cb(seg, serve_hit_released, hold);
        int r = evbuffer_add_file_segment(se->se_cb->scb_output(se->se_arg),
                                          seg, (ev_off_t)se->se_pos,
                                          (ev_off_t)(se->se_end - se->se_pos));
        /* The buffer holds its own reference; on failure it took none. */
        evbuffer_file_segment_free(seg);
        if (r == -1) {
            /* The head promised these bytes: a cut, never a short body
             * that looks complete. */
            serve_end(se, SERVE_CUT, 0, "cannot queue the cache file");
            return;
        }
        se->se_cb->scb_sent(se->se_arg, se->se_end - se->se_pos);
        se->se_pos = se->se_end;
    } else {
        plat_close(fd);
        cache_release(hold);
    }
    serve_end(se, SERVE_DONE, 0, NULL);
}

void
serve_resume(struct serve *se)
{
    if (se->se_head_sent && se->se_fill != NULL)
        serve_pump(se);
}

const char *
serve_upstream(const struct serve *se)
{
    return se->se_up;
}

void
serve_stop(struct serve *se)
{
    if (se->se_fill != NULL && se->se_watching)
        fill_unwatch(se->se_fill, &se->se_watch);
    se->se_fill = NULL;
    se->se_watching = 0;
}
