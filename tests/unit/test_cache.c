/*
 * test_cache.c - tests of the content cache (proxy/cache.c) against real
 * folders made with plat_mkdtemp in the system's temporary folder. Each
 * test states the behaviour it proves and checks bytes, lengths and stats,
 * and what is left on disk (walked with plat_walk). The pure helpers
 * (cache_url_sha1 and the meta text format) are table-driven. The same
 * tests run on POSIX and on Windows (under Wine): files and folders are
 * made and removed through the platform layer only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cache.h"
#include "plat.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define GiB (1024ull * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Helpers */

struct tdir {
    char td_path[1024];
};

static int
setup_dir(void **state)
{
    struct tdir *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -1;
    if (plat_mkdtemp("test_cache.", t->td_path, sizeof(t->td_path)) == -1) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int
teardown_dir(void **state)
{
    struct tdir *t = *state;
    int rc = plat_rmtree(t->td_path);

    free(t);
    return rc;
}

static const char *
dir_of(void **state)
{
    return ((struct tdir *)*state)->td_path;
}

struct count {
    int cn_files;
    int cn_tmp;
    uint64_t cn_bytes;
};

static int
count_fn(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    struct count *cn = arg;

    (void)mtime;
    cn->cn_files++;
    cn->cn_bytes += size;
    if (strstr(path, ".tmp.") != NULL)
        cn->cn_tmp++;
    return 0;
}

/* Regular files below dir (one level of subfolders). */
static int
files_on_disk(const char *dir, int *tmp)
{
    struct count cn = {0, 0, 0};

    assert_int_equal(plat_walk(dir, count_fn, &cn), 0);
    if (tmp != NULL)
        *tmp = cn.cn_tmp;
    return cn.cn_files;
}

static int
file_exists(const char *path)
{
    int fd = plat_open_read(path);

    if (fd == -1)
        return 0;
    plat_close(fd);
    return 1;
}

static void
sha1_hex(const void *p, size_t n, char out[41])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    assert_int_equal(EVP_Digest(p, n, d, &len, EVP_sha1(), NULL), 1);
    assert_int_equal(len, 20);
    for (unsigned i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The entry file of url with suffix ".data" or ".meta". */
static void
ent_file(const char *dir, const char *url, const char *suffix, char *buf,
         size_t len)
{
    char key[41];

    cache_url_key(url, key);
    snprintf(buf, len, "%s/%.2s/%s%s", dir, key, key, suffix);
}

static void
fill_pattern(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 31u + seed * 7u + (i >> 8)) & 0xff);
}

static struct cache_meta
std_meta(const char *etag)
{
    struct cache_meta m;

    memset(&m, 0, sizeof(m));
    snprintf(m.cm_etag, sizeof(m.cm_etag), "%s", etag);
    snprintf(m.cm_last_modified, sizeof(m.cm_last_modified),
             "Tue, 01 Oct 2013 10:00:00 GMT");
    snprintf(m.cm_content_type, sizeof(m.cm_content_type),
             "application/octet-stream");
    return m;
}

/* The outcome of a commit made without an offload, which ends before
 * cache_fill_commit returns. */
struct sync_commit {
    int sc_called;
    struct cache_commit sc_cc;
};

static void
sync_commit_cb(void *arg, const struct cache_commit *cc)
{
    struct sync_commit *sc = arg;

    sc->sc_called++;
    sc->sc_cc = *cc;
}

/* cache_fill_commit as a call: its result, the stored meta in *meta (when
 * not NULL), the reason in err. */
static int
commit_now(struct cache_fill *f, struct cache_meta *meta, char *err,
           size_t errlen)
{
    struct sync_commit sc;

    memset(&sc, 0, sizeof(sc));
    cache_fill_commit(f, sync_commit_cb, &sc);
    assert_int_equal(sc.sc_called, 1);
    if (meta != NULL && sc.sc_cc.cc_rc == 0)
        *meta = sc.sc_cc.cc_meta;
    snprintf(err, errlen, "%s", sc.sc_cc.cc_err);
    return sc.sc_cc.cc_rc;
}

/* Fill url with n bytes of p in chunks of chunk, then commit. Returns the
 * commit's result; *out gets the stored meta. */
static int
fill_commit(struct cache *c, const char *url, const void *p, size_t n,
            size_t chunk, uint64_t expect, const char *etag,
            struct cache_meta *out, char *err, size_t errlen)
{
    struct cache_meta m = std_meta(etag), got;
    struct cache_fill *f;
    const unsigned char *b = p;

    f = cache_fill_begin(c, url, expect, &m, err, errlen);
    assert_non_null(f);
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        assert_int_equal(cache_fill_write(f, b + off, k), 0);
    }
    assert_int_equal(cache_fill_size(f), n);
    memset(&got, 0, sizeof(got));
    int rc = commit_now(f, &got, err, errlen);
    if (out != NULL)
        *out = got;
    return rc;
}

/* Read the whole of fd (len bytes) and compare with want. */
static void
assert_fd_bytes(int fd, const void *want, size_t len)
{
    unsigned char *buf = malloc(len + 1);
    size_t got = 0;
    uint64_t size = 0;

    assert_non_null(buf);
    assert_int_equal(plat_fsize(fd, &size), 0);
    assert_int_equal(size, len);
    while (got < len) {
        int64_t r = plat_pread(fd, buf + got, len - got, got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_int_equal(plat_pread(fd, buf, 1, len), 0);
    assert_memory_equal(buf, want, len);
    free(buf);
}

/* Look up url, expect a hit with exactly want[0..len). */
static void
assert_hit(struct cache *c, const char *url, const void *want, size_t len,
           struct cache_meta *out)
{
    struct cache_meta m;
    int fd = -1;

    assert_int_equal(cache_lookup(c, url, &m, &fd, NULL), 0);
    assert_true(fd != -1);
    assert_int_equal(m.cm_length, len);
    assert_fd_bytes(fd, want, len);
    plat_close(fd);
    if (out != NULL)
        *out = m;
}

static void
assert_miss(struct cache *c, const char *url)
{
    struct cache_meta m;
    int fd = 12345;

    assert_int_equal(cache_lookup(c, url, &m, &fd, NULL), -1);
    assert_int_equal(fd, -1);
}

static struct cache *
open_cache(const char *dir, uint64_t max, int verify)
{
    char err[256] = "";
    struct cache *c = cache_open(dir, max, verify, err, sizeof(err));

    if (c == NULL)
        fail_msg("cache_open: %s", err);
    return c;
}

static void
write_file(const char *path, const void *p, size_t n)
{
    (void)plat_unlink(path);
    int fd = plat_open_create(path);
    assert_true(fd != -1);
    assert_int_equal(plat_pwrite_all(fd, p, n, 0), 0);
    assert_int_equal(plat_close(fd), 0);
}

/* Read a small file into a malloc'd NUL-terminated buffer. */
static char *
read_file(const char *path, size_t *len)
{
    int fd = plat_open_read(path);
    uint64_t size;
    char *buf;

    assert_true(fd != -1);
    assert_int_equal(plat_fsize(fd, &size), 0);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(plat_pread(fd, buf, (size_t)size, 0), (int64_t)size);
    buf[size] = '\0';
    plat_close(fd);
    *len = (size_t)size;
    return buf;
}

/* ------------------------------------------------------------------ */
/* cache_url_sha1 */

#define H40 "6d2d1a6c0f2c5f64ddb76a5b5bf1b9e8d8da3e37"
#define H40U "6D2D1A6C0F2C5F64DDB76A5B5BF1B9E8D8DA3E37"
#define WU "http://au.download.windowsupdate.com/c/msdownload/update/software/"

struct sha_vec {
    const char *sv_why;
    const char *sv_url;
    const char *sv_hex; /* NULL: names none */
};

static const struct sha_vec sha_vecs[] = {
    {"captured msu",
     "http://h/c/msdownload/update/software/secu/2013/10/"
     "windows6.1-kb2862330-v2-x64_" H40 ".msu",
     H40},
    {"exe", WU "secu/2013/10/x_" H40 ".exe", H40},
    {"upper-case hex lowered", WU "x_" H40U ".cab", H40},
    {"whole name is the hex", WU H40 ".cab", H40},
    {"query ignored", WU "x_" H40 ".cab?x=1", H40},
    {"fragment ignored", WU "x_" H40 ".cab#frag", H40},
    {"origin-form", "/c/msdownload/x_" H40 ".cab", H40},
    {"39 hex", WU "x_6d2d1a6c0f2c5f64ddb76a5b5bf1b9e8d8da3e3.cab", NULL},
    {"41 hex", WU "x_" H40 "7.cab", NULL},
    {"41 hex whole name", WU "a" H40 ".cab", NULL},
    {"no extension", WU "x_" H40, NULL},
    {"empty extension", WU "x_" H40 ".", NULL},
    {"no underscore", WU "x" H40 ".cab", NULL},
    {"not hex", WU "x_6d2d1a6c0f2c5f64ddb76a5b5bf1b9e8d8da3e3g.cab", NULL},
    {"hex only in query", "http://h/get?name=x_" H40 ".cab", NULL},
    {"hex only in query, no path", "http://h?x_" H40 ".cab", NULL},
    {"hex only in fragment", "http://h/f.cab#x_" H40 ".cab", NULL},
    {"path-less", "http://au.download.windowsupdate.com", NULL},
    {"hex in a folder name", WU H40 ".d/file.cab", NULL},
    {"ext with junk", WU "x_" H40 ".c-b", NULL},
    {"empty", "", NULL},
};

static void
test_url_sha1(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(sha_vecs); i++) {
        const struct sha_vec *v = &sha_vecs[i];
        char out[41];
        memset(out, 'X', sizeof(out));
        int rc = cache_url_sha1(v->sv_url, out);
        if (rc != (v->sv_hex != NULL))
            fail_msg("%s: %s: rc %d", v->sv_why, v->sv_url, rc);
        if (v->sv_hex != NULL && strcmp(out, v->sv_hex) != 0)
            fail_msg("%s: got %.41s", v->sv_why, out);
    }
}

/* The index key is the SHA-1 of the URL text. */
static void
test_url_key(void **state)
{
    char k[41], want[41];
    const char *url = WU "x_" H40 ".cab";

    (void)state;
    cache_url_key(url, k);
    sha1_hex(url, strlen(url), want);
    assert_string_equal(k, want);
}

/* ------------------------------------------------------------------ */
/* Meta text */

static const char *const MURL = "http://h/x_" H40 ".cab";

/* Append the check line to body as cache_meta_format would. */
static char *
with_check(const char *body)
{
    char hex[41];
    size_t n = strlen(body);
    char *out = malloc(n + 64);

    assert_non_null(out);
    sha1_hex(body, n, hex);
    snprintf(out, n + 64, "%scheck %s\n", body, hex);
    return out;
}

#define GOOD_HEAD "wsus-shim-cache 1\nurl http://h/x_" H40 ".cab\n"
#define GOOD_TAIL                                                              \
    "sha1 " H40 "\netag \"e\"\nlast-modified lm\ncontent-type ct\n"            \
    "stored 1700000000\n"

/* The format round-trips, a length over 4 GiB included. */
static void
test_meta_roundtrip(void **state)
{
    struct cache_meta m = std_meta("\"abc-1\""), back;
    char err[128] = "", *text = NULL;
    size_t len = 0;

    (void)state;
    m.cm_length = 5368709120ull;
    memcpy(m.cm_sha1, H40, 41);
    m.cm_stored = 1700000000;
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     0);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "\nlength 5368709120\n"));
    assert_int_equal(cache_meta_parse(text, len, MURL, &back, err, sizeof(err)),
                     0);
    assert_int_equal(back.cm_length, 5368709120ull);
    assert_string_equal(back.cm_sha1, H40);
    assert_string_equal(back.cm_etag, "\"abc-1\"");
    assert_string_equal(back.cm_last_modified, "Tue, 01 Oct 2013 10:00:00 GMT");
    assert_string_equal(back.cm_content_type, "application/octet-stream");
    assert_int_equal(back.cm_stored, 1700000000);
    /* Empty validators are lines with an empty value. */
    memset(back.cm_etag, 0, sizeof(back.cm_etag));
    free(text);
    m.cm_etag[0] = '\0';
    m.cm_length = 0;
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     0);
    assert_non_null(strstr(text, "\netag \n"));
    assert_int_equal(cache_meta_parse(text, len, MURL, &back, err, sizeof(err)),
                     0);
    assert_string_equal(back.cm_etag, "");
    assert_int_equal(back.cm_length, 0);
    /* The URL must match: a key collision or a swapped file. */
    assert_int_equal(
        cache_meta_parse(text, len, "http://h/other", &back, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "url"));
    free(text);
}

struct meta_vec {
    const char *mv_why;
    const char *mv_body; /* before the check line */
    int mv_ok;
};

static const struct meta_vec meta_vecs[] = {
    {"good", GOOD_HEAD "length 42\n" GOOD_TAIL, 1},
    {"max length", GOOD_HEAD "length 18446744073709551615\n" GOOD_TAIL, 1},
    {"length overflow", GOOD_HEAD "length 18446744073709551616\n" GOOD_TAIL, 0},
    {"length sign", GOOD_HEAD "length +42\n" GOOD_TAIL, 0},
    {"length negative", GOOD_HEAD "length -1\n" GOOD_TAIL, 0},
    {"length leading zero", GOOD_HEAD "length 042\n" GOOD_TAIL, 0},
    {"length empty", GOOD_HEAD "length \n" GOOD_TAIL, 0},
    {"length junk", GOOD_HEAD "length 42x\n" GOOD_TAIL, 0},
    {"length space", GOOD_HEAD "length  42\n" GOOD_TAIL, 0},
    {"version 2",
     "wsus-shim-cache 2\nurl http://h/x_" H40 ".cab\n"
     "length 42\n" GOOD_TAIL,
     0},
    {"no version line", "url http://h/x_" H40 ".cab\nlength 42\n" GOOD_TAIL, 0},
    {"CRLF",
     "wsus-shim-cache 1\r\nurl http://h/x_" H40 ".cab\r\n"
     "length 42\n" GOOD_TAIL,
     0},
    {"lines swapped", GOOD_HEAD GOOD_TAIL "length 42\n", 0},
    {"missing line",
     GOOD_HEAD "length 42\nsha1 " H40 "\netag x\n"
               "content-type ct\nstored 1\n",
     0},
    {"upper-case sha1",
     GOOD_HEAD "length 42\nsha1 " H40U "\netag x\n"
               "last-modified lm\ncontent-type ct\nstored 1\n",
     0},
    {"short sha1",
     GOOD_HEAD "length 42\nsha1 abc\netag x\n"
               "last-modified lm\ncontent-type ct\nstored 1\n",
     0},
    {"tab in etag",
     GOOD_HEAD "length 42\nsha1 " H40 "\netag a\tb\n"
               "last-modified lm\ncontent-type ct\nstored 1\n",
     0},
    {"stored negative",
     GOOD_HEAD "length 42\nsha1 " H40 "\netag x\n"
               "last-modified lm\ncontent-type ct\nstored -1\n",
     0},
    {"stored too big",
     GOOD_HEAD "length 42\nsha1 " H40 "\netag x\n"
               "last-modified lm\ncontent-type ct\n"
               "stored 9223372036854775808\n",
     0},
};

static void
test_meta_parse_strict(void **state)
{
    struct cache_meta m;
    char err[128];

    (void)state;
    for (size_t i = 0; i < NELEM(meta_vecs); i++) {
        const struct meta_vec *v = &meta_vecs[i];
        char *text = with_check(v->mv_body);
        err[0] = '\0';
        int rc =
            cache_meta_parse(text, strlen(text), MURL, &m, err, sizeof(err));
        if (rc != (v->mv_ok ? 0 : -1))
            fail_msg("%s: rc %d (%s)", v->mv_why, rc, err);
        if (!v->mv_ok && err[0] == '\0')
            fail_msg("%s: no reason given", v->mv_why);
        free(text);
    }
}

/* What the check line protects: any byte changed, a wrong check, trailing
 * data, a missing final LF. */
static void
test_meta_check_line(void **state)
{
    struct cache_meta m;
    char err[128], *text = with_check(GOOD_HEAD "length 42\n" GOOD_TAIL);
    size_t len = strlen(text);
    char *buf = malloc(len + 16);

    (void)state;
    assert_non_null(buf);
    assert_int_equal(cache_meta_parse(text, len, MURL, &m, err, sizeof(err)),
                     0);
    assert_int_equal(m.cm_length, 42);
    /* One changed digit of the length. */
    memcpy(buf, text, len + 1);
    *strstr(buf, "length 42") = 'L';
    assert_int_equal(cache_meta_parse(buf, len, MURL, &m, err, sizeof(err)),
                     -1);
    memcpy(buf, text, len + 1);
    strstr(buf, "length 42")[7] = '3';
    assert_int_equal(cache_meta_parse(buf, len, MURL, &m, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "checksum"));
    /* A changed check digit. */
    memcpy(buf, text, len + 1);
    buf[len - 2] = buf[len - 2] == '0' ? '1' : '0';
    assert_int_equal(cache_meta_parse(buf, len, MURL, &m, err, sizeof(err)),
                     -1);
    /* Trailing bytes and a missing LF. */
    memcpy(buf, text, len + 1);
    strcat(buf, "x\n");
    assert_int_equal(cache_meta_parse(buf, len + 2, MURL, &m, err, sizeof(err)),
                     -1);
    assert_int_equal(
        cache_meta_parse(text, len - 1, MURL, &m, err, sizeof(err)), -1);
    /* An embedded NUL. */
    memcpy(buf, text, len + 1);
    strstr(buf, "etag \"e\"")[6] = '\0';
    assert_int_equal(cache_meta_parse(buf, len, MURL, &m, err, sizeof(err)),
                     -1);
    /* Truncated anywhere. */
    for (size_t k = 0; k < len; k++)
        assert_int_equal(cache_meta_parse(text, k, MURL, &m, err, sizeof(err)),
                         -1);
    free(buf);
    free(text);
}

/* The format refuses values that could break a line or do not fit. */
static void
test_meta_format_rejects(void **state)
{
    struct cache_meta m = std_meta("\"a\"");
    char err[128], *text = NULL;
    size_t len;

    (void)state;
    memcpy(m.cm_sha1, H40, 41);
    snprintf(m.cm_etag, sizeof(m.cm_etag), "\"a\"\r\nX-Evil: 1");
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     -1);
    assert_null(text);
    assert_non_null(strstr(err, "etag"));
    m = std_meta("\"a\"");
    memcpy(m.cm_sha1, H40, 41);
    memset(m.cm_content_type, 'a', sizeof(m.cm_content_type));
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "content-type too long"));
    m = std_meta("\"a\"");
    memcpy(m.cm_sha1, H40U, 41);
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     -1);
    memcpy(m.cm_sha1, H40, 41);
    assert_int_equal(
        cache_meta_format("http://h/a\nb", &m, &text, &len, err, sizeof(err)),
        -1);
    assert_int_equal(cache_meta_format(MURL, &m, &text, &len, err, sizeof(err)),
                     0);
    free(text);
}

/* ------------------------------------------------------------------ */
/* Fill, commit, lookup */

/* Bytes written in odd chunks come back identical from a lookup, with the
 * validators and the body's SHA-1; the stats count one fill and one hit;
 * the folder holds exactly the data and meta files. */
static void
test_roundtrip(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    unsigned char body[70000];
    struct cache_meta stored, got;
    struct cache_stats st;
    char err[256] = "", want[41], path[2048];
    const char *url = "http://h/c/msdownload/update/plain.cab";
    int tmp = -1;

    fill_pattern(body, sizeof(body), 1);
    sha1_hex(body, sizeof(body), want);
    assert_int_equal(fill_commit(c, url, body, sizeof(body), 4093, sizeof(body),
                                 "\"e1\"", &stored, err, sizeof(err)),
                     0);
    assert_int_equal(stored.cm_length, sizeof(body));
    assert_string_equal(stored.cm_sha1, want);
    assert_true(stored.cm_stored > 1600000000);
    assert_hit(c, url, body, sizeof(body), &got);
    assert_string_equal(got.cm_sha1, want);
    assert_string_equal(got.cm_etag, "\"e1\"");
    assert_string_equal(got.cm_last_modified, "Tue, 01 Oct 2013 10:00:00 GMT");
    assert_string_equal(got.cm_content_type, "application/octet-stream");
    assert_int_equal(got.cm_stored, stored.cm_stored);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, sizeof(body));
    assert_int_equal(st.cs_fills, 1);
    assert_int_equal(st.cs_hits, 1);
    assert_int_equal(st.cs_misses, 0);
    assert_int_equal(st.cs_rejected, 0);
    assert_int_equal(files_on_disk(dir, &tmp), 2);
    assert_int_equal(tmp, 0);
    ent_file(dir, url, ".data", path, sizeof(path));
    assert_true(file_exists(path));
    ent_file(dir, url, ".meta", path, sizeof(path));
    assert_true(file_exists(path));
    /* Another URL misses and counts. */
    assert_miss(c, "http://h/other.cab");
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_misses, 1);
    /* An empty body is a valid entry. */
    assert_int_equal(fill_commit(c, "http://h/empty", "", 0, 1, 0, "", NULL,
                                 err, sizeof(err)),
                     0);
    assert_hit(c, "http://h/empty", "", 0, NULL);
    cache_close(c);
}

/* A fill longer than two write-back chunks (8 MiB each), written in odd
 * pieces so the chunk edges fall inside writes: every byte committed. */
static void
test_fill_across_writeback_chunks(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 64u << 20, 1);
    const size_t n = (17u << 20) + 5;
    unsigned char *body = malloc(n);
    struct cache_meta stored;
    char err[256] = "", want[41];
    const char *url = "http://h/c/msdownload/update/chunks.cab";

    assert_non_null(body);
    fill_pattern(body, n, 7);
    sha1_hex(body, n, want);
    assert_int_equal(fill_commit(c, url, body, n, 65537, n, "\"w\"", &stored,
                                 err, sizeof(err)),
                     0);
    assert_int_equal(stored.cm_length, n);
    assert_string_equal(stored.cm_sha1, want);
    assert_hit(c, url, body, n, NULL);
    free(body);
    cache_close(c);
}

/* While filling, cache_fill_fd reads back what was written so far; the
 * entry is not visible until the commit. */
static void
test_fill_fd_and_invisible_until_commit(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    struct cache_meta m = std_meta("");
    struct cache_fill *f;
    char err[256] = "", buf[16];
    const char *url = "http://h/partial.cab";

    f = cache_fill_begin(c, url, UINT64_MAX, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, "hello ", 6), 0);
    assert_int_equal(cache_fill_write(f, "", 0), 0);
    assert_int_equal(cache_fill_write(f, "world", 5), 0);
    assert_int_equal(cache_fill_size(f), 11);
    assert_int_equal(plat_pread(cache_fill_fd(f), buf, sizeof(buf), 0), 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_miss(c, url);
    assert_int_equal(commit_now(f, &m, err, sizeof(err)), 0);
    assert_int_equal(m.cm_length, 11);
    assert_hit(c, url, "hello world", 11, NULL);
    cache_close(c);
}

/* A URL naming the body's SHA-1 (in upper case too) commits. */
static void
test_sha1_named_match(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    unsigned char body[5000];
    char hex[41], url[256], err[256] = "";
    struct cache_stats st;
    struct cache_meta m;

    fill_pattern(body, sizeof(body), 2);
    sha1_hex(body, sizeof(body), hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    snprintf(url, sizeof(url), WU "x64_%s.cab", hex);
    assert_int_equal(fill_commit(c, url, body, sizeof(body), 1000, UINT64_MAX,
                                 "", &m, err, sizeof(err)),
                     0);
    assert_hit(c, url, body, sizeof(body), NULL);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_fills, 1);
    assert_int_equal(st.cs_rejected, 0);
    cache_close(c);
}

/* A body that is not what the URL names is rejected: counted, nothing
 * left on disk, the lookup misses. */
static void
test_sha1_named_mismatch(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = WU "x_" H40 ".cab";
    unsigned char body[3000];
    struct cache_stats st;
    char err[256] = "";

    fill_pattern(body, sizeof(body), 3);
    assert_int_equal(fill_commit(c, url, body, sizeof(body), 512, sizeof(body),
                                 "", NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "SHA-1 mismatch"));
    assert_int_equal(files_on_disk(dir, NULL), 0);
    assert_miss(c, url);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_rejected, 1);
    assert_int_equal(st.cs_fills, 0);
    assert_int_equal(st.cs_entries, 0);
    assert_int_equal(st.cs_bytes, 0);
    cache_close(c);
}

/* With verify_sha1 off the same body is kept (catalog files whose names
 * do not match are then cacheable). */
static void
test_sha1_verify_off(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 0);
    const char *url = WU "x_" H40 ".cab";
    char err[256] = "";

    assert_int_equal(
        fill_commit(c, url, "abc", 3, 3, 3, "", NULL, err, sizeof(err)), 0);
    assert_hit(c, url, "abc", 3, NULL);
    cache_close(c);
}

/* Fewer or more bytes than announced are rejected with both numbers. */
static void
test_length_mismatch(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = "http://h/short.cab";
    struct cache_stats st;
    char err[256] = "";

    assert_int_equal(
        fill_commit(c, url, "abc", 3, 2, 5, "", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "length mismatch (got 3 of 5)");
    /* A body longer than announced fails at the write that crosses. */
    {
        struct cache_meta m = std_meta("");
        struct cache_fill *f =
            cache_fill_begin(c, url, 5, &m, err, sizeof(err));
        assert_non_null(f);
        assert_int_equal(cache_fill_write(f, "abcd", 4), 0);
        assert_int_equal(cache_fill_write(f, "ef", 2), -1);
        assert_string_equal(cache_fill_why(f),
                            "body longer than the announced length");
        assert_int_equal(commit_now(f, NULL, err, sizeof(err)), -1);
    }
    assert_int_equal(files_on_disk(dir, NULL), 0);
    assert_miss(c, url);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_rejected, 2);
    assert_int_equal(st.cs_entries, 0);
    cache_close(c);
}

/* Abort leaves nothing on disk and nothing in the index. */
static void
test_abort(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    struct cache_meta m = std_meta("\"x\"");
    struct cache_stats st;
    struct cache_fill *f;
    char err[256] = "";
    int tmp = 0;

    f = cache_fill_begin(c, "http://h/a.cab", 100, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, "0123456789", 10), 0);
    assert_int_equal(files_on_disk(dir, &tmp), 1);
    assert_int_equal(tmp, 1);
    cache_fill_abort(f);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    assert_miss(c, "http://h/a.cab");
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_fills, 0);
    assert_int_equal(st.cs_rejected, 0);
    assert_int_equal(st.cs_entries, 0);
    cache_close(c);
}

/* Validators with control characters are refused before anything is
 * created: they would split a meta line. */
static void
test_fill_begin_rejects(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1000, 1);
    struct cache_meta m = std_meta("\"a\"\r\nurl http://evil/");
    char err[256] = "";

    assert_null(cache_fill_begin(c, "http://h/a", 10, &m, err, sizeof(err)));
    assert_non_null(strstr(err, "etag contains a control character"));
    m = std_meta("");
    m.cm_last_modified[3] = '\n';
    assert_null(cache_fill_begin(c, "http://h/a", 10, &m, err, sizeof(err)));
    assert_non_null(strstr(err, "last-modified"));
    m = std_meta("");
    memset(m.cm_etag, 'x', sizeof(m.cm_etag));
    assert_null(cache_fill_begin(c, "http://h/a", 10, &m, err, sizeof(err)));
    assert_non_null(strstr(err, "etag too long"));
    m = std_meta("");
    assert_null(
        cache_fill_begin(c, "http://h/a\r\nb", 10, &m, err, sizeof(err)));
    assert_null(cache_fill_begin(c, "", 10, &m, err, sizeof(err)));
    /* A known length over the cap fails early. */
    assert_null(cache_fill_begin(c, "http://h/a", 1001, &m, err, sizeof(err)));
    assert_non_null(strstr(err, "larger than cache max_size"));
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_close(c);
}

/* A crash that left a short data file (simulated by cutting it after the
 * commit): the lookup misses, both files go, it counts as corrupt. */
static void
test_truncated_data(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = "http://h/trunc.cab";
    unsigned char body[1000];
    struct cache_stats st;
    char err[256] = "", path[2048];

    fill_pattern(body, sizeof(body), 4);
    assert_int_equal(fill_commit(c, url, body, sizeof(body), 100, sizeof(body),
                                 "", NULL, err, sizeof(err)),
                     0);
    ent_file(dir, url, ".data", path, sizeof(path));
    assert_int_equal(plat_truncate(path, 500), 0);
    assert_miss(c, url);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 1);
    assert_int_equal(st.cs_misses, 1);
    assert_int_equal(st.cs_hits, 0);
    assert_int_equal(st.cs_entries, 0);
    assert_int_equal(st.cs_bytes, 0);
    /* A data file grown behind our back is just as wrong. */
    assert_int_equal(fill_commit(c, url, body, sizeof(body), 100, sizeof(body),
                                 "", NULL, err, sizeof(err)),
                     0);
    assert_int_equal(plat_truncate(path, 1001), 0);
    assert_miss(c, url);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 2);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_close(c);
}

/* A meta file with one byte changed fails its check: corrupt, removed. */
static void
test_meta_bad_checksum(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = "http://h/meta.cab";
    struct cache_stats st;
    char err[256] = "", path[2048], *text;
    size_t len;

    assert_int_equal(fill_commit(c, url, "payload", 7, 7, 7, "\"v1\"", NULL,
                                 err, sizeof(err)),
                     0);
    ent_file(dir, url, ".meta", path, sizeof(path));
    text = read_file(path, &len);
    char *e = strstr(text, "\"v1\"");
    assert_non_null(e);
    e[2] = '2';
    write_file(path, text, len);
    free(text);
    assert_miss(c, url);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 1);
    /* A meta whose checksum is right but whose url is another one (key
     * collision, or a file copied over) is corrupt too. */
    assert_int_equal(
        fill_commit(c, url, "payload", 7, 7, 7, "", NULL, err, sizeof(err)), 0);
    struct cache_meta m = std_meta("");
    m.cm_length = 7;
    sha1_hex("payload", 7, m.cm_sha1);
    assert_int_equal(cache_meta_format("http://h/elsewhere.cab", &m, &text,
                                       &len, err, sizeof(err)),
                     0);
    write_file(path, text, len);
    free(text);
    assert_miss(c, url);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 2);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    /* A meta file that vanished. */
    assert_int_equal(
        fill_commit(c, url, "payload", 7, 7, 7, "", NULL, err, sizeof(err)), 0);
    assert_int_equal(plat_unlink(path), 0);
    assert_miss(c, url);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 3);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_close(c);
}

/* cache_open removes our temporaries and orphans, keeps complete entries
 * and leaves files that are not ours alone. */
static void
test_open_cleans_leftovers(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = "http://h/keep.cab";
    char err[256] = "", key[41], sub[1200], path[2048], other[2048];
    struct cache_stats st;
    int tmp = 0;

    assert_int_equal(
        fill_commit(c, url, "keep me", 7, 3, 7, "", NULL, err, sizeof(err)), 0);
    /* A fill in progress when the process died. */
    struct cache_meta m = std_meta("");
    struct cache_fill *f =
        cache_fill_begin(c, "http://h/dying.cab", 10, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, "01234", 5), 0);
    cache_get_stats(c, &st);
    cache_close(c); /* deferred: f still holds it */

    cache_url_key(url, key);
    snprintf(sub, sizeof(sub), "%s/%.2s", dir, key);
    snprintf(path, sizeof(path), "%s/%s.meta.tmp.0123abcd", sub, key);
    write_file(path, "half a meta", 11);
    /* Orphans: data without meta, meta without data. */
    cache_url_key("http://h/orphan-data", key);
    snprintf(sub, sizeof(sub), "%s/%.2s", dir, key);
    assert_int_equal(plat_mkdirs(sub), 0);
    snprintf(path, sizeof(path), "%s/%s.data", sub, key);
    write_file(path, "lonely", 6);
    cache_url_key("http://h/orphan-meta", key);
    snprintf(sub, sizeof(sub), "%s/%.2s", dir, key);
    assert_int_equal(plat_mkdirs(sub), 0);
    snprintf(path, sizeof(path), "%s/%s.meta", sub, key);
    write_file(path, "lonely", 6);
    /* Not ours: a file at the top, a look-alike in a wrong folder. */
    snprintf(other, sizeof(other), "%s/README", dir);
    write_file(other, "mine", 4);
    snprintf(sub, sizeof(sub), "%s/zz", dir);
    assert_int_equal(plat_mkdirs(sub), 0);
    snprintf(path, sizeof(path), "%s/%s.data.tmp.1", sub, key);
    write_file(path, "x", 1);

    assert_int_equal(files_on_disk(dir, &tmp), 8);
    assert_int_equal(tmp, 3);
    c = open_cache(dir, 1 << 20, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, 7);
    assert_int_equal(st.cs_evictions, 0);
    /* The dying fill's late commit is refused: its cache was closed. */
    assert_int_equal(commit_now(f, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "cache closed");
    /* Left: the entry's two files, README, the look-alike in zz/. (Counted
     * once the dying fill has let go of its file: Windows lists a removed
     * file until its last handle closes.) */
    assert_int_equal(files_on_disk(dir, &tmp), 4);
    assert_int_equal(tmp, 1);
    assert_true(file_exists(other));
    assert_true(file_exists(path));
    assert_hit(c, url, "keep me", 7, NULL);
    assert_miss(c, "http://h/orphan-data");
    cache_close(c);
}

/* Entries survive close and open, with their bytes and validators. */
static void
test_restart_persistence(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    unsigned char a[12345], b[777];
    struct cache_meta m;
    struct cache_stats st;
    char err[256] = "";

    fill_pattern(a, sizeof(a), 5);
    fill_pattern(b, sizeof(b), 6);
    assert_int_equal(fill_commit(c, "http://h/a.cab", a, sizeof(a), 1000,
                                 sizeof(a), "\"A\"", NULL, err, sizeof(err)),
                     0);
    assert_int_equal(fill_commit(c, "http://h/b.cab", b, sizeof(b), 1000,
                                 UINT64_MAX, "\"B\"", NULL, err, sizeof(err)),
                     0);
    cache_close(c);
    c = open_cache(dir, 1 << 20, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 2);
    assert_int_equal(st.cs_bytes, sizeof(a) + sizeof(b));
    assert_int_equal(st.cs_fills, 0);
    assert_hit(c, "http://h/a.cab", a, sizeof(a), &m);
    assert_string_equal(m.cm_etag, "\"A\"");
    assert_hit(c, "http://h/b.cab", b, sizeof(b), &m);
    assert_string_equal(m.cm_etag, "\"B\"");
    cache_close(c);
    /* Reopened with a smaller cap: evicted down to it at open. */
    c = open_cache(dir, sizeof(a), 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_evictions, 1);
    assert_true(st.cs_bytes <= sizeof(a));
    assert_int_equal(files_on_disk(dir, NULL), 2);
    cache_close(c);
}

/* LRU: three entries fill the cap; using the first and adding a fourth
 * evicts the second, and only it. */
static void
test_lru_eviction(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 300, 1);
    unsigned char d[4][100];
    const char *url[4] = {"http://h/1", "http://h/2", "http://h/3",
                          "http://h/4"};
    struct cache_stats st;
    char err[256] = "", path[2048];

    for (int i = 0; i < 4; i++)
        fill_pattern(d[i], sizeof(d[i]), (unsigned)(10 + i));
    for (int i = 0; i < 3; i++)
        assert_int_equal(fill_commit(c, url[i], d[i], 100, 64, 100, "", NULL,
                                     err, sizeof(err)),
                         0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 3);
    assert_int_equal(st.cs_bytes, 300);
    assert_int_equal(st.cs_evictions, 0);
    assert_hit(c, url[0], d[0], 100, NULL);
    assert_int_equal(
        fill_commit(c, url[3], d[3], 100, 64, 100, "", NULL, err, sizeof(err)),
        0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 3);
    assert_int_equal(st.cs_bytes, 300);
    assert_int_equal(st.cs_evictions, 1);
    ent_file(dir, url[1], ".data", path, sizeof(path));
    assert_false(file_exists(path));
    assert_int_equal(files_on_disk(dir, NULL), 6);
    assert_miss(c, url[1]);
    assert_hit(c, url[0], d[0], 100, NULL);
    assert_hit(c, url[2], d[2], 100, NULL);
    assert_hit(c, url[3], d[3], 100, NULL);
    /* A 250-byte entry evicts all three others (oldest first) and is kept
     * alone. */
    unsigned char big[250];
    fill_pattern(big, sizeof(big), 20);
    assert_int_equal(fill_commit(c, "http://h/big", big, sizeof(big), 100,
                                 UINT64_MAX, "", NULL, err, sizeof(err)),
                     0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, 250);
    assert_int_equal(st.cs_evictions, 4);
    assert_hit(c, "http://h/big", big, sizeof(big), NULL);
    assert_int_equal(files_on_disk(dir, NULL), 2);
    cache_close(c);
}

/* An entry alone larger than the cap is refused at commit, and evicts
 * nothing. */
static void
test_larger_than_cap(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 300, 1);
    unsigned char d[301];
    struct cache_stats st;
    char err[256] = "";

    fill_pattern(d, sizeof(d), 30);
    assert_int_equal(fill_commit(c, "http://h/small", d, 200, 64, 200, "", NULL,
                                 err, sizeof(err)),
                     0);
    /* Unknown length: the write that would cross the cap fails, before
     * the bytes reach the disk. */
    struct cache_meta m = std_meta("");
    struct cache_fill *f =
        cache_fill_begin(c, "http://h/huge", UINT64_MAX, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, d, 300), 0);
    assert_int_equal(cache_fill_write(f, d + 300, 1), -1);
    assert_non_null(strstr(cache_fill_why(f), "larger than cache max_size"));
    assert_int_equal(cache_fill_size(f), 300);
    cache_fill_abort(f);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, 200);
    assert_int_equal(st.cs_evictions, 0);
    assert_int_equal(st.cs_fills, 1);
    assert_int_equal(files_on_disk(dir, NULL), 2);
    assert_miss(c, "http://h/huge");
    assert_hit(c, "http://h/small", d, 200, NULL);
    /* Exactly the cap fits (and evicts the other). */
    assert_int_equal(fill_commit(c, "http://h/exact", d, 300, 64, 300, "", NULL,
                                 err, sizeof(err)),
                     0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, 300);
    cache_close(c);
}

/* Two fills at once, written interleaved, commit in the other order;
 * each reads back its own bytes. */
static void
test_concurrent_fills(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    unsigned char a[9000], b[7000], buf[64];
    struct cache_meta ma = std_meta("\"a\""), mb = std_meta("\"b\"");
    struct cache_fill *fa, *fb;
    struct cache_stats st;
    char err[256] = "";
    int tmp = 0;

    fill_pattern(a, sizeof(a), 40);
    fill_pattern(b, sizeof(b), 41);
    fa = cache_fill_begin(c, "http://h/a", sizeof(a), &ma, err, sizeof(err));
    fb = cache_fill_begin(c, "http://h/b", UINT64_MAX, &mb, err, sizeof(err));
    assert_non_null(fa);
    assert_non_null(fb);
    assert_true(cache_fill_fd(fa) != cache_fill_fd(fb));
    for (size_t off = 0; off < sizeof(a) || off < sizeof(b); off += 1000) {
        if (off < sizeof(a))
            assert_int_equal(cache_fill_write(fa, a + off, 1000), 0);
        if (off < sizeof(b))
            assert_int_equal(cache_fill_write(fb, b + off, 1000), 0);
    }
    assert_int_equal(files_on_disk(dir, &tmp), 2);
    assert_int_equal(tmp, 2);
    assert_int_equal(plat_pread(cache_fill_fd(fa), buf, 64, 4000), 64);
    assert_memory_equal(buf, a + 4000, 64);
    assert_int_equal(plat_pread(cache_fill_fd(fb), buf, 64, 4000), 64);
    assert_memory_equal(buf, b + 4000, 64);
    assert_int_equal(commit_now(fb, &mb, err, sizeof(err)), 0);
    assert_int_equal(commit_now(fa, &ma, err, sizeof(err)), 0);
    assert_hit(c, "http://h/a", a, sizeof(a), NULL);
    assert_hit(c, "http://h/b", b, sizeof(b), NULL);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_fills, 2);
    assert_int_equal(st.cs_entries, 2);
    assert_int_equal(st.cs_bytes, sizeof(a) + sizeof(b));
    assert_int_equal(files_on_disk(dir, &tmp), 4);
    assert_int_equal(tmp, 0);
    cache_close(c);
}

/* A second commit of the same URL replaces the entry: one index entry,
 * the new bytes and validators, two files on disk. A reader that opened
 * the old entry keeps reading the old bytes. */
static void
test_replace(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    const char *url = "http://h/replace.cab";
    unsigned char nb[4000];
    struct cache_meta m;
    struct cache_stats st;
    char err[256] = "";
    int oldfd = -1;

    fill_pattern(nb, sizeof(nb), 50);
    assert_int_equal(fill_commit(c, url, "old bytes", 9, 4, 9, "\"1\"", NULL,
                                 err, sizeof(err)),
                     0);
    assert_int_equal(cache_lookup(c, url, &m, &oldfd, NULL), 0);
    assert_int_equal(fill_commit(c, url, nb, sizeof(nb), 999, sizeof(nb),
                                 "\"2\"", NULL, err, sizeof(err)),
                     0);
    assert_hit(c, url, nb, sizeof(nb), &m);
    assert_string_equal(m.cm_etag, "\"2\"");
    assert_fd_bytes(oldfd, "old bytes", 9);
    plat_close(oldfd);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, sizeof(nb));
    assert_int_equal(st.cs_fills, 2);
    assert_int_equal(files_on_disk(dir, NULL), 2);
    /* A failed replacement keeps the old entry. */
    assert_int_equal(
        fill_commit(c, url, "x", 1, 1, 2, "\"3\"", NULL, err, sizeof(err)), -1);
    assert_hit(c, url, nb, sizeof(nb), &m);
    assert_string_equal(m.cm_etag, "\"2\"");
    cache_close(c);
    c = open_cache(dir, 1 << 20, 1);
    assert_hit(c, url, nb, sizeof(nb), NULL);
    cache_close(c);
}

static void
test_remove(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    struct cache_stats st;
    char err[256] = "";

    assert_int_equal(fill_commit(c, "http://h/r", "abc", 3, 3, 3, "", NULL, err,
                                 sizeof(err)),
                     0);
    cache_remove(c, "http://h/r");
    cache_remove(c, "http://h/never");
    assert_miss(c, "http://h/r");
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 0);
    assert_int_equal(st.cs_bytes, 0);
    assert_int_equal(st.cs_corrupt, 0);
    cache_close(c);
}

/* Over 4 GiB: a sparse 5 GiB data file with its meta is indexed, counted
 * and served with its 64-bit length; a meta saying 1 GiB (5 GiB cut to 32
 * bits) does not match it; a 4 GiB cap evicts it. */
static void
test_large_entry(void **state)
{
    const char *dir = dir_of(state);
    const uint64_t big = 5368709120ull;
    const char *url = "http://h/big_file.cab", *url2 = "http://h/wrap.cab";
    struct cache_meta m = std_meta("\"big\""), got;
    struct cache_stats st;
    char err[256] = "", path[2048], key[41], sub[1200], *text = NULL, ch = 0;
    size_t len;
    struct cache *c;
    int fd = -1;

    for (int i = 0; i < 2; i++) {
        const char *u = i == 0 ? url : url2;
        cache_url_key(u, key);
        snprintf(sub, sizeof(sub), "%s/%.2s", dir, key);
        assert_int_equal(plat_mkdirs(sub), 0);
        ent_file(dir, u, ".data", path, sizeof(path));
        fd = plat_open_create(path);
        assert_true(fd != -1);
        /* Grown sparsely first: a write 5 GiB into an empty file would
         * make NTFS write the zeros. */
        assert_int_equal(plat_truncate(path, big), 0);
        assert_int_equal(plat_pwrite_all(fd, "Z", 1, big - 1), 0);
        plat_close(fd);
        m.cm_length = i == 0 ? big : big & 0xffffffffu;
        memcpy(m.cm_sha1, H40, 41);
        m.cm_stored = 1700000000;
        assert_int_equal(
            cache_meta_format(u, &m, &text, &len, err, sizeof(err)), 0);
        ent_file(dir, u, ".meta", path, sizeof(path));
        write_file(path, text, len);
        free(text);
    }
    assert_int_equal(m.cm_length, GiB);
    c = open_cache(dir, 16 * GiB, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 2);
    assert_int_equal(st.cs_bytes, 2 * big);
    assert_int_equal(cache_lookup(c, url, &got, &fd, NULL), 0);
    assert_int_equal(got.cm_length, big);
    uint64_t size = 0;
    assert_int_equal(plat_fsize(fd, &size), 0);
    assert_int_equal(size, big);
    assert_int_equal(plat_pread(fd, &ch, 1, big - 1), 1);
    assert_int_equal(ch, 'Z');
    plat_close(fd);
    assert_miss(c, url2);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_corrupt, 1);
    assert_int_equal(st.cs_entries, 1);
    assert_int_equal(st.cs_bytes, big);
    cache_close(c);
    c = open_cache(dir, 4 * GiB, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 0);
    assert_int_equal(st.cs_evictions, 1);
    assert_int_equal(files_on_disk(dir, NULL), 0);
    cache_close(c);
}

/* More entries than the index's first table size: the table grows at
 * commit and during the scan at open, and every entry stays reachable. */
static void
test_many_entries(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 1 << 20, 1);
    struct cache_stats st;
    char url[64], body[16], err[256] = "";
    const int n = 300;

    for (int i = 0; i < n; i++) {
        snprintf(url, sizeof(url), "http://h/many/%d", i);
        snprintf(body, sizeof(body), "body-%09d", i);
        assert_int_equal(
            fill_commit(c, url, body, 14, 14, 14, "", NULL, err, sizeof(err)),
            0);
    }
    for (int i = 0; i < n; i++) {
        snprintf(url, sizeof(url), "http://h/many/%d", i);
        snprintf(body, sizeof(body), "body-%09d", i);
        assert_hit(c, url, body, 14, NULL);
    }
    cache_close(c);
    c = open_cache(dir, 1 << 20, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, n);
    assert_int_equal(st.cs_bytes, 14 * n);
    for (int i = n - 1; i >= 0; i--) {
        snprintf(url, sizeof(url), "http://h/many/%d", i);
        snprintf(body, sizeof(body), "body-%09d", i);
        assert_hit(c, url, body, 14, NULL);
    }
    cache_close(c);
    /* A cap of 100 entries' worth evicts the other 200 at open. */
    c = open_cache(dir, 14 * 100, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 100);
    assert_int_equal(st.cs_evictions, 200);
    assert_int_equal(files_on_disk(dir, NULL), 200);
    cache_close(c);
}

/* cache_open creates a missing folder, nested. */
static void
test_open_creates_dir(void **state)
{
    char sub[1200], err[128];
    struct cache *c;

    snprintf(sub, sizeof(sub), "%s/a/b/", dir_of(state));
    c = cache_open(sub, 100, 1, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(
        fill_commit(c, "http://h/n", "n", 1, 1, 1, "", NULL, err, sizeof(err)),
        0);
    assert_hit(c, "http://h/n", "n", 1, NULL);
    cache_close(c);
    assert_null(cache_open("", 100, 1, err, sizeof(err)));
    snprintf(sub, sizeof(sub), "%s/a", dir_of(state));
    assert_int_equal(plat_rmtree(sub), 0);
    assert_int_equal(files_on_disk(dir_of(state), NULL), 0);
}

/* A content URL is always fresh; anything else for max_age. */
static void
test_meta_fresh(void **state)
{
    struct cache_meta m;
    const char *named = "http://h/c/x_0123456789abcdef0123456789abcdef01234567"
                        ".cab";

    (void)state;
    memset(&m, 0, sizeof(m));
    m.cm_stored = 1000000;
    assert_int_equal(cache_meta_fresh(&m, named, 0, 99999999), 1);
    assert_int_equal(cache_meta_fresh(&m, "http://h/a.cab", 60000, 1000059), 1);
    assert_int_equal(cache_meta_fresh(&m, "http://h/a.cab", 60000, 1000060), 0);
    assert_int_equal(cache_meta_fresh(&m, "http://h/a.cab", 0, 1000000), 0);
    assert_int_equal(cache_meta_fresh(&m, NULL, 60000, 1000000), 1);
}

/* Releasing a hold evicts for the cap from the least recently used end,
 * stopping at an entry still held: a newer entry released while an older
 * one is read stays, and the older one goes when its reader is done. */
static void
test_release_evicts_oldest_first(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 250, 1);
    const char *url[3] = {"http://h/o0", "http://h/o1", "http://h/o2"};
    unsigned char d[3][100];
    struct cache_ent *ha, *hb;
    struct cache_meta m;
    struct cache_stats st;
    char err[256] = "", path[3][2048];
    int fd;

    for (int i = 0; i < 3; i++) {
        fill_pattern(d[i], sizeof(d[i]), (unsigned)(60 + i));
        ent_file(dir, url[i], ".data", path[i], sizeof(path[i]));
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(fill_commit(c, url[i], d[i], 100, 100, 100, "", NULL,
                                     err, sizeof(err)),
                         0);
    assert_int_equal(cache_lookup(c, url[0], &m, &fd, &ha), 0);
    plat_close(fd);
    assert_int_equal(cache_lookup(c, url[1], &m, &fd, &hb), 0);
    plat_close(fd);
    /* Both held: the third is committed above the cap. */
    assert_int_equal(
        fill_commit(c, url[2], d[2], 100, 100, 100, "", NULL, err, sizeof(err)),
        0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_bytes, 300);
    cache_release(hb);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_bytes, 300);
    assert_true(file_exists(path[1]));
    cache_release(ha);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_bytes, 200);
    assert_false(file_exists(path[0]));
    assert_true(file_exists(path[1]));
    assert_true(file_exists(path[2]));
    cache_close(c);
}

/* A fill begun without a length learns it later (a HEAD): the commit
 * then holds the body to it; a length below what is written, above
 * max_size, or set twice is refused and leaves the fill as it was. */
static void
test_fill_expect(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 100, 1);
    struct cache_meta m = std_meta(""), got;
    struct cache_fill *f;
    char err[256] = "";
    unsigned char d[60];

    fill_pattern(d, sizeof(d), 3);
    f = cache_fill_begin(c, "http://h/late", UINT64_MAX, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, d, 20), 0);
    assert_int_equal(cache_fill_expect(f, 10, err, sizeof(err)), -1);
    assert_string_equal(err, "length mismatch (20 written, 10 announced)");
    assert_int_equal(cache_fill_expect(f, 101, err, sizeof(err)), -1);
    assert_string_equal(err, "larger than cache max_size");
    assert_int_equal(cache_fill_expect(f, 60, err, sizeof(err)), 0);
    assert_int_equal(cache_fill_expect(f, 60, err, sizeof(err)), -1);
    assert_int_equal(cache_fill_write(f, d + 20, 40), 0);
    assert_int_equal(cache_fill_write(f, d, 1), -1);
    assert_int_equal(commit_now(f, &got, err, sizeof(err)), -1);
    /* The same, ended at the length: committed. */
    f = cache_fill_begin(c, "http://h/late", UINT64_MAX, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_write(f, d, 20), 0);
    assert_int_equal(cache_fill_expect(f, 60, err, sizeof(err)), 0);
    assert_int_equal(cache_fill_write(f, d + 20, 40), 0);
    assert_int_equal(commit_now(f, &got, err, sizeof(err)), 0);
    assert_hit(c, "http://h/late", d, sizeof(d), NULL);
    /* Short of it: a length mismatch at the commit. */
    f = cache_fill_begin(c, "http://h/late2", UINT64_MAX, &m, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(cache_fill_expect(f, 60, err, sizeof(err)), 0);
    assert_int_equal(cache_fill_write(f, d, 59), 0);
    assert_int_equal(commit_now(f, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "length mismatch (got 59 of 60)");
    assert_miss(c, "http://h/late2");
    cache_close(c);
}

/* A refusal keeps a learnt length only for a URL named by its SHA-1. */
static void
test_refused_length(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 100, 1);
    const char *named = "http://h/c/msdownload/update/software/secu/2013/10/"
                        "x_c5b1870962847d42188b3eca3237d7985b558392.cab";
    uint64_t len = 0;

    assert_int_equal(cache_refused(c, named), 0);
    assert_int_equal(cache_refused_length(c, named, &len), 0);
    cache_refuse(c, named, 12345);
    assert_int_equal(cache_refused(c, named), 1);
    assert_int_equal(cache_refused_length(c, named, &len), 1);
    assert_int_equal(len, 12345);
    cache_refuse(c, named, UINT64_MAX);
    assert_int_equal(cache_refused_length(c, named, &len), 0);
    cache_refuse(c, "http://h/unnamed.cab", 12345);
    assert_int_equal(cache_refused(c, "http://h/unnamed.cab"), 1);
    assert_int_equal(cache_refused_length(c, "http://h/unnamed.cab", &len), 0);
    cache_close(c);
}

/* ------------------------------------------------------------------ */
/* Eviction for space and readers */

/* A fake volume: its free space is fv_free plus whatever the cache has
 * given back since fv_base was taken (entries evicted or removed), its
 * size fv_size. */
struct fake_vol {
    struct cache *fv_cache;
    uint64_t fv_free;
    uint64_t fv_base; /* cs_bytes when fv_free was set */
    uint64_t fv_size;
};

static int
fake_free(void *arg, const char *dir, uint64_t *bytes)
{
    struct fake_vol *fv = arg;
    struct cache_stats st;

    (void)dir;
    cache_get_stats(fv->fv_cache, &st);
    *bytes = fv->fv_free + (fv->fv_base - st.cs_bytes);
    return 0;
}

static int
fake_size(void *arg, const char *dir, uint64_t *bytes)
{
    struct fake_vol *fv = arg;

    (void)dir;
    *bytes = fv->fv_size;
    return 0;
}

static void
fake_vol_set(struct fake_vol *fv, uint64_t free_b)
{
    struct cache_stats st;

    cache_get_stats(fv->fv_cache, &st);
    fv->fv_free = free_b;
    fv->fv_base = st.cs_bytes;
}

#define EV_MAX 4

/* Entries 0..n-1, committed in that order (0 least recently used); the
 * ones in readers are held through cache_lookup while a fill of need
 * bytes begins with fs_free bytes free and min_free kept. */
struct evict_case {
    const char *ec_name;
    uint64_t ec_size[EV_MAX]; /* 0 ends the list */
    unsigned ec_readers;      /* bit i: entry i is being read */
    uint64_t ec_free;
    uint64_t ec_min_free;
    uint32_t ec_min_pct; /* of a 10000-byte volume */
    uint64_t ec_need;    /* the fill's expected length */
    unsigned ec_evicted; /* bit i: entry i is gone afterwards */
    int ec_refused;      /* cache_fill_begin returns NULL */
};

static const struct evict_case evict_cases[] = {
    {"room already", {100, 100, 100}, 0, 1000, 100, 0, 200, 0, 0},
    {"oldest goes", {100, 100, 100}, 0, 250, 100, 0, 200, 0x1, 0},
    {"oldest is read: next", {100, 100, 100}, 0x1, 250, 100, 0, 200, 0x2, 0},
    {"two oldest", {100, 100, 100}, 0, 150, 100, 0, 200, 0x3, 0},
    {"two, skipping a read one",
     {100, 100, 100},
     0x2,
     150,
     100,
     0,
     200,
     0x5,
     0},
    {"a big one suffices", {50, 400, 50}, 0, 0, 100, 0, 200, 0x3, 0},
    {"all of them", {100, 100, 100}, 0, 50, 50, 0, 300, 0x7, 0},
    {"too little even evicting all", {100, 100, 100}, 0, 50, 100, 0, 400, 0, 1},
    {"read ones cannot count", {100, 100, 100}, 0x3, 50, 100, 0, 200, 0, 1},
    {"all being read", {100, 100, 100}, 0x7, 250, 100, 0, 200, 0, 1},
    {"percentage of the volume", {100, 100, 100}, 0, 250, 0, 2, 100, 0x1, 0},
    {"nothing kept free", {100, 100, 100}, 0, 200, 0, 0, 200, 0, 0},
    {"empty cache, too little", {0}, 0, 100, 50, 0, 100, 0, 1},
};

/* The eviction-for-space rule: least recently used first, never an entry
 * a client is reading, only when evicting would be enough; otherwise the
 * fill is refused and nothing is evicted. */
static void
test_evict_for_space(void **state)
{
    const char *dir = dir_of(state);

    for (size_t k = 0; k < NELEM(evict_cases); k++) {
        const struct evict_case *ec = &evict_cases[k];
        struct fake_vol fv = {NULL, 0, 0, 10000};
        struct cache_disk_ops ops = {fake_free, fake_size, &fv};
        struct cache_ent *hold[EV_MAX] = {NULL};
        struct cache_meta m = std_meta(""), got;
        char url[EV_MAX][64], err[256] = "", path[2048], sub[1100];
        unsigned char buf[400];
        struct cache_fill *f;
        int n = 0, fd;

        print_message("case: %s\n", ec->ec_name);
        snprintf(sub, sizeof(sub), "%s/c%zu", dir, k);
        fv.fv_cache = open_cache(sub, GiB, 1);
        cache_set_disk_ops(fv.fv_cache, &ops);
        fake_vol_set(&fv, GiB);
        for (; n < EV_MAX && ec->ec_size[n] != 0; n++) {
            snprintf(url[n], sizeof(url[n]), "http://h/%zu/%d", k, n);
            fill_pattern(buf, (size_t)ec->ec_size[n], (unsigned)n);
            assert_int_equal(
                fill_commit(fv.fv_cache, url[n], buf, (size_t)ec->ec_size[n],
                            64, ec->ec_size[n], "", NULL, err, sizeof(err)),
                0);
        }
        for (int i = 0; i < n; i++) {
            if (!(ec->ec_readers & 1u << i))
                continue;
            assert_int_equal(
                cache_lookup(fv.fv_cache, url[i], &got, &fd, &hold[i]), 0);
            assert_non_null(hold[i]);
            plat_close(fd);
        }
        /* The lookups made the read ones most recent: put the others
         * back in their order, oldest first, without holding them. */
        for (int i = 0; i < n; i++) {
            if (ec->ec_readers & 1u << i)
                continue;
            assert_int_equal(cache_lookup(fv.fv_cache, url[i], &got, &fd, NULL),
                             0);
            plat_close(fd);
        }
        cache_set_min_free(fv.fv_cache, ec->ec_min_free, ec->ec_min_pct);
        fake_vol_set(&fv, ec->ec_free);
        err[0] = '\0';
        f = cache_fill_begin(fv.fv_cache, "http://h/new", ec->ec_need, &m, err,
                             sizeof(err));
        if (ec->ec_refused) {
            assert_null(f);
            assert_non_null(strstr(err, "not enough free space"));
        } else {
            if (f == NULL)
                fail_msg("%s: %s", ec->ec_name, err);
            cache_fill_abort(f);
        }
        for (int i = 0; i < n; i++) {
            ent_file(sub, url[i], ".data", path, sizeof(path));
            if (file_exists(path) != !(ec->ec_evicted & 1u << i))
                fail_msg("%s: entry %d %s", ec->ec_name, i,
                         file_exists(path) ? "kept" : "evicted");
        }
        for (int i = 0; i < n; i++)
            cache_release(hold[i]);
        cache_close(fv.fv_cache);
    }
}

/* The size cap skips an entry being read (the total stays above the cap
 * meanwhile) and evicts it once released; an entry removed or replaced
 * while read stays valid for its reader; a cache closed with holds out is
 * freed at the last release (ASan watches both). */
static void
test_evict_spares_readers(void **state)
{
    const char *dir = dir_of(state);
    struct cache *c = open_cache(dir, 300, 1);
    const char *url[4] = {"http://h/r0", "http://h/r1", "http://h/r2",
                          "http://h/r3"};
    unsigned char d[4][100];
    struct cache_ent *h0, *h3;
    struct cache_meta m;
    struct cache_stats st;
    char err[256] = "", path[2048];
    int fd0, fd;

    for (int i = 0; i < 4; i++)
        fill_pattern(d[i], sizeof(d[i]), (unsigned)(40 + i));
    for (int i = 0; i < 3; i++)
        assert_int_equal(fill_commit(c, url[i], d[i], 100, 100, 100, "", NULL,
                                     err, sizeof(err)),
                         0);
    assert_int_equal(cache_lookup(c, url[0], &m, &fd0, &h0), 0);
    /* 0 is held; make it the least recently used again. */
    assert_hit(c, url[1], d[1], 100, NULL);
    assert_hit(c, url[2], d[2], 100, NULL);
    assert_int_equal(
        fill_commit(c, url[3], d[3], 100, 100, 100, "", NULL, err, sizeof(err)),
        0);
    ent_file(dir, url[0], ".data", path, sizeof(path));
    assert_true(file_exists(path));
    assert_miss(c, url[1]);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_entries, 3);
    assert_int_equal(st.cs_evictions, 1);
    /* Everything else held too: the cap cannot be kept for now. */
    assert_int_equal(cache_lookup(c, url[3], &m, &fd, &h3), 0);
    plat_close(fd);
    assert_hit(c, url[2], d[2], 100, NULL);
    {
        unsigned char big[150];
        fill_pattern(big, sizeof(big), 7);
        /* 2 (100) goes; 0 and 3 are held: 350 > 300 stays. */
        assert_int_equal(fill_commit(c, "http://h/big", big, sizeof(big), 50,
                                     sizeof(big), "", NULL, err, sizeof(err)),
                         0);
    }
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_bytes, 350);
    assert_true(file_exists(path));
    /* Releasing 0 lets the cap take it (it is the least recent). */
    assert_fd_bytes(fd0, d[0], 100);
    plat_close(fd0);
    cache_release(h0);
    cache_get_stats(c, &st);
    assert_int_equal(st.cs_bytes, 250);
    assert_false(file_exists(path));
    /* Removed while read: the hold outlives the index entry. */
    cache_remove(c, url[3]);
    assert_miss(c, url[3]);
    cache_release(h3);
    /* Closed with a hold out: freed at the release. */
    assert_int_equal(cache_lookup(c, "http://h/big", &m, &fd, &h0), 0);
    plat_close(fd);
    cache_close(c);
    cache_release(h0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_sha1),
        cmocka_unit_test(test_url_key),
        cmocka_unit_test(test_meta_fresh),
        cmocka_unit_test(test_meta_roundtrip),
        cmocka_unit_test(test_meta_parse_strict),
        cmocka_unit_test(test_meta_check_line),
        cmocka_unit_test(test_meta_format_rejects),
        T(test_roundtrip),
        T(test_fill_across_writeback_chunks),
        T(test_fill_fd_and_invisible_until_commit),
        T(test_sha1_named_match),
        T(test_sha1_named_mismatch),
        T(test_sha1_verify_off),
        T(test_length_mismatch),
        T(test_abort),
        T(test_fill_begin_rejects),
        T(test_truncated_data),
        T(test_meta_bad_checksum),
        T(test_open_cleans_leftovers),
        T(test_restart_persistence),
        T(test_lru_eviction),
        T(test_larger_than_cap),
        T(test_concurrent_fills),
        T(test_replace),
        T(test_remove),
        T(test_large_entry),
        T(test_many_entries),
        T(test_open_creates_dir),
        T(test_evict_for_space),
        T(test_evict_spares_readers),
        T(test_release_evicts_oldest_first),
        T(test_fill_expect),
        T(test_refused_length),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
