/*
 * cache_index.c - the content cache's index in memory (cache_int.h): the
 * hash table of entries, the LRU list, readers' holds, eviction for the
 * size cap and for free space ([cache] min_free), and the ring of URLs
 * lately refused. Files are removed through cache.c's helpers; nothing
 * here logs.
 *
 * The index lives in memory: a hash table keyed by the binary SHA-1 of the
 * URL, whose entries also sit on a doubly linked LRU list (most recently
 * used at c_mru). An entry holds only its key, its data size and its last
 * use, so memory grows with the number of entries and nothing else; the
 * validators stay in the meta file and are read on each lookup. An entry
 * being filled is not in the index: it becomes visible at commit, which
 * replaces any entry of the same URL.
 *
 * A client reading an entry holds it (cache_lookup's hold, counted in
 * ce_readers): eviction, for the cap or for free space, passes it over,
 * on every platform. On POSIX evicting it would free no space until the
 * reader closes it; on Windows plat_open_read shares delete, so removing
 * or replacing a held entry still works, but its name would linger. An
 * entry dropped from the index while held (removed, replaced, corrupt) is
 * freed by the last cache_release.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_int.h"
#include "plat.h"
#include "strparse.h"

/* ------------------------------------------------------------------ */
/* Index */

static size_t
bucket(const struct cache *c, const uint8_t *key)
{
    size_t h = 0;

    /* The key is a SHA-1: any bytes of it are uniformly spread. */
    for (size_t i = 0; i < sizeof(size_t) && i < KEY_LEN; i++)
        h = h << 8 | key[i];
    return h & (c->c_tabsz - 1);
}

struct cache_ent *
cache_ent_find(const struct cache *c, const uint8_t *key)
{
    struct cache_ent *e = c->c_tab[bucket(c, key)];

    while (e != NULL && memcmp(e->ce_key, key, KEY_LEN) != 0)
        e = e->ce_hnext;
    return e;
}

/* Double the table when it holds more entries than buckets. A failed
 * growth is harmless: chains just get longer. */
void
cache_tab_grow(struct cache *c)
{
    size_t nsz = c->c_tabsz * 2, oldsz = c->c_tabsz;
    struct cache_ent **old = c->c_tab, **nt;

    /* sizeof(*p) of an array of pointers: one pointer, as meant */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    if (nsz < oldsz || nsz > SIZE_MAX / sizeof(*nt))
        return;
    /* sizeof(*p) of an array of pointers: one pointer, as meant */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    if ((nt = calloc(nsz, sizeof(*nt))) == NULL)
        return;
    c->c_tab = nt;
    c->c_tabsz = nsz;
    for (size_t i = 0; i < oldsz; i++) {
        struct cache_ent *e = old[i], *next;
        for (; e != NULL; e = next) {
            size_t b = bucket(c, e->ce_key);
            next = e->ce_hnext;
            e->ce_hnext = nt[b];
            nt[b] = e;
        }
    }
    free(old);
}

/* Add a new entry for key to the hash table (not to the LRU list, not to
 * the stats). NULL when out of memory. */
struct cache_ent *
cache_ent_add(struct cache *c, const uint8_t *key)
{
    struct cache_ent *e = calloc(1, sizeof(*e));
    size_t b;

    if (e == NULL)
        return NULL;
    memcpy(e->ce_key, key, KEY_LEN);
    e->ce_cache = c;
    b = bucket(c, key);
    e->ce_hnext = c->c_tab[b];
    c->c_tab[b] = e;
    return e;
}

void
cache_lru_unlink(struct cache *c, struct cache_ent *e)
{
    if (e->ce_prev != NULL)
        e->ce_prev->ce_next = e->ce_next;
    else if (c->c_mru == e)
        c->c_mru = e->ce_next;
    if (e->ce_next != NULL)
        e->ce_next->ce_prev = e->ce_prev;
    else if (c->c_lru == e)
        c->c_lru = e->ce_prev;
    e->ce_prev = e->ce_next = NULL;
}

void
cache_lru_push_mru(struct cache *c, struct cache_ent *e)
{
    e->ce_prev = NULL;
    e->ce_next = c->c_mru;
    if (c->c_mru != NULL)
        c->c_mru->ce_prev = e;
    c->c_mru = e;
    if (c->c_lru == NULL)
        c->c_lru = e;
}

/* Take e out of the hash table and, when listed, the LRU list and the
 * stats, and free it, or, while readers hold it, leave it to the last
 * cache_release. Its files are the caller's business. */
void
cache_ent_drop(struct cache *c, struct cache_ent *e, int listed)
{
    struct cache_ent **pp = &c->c_tab[bucket(c, e->ce_key)];

    while (*pp != NULL && *pp != e)
        pp = &(*pp)->ce_hnext;
    if (*pp == e)
        *pp = e->ce_hnext;
    if (listed) {
        cache_lru_unlink(c, e);
        c->c_st.cs_entries--;
        c->c_st.cs_bytes -= e->ce_size;
        if (e->ce_readers > 0)
            c->c_held_bytes -= e->ce_size;
    }
    if (e->ce_readers > 0) {
        e->ce_gone = 1;
        e->ce_hnext = NULL;
        return;
    }
    free(e);
}

/* The least recently used entry that may be evicted: not keep, not held
 * by a reader. NULL when none. */
static struct cache_ent *
evictable(const struct cache *c, const struct cache_ent *keep)
{
    struct cache_ent *e = c->c_lru;

    while (e != NULL && (e == keep || e->ce_readers > 0))
        e = e->ce_prev;
    return e;
}

static void
evict(struct cache *c, struct cache_ent *e)
{
    cache_unlink_later(c, e->ce_key, e->ce_size);
    cache_ent_drop(c, e, 1);
    c->c_st.cs_evictions++;
}

/* Evict least recently used entries until the total fits c_max. keep, if
 * not NULL, is never evicted (the entry just committed), nor is an entry
 * a reader holds: the total may stay above the cap until it is released
 * (cache_release evicts then). */
void
cache_evict_to_cap(struct cache *c, const struct cache_ent *keep)
{
    struct cache_ent *e;

    while (c->c_st.cs_bytes > c->c_max && (e = evictable(c, keep)) != NULL)
        evict(c, e);
}

/* ------------------------------------------------------------------ */
/* Free space */

/* The bytes to keep free on the volume ([cache] min_free). */
static uint64_t
reserve_bytes(const struct cache *c)
{
    uint64_t size;

    if (c->c_min_free_pct == 0)
        return c->c_min_free;
    if (c->c_disk.cdo_size(c->c_disk.cdo_arg, c->c_dir, &size) == -1)
        return 0;
    return size / 100 * c->c_min_free_pct;
}

/* Free bytes on the volume, counting what evictions are freeing. */
static int
disk_free(const struct cache *c, uint64_t *free_b)
{
    if (c->c_disk.cdo_free(c->c_disk.cdo_arg, c->c_dir, free_b) == -1)
        return -1;
    *free_b = UINT64_MAX - *free_b < c->c_freeing ? UINT64_MAX
                                                  : *free_b + c->c_freeing;
    return 0;
}

/* Make room for need more bytes (beyond what fills under way still owe)
 * above min_free: evict least recently used entries no reader holds
 * while it helps, but only when evicting them all would be enough.
 * Returns 0, or -1 with err (nothing evicted then; also when the free
 * space fell short after all, the volume having other writers). A volume
 * whose free space cannot be read is taken as roomy: the writes will
 * tell. */
int
cache_make_room(struct cache *c, uint64_t need, char *err, size_t errlen)
{
    uint64_t free_b, want = need + c->c_owed + reserve_bytes(c);
    uint64_t spare = c->c_st.cs_bytes - c->c_held_bytes;
    struct cache_ent *e;

    if (disk_free(c, &free_b) == -1 || free_b >= want)
        return 0;
    if (free_b + spare < want) {
        errfmt(err, errlen,
               "not enough free space above min_free (%llu bytes wanted, "
               "%llu free, %llu in the cache, %llu of it being read)",
               (unsigned long long)want, (unsigned long long)free_b,
               (unsigned long long)c->c_st.cs_bytes,
               (unsigned long long)c->c_held_bytes);
        return -1;
    }
    while (free_b < want && (e = evictable(c, NULL)) != NULL) {
        evict(c, e);
        if (disk_free(c, &free_b) == -1)
            return 0;
    }
    if (free_b >= want)
        return 0;
    errfmt(err, errlen, "not enough free space above min_free");
    return -1;
}

void
cache_set_min_free(struct cache *c, uint64_t bytes, uint32_t pct)
{
    c->c_min_free = bytes;
    c->c_min_free_pct = pct;
}

void
cache_set_disk_ops(struct cache *c, const struct cache_disk_ops *ops)
{
    c->c_disk = *ops;
}

void
cache_set_offload(struct cache *c, struct offload *o)
{
    c->c_offload = o;
}

/* The deferred part of the cap after a hold ends: evict from the least
 * recently used end while over the cap, stopping at a held entry. Not
 * past it: the entries after it are newer, and the held one goes first
 * when its reader is done (a fill's hold on the entry it just committed
 * ending while an older entry is read must not evict the new entry). */
static void
evict_released(struct cache *c)
{
    /* evict frees c_lru and unlinks it first, so c_lru moves on: the
     * analyzer does not see the unlink */
    // NOLINTBEGIN(clang-analyzer-unix.Malloc)
    while (c->c_st.cs_bytes > c->c_max && c->c_lru != NULL &&
           c->c_lru->ce_readers == 0)
        evict(c, c->c_lru);
    // NOLINTEND(clang-analyzer-unix.Malloc)
}

void
cache_release(struct cache_ent *e)
{
    struct cache *c;

    if (e == NULL)
        return;
    c = e->ce_cache;
    c->c_nholds--;
    if (--e->ce_readers == 0) {
        if (e->ce_gone)
            free(e);
        else
            c->c_held_bytes -= e->ce_size;
        if (!c->c_closed)
            evict_released(c);
    }
    if (c->c_closed && c->c_nwork == 0 && c->c_nholds == 0)
        cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Refusals */

void
cache_refuse(struct cache *c, const char *url, uint64_t length)
{
    uint8_t key[KEY_LEN];
    char named[41];
    uint64_t now = plat_monotonic_ms();
    struct cache_refusal *r = NULL;

    cache_key_bin(url, key);
    for (size_t i = 0; i < REFUSE_N && r == NULL; i++)
        if (c->c_refused[i].cr_at_ms != 0 &&
            memcmp(c->c_refused[i].cr_key, key, KEY_LEN) == 0)
            r = &c->c_refused[i];
    if (r == NULL) {
        r = &c->c_refused[c->c_refused_next];
        c->c_refused_next = (c->c_refused_next + 1) % REFUSE_N;
        memcpy(r->cr_key, key, KEY_LEN);
    }
    r->cr_at_ms = now != 0 ? now : 1;
    r->cr_length = cache_url_sha1(url, named) ? length : UINT64_MAX;
}

/* The live refusal of url, or NULL. */
static const struct cache_refusal *
refusal(const struct cache *c, const char *url)
{
    uint8_t key[KEY_LEN];
    uint64_t now = plat_monotonic_ms();

    cache_key_bin(url, key);
    for (size_t i = 0; i < REFUSE_N; i++) {
        const struct cache_refusal *r = &c->c_refused[i];
        if (r->cr_at_ms != 0 && memcmp(r->cr_key, key, KEY_LEN) == 0)
            return now - r->cr_at_ms < REFUSE_MS ? r : NULL;
    }
    return NULL;
}

int
cache_refused(const struct cache *c, const char *url)
{
    return refusal(c, url) != NULL;
}

int
cache_refused_length(const struct cache *c, const char *url, uint64_t *length)
{
    const struct cache_refusal *r = refusal(c, url);

    if (r == NULL || r->cr_length == UINT64_MAX)
        return 0;
    *length = r->cr_length;
    return 1;
}
