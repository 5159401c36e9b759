/*
 * test_ntlm.c - the NTLMv2 messages of ntlm.c: MD4 (RFC 1320), UTF-8 to
 * UTF-16LE, the NT hash ([MS-NLMP] 4.2.2.1.2), the user name split, the
 * [MS-NLMP] 4.2.4 NTLMv2 example byte for byte, the NEGOTIATE layout,
 * the MIC when the challenge has a timestamp, and malformed challenges
 * (each in a buffer of exactly its length, so ASan sees any over-read).
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
#include <openssl/hmac.h>

#include "ntlm.h"

/* hex (spaces allowed) into out; returns the byte count. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;

    while (*hex != '\0') {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        assert_true(n < cap);
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void
assert_hex(const uint8_t *got, size_t n, const char *want)
{
    uint8_t w[1024];
    size_t wn = unhex(want, w, sizeof(w));

    assert_int_equal(n, wn);
    assert_memory_equal(got, w, wn);
}

static uint32_t
rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
rd32(const uint8_t *p)
{
    return rd16(p) | rd16(p + 2) << 16;
}

/* ---- MD4, UTF-16, NT hash ---- */

static void
test_md4(void **state)
{
    static const struct {
        const char *in;
        const char *md;
    } v[] = {
        {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
        {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
        {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
        {"message digest", "d9130a8164549fe818874806e1c7014b"},
        {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "043f8582f241db351ce627e153e7f0e4"},
        {"1234567890123456789012345678901234567890123456789012345678901234"
         "5678901234567890",
         "e33b4ddc9c38f2199c3e7b164fcc0536"},
    };
    uint8_t md[16];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        ntlm_md4(v[i].in, strlen(v[i].in), md);
        assert_hex(md, sizeof(md), v[i].md);
    }
}

static void
test_utf16le(void **state)
{
    static const struct {
        const char *in;
        int upper;
        int rc;
        const char *out;
    } v[] = {
        {"", 0, 0, ""},
        {"Ab", 0, 0, "4100 6200"},
        {"Ab", 1, 0, "4100 4200"},
        {"\xc3\xa9", 0, 0, "e900"},              /* e acute */
        {"\xc3\xa9\xc3\x9f", 1, 0, "c900 df00"}, /* sharp s has no capital */
        {"\xe2\x82\xac", 0, 0, "ac20"},          /* euro sign */
        {"\xf0\x9f\x98\x80", 0, 0, "3dd8 00de"}, /* U+1F600: a pair */
        {"\xf4\x8f\xbf\xbf", 0, 0, "ffdb ffdf"}, /* U+10FFFF */
        {"\xc5\x82\xc3\xb3"
         "d\xc5\xba",
         1, 0, "4101 d300 4400 7901"},
        {"\xd0\xb6\xc3\xbf", 1, 0, "1604 7801"}, /* Cyrillic zhe, y diaer. */
        {"\xc0\x80", 0, -1, NULL},               /* overlong NUL */
        {"\xe0\x80\xaf", 0, -1, NULL},           /* overlong '/' */
        {"\xed\xa0\x80", 0, -1, NULL},           /* a surrogate */
        {"\xf4\x90\x80\x80", 0, -1, NULL},       /* above U+10FFFF */
        {"\xe2\x82", 0, -1, NULL},               /* cut at the end */
        {"a\xe2\x82z", 0, -1, NULL},             /* cut in the middle */
        {"\x80", 0, -1, NULL},                   /* lone continuation */
        {"\xff", 0, -1, NULL},
        {"\xf8\x88\x80\x80\x80", 0, -1, NULL}, /* 5-byte form */
    };
    uint8_t *o;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int rc = ntlm_utf16le(v[i].in, v[i].upper, &o, &n);

        assert_int_equal(rc, v[i].rc);
        if (rc == 0) {
            assert_hex(o, n, v[i].out);
            free(o);
        } else {
            assert_null(o);
        }
    }
}

static void
test_nt_hash(void **state)
{
    uint8_t h[16];

    (void)state;
    /* [MS-NLMP] 4.2.2.1.2 */
    assert_int_equal(ntlm_nt_hash("Password", h), 0);
    assert_hex(h, 16, "a4f49c406510bdcab6824ee7c30fd852");
    assert_int_equal(ntlm_nt_hash("", h), 0);
    assert_hex(h, 16, "31d6cfe0d16ae931b73c59d7e0c089c0");
    assert_int_equal(ntlm_nt_hash("bad\xc3", h), -1);
}

static void
test_split_user(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *user, *domain;
    } v[] = {
        {"CORP\\alice", 0, "alice", "CORP"},
        {"alice@corp.example.com", 0, "alice@corp.example.com", ""},
        {"alice", 0, "alice", ""},
        {"CORP\\alice@corp.example.com", 0, "alice@corp.example.com", "CORP"},
        {"\\alice", -1, NULL, NULL},
        {"CORP\\", -1, NULL, NULL},
        {"", -1, NULL, NULL},
    };
    char *u, *d;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(ntlm_split_user(v[i].in, &u, &d), v[i].rc);
        if (v[i].rc == 0) {
            assert_string_equal(u, v[i].user);
            assert_string_equal(d, v[i].domain);
            free(u);
            free(d);
        } else {
            assert_null(u);
            assert_null(d);
        }
    }
}

/* ---- [MS-NLMP] 4.2.4: NTLMv2 authentication ---- */

/* 4.2.4.3, the CHALLENGE_MESSAGE (flags 0xe28a8233, target "Server",
 * target info: MsvAvNbDomainName "Domain", MsvAvNbComputerName
 * "Server"). */
static const char spec_challenge[] =
    "4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef"
    "0000000000000000 24002400 44000000 060070170000000f"
    "530065007200760065007200"
    "02000c0044006f006d00610069006e00"
    "01000c00530065007200760065007200"
    "00000000";
static const char spec_tinfo[] =
    "02000c0044006f006d00610069006e00 01000c00530065007200760065007200"
    "00000000";
static const char spec_ntlmv2[] =
    "68cd0ab851e51c96aabc927bebef6a1c"  /* NTProofStr */
    "0101000000000000 0000000000000000" /* version, zeros, time 0 */
    "aaaaaaaaaaaaaaaa 00000000"         /* client challenge, zeros */
    "02000c0044006f006d00610069006e00 01000c00530065007200760065007200"
    "00000000 00000000";
static const char spec_lmv2[] =
    "86c35097ac9cec102554764a57cccc19 aaaaaaaaaaaaaaaa";

static void
spec_hash(uint8_t h[16])
{
    assert_int_equal(ntlm_nt_hash("Password", h), 0);
}

static void
test_spec_ntowfv2(void **state)
{
    uint8_t h[16], k[16];

    (void)state;
    spec_hash(h);
    assert_int_equal(ntlm_ntowfv2(h, "User", "Domain", k), 0);
    assert_hex(k, 16, "0c868a403bfd7a93a3001ef22ef02e3f");
    /* The user is upper-cased, the domain is not. */
    assert_int_equal(ntlm_ntowfv2(h, "user", "Domain", k), 0);
    assert_hex(k, 16, "0c868a403bfd7a93a3001ef22ef02e3f");
    assert_int_equal(ntlm_ntowfv2(h, "User", "DOMAIN", k), 0);
    assert_true(memcmp(k, "\x0c\x86\x8a\x40", 4) != 0);
}

static void
test_spec_responses(void **state)
{
    uint8_t h[16], k[16], sc[8], cc[8], ti[64], lm[24], *nt;
    size_t tin, ntlen;

    (void)state;
    spec_hash(h);
    assert_int_equal(ntlm_ntowfv2(h, "User", "Domain", k), 0);
    unhex("0123456789abcdef", sc, sizeof(sc));
    memset(cc, 0xaa, sizeof(cc));
    tin = unhex(spec_tinfo, ti, sizeof(ti));
    assert_int_equal(ntlm_v2_response(k, sc, cc, 0, ti, tin, &nt, &ntlen), 0);
    assert_hex(nt, ntlen, spec_ntlmv2);
    free(nt);
    assert_int_equal(ntlm_lmv2_response(k, sc, cc, lm), 0);
    assert_hex(lm, sizeof(lm), spec_lmv2);
}

/* The bytes of field (Len, MaxLen, Offset) at m + at, checked inside
 * m[0..n). */
static const uint8_t *
field(const uint8_t *m, size_t n, size_t at, size_t *len)
{
    size_t off = rd32(m + at + 4);

    *len = rd16(m + at);
    assert_int_equal(rd16(m + at + 2), *len);
    assert_true(off >= 88 && off <= n && *len <= n - off);
    return m + off;
}

static void
test_spec_authenticate(void **state)
{
    uint8_t h[16], chal[256], neg[NTLM_NEGOTIATE_LEN], *m;
    struct ntlm_auth_in ai;
    const uint8_t *p;
    size_t clen, n, fl;
    char err[128];

    (void)state;
    spec_hash(h);
    clen = unhex(spec_challenge, chal, sizeof(chal));
    ntlm_negotiate(neg);
    memset(&ai, 0, sizeof(ai));
    ai.ai_user = "User";
    ai.ai_domain = "Domain";
    ai.ai_nt_hash = h;
    ai.ai_negotiate = neg;
    ai.ai_negotiate_len = sizeof(neg);
    ai.ai_challenge = chal;
    ai.ai_challenge_len = clen;
    memset(ai.ai_nonce, 0xaa, sizeof(ai.ai_nonce));
    ai.ai_time = 0; /* no timestamp in this challenge: ours is used */
    assert_int_equal(ntlm_authenticate(&ai, &m, &n, err, sizeof(err)), 0);

    assert_memory_equal(m, "NTLMSSP\0\3\0\0\0", 12);
    p = field(m, n, 12, &fl);
    assert_hex(p, fl, spec_lmv2);
    p = field(m, n, 20, &fl);
    assert_hex(p, fl, spec_ntlmv2);
    p = field(m, n, 28, &fl);
    assert_hex(p, fl, "44006f006d00610069006e00");
    p = field(m, n, 36, &fl);
    assert_hex(p, fl, "5500730065007200");
    field(m, n, 44, &fl);
    assert_int_equal(fl, 0); /* no workstation */
    field(m, n, 52, &fl);
    assert_int_equal(fl, 0); /* no session key */
    /* The challenge's flags that we also asked for, and UNICODE. */
    assert_int_equal(rd32(m + 60),
                     0xe28a8233u & (NTLM_F_CLIENT | NTLM_F_TARGET_INFO));
    assert_hex(m + 64, 8, "0a00614a0000000f");
    /* No timestamp, no MIC. */
    assert_hex(m + 72, 16, "00000000000000000000000000000000");
    assert_int_equal(n, 88 + 12 + 8 + 24 + 84);
    free(m);
}

/* A challenge with MsvAvTimestamp: 4.2.4.3's with a timestamp pair put
 * before MsvAvEOL (target info 0x30 bytes). */
static const char ts_challenge[] =
    "4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef"
    "0000000000000000 30003000 44000000 060070170000000f"
    "530065007200760065007200"
    "02000c0044006f006d00610069006e00"
    "01000c00530065007200760065007200"
    "07000800 0011223344556677"
    "00000000";

static void
test_timestamp_mic(void **state)
{
    uint8_t h[16], k[16], chal[256], neg[NTLM_NEGOTIATE_LEN], *m, *copy;
    uint8_t sbk[16], mic[16], zero[16] = {0};
    struct ntlm_auth_in ai;
    struct ntlm_challenge c;
    const uint8_t *nt, *lm;
    size_t clen, n, ntlen, lmlen;
    unsigned mdlen;
    char err[128];

    (void)state;
    spec_hash(h);
    clen = unhex(ts_challenge, chal, sizeof(chal));
    assert_int_equal(ntlm_parse_challenge(chal, clen, &c, err, sizeof(err)), 0);
    assert_int_equal(c.nc_has_time, 1);
    assert_true(c.nc_time == 0x7766554433221100ull);
    assert_int_equal(c.nc_tinfo_len, 0x30);

    ntlm_negotiate(neg);
    memset(&ai, 0, sizeof(ai));
    ai.ai_user = "User";
    ai.ai_domain = "Domain";
    ai.ai_nt_hash = h;
    ai.ai_negotiate = neg;
    ai.ai_negotiate_len = sizeof(neg);
    ai.ai_challenge = chal;
    ai.ai_challenge_len = clen;
    memset(ai.ai_nonce, 0xaa, sizeof(ai.ai_nonce));
    ai.ai_time = 42; /* must lose to the challenge's timestamp */
    assert_int_equal(ntlm_authenticate(&ai, &m, &n, err, sizeof(err)), 0);

    lm = field(m, n, 12, &lmlen);
    assert_int_equal(lmlen, 24);
    assert_memory_equal(lm, zero, 16);
    assert_memory_equal(lm + 16, zero, 8);
    nt = field(m, n, 20, &ntlen);
    /* temp: the challenge's time, then the target info with MsvAvFlags
     * (MIC present) inserted before MsvAvEOL. */
    assert_hex(nt + 16, 16, "0101000000000000 0011223344556677");
    assert_int_equal(ntlen, 16 + 28 + 0x30 + 8 + 4);
    assert_hex(nt + 16 + 28 + 0x30 - 4, 12 + 4,
               "06000400 02000000 00000000 00000000");

    /* The NTProofStr over that temp, with NTOWFv2. */
    assert_int_equal(ntlm_ntowfv2(h, "User", "Domain", k), 0);
    {
        uint8_t *buf = malloc(8 + ntlen - 16), proof[16];
        memcpy(buf, c.nc_server_chal, 8);
        memcpy(buf + 8, nt + 16, ntlen - 16);
        assert_non_null(
            HMAC(EVP_md5(), k, 16, buf, 8 + ntlen - 16, proof, &mdlen));
        assert_memory_equal(proof, nt, 16);
        free(buf);
    }

    /* MIC = HMAC-MD5(HMAC-MD5(NTOWFv2, NTProofStr), neg + chal + auth
     * with the MIC zeroed). */
    assert_non_null(HMAC(EVP_md5(), k, 16, nt, 16, sbk, &mdlen));
    copy = malloc(sizeof(neg) + clen + n);
    memcpy(copy, neg, sizeof(neg));
    memcpy(copy + sizeof(neg), chal, clen);
    memcpy(copy + sizeof(neg) + clen, m, n);
    memset(copy + sizeof(neg) + clen + 72, 0, 16);
    assert_non_null(
        HMAC(EVP_md5(), sbk, 16, copy, sizeof(neg) + clen + n, mic, &mdlen));
    assert_memory_equal(m + 72, mic, 16);
    assert_memory_not_equal(m + 72, zero, 16);
    free(copy);
    free(m);

    /* The MIC needs the negotiate message. */
    ai.ai_negotiate = NULL;
    assert_int_equal(ntlm_authenticate(&ai, &m, &n, err, sizeof(err)), -1);
    assert_null(m);
}

static void
test_negotiate_layout(void **state)
{
    uint8_t neg[NTLM_NEGOTIATE_LEN];

    (void)state;
    memset(neg, 0xee, sizeof(neg));
    ntlm_negotiate(neg);
    assert_hex(neg, sizeof(neg),
               "4e544c4d53535000"   /* NTLMSSP\0 */
               "01000000"           /* NEGOTIATE_MESSAGE */
               "058208a2"           /* flags 0xa2088205 */
               "0000 0000 00000000" /* DomainNameFields: none */
               "0000 0000 00000000" /* WorkstationFields: none */
               "0a00614a0000000f"); /* VERSION 10.0.19041, rev 15 */
    /* UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, ESS, VERSION, 128, 56;
     * never OEM, LM_KEY or KEY_EXCH. */
    assert_int_equal(NTLM_F_CLIENT, 0xa2088205u);
}

/* ---- malformed challenges ---- */

/* Parse a copy of b[0..n) in an allocation of exactly n bytes. */
static int
parse_exact(const uint8_t *b, size_t n, struct ntlm_challenge *c, char *err,
            size_t errlen)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, b, n);
    rc = ntlm_parse_challenge(copy, n, c, err, errlen);
    free(copy);
    return rc;
}

struct chal_mut {
    const char *name;
    size_t at;       /* byte offset to overwrite */
    const char *hex; /* new bytes */
    const char *msg; /* expected in err */
};

static void
test_challenge_malformed(void **state)
{
    static const struct chal_mut v[] = {
        {"signature", 0, "4e544c4d53535001", "signature"},
        {"type 3", 8, "03000000", "type 3"},
        {"info offset past end", 44, "ffffffff", "target info"},
        {"info offset+length wraps", 40, "ffff ffff f0ffffff", "target info"},
        {"info length one too long", 40, "25002500", "target info"},
        {"no UNICODE", 20, "32828ae2", "UNICODE"},
        {"AV pair past info", 70, "ff00", "AV pair"},
        {"AV pair longer than the rest", 86, "1200", "AV pair"},
        {"no EOL", 100, "09000000", "MsvAvEOL"},
        {"timestamp of 4 bytes", 84, "07000c00", "MsvAvTimestamp"},
    };
    uint8_t good[256], b[256];
    struct ntlm_challenge c;
    size_t n = unhex(spec_challenge, good, sizeof(good));
    char err[128];

    (void)state;
    assert_int_equal(parse_exact(good, n, &c, err, sizeof(err)), 0);
    assert_int_equal(c.nc_flags, 0xe28a8233u);
    assert_int_equal(c.nc_tinfo_len, 36);
    assert_int_equal(c.nc_has_time, 0);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memcpy(b, good, n);
        unhex(v[i].hex, b + v[i].at, sizeof(b) - v[i].at);
        err[0] = '\0';
        if (parse_exact(b, n, &c, err, sizeof(err)) != -1)
            fail_msg("row '%s' was accepted", v[i].name);
        if (strstr(err, v[i].msg) == NULL)
            fail_msg("row '%s': '%s' lacks '%s'", v[i].name, err, v[i].msg);
    }
    /* A TargetName field outside the message is ignored (it is not used;
     * Squid's ntlm_fake_auth sends such challenges): the target info is
     * still read whole. */
    static const struct chal_mut names[] = {
        {"name offset past end", 16, "ffffffff", NULL},
        {"name length past end", 12, "ff00ff00", NULL},
        {"name offset+length wraps", 12, "2000 2000 f0ffffff", NULL},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        memcpy(b, good, n);
        unhex(names[i].hex, b + names[i].at, sizeof(b) - names[i].at);
        if (parse_exact(b, n, &c, err, sizeof(err)) != 0)
            fail_msg("row '%s' refused: %s", names[i].name, err);
        assert_int_equal(c.nc_tinfo_len, 36);
    }
    /* Every truncation fails cleanly: the target info ends the message. */
    for (size_t len = 0; len < n; len++) {
        err[0] = '\0';
        assert_int_equal(parse_exact(good, len, &c, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    /* Random byte mutations (fixed seed): never a crash or an over-read,
     * and any accepted target info lies inside the message. */
    uint32_t seed = 12345;
    for (int round = 0; round < 5000; round++) {
        memcpy(b, good, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            b[(seed >> 8) % n] = (uint8_t)(seed >> 20);
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % (n + 1);
        uint8_t *copy = malloc(len > 0 ? len : 1);
        memcpy(copy, b, len);
        if (ntlm_parse_challenge(copy, len, &c, err, sizeof(err)) == 0 &&
            c.nc_tinfo != NULL)
            assert_true(c.nc_tinfo >= copy &&
                        c.nc_tinfo + c.nc_tinfo_len <= copy + len);
        free(copy);
    }
}

/* A challenge from an old parent: 32 bytes, no target info. NTLMv2 still
 * runs over an empty target info with our own time. */
static void
test_challenge_short_form(void **state)
{
    uint8_t chal[32], h[16], *m;
    struct ntlm_challenge c;
    struct ntlm_auth_in ai;
    size_t n = unhex("4e544c4d53535000 02000000 00000000 20000000 01820000"
                     "0123456789abcdef",
                     chal, sizeof(chal));
    char err[128];

    (void)state;
    assert_int_equal(parse_exact(chal, n, &c, err, sizeof(err)), 0);
    assert_null(c.nc_tinfo);
    spec_hash(h);
    memset(&ai, 0, sizeof(ai));
    ai.ai_user = "u";
    ai.ai_domain = "";
    ai.ai_nt_hash = h;
    ai.ai_challenge = chal;
    ai.ai_challenge_len = n;
    ai.ai_time = 1;
    assert_int_equal(ntlm_authenticate(&ai, &m, &n, err, sizeof(err)), 0);
    free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md4),
        cmocka_unit_test(test_utf16le),
        cmocka_unit_test(test_nt_hash),
        cmocka_unit_test(test_split_user),
        cmocka_unit_test(test_spec_ntowfv2),
        cmocka_unit_test(test_spec_responses),
        cmocka_unit_test(test_spec_authenticate),
        cmocka_unit_test(test_timestamp_mic),
        cmocka_unit_test(test_negotiate_layout),
        cmocka_unit_test(test_challenge_malformed),
        cmocka_unit_test(test_challenge_short_form),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
