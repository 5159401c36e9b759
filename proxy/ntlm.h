/*
 * ntlm.h - the NTLMv2 client messages of [MS-NLMP], as pure functions.
 *
 * No sockets, no clock, no random source and no log: the caller passes
 * the client nonce and the time, so every message is reproducible (the
 * unit tests rebuild [MS-NLMP] 4.2.4 byte for byte). auth_ntlm.c is the
 * mechanism that feeds them from the platform layer.
 *
 * What we send: a NEGOTIATE_MESSAGE asking for UNICODE, NTLM, extended
 * session security, 128/56-bit and carrying a VERSION; an
 * AUTHENTICATE_MESSAGE with the NTLMv2 response only (never LM or NTLMv1).
 * When the challenge carries MsvAvTimestamp, the response uses that time,
 * the LMv2 response is 24 zero bytes and a MIC over the three messages is
 * added (MsvAvFlags bit 0x2), as [MS-NLMP] 3.1.5.1.2 says a client should.
 * KEY_EXCH is not requested: the exported session key is the session base
 * key, which is all the MIC needs (HTTP authentication signs nothing
 * after the handshake).
 *
 * Secrets (the NT hash, NTOWFv2, the session key) never reach an error
 * message; every buffer here that held one is wiped before it is freed.
 */
#ifndef WSUS_NTLM_H
#define WSUS_NTLM_H

#include <stddef.h>
#include <stdint.h>

#define NTLM_HASH_LEN 16
#define NTLM_NONCE_LEN 8
#define NTLM_NEGOTIATE_LEN 40

/* NegotiateFlags ([MS-NLMP] 2.2.2.5) that we use or read. */
#define NTLM_F_UNICODE 0x00000001u
#define NTLM_F_OEM 0x00000002u
#define NTLM_F_REQUEST_TARGET 0x00000004u
#define NTLM_F_NTLM 0x00000200u
#define NTLM_F_ALWAYS_SIGN 0x00008000u
#define NTLM_F_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLM_F_TARGET_INFO 0x00800000u
#define NTLM_F_VERSION 0x02000000u
#define NTLM_F_128 0x20000000u
#define NTLM_F_KEY_EXCH 0x40000000u
#define NTLM_F_56 0x80000000u

/* The flags of our NEGOTIATE_MESSAGE (0xa2088205). */
#define NTLM_F_CLIENT                                                          \
    (NTLM_F_UNICODE | NTLM_F_REQUEST_TARGET | NTLM_F_NTLM |                    \
     NTLM_F_ALWAYS_SIGN | NTLM_F_EXTENDED_SESSIONSECURITY | NTLM_F_VERSION |   \
     NTLM_F_128 | NTLM_F_56)

/* MD4 (RFC 1320) of data[0..len). Our own: OpenSSL 3 keeps MD4 in the
 * legacy provider, which is often not loaded. */
void ntlm_md4(const void *data, size_t len, uint8_t out[16]);

/* The UTF-16LE form of the NUL-terminated UTF-8 s, upper-cased when upper
 * is 1 (ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic; other
 * letters are kept as they are). *out is malloc'ed (the caller frees it;
 * at least 1 byte even for ""), *outlen its length in bytes. -1 for
 * invalid UTF-8 (overlong forms, surrogates, above U+10FFFF, cut
 * sequences) or when out of memory. */
int ntlm_utf16le(const char *s, int upper, uint8_t **out, size_t *outlen);

/* The NT hash: MD4(UTF-16LE(password)). 0, or -1 for invalid UTF-8 or
 * out of memory. */
int ntlm_nt_hash(const char *password_utf8, uint8_t out[NTLM_HASH_LEN]);

/* Split a configured user name: "DOMAIN\user" gives DOMAIN and user;
 * "user@REALM" and "user" give an empty domain and the whole name as the
 * user (a UPN is sent whole with an empty domain, as Windows and curl
 * send it and as a domain controller checks it; gss-ntlmssp as an
 * acceptor refuses that form, since it splits the UPN into user and
 * realm itself: against such a parent write "REALM\user"). *user and
 * *domain are malloc'ed (the caller frees both). -1 for an empty user or
 * domain part around a backslash, or out of memory. */
int ntlm_split_user(const char *name, char **user, char **domain);

/* NTOWFv2 = HMAC-MD5(nt_hash, UTF-16LE(Uppercase(user) + domain)).
 * 0, or -1 for invalid UTF-8 or out of memory. */
int ntlm_ntowfv2(const uint8_t nt_hash[NTLM_HASH_LEN], const char *user,
                 const char *domain, uint8_t out[NTLM_HASH_LEN]);

/* Our NEGOTIATE_MESSAGE: always NTLM_NEGOTIATE_LEN bytes, no domain or
 * workstation supplied, flags NTLM_F_CLIENT, then the VERSION. */
void ntlm_negotiate(uint8_t out[NTLM_NEGOTIATE_LEN]);

/* A parsed CHALLENGE_MESSAGE. The pointer is into the message given to
 * ntlm_parse_challenge, which must outlive this. */
struct ntlm_challenge {
    uint32_t nc_flags;
    uint8_t nc_server_chal[8];
    const uint8_t *nc_tinfo; /* target info AV pairs, or NULL */
    size_t nc_tinfo_len;
    int nc_has_time;  /* MsvAvTimestamp present? */
    uint64_t nc_time; /* its FILETIME */
};

/* Parse msg[0..len) as a CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2). Every
 * offset and length is checked against len, and the AV pairs must be
 * well formed and end with MsvAvEOL. 0, or -1 with a message in err: a
 * bad signature or type, a field outside the message, a parent that
 * does not speak UNICODE. */
int ntlm_parse_challenge(const uint8_t *msg, size_t len,
                         struct ntlm_challenge *c, char *err, size_t errlen);

/* The NTLMv2 response ([MS-NLMP] 3.3.2): NTProofStr followed by temp
 * (0x0101, zeros, time, nonce, zeros, tinfo, zeros). *out is malloc'ed,
 * the caller wipes and frees it. 0, or -1 when out of memory. */
int ntlm_v2_response(const uint8_t ntowf[NTLM_HASH_LEN],
                     const uint8_t server_chal[8],
                     const uint8_t nonce[NTLM_NONCE_LEN], uint64_t time,
                     const uint8_t *tinfo, size_t tinfo_len, uint8_t **out,
                     size_t *outlen);

/* The LMv2 response: HMAC-MD5(ntowf, server_chal + nonce) + nonce. */
int ntlm_lmv2_response(const uint8_t ntowf[NTLM_HASH_LEN],
                       const uint8_t server_chal[8],
                       const uint8_t nonce[NTLM_NONCE_LEN], uint8_t out[24]);

/* What ntlm_authenticate needs. All borrowed. */
struct ntlm_auth_in {
    const char *ai_user; /* as split by ntlm_split_user */
    const char *ai_domain;
    const uint8_t *ai_nt_hash;   /* NTLM_HASH_LEN bytes */
    const uint8_t *ai_negotiate; /* the NEGOTIATE_MESSAGE we sent (MIC) */
    size_t ai_negotiate_len;
    const uint8_t *ai_challenge; /* the CHALLENGE_MESSAGE as received */
    size_t ai_challenge_len;
    uint8_t ai_nonce[NTLM_NONCE_LEN]; /* the client challenge */
    uint64_t ai_time; /* FILETIME now; the challenge's timestamp wins */
};

/* The AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3) answering in->ai_challenge:
 * an 88-byte header (VERSION and MIC fields), then domain, user, an empty
 * workstation, the LMv2 and NTLMv2 responses. *out is malloc'ed; the
 * caller wipes and frees it. 0, or -1 with a message in err (a malformed
 * challenge, invalid UTF-8 in a name, out of memory). */
int ntlm_authenticate(const struct ntlm_auth_in *in, uint8_t **out,
                      size_t *outlen, char *err, size_t errlen);

#endif
