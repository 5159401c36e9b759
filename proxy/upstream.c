/*
 * upstream.c - parent proxy selection with failover and hold-down.
 *
 * Parents are tried in the configured order. A parent that refused, timed
 * out or died before answering is held down for hold_down ms; while held
 * down it is skipped, so one dead proxy costs one connect timeout per
 * hold-down period rather than one per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth_conf.h"
#include "normalize.h"
#include "upstream.h"

struct parent {
    char *p_host;
    uint16_t p_port;
    char p_label[300];
    uint64_t p_down_until; /* monotonic ms; 0 = healthy */
    uint64_t p_failed_at;
    enum auth_scheme p_scheme; /* learnt from its last 407 */
    int p_minor;               /* HTTP minor version it answered; -1 */
    int p_keep;                /* kept connections open: 1, 0; -1 */
    uint64_t p_failures;       /* failures, failovers included */
    char p_why[160];           /* the last one's reason */
    int p_refused;             /* refused our credentials; logged once */
};

struct upstream_set {
    struct parent *us_v;
    size_t us_n;
    uint32_t us_hold_ms;
    struct pattern_list us_no_hosts; /* borrowed from the config */
    struct cidr_list us_no_nets;     /* borrowed from the config */
    char *us_auth;                   /* "Basic ..." or NULL */
    struct auth_cred us_cred;        /* strings borrowed from the config */
    uint8_t us_nt_hash[16];
    enum auth_want us_want;
};

struct upstream_set *
upstream_set_new(const struct shim_config *cfg)
{
    struct upstream_set *us = calloc(1, sizeof(*us));

    if (us == NULL)
        return NULL;
    us->us_hold_ms = cfg->sc_hold_down_ms;
    us->us_no_hosts = cfg->sc_no_proxy_hosts;
    us->us_no_nets = cfg->sc_no_proxy_nets;
    if (cfg->sc_nproxies > 0) {
        us->us_v = calloc(cfg->sc_nproxies, sizeof(*us->us_v));
        if (us->us_v == NULL)
            goto fail;
    }
    for (size_t i = 0; i < cfg->sc_nproxies; i++) {
        struct parent *p = &us->us_v[i];
        const struct upstream_addr *a = &cfg->sc_proxies[i];
        p->p_host = strdup(a->ua_host);
        if (p->p_host == NULL)
            goto fail;
        p->p_minor = p->p_keep = -1;
        p->p_port = a->ua_port;
        if (strchr(a->ua_host, ':') != NULL)
            snprintf(p->p_label, sizeof(p->p_label), "[%s]:%u", a->ua_host,
                     (unsigned)a->ua_port);
        else
            snprintf(p->p_label, sizeof(p->p_label), "%s:%u", a->ua_host,
                     (unsigned)a->ua_port);
        us->us_n++;
    }
    us->us_want = (enum auth_want)cfg->sc_up_auth;
    if (auth_cred_from_config(cfg, &us->us_cred, us->us_nt_hash) == -1)
        goto fail;
    if (cfg->sc_up_user != NULL && cfg->sc_up_password != NULL &&
        cfg->sc_nproxies > 0) {
        char err[128];
        us->us_auth = auth_basic_value(&us->us_cred, err, sizeof(err));
        if (us->us_auth == NULL)
            goto fail;
    }
    return us;
fail:
    upstream_set_free(us);
    return NULL;
}

void
upstream_set_free(struct upstream_set *us)
{
    if (us == NULL)
        return;
    for (size_t i = 0; i < us->us_n; i++)
        free(us->us_v[i].p_host);
    free(us->us_v);
    if (us->us_auth != NULL) {
        /* Credentials never outlive their use. */
        memset(us->us_auth, 0, strlen(us->us_auth));
        free(us->us_auth);
    }
    OPENSSL_cleanse(us->us_nt_hash, sizeof(us->us_nt_hash));
    free(us);
}

int
upstream_is_direct(const struct upstream_set *us, const char *host)
{
    if (us->us_n == 0)
        return 1;
    if (pattern_list_match(&us->us_no_hosts, host))
        return 1;
    if (ip_literal_family(host) != 0 &&
        cidr_list_match_str(&us->us_no_nets, host))
        return 1;
    return 0;
}

int
upstream_next(const struct upstream_set *us, int after, uint64_t now_ms)
{
    int fallback = -1;

    for (size_t i = after < 0 ? 0 : (size_t)after + 1; i < us->us_n; i++) {
        const struct parent *p = &us->us_v[i];
        if (p->p_down_until <= now_ms)
            return (int)i;
        if (fallback == -1 || p->p_failed_at < us->us_v[fallback].p_failed_at)
            fallback = (int)i;
    }
    /* Every remaining parent is held down. Only fall back when this is
     * the first choice of the request: a request that already failed over
     * does not retry held-down parents. */
    return after == -1 ? fallback : -1;
}

void
upstream_hop_parent(const struct upstream_set *us, int i,
                    struct upstream_hop *hop)
{
    hop->uh_index = i;
    hop->uh_host = us->us_v[i].p_host;
    hop->uh_port = us->us_v[i].p_port;
}

void
upstream_failed(struct upstream_set *us, int i, uint64_t now_ms,
                const char *why)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return;
    us->us_v[i].p_failures++;
    snprintf(us->us_v[i].p_why, sizeof(us->us_v[i].p_why), "%s",
             why != NULL ? why : "failed");
    us->us_v[i].p_down_until = now_ms + us->us_hold_ms;
    us->us_v[i].p_failed_at = now_ms;
}

void
upstream_succeeded(struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return;
    us->us_v[i].p_down_until = 0;
}

const char *
upstream_label(const struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return "direct";
    return us->us_v[i].p_label;
}

size_t
upstream_count(const struct upstream_set *us)
{
    return us->us_n;
}

const char *
upstream_auth(const struct upstream_set *us)
{
    return us->us_auth;
}

const struct auth_cred *
upstream_cred(const struct upstream_set *us)
{
    return &us->us_cred;
}

enum auth_want
upstream_auth_want(const struct upstream_set *us)
{
    return us->us_want;
}

enum auth_scheme
upstream_scheme(const struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return AUTH_NONE;
    return us->us_v[i].p_scheme;
}

void
upstream_set_scheme(struct upstream_set *us, int i, enum auth_scheme s)
{
    if (i >= 0 && (size_t)i < us->us_n)
        us->us_v[i].p_scheme = s;
}

int
upstream_auth_refused(struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n || us->us_v[i].p_refused)
        return 0;
    us->us_v[i].p_refused = 1;
    return 1;
}

void
upstream_auth_accepted(struct upstream_set *us, int i)
{
    if (i >= 0 && (size_t)i < us->us_n)
        us->us_v[i].p_refused = 0;
}

uint64_t
upstream_down_until(const struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return 0;
    return us->us_v[i].p_down_until;
}

const char *
upstream_host(const struct upstream_set *us, int i, uint16_t *port)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return NULL;
    *port = us->us_v[i].p_port;
    return us->us_v[i].p_host;
}

uint64_t
upstream_failed_at(const struct upstream_set *us, int i)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return 0;
    return us->us_v[i].p_failed_at;
}

void
upstream_learn(struct upstream_set *us, int i, int minor, int keep)
{
    if (i < 0 || (size_t)i >= us->us_n)
        return;
    us->us_v[i].p_minor = minor;
    us->us_v[i].p_keep = keep;
}

void
upstream_get_info(const struct upstream_set *us, int i,
                  struct upstream_info *out)
{
    memset(out, 0, sizeof(*out));
    out->ui_minor = out->ui_keep = -1;
    out->ui_why = "";
    if (i < 0 || (size_t)i >= us->us_n)
        return;
    out->ui_minor = us->us_v[i].p_minor;
    out->ui_keep = us->us_v[i].p_keep;
    out->ui_failures = us->us_v[i].p_failures;
    out->ui_why = us->us_v[i].p_why;
}
