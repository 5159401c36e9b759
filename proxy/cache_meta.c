/*
 * cache_meta.c - the pure part of the cache: the URL's index key and the
 * SHA-1 a content URL names, freshness, and the meta file's text (format
 * and strict parse, with its checksum line). No files, no index; SHA-1 is
 * OpenSSL EVP. Errors go to the caller's buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cache.h"
#include "cache_int.h"
#include "strparse.h"

#define CACHE_MAGIC "wsus-shim-cache 1"

/* ------------------------------------------------------------------ */
/* Hex, SHA-1 */

static const char hexdig[] = "0123456789abcdef";

void
cache_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Value of a hex digit, or -1. upper: accept A-F too. */
static int
hexval(int ch, int upper)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (upper && ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int
cache_from_hex40(const char *s, uint8_t *out)
{
    for (size_t i = 0; i < KEY_LEN; i++) {
        int hi = hexval((unsigned char)s[2 * i], 0);
        int lo = hi == -1 ? -1 : hexval((unsigned char)s[2 * i + 1], 0);
        if (hi == -1 || lo == -1)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int
is_hex40(const char *s, int upper)
{
    for (size_t i = 0; i < 40; i++)
        if (hexval((unsigned char)s[i], upper) == -1)
            return 0;
    return 1;
}

/* One-shot SHA-1 of n bytes. 0 or -1 (OpenSSL failure). */
static int
sha1_buf(const void *p, size_t n, uint8_t out[KEY_LEN])
{
    unsigned int len = 0;

    if (EVP_Digest(p, n, out, &len, EVP_sha1(), NULL) != 1 || len != KEY_LEN)
        return -1;
    return 0;
}

/* EVP_Digest of SHA-1 over memory does not fail short of a broken
 * library; the all-zero key then just misses. */
void
cache_key_bin(const char *url, uint8_t key[KEY_LEN])
{
    if (sha1_buf(url, strlen(url), key) == -1)
        memset(key, 0, KEY_LEN);
}

void
cache_url_key(const char *url, char out[41])
{
    uint8_t k[KEY_LEN];

    cache_key_bin(url, k);
    cache_hex(k, KEY_LEN, out);
}

/* ------------------------------------------------------------------ */
/* cache_url_sha1 */

static int
is_alnum(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
           (ch >= 'A' && ch <= 'Z');
}

int
cache_url_sha1(const char *url, char out[41])
{
    const char *path, *end, *name, *dot, *p;
    size_t stem;

    if (url == NULL)
        return 0;
    /* The path: after the authority of an absolute URL, or the whole of
     * an origin-form target. No path, no name. */
    p = strstr(url, "://");
    if (p != NULL) {
        path = p + 3;
        path += strcspn(path, "/?#");
    } else {
        path = url;
    }
    if (*path != '/')
        return 0;
    end = path + strcspn(path, "?#");
    name = path;
    for (p = path; p < end; p++)
        if (*p == '/')
            name = p + 1;
    /* "<stem>.<ext>": the extension is one or more letters or digits. */
    dot = NULL;
    for (p = name; p < end; p++)
        if (*p == '.')
            dot = p;
    if (dot == NULL || dot + 1 == end)
        return 0;
    for (p = dot + 1; p < end; p++)
        if (!is_alnum((unsigned char)*p))
            return 0;
    stem = (size_t)(dot - name);
    if (stem < 40)
        return 0;
    if (stem > 40 && dot[-41] != '_')
        return 0;
    if (!is_hex40(dot - 40, 1))
        return 0;
    for (size_t i = 0; i < 40; i++) {
        int ch = (unsigned char)dot[-40 + (ptrdiff_t)i];
        out[i] = (char)(ch >= 'A' && ch <= 'F' ? ch + 32 : ch);
    }
    out[40] = '\0';
    return 1;
}

int
cache_meta_fresh(const struct cache_meta *meta, const char *url,
                 uint32_t max_age_ms, int64_t now)
{
    char sha[41];

    if (cache_url_sha1(url, sha))
        return 1;
    return now - meta->cm_stored < (int64_t)(max_age_ms / 1000);
}

/* ------------------------------------------------------------------ */
/* Meta text */

int
cache_value_ok(const char *name, const char *s, size_t cap, char *err,
               size_t errlen)
{
    size_t i;

    for (i = 0; i < cap && s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            errfmt(err, errlen, "%s contains a control character", name);
            return -1;
        }
    }
    if (i == cap) {
        errfmt(err, errlen, "%s too long", name);
        return -1;
    }
    return 0;
}

static int
sha1_hex_ok(const char *s)
{
    return memchr(s, '\0', 41) == s + 40 && is_hex40(s, 0);
}

int
cache_meta_format(const char *url, const struct cache_meta *m, char **text,
                  size_t *len, char *err, size_t errlen)
{
    uint8_t ck[KEY_LEN];
    char ckhex[41];
    char *buf = NULL;
    size_t cap, n;
    int w;

    *text = NULL;
    *len = 0;
    if (cache_value_ok("url", url, CACHE_URL_MAX + 1, err, errlen) == -1 ||
        cache_value_ok("etag", m->cm_etag, sizeof(m->cm_etag), err, errlen) ==
            -1 ||
        cache_value_ok("last-modified", m->cm_last_modified,
                       sizeof(m->cm_last_modified), err, errlen) == -1 ||
        cache_value_ok("content-type", m->cm_content_type,
                       sizeof(m->cm_content_type), err, errlen) == -1)
        goto fail;
    if (*url == '\0') {
        errfmt(err, errlen, "empty url");
        goto fail;
    }
    if (!sha1_hex_ok(m->cm_sha1)) {
        errfmt(err, errlen, "sha1 is not 40 lower-case hex digits");
        goto fail;
    }
    if (m->cm_stored < 0) {
        errfmt(err, errlen, "negative stored time");
        goto fail;
    }
    cap = strlen(url) + sizeof(m->cm_etag) + sizeof(m->cm_last_modified) +
          sizeof(m->cm_content_type) + 256;
    if ((buf = malloc(cap)) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto fail;
    }
    w = snprintf(buf, cap,
                 CACHE_MAGIC "\n"
                             "url %s\n"
                             "length %llu\n"
                             "sha1 %s\n"
                             "etag %s\n"
                             "last-modified %s\n"
                             "content-type %s\n"
                             "stored %lld\n",
                 url, (unsigned long long)m->cm_length, m->cm_sha1, m->cm_etag,
                 m->cm_last_modified, m->cm_content_type,
                 (long long)m->cm_stored);
    if (w < 0 || (size_t)w + 48 > cap) {
        errfmt(err, errlen, "meta text does not fit");
        goto fail;
    }
    n = (size_t)w;
    if (sha1_buf(buf, n, ck) == -1) {
        errfmt(err, errlen, "SHA-1 failed");
        goto fail;
    }
    cache_hex(ck, KEY_LEN, ckhex);
    w = snprintf(buf + n, cap - n, "check %s\n", ckhex);
    if (w < 0 || (size_t)w >= cap - n) {
        errfmt(err, errlen, "meta text does not fit");
        goto fail;
    }
    *text = buf;
    *len = n + (size_t)w;
    return 0;
fail:
    free(buf);
    return -1;
}

/* Copy a parsed value of vlen bytes into a field of cap bytes. */
static int
copy_field(const char *name, char *dst, size_t cap, const char *v, size_t vlen,
           char *err, size_t errlen)
{
    if (vlen >= cap) {
        errfmt(err, errlen, "%s too long", name);
        return -1;
    }
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
    return 0;
}

/* A canonical decimal number of vlen bytes (no leading zeros, the
 * format never writes them) into *out; 0 or -1. */
static int
parse_num(const char *v, size_t vlen, uint64_t max, uint64_t *out)
{
    char buf[24];

    if (vlen == 0 || vlen >= sizeof(buf) || (vlen > 1 && v[0] == '0'))
        return -1;
    memcpy(buf, v, vlen);
    buf[vlen] = '\0';
    return parse_u64_max(buf, max, out);
}

enum meta_key {
    MK_MAGIC = 0,
    MK_URL,
    MK_LENGTH,
    MK_SHA1,
    MK_ETAG,
    MK_LASTMOD,
    MK_CTYPE,
    MK_STORED,
    MK_CHECK,
    MK_COUNT
};

/* The line prefixes in file order; MK_MAGIC is the whole line. */
static const char *const meta_keys[MK_COUNT] = {
    CACHE_MAGIC,      "url ",          "length ", "sha1 ",  "etag ",
    "last-modified ", "content-type ", "stored ", "check ",
};

/* The check line's value: the SHA-1 of the n bytes of text before it, as
 * 40 lower-case hex digits. Returns 0, or -1 with err. */
static int
meta_check(const char *text, size_t n, const char *v, size_t vlen, char *err,
           size_t errlen)
{
    uint8_t ck[KEY_LEN];
    char ckhex[41];

    if (vlen != 40 || !is_hex40(v, 0)) {
        errfmt(err, errlen, "meta: bad check");
        return -1;
    }
    if (sha1_buf(text, n, ck) == -1) {
        errfmt(err, errlen, "SHA-1 failed");
        return -1;
    }
    cache_hex(ck, KEY_LEN, ckhex);
    if (memcmp(ckhex, v, 40) != 0) {
        errfmt(err, errlen, "meta: checksum mismatch");
        return -1;
    }
    return 0;
}

/* Line k of the meta text starts at p (before end): it must end in LF,
 * hold no control character and start with meta_keys[k]. Sets *v and
 * *vlen to its value and *nl to its LF. Returns 0, or -1 with err. */
static int
meta_line(const char *p, const char *end, int k, const char **v, size_t *vlen,
          const char **nl, char *err, size_t errlen)
{
    size_t klen = strlen(meta_keys[k]);

    *nl = memchr(p, '\n', (size_t)(end - p));
    if (*nl == NULL) {
        errfmt(err, errlen, "meta: missing line '%.*s'",
               (int)strcspn(meta_keys[k], " "), meta_keys[k]);
        return -1;
    }
    for (const char *q = p; q < *nl; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20 || ch == 0x7f) {
            errfmt(err, errlen, "meta: control character");
            return -1;
        }
    }
    if ((size_t)(*nl - p) < klen || memcmp(p, meta_keys[k], klen) != 0) {
        errfmt(err, errlen, "meta: expected line '%.*s'",
               (int)strcspn(meta_keys[k], " "), meta_keys[k]);
        return -1;
    }
    *v = p + klen;
    *vlen = (size_t)(*nl - *v);
    return 0;
}

/* The value v (vlen bytes) of line k, which starts at line in text, into
 * *m. Returns 0, or -1 with err. */
static int
meta_value(int k, const char *v, size_t vlen, const char *text,
           const char *line, const char *url, struct cache_meta *m, char *err,
           size_t errlen)
{
    uint64_t num;

    switch (k) {
    case MK_MAGIC:
        if (vlen != 0) {
            errfmt(err, errlen, "meta: unknown format version");
            return -1;
        }
        break;
    case MK_URL:
        if (strlen(url) != vlen || memcmp(v, url, vlen) != 0) {
            errfmt(err, errlen, "meta: url does not match");
            return -1;
        }
        break;
    case MK_LENGTH:
        if (parse_num(v, vlen, UINT64_MAX, &num) == -1) {
            errfmt(err, errlen, "meta: bad length");
            return -1;
        }
        m->cm_length = num;
        break;
    case MK_SHA1:
        if (vlen != 40 || !is_hex40(v, 0)) {
            errfmt(err, errlen, "meta: bad sha1");
            return -1;
        }
        memcpy(m->cm_sha1, v, 40);
        m->cm_sha1[40] = '\0';
        break;
    case MK_ETAG:
        if (copy_field("meta: etag", m->cm_etag, sizeof(m->cm_etag), v, vlen,
                       err, errlen) == -1)
            return -1;
        break;
    case MK_LASTMOD:
        if (copy_field("meta: last-modified", m->cm_last_modified,
                       sizeof(m->cm_last_modified), v, vlen, err, errlen) == -1)
            return -1;
        break;
    case MK_CTYPE:
        if (copy_field("meta: content-type", m->cm_content_type,
                       sizeof(m->cm_content_type), v, vlen, err, errlen) == -1)
            return -1;
        break;
    case MK_STORED:
        if (parse_num(v, vlen, (uint64_t)INT64_MAX, &num) == -1) {
            errfmt(err, errlen, "meta: bad stored time");
            return -1;
        }
        m->cm_stored = (int64_t)num;
        break;
    case MK_CHECK:
        return meta_check(text, (size_t)(line - text), v, vlen, err, errlen);
    }
    return 0;
}

int
cache_meta_parse(const char *text, size_t len, const char *url,
                 struct cache_meta *m, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;

    memset(m, 0, sizeof(*m));
    for (int k = 0; k < MK_COUNT; k++) {
        const char *v, *nl;
        size_t vlen;

        if (meta_line(p, end, k, &v, &vlen, &nl, err, errlen) == -1 ||
            meta_value(k, v, vlen, text, p, url, m, err, errlen) == -1)
            return -1;
        p = nl + 1;
    }
    if (p != end) {
        errfmt(err, errlen, "meta: data after the check line");
        return -1;
    }
    return 0;
}
