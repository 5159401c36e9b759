/*
 * cache_fill.c - filling a cache entry (cache.h): the temporary data file,
 * writes hashed (SHA-1) as they go, a length learnt late, and the commit
 * (verify, fsync, meta file, renames, index) or the abort.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cache.h"
#include "cache_int.h"
#include "plat.h"
#include "strparse.h"

/* A fill is handed to plat_writeback every this many bytes. */
#define FILL_WRITEBACK ((uint64_t)8 << 20)

struct cache_fill {
    struct cache *fl_cache;
    char *fl_url;
    uint8_t fl_key[KEY_LEN];
    char *fl_tmp; /* temporary data path */
    int fl_fd;
    uint64_t fl_size;
    uint64_t fl_expect;       /* UINT64_MAX when unknown */
    uint64_t fl_written_back; /* bytes handed to plat_writeback */
    EVP_MD_CTX *fl_md;
    struct cache_meta fl_meta; /* validators and content type */
    int fl_broken;             /* a write failed */
    char fl_why[160];          /* why, for cache_fill_why */
    uint64_t fl_owed;          /* of c_owed: expected bytes not written */
};

/* ------------------------------------------------------------------ */
/* Fill */

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
    free(f->fl_tmp);
    free(f->fl_url);
    free(f);
    c->c_nfills--;
    if (c->c_closed && c->c_nfills == 0 && c->c_nholds == 0)
        cache_free(c);
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
    c->c_nfills++;
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

/* Mark f unusable with a reason; returns -1. */
static int
fill_break(struct cache_fill *f, const char *why, int err)
{
    f->fl_broken = 1;
    if (err != 0) {
        char es[128];
        plat_strerror(err, es, sizeof(es));
        snprintf(f->fl_why, sizeof(f->fl_why), "%s: %s", why, es);
    } else {
        snprintf(f->fl_why, sizeof(f->fl_why), "%s", why);
    }
    return -1;
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
    if (plat_pwrite_all(f->fl_fd, p, n, f->fl_size) == -1) {
        int e = plat_errno();
        char why[160];
        /* A full disk: evict and try once more. */
        if (e != ENOSPC)
            return fill_break(f, "cannot write the cache file", e);
        if (cache_make_room(f->fl_cache, n, why, sizeof(why)) == -1)
            return fill_break(f, why, 0);
        if (plat_pwrite_all(f->fl_fd, p, n, f->fl_size) == -1)
            return fill_break(f, "cannot write the cache file", plat_errno());
    }
    if (EVP_DigestUpdate(f->fl_md, p, n) != 1)
        return fill_break(f, "SHA-1 failed", 0);
    f->fl_size += n;
    {
        uint64_t paid = f->fl_owed < n ? f->fl_owed : n;
        f->fl_owed -= paid;
        f->fl_cache->c_owed -= paid;
    }
    /* Have the kernel write the fill out as it goes, so that the fsync
     * at the commit, which runs on the event loop, finds little left to
     * do and does not stall the other clients (tests/bench/README.md has
     * the figures). A failure only loses the hint; the fsync checks. */
    if (f->fl_size - f->fl_written_back >= FILL_WRITEBACK) {
        char why[160];
        (void)plat_writeback(f->fl_fd, f->fl_written_back,
                             f->fl_size - f->fl_written_back);
        f->fl_written_back = f->fl_size;
        /* A fill of unknown length (or another writer on the volume)
         * must not take the space below min_free either. */
        if (cache_make_room(f->fl_cache, 0, why, sizeof(why)) == -1)
            return fill_break(f, why, 0);
    }
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
    if (f->fl_fd != -1) {
        (void)plat_close(f->fl_fd);
        f->fl_fd = -1;
    }
    (void)plat_unlink(f->fl_tmp);
    fill_free(f);
}

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

/* Commit, step 1: may the fill become an entry? Not after cache_close or
 * a failed write; the length must be the one announced, the body's SHA-1
 * the one a content URL names (with verify_sha1), the size within
 * max_size. Sets fl_meta.cm_sha1. Returns 0, or -1 with err. */
static int
fill_verify(struct cache_fill *f, char *err, size_t errlen)
{
    struct cache *c = f->fl_cache;
    uint8_t dg[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char named[41];

    if (c->c_closed) {
        errfmt(err, errlen, "cache closed");
        return -1;
    }
    if (f->fl_broken) {
        errfmt(err, errlen, "a write to the cache file failed");
        return -1;
    }
    if (f->fl_expect != UINT64_MAX && f->fl_size != f->fl_expect) {
        errfmt(err, errlen, "length mismatch (got %llu of %llu)",
               (unsigned long long)f->fl_size,
               (unsigned long long)f->fl_expect);
        c->c_st.cs_rejected++;
        return -1;
    }
    if (EVP_DigestFinal_ex(f->fl_md, dg, &dlen) != 1 || dlen != KEY_LEN) {
        errfmt(err, errlen, "SHA-1 failed");
        return -1;
    }
    cache_hex(dg, KEY_LEN, f->fl_meta.cm_sha1);
    if (c->c_verify && cache_url_sha1(f->fl_url, named) &&
        strcmp(named, f->fl_meta.cm_sha1) != 0) {
        errfmt(err, errlen, "SHA-1 mismatch (body %s, url names %s)",
               f->fl_meta.cm_sha1, named);
        c->c_st.cs_rejected++;
        return -1;
    }
    if (f->fl_size > c->c_max) {
        errfmt(err, errlen, "larger than cache max_size (%llu > %llu)",
               (unsigned long long)f->fl_size, (unsigned long long)c->c_max);
        return -1;
    }
    return 0;
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

/* Verify, write the meta file, and rename both into place (data first),
 * with every file the steps leave behind undone on failure under one
 * cleanup label: the undo of each step needs what the earlier ones made,
 * which is why this runs past 80 lines. */
int
cache_fill_commit(struct cache_fill *f, struct cache_meta *meta, char *err,
                  size_t errlen)
{
    struct cache *c = f->fl_cache;
    char dpath[CACHE_PATH_MAX], mpath[CACHE_PATH_MAX], mtmp[CACHE_PATH_MAX];
    char sub[CACHE_PATH_MAX], es[128];
    char *text = NULL;
    size_t tlen;
    int data_moved = 0, mtmp_made = 0, replaced = 0;

    mtmp[0] = '\0';
    if (fill_verify(f, err, errlen) == -1)
        goto fail;
    f->fl_meta.cm_length = f->fl_size;
    f->fl_meta.cm_stored = cache_now_unix();
    if (cache_meta_format(f->fl_url, &f->fl_meta, &text, &tlen, err, errlen) ==
        -1)
        goto fail;
    if (plat_fsync(f->fl_fd) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "fsync %s: %s", f->fl_tmp, es);
        goto fail;
    }
    (void)plat_close(f->fl_fd);
    f->fl_fd = -1;
    if (fill_paths(f, dpath, mpath, mtmp) == -1) {
        errfmt(err, errlen, "cache path too long");
        mtmp[0] = '\0';
        goto fail;
    }
    if (write_file_sync(mtmp, text, tlen) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "write %s: %s", mtmp, es);
        (void)plat_unlink(mtmp);
        goto fail;
    }
    mtmp_made = 1;
    /* Before the renames (see fill_drop_old). */
    replaced = fill_drop_old(f, mpath);
    if (plat_rename(f->fl_tmp, dpath) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "rename to %s: %s", dpath, es);
        goto fail;
    }
    data_moved = 1;
    if (plat_rename(mtmp, mpath) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "rename to %s: %s", mpath, es);
        goto fail;
    }
    /* Durability of the renames; the entry is consistent either way, so a
     * failure here is not a failed commit. */
    if (cache_sub_path(c, f->fl_key, sub, sizeof(sub)) == 0)
        (void)plat_fsync_dir(sub);
    if (fill_index(f) == -1) {
        errfmt(err, errlen, "out of memory");
        free(text);
        fill_free(f);
        return -1;
    }
    if (meta != NULL)
        *meta = f->fl_meta;
    free(text);
    fill_free(f);
    return 0;
fail:
    free(text);
    if (f->fl_fd != -1) {
        (void)plat_close(f->fl_fd);
        f->fl_fd = -1;
    }
    if (mtmp_made)
        (void)plat_unlink(mtmp);
    /* The old entry, when one was dropped above, goes with the new. */
    if (data_moved || replaced)
        (void)plat_unlink(dpath);
    if (!data_moved)
        (void)plat_unlink(f->fl_tmp);
    fill_free(f);
    return -1;
}
