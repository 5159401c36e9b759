/*
 * cache.h - the content cache on disk: lookup, fill, verify, commit, evict.
 *
 * One entry per normalized URL, stored as two files named after the SHA-1
 * of the URL: DIR/xx/<sha1-of-url>.data and DIR/xx/<sha1-of-url>.meta
 * (xx = first two hex digits). A fill writes DIR/xx/<...>.data.tmp.<rand>
 * and, at commit, verifies the body (length, and the SHA-1 named in the
 * URL when there is one), fsyncs, writes the meta file to a temporary name,
 * fsyncs it, and renames data then meta into place. An entry counts only
 * when its meta file exists and agrees with its data file (length, and a
 * header line with a format version and a checksum over the meta text), so
 * a crash at any point leaves either the old state or a complete entry.
 * Leftover temporaries are removed by cache_open.
 *
 * Plain file I/O through plat.h, SHA-1 through OpenSSL EVP. A fill's
 * writes, SHA-1 and fsyncs run on the offload's worker thread when the
 * cache has one (one job a fill at a time, so they stay in order);
 * everything else, the index above all, belongs to the caller's thread.
 * The event-driven sharing of a fill between clients is fill.c's.
 */
#ifndef WSUS_CACHE_H
#define WSUS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_ETAG_MAX 256
#define CACHE_DATE_MAX 64
#define CACHE_CTYPE_MAX 128
/* Longest URL the cache stores (the upper bound of [limits] max_uri); a
 * longer one is refused at cache_fill_begin. */
#define CACHE_URL_MAX (1024u * 1024)

/* What is kept about an entry besides its bytes. */
struct cache_meta {
    uint64_t cm_length;                    /* exact body length */
    char cm_etag[CACHE_ETAG_MAX];          /* "" when none */
    char cm_last_modified[CACHE_DATE_MAX]; /* "" when none */
    char cm_content_type[CACHE_CTYPE_MAX]; /* "" when none */
    char cm_sha1[41];                      /* SHA-1 of the body, hex */
    int64_t cm_stored;                     /* unix time of the commit */
};

struct cache_stats {
    uint64_t cs_entries;
    uint64_t cs_bytes;
    uint64_t cs_hits;
    uint64_t cs_misses;
    uint64_t cs_fills;    /* committed fills */
    uint64_t cs_rejected; /* fills discarded: SHA-1 or length mismatch */
    uint64_t cs_evictions;
    uint64_t cs_corrupt; /* entries found broken and removed */
};

struct cache;
struct cache_fill;
/* An entry as held by one reader (cache_lookup): never evicted while held,
 * and kept in memory until released even when removed or replaced. */
struct cache_ent;

/* Where the cache reads the free space and the size of its volume:
 * plat_disk_free and plat_disk_size unless cache_set_disk_ops says
 * otherwise (the unit tests give a fake volume). Each returns 0 with the
 * bytes in *bytes, or -1 when it cannot tell. */
struct cache_disk_ops {
    int (*cdo_free)(void *arg, const char *dir, uint64_t *bytes);
    int (*cdo_size)(void *arg, const char *dir, uint64_t *bytes);
    void *cdo_arg;
};

/* Open (creating it when missing) the cache folder dir with a size cap of
 * max_bytes. Scans existing entries into the LRU index (by data file
 * mtime), removes temporaries and orphans, evicts down to the cap.
 * Returns NULL with a reason in err, among others when no file can be
 * written in the folder (cache_dir_writable). */
struct cache *cache_open(const char *dir, uint64_t max_bytes, int verify_sha1,
                         char *err, size_t errlen);
/* Is dir a folder where a file can be created (one is made and removed)?
 * Returns 0, or -1 with the reason in err. cache_open checks it. */
int cache_dir_writable(const char *dir, char *err, size_t errlen);

/* For a configuration check, without creating anything: 0 when dir is a
 * usable folder, 1 when it does not exist yet (cache_open creates it),
 * -1 with the reason in err when it cannot be used. */
int cache_dir_check(const char *dir, char *err, size_t errlen);

/* Keep bytes (or pct percent of the volume when pct > 0) free on the
 * cache's volume: a fill that would take the space below it first evicts
 * least recently used entries, and is refused (cache_fill_begin) or
 * stopped (cache_fill_write) when that is not enough. A write that meets
 * a full disk evicts and tries once more. Default: nothing kept. */
void cache_set_min_free(struct cache *c, uint64_t bytes, uint32_t pct);

/* Write, hash and fsync fills on o's worker thread from the next
 * cache_fill_begin on (NULL: on the caller's). o must outlive them. */
struct offload;
void cache_set_offload(struct cache *c, struct offload *o);

/* Read free space and volume size through ops (copied) from now on. */
void cache_set_disk_ops(struct cache *c, const struct cache_disk_ops *ops);

/* Free the index. Fills still open and entries still held keep it alive
 * until each fill is committed or aborted (a commit then fails with "cache
 * closed") and each hold released; the files on disk stay. */
void cache_close(struct cache *c);

/* Look up url. On a hit: fills *meta, opens the data file read-only into
 * *fd (the caller closes it), marks the entry recently used (also on disk,
 * as the data file's mtime, so the order survives a restart), returns 0.
 * When hold is not NULL, *hold gets the entry as held by this reader: no
 * eviction (for the cap or for free space) takes it until the caller
 * gives it back with cache_release, which it must do exactly once, when
 * it is done with fd. (Evicting a file still open would free no space on
 * POSIX, and could not remove its name on Windows; plat_open_read shares
 * delete there, so a remove or a replace by a newer fill still works.)
 * A miss returns -1 with *fd -1 and *hold NULL. An entry whose files
 * disagree (truncated data, bad meta) is removed, counted as corrupt, and
 * reported as a miss. */
int cache_lookup(struct cache *c, const char *url, struct cache_meta *meta,
                 int *fd, struct cache_ent **hold);

/* Give back a hold from cache_lookup; NULL is ignored. An entry removed
 * or replaced meanwhile is freed now; a cache over its cap evicts from
 * its least recently used end up to the first entry still held. May free
 * a closed cache (its last hold). */
void cache_release(struct cache_ent *hold);

/* Remove the entry for url if present. */
void cache_remove(struct cache *c, const char *url);

/* Start filling url. expected_length: the length announced by the upstream
 * or UINT64_MAX when unknown. meta carries the validators and content type
 * to store (cm_length/cm_sha1 are computed). Returns NULL with err, among
 * others when a validator holds a control character (it would split a
 * meta line) or when expected_length alone exceeds the cap. */
struct cache_fill *cache_fill_begin(struct cache *c, const char *url,
                                    uint64_t expected_length,
                                    const struct cache_meta *meta, char *err,
                                    size_t errlen);

/* The length of a fill begun with UINT64_MAX became known (a HEAD
 * answered it while the GET streams without one): from now on the fill
 * must end at exactly length bytes. Checks it against max_size and the
 * bytes already written, and makes room for the rest above min_free.
 * Returns 0, or -1 with err (the fill is untouched then: the caller
 * decides; a fill whose length is already known is refused). */
int cache_fill_expect(struct cache_fill *f, uint64_t length, char *err,
                      size_t errlen);

/* Append body bytes (in order). They are written and hashed in the
 * background when the cache has an offload (cache_set_offload), else
 * before this returns. Returns 0, or -1 when the fill is unusable (more
 * than max_size in all, a body longer than announced, or a write that
 * already failed: disk full, I/O error) and must be aborted. */
int cache_fill_write(struct cache_fill *f, const void *p, size_t n);

/* Bytes on disk, readable through cache_fill_fd; bytes accepted but not
 * yet there (the caller bounds them, pausing its source). */
uint64_t cache_fill_written(const struct cache_fill *f);
uint64_t cache_fill_queued(const struct cache_fill *f);

/* fn(arg) runs when cache_fill_written grows or a background write
 * fails (cache_fill_why then says why): on the event loop with an
 * offload, inside cache_fill_write without one. fn may abort f. */
void cache_fill_set_notify(struct cache_fill *f, void (*fn)(void *arg),
                           void *arg);

/* After a failed write: why ("larger than cache max_size",
 * "cannot write the cache file: No space left on device"...). */
const char *cache_fill_why(const struct cache_fill *f);

/* Remember that url could not be cached (too big, no space, a failed
 * write or check): for the next 10 minutes cache_refused says so, and its
 * requests are answered without the cache instead of starting fill after
 * fill. Remembers the last 64 URLs. length: the entity's length when one
 * was learnt (UINT64_MAX when not); it is kept only for a URL named by
 * its SHA-1 (cache_url_sha1), whose content never changes, and
 * cache_refused_length gives it back (1), so that a range can be sliced
 * from a GET that itself gives no length. */
void cache_refuse(struct cache *c, const char *url, uint64_t length);
int cache_refused(const struct cache *c, const char *url);
int cache_refused_length(const struct cache *c, const char *url,
                         uint64_t *length);

/* Bytes accepted so far (on disk or queued). */
uint64_t cache_fill_size(const struct cache_fill *f);

/* A descriptor of the temporary data file for reading what is written so
 * far (plat_pread). Owned by the fill: valid until commit/abort. */
int cache_fill_fd(const struct cache_fill *f);

/* The outcome of a commit. */
struct cache_commit {
    int cc_rc;                 /* 0: committed, -1: not */
    int cc_rejected;           /* the body failed its length or SHA-1 */
    struct cache_meta cc_meta; /* what was stored, when committed */
    char cc_err[200];          /* why not */
};
typedef void (*cache_commit_fn)(void *arg, const struct cache_commit *cc);

/* Finish, once every byte is on disk: verify length (against
 * expected_length when known) and SHA-1 (against the 40-hex name in the
 * URL when there is one and verify_sha1 is on), make the file durable,
 * commit atomically, evict to the cap. f is freed (the temporary removed
 * when not committed), then fn gets the outcome: from the event loop with
 * an offload, before this returns without one. Until then
 * cache_fill_abort may still cancel it (fn is never called then). */
void cache_fill_commit(struct cache_fill *f, cache_commit_fn fn, void *arg);

/* Give up: remove the temporary, free f. Nothing is committed. */
void cache_fill_abort(struct cache_fill *f);

void cache_get_stats(const struct cache *c, struct cache_stats *st);

/* Pure helpers. */
/* The SHA-1 named by a Windows Update content URL: the last path segment
 * (query ignored) ends in "_<40 hex>.<ext>" (also accepts "<40 hex>.<ext>"
 * as the whole name). Writes 40 lower-case hex digits + NUL to out and
 * returns 1, or returns 0 when the URL names none. */
int cache_url_sha1(const char *url, char out[41]);

/* Is a stored entry still fresh at unix time now? Content URLs are named
 * by their SHA-1 and never change: always. Anything else while younger
 * than max_age_ms ([cache] unnamed_max_age). Returns 1 or 0. */
int cache_meta_fresh(const struct cache_meta *meta, const char *url,
                     uint32_t max_age_ms, int64_t now);

/* The index key of url: the SHA-1 of the URL text as 40 lower-case hex
 * digits + NUL. The entry's files are DIR/<out[0..1]>/<out>.data|.meta. */
void cache_url_key(const char *url, char out[41]);

/* The meta file text for url and m: the lines "wsus-shim-cache 1",
 * "url", "length", "sha1", "etag", "last-modified", "content-type",
 * "stored", then "check <SHA-1 hex of all the text before this line>",
 * each ended by LF. On success *text is a malloc'd, NUL-terminated
 * buffer owned by the caller, *len the bytes before the NUL, and 0 is
 * returned. Returns -1 with err when a value holds a control character
 * or is not NUL-terminated within its field, when cm_sha1 is not 40
 * lower-case hex, or on allocation failure. */
int cache_meta_format(const char *url, const struct cache_meta *m, char **text,
                      size_t *len, char *err, size_t errlen);

/* Parse a meta file's len bytes of text strictly: the lines in exactly
 * the order cache_meta_format writes them, LF endings, no control
 * characters, canonical numbers, a matching check line, nothing after
 * it, and a url line equal to url. Fills *m and returns 0, or returns
 * -1 with the first problem in err. */
int cache_meta_parse(const char *text, size_t len, const char *url,
                     struct cache_meta *m, char *err, size_t errlen);

#endif
