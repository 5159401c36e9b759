/*
 * cache_int.h - what the cache module's files share: cache.c (paths, open,
 * lookup), cache_index.c (index, LRU, holds, eviction, free space,
 * refusals), cache_fill.c (fills and commit) and cache_meta.c (keys and
 * the meta text). Nothing else includes this header.
 */
#ifndef WSUS_CACHE_INT_H
#define WSUS_CACHE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

/* Bytes of a binary SHA-1 (index keys and body digests). */
#define KEY_LEN 20
/* The meta text is the URL plus a bounded set of short lines. */
#define CACHE_META_MAX (CACHE_URL_MAX + 2048u)
#define CACHE_PATH_MAX 4096

/* One committed entry. */
struct cache_ent {
    uint8_t ce_key[KEY_LEN];
    unsigned ce_have;           /* cache_open scan: HAVE_DATA|HAVE_META */
    unsigned ce_readers;        /* holds from cache_lookup */
    int ce_gone;                /* out of the index, freed at last release */
    struct cache *ce_cache;     /* for cache_release */
    uint64_t ce_size;           /* data file bytes */
    int64_t ce_used;            /* last use, unix seconds */
    struct cache_ent *ce_hnext; /* hash chain */
    struct cache_ent *ce_prev;  /* LRU: towards c_mru */
    struct cache_ent *ce_next;  /* LRU: towards c_lru */
};

#define HAVE_DATA 1u
#define HAVE_META 2u

/* URLs lately refused (cache_refuse): a small ring, oldest overwritten. */
#define REFUSE_N 64
#define REFUSE_MS (10u * 60 * 1000)

struct cache_refusal {
    uint8_t cr_key[KEY_LEN];
    uint64_t cr_at_ms;  /* monotonic; 0 = empty slot */
    uint64_t cr_length; /* UINT64_MAX: not known */
};

struct cache {
    char *c_dir;
    uint64_t c_max;
    int c_verify;
    struct cache_ent **c_tab; /* c_tabsz buckets, a power of two */
    size_t c_tabsz;
    struct cache_ent *c_mru;
    struct cache_ent *c_lru;
    struct cache_stats c_st; /* cs_entries/cs_bytes kept live */
    unsigned c_nwork;        /* fills not yet finished, and removals the
                              * worker has not done: c outlives both */
    unsigned c_nholds;       /* cache_lookup holds not yet released */
    uint64_t c_held_bytes;   /* of cs_bytes: entries with readers */
    int c_closed;            /* cache_close ran; free at last fill/hold */
    struct cache_disk_ops c_disk;
    uint64_t c_min_free;       /* bytes kept free, or */
    uint32_t c_min_free_pct;   /* a percentage of the volume */
    uint64_t c_owed;           /* bytes fills of known length still owe */
    struct offload *c_offload; /* writes, SHA-1 and fsyncs, or NULL */
    uint64_t c_freeing; /* bytes of evicted files the worker still removes */
    struct cache_refusal c_refused[REFUSE_N];
    unsigned c_refused_next;
};

/* cache.c */
/* Now, unix seconds. */
int64_t cache_now_unix(void);
/* DIR/xx/<hex of key><suffix> into buf; the folder DIR/xx. 0, or -1 when
 * it does not fit. */
int cache_ent_path(const struct cache *c, const uint8_t *key,
                   const char *suffix, char *buf, size_t len);
int cache_sub_path(const struct cache *c, const uint8_t *key, char *buf,
                   size_t len);
/* Remove both files of key (meta first). */
void cache_unlink_files(const struct cache *c, const uint8_t *key);
/* The same for an evicted entry of size bytes, whose data file the worker
 * removes (the space a large file frees takes the kernel long enough to
 * stall the loop): renamed now to a temporary name, which cache_open
 * also removes, and counted in c_freeing until it is gone. */
void cache_unlink_later(struct cache *c, const uint8_t *key, uint64_t size);
/* Free c and its index (no file is touched). */
void cache_free(struct cache *c);

/* cache_index.c */
struct cache_ent *cache_ent_find(const struct cache *c, const uint8_t *key);
/* A new entry for key in the hash table only (not the LRU list, not the
 * stats); NULL when out of memory. */
struct cache_ent *cache_ent_add(struct cache *c, const uint8_t *key);
/* Double the hash table (a failure just keeps chains longer). */
void cache_tab_grow(struct cache *c);
void cache_lru_unlink(struct cache *c, struct cache_ent *e);
void cache_lru_push_mru(struct cache *c, struct cache_ent *e);
/* Out of the hash table and, when listed, the LRU list and the stats;
 * freed now, or at the last cache_release while held. */
void cache_ent_drop(struct cache *c, struct cache_ent *e, int listed);
/* Evict least recently used entries, never keep nor a held one, until
 * the total fits the cap (or nothing more may go). */
void cache_evict_to_cap(struct cache *c, const struct cache_ent *keep);
/* Make room for need more bytes above min_free (cache_index.c has the
 * rule). 0, or -1 with err and nothing evicted. */
int cache_make_room(struct cache *c, uint64_t need, char *err, size_t errlen);

/* n bytes as 2n lower-case hex digits and a NUL into out. */
void cache_hex(const uint8_t *b, size_t n, char *out);
/* 40 lower-case hex digits at s into 20 bytes. Returns 0 or -1. */
int cache_from_hex40(const char *s, uint8_t *out);
/* The binary index key of url: the SHA-1 of its text (all zeros if
 * OpenSSL fails, which then just misses). */
void cache_key_bin(const char *url, uint8_t key[KEY_LEN]);
/* A meta value: NUL-terminated within cap bytes (read no further), no
 * control character (so no CR/LF can split a line). Returns 0, or -1
 * with "<name> ..." in err. */
int cache_value_ok(const char *name, const char *s, size_t cap, char *err,
                   size_t errlen);

#endif
