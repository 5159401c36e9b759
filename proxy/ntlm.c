/*
 * ntlm.c - NTLMv2 client messages ([MS-NLMP]): MD4, the NT hash, NTOWFv2,
 * NEGOTIATE, CHALLENGE parsing and AUTHENTICATE with its MIC. Pure; see
 * ntlm.h for the contracts.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ntlm.h"
#include "strparse.h"
#include "strutil.h"

static const uint8_t ntlm_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* VERSION ([MS-NLMP] 2.2.2.10): informational only; Windows 10 numbers,
 * NTLMSSP_REVISION_W2K3 (0x0f). */
static const uint8_t ntlm_version[8] = {10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f};

/* AV pair ids ([MS-NLMP] 2.2.2.1). */
enum ntlm_av {
    NTLM_AV_EOL = 0,
    NTLM_AV_FLAGS = 6,
    NTLM_AV_TIMESTAMP = 7,
};
#define NTLM_AV_FLAG_MIC 0x00000002u

/* AUTHENTICATE_MESSAGE: header with VERSION (64) and MIC (72). */
#define NTLM_AUTH_MIC_OFF 72
#define NTLM_AUTH_HDR 88

/* ---- little-endian fields ---- */

static void
put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- MD4 (RFC 1320) ---- */

#define MD4_ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
#define MD4_F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define MD4_G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))

static void
md4_block(uint32_t st[4], const uint8_t *blk)
{
    static const uint8_t r2[16] = {0, 4, 8,  12, 1, 5, 9,  13,
                                   2, 6, 10, 14, 3, 7, 11, 15};
    static const uint8_t r3[16] = {0, 8, 4, 12, 2, 10, 6, 14,
                                   1, 9, 5, 13, 3, 11, 7, 15};
    static const uint8_t s1[4] = {3, 7, 11, 19};
    static const uint8_t s2[4] = {3, 5, 9, 13};
    static const uint8_t s3[4] = {3, 9, 11, 15};
    uint32_t x[16], v[4], t;

    for (int i = 0; i < 16; i++)
        x[i] = get32(blk + 4 * i);
    memcpy(v, st, sizeof(v));
    /* Each step updates v[(4 - i % 4) % 4]: a, d, c, b, a, ... */
    for (int i = 0; i < 16; i++) {
        uint32_t *a = &v[(4 - i % 4) % 4];
        uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
                 d = v[(7 - i % 4) % 4];
        t = *a + MD4_F(b, c, d) + x[i];
        *a = MD4_ROTL(t, s1[i % 4]);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t *a = &v[(4 - i % 4) % 4];
        uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
                 d = v[(7 - i % 4) % 4];
        t = *a + MD4_G(b, c, d) + x[r2[i]] + 0x5a827999u;
        *a = MD4_ROTL(t, s2[i % 4]);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t *a = &v[(4 - i % 4) % 4];
        uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
                 d = v[(7 - i % 4) % 4];
        t = *a + MD4_H(b, c, d) + x[r3[i]] + 0x6ed9eba1u;
        *a = MD4_ROTL(t, s3[i % 4]);
    }
    for (int i = 0; i < 4; i++)
        st[i] += v[i];
    OPENSSL_cleanse(x, sizeof(x));
    OPENSSL_cleanse(v, sizeof(v));
}

void
ntlm_md4(const void *data, size_t len, uint8_t out[16])
{
    uint32_t st[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    const uint8_t *p = data;
    uint8_t tail[128];
    size_t full = len & ~(size_t)63, rest = len - full, tlen;

    for (size_t off = 0; off < full; off += 64)
        md4_block(st, p + off);
    memset(tail, 0, sizeof(tail));
    if (rest > 0)
        memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    tlen = rest < 56 ? 64 : 128;
    put64(tail + tlen - 8, (uint64_t)len << 3);
    md4_block(st, tail);
    if (tlen == 128)
        md4_block(st, tail + 64);
    for (int i = 0; i < 4; i++)
        put32(out + 4 * i, st[i]);
    OPENSSL_cleanse(tail, sizeof(tail));
    OPENSSL_cleanse(st, sizeof(st));
}

/* ---- UTF-8 to UTF-16LE ---- */

/* The upper-case form of a BMP code point, for the scripts ntlm.h lists
 * (Windows upper-cases with a full table; a name outside these keeps its
 * letters). */
static uint32_t
ntlm_upcase(uint32_t c)
{
    if (c >= 'a' && c <= 'z')
        return c - 0x20;
    if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
        return c - 0x20;
    if (c == 0xff)
        return 0x178;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c & ~1u; /* pairs: even upper, odd lower */
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (c & 1u) ? c : c - 1; /* pairs: odd upper, even lower */
    if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
        return c - 0x20;
    if (c >= 0x430 && c <= 0x44f)
        return c - 0x20;
    if (c >= 0x450 && c <= 0x45f)
        return c - 0x50;
    return c;
}

/* Decode one code point at s into *cp; returns its length in bytes, or 0
 * for invalid UTF-8. */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, c &= 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, c &= 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        c = c << 6 | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

int
ntlm_utf16le(const char *s, int upper, uint8_t **out, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    uint8_t *b;
    uint32_t cp;

    *out = NULL;
    *outlen = 0;
    /* Each UTF-8 byte yields at most 2 bytes of UTF-16. */
    if (n > (SIZE_MAX - 2) / 2 || (b = malloc(2 * n + 2)) == NULL)
        return -1;
    while (*p != '\0') {
        size_t k = utf8_next(p, &cp);

        if (k == 0) {
            OPENSSL_cleanse(b, 2 * n + 2);
            free(b);
            return -1;
        }
        p += k;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put16(b + o, 0xd800 + (cp >> 10));
            put16(b + o + 2, 0xdc00 + (cp & 0x3ff));
            o += 4;
        } else {
            put16(b + o, upper ? ntlm_upcase(cp) : cp);
            o += 2;
        }
    }
    *out = b;
    *outlen = o;
    return 0;
}

int
ntlm_nt_hash(const char *password_utf8, uint8_t out[NTLM_HASH_LEN])
{
    uint8_t *u;
    size_t n;

    if (ntlm_utf16le(password_utf8, 0, &u, &n) == -1)
        return -1;
    ntlm_md4(u, n, out);
    OPENSSL_cleanse(u, n);
    free(u);
    return 0;
}

int
ntlm_split_user(const char *name, char **user, char **domain)
{
    const char *bs = strchr(name, '\\');

    *user = NULL;
    *domain = NULL;
    if (bs != NULL) {
        if (bs == name || bs[1] == '\0')
            return -1;
        *domain = str_dupn(name, (size_t)(bs - name));
        *user = str_dupn(bs + 1, strlen(bs + 1));
    } else {
        if (*name == '\0')
            return -1;
        *domain = str_dupn("", 0);
        *user = str_dupn(name, strlen(name));
    }
    if (*user == NULL || *domain == NULL) {
        free(*user);
        free(*domain);
        *user = NULL;
        *domain = NULL;
        return -1;
    }
    return 0;
}

/* ---- keys and responses ---- */

static int
hmac_md5(const uint8_t *key, size_t keylen, const uint8_t *d, size_t n,
         uint8_t out[16])
{
    unsigned int mdlen = 0;

    if (HMAC(EVP_md5(), key, (int)keylen, d, n, out, &mdlen) == NULL ||
        mdlen != 16)
        return -1;
    return 0;
}

int
ntlm_ntowfv2(const uint8_t nt_hash[NTLM_HASH_LEN], const char *user,
             const char *domain, uint8_t out[NTLM_HASH_LEN])
{
    uint8_t *u = NULL, *d = NULL, *ud = NULL;
    size_t nu = 0, nd = 0;
    int rc = -1;

    if (ntlm_utf16le(user, 1, &u, &nu) == -1 ||
        ntlm_utf16le(domain, 0, &d, &nd) == -1 ||
        (ud = malloc(nu + nd + 1)) == NULL)
        goto done;
    memcpy(ud, u, nu);
    memcpy(ud + nu, d, nd);
    rc = hmac_md5(nt_hash, NTLM_HASH_LEN, ud, nu + nd, out);
done:
    free(u);
    free(d);
    free(ud);
    return rc;
}

int
ntlm_v2_response(const uint8_t ntowf[NTLM_HASH_LEN],
                 const uint8_t server_chal[8],
                 const uint8_t nonce[NTLM_NONCE_LEN], uint64_t time,
                 const uint8_t *tinfo, size_t tinfo_len, uint8_t **out,
                 size_t *outlen)
{
    /* out = NTProofStr(16) + temp; temp = 0x01 0x01, 6 zeros, time(8),
     * nonce(8), 4 zeros, tinfo, 4 zeros. The HMAC runs over
     * server_chal + temp, built in place at out + 8. */
    size_t tlen = 28 + tinfo_len + 4;
    uint8_t *b, *temp, md[16];

    *out = NULL;
    *outlen = 0;
    if (tinfo_len > 0xffff || (b = calloc(1, 16 + tlen)) == NULL)
        return -1;
    temp = b + 16;
    temp[0] = 1;
    temp[1] = 1;
    put64(temp + 8, time);
    memcpy(temp + 16, nonce, NTLM_NONCE_LEN);
    if (tinfo_len > 0)
        memcpy(temp + 28, tinfo, tinfo_len);
    memcpy(b + 8, server_chal, 8);
    if (hmac_md5(ntowf, NTLM_HASH_LEN, b + 8, 8 + tlen, md) == -1) {
        OPENSSL_cleanse(b, 16 + tlen);
        free(b);
        return -1;
    }
    memcpy(b, md, 16); /* NTProofStr replaces the server challenge */
    OPENSSL_cleanse(md, sizeof(md));
    *out = b;
    *outlen = 16 + tlen;
    return 0;
}

int
ntlm_lmv2_response(const uint8_t ntowf[NTLM_HASH_LEN],
                   const uint8_t server_chal[8],
                   const uint8_t nonce[NTLM_NONCE_LEN], uint8_t out[24])
{
    uint8_t sc[16];

    memcpy(sc, server_chal, 8);
    memcpy(sc + 8, nonce, 8);
    if (hmac_md5(ntowf, NTLM_HASH_LEN, sc, sizeof(sc), out) == -1)
        return -1;
    memcpy(out + 16, nonce, 8);
    return 0;
}

/* ---- messages ---- */

void
ntlm_negotiate(uint8_t out[NTLM_NEGOTIATE_LEN])
{
    /* signature, type 1, flags, DomainNameFields and WorkstationFields
     * all zero (nothing supplied), VERSION. */
    memset(out, 0, NTLM_NEGOTIATE_LEN);
    memcpy(out, ntlm_sig, 8);
    put32(out + 8, 1);
    put32(out + 12, NTLM_F_CLIENT);
    memcpy(out + 32, ntlm_version, 8);
}

/* Check the AV pairs ti[0..n): each fits, an MsvAvTimestamp is 8 bytes,
 * and MsvAvEOL ends them. Fills c's timestamp; *used gets the length up
 * to the end of MsvAvEOL. 0 or -1 with err set. */
static int
tinfo_scan(const uint8_t *ti, size_t n, struct ntlm_challenge *c, size_t *used,
           char *err, size_t errlen)
{
    size_t pos = 0;

    while (n - pos >= 4) {
        uint32_t id = get16(ti + pos), l = get16(ti + pos + 2);

        pos += 4;
        if (l > n - pos) {
            errfmt(err, errlen,
                   "NTLM challenge: AV pair %u runs past the "
                   "target info",
                   (unsigned)id);
            return -1;
        }
        if (id == NTLM_AV_EOL) {
            *used = pos;
            return 0;
        }
        if (id == NTLM_AV_TIMESTAMP) {
            if (l != 8) {
                errfmt(err, errlen,
                       "NTLM challenge: MsvAvTimestamp of %u "
                       "bytes",
                       (unsigned)l);
                return -1;
            }
            c->nc_has_time = 1;
            c->nc_time = get64(ti + pos);
        }
        pos += l;
    }
    errfmt(err, errlen, "NTLM challenge: target info without MsvAvEOL");
    return -1;
}

/* Is the field (Len, MaxLen, Offset) at msg + at inside msg[0..len)? */
static int
field_ok(const uint8_t *msg, size_t len, size_t at, size_t *flen, size_t *foff)
{
    *flen = get16(msg + at);
    *foff = get32(msg + at + 4);
    return *foff <= len && *flen <= len - *foff;
}

int
ntlm_parse_challenge(const uint8_t *msg, size_t len, struct ntlm_challenge *c,
                     char *err, size_t errlen)
{
    size_t flen, foff, used;

    memset(c, 0, sizeof(*c));
    /* signature 8, type 4, TargetNameFields 8, flags 4, challenge 8 */
    if (len < 32) {
        errfmt(err, errlen, "NTLM challenge too short (%zu bytes)", len);
        return -1;
    }
    if (memcmp(msg, ntlm_sig, 8) != 0) {
        errfmt(err, errlen, "NTLM challenge without the NTLMSSP signature");
        return -1;
    }
    if (get32(msg + 8) != 2) {
        errfmt(err, errlen,
               "NTLM message of type %u where a challenge (2) "
               "was expected",
               (unsigned)get32(msg + 8));
        return -1;
    }
    /* The TargetName field is not used (NTLMv2 takes the names from the
     * target info), so a bad one is no reason to fail: some servers
     * (Squid's ntlm_fake_auth among them) fill it carelessly. */
    c->nc_flags = get32(msg + 20);
    memcpy(c->nc_server_chal, msg + 24, 8);
    if (!(c->nc_flags & NTLM_F_UNICODE)) {
        errfmt(err, errlen, "NTLM challenge does not offer UNICODE");
        return -1;
    }
    if (!(c->nc_flags & NTLM_F_TARGET_INFO))
        return 0;
    /* Reserved 8, TargetInfoFields 8 */
    if (len < 48) {
        errfmt(err, errlen,
               "NTLM challenge too short for its target info "
               "(%zu bytes)",
               len);
        return -1;
    }
    if (!field_ok(msg, len, 40, &flen, &foff)) {
        errfmt(err, errlen,
               "NTLM challenge: target info outside the "
               "message");
        return -1;
    }
    if (flen == 0)
        return 0;
    if (tinfo_scan(msg + foff, flen, c, &used, err, errlen) == -1)
        return -1;
    c->nc_tinfo = msg + foff;
    c->nc_tinfo_len = used;
    return 0;
}

/* Copy the (checked) AV pairs ti[0..n) to out without MsvAvFlags and
 * MsvAvEOL, then add MsvAvFlags with the MIC bit and MsvAvEOL. out holds
 * n + 12 bytes. Returns the length written. */
static size_t
tinfo_with_mic(const uint8_t *ti, size_t n, uint8_t *out)
{
    uint32_t avflags = 0;
    size_t pos = 0, o = 0;

    while (n - pos >= 4) {
        uint32_t id = get16(ti + pos), l = get16(ti + pos + 2);

        if (id == NTLM_AV_EOL)
            break;
        if (id == NTLM_AV_FLAGS && l == 4)
            avflags = get32(ti + pos + 4);
        else if (id != NTLM_AV_FLAGS) {
            memcpy(out + o, ti + pos, 4 + l);
            o += 4 + l;
        }
        pos += 4 + l;
    }
    put16(out + o, NTLM_AV_FLAGS);
    put16(out + o + 2, 4);
    put32(out + o + 4, avflags | NTLM_AV_FLAG_MIC);
    o += 8;
    memset(out + o, 0, 4);
    return o + 4;
}

static void
put_field(uint8_t *m, size_t at, size_t len, size_t off)
{
    put16(m + at, (uint32_t)len);
    put16(m + at + 2, (uint32_t)len);
    put32(m + at + 4, (uint32_t)off);
}

/* MIC = HMAC-MD5(session base key, NEGOTIATE + CHALLENGE + AUTHENTICATE
 * with a zero MIC), written into auth. */
static int
auth_mic(const uint8_t ntowf[NTLM_HASH_LEN], const uint8_t *ntproof,
         const struct ntlm_auth_in *in, uint8_t *auth, size_t alen)
{
    uint8_t sbk[16], mic[16], *all;
    size_t n = in->ai_negotiate_len + in->ai_challenge_len + alen;
    int rc = -1;

    if ((all = malloc(n)) == NULL)
        return -1;
    memcpy(all, in->ai_negotiate, in->ai_negotiate_len);
    memcpy(all + in->ai_negotiate_len, in->ai_challenge, in->ai_challenge_len);
    memcpy(all + in->ai_negotiate_len + in->ai_challenge_len, auth, alen);
    if (hmac_md5(ntowf, NTLM_HASH_LEN, ntproof, 16, sbk) == 0 &&
        hmac_md5(sbk, sizeof(sbk), all, n, mic) == 0) {
        memcpy(auth + NTLM_AUTH_MIC_OFF, mic, 16);
        rc = 0;
    }
    OPENSSL_cleanse(sbk, sizeof(sbk));
    OPENSSL_cleanse(all, n);
    free(all);
    return rc;
}

/* Lay out an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3) in m, which holds
 * NTLM_AUTH_HDR plus every payload and is zeroed (the MIC is added
 * later): domain, user, no workstation, the LMv2 and NTLMv2 responses, no
 * session key (no KEY_EXCH). */
static void
auth_layout(uint8_t *m, uint32_t chal_flags, const uint8_t *dom, size_t ndom,
            const uint8_t *usr, size_t nusr, const uint8_t lm[24],
            const uint8_t *nt, size_t ntlen)
{
    size_t off = NTLM_AUTH_HDR;

    memcpy(m, ntlm_sig, 8);
    put32(m + 8, 3);
    put_field(m, 28, ndom, off);
    memcpy(m + off, dom, ndom);
    off += ndom;
    put_field(m, 36, nusr, off);
    memcpy(m + off, usr, nusr);
    off += nusr;
    put_field(m, 44, 0, off); /* workstation: none */
    put_field(m, 12, 24, off);
    memcpy(m + off, lm, 24);
    off += 24;
    put_field(m, 20, ntlen, off);
    memcpy(m + off, nt, ntlen);
    off += ntlen;
    put_field(m, 52, 0, off);
    put32(m + 60,
          (chal_flags & (NTLM_F_CLIENT | NTLM_F_TARGET_INFO)) | NTLM_F_UNICODE);
    memcpy(m + 64, ntlm_version, 8);
}

int
ntlm_authenticate(const struct ntlm_auth_in *in, uint8_t **out, size_t *outlen,
                  char *err, size_t errlen)
{
    struct ntlm_challenge ch;
    uint8_t ntowf[NTLM_HASH_LEN], lm[24];
    uint8_t *ti = NULL, *nt = NULL, *dom = NULL, *usr = NULL, *m = NULL;
    const uint8_t *tinfo;
    size_t tilen, ntlen = 0, ndom = 0, nusr = 0, total = 0;
    int rc = -1;

    *out = NULL;
    *outlen = 0;
    if (ntlm_parse_challenge(in->ai_challenge, in->ai_challenge_len, &ch, err,
                             errlen) == -1)
        return -1;
    if (ch.nc_has_time && in->ai_negotiate == NULL) {
        errfmt(err, errlen,
               "NTLM: the negotiate message is needed for "
               "the MIC");
        return -1;
    }
    tinfo = ch.nc_tinfo;
    tilen = ch.nc_tinfo_len;
    if (ch.nc_has_time) {
        if ((ti = malloc(tilen + 12)) == NULL)
            goto oom;
        tilen = tinfo_with_mic(tinfo, tilen, ti);
        tinfo = ti;
    }
    if (ntlm_utf16le(in->ai_domain, 0, &dom, &ndom) == -1 ||
        ntlm_utf16le(in->ai_user, 0, &usr, &nusr) == -1 ||
        ntlm_ntowfv2(in->ai_nt_hash, in->ai_user, in->ai_domain, ntowf) == -1) {
        errfmt(err, errlen,
               "NTLM: the user or domain name is not valid "
               "UTF-8 (or out of memory)");
        goto done;
    }
    if (ndom > 0xffff || nusr > 0xffff) {
        errfmt(err, errlen, "NTLM: user or domain name too long");
        goto done;
    }
    if (ntlm_v2_response(ntowf, ch.nc_server_chal, in->ai_nonce,
                         ch.nc_has_time ? ch.nc_time : in->ai_time, tinfo,
                         tilen, &nt, &ntlen) == -1)
        goto oom;
    if (ch.nc_has_time)
        memset(lm, 0, sizeof(lm));
    else if (ntlm_lmv2_response(ntowf, ch.nc_server_chal, in->ai_nonce, lm) ==
             -1)
        goto oom;
    total = NTLM_AUTH_HDR + ndom + nusr + sizeof(lm) + ntlen;
    if ((m = calloc(1, total)) == NULL)
        goto oom;
    auth_layout(m, ch.nc_flags, dom, ndom, usr, nusr, lm, nt, ntlen);
    if (ch.nc_has_time && auth_mic(ntowf, nt, in, m, total) == -1)
        goto oom;
    *out = m;
    *outlen = total;
    m = NULL;
    rc = 0;
    goto done;
oom:
    errfmt(err, errlen, "NTLM: out of memory");
done:
    OPENSSL_cleanse(ntowf, sizeof(ntowf));
    OPENSSL_cleanse(lm, sizeof(lm));
    if (nt != NULL) {
        OPENSSL_cleanse(nt, ntlen);
        free(nt);
    }
    if (m != NULL) {
        OPENSSL_cleanse(m, total);
        free(m);
    }
    free(ti);
    free(dom);
    free(usr);
    return rc;
}
