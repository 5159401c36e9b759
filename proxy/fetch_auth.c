/*
 * fetch_auth.c - authentication to a parent, on the upstream connection
 * of a fetch (fetch.c carries the bytes): which scheme answers a 407,
 * each leg of its handshake, the body held back while NTLM negotiates,
 * refusals (a 502 naming the scheme and the account, logged once per
 * parent, no hold-down) and the fallback from Kerberos to NTLM.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "fetch_int.h"
#include "http_msg.h"
#include "log.h"
#include "server.h"
#include "upstream.h"

/* The Proxy-Authorization to send with the next request on this hop:
 * a handshake leg, the Basic value, or none. */
const char *
fetch_auth_header(const struct fetch *f)
{
    struct upstream_set *us = f->f_cfgr->cr_up;

    if (f->f_direct)
        return NULL;
    if (f->f_auth_value != NULL)
        return f->f_auth_value;
    if (upstream_auth_want(us) == AUTH_WANT_BASIC ||
        upstream_scheme(us, f->f_hop) == AUTH_BASIC)
        return upstream_auth(us);
    return NULL;
}

/* Does the next send carry an NTLM leg before the last one? Such a
 * request is always answered with a 407, so its body goes as
 * "Content-Length: 0" and the whole body only with the final leg, as
 * Windows clients and curl do: a parent may stall or close rather than
 * read a large body it is going to refuse anyway. */
int
fetch_auth_holds_body(const struct fetch *f)
{
    return f->f_auth != NULL && f->f_auth_value != NULL &&
           auth_sess_scheme(f->f_auth) == AUTH_NTLM &&
           !auth_sess_sent_last(f->f_auth);
}

/* Start a handshake of scheme s on the current connection and make its
 * first leg the next Proxy-Authorization. Returns 0 or -1 (f_err set). */
static int
fetch_auth_start(struct fetch *f, enum auth_scheme s)
{
    struct upstream_set *us = f->f_cfgr->cr_up;
    char err[200];

    auth_sess_free(f->f_auth);
    auth_value_free(f->f_auth_value);
    f->f_auth_value = NULL;
    f->f_auth = NULL;
    if (s == AUTH_BASIC)
        return 0; /* upstream_auth() goes with every request */
    f->f_auth =
        auth_sess_new(s, upstream_cred(us), f->f_host, err, sizeof(err));
    if (f->f_auth == NULL || auth_sess_step(f->f_auth, NULL, &f->f_auth_value,
                                            err, sizeof(err)) == -1) {
        snprintf(f->f_err, sizeof(f->f_err), "%s to %s: %s",
                 auth_scheme_name(s), fetch_upstream(f), err);
        auth_sess_free(f->f_auth);
        f->f_auth = NULL;
        return -1;
    }
    f->f_auth_legs++;
    return 0;
}

/* A new connection to a parent that asked for a connection-oriented
 * scheme before, or is configured for one: its first request carries the
 * handshake's first leg. A failure here is not fatal: the request goes
 * without, and the 407 decides. */
void
fetch_auth_preempt(struct fetch *f)
{
    struct upstream_set *us = f->f_cfgr->cr_up;
    enum auth_scheme s = upstream_scheme(us, f->f_hop);

    switch (upstream_auth_want(us)) {
    case AUTH_WANT_NTLM:
        s = AUTH_NTLM;
        break;
    case AUTH_WANT_NEGOTIATE:
        s = AUTH_NEGOTIATE;
        break;
    case AUTH_WANT_NONE:
        return;
    default:
        break;
    }
    if (s != AUTH_NTLM && s != AUTH_NEGOTIATE)
        return;
    if ((f->f_auth_failed & AUTH_BIT(s)) ||
        !(auth_usable(upstream_cred(us)) & AUTH_BIT(s)))
        return;
    if (fetch_auth_start(f, s) == -1) {
        log_warnx("req %s: %s", f->f_req.fr_reqid, f->f_err);
        f->f_auth_failed |= AUTH_BIT(s);
    }
}

/* The parent refused our credentials for scheme s. */
static enum fetch_auth_rc
fetch_auth_refused(struct fetch *f, enum auth_scheme s)
{
    struct upstream_set *us = f->f_cfgr->cr_up;
    const struct auth_cred *cr = upstream_cred(us);
    const char *user = cr->ac_user != NULL        ? cr->ac_user
                       : cr->ac_principal != NULL ? cr->ac_principal
                                                  : NULL;

    snprintf(f->f_err, sizeof(f->f_err),
             "the upstream proxy %s refused the %s credentials of %s",
             fetch_upstream(f), auth_scheme_name(s),
             user != NULL ? user
                          : "this process's own logon (ticket cache or "
                            "service account)");
    if (upstream_auth_refused(us, f->f_hop))
        log_warnx("req %s: %s", f->f_req.fr_reqid, f->f_err);
    return FAUTH_REFUSED;
}

/* A final answer (not a 407): a handshake on this connection is done, and
 * NTLM or Negotiate leave the connection authenticated. */
void
fetch_auth_done(struct fetch *f)
{
    struct upstream_set *us = f->f_cfgr->cr_up;

    if (f->f_auth != NULL) {
        auth_sess_free(f->f_auth);
        f->f_auth = NULL;
        upstream_auth_accepted(us, f->f_hop);
    } else if (f->f_sent_auth) {
        upstream_auth_accepted(us, f->f_hop);
    }
}

/* Choose a scheme from what the 407 offers and start it; a mechanism that
 * fails locally (no Kerberos ticket, say) gives way to the next one the
 * parent offers, with the reason logged. */
static enum fetch_auth_rc
fetch_auth_choose(struct fetch *f, unsigned offered)
{
    struct upstream_set *us = f->f_cfgr->cr_up;
    unsigned usable = auth_usable(upstream_cred(us));
    enum auth_want want = upstream_auth_want(us);

    /* Kerberos that failed falls back to NTLM, as Windows clients do. */
    if (want == AUTH_WANT_NEGOTIATE &&
        (f->f_auth_failed & AUTH_BIT(AUTH_NEGOTIATE)))
        want = AUTH_WANT_NTLM;
    for (int tries = 0; tries < AUTH_NSCHEMES; tries++) {
        enum auth_scheme s =
            auth_choose(offered & ~f->f_auth_failed, want, usable);
        if (s == AUTH_NONE)
            break;
        upstream_set_scheme(us, f->f_hop, s);
        if (s == AUTH_BASIC) {
            if (upstream_auth(us) == NULL)
                break;
            f->f_auth_legs++;
            return FAUTH_RESEND;
        }
        if (fetch_auth_start(f, s) == 0)
            return FAUTH_RESEND;
        log_warnx("req %s: %s", f->f_req.fr_reqid, f->f_err);
        f->f_auth_failed |= AUTH_BIT(s);
    }
    if (f->f_auth_failed != 0)
        return FAUTH_ERROR; /* f_err says why the last one failed */
    if (usable == 0 && want == AUTH_WANT_AUTO)
        return FAUTH_PASS; /* no credentials of ours: the client's turn */
    snprintf(f->f_err, sizeof(f->f_err),
             "the upstream proxy %s asks for%s%s%s, which the configured "
             "credentials cannot answer",
             fetch_upstream(f),
             offered & AUTH_BIT(AUTH_NEGOTIATE) ? " Negotiate" : "",
             offered & AUTH_BIT(AUTH_NTLM) ? " NTLM" : "",
             offered & AUTH_BIT(AUTH_BASIC) ? " Basic"
             : offered == 0                 ? " an unknown scheme"
                                            : "");
    return FAUTH_ERROR;
}

/* What to do with a 407 from a parent. */
enum fetch_auth_rc
fetch_auth_on_407(struct fetch *f, const struct http_msg *m)
{
    struct upstream_set *us = f->f_cfgr->cr_up;

    if (upstream_auth_want(us) == AUTH_WANT_NONE ||
        f->f_cfg->sc_pass_client_auth)
        return FAUTH_PASS;
    if (f->f_auth_legs >= FETCH_AUTH_MAX_LEGS) {
        snprintf(f->f_err, sizeof(f->f_err),
                 "authentication with the upstream proxy %s did not "
                 "complete in %d steps",
                 fetch_upstream(f), FETCH_AUTH_MAX_LEGS);
        return FAUTH_ERROR;
    }
    if (f->f_auth != NULL) {
        enum auth_scheme s = auth_sess_scheme(f->f_auth);
        const char *ch = auth_challenge(&m->hm_hdrs, s);
        char err[200];
        if (auth_sess_sent_last(f->f_auth) || ch == NULL || *ch == '\0') {
            /* A bare challenge after our token: refused. A refused
             * Kerberos ticket gives way to NTLM when the parent offers it
             * and the credentials allow it. */
            unsigned rest =
                auth_offered(&m->hm_hdrs) & ~AUTH_BIT(s) & ~f->f_auth_failed;
            if (s != AUTH_NEGOTIATE ||
                !(rest & AUTH_BIT(AUTH_NTLM) & auth_usable(upstream_cred(us))))
                return fetch_auth_refused(f, s);
            log_warnx("req %s: %s refused the Negotiate (Kerberos) token; "
                      "falling back to NTLM",
                      f->f_req.fr_reqid, fetch_upstream(f));
            f->f_auth_failed |= AUTH_BIT(s);
            auth_sess_free(f->f_auth);
            f->f_auth = NULL;
            return fetch_auth_choose(f, rest);
        }
        if (auth_sess_step(f->f_auth, ch, &f->f_auth_value, err, sizeof(err)) ==
            0) {
            f->f_auth_legs++;
            return FAUTH_RESEND;
        }
        snprintf(f->f_err, sizeof(f->f_err), "%s to %s: %s",
                 auth_scheme_name(s), fetch_upstream(f), err);
        log_warnx("req %s: %s", f->f_req.fr_reqid, f->f_err);
        f->f_auth_failed |= AUTH_BIT(s);
        auth_sess_free(f->f_auth);
        f->f_auth = NULL;
    } else if (f->f_sent_auth) {
        return fetch_auth_refused(f, AUTH_BASIC);
    }
    /* No handshake under way: the first 407 of this request, or one on a
     * connection authenticated before (the parent wants it again). */
    return fetch_auth_choose(f, auth_offered(&m->hm_hdrs));
}
