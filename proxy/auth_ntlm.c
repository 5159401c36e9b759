/*
 * auth_ntlm.c - the NTLM mechanism (NTLMv2, [MS-NLMP]) for auth.h: leg 1
 * sends the NEGOTIATE_MESSAGE, leg 2 answers the parent's CHALLENGE with
 * the AUTHENTICATE_MESSAGE and is the last. The messages are ntlm.c's;
 * this file adds the credentials, a client nonce from OpenSSL's RAND_bytes and
 * the wall clock from plat_clock_real.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth.h"
#include "ntlm.h"
#include "plat.h"
#include "strparse.h"

/* Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
#define NTLM_EPOCH_DIFF 11644473600ull

enum ntlm_leg {
    NTLM_LEG_NEGOTIATE = 0,
    NTLM_LEG_AUTHENTICATE,
    NTLM_LEG_DONE,
};

struct ntlm_state {
    enum ntlm_leg ns_leg;
    char *ns_user;
    char *ns_domain;
    uint8_t ns_hash[NTLM_HASH_LEN];     /* secret */
    uint8_t ns_neg[NTLM_NEGOTIATE_LEN]; /* what leg 1 sent, for the MIC */
};

static int
ntlm_usable(const struct auth_cred *c)
{
    return c->ac_user != NULL &&
           (c->ac_password != NULL || c->ac_nt_hash != NULL);
}

static void
ntlm_free(void *st)
{
    struct ntlm_state *s = st;

    if (s == NULL)
        return;
    free(s->ns_user);
    free(s->ns_domain);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

static void *
ntlm_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    struct ntlm_state *s;

    (void)host;
    if (!ntlm_usable(c)) {
        errfmt(err, errlen, "NTLM needs user and password or password_hash");
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    if (ntlm_split_user(c->ac_user, &s->ns_user, &s->ns_domain) == -1) {
        errfmt(err, errlen,
               "NTLM: user must be DOMAIN\\user, user@REALM "
               "or user");
        goto fail;
    }
    if (c->ac_nt_hash != NULL) {
        memcpy(s->ns_hash, c->ac_nt_hash, NTLM_HASH_LEN);
    } else if (ntlm_nt_hash(c->ac_password, s->ns_hash) == -1) {
        errfmt(err, errlen, "NTLM: the password is not valid UTF-8");
        goto fail;
    }
    return s;
fail:
    ntlm_free(s);
    return NULL;
}

/* Now as a FILETIME: 100 ns units since 1601-01-01 UTC. */
static uint64_t
ntlm_filetime_now(void)
{
    struct timespec ts;

    plat_clock_real(&ts);
    return ((uint64_t)ts.tv_sec + NTLM_EPOCH_DIFF) * 10000000u +
           (uint64_t)ts.tv_nsec / 100u;
}

static int
ntlm_step(void *st, const unsigned char *in, size_t inlen, unsigned char **out,
          size_t *outlen, int *last, char *err, size_t errlen)
{
    struct ntlm_state *s = st;
    struct ntlm_auth_in ai;
    int rc;

    *out = NULL;
    *outlen = 0;
    *last = 0;
    switch (s->ns_leg) {
    case NTLM_LEG_NEGOTIATE:
        if (inlen != 0) {
            errfmt(err, errlen,
                   "NTLM: a challenge before our negotiate "
                   "message");
            return -1;
        }
        if ((*out = malloc(NTLM_NEGOTIATE_LEN)) == NULL) {
            errfmt(err, errlen, "out of memory");
            return -1;
        }
        ntlm_negotiate(s->ns_neg);
        memcpy(*out, s->ns_neg, NTLM_NEGOTIATE_LEN);
        *outlen = NTLM_NEGOTIATE_LEN;
        s->ns_leg = NTLM_LEG_AUTHENTICATE;
        return 0;
    case NTLM_LEG_AUTHENTICATE:
        memset(&ai, 0, sizeof(ai));
        ai.ai_user = s->ns_user;
        ai.ai_domain = s->ns_domain;
        ai.ai_nt_hash = s->ns_hash;
        ai.ai_negotiate = s->ns_neg;
        ai.ai_negotiate_len = NTLM_NEGOTIATE_LEN;
        ai.ai_challenge = in;
        ai.ai_challenge_len = inlen;
        /* The client nonce must be unpredictable: OpenSSL's CSPRNG, and
         * no weak fallback. */
        if (RAND_bytes(ai.ai_nonce, (int)sizeof(ai.ai_nonce)) != 1) {
            errfmt(err, errlen, "NTLM: no random bytes for the nonce");
            return -1;
        }
        ai.ai_time = ntlm_filetime_now();
        rc = ntlm_authenticate(&ai, out, outlen, err, errlen);
        OPENSSL_cleanse(&ai, sizeof(ai));
        if (rc == -1)
            return -1;
        s->ns_leg = NTLM_LEG_DONE;
        *last = 1;
        return 0;
    case NTLM_LEG_DONE:
        break;
    }
    errfmt(err, errlen, "NTLM handshake already finished");
    return -1;
}

const struct auth_mech auth_mech_ntlm = {
    AUTH_NTLM, "NTLM", ntlm_usable, ntlm_new, ntlm_step, ntlm_free,
};
