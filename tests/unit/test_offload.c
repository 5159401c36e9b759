/*
 * test_offload.c - the worker thread (proxy/offload.c) and the cache fills
 * that run on it (proxy/cache_fill.c with cache_set_offload), with a real
 * thread, a real event base and real files in a folder made with
 * plat_mkdtemp. Each test runs the loop until what it waits for happened,
 * bounded by a deadline, and checks order, bytes, lengths and what is
 * left on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "cache.h"
#include "offload.h"
#include "plat.h"

#define DEADLINE_MS 20000u

/* ------------------------------------------------------------------ */
/* The queue */

struct rec {
    struct offload_job r_job; /* first */
    unsigned r_idx;
    int r_ran;  /* set by oj_run */
    int r_spin; /* busy work in oj_run, so jobs queue up behind it */
    unsigned *r_order;
    unsigned *r_ndone;
    struct offload *r_o;
    int r_chain; /* oj_done submits this many more */
};

static void
rec_run(struct offload_job *j)
{
    struct rec *r = (struct rec *)(void *)j;
    volatile unsigned x = 0;

    for (int i = 0; i < r->r_spin; i++)
        x += (unsigned)i;
    r->r_ran = 1;
}

static void
rec_done(struct offload_job *j)
{
    struct rec *r = (struct rec *)(void *)j;

    /* Completed after it ran, in submission order. */
    assert_int_equal(r->r_ran, 1);
    r->r_order[(*r->r_ndone)++] = r->r_idx;
    if (r->r_chain > 0) {
        r->r_chain--;
        r->r_ran = 0;
        r->r_idx += 1000;
        offload_submit(r->r_o, &r->r_job);
    }
}

/* Run base until *n reaches want (bounded). */
static void
loop_until(struct event_base *base, const unsigned *n, unsigned want)
{
    uint64_t t0 = plat_monotonic_ms();

    while (*n < want) {
        assert_true(plat_monotonic_ms() - t0 < DEADLINE_MS);
        event_base_loop(base, EVLOOP_ONCE);
    }
}

#define NJOBS 500

/* 500 jobs complete once each, on the loop, in the order submitted;
 * offload_pending counts them down to 0. */
static void
test_order(void **state)
{
    struct event_base *base = event_base_new();
    char err[128] = "";
    struct offload *o = offload_new(base, err, sizeof(err));
    static struct rec r[NJOBS];
    static unsigned order[NJOBS];
    unsigned ndone = 0;

    (void)state;
    assert_non_null(o);
    memset(r, 0, sizeof(r));
    for (unsigned i = 0; i < NJOBS; i++) {
        r[i].r_job.oj_run = rec_run;
        r[i].r_job.oj_done = rec_done;
        r[i].r_idx = i;
        r[i].r_spin = (int)(i % 7) * 1000;
        r[i].r_order = order;
        r[i].r_ndone = &ndone;
        offload_submit(o, &r[i].r_job);
    }
    /* Nothing completes outside the loop. */
    assert_int_equal(ndone, 0);
    assert_int_equal(offload_pending(o), NJOBS);
    loop_until(base, &ndone, NJOBS);
    for (unsigned i = 0; i < NJOBS; i++)
        assert_int_equal(order[i], i);
    assert_int_equal(offload_pending(o), 0);
    offload_free(o);
    event_base_free(base);
}

/* offload_free runs and completes every job still queued, including the
 * ones their completions submit (inline from then on). */
static void
test_free_drains(void **state)
{
    struct event_base *base = event_base_new();
    char err[128] = "";
    struct offload *o = offload_new(base, err, sizeof(err));
    static struct rec r[64];
    static unsigned order[64 * 4];
    unsigned ndone = 0;

    (void)state;
    assert_non_null(o);
    memset(r, 0, sizeof(r));
    for (unsigned i = 0; i < 64; i++) {
        r[i].r_job.oj_run = rec_run;
        r[i].r_job.oj_done = rec_done;
        r[i].r_idx = i;
        r[i].r_spin = 20000;
        r[i].r_order = order;
        r[i].r_ndone = &ndone;
        r[i].r_o = o;
        r[i].r_chain = 2;
        offload_submit(o, &r[i].r_job);
    }
    offload_free(o);
    /* 64 jobs, each run three times (two chained resubmissions). */
    assert_int_equal(ndone, 64 * 3);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(r[i].r_chain, 0);
    event_base_free(base);
}

/* Without an offload a job runs and completes inside offload_submit. */
static void
test_null_inline(void **state)
{
    struct rec r;
    unsigned order[4], ndone = 0;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.r_job.oj_run = rec_run;
    r.r_job.oj_done = rec_done;
    r.r_idx = 7;
    r.r_order = order;
    r.r_ndone = &ndone;
    offload_submit(NULL, &r.r_job);
    assert_int_equal(ndone, 1);
    assert_int_equal(order[0], 7);
    assert_int_equal(offload_pending(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Cache fills on the worker */

struct tdir {
    char td_path[1024];
    struct event_base *td_base;
    struct offload *td_o;
    struct cache *td_c;
};

static int
setup_cache(void **state)
{
    struct tdir *t = calloc(1, sizeof(*t));
    char err[256] = "";

    if (t == NULL ||
        plat_mkdtemp("test_offload.", t->td_path, sizeof(t->td_path)) == -1)
        return -1;
    t->td_base = event_base_new();
    t->td_o = offload_new(t->td_base, err, sizeof(err));
    t->td_c = cache_open(t->td_path, 1ull << 30, 1, err, sizeof(err));
    if (t->td_base == NULL || t->td_o == NULL || t->td_c == NULL)
        return -1;
    cache_set_offload(t->td_c, t->td_o);
    *state = t;
    return 0;
}

static int
teardown_cache(void **state)
{
    struct tdir *t = *state;
    int rc;

    if (t->td_c != NULL)
        cache_close(t->td_c);
    offload_free(t->td_o);
    event_base_free(t->td_base);
    rc = plat_rmtree(t->td_path);
    free(t);
    return rc;
}

struct walkcount {
    int wc_files;
    int wc_tmp;
};

static int
walk_fn(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    struct walkcount *wc = arg;

    (void)size;
    (void)mtime;
    wc->wc_files++;
    if (strstr(path, ".tmp.") != NULL)
        wc->wc_tmp++;
    return 0;
}

/* The files below dir are want, none of them a temporary. */
static void
expect_files(const char *dir, int want)
{
    struct walkcount wc = {0, 0};

    assert_int_equal(plat_walk(dir, walk_fn, &wc), 0);
    assert_int_equal(wc.wc_files, want);
    assert_int_equal(wc.wc_tmp, 0);
}

/* Run the loop until the worker has nothing left (bounded). */
static void
settle(struct tdir *t)
{
    unsigned spins = 0;

    while (offload_pending(t->td_o) > 0 && spins++ < 10000)
        event_base_loop(t->td_base, EVLOOP_ONCE);
    assert_int_equal(offload_pending(t->td_o), 0);
}

/* A body of n pattern bytes, and the URL naming its SHA-1. */
static unsigned char *
make_body(size_t n, char *url, size_t urllen)
{
    unsigned char *b = malloc(n);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    char hex[41];

    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 131u + (i >> 12)) & 0xff);
    assert_int_equal(EVP_Digest(b, n, d, &dl, EVP_sha1(), NULL), 1);
    for (unsigned i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(url, urllen, "http://h/c/msdownload/update/kb_%s.cab", hex);
    return b;
}

/* A fill of url expecting n bytes (UINT64_MAX: unknown), begun. */
static struct cache_fill *
begin(struct tdir *t, const char *url, uint64_t n)
{
    struct cache_meta m;
    char err[200] = "";
    struct cache_fill *f;

    memset(&m, 0, sizeof(m));
    f = cache_fill_begin(t->td_c, url, n, &m, err, sizeof(err));
    if (f == NULL)
        fail_msg("cache_fill_begin: %s", err);
    return f;
}

struct news {
    unsigned nw_calls;
    struct cache_fill *nw_abort; /* abort this fill from the callback */
};

static void
news_cb(void *arg)
{
    struct news *nw = arg;

    nw->nw_calls++;
    if (nw->nw_abort != NULL) {
        struct cache_fill *f = nw->nw_abort;
        nw->nw_abort = NULL;
        cache_fill_abort(f);
    }
}

struct outcome {
    unsigned oc_called;
    struct cache_commit oc_cc;
};

static void
outcome_cb(void *arg, const struct cache_commit *cc)
{
    struct outcome *oc = arg;

    oc->oc_called++;
    oc->oc_cc = *cc;
}

/* 24 MiB in 64 KiB writes: accepted at once, on disk as the worker gets
 * there (readable through the fill's descriptor, never more than was
 * accepted), then committed from the loop with the URL's SHA-1; the
 * entry reads back byte for byte and no temporary is left. */
static void
test_fill_on_worker(void **state)
{
    struct tdir *t = *state;
    const size_t n = 24u << 20, chunk = 64u << 10;
    char url[200];
    unsigned char *b = make_body(n, url, sizeof(url));
    struct cache_meta got;
    struct news nw = {0, NULL};
    struct outcome oc;
    struct cache_fill *f;
    struct cache_ent *hold = NULL;
    int fd = -1;
    uint64_t last = 0;
    unsigned sub = 0;

    memset(&oc, 0, sizeof(oc));
    f = begin(t, url, n);
    cache_fill_set_notify(f, news_cb, &nw);
    for (size_t off = 0; off < n; off += chunk) {
        assert_int_equal(cache_fill_write(f, b + off, chunk), 0);
        assert_true(cache_fill_written(f) + cache_fill_queued(f) ==
                    off + chunk);
        assert_int_equal(cache_fill_size(f), off + chunk);
        assert_true(cache_fill_written(f) <= off + chunk);
        /* The write is the worker's: nothing is on disk, as far as the
         * fill knows, before the loop has seen a completion. */
        if (off == 0) {
            assert_int_equal(cache_fill_written(f), 0);
            assert_int_equal(cache_fill_queued(f), chunk);
        }
        /* Let the worker's completions in now and then. */
        if (++sub % 16 == 0)
            event_base_loop(t->td_base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(cache_fill_size(f), n);
    /* What is on disk is the body's prefix. */
    while (cache_fill_written(f) < n) {
        unsigned char probe[4096];
        uint64_t w = cache_fill_written(f);
        assert_true(w >= last);
        last = w;
        if (w >= sizeof(probe)) {
            int64_t r = plat_pread(cache_fill_fd(f), probe, sizeof(probe),
                                   w - sizeof(probe));
            assert_int_equal(r, (int64_t)sizeof(probe));
            assert_memory_equal(probe, b + w - sizeof(probe), sizeof(probe));
        }
        loop_until(t->td_base, &nw.nw_calls, nw.nw_calls + 1);
    }
    assert_int_equal(cache_fill_queued(f), 0);
    cache_fill_commit(f, outcome_cb, &oc);
    /* The seal (SHA-1, fsyncs) runs on the worker: not done yet. */
    assert_int_equal(oc.oc_called, 0);
    loop_until(t->td_base, &oc.oc_called, 1);
    assert_int_equal(oc.oc_cc.cc_rc, 0);
    assert_int_equal(oc.oc_cc.cc_rejected, 0);
    assert_int_equal(oc.oc_cc.cc_meta.cm_length, n);
    assert_non_null(strstr(url, oc.oc_cc.cc_meta.cm_sha1));
    assert_int_equal(cache_lookup(t->td_c, url, &got, &fd, &hold), 0);
    assert_int_equal(got.cm_length, n);
    {
        unsigned char *back = malloc(n);
        size_t have = 0;
        assert_non_null(back);
        while (have < n) {
            int64_t r = plat_pread(fd, back + have, n - have, have);
            assert_true(r > 0);
            have += (size_t)r;
        }
        assert_memory_equal(back, b, n);
        free(back);
    }
    plat_close(fd);
    cache_release(hold);
    /* The directory's fsync is a job of its own: let it finish. */
    settle(t);
    expect_files(t->td_path, 2);
    free(b);
}

/* A body that is not the one the URL names is rejected by the seal on
 * the worker: the outcome says so, nothing is committed or left. */
static void
test_fill_sha1_rejected(void **state)
{
    struct tdir *t = *state;
    const size_t n = 3u << 20;
    char url[200];
    unsigned char *b = make_body(n, url, sizeof(url));
    struct outcome oc;
    struct cache_stats st;
    struct cache_fill *f;

    memset(&oc, 0, sizeof(oc));
    b[n / 2] ^= 1;
    f = begin(t, url, n);
    assert_int_equal(cache_fill_write(f, b, n), 0);
    cache_fill_commit(f, outcome_cb, &oc);
    loop_until(t->td_base, &oc.oc_called, 1);
    assert_int_equal(oc.oc_cc.cc_rc, -1);
    assert_int_equal(oc.oc_cc.cc_rejected, 1);
    assert_non_null(strstr(oc.oc_cc.cc_err, "SHA-1 mismatch"));
    cache_get_stats(t->td_c, &st);
    assert_int_equal(st.cs_rejected, 1);
    assert_int_equal(st.cs_entries, 0);
    expect_files(t->td_path, 0);
    free(b);
}

/* Aborts while a job is out, from inside the notify callback, and while
 * the seal runs: no outcome is ever reported, the temporaries go, and
 * the cache closes cleanly once the worker is done with them. */
static void
test_fill_abort_in_flight(void **state)
{
    struct tdir *t = *state;
    const size_t n = 8u << 20;
    char url[200];
    unsigned char *b = make_body(n, url, sizeof(url));
    struct outcome oc;
    struct news nw = {0, NULL};
    struct cache_fill *f;

    memset(&oc, 0, sizeof(oc));
    /* 1: a write out on the worker. */
    f = begin(t, url, n);
    assert_int_equal(cache_fill_write(f, b, n), 0);
    cache_fill_abort(f);
    /* 2: from the notify callback. */
    f = begin(t, url, n);
    cache_fill_set_notify(f, news_cb, &nw);
    nw.nw_abort = f;
    assert_int_equal(cache_fill_write(f, b, n / 2), 0);
    assert_int_equal(cache_fill_write(f, b + n / 2, n / 2), 0);
    loop_until(t->td_base, &nw.nw_calls, 1);
    assert_null(nw.nw_abort);
    /* 3: during the seal. */
    f = begin(t, url, n);
    assert_int_equal(cache_fill_write(f, b, n), 0);
    cache_fill_commit(f, outcome_cb, &oc);
    cache_fill_abort(f);
    settle(t);
    assert_int_equal(oc.oc_called, 0);
    assert_int_equal(nw.nw_calls, 1);
    expect_files(t->td_path, 0);
    free(b);
}

/* A fill still on the worker when the cache is closed and the offload
 * freed (the daemon's shutdown order): the commit reports "cache closed"
 * or never runs; nothing is left and nothing leaks (ASan). */
static void
test_fill_close_mid_fill(void **state)
{
    struct tdir *t = *state;
    const size_t n = 8u << 20;
    char url[200];
    unsigned char *b = make_body(n, url, sizeof(url));
    struct outcome oc;
    struct cache_fill *f;

    memset(&oc, 0, sizeof(oc));
    f = begin(t, url, n);
    assert_int_equal(cache_fill_write(f, b, n), 0);
    cache_fill_commit(f, outcome_cb, &oc);
    cache_close(t->td_c);
    t->td_c = NULL;
    offload_free(t->td_o);
    t->td_o = NULL;
    assert_int_equal(oc.oc_called, 1);
    assert_int_equal(oc.oc_cc.cc_rc, -1);
    assert_string_equal(oc.oc_cc.cc_err, "cache closed");
    expect_files(t->td_path, 0);
    free(b);
}

/* An entry evicted for the cap while the worker runs: its data file is
 * renamed out of the way at once (the entry's name is free for a new
 * fill) and removed by the worker; nothing else is left. */
static void
test_evicted_file_removed_on_worker(void **state)
{
    struct tdir *t = *state;
    const size_t n = 6u << 20;
    char url[2][200], err[200] = "";
    unsigned char *b[2];
    struct cache_meta got;
    struct cache_stats st;
    struct outcome oc;
    int fd;
    struct cache_ent *hold;

    cache_close(t->td_c);
    t->td_c = cache_open(t->td_path, 10u << 20, 1, err, sizeof(err));
    assert_non_null(t->td_c);
    cache_set_offload(t->td_c, t->td_o);
    for (int i = 0; i < 2; i++) {
        b[i] = make_body(n - (size_t)i, url[i], sizeof(url[i]));
        struct cache_fill *f = begin(t, url[i], UINT64_MAX);
        assert_int_equal(cache_fill_write(f, b[i], n - (size_t)i), 0);
        memset(&oc, 0, sizeof(oc));
        cache_fill_commit(f, outcome_cb, &oc);
        loop_until(t->td_base, &oc.oc_called, 1);
        assert_int_equal(oc.oc_cc.cc_rc, 0);
    }
    cache_get_stats(t->td_c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_evictions, 1);
    /* The removal (and the folder's fsync) are jobs, not done yet. */
    assert_true(offload_pending(t->td_o) >= 2);
    assert_int_equal(cache_lookup(t->td_c, url[0], &got, &fd, &hold), -1);
    settle(t);
    expect_files(t->td_path, 2);
    assert_int_equal(cache_lookup(t->td_c, url[1], &got, &fd, &hold), 0);
    assert_int_equal(got.cm_length, n - 1);
    plat_close(fd);
    cache_release(hold);
    free(b[0]);
    free(b[1]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_cache, teardown_cache)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_free_drains),
        cmocka_unit_test(test_null_inline),
        T(test_fill_on_worker),
        T(test_fill_sha1_rejected),
        T(test_fill_abort_in_flight),
        T(test_fill_close_mid_fill),
        T(test_evicted_file_removed_on_worker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
