/*
 * probe_eval.c - findings, BITS errors, repairs and verdicts of `wsus-shim
 * probe`. Every rule that maps a parent's behaviour to a BITS error and a
 * conf line lives here, so that the table test covers all of them.
 *
 * BITS error codes (bitsmsg.h): BG_E_MISSING_FILE_SIZE 0x80200011,
 * BG_E_INSUFFICIENT_HTTP_SUPPORT 0x80200012,
 * BG_E_INSUFFICIENT_RANGE_SUPPORT 0x80200013, and BG_E_HTTP_ERROR_<s>
 * = 0x80190000 + s for an HTTP status s >= 400 (0x80190193 for 403,
 * 0x80190197 for 407). A parent that cannot be reached shows up as the
 * WinHTTP errors 0x80072EE7 (name not resolved) and 0x80072EFD (cannot
 * connect).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "probe_eval.h"
#include "strparse.h"

#define BITS_NO_SIZE "0x80200011 BG_E_MISSING_FILE_SIZE"
#define BITS_NO_HTTP11 "0x80200012 BG_E_INSUFFICIENT_HTTP_SUPPORT"
#define BITS_NO_RANGE "0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT"
#define BITS_BAD_206 "0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT or 0x801900C8"
#define BITS_NO_NAME "0x80072EE7 (WinHTTP: name not resolved)"
#define BITS_NO_CONN "0x80072EFD (WinHTTP: cannot connect)"

#define CONF_CACHE "[range] mode = cache"

static const char *const check_names[PC_NCHECKS] = {
    "connect", "http_version", "keep_alive",   "auth",        "head",
    "range",   "framing",      "chunked_body", "connect_443",
};

const char *
probe_check_name(enum probe_check c)
{
    return c < PC_NCHECKS ? check_names[c] : "?";
}

const char *
probe_level_name(enum probe_level l)
{
    static const char *const n[] = {"ok", "info", "repaired", "fail",
                                    "skipped"};
    return l <= PL_SKIPPED ? n[l] : "?";
}

const char *
probe_verdict_name(enum probe_verdict v)
{
    static const char *const n[] = {"works", "needs_conf", "fails"};
    return v <= PV_FAILS ? n[v] : "?";
}

static void
set(struct probe_finding *f, enum probe_level l, const char *bits,
    const char *conf, int conf_set)
{
    f->pf_level = l;
    snprintf(f->pf_bits, sizeof(f->pf_bits), "%s", bits ? bits : "");
    snprintf(f->pf_conf, sizeof(f->pf_conf), "%s", conf ? conf : "");
    f->pf_conf_set = conf_set;
}

/* The BITS error of an HTTP error status, or "" below 400. */
static void
http_bits(int status, char *buf, size_t len)
{
    if (status >= 400 && status <= 599)
        snprintf(buf, len, "0x%08X BG_E_HTTP_ERROR_%d",
                 0x80190000u + (unsigned)status, status);
    else
        buf[0] = '\0';
}

/* A request that got no usable answer: fail with what was seen. */
static void
no_answer(struct probe_finding *f, const char *what,
          const struct probe_answer *a)
{
    char bits[64];

    if (a->pa_status == 0) {
        errfmt(f->pf_text, sizeof(f->pf_text), "%s: no answer (%s)", what,
               a->pa_err[0] ? a->pa_err : "closed");
        set(f, PL_FAIL, NULL, NULL, 1);
        return;
    }
    http_bits(a->pa_status, bits, sizeof(bits));
    errfmt(f->pf_text, sizeof(f->pf_text), "%s answered %d", what,
           a->pa_status);
    set(f, PL_FAIL, bits, NULL, 1);
}

static void
schemes_text(unsigned mask, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (!(mask & AUTH_BIT(s)) || off >= len)
            continue;
        off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
                                auth_scheme_name((enum auth_scheme)s));
    }
    if (off == 0)
        snprintf(buf, len, "none");
}

enum auth_scheme
probe_auth_pick(const struct probe_obs *o, const struct probe_conf *c)
{
    static const enum auth_scheme order[] = {AUTH_NEGOTIATE, AUTH_NTLM,
                                             AUTH_BASIC};
    enum auth_scheme s =
        auth_choose(o->po_offered, (enum auth_want)c->pc_want, o->po_usable);

    if (s != AUTH_NONE && o->po_auth[s] == PAR_PASSED)
        return s;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (o->po_auth[order[i]] == PAR_PASSED)
            return order[i];
    return AUTH_NONE;
}

/* The auth = line for a scheme. */
static const char *
auth_line(enum auth_scheme s)
{
    switch (s) {
    case AUTH_BASIC:
        return "[upstream] auth = basic";
    case AUTH_NTLM:
        return "[upstream] auth = ntlm";
    case AUTH_NEGOTIATE:
        return "[upstream] auth = negotiate";
    default:
        return "[upstream] auth = none";
    }
}

/* What credentials a scheme needs, for an offer nobody can take. */
static const char *
cred_line(unsigned offered)
{
    if (offered & AUTH_BIT(AUTH_NEGOTIATE))
        return "[upstream] keytab + principal (Negotiate), or user + "
               "password_hash (NTLM)";
    if (offered & AUTH_BIT(AUTH_NTLM))
        return "[upstream] user = DOMAIN\\name + password_hash";
    return "[upstream] user + password";
}

static void
eval_auth(const struct probe_obs *o, const struct probe_conf *c,
          struct probe_finding *f)
{
    char offered[64], why[160] = "";
    enum auth_scheme want, pick;

    if (o->po_first.pa_status != 407) {
        errfmt(f->pf_text, sizeof(f->pf_text), "no authentication asked");
        set(f, PL_OK, NULL, NULL, 1);
        return;
    }
    schemes_text(o->po_offered, offered, sizeof(offered));
    if (o->po_offered == 0) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "407 without a scheme the shim knows (Basic, NTLM, "
               "Negotiate)");
        set(f, PL_FAIL, "0x80190197 BG_E_HTTP_ERROR_407", NULL, 1);
        return;
    }
    want = auth_choose(o->po_offered, (enum auth_want)c->pc_want, o->po_usable);
    pick = probe_auth_pick(o, c);
    if (pick != AUTH_NONE) {
        int as_conf = pick == want;
        errfmt(f->pf_text, sizeof(f->pf_text),
               "407 offers %s; %s passed on one connection%s", offered,
               auth_scheme_name(pick),
               as_conf ? "" : ", but the conf would not choose it");
        if (as_conf)
            set(f, PL_OK, NULL,
                c->pc_want == AUTH_WANT_AUTO ? NULL : auth_line(pick), 1);
        else
            set(f, PL_REPAIRED, "0x80190197 BG_E_HTTP_ERROR_407",
                auth_line(pick), 0);
        return;
    }
    if ((o->po_offered & o->po_usable) == 0) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "407 offers %s; the configured credentials can use none "
               "of them",
               offered);
        set(f, PL_FAIL, "0x80190197 BG_E_HTTP_ERROR_407",
            cred_line(o->po_offered), 0);
        return;
    }
    for (int s = AUTH_BASIC; s < AUTH_NSCHEMES; s++) {
        if (o->po_auth[s] == PAR_REFUSED) {
            errfmt(why, sizeof(why), "%s: credentials refused",
                   auth_scheme_name((enum auth_scheme)s));
            break;
        }
        if (o->po_auth[s] == PAR_FAILED && why[0] == '\0')
            errfmt(why, sizeof(why), "%s: %s",
                   auth_scheme_name((enum auth_scheme)s), o->po_auth_err[s]);
    }
    errfmt(f->pf_text, sizeof(f->pf_text), "407 offers %s; %s", offered,
           why[0] ? why : "no scheme passed");
    set(f, PL_FAIL, "0x80190197 BG_E_HTTP_ERROR_407", NULL, 1);
}

static void
eval_head(const struct probe_answer *a, const struct probe_conf *c,
          struct probe_finding *f)
{
    if (a->pa_status != 200) {
        no_answer(f, "HEAD", a);
        return;
    }
    if (a->pa_has_length) {
        errfmt(f->pf_text, sizeof(f->pf_text), "200 with Content-Length %llu",
               (unsigned long long)a->pa_length);
        set(f, PL_OK, NULL, NULL, 1);
        return;
    }
    errfmt(f->pf_text, sizeof(f->pf_text),
           "200 without Content-Length; the shim learns the length with a "
           "cache fill");
    set(f, PL_REPAIRED, BITS_NO_SIZE, CONF_CACHE,
        c->pc_range_mode == RANGE_MODE_CACHE);
}

static void
eval_range(const struct probe_answer *a, const struct probe_conf *c,
           struct probe_finding *f)
{
    if (a->pa_status == 200) {
        if (a->pa_has_length)
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "Range dropped: 200 with the whole body (%llu bytes)",
                   (unsigned long long)a->pa_length);
        else
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "Range dropped: 200 with the whole body");
        set(f, PL_REPAIRED, BITS_NO_RANGE, CONF_CACHE,
            c->pc_range_mode == RANGE_MODE_CACHE ||
                c->pc_range_mode == RANGE_MODE_SLICE);
        return;
    }
    if (a->pa_status != 206) {
        no_answer(f, "GET with Range", a);
        return;
    }
    if (!a->pa_has_cr || !a->pa_cr_valid) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "206 with %s Content-Range; the shim answers 502 unless it "
               "fetches the whole file",
               a->pa_has_cr ? "an invalid" : "no");
        set(f, PL_REPAIRED, BITS_BAD_206, CONF_CACHE,
            c->pc_range_mode == RANGE_MODE_CACHE);
        return;
    }
    uint64_t want_last =
        a->pa_cr_total > 0 && a->pa_cr_total < 100 ? a->pa_cr_total - 1 : 99;
    uint64_t n = a->pa_cr_last - a->pa_cr_first + 1;
    if (a->pa_cr_first != 0 || a->pa_cr_last != want_last ||
        (a->pa_has_length && a->pa_length != n) ||
        (a->pa_body_complete && a->pa_body != n)) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "206 for bytes %llu-%llu/%llu with %llu body bytes where "
               "0-%llu was asked",
               (unsigned long long)a->pa_cr_first,
               (unsigned long long)a->pa_cr_last,
               (unsigned long long)a->pa_cr_total,
               (unsigned long long)a->pa_body, (unsigned long long)want_last);
        set(f, PL_REPAIRED, BITS_BAD_206, CONF_CACHE,
            c->pc_range_mode == RANGE_MODE_CACHE);
        return;
    }
    errfmt(f->pf_text, sizeof(f->pf_text),
           "206 with Content-Range bytes %llu-%llu/%llu and %llu bytes",
           (unsigned long long)a->pa_cr_first,
           (unsigned long long)a->pa_cr_last,
           (unsigned long long)a->pa_cr_total, (unsigned long long)n);
    set(f, PL_OK, NULL, NULL, 1);
}

static void
eval_framing(const struct probe_answer *a, struct probe_finding *f)
{
    if (a->pa_status < 200 || a->pa_status > 299) {
        no_answer(f, "GET", a);
        return;
    }
    if (a->pa_close_delimited) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "GET body is close-delimited (no Content-Length, not "
               "chunked); the shim re-frames it");
        set(f, PL_REPAIRED, BITS_NO_SIZE " (foreground jobs)", NULL, 1);
        return;
    }
    errfmt(f->pf_text, sizeof(f->pf_text), "GET body framed by %s",
           a->pa_chunked ? "chunked encoding" : "Content-Length");
    set(f, PL_OK, NULL, NULL, 1);
}

static void
eval_chunked(const struct probe_answer *a, struct probe_finding *f)
{
    int s = a->pa_status;

    if (s == 0 || s == 400 || s == 411 || s == 413 || s == 417 || s == 501) {
        if (s == 0)
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "chunked request body refused (%s); the shim always "
                   "de-chunks",
                   a->pa_err[0] ? a->pa_err : "no answer");
        else
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "chunked request body refused (%d); the shim always "
                   "de-chunks",
                   s);
        set(f, PL_INFO, NULL, NULL, 1);
        return;
    }
    errfmt(f->pf_text, sizeof(f->pf_text),
           "chunked request body accepted (answered %d)", s);
    set(f, PL_OK, NULL, NULL, 1);
}

static void
eval_tunnel(const struct probe_obs *o, struct probe_finding *f)
{
    const struct probe_answer *a = &o->po_tunnel;
    char bits[64];

    if (o->po_direct) {
        if (a->pa_status == 200) {
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "TCP connect to port 443 works");
            set(f, PL_OK, NULL, NULL, 1);
        } else {
            errfmt(f->pf_text, sizeof(f->pf_text),
                   "TCP connect to port 443 failed (%s); metadata "
                   "synchronization fails",
                   a->pa_err[0] ? a->pa_err : "no answer");
            set(f, PL_FAIL, BITS_NO_CONN, NULL, 1);
        }
        return;
    }
    if (a->pa_status == 200) {
        errfmt(f->pf_text, sizeof(f->pf_text), "CONNECT allowed (200)");
        set(f, PL_OK, NULL, NULL, 1);
        return;
    }
    if (a->pa_status == 0) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "CONNECT got no answer (%s); metadata synchronization fails",
               a->pa_err[0] ? a->pa_err : "closed");
        set(f, PL_FAIL, NULL, NULL, 1);
        return;
    }
    http_bits(a->pa_status, bits, sizeof(bits));
    errfmt(f->pf_text, sizeof(f->pf_text),
           "CONNECT refused (%d); metadata synchronization fails",
           a->pa_status);
    set(f, PL_FAIL, bits, NULL, 1);
}

/* Connect, and the first answer. Returns 1 when the parent answered. */
static int
eval_connect(const struct probe_obs *o, struct probe_finding *f)
{
    const struct probe_answer *first = &o->po_first;

    if (!o->po_resolved) {
        errfmt(f->pf_text, sizeof(f->pf_text), "name not resolved (%s)",
               o->po_connect_err);
        set(f, PL_FAIL, BITS_NO_NAME, NULL, 1);
    } else if (!o->po_connected) {
        errfmt(f->pf_text, sizeof(f->pf_text), "cannot connect (%s)",
               o->po_connect_err);
        set(f, PL_FAIL, BITS_NO_CONN, NULL, 1);
    } else if (first->pa_status == 0) {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "connected in %u ms, but no HTTP answer (%s)",
               (unsigned)o->po_connect_ms,
               first->pa_err[0] ? first->pa_err : "closed");
        set(f, PL_FAIL, NULL, NULL, 1);
    } else {
        errfmt(f->pf_text, sizeof(f->pf_text), "connected in %u ms",
               (unsigned)o->po_connect_ms);
        set(f, PL_OK, NULL, NULL, 1);
        return 1;
    }
    return 0;
}

static void
eval_http(const struct probe_answer *first, const struct probe_conf *c,
          struct probe_finding *f)
{
    if (first->pa_minor >= 1) {
        errfmt(f->pf_text, sizeof(f->pf_text), "answers HTTP/1.1%s",
               c->pc_minor == 0 ? " ([upstream] http_version = 1.1 "
                                  "may be used)"
                                : "");
        set(f, PL_OK, NULL,
            c->pc_minor == 1 ? "[upstream] http_version "
                               "= 1.1"
                             : NULL,
            1);
    } else {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "answers HTTP/1.0; the shim speaks HTTP/1.1 to BITS");
        set(f, PL_REPAIRED, BITS_NO_HTTP11, "[upstream] http_version = 1.0",
            c->pc_minor == 0);
    }
}

static void
eval_keepalive(const struct probe_obs *o, struct probe_finding *f)
{
    const struct probe_answer *first = &o->po_first;

    if (o->po_keep_tested && o->po_kept_alive) {
        errfmt(f->pf_text, sizeof(f->pf_text), "keeps connections open%s",
               first->pa_minor == 0
                   ? (first->pa_said_keep_alive ? " (says keep-alive)"
                                                : " (without saying "
                                                  "keep-alive)")
                   : "");
        set(f, PL_OK, NULL, NULL, 1);
    } else {
        errfmt(f->pf_text, sizeof(f->pf_text),
               "closes the connection after each response%s; the shim "
               "opens one per request",
               o->po_keep_tested ? " (it said keep-alive)" : "");
        set(f, PL_INFO, NULL, NULL, 1);
    }
}

enum probe_verdict
probe_eval(const struct probe_obs *o, const struct probe_conf *c,
           struct probe_finding out[PC_NCHECKS])
{
    enum probe_verdict v = PV_WORKS;
    int i, reached, authed = 0;

    memset(out, 0, sizeof(*out) * PC_NCHECKS);
    for (i = 0; i < PC_NCHECKS; i++) {
        out[i].pf_check = (enum probe_check)i;
        out[i].pf_level = PL_SKIPPED;
        out[i].pf_conf_set = 1;
    }
    reached = eval_connect(o, &out[PC_CONNECT]);
    if (reached) {
        eval_http(&o->po_first, c, &out[PC_HTTP]);
        eval_keepalive(o, &out[PC_KEEPALIVE]);
        eval_auth(o, c, &out[PC_AUTH]);
        authed = out[PC_AUTH].pf_level != PL_FAIL;
    }
    if (authed) {
        eval_head(&o->po_head, c, &out[PC_HEAD]);
        eval_range(&o->po_range, c, &out[PC_RANGE]);
        eval_framing(&o->po_get, &out[PC_FRAMING]);
        eval_chunked(&o->po_post, &out[PC_CHUNKED]);
        eval_tunnel(o, &out[PC_TUNNEL]);
    }

    for (i = 0; i < PC_NCHECKS; i++) {
        if (out[i].pf_level == PL_SKIPPED) {
            if (out[i].pf_text[0] == '\0')
                errfmt(out[i].pf_text, sizeof(out[i].pf_text), "not tested: %s",
                       reached ? "no working authentication"
                               : "the parent did not answer");
        } else if (out[i].pf_level == PL_FAIL) {
            v = PV_FAILS;
        } else if (out[i].pf_level == PL_REPAIRED && !out[i].pf_conf_set &&
                   v == PV_WORKS) {
            v = PV_NEEDS_CONF;
        }
    }
    return v;
}

int
probe_exit_code(const enum probe_verdict *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != PV_WORKS)
            return 1;
    return 0;
}
