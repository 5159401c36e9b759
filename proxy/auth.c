/*
 * auth.c - the scheme table, Proxy-Authenticate parsing, the choice of a
 * scheme, handshake sessions, and the Basic mechanism.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "base64.h"
#include "headers.h"
#include "strparse.h"
#include "strutil.h"

/* Indexed by enum auth_scheme. */
static const struct auth_mech *const auth_mechs[AUTH_NSCHEMES] = {
    NULL,
    &auth_mech_basic,
    &auth_mech_ntlm,
    &auth_mech_negotiate,
};

/* The mechanism that runs scheme s with credentials c: the table's, or
 * for NTLM with no user the platform's own logon where there is one. */
static const struct auth_mech *
mech_for(enum auth_scheme s, const struct auth_cred *c)
{
    if (s == AUTH_NTLM && c->ac_user == NULL && auth_mech_ntlm_logon != NULL)
        return auth_mech_ntlm_logon;
    return auth_mechs[s];
}

/* Largest token we decode from a challenge (an NTLM Type 2 is a few
 * hundred bytes; a Kerberos mutual-auth reply a few KiB). */
#define AUTH_MAX_TOKEN (64u * 1024)

struct auth_sess {
    const struct auth_mech *as_mech;
    void *as_state;
    int as_legs; /* values produced so far */
    int as_sent_last;
};

const char *
auth_scheme_name(enum auth_scheme s)
{
    if (s <= AUTH_NONE || s >= AUTH_NSCHEMES)
        return "none";
    return auth_mechs[s]->am_name;
}

/* If the challenge value v names scheme s, the start of its token (after
 * the name and spaces) or of "" ; else NULL. */
static const char *
challenge_token(const char *v, enum auth_scheme s)
{
    const char *name = auth_mechs[s]->am_name;
    size_t n = strlen(name);

    if (!str_iprefix(v, name) || (v[n] != '\0' && v[n] != ' ' && v[n] != '\t'))
        return NULL;
    v += n;
    while (*v == ' ' || *v == '\t')
        v++;
    return v;
}

/* Is the list element e[0..n) an auth-param (token BWS "=" ...)? */
static int
is_auth_param(const char *e, size_t n)
{
    size_t i = 0;

    while (i < n && e[i] != ' ' && e[i] != '\t' && e[i] != '=')
        i++;
    if (i == 0)
        return 0;
    while (i < n && (e[i] == ' ' || e[i] == '\t'))
        i++;
    return i < n && e[i] == '=';
}

/* Append the challenges of one field value to out. */
static int
split_field(const char *v, struct hdr_list *out)
{
    const char *cur = v, *e;
    size_t n, have = 0;
    char *buf = NULL;
    int rc = -1;

    /* Elements joined by ", " never exceed twice the value. */
    if ((buf = malloc(2 * strlen(v) + 1)) == NULL)
        return -1;
    while (hdr_list_next(&cur, &e, &n)) {
        if (have > 0 && !is_auth_param(e, n)) {
            if (hdr_addn(out, "Proxy-Authenticate", 18, buf, have) == -1)
                goto done;
            have = 0;
        }
        /* buf is counted (have), never a C string: no NUL wanted */
        if (have > 0) {
            // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
            memcpy(buf + have, ", ", 2);
            have += 2;
        }
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
        memcpy(buf + have, e, n);
        have += n;
    }
    if (have > 0 && hdr_addn(out, "Proxy-Authenticate", 18, buf, have) == -1)
        goto done;
    rc = 0;
done:
    free(buf);
    return rc;
}

int
auth_challenges_split(struct hdr_list *h)
{
    struct hdr_list out;

    hdr_init(&out);
    for (size_t i = 0; i < h->hl_n; i++) {
        const struct hdr *f = &h->hl_v[i];
        int r = str_ieq(f->h_name, "Proxy-Authenticate")
                    ? split_field(f->h_value, &out)
                    : hdr_add(&out, f->h_name, f->h_value);
        if (r == -1) {
            hdr_free(&out);
            return -1;
        }
    }
    hdr_free(h);
    *h = out;
    return 0;
}

unsigned
auth_offered(const struct hdr_list *h)
{
    unsigned mask = 0;

    for (size_t i = 0; i < h->hl_n; i++) {
        if (!str_ieq(h->hl_v[i].h_name, "Proxy-Authenticate"))
            continue;
        for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++)
            if (challenge_token(h->hl_v[i].h_value, (enum auth_scheme)s))
                mask |= AUTH_BIT(s);
    }
    return mask;
}

const char *
auth_challenge(const struct hdr_list *h, enum auth_scheme s)
{
    if (s <= AUTH_NONE || s >= AUTH_NSCHEMES)
        return NULL;
    for (size_t i = 0; i < h->hl_n; i++) {
        const char *t;
        if (str_ieq(h->hl_v[i].h_name, "Proxy-Authenticate") &&
            (t = challenge_token(h->hl_v[i].h_value, s)) != NULL)
            return t;
    }
    return NULL;
}

unsigned
auth_usable(const struct auth_cred *c)
{
    unsigned mask = 0;

    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++)
        if (mech_for((enum auth_scheme)s, c)->am_usable(c))
            mask |= AUTH_BIT(s);
    return mask;
}

enum auth_scheme
auth_choose(unsigned offered, enum auth_want want, unsigned usable)
{
    static const enum auth_scheme strongest[] = {AUTH_NEGOTIATE, AUTH_NTLM};
    unsigned ok = offered & usable;

    switch (want) {
    case AUTH_WANT_NONE:
        return AUTH_NONE;
    case AUTH_WANT_BASIC:
        return (ok & AUTH_BIT(AUTH_BASIC)) ? AUTH_BASIC : AUTH_NONE;
    case AUTH_WANT_NTLM:
        return (ok & AUTH_BIT(AUTH_NTLM)) ? AUTH_NTLM : AUTH_NONE;
    case AUTH_WANT_NEGOTIATE:
        return (ok & AUTH_BIT(AUTH_NEGOTIATE)) ? AUTH_NEGOTIATE : AUTH_NONE;
    case AUTH_WANT_AUTO:
        break;
    }
    for (size_t i = 0; i < sizeof(strongest) / sizeof(strongest[0]); i++)
        if (ok & AUTH_BIT(strongest[i]))
            return strongest[i];
    /* Basic sends the password in clear text: only when it is all the
     * parent takes. */
    if (offered == AUTH_BIT(AUTH_BASIC) && (usable & AUTH_BIT(AUTH_BASIC)))
        return AUTH_BASIC;
    return AUTH_NONE;
}

struct auth_sess *
auth_sess_new(enum auth_scheme s, const struct auth_cred *c, const char *host,
              char *err, size_t errlen)
{
    struct auth_sess *a;

    if (s <= AUTH_NONE || s >= AUTH_NSCHEMES) {
        errfmt(err, errlen, "no authentication scheme");
        return NULL;
    }
    if ((a = calloc(1, sizeof(*a))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    a->as_mech = mech_for(s, c);
    a->as_state = a->as_mech->am_new(c, host, err, errlen);
    if (a->as_state == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void
auth_sess_free(struct auth_sess *a)
{
    if (a == NULL)
        return;
    a->as_mech->am_free(a->as_state);
    free(a);
}

enum auth_scheme
auth_sess_scheme(const struct auth_sess *a)
{
    return a->as_mech->am_scheme;
}

int
auth_sess_sent_last(const struct auth_sess *a)
{
    return a->as_sent_last;
}

int
auth_sess_step(struct auth_sess *a, const char *challenge, char **value,
               char *err, size_t errlen)
{
    unsigned char *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0, nlen;
    int last = 0, rc = -1;

    *value = NULL;
    if (a->as_sent_last) {
        errfmt(err, errlen, "%s handshake already finished",
               a->as_mech->am_name);
        return -1;
    }
    if (a->as_legs > 0) {
        size_t clen = challenge != NULL ? strlen(challenge) : 0;
        if (clen == 0 || clen > BASE64_LEN(AUTH_MAX_TOKEN)) {
            errfmt(err, errlen, "%s challenge missing or too long",
                   a->as_mech->am_name);
            return -1;
        }
        if ((in = malloc(clen)) == NULL ||
            base64_decode(challenge, in, clen, &inlen) == -1) {
            errfmt(err, errlen, "%s challenge is not valid base64",
                   a->as_mech->am_name);
            goto done;
        }
    }
    if (a->as_mech->am_step(a->as_state, in, inlen, &out, &outlen, &last, err,
                            errlen) == -1)
        goto done;
    nlen = strlen(a->as_mech->am_name);
    if ((*value = malloc(nlen + 1 + BASE64_LEN(outlen) + 1)) == NULL) {
        errfmt(err, errlen, "out of memory");
        goto done;
    }
    memcpy(*value, a->as_mech->am_name, nlen);
    (*value)[nlen] = ' ';
    base64_encode(out, outlen, *value + nlen + 1);
    a->as_legs++;
    a->as_sent_last = last;
    rc = 0;
done:
    if (in != NULL) {
        OPENSSL_cleanse(in, inlen);
        free(in);
    }
    if (out != NULL) {
        OPENSSL_cleanse(out, outlen);
        free(out);
    }
    return rc;
}

void
auth_value_free(char *v)
{
    if (v == NULL)
        return;
    OPENSSL_cleanse(v, strlen(v));
    free(v);
}

/* ---- Basic (RFC 7617): "user:password", one leg ---- */

struct basic_state {
    const struct auth_cred *bs_cred;
};

static int
basic_usable(const struct auth_cred *c)
{
    return c->ac_user != NULL && c->ac_password != NULL;
}

static void *
basic_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    struct basic_state *b;

    (void)host;
    if (!basic_usable(c)) {
        errfmt(err, errlen, "Basic needs user and password");
        return NULL;
    }
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    b->bs_cred = c;
    return b;
}

static int
basic_step(void *st, const unsigned char *in, size_t inlen, unsigned char **out,
           size_t *outlen, int *last, char *err, size_t errlen)
{
    const struct basic_state *b = st;
    size_t nu = strlen(b->bs_cred->ac_user);
    size_t np = strlen(b->bs_cred->ac_password);

    (void)in;
    (void)inlen;
    if ((*out = malloc(nu + 1 + np)) == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    memcpy(*out, b->bs_cred->ac_user, nu);
    (*out)[nu] = ':';
    memcpy(*out + nu + 1, b->bs_cred->ac_password, np);
    *outlen = nu + 1 + np;
    *last = 1;
    return 0;
}

static void
basic_free(void *st)
{
    free(st);
}

const struct auth_mech auth_mech_basic = {
    AUTH_BASIC, "Basic", basic_usable, basic_new, basic_step, basic_free,
};

char *
auth_basic_value(const struct auth_cred *c, char *err, size_t errlen)
{
    struct auth_sess *a = auth_sess_new(AUTH_BASIC, c, NULL, err, errlen);
    char *v = NULL;

    if (a != NULL && auth_sess_step(a, NULL, &v, err, errlen) == -1)
        v = NULL;
    auth_sess_free(a);
    return v;
}
