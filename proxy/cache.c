/*
 * cache.c - the content cache on disk (see cache.h for the layout and the
 * crash-safety argument): paths, open and close, lookup and remove. The
 * index, eviction and free space are cache_index.c's, fills and their
 * commit cache_fill.c's; cache_int.h is what the three share.
 *
 * Everything touching the file system goes through plat.h, so this file
 * builds unchanged on Windows. SHA-1 (body, URL key, meta checksum) is
 * OpenSSL EVP. The module belongs to the event loop's thread, but for
 * the jobs cache_fill.c hands to the worker (offload.c), and never logs:
 * failures come back as text in err.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cache_int.h"
#include "offload.h"
#include "plat.h"
#include "strparse.h"

int64_t
cache_now_unix(void)
{
    struct timespec ts;

    plat_clock_real(&ts);
    return (int64_t)ts.tv_sec;
}

/* ------------------------------------------------------------------ */
/* Paths */

/* DIR/xx/<hex><suffix> into buf. 0, or -1 when it does not fit. */
int
cache_ent_path(const struct cache *c, const uint8_t *key, const char *suffix,
               char *buf, size_t len)
{
    char hex[41];
    int w;

    cache_hex(key, KEY_LEN, hex);
    w = snprintf(buf, len, "%s/%.2s/%s%s", c->c_dir, hex, hex, suffix);
    return (w < 0 || (size_t)w >= len) ? -1 : 0;
}

int
cache_sub_path(const struct cache *c, const uint8_t *key, char *buf, size_t len)
{
    char hex[41];
    int w;

    cache_hex(key, KEY_LEN, hex);
    w = snprintf(buf, len, "%s/%.2s", c->c_dir, hex);
    return (w < 0 || (size_t)w >= len) ? -1 : 0;
}

/* Remove both files of key: meta first, so a crash in between leaves an
 * orphan data file (cleaned by cache_open), never a meta without data. */
void
cache_unlink_files(const struct cache *c, const uint8_t *key)
{
    char path[CACHE_PATH_MAX];

    if (cache_ent_path(c, key, ".meta", path, sizeof(path)) == 0)
        (void)plat_unlink(path);
    if (cache_ent_path(c, key, ".data", path, sizeof(path)) == 0)
        (void)plat_unlink(path);
}

/* A data file, renamed out of the way, that the worker removes. */
struct unlink_job {
    struct offload_job uj_job; /* first */
    struct cache *uj_cache;
    uint64_t uj_size;
    char uj_path[CACHE_PATH_MAX];
};

static void
unlink_run(struct offload_job *j)
{
    (void)plat_unlink(((struct unlink_job *)(void *)j)->uj_path);
}

static void
unlink_done(struct offload_job *j)
{
    struct unlink_job *u = (struct unlink_job *)(void *)j;
    struct cache *c = u->uj_cache;

    c->c_freeing -= u->uj_size;
    free(u);
    if (--c->c_nwork == 0 && c->c_closed && c->c_nholds == 0)
        cache_free(c);
}

void
cache_unlink_later(struct cache *c, const uint8_t *key, uint64_t size)
{
    char data[CACHE_PATH_MAX], meta[CACHE_PATH_MAX], rnd[17];
    struct unlink_job *u = NULL;
    uint8_t rb[8];

    if (c->c_offload == NULL ||
        cache_ent_path(c, key, ".data", data, sizeof(data)) == -1 ||
        cache_ent_path(c, key, ".meta", meta, sizeof(meta)) == -1 ||
        (u = malloc(sizeof(*u))) == NULL) {
        cache_unlink_files(c, key);
        return;
    }
    plat_random(rb, sizeof(rb));
    cache_hex(rb, sizeof(rb), rnd);
    if ((size_t)snprintf(u->uj_path, sizeof(u->uj_path), "%s.tmp.%s", data,
                         rnd) >= sizeof(u->uj_path)) {
        free(u);
        cache_unlink_files(c, key);
        return;
    }
    (void)plat_unlink(meta); /* the meta first, as in cache_unlink_files */
    if (plat_rename(data, u->uj_path) == -1) {
        free(u);
        (void)plat_unlink(data);
        return;
    }
    u->uj_cache = c;
    u->uj_size = size;
    u->uj_job.oj_run = unlink_run;
    u->uj_job.oj_done = unlink_done;
    c->c_freeing += size;
    c->c_nwork++;
    offload_submit(c->c_offload, &u->uj_job);
}

/* ------------------------------------------------------------------ */
/* Open and close */

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
    if ((e = cache_ent_find(c, key)) == NULL) {
        if ((e = cache_ent_add(c, key)) == NULL) {
            sc->sc_oom = 1;
            return 1;
        }
        if (++sc->sc_n > c->c_tabsz)
            cache_tab_grow(c);
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

void
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

/* After the start-up scan: remove the orphans (a data file without its
 * meta file, or the reverse: a crash between the commit's renames), and
 * put the complete entries on the LRU list, least recently used first.
 * -1 when out of memory. */
static int
scan_order(struct cache *c)
{
    struct cache_ent **all = NULL;
    size_t n = 0, cnt;

    for (size_t i = 0; i < c->c_tabsz; i++) {
        struct cache_ent *e = c->c_tab[i], *next;
        for (; e != NULL; e = next) {
            next = e->ce_hnext;
            if (e->ce_have == (HAVE_DATA | HAVE_META)) {
                n++;
                continue;
            }
            cache_unlink_files(c, e->ce_key);
            cache_ent_drop(c, e, 0);
        }
    }
    /* sizeof(*p) of an array of pointers: one pointer, as meant */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    if (n > 0 && (all = calloc(n, sizeof(*all))) == NULL)
        return -1;
    cnt = n;
    n = 0;
    for (size_t i = 0; i < c->c_tabsz; i++)
        for (struct cache_ent *e = c->c_tab[i]; e != NULL; e = e->ce_hnext)
            if (n < cnt)
                all[n++] = e;
    if (n > 0)
        /* sizeof(*p) of an array of pointers: one pointer, as meant */
        // NOLINTNEXTLINE(bugprone-sizeof-expression)
        qsort(all, n, sizeof(*all), cmp_used);
    /* Oldest first onto the MRU end, so the newest ends up most recent. */
    for (size_t i = 0; i < n; i++) {
        cache_lru_push_mru(c, all[i]);
        c->c_st.cs_entries++;
        c->c_st.cs_bytes += all[i]->ce_size;
    }
    free(all);
    return 0;
}

struct cache *
cache_open(const char *dir, uint64_t max_bytes, int verify_sha1, char *err,
           size_t errlen)
{
    struct cache *c = NULL;
    struct scan sc;
    size_t dlen;
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
    /* sizeof(*p) of an array of pointers: one pointer, as meant */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
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
    if (scan_order(c) == -1) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    cache_evict_to_cap(c, NULL);
    return c;
fail:
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
    if (c->c_nwork == 0 && c->c_nholds == 0)
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
    if ((e = cache_ent_find(c, key)) == NULL) {
        c->c_st.cs_misses++;
        return -1;
    }
    if (cache_ent_path(c, key, ".meta", path, sizeof(path)) == -1 ||
        read_meta(path, &text, &len) == -1 ||
        cache_meta_parse(text, len, url, &m, NULL, 0) == -1)
        goto corrupt;
    free(text);
    text = NULL;
    if (cache_ent_path(c, key, ".data", path, sizeof(path)) == -1 ||
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
    e->ce_used = cache_now_unix();
    cache_lru_unlink(c, e);
    cache_lru_push_mru(c, e);
    c->c_st.cs_hits++;
    *meta = m;
    *fd = dfd;
    return 0;
corrupt:
    free(text);
    if (dfd != -1)
        (void)plat_close(dfd);
    cache_unlink_files(c, key);
    cache_ent_drop(c, e, 1);
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
    if ((e = cache_ent_find(c, key)) == NULL)
        return;
    cache_unlink_files(c, key);
    cache_ent_drop(c, e, 1);
}
