/*
 * cache.c - the content cache on disk (see cache.h for the layout and the
 * crash-safety argument).
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
 *
 * Everything touching the file system goes through plat.h, so this file
 * builds unchanged on Windows. SHA-1 (body, URL key, meta checksum) is
 * OpenSSL EVP. The module is single-threaded, like the event loop that
 * drives it, and never logs: failures come back as text in err.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cache.h"
#include "cache_int.h"
#include "plat.h"
#include "strparse.h"

#define CACHE_PATH_MAX 4096
/* A fill is handed to plat_writeback every this many bytes. */
#define FILL_WRITEBACK ((uint64_t)8 << 20)

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
    unsigned c_nfills;       /* fills begun, not yet finished */
    unsigned c_nholds;       /* cache_lookup holds not yet released */
    uint64_t c_held_bytes;   /* of cs_bytes: entries with readers */
    int c_closed;            /* cache_close ran; free at last fill/hold */
    struct cache_disk_ops c_disk;
    uint64_t c_min_free;     /* bytes kept free, or */
    uint32_t c_min_free_pct; /* a percentage of the volume */
    uint64_t c_owed;         /* bytes fills of known length still owe */
    struct cache_refusal c_refused[REFUSE_N];
    unsigned c_refused_next;
};

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

static int64_t
now_unix(void)
{
    struct timespec ts;

    plat_clock_real(&ts);
    return (int64_t)ts.tv_sec;
}

/* ------------------------------------------------------------------ */
/* Paths */

/* DIR/xx/<hex><suffix> into buf. 0, or -1 when it does not fit. */
static int
ent_path(const struct cache *c, const uint8_t *key, const char *suffix,
         char *buf, size_t len)
{
    char hex[41];
    int w;

    cache_hex(key, KEY_LEN, hex);
    w = snprintf(buf, len, "%s/%.2s/%s%s", c->c_dir, hex, hex, suffix);
    return (w < 0 || (size_t)w >= len) ? -1 : 0;
}

static int
sub_path(const struct cache *c, const uint8_t *key, char *buf, size_t len)
{
    char hex[41];
    int w;

    cache_hex(key, KEY_LEN, hex);
    w = snprintf(buf, len, "%s/%.2s", c->c_dir, hex);
    return (w < 0 || (size_t)w >= len) ? -1 : 0;
}

/* Remove both files of key: meta first, so a crash in between leaves an
 * orphan data file (cleaned by cache_open), never a meta without data. */
static void
unlink_files(const struct cache *c, const uint8_t *key)
{
    char path[CACHE_PATH_MAX];

    if (ent_path(c, key, ".meta", path, sizeof(path)) == 0)
        (void)plat_unlink(path);
    if (ent_path(c, key, ".data", path, sizeof(path)) == 0)
        (void)plat_unlink(path);
}

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

static struct cache_ent *
ent_find(const struct cache *c, const uint8_t *key)
{
    struct cache_ent *e = c->c_tab[bucket(c, key)];

    while (e != NULL && memcmp(e->ce_key, key, KEY_LEN) != 0)
        e = e->ce_hnext;
    return e;
}

/* Double the table when it holds more entries than buckets. A failed
 * growth is harmless: chains just get longer. */
static void
tab_grow(struct cache *c)
{
    size_t nsz = c->c_tabsz * 2, oldsz = c->c_tabsz;
    struct cache_ent **old = c->c_tab, **nt;

    if (nsz < oldsz || nsz > SIZE_MAX / sizeof(*nt))
        return;
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
static struct cache_ent *
ent_add(struct cache *c, const uint8_t *key)
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

static void
lru_unlink(struct cache *c, struct cache_ent *e)
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

static void
lru_push_mru(struct cache *c, struct cache_ent *e)
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
static void
ent_drop(struct cache *c, struct cache_ent *e, int listed)
{
    struct cache_ent **pp = &c->c_tab[bucket(c, e->ce_key)];

    while (*pp != NULL && *pp != e)
        pp = &(*pp)->ce_hnext;
    if (*pp == e)
        *pp = e->ce_hnext;
    if (listed) {
        lru_unlink(c, e);
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
    unlink_files(c, e->ce_key);
    ent_drop(c, e, 1);
    c->c_st.cs_evictions++;
}

/* Evict least recently used entries until the total fits c_max. keep, if
 * not NULL, is never evicted (the entry just committed), nor is an entry
 * a reader holds: the total may stay above the cap until it is released
 * (cache_release evicts then). */
static void
evict_to_cap(struct cache *c, const struct cache_ent *keep)
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

static int
disk_free(const struct cache *c, uint64_t *free_b)
{
    return c->c_disk.cdo_free(c->c_disk.cdo_arg, c->c_dir, free_b);
}

/* Make room for need more bytes (beyond what fills under way still owe)
 * above min_free: evict least recently used entries no reader holds
 * while it helps, but only when evicting them all would be enough.
 * Returns 0, or -1 with err (nothing evicted then; also when the free
 * space fell short after all, the volume having other writers). A volume
 * whose free space cannot be read is taken as roomy: the writes will
 * tell. */
static int
make_room(struct cache *c, uint64_t need, char *err, size_t errlen)
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

static int
plat_free_op(void *arg, const char *dir, uint64_t *bytes)
{
    (void)arg;
    return plat_disk_free(dir, bytes);
}

static int
plat_size_op(void *arg, const char *dir, uint64_t *bytes)
{
    (void)arg;
    return plat_disk_size(dir, bytes);
}

/* ------------------------------------------------------------------ */
/* Open and close */

/* Where a scanned file's name starts (after the last separator). */
static const char *
base_name(const char *path, const char **parent)
{
    const char *b = path, *pb = NULL;

    for (const char *p = path; *p != '\0'; p++) {
        if (*p == '/' || *p == '\\') {
            pb = b;
            b = p + 1;
        }
    }
    *parent = pb;
    return b;
}

struct scan {
    struct cache *sc_cache;
    size_t sc_n; /* index entries made so far */
    int sc_oom;
};

/* plat_walk callback: index our files, remove our temporaries, leave
 * anything else alone. Ours means DIR/xx/<40 hex>.data|.meta, or those
 * names followed by ".tmp.<anything>", with xx the key's first two
 * digits: a cache folder pointed at the wrong place must not lose files
 * that merely look like leftovers. */
static int
scan_file(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    struct scan *sc = arg;
    struct cache *c = sc->sc_cache;
    const char *parent, *b = base_name(path, &parent);
    struct cache_ent *e;
    uint8_t key[KEY_LEN];
    unsigned have;

    if (parent == NULL || b - parent != 3 || memcmp(parent, b, 2) != 0)
        return 0;
    if (strlen(b) < 45 || cache_from_hex40(b, key) == -1)
        return 0;
    if (strncmp(b + 40, ".data.tmp.", 10) == 0 ||
        strncmp(b + 40, ".meta.tmp.", 10) == 0) {
        (void)plat_unlink(path);
        return 0;
    }
    if (strcmp(b + 40, ".data") == 0)
        have = HAVE_DATA;
    else if (strcmp(b + 40, ".meta") == 0)
        have = HAVE_META;
    else
        return 0;
    if ((e = ent_find(c, key)) == NULL) {
        if ((e = ent_add(c, key)) == NULL) {
            sc->sc_oom = 1;
            return 1;
        }
        if (++sc->sc_n > c->c_tabsz)
            tab_grow(c);
    }
    e->ce_have |= have;
    if (have == HAVE_DATA) {
        e->ce_size = size;
        e->ce_used = mtime;
    }
    return 0;
}

static int
cmp_used(const void *a, const void *b)
{
    const struct cache_ent *x = *(struct cache_ent *const *)a;
    const struct cache_ent *y = *(struct cache_ent *const *)b;

    if (x->ce_used != y->ce_used)
        return x->ce_used < y->ce_used ? -1 : 1;
    return memcmp(x->ce_key, y->ce_key, KEY_LEN);
}

static void
cache_free(struct cache *c)
{
    if (c == NULL)
        return;
    if (c->c_tab != NULL) {
        for (size_t i = 0; i < c->c_tabsz; i++) {
            struct cache_ent *e = c->c_tab[i], *next;
            for (; e != NULL; e = next) {
                next = e->ce_hnext;
                free(e);
            }
        }
    }
    free(c->c_tab);
    free(c->c_dir);
    free(c);
}

int
cache_dir_writable(const char *dir, char *err, size_t errlen)
{
    int fd;

    if (!plat_is_dir(dir)) {
        errfmt(err, errlen, "%s is not a folder", dir);
        return -1;
    }
    if ((fd = plat_tmpfile(dir)) == -1) {
        char es[128];
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot write in %s: %s", dir, es);
        return -1;
    }
    (void)plat_close(fd);
    return 0;
}

int
cache_dir_check(const char *dir, char *err, size_t errlen)
{
    int fd;

    if (plat_is_dir(dir))
        return cache_dir_writable(dir, err, errlen);
    if ((fd = plat_open_read(dir)) != -1) {
        (void)plat_close(fd);
        errfmt(err, errlen, "%s is not a folder", dir);
        return -1;
    }
    if (plat_errno() == ENOENT)
        return 1;
    return cache_dir_writable(dir, err, errlen);
}

struct cache *
cache_open(const char *dir, uint64_t max_bytes, int verify_sha1, char *err,
           size_t errlen)
{
    struct cache *c = NULL;
    struct cache_ent **all = NULL;
    struct scan sc;
    size_t n = 0, cnt, dlen;
    char es[128];

    if (dir == NULL || (dlen = strlen(dir)) == 0) {
        errfmt(err, errlen, "cache dir is empty");
        goto fail;
    }
    /* Room for "/xx/<40 hex>.meta.tmp.<16 hex>" below dir. */
    if (dlen > CACHE_PATH_MAX - 80) {
        errfmt(err, errlen, "cache dir path too long");
        goto fail;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL ||
        (c->c_dir = malloc(dlen + 1)) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(c->c_dir, dir, dlen + 1);
    /* A trailing separator would double up in every path. */
    while (dlen > 1 &&
           (c->c_dir[dlen - 1] == '/' || c->c_dir[dlen - 1] == '\\'))
        c->c_dir[--dlen] = '\0';
    c->c_max = max_bytes;
    c->c_verify = verify_sha1 != 0;
    c->c_disk.cdo_free = plat_free_op;
    c->c_disk.cdo_size = plat_size_op;
    c->c_tabsz = 256;
    if ((c->c_tab = calloc(c->c_tabsz, sizeof(*c->c_tab))) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    if (plat_mkdirs(c->c_dir) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot create %s: %s", c->c_dir, es);
        goto fail;
    }
    if (cache_dir_writable(c->c_dir, err, errlen) == -1)
        goto fail;
    sc.sc_cache = c;
    sc.sc_n = 0;
    sc.sc_oom = 0;
    if (plat_walk(c->c_dir, scan_file, &sc) == -1) {
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot read %s: %s", c->c_dir, es);
        goto fail;
    }
    if (sc.sc_oom) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    /* Orphans go; complete pairs are counted for the LRU order. */
    for (size_t i = 0; i < c->c_tabsz; i++) {
        struct cache_ent *e = c->c_tab[i], *next;
        for (; e != NULL; e = next) {
            next = e->ce_hnext;
            if (e->ce_have == (HAVE_DATA | HAVE_META)) {
                n++;
                continue;
            }
            unlink_files(c, e->ce_key);
            ent_drop(c, e, 0);
        }
    }
    if (n > 0 && (all = calloc(n, sizeof(*all))) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    cnt = n;
    n = 0;
    for (size_t i = 0; i < c->c_tabsz; i++)
        for (struct cache_ent *e = c->c_tab[i]; e != NULL; e = e->ce_hnext)
            if (n < cnt)
                all[n++] = e;
    if (n > 0)
        qsort(all, n, sizeof(*all), cmp_used);
    /* Oldest first onto the MRU end, so the newest ends up most recent. */
    for (size_t i = 0; i < n; i++) {
        lru_push_mru(c, all[i]);
        c->c_st.cs_entries++;
        c->c_st.cs_bytes += all[i]->ce_size;
    }
    free(all);
    all = NULL;
    evict_to_cap(c, NULL);
    return c;
fail:
    free(all);
    cache_free(c);
    return NULL;
}

void
cache_close(struct cache *c)
{
    if (c == NULL)
        return;
    /* Fills and holds still out point at c: the last one to finish
     * frees it (deferred free), and no fill can commit any more. */
    c->c_closed = 1;
    if (c->c_nfills == 0 && c->c_nholds == 0)
        cache_free(c);
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
            evict_to_cap(c, NULL);
    }
    if (c->c_closed && c->c_nfills == 0 && c->c_nholds == 0)
        cache_free(c);
}

void
cache_get_stats(const struct cache *c, struct cache_stats *st)
{
    *st = c->c_st;
}

/* ------------------------------------------------------------------ */
/* Lookup and remove */

/* Read the whole meta file at path into a malloc'd buffer; -1 when it is
 * missing, unreadable, or larger than any meta we write. */
static int
read_meta(const char *path, char **out, size_t *len)
{
    uint64_t size;
    size_t got = 0;
    char *buf = NULL;
    int fd = plat_open_read(path);

    if (fd == -1)
        return -1;
    if (plat_fsize(fd, &size) == -1 || size > CACHE_META_MAX)
        goto fail;
    if ((buf = malloc((size_t)size + 1)) == NULL)
        goto fail;
    while (got < (size_t)size) {
        int64_t r = plat_pread(fd, buf + got, (size_t)size - got, got);
        if (r <= 0)
            goto fail;
        got += (size_t)r;
    }
    buf[got] = '\0';
    (void)plat_close(fd);
    *out = buf;
    *len = got;
    return 0;
fail:
    free(buf);
    (void)plat_close(fd);
    return -1;
}

int
cache_lookup(struct cache *c, const char *url, struct cache_meta *meta, int *fd,
             struct cache_ent **hold)
{
    char path[CACHE_PATH_MAX];
    uint8_t key[KEY_LEN];
    struct cache_ent *e;
    struct cache_meta m;
    char *text = NULL;
    size_t len;
    uint64_t size;
    int dfd = -1;

    *fd = -1;
    if (hold != NULL)
        *hold = NULL;
    cache_key_bin(url, key);
    if ((e = ent_find(c, key)) == NULL) {
        c->c_st.cs_misses++;
        return -1;
    }
    if (ent_path(c, key, ".meta", path, sizeof(path)) == -1 ||
        read_meta(path, &text, &len) == -1 ||
        cache_meta_parse(text, len, url, &m, NULL, 0) == -1)
        goto corrupt;
    free(text);
    text = NULL;
    if (ent_path(c, key, ".data", path, sizeof(path)) == -1 ||
        (dfd = plat_open_read(path)) == -1 || plat_fsize(dfd, &size) == -1 ||
        size != m.cm_length)
        goto corrupt;
    /* The data file's mtime is the last use across restarts. */
    (void)plat_touch(path);
    c->c_st.cs_bytes = c->c_st.cs_bytes - e->ce_size + size;
    if (e->ce_readers > 0)
        c->c_held_bytes = c->c_held_bytes - e->ce_size + size;
    e->ce_size = size;
    if (hold != NULL) {
        if (e->ce_readers++ == 0)
            c->c_held_bytes += size;
        c->c_nholds++;
        *hold = e;
    }
    e->ce_used = now_unix();
    lru_unlink(c, e);
    lru_push_mru(c, e);
    c->c_st.cs_hits++;
    *meta = m;
    *fd = dfd;
    return 0;
corrupt:
    free(text);
    if (dfd != -1)
        (void)plat_close(dfd);
    unlink_files(c, key);
    ent_drop(c, e, 1);
    c->c_st.cs_corrupt++;
    c->c_st.cs_misses++;
    return -1;
}

void
cache_remove(struct cache *c, const char *url)
{
    uint8_t key[KEY_LEN];
    struct cache_ent *e;

    cache_key_bin(url, key);
    if ((e = ent_find(c, key)) == NULL)
        return;
    unlink_files(c, key);
    ent_drop(c, e, 1);
}

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

struct cache_fill *
cache_fill_begin(struct cache *c, const char *url, uint64_t expected_length,
                 const struct cache_meta *meta, char *err, size_t errlen)
{
    struct cache_fill *f = NULL;
    char path[CACHE_PATH_MAX], hex[41], rnd[17];
    uint8_t rb[8];
    size_t ulen;
    int w = 0;

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
    if (make_room(c, expected_length != UINT64_MAX ? expected_length : 0, err,
                  errlen) == -1)
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
    cache_hex(f->fl_key, KEY_LEN, hex);
    if (sub_path(c, f->fl_key, path, sizeof(path)) == -1 ||
        plat_mkdirs(path) == -1) {
        char es[128];
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot create %s: %s", path, es);
        goto fail;
    }
    /* A unique temporary; retry the rare clash with a leftover. */
    for (int tries = 0; tries < 8 && f->fl_fd == -1; tries++) {
        plat_random(rb, sizeof(rb));
        cache_hex(rb, sizeof(rb), rnd);
        w = snprintf(path, sizeof(path), "%s/%.2s/%s.data.tmp.%s", c->c_dir,
                     hex, hex, rnd);
        if (w < 0 || (size_t)w >= sizeof(path)) {
            errfmt(err, errlen, "cache path too long");
            goto fail;
        }
        f->fl_fd = plat_open_create(path);
    }
    if (f->fl_fd == -1) {
        char es[128];
        plat_strerror(plat_errno(), es, sizeof(es));
        errfmt(err, errlen, "cannot create %s: %s", path, es);
        goto fail;
    }
    if ((f->fl_tmp = malloc((size_t)w + 1)) == NULL) {
        (void)plat_close(f->fl_fd);
        f->fl_fd = -1;
        (void)plat_unlink(path);
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(f->fl_tmp, path, (size_t)w + 1);
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
    if (make_room(c, length - f->fl_size, err, errlen) == -1)
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
        if (make_room(f->fl_cache, n, why, sizeof(why)) == -1)
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
        if (make_room(f->fl_cache, 0, why, sizeof(why)) == -1)
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
    struct cache_ent *e = ent_add(c, f->fl_key);

    if (e == NULL) {
        /* Keep disk and index in step: without an index entry the files
         * would be orphans until the next cache_open. */
        unlink_files(c, f->fl_key);
        return -1;
    }
    e->ce_have = HAVE_DATA | HAVE_META;
    e->ce_size = f->fl_size;
    e->ce_used = f->fl_meta.cm_stored;
    lru_push_mru(c, e);
    c->c_st.cs_entries++;
    c->c_st.cs_bytes += e->ce_size;
    c->c_st.cs_fills++;
    if (c->c_st.cs_entries > c->c_tabsz)
        tab_grow(c);
    evict_to_cap(c, e);
    return 0;
}

/* The final data and meta paths of the fill's entry, and the temporary
 * meta path next to them (each CACHE_PATH_MAX bytes). Returns 0, or -1
 * when a path would not fit. */
static int
fill_paths(const struct cache_fill *f, char *dpath, char *mpath, char *mtmp)
{
    const struct cache *c = f->fl_cache;

    if (ent_path(c, f->fl_key, ".data", dpath, CACHE_PATH_MAX) == -1 ||
        ent_path(c, f->fl_key, ".meta", mpath, CACHE_PATH_MAX) == -1)
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
    struct cache_ent *e = ent_find(f->fl_cache, f->fl_key);

    if (e == NULL)
        return 0;
    (void)plat_unlink(mpath);
    ent_drop(f->fl_cache, e, 1);
    return 1;
}

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
    f->fl_meta.cm_stored = now_unix();
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
    if (sub_path(c, f->fl_key, sub, sizeof(sub)) == 0)
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
