/*
 * auth.h - authentication toward a parent proxy.
 *
 * What a 407 offers (Proxy-Authenticate), which scheme to use, and one
 * handshake per upstream connection. Pure: no sockets, no event base and
 * no log; errors go into a caller's buffer. fetch.c carries the tokens on
 * the wire; the mechanisms make and read them:
 *
 *   auth_basic  (auth.c)        one leg, the same value on every request
 *   auth_ntlm   (auth_ntlm.c)   NTLMv2 built in, [MS-NLMP]; three legs on
 *                               one connection, which then stays
 *                               authenticated
 *   auth_negotiate (auth_gss.c on POSIX, auth_sspi.c on Windows)
 *                               a fresh token per connection, as many legs
 *                               as the mechanism needs
 *
 * A session's tokens are secrets: every buffer that held one is wiped
 * before it is freed, and nothing here formats a token, a password or a
 * hash into an error message.
 */
#ifndef WSUS_AUTH_H
#define WSUS_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct hdr_list;

enum auth_scheme {
    AUTH_NONE = 0,
    AUTH_BASIC,
    AUTH_NTLM,
    AUTH_NEGOTIATE,
    AUTH_NSCHEMES,
};
#define AUTH_BIT(s) (1u << (unsigned)(s))

/* [upstream] auth: a scheme, or auto (the strongest the parent offers of
 * those the credentials allow). */
enum auth_want {
    AUTH_WANT_AUTO = 0,
    AUTH_WANT_NONE,
    AUTH_WANT_BASIC,
    AUTH_WANT_NTLM,
    AUTH_WANT_NEGOTIATE,
};

/* The configured credentials (borrowed; the config owns them). */
struct auth_cred {
    const char *ac_user;     /* "DOMAIN\user", "user@REALM", "user"; or NULL */
    const char *ac_password; /* clear text, or NULL */
    const uint8_t *ac_nt_hash; /* 16 bytes (password_hash), or NULL */
    const char *ac_keytab;     /* Negotiate: client keytab, or NULL */
    const char *ac_principal;  /* Negotiate: principal in the keytab */
    const char *ac_spn;        /* Negotiate: SPN override ("HTTP@host") */
};

/* One mechanism. Defined by each auth_*.c, listed in auth.c. */
struct auth_mech {
    enum auth_scheme am_scheme;
    const char *am_name; /* as on the wire: "Basic", "NTLM", "Negotiate" */
    /* Can this mechanism run with these credentials on this build? 1/0 */
    int (*am_usable)(const struct auth_cred *c);
    /* New per-connection state for the parent host (its name, for an
     * SPN). NULL with a message in err. */
    void *(*am_new)(const struct auth_cred *c, const char *host, char *err,
                    size_t errlen);
    /* One leg. in/inlen: the parent's decoded token (inlen 0 on the first
     * leg). On 0, *out (malloc'ed, the caller wipes and frees it) and
     * *outlen hold the token to send, and *last says it is the
     * mechanism's final message (a 407 after it means refused). -1 with a
     * message in err: the challenge is malformed or the mechanism failed. */
    int (*am_step)(void *st, const unsigned char *in, size_t inlen,
                   unsigned char **out, size_t *outlen, int *last, char *err,
                   size_t errlen);
    void (*am_free)(void *st);
};

/* The mechanisms, one per scheme. auth_mech_negotiate is GSSAPI on POSIX
 * (auth_gss.c) and SSPI on Windows (auth_sspi.c). */
extern const struct auth_mech auth_mech_basic;
extern const struct auth_mech auth_mech_ntlm;
extern const struct auth_mech auth_mech_negotiate;
/* NTLM as the process's own logon, with nothing stored: SSPI's NTLM
 * package on Windows (auth_sspi.c), used for AUTH_NTLM when no user is
 * configured; NULL where the platform has no such logon. */
extern const struct auth_mech *const auth_mech_ntlm_logon;

/* The scheme's wire name ("NTLM"), or "none". */
const char *auth_scheme_name(enum auth_scheme s);

/* Rewrite h so that each Proxy-Authenticate field holds one challenge:
 * RFC 9110 11.6.1 lets one field list several ("Negotiate, NTLM, Basic
 * realm=\"x\""), and auth_offered/auth_challenge read one per field. A
 * list element whose first token is followed by "=" is a parameter of
 * the challenge before it; any other element starts a challenge. Returns
 * 0, or -1 when out of memory (h is then unchanged). */
int auth_challenges_split(struct hdr_list *h);

/* Which schemes the Proxy-Authenticate fields of h offer: AUTH_BIT()s.
 * Unknown schemes are ignored. */
unsigned auth_offered(const struct hdr_list *h);

/* The token that follows scheme s in h's Proxy-Authenticate fields: the
 * text after "NTLM " (it points into h), "" when s is offered without
 * one, NULL when s is not offered. */
const char *auth_challenge(const struct hdr_list *h, enum auth_scheme s);

/* Schemes these credentials can use on this build: AUTH_BIT()s. */
unsigned auth_usable(const struct auth_cred *c);

/* The scheme to answer a 407 with: the configured one when offered and
 * usable; for auto, the strongest offered and usable (Negotiate, then
 * NTLM, then Basic), where Basic is chosen only when it is the only scheme
 * offered. AUTH_NONE when nothing fits. */
enum auth_scheme auth_choose(unsigned offered, enum auth_want want,
                             unsigned usable);

/* A handshake on one upstream connection. */
struct auth_sess;

/* Start a session of scheme s toward the parent host. NULL with err set. */
struct auth_sess *auth_sess_new(enum auth_scheme s, const struct auth_cred *c,
                                const char *host, char *err, size_t errlen);
void auth_sess_free(struct auth_sess *a);

enum auth_scheme auth_sess_scheme(const struct auth_sess *a);

/* The next Proxy-Authorization value ("NTLM TlRMTVNTUAAB..."), malloc'ed
 * (the caller frees it with auth_value_free). challenge: the token from
 * the parent's last 407 for this scheme (auth_challenge), or NULL on the
 * first leg. Returns 0, or -1 with err set. */
int auth_sess_step(struct auth_sess *a, const char *challenge, char **value,
                   char *err, size_t errlen);

/* Has the session sent its final message? A 407 after that means the
 * parent refused the credentials. */
int auth_sess_sent_last(const struct auth_sess *a);

/* Wipe and free a value from auth_sess_step. */
void auth_value_free(char *v);

/* The Basic value for c ("Basic dXNlcjpwYXNz"), the same on every
 * request: the Basic mechanism's one leg. malloc'ed (free it with
 * auth_value_free); NULL with err set when c has no user or password or
 * out of memory. */
char *auth_basic_value(const struct auth_cred *c, char *err, size_t errlen);

#endif
