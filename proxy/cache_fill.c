/*
 * cache_fill.c - filling a cache entry (cache.h): the temporary data file,
 * writes hashed (SHA-1) as they go, a length learnt late, and the commit
 * (verify, fsync, meta file, renames, index) or the abort.
 *
 * The bytes a fill accepts gather in fl_acc; one job at a time takes them
 * to the worker (fl_out), which writes and hashes them, so order holds
 * without a queue of its own. After the last byte, the seal job finishes
 * the SHA-1, fsyncs the data, and writes and fsyncs the meta file; the
 * renames and the index, which other requests read, stay on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cache.h"
#include "cache_int.h"
#include "offload.h"
#include "plat.h"
#include "strparse.h"

/* A fill is handed to plat_writeback every this many bytes. */
#define FILL_WRITEBACK ((uint64_t)8 << 20)

/* Bytes in one place, grown as needed. */
struct fill_buf {
    char *fb_p;
    size_t fb_len;
    size_t fb_cap;
};

enum fill_job { FJ_WRITE = 0, FJ_SEAL };

/*
 * Who touches what. The loop owns everything but the job's part while
 * fl_busy: fl_out, fl_out_off, fl_out_err, fl_md, fl_written_back and
 * the seal's results belong to the worker from offload_submit until the
 * job's completion. The descriptor is shared: the worker writes through
 * it while the loop's readers pread what is already on disk.
 */
struct cache_fill {
    struct offload_job fl_job; /* first: the job is the fill */
    struct cache *fl_cache;
    char *fl_url;
    uint8_t fl_key[KEY_LEN];
    char *fl_tmp; /* temporary data path */
    int fl_fd;
    int fl_verify;            /* verify_sha1, as at cache_fill_begin */
    uint64_t fl_size;         /* bytes accepted */
    uint64_t fl_disk;         /* bytes written and hashed */
    uint64_t fl_expect;       /* UINT64_MAX when unknown */
    uint64_t fl_room_at;      /* fl_size at the last cache_make_room */
    uint64_t fl_written_back; /* bytes handed to plat_writeback */
    EVP_MD_CTX *fl_md;
    struct cache_meta fl_meta; /* validators and content type */
    int fl_broken;             /* a write failed */
    char fl_why[160];          /* why, for cache_fill_why */
    uint64_t fl_owed;          /* of c_owed: expected bytes not written */
    /* The background work: one job at a time. */
    struct fill_buf fl_acc; /* accepted, not yet handed over */
    struct fill_buf fl_out; /* the job's bytes */
    uint64_t fl_out_off;
    int fl_out_err; /* errno of the job's write, or 0 */
    int fl_retried; /* fl_out met a full disk once */
    enum fill_job fl_kind;
    int fl_busy;    /* a job is out */
    int fl_in_cb;   /* inside fl_notify */
    int fl_aborted; /* cache_fill_abort while busy or in fl_notify */
    void (*fl_notify)(void *arg);
    void *fl_notify_arg;
    /* The commit: asked for, and what the seal job made of it. */
    cache_commit_fn fl_commit_fn;
    void *fl_commit_arg;
    struct cache_commit fl_cc;
    char fl_mtmp[CACHE_PATH_MAX]; /* the meta file's temporary, or "" */
};

/* ------------------------------------------------------------------ */
/* Fill */

static struct cache_fill *
job_fill(struct offload_job *j)
{
    return (struct cache_fill *)(void *)j; /* fl_job is the first member */
}

/* Free f and account for it; frees the cache too when it was closed and
 * this was its last fill. Does not touch the files. */
static void
fill_free(struct cache_fill *f)
{
    struct cache *c = f->fl_cache;

    c->c_owed -= f->fl_owed;
    if (f->fl_fd != -1)
        (void)plat_close(f->fl_fd);
    EVP_MD_CTX_free(f->fl_md);
    free(f->fl_acc.fb_p);
    free(f->fl_out.fb_p);
    free(f->fl_tmp);
    free(f->fl_url);
    free(f);
    c->c_nwork--;
    if (c->c_closed && c->c_nwork == 0 && c->c_nholds == 0)
        cache_free(c);
}

/* Remove what f left on disk and free it. */
static void
fill_discard(struct cache_fill *f)
{
    if (f->fl_fd != -1) {
        (void)plat_close(f->fl_fd);
        f->fl_fd = -1;
    }
    if (f->fl_mtmp[0] != '\0')
        (void)plat_unlink(f->fl_mtmp);
    (void)plat_unlink(f->fl_tmp);
    fill_free(f);
}

/* Create the fill's data file, "<dir>/xx/<key>.data.tmp.<16 hex>", with
 * its folder: a unique temporary (a rare clash with a leftover is retried),
 * so a crash leaves nothing the start-up scan would take for an entry.
 * 0, or -1 with err set. */
static int
fill_open_tmp(struct cache_fill *f, char *err, size_t errlen)
{
    const struct cache *c = f->fl_cache;
    char path[CACHE_PATH_MAX], hex[41], rnd[17], es[128];
    uint8_t rb[8];
    int w = 0;

    cache_hex(f->fl_key, KEY_LEN, hex);
    if (cache_sub_path(c, f->fl_key, path, sizeof(path)) == -1 ||
        plat_mkdirs(path) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot create %s: %s", path, es);
        return -1;
    }
    for (int tries = 0; tries < 8 && f->fl_fd == -1; tries++) {
        plat_random(rb, sizeof(rb));
        cache_hex(rb, sizeof(rb), rnd);
        w = snprintf(path, sizeof(path), "%s/%.2s/%s.data.tmp.%s", c->c_dir,
                     hex, hex, rnd);
        if (w < 0 || (size_t)w >= sizeof(path)) {
            errfmt(err, errlen, "cache path too long");
            return -1;
        }
        f->fl_fd = plat_open_create(path);
    }
    if (f->fl_fd == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot create %s: %s", path, es);
        return -1;
    }
    if ((f->fl_tmp = malloc((size_t)w + 1)) == NULL) {
        (void)plat_close(f->fl_fd);
        f->fl_fd = -1;
        (void)plat_unlink(path);
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    memcpy(f->fl_tmp, path, (size_t)w + 1);
    return 0;
}

struct cache_fill *
cache_fill_begin(struct cache *c, const char *url, uint64_t expected_length,
                 const struct cache_meta *meta, char *err, size_t errlen)
{
    struct cache_fill *f = NULL;
    size_t ulen;

    if (c->c_closed) {
        errfmt(err, errlen, "cache closed");
        return NULL;
    }
    if (cache_value_ok("url", url, CACHE_URL_MAX + 1, err, errlen) == -1 ||
        cache_value_ok("etag", meta->cm_etag, sizeof(meta->cm_etag), err,
                       errlen) == -1 ||
        cache_value_ok("last-modified", meta->cm_last_modified,
                       sizeof(meta->cm_last_modified), err, errlen) == -1 ||
        cache_value_ok("content-type", meta->cm_content_type,
                       sizeof(meta->cm_content_type), err, errlen) == -1)
        return NULL;
    if ((ulen = strlen(url)) == 0) {
        errfmt(err, errlen, "empty url");
        return NULL;
    }
    if (expected_length != UINT64_MAX && expected_length > c->c_max) {
        errfmt(err, errlen, "larger than cache max_size");
        return NULL;
    }
    if (cache_make_room(c, expected_length != UINT64_MAX ? expected_length : 0,
                        err, errlen) == -1)
        return NULL;
    if ((f = calloc(1, sizeof(*f))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    f->fl_cache = c;
    f->fl_fd = -1;
    f->fl_verify = c->c_verify;
    c->c_nwork++;
    f->fl_expect = expected_length;
    if (expected_length != UINT64_MAX) {
        f->fl_owed = expected_length;
        c->c_owed += expected_length;
    }
    f->fl_meta = *meta;
    if ((f->fl_url = malloc(ulen + 1)) == NULL ||
        (f->fl_md = EVP_MD_CTX_new()) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(f->fl_url, url, ulen + 1);
    if (EVP_DigestInit_ex(f->fl_md, EVP_sha1(), NULL) != 1) {
        errfmt(err, errlen, "SHA-1 init failed");
        goto fail;
    }
    cache_key_bin(url, f->fl_key);
    if (fill_open_tmp(f, err, errlen) == -1)
        goto fail;
    return f;
fail:
    fill_free(f);
    return NULL;
}

int
cache_fill_expect(struct cache_fill *f, uint64_t length, char *err,
                  size_t errlen)
{
    struct cache *c = f->fl_cache;

    if (f->fl_expect != UINT64_MAX || f->fl_broken) {
        errfmt(err, errlen, "the fill's length is already set");
        return -1;
    }
    if (length > c->c_max) {
        errfmt(err, errlen, "larger than cache max_size");
        return -1;
    }
    if (length < f->fl_size) {
        errfmt(err, errlen, "length mismatch (%llu written, %llu announced)",
               (unsigned long long)f->fl_size, (unsigned long long)length);
        return -1;
    }
    if (cache_make_room(c, length - f->fl_size, err, errlen) == -1)
        return -1;
    f->fl_expect = length;
    f->fl_owed = length - f->fl_size;
    c->c_owed += f->fl_owed;
    return 0;
}

/* Mark f unusable with a reason; returns -1. The bytes not yet on disk
 * are dropped. */
static int
fill_break(struct cache_fill *f, const char *why, int err)
{
    f->fl_broken = 1;
    f->fl_acc.fb_len = 0;
    if (err != 0) {
        char es[128];
        plat_strerror(err, es, sizeof(es));
        snprintf(f->fl_why, sizeof(f->fl_why), "%s: %s", why, es);
    } else {
        snprintf(f->fl_why, sizeof(f->fl_why), "%s", why);
    }
    return -1;
}

/* ---- the jobs ---- */

static void job_run(struct offload_job *j);
static void job_done(struct offload_job *j);
static void seal_start(struct cache_fill *f);

static void
job_submit(struct cache_fill *f, enum fill_job kind)
{
    f->fl_kind = kind;
    f->fl_busy = 1;
    f->fl_job.oj_run = job_run;
    f->fl_job.oj_done = job_done;
    offload_submit(f->fl_cache->c_offload, &f->fl_job);
}

/* Hand the accepted bytes over, or seal after the last; nothing while a
 * job is out (its completion calls this again). */
static void
fill_kick(struct cache_fill *f)
{
    if (f->fl_busy || f->fl_aborted)
        return;
    if (f->fl_acc.fb_len > 0 && !f->fl_broken) {
        struct fill_buf t = f->fl_out;

        f->fl_out = f->fl_acc;
        f->fl_acc = t;
        f->fl_acc.fb_len = 0;
        f->fl_out_off = f->fl_disk;
        f->fl_retried = 0;
        job_submit(f, FJ_WRITE);
        return;
    }
    if (f->fl_commit_fn != NULL)
        seal_start(f);
}

/* Tell the owner; an abort from inside waits until it returns. Returns
 * 1 when that freed f. */
static int
fill_tell(struct cache_fill *f)
{
    if (f->fl_notify != NULL) {
        f->fl_in_cb = 1;
        f->fl_notify(f->fl_notify_arg);
        f->fl_in_cb = 0;
    }
    if (f->fl_aborted && !f->fl_busy) {
        fill_discard(f);
        return 1;
    }
    return 0;
}

/* On the worker: write fl_out at its offset, then hash it. */
static void
write_run(struct cache_fill *f)
{
    const struct fill_buf *b = &f->fl_out;

    f->fl_out_err = 0;
    if (plat_pwrite_all(f->fl_fd, b->fb_p, b->fb_len, f->fl_out_off) == -1) {
        f->fl_out_err = plat_errno();
        if (f->fl_out_err == 0)
            f->fl_out_err = EIO;
        return;
    }
    if (EVP_DigestUpdate(f->fl_md, b->fb_p, b->fb_len) != 1) {
        f->fl_out_err = -1;
        return;
    }
    /* Have the kernel write the fill out as it goes, so that the fsync
     * at the commit finds little left to do. A failure only loses the
     * hint; the fsync checks. */
    if (f->fl_out_off + b->fb_len - f->fl_written_back >= FILL_WRITEBACK) {
        (void)plat_writeback(f->fl_fd, f->fl_written_back,
                             f->fl_out_off + b->fb_len - f->fl_written_back);
        f->fl_written_back = f->fl_out_off + b->fb_len;
    }
}

/* On the loop: the bytes are on disk, or the write failed. A full disk
 * evicts and tries once more. */
static void
write_done(struct cache_fill *f)
{
    size_t n = f->fl_out.fb_len;

    if (f->fl_out_err == ENOSPC && !f->fl_retried && !f->fl_broken) {
        char why[160];
        if (cache_make_room(f->fl_cache, n, why, sizeof(why)) == -1) {
            fill_break(f, why, 0);
        } else {
            f->fl_retried = 1;
            job_submit(f, FJ_WRITE);
            return;
        }
    } else if (f->fl_out_err == -1) {
        fill_break(f, "SHA-1 failed", 0);
    } else if (f->fl_out_err != 0) {
        fill_break(f, "cannot write the cache file", f->fl_out_err);
    } else {
        f->fl_disk += n;
    }
    f->fl_out.fb_len = 0;
    if (fill_tell(f) == 0)
        fill_kick(f); /* the next bytes, or the seal */
}

static void seal_run(struct cache_fill *f);
static void seal_done(struct cache_fill *f);

static void
job_run(struct offload_job *j)
{
    struct cache_fill *f = job_fill(j);

    if (f->fl_kind == FJ_WRITE)
        write_run(f);
    else
        seal_run(f);
}

static void
job_done(struct offload_job *j)
{
    struct cache_fill *f = job_fill(j);

    f->fl_busy = 0;
    if (f->fl_aborted) {
        fill_discard(f);
        return;
    }
    if (f->fl_kind == FJ_WRITE)
        write_done(f);
    else
        seal_done(f);
}

/* ---- accepting bytes ---- */

/* Append n bytes to b, growing it to what it holds rounded up to 256 KiB
 * (the owner bounds what waits, so the buffers stay near that bound). 0
 * or -1 (out of memory). */
static int
buf_add(struct fill_buf *b, const void *p, size_t n)
{
    const size_t step = 256 * 1024;

    if (b->fb_cap - b->fb_len < n) {
        if (n > SIZE_MAX - b->fb_len - step)
            return -1;
        size_t cap = (b->fb_len + n + step - 1) / step * step;
        char *np = realloc(b->fb_p, cap);
        if (np == NULL)
            return -1;
        b->fb_p = np;
        b->fb_cap = cap;
    }
    memcpy(b->fb_p + b->fb_len, p, n);
    b->fb_len += n;
    return 0;
}

int
cache_fill_write(struct cache_fill *f, const void *p, size_t n)
{
    if (f->fl_broken)
        return -1;
    if (n == 0)
        return 0;
    if (UINT64_MAX - f->fl_size < n || f->fl_size + n > f->fl_cache->c_max)
        return fill_break(f, "larger than cache max_size", 0);
    if (f->fl_expect != UINT64_MAX && f->fl_size + n > f->fl_expect) {
        f->fl_cache->c_st.cs_rejected++;
        return fill_break(f, "body longer than the announced length", 0);
    }
    if (buf_add(&f->fl_acc, p, n) == -1)
        return fill_break(f, "out of memory", 0);
    f->fl_size += n;
    {
        uint64_t paid = f->fl_owed < n ? f->fl_owed : n;
        f->fl_owed -= paid;
        f->fl_cache->c_owed -= paid;
    }
    if (f->fl_size - f->fl_room_at >= FILL_WRITEBACK) {
        char why[160];
        f->fl_room_at = f->fl_size;
        /* A fill of unknown length (or another writer on the volume)
         * must not take the space below min_free either. */
        if (cache_make_room(f->fl_cache, 0, why, sizeof(why)) == -1)
            return fill_break(f, why, 0);
    }
    fill_kick(f);
    return 0;
}

const char *
cache_fill_why(const struct cache_fill *f)
{
    return f->fl_broken ? f->fl_why : "";
}

uint64_t
cache_fill_size(const struct cache_fill *f)
{
    return f->fl_size;
}

uint64_t
cache_fill_written(const struct cache_fill *f)
{
    return f->fl_disk;
}

uint64_t
cache_fill_queued(const struct cache_fill *f)
{
    return f->fl_size - f->fl_disk;
}

void
cache_fill_set_notify(struct cache_fill *f, void (*fn)(void *arg), void *arg)
{
    f->fl_notify = fn;
    f->fl_notify_arg = arg;
}

int
cache_fill_fd(const struct cache_fill *f)
{
    return f->fl_fd;
}

void
cache_fill_abort(struct cache_fill *f)
{
    if (f == NULL)
        return;
    if (f->fl_busy || f->fl_in_cb) {
        /* The job's completion, or fill_tell, finishes it. */
        f->fl_aborted = 1;
        f->fl_commit_fn = NULL;
        return;
    }
    fill_discard(f);
}

/* ------------------------------------------------------------------ */
/* Commit */

/* Write text to a fresh file at path and fsync it; 0 or -1. */
static int
write_file_sync(const char *path, const char *text, size_t len)
{
    int fd = plat_open_create(path);

    if (fd == -1)
        return -1;
    if (plat_pwrite_all(fd, text, len, 0) == -1 || plat_fsync(fd) == -1) {
        (void)plat_close(fd);
        return -1;
    }
    return plat_close(fd);
}

/* The final data and meta paths of the fill's entry, and the temporary
 * meta path next to them (each CACHE_PATH_MAX bytes). Returns 0, or -1
 * when a path would not fit. */
static int
fill_paths(const struct cache_fill *f, char *dpath, char *mpath, char *mtmp)
{
    const struct cache *c = f->fl_cache;

    if (cache_ent_path(c, f->fl_key, ".data", dpath, CACHE_PATH_MAX) == -1 ||
        cache_ent_path(c, f->fl_key, ".meta", mpath, CACHE_PATH_MAX) == -1)
        return -1;
    return (size_t)snprintf(mtmp, CACHE_PATH_MAX, "%s.tmp.%s", mpath,
                            f->fl_tmp + strlen(f->fl_tmp) - 16) >=
                   CACHE_PATH_MAX
               ? -1
               : 0;
}

/* The end of a commit, whichever way: f is freed (its temporaries
 * removed unless committed), then the owner hears. */
static void
commit_end(struct cache_fill *f, int rejected)
{
    struct cache_commit cc = f->fl_cc;
    cache_commit_fn fn = f->fl_commit_fn;
    void *arg = f->fl_commit_arg;

    cc.cc_rejected = rejected;
    if (rejected)
        f->fl_cache->c_st.cs_rejected++;
    if (cc.cc_rc == 0)
        fill_free(f);
    else
        fill_discard(f);
    fn(arg, &cc);
}

/* Commit, step 1, on the loop: may the fill become an entry? Not after
 * cache_close or a failed write; the length must be the one announced,
 * the size within max_size. Then the seal job. */
static void
seal_start(struct cache_fill *f)
{
    struct cache *c = f->fl_cache;
    struct cache_commit *cc = &f->fl_cc;

    cc->cc_rc = -1;
    if (c->c_closed) {
        errfmt(cc->cc_err, sizeof(cc->cc_err), "cache closed");
        commit_end(f, 0);
    } else if (f->fl_broken) {
        errfmt(cc->cc_err, sizeof(cc->cc_err),
               "a write to the cache file failed");
        commit_end(f, 0);
    } else if (f->fl_expect != UINT64_MAX && f->fl_size != f->fl_expect) {
        errfmt(cc->cc_err, sizeof(cc->cc_err),
               "length mismatch (got %llu of %llu)",
               (unsigned long long)f->fl_size,
               (unsigned long long)f->fl_expect);
        commit_end(f, 1);
    } else if (f->fl_size > c->c_max) {
        errfmt(cc->cc_err, sizeof(cc->cc_err),
               "larger than cache max_size (%llu > %llu)",
               (unsigned long long)f->fl_size, (unsigned long long)c->c_max);
        commit_end(f, 0);
    } else {
        f->fl_meta.cm_length = f->fl_size;
        f->fl_meta.cm_stored = cache_now_unix();
        job_submit(f, FJ_SEAL);
    }
}

/* Commit, step 2, on the worker: the body's SHA-1 (the one a content
 * URL names, with verify_sha1), the data made durable, the meta file
 * written and made durable under its temporary name. Sets fl_cc, and
 * fl_mtmp when the meta temporary exists. */
static void
seal_run(struct cache_fill *f)
{
    struct cache_commit *cc = &f->fl_cc;
    char dpath[CACHE_PATH_MAX], mpath[CACHE_PATH_MAX], es[128], named[41];
    uint8_t dg[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char *text = NULL;
    size_t tlen;

    cc->cc_rc = -1;
    if (EVP_DigestFinal_ex(f->fl_md, dg, &dlen) != 1 || dlen != KEY_LEN) {
        errfmt(cc->cc_err, sizeof(cc->cc_err), "SHA-1 failed");
        return;
    }
    cache_hex(dg, KEY_LEN, f->fl_meta.cm_sha1);
    if (f->fl_verify && cache_url_sha1(f->fl_url, named) &&
        strcmp(named, f->fl_meta.cm_sha1) != 0) {
        errfmt(cc->cc_err, sizeof(cc->cc_err),
               "SHA-1 mismatch (body %s, url names %s)", f->fl_meta.cm_sha1,
               named);
        cc->cc_rejected = 1;
        return;
    }
    if (cache_meta_format(f->fl_url, &f->fl_meta, &text, &tlen, cc->cc_err,
                          sizeof(cc->cc_err)) == -1)
        return;
    if (plat_fsync(f->fl_fd) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(cc->cc_err, sizeof(cc->cc_err), "fsync %s: %s", f->fl_tmp, es);
        free(text);
        return;
    }
    if (fill_paths(f, dpath, mpath, f->fl_mtmp) == -1) {
        errfmt(cc->cc_err, sizeof(cc->cc_err), "cache path too long");
        f->fl_mtmp[0] = '\0';
        free(text);
        return;
    }
    if (write_file_sync(f->fl_mtmp, text, tlen) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(cc->cc_err, sizeof(cc->cc_err), "write %s: %s", f->fl_mtmp, es);
        free(text);
        return; /* fill_discard removes what was made */
    }
    free(text);
    cc->cc_rc = 0;
}

/* Commit, step 3: the renamed files join the index as the most recently
 * used entry, and older entries are evicted down to max_size. Returns 0,
 * or -1 when memory ran out (the files are removed then). */
static int
fill_index(struct cache_fill *f)
{
    struct cache *c = f->fl_cache;
    struct cache_ent *e = cache_ent_add(c, f->fl_key);

    if (e == NULL) {
        /* Keep disk and index in step: without an index entry the files
         * would be orphans until the next cache_open. */
        cache_unlink_files(c, f->fl_key);
        return -1;
    }
    e->ce_have = HAVE_DATA | HAVE_META;
    e->ce_size = f->fl_size;
    e->ce_used = f->fl_meta.cm_stored;
    cache_lru_push_mru(c, e);
    c->c_st.cs_entries++;
    c->c_st.cs_bytes += e->ce_size;
    c->c_st.cs_fills++;
    if (c->c_st.cs_entries > c->c_tabsz)
        cache_tab_grow(c);
    cache_evict_to_cap(c, e);
    return 0;
}

/* Replacing an entry: its meta file goes first, so a crash between the
 * two renames of the commit leaves an orphan data file, never the old
 * meta over the new data; its index entry goes too. Returns 1 if there
 * was an entry, else 0. */
static int
fill_drop_old(struct cache_fill *f, const char *mpath)
{
    struct cache_ent *e = cache_ent_find(f->fl_cache, f->fl_key);

    if (e == NULL)
        return 0;
    (void)plat_unlink(mpath);
    cache_ent_drop(f->fl_cache, e, 1);
    return 1;
}

/* The durability of the renames, on the worker; the entry is consistent
 * either way, so nobody waits for it. */
struct dirsync {
    struct offload_job ds_job; /* first */
    char ds_dir[CACHE_PATH_MAX];
};

static void
dirsync_run(struct offload_job *j)
{
    (void)plat_fsync_dir(((struct dirsync *)(void *)j)->ds_dir);
}

static void
dirsync_done(struct offload_job *j)
{
    free(j);
}

static void
fill_dirsync(struct cache_fill *f)
{
    struct dirsync *ds = malloc(sizeof(*ds));

    if (ds == NULL || cache_sub_path(f->fl_cache, f->fl_key, ds->ds_dir,
                                     sizeof(ds->ds_dir)) == -1) {
        free(ds);
        return;
    }
    ds->ds_job.oj_run = dirsync_run;
    ds->ds_job.oj_done = dirsync_done;
    offload_submit(f->fl_cache->c_offload, &ds->ds_job);
}

/* Commit, step 4, on the loop: rename data then meta into place (the old
 * entry dropped first, see fill_drop_old) and index the entry. */
static void
seal_done(struct cache_fill *f)
{
    struct cache_commit *cc = &f->fl_cc;
    char dpath[CACHE_PATH_MAX], mpath[CACHE_PATH_MAX], mtmp[CACHE_PATH_MAX];
    char es[128];

    if (cc->cc_rc == 0 && f->fl_cache->c_closed) {
        cc->cc_rc = -1;
        errfmt(cc->cc_err, sizeof(cc->cc_err), "cache closed");
    }
    if (cc->cc_rc == -1) {
        commit_end(f, cc->cc_rejected);
        return;
    }
    (void)plat_close(f->fl_fd);
    f->fl_fd = -1;
    (void)fill_paths(f, dpath, mpath, mtmp); /* fit in seal_run */
    int replaced = fill_drop_old(f, mpath);
    if (plat_rename(f->fl_tmp, dpath) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(cc->cc_err, sizeof(cc->cc_err), "rename to %s: %s", dpath, es);
        cc->cc_rc = -1;
        /* The old entry, when one was dropped above, goes with the new. */
        if (replaced)
            (void)plat_unlink(dpath);
        commit_end(f, 0);
        return;
    }
    if (plat_rename(mtmp, mpath) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(cc->cc_err, sizeof(cc->cc_err), "rename to %s: %s", mpath, es);
        cc->cc_rc = -1;
        (void)plat_unlink(dpath);
        commit_end(f, 0);
        return;
    }
    f->fl_mtmp[0] = '\0';
    fill_dirsync(f);
    if (fill_index(f) == -1) {
        /* fill_index removed the files. */
        errfmt(cc->cc_err, sizeof(cc->cc_err), "out of memory");
        cc->cc_rc = -1;
    } else {
        cc->cc_meta = f->fl_meta;
    }
    commit_end(f, 0);
}

void
cache_fill_commit(struct cache_fill *f, cache_commit_fn fn, void *arg)
{
    f->fl_commit_fn = fn;
    f->fl_commit_arg = arg;
    fill_kick(f);
}
