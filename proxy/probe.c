/*
 * probe.c - `wsus-shim probe [-c FILE] [--json] [--connect HOST:PORT] [URL]`:
 * what each configured parent does with the requests BITS and WSUS make,
 * and what the shim does about it.
 *
 * For every parent in [upstream] proxy (or the origin, when there is
 * none) it resolves and connects, sends a HEAD of the URL without
 * credentials (HTTP version, keep-alive, a 407's schemes), tries every
 * offered scheme the credentials can use on a connection of its own, then
 * with the scheme the shim would use sends HEAD, GET with Range:
 * bytes=0-99, GET (head only), a POST with a chunked body and CONNECT
 * host:443. probe_eval.c turns what it saw into findings and a verdict;
 * this file only talks and prints.
 *
 * The network side is a small blocking client over a non-blocking socket:
 * every connect is bounded by [limits] connect_timeout and every wait for
 * bytes by [limits] first_byte_timeout (both capped at PROBE_STEP_MAX_MS),
 * and no body is read past PROBE_BODY_CAP, so a probe of N parents ends in
 * bounded time. Each request goes on a fresh connection (NTLM and
 * Negotiate run all their legs on that one connection).
 *
 * Output never holds a credential: the findings carry scheme names and
 * statuses, never header values, and the mechanisms' error texts hold no
 * secret (auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "auth_conf.h"
#include "config.h"
#include "headers.h"
#include "http_msg.h"
#include "normalize.h"
#include "plat.h"
#include "probe.h"
#include "probe_eval.h"
#include "probe_io.h"
#include "probe_print.h"
#include "range.h"
#include "relay.h"
#include "shim_limits.h"
#include "strparse.h"

/* A small real content file (a driver cab from the Microsoft Update
 * Catalog, 2017); Windows Update names content after its SHA-1. Tests
 * always give their own URL. */
#define PROBE_DEFAULT_URL                                                      \
    "http://download.windowsupdate.com/c/msdownload/update/driver/drvs/"       \
    "2017/11/netaapl_7503681835e08ce761c52858949731761e1fa5a1.cab"
#define PROBE_STEP_MAX_MS 10000u /* one connect, or one wait for bytes */
#define PROBE_MAX_LEGS 6         /* auth legs on one connection */
#define PROBE_UA "Microsoft BITS/7.8 (wsus-shim probe)"

struct probe {
    const struct shim_config *p_cfg;
    struct auth_cred p_cred;
    struct probe_conf p_pc;
    const char *p_url;
    struct req_target p_t;
    char p_host_hdr[300];  /* Host: of the URL */
    char p_abs[4096];      /* the URL as a proxy gets it */
    char p_tunnel[300];    /* CONNECT target */
    uint32_t p_cto, p_rto; /* connect, read timeouts (ms) */
    /* the peer under test */
    const char *p_peer_host; /* its name as configured (the SPN's host) */
    char p_label[300];
    int p_direct;
    struct sockaddr_storage p_sa;
    int p_salen;
};

enum preq_kind {
    PREQ_HEAD = 0,
    PREQ_RANGE,
    PREQ_GET,
    PREQ_POST,
    PREQ_CONNECT,
};

/* ---- one exchange ---------------------------------------------------- */

/* The request head for kind, with Proxy-Authorization auth (or none).
 * malloc'd (the caller wipes and frees it: it may hold a credential). */
static char *
preq_build(const struct probe *p, enum preq_kind kind, const char *auth,
           size_t *len)
{
    struct hdr_list h;
    char line[4300];
    const char *target = p->p_direct ? p->p_t.rt_path : p->p_abs;
    const char *method = kind == PREQ_HEAD   ? "HEAD"
                         : kind == PREQ_POST ? "POST"
                                             : "GET";
    char *out = NULL;
    int ok = 1;

    hdr_init(&h);
    if (kind == PREQ_CONNECT) {
        snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1", p->p_tunnel);
        ok = hdr_add(&h, "Host", p->p_tunnel) == 0;
    } else {
        snprintf(line, sizeof(line), "%s %s HTTP/1.1", method, target);
        ok = hdr_add(&h, "Host", p->p_host_hdr) == 0 &&
             hdr_add(&h, "Accept", "*/*") == 0 &&
             hdr_add(&h, "Accept-Encoding", "identity") == 0 &&
             hdr_add(&h, "User-Agent", PROBE_UA) == 0;
        if (ok && kind == PREQ_RANGE)
            ok = hdr_add(&h, "Range", "bytes=0-99") == 0;
        if (ok && kind == PREQ_POST)
            ok = hdr_add(&h, "Content-Type", "text/plain") == 0 &&
                 hdr_add(&h, "Transfer-Encoding", "chunked") == 0;
    }
    if (ok && !p->p_direct)
        ok = hdr_add(&h, "Proxy-Connection", "Keep-Alive") == 0;
    if (ok)
        ok = hdr_add(&h, "Connection", "Keep-Alive") == 0;
    if (ok && auth != NULL)
        ok = hdr_add(&h, "Proxy-Authorization", auth) == 0;
    if (ok)
        out = relay_request_serialize(line, &h, len);
    for (size_t i = 0; i < h.hl_n; i++)
        OPENSSL_cleanse(h.hl_v[i].h_value, strlen(h.hl_v[i].h_value));
    hdr_free(&h);
    return out;
}

/* The chunked body of the POST: two chunks and the last one. */
static const char probe_post_body[] = "5\r\nprobe\r\n"
                                      "7\r\n wsus-s\r\n"
                                      "3\r\nhim\r\n"
                                      "0\r\n\r\n";

/* Send the request of kind and read its answer on c (already connected),
 * authenticating with scheme s (AUTH_NONE: no credentials). *res gets the
 * handshake's result when s is set. Returns what pread_answer returns. */
/* Build the request of kind, with Proxy-Authorization value (or none),
 * and send it (and a POST's body) on c. 0, or -1 with a->pa_err set. */
static int
pexchange_send(const struct probe *p, struct pconn *c, enum preq_kind kind,
               const char *value, struct probe_answer *a)
{
    size_t hlen = 0;
    char *head = preq_build(p, kind, value, &hlen);
    int rc = 0;

    if (head == NULL) {
        errfmt(a->pa_err, sizeof(a->pa_err), "out of memory");
        return -1;
    }
    if (pconn_send(c, head, hlen, a->pa_err, sizeof(a->pa_err)) == -1 ||
        (kind == PREQ_POST &&
         pconn_send(c, probe_post_body, sizeof(probe_post_body) - 1, a->pa_err,
                    sizeof(a->pa_err)) == -1))
        rc = -1;
    OPENSSL_cleanse(head, hlen);
    free(head);
    return rc;
}

/* What a handshake came to, once the legs are over: rc is what the last
 * pread_answer() returned. A failure already set by a leg stays. */
static void
pexchange_result(int rc, const struct probe_answer *a, enum probe_auth_res *res,
                 char *autherr, size_t autherrlen)
{
    if (rc != -1 && a->pa_status != 407) {
        *res = PAR_PASSED;
    } else if (*res != PAR_UNTRIED) {
        return;
    } else if (rc != -1) {
        *res = PAR_FAILED;
        errfmt(autherr, autherrlen, "too many handshake legs");
    } else {
        *res = PAR_FAILED;
        errfmt(autherr, autherrlen, "%s", a->pa_err);
    }
}

static int
pexchange_on(const struct probe *p, struct pconn *c, enum preq_kind kind,
             enum auth_scheme s, struct probe_answer *a,
             enum probe_auth_res *res, char *autherr, size_t autherrlen)
{
    struct auth_sess *as = NULL;
    struct http_parser *hp = NULL;
    struct pread r;
    char *value = NULL, *challenge = NULL;
    int rc = -1;

    memset(a, 0, sizeof(*a));
    a->pa_tried = 1;
    memset(&r, 0, sizeof(r));
    r.pr_a = a;
    r.pr_scheme = s;
    r.pr_head_only = kind == PREQ_GET;
    if ((hp = http_parser_new(HTTP_KIND_RESPONSE, &probe_io_limits,
                              &probe_io_parser_cb, &r)) == NULL) {
        errfmt(a->pa_err, sizeof(a->pa_err), "out of memory");
        return -1;
    }
    if (s != AUTH_NONE) {
        /* The parent is who authenticates us: its name makes the SPN. */
        as = auth_sess_new(s, &p->p_cred, p->p_peer_host, autherr, autherrlen);
        if (as == NULL) {
            *res = PAR_FAILED;
            errfmt(a->pa_err, sizeof(a->pa_err), "%s", autherr);
            goto out;
        }
    }
    for (int leg = 0; leg < PROBE_MAX_LEGS; leg++) {
        if (as != NULL &&
            auth_sess_step(as, challenge, &value, autherr, autherrlen) == -1) {
            *res = PAR_FAILED;
            errfmt(a->pa_err, sizeof(a->pa_err), "%s", autherr);
            rc = -1;
            goto out;
        }
        if (kind == PREQ_HEAD)
            http_parser_set_no_body(hp);
        else if (kind == PREQ_CONNECT)
            http_parser_set_connect(hp);
        rc = pexchange_send(p, c, kind, value, a);
        auth_value_free(value);
        value = NULL;
        auth_value_free(challenge);
        challenge = NULL;
        if (rc == -1)
            goto out;
        rc = pread_answer(c, hp, &r);
        challenge = r.pr_challenge;
        r.pr_challenge = NULL;
        if (rc == -1 || as == NULL || a->pa_status != 407)
            break;
        if (auth_sess_sent_last(as)) {
            *res = PAR_REFUSED;
            goto out;
        }
        if (rc != 1 || challenge == NULL || challenge[0] == '\0') {
            *res = PAR_FAILED;
            errfmt(autherr, autherrlen, "%s",
                   rc != 1 ? "the parent closed the connection during the "
                             "handshake"
                           : "407 without a challenge during the handshake");
            goto out;
        }
        /* Another leg on the same connection. */
        http_parser_next(hp);
        memset(a, 0, sizeof(*a));
        a->pa_tried = 1;
        r.pr_done = 0;
    }
    if (as != NULL)
        pexchange_result(rc, a, res, autherr, autherrlen);
out:
    auth_value_free(challenge);
    auth_value_free(value);
    auth_sess_free(as);
    http_parser_free(hp);
    return rc;
}

/* One exchange on a fresh connection, closed afterwards. */
static int
pexchange(const struct probe *p, enum preq_kind kind, enum auth_scheme s,
          struct probe_answer *a, enum probe_auth_res *res, char *autherr,
          size_t autherrlen)
{
    struct pconn c;
    int rc;

    if (pconn_open(p->p_cto, p->p_rto, (const struct sockaddr *)&p->p_sa,
                   p->p_salen, &c, a->pa_err, sizeof(a->pa_err)) == -1) {
        char why[160];
        snprintf(why, sizeof(why), "%s", a->pa_err);
        memset(a, 0, sizeof(*a));
        a->pa_tried = 1;
        errfmt(a->pa_err, sizeof(a->pa_err), "connect: %s", why);
        return -1;
    }
    rc = pexchange_on(p, &c, kind, s, a, res, autherr, autherrlen);
    pconn_close(&c);
    return rc;
}

/* ---- one parent -------------------------------------------------------- */

/* Resolve host:port and connect once, timing it; the address that worked
 * is kept in p for every later request. */
static void
probe_reach(struct probe *p, const char *host, uint16_t port,
            struct probe_obs *o)
{
    struct evutil_addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    struct pconn c;
    int e;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    if ((e = evutil_getaddrinfo(host, portstr, &hints, &res)) != 0) {
        errfmt(o->po_connect_err, sizeof(o->po_connect_err), "%s: %s", host,
               evutil_gai_strerror(e));
        return;
    }
    o->po_resolved = 1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        uint64_t t0 = plat_monotonic_ms();
        if (ai->ai_addrlen > sizeof(p->p_sa))
            continue;
        if (pconn_open(p->p_cto, p->p_rto, ai->ai_addr, (int)ai->ai_addrlen, &c,
                       o->po_connect_err, sizeof(o->po_connect_err)) == -1)
            continue;
        pconn_close(&c);
        o->po_connected = 1;
        o->po_connect_ms = (uint32_t)(plat_monotonic_ms() - t0);
        o->po_connect_err[0] = '\0';
        memcpy(&p->p_sa, ai->ai_addr, ai->ai_addrlen);
        p->p_salen = (int)ai->ai_addrlen;
        break;
    }
    evutil_freeaddrinfo(res);
}

/* The first HEAD without credentials, then a second one on the same
 * connection when the answer allows it. */
static void
probe_first(struct probe *p, struct probe_obs *o)
{
    struct pconn c;
    struct probe_answer again;
    enum probe_auth_res unused = PAR_UNTRIED;
    char err[160];
    int rc;

    if (pconn_open(p->p_cto, p->p_rto, (const struct sockaddr *)&p->p_sa,
                   p->p_salen, &c, o->po_first.pa_err,
                   sizeof(o->po_first.pa_err)) == -1)
        return;
    rc = pexchange_on(p, &c, PREQ_HEAD, AUTH_NONE, &o->po_first, &unused, err,
                      sizeof(err));
    if (rc == 1) {
        o->po_keep_tested = 1;
        rc = pexchange_on(p, &c, PREQ_HEAD, AUTH_NONE, &again, &unused, err,
                          sizeof(err));
        o->po_kept_alive = rc != -1 && again.pa_status != 0;
    }
    pconn_close(&c);
    if (o->po_first.pa_status == 407)
        o->po_offered = o->po_first.pa_offered;
}

/* The CONNECT check when there is no parent: a TCP connect to host:443. */
static void
probe_tunnel_direct(struct probe *p, struct probe_answer *a)
{
    struct probe save = *p;
    struct probe_obs o;
    struct req_target t;
    const char *why;

    memset(a, 0, sizeof(*a));
    a->pa_tried = 1;
    if (req_target_parse(p->p_tunnel, 1, NULL, &t, &why) == -1) {
        errfmt(a->pa_err, sizeof(a->pa_err), "%s: %s", p->p_tunnel, why);
        return;
    }
    memset(&o, 0, sizeof(o));
    probe_reach(&save, t.rt_host, t.rt_port, &o);
    req_target_free(&t);
    if (o.po_connected)
        a->pa_status = 200;
    else
        errfmt(a->pa_err, sizeof(a->pa_err), "%s", o.po_connect_err);
}

/* Probe the parent idx (-1: direct) into *o and evaluate it. */
static enum probe_verdict
probe_parent(struct probe *p, int idx, struct probe_obs *o,
             struct probe_finding f[PC_NCHECKS])
{
    const char *host;
    uint16_t port;
    enum probe_auth_res unused = PAR_UNTRIED;
    enum auth_scheme s = AUTH_NONE;
    char err[160];

    memset(o, 0, sizeof(*o));
    p->p_direct = idx < 0;
    o->po_direct = p->p_direct;
    if (p->p_direct) {
        host = p->p_t.rt_host;
        port = p->p_t.rt_port;
    } else {
        host = p->p_cfg->sc_proxies[idx].ua_host;
        port = p->p_cfg->sc_proxies[idx].ua_port;
    }
    p->p_peer_host = host;
    if (strchr(host, ':') != NULL)
        snprintf(p->p_label, sizeof(p->p_label), "[%s]:%u", host,
                 (unsigned)port);
    else
        snprintf(p->p_label, sizeof(p->p_label), "%s:%u", host, (unsigned)port);
    probe_reach(p, host, port, o);
    if (!o->po_connected)
        goto eval;
    probe_first(p, o);
    if (o->po_first.pa_status == 0)
        goto eval;
    o->po_usable = auth_usable(&p->p_cred);
    if (o->po_first.pa_status == 407 && !p->p_direct) {
        for (int i = AUTH_BASIC; i < AUTH_NSCHEMES; i++) {
            struct probe_answer a;
            if (!(o->po_offered & AUTH_BIT(i)))
                continue;
            if (!(o->po_usable & AUTH_BIT(i))) {
                o->po_auth[i] = PAR_UNUSABLE;
                continue;
            }
            pexchange(p, PREQ_HEAD, (enum auth_scheme)i, &a, &o->po_auth[i],
                      o->po_auth_err[i], sizeof(o->po_auth_err[i]));
        }
        s = probe_auth_pick(o, &p->p_pc);
        if (s == AUTH_NONE)
            goto eval;
    }
    pexchange(p, PREQ_HEAD, s, &o->po_head, &unused, err, sizeof(err));
    pexchange(p, PREQ_RANGE, s, &o->po_range, &unused, err, sizeof(err));
    pexchange(p, PREQ_GET, s, &o->po_get, &unused, err, sizeof(err));
    pexchange(p, PREQ_POST, s, &o->po_post, &unused, err, sizeof(err));
    if (p->p_direct)
        probe_tunnel_direct(p, &o->po_tunnel);
    else
        pexchange(p, PREQ_CONNECT, s, &o->po_tunnel, &unused, err, sizeof(err));
eval:
    return probe_eval(o, &p->p_pc, f);
}

/* ---- the command ----------------------------------------------------- */

static void
probe_usage(FILE *out)
{
    fprintf(out,
            "usage: wsus-shim probe [-c FILE] [--json] [--connect HOST:PORT] "
            "[URL]\n"
            "  Tests every [upstream] proxy (or the origin, with none) for "
            "what BITS\n"
            "  needs: connect, HTTP version, keep-alive, authentication, HEAD "
            "length,\n"
            "  Range, body framing, chunked request bodies and CONNECT; names "
            "the BITS\n"
            "  error each shortcoming causes, whether the shim repairs it and "
            "the conf\n"
            "  line it needs.\n"
            "  URL                 file to test (default: a small Windows "
            "Update .cab)\n"
            "  --json              machine-readable output (docs/probe.md)\n"
            "  --connect HOST:PORT CONNECT target (default: the URL's "
            "host:443)\n"
            "  exit: 0 every parent works with this conf, 1 one does not, "
            "2 usage or\n"
            "  conf error\n");
}

static uint32_t
step_ms(uint32_t conf_ms)
{
    return conf_ms == 0 || conf_ms > PROBE_STEP_MAX_MS ? PROBE_STEP_MAX_MS
                                                       : conf_ms;
}

/* What the command line asked for. */
struct probe_args {
    const char *pa_conf, *pa_url, *pa_tunnel;
    int pa_json;
};

/* Parse argv into a; returns -1 with the exit code in *rc when the
 * command ends here (help: 0; a bad argument: 2). */
static int
probe_args(int argc, char **argv, const char *default_conf,
           struct probe_args *a, int *rc)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            a->pa_conf = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            a->pa_json = 1;
        } else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
            a->pa_tunnel = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            probe_usage(stdout);
            *rc = 0;
            return -1;
        } else if (argv[i][0] != '-' && a->pa_url == NULL) {
            a->pa_url = argv[i];
        } else {
            fprintf(stderr, "wsus-shim probe: unknown argument '%s'\n",
                    argv[i]);
            probe_usage(stderr);
            *rc = 2;
            return -1;
        }
    }
    if (a->pa_conf == NULL)
        a->pa_conf = default_conf;
    if (a->pa_url == NULL)
        a->pa_url = PROBE_DEFAULT_URL;
    return 0;
}

/* The URL's Host:, its absolute form, and the CONNECT target (--connect,
 * else the URL's host on port 443), into p. Prints the error. */
static int
probe_targets(struct probe *p, const char *url, const char *tunnel)
{
    const char *why = "not an http:// URL";

    if (req_target_parse(url, 0, NULL, &p->p_t, &why) == -1 ||
        !p->p_t.rt_absolute) {
        fprintf(stderr, "wsus-shim probe: bad URL '%s': %s\n", url, why);
        return -1;
    }
    if (req_target_authority(&p->p_t, 1, p->p_host_hdr,
                             sizeof(p->p_host_hdr)) == -1 ||
        req_target_url(&p->p_t, p->p_abs, sizeof(p->p_abs)) == -1) {
        fprintf(stderr, "wsus-shim probe: bad URL '%s'\n", url);
        return -1;
    }
    if (tunnel != NULL) {
        struct req_target tt;
        if (req_target_parse(tunnel, 1, NULL, &tt, &why) == -1) {
            fprintf(stderr, "wsus-shim probe: bad --connect '%s': %s\n", tunnel,
                    why);
            return -1;
        }
        req_target_free(&tt);
        snprintf(p->p_tunnel, sizeof(p->p_tunnel), "%s", tunnel);
        return 0;
    }
    struct req_target tt = p->p_t;
    tt.rt_port = 443;
    if (req_target_authority(&tt, 0, p->p_tunnel, sizeof(p->p_tunnel)) == -1) {
        fprintf(stderr, "wsus-shim probe: bad URL '%s'\n", url);
        return -1;
    }
    return 0;
}

/* Probe every parent in turn, printing each as it ends; returns the exit
 * code (probe_exit_code), or 2 when out of memory. */
static int
probe_all(struct probe *p, const char *conf, int json)
{
    const struct shim_config *cfg = p->p_cfg;
    int n = cfg->sc_nproxies > 0 ? (int)cfg->sc_nproxies : 1, rc;
    enum probe_verdict *verdicts = calloc((size_t)n, sizeof(*verdicts));

    if (verdicts == NULL) {
        fprintf(stderr, "wsus-shim probe: out of memory\n");
        return 2;
    }
    if (json) {
        printf("{\n  \"probe_version\": 1,\n  \"url\": ");
        probe_json_str(stdout, p->p_abs);
        printf(",\n  \"conf\": ");
        probe_json_str(stdout, conf);
        printf(",\n  \"parents\": [\n");
    } else {
        printf("wsus-shim probe of %s\nconf: %s\n", p->p_abs, conf);
    }
    for (int i = 0; i < n; i++) {
        struct probe_obs o;
        struct probe_finding f[PC_NCHECKS];
        char addr[80] = "";
        struct probe_report r = {cfg->sc_nproxies > 0 ? i : -1,
                                 (size_t)n,
                                 p->p_label,
                                 addr,
                                 &p->p_pc,
                                 &o,
                                 f,
                                 PV_FAILS};

        r.rp_v = verdicts[i] = probe_parent(p, r.rp_idx, &o, f);
        if (o.po_connected)
            plat_sockaddr_str((const struct sockaddr *)&p->p_sa, addr,
                              sizeof(addr));
        if (json)
            probe_print_json(stdout, &r, i + 1 == n);
        else
            probe_print_human(stdout, &r);
        fflush(stdout);
    }
    rc = probe_exit_code(verdicts, (size_t)n);
    free(verdicts);
    if (json)
        printf("  ],\n  \"exit_code\": %d\n}\n", rc);
    else
        printf("\nexit %d: %s\n", rc,
               rc == 0 ? "every parent works through the shim"
                       : "at least one parent does not work through the "
                         "shim with this conf");
    return rc;
}

int
probe_main(int argc, char **argv, const char *default_conf)
{
    struct probe_args a;
    struct shim_config cfg;
    struct probe p;
    uint8_t nt_hash[16];
    char err[512];
    int rc = 2;

    if (probe_args(argc, argv, default_conf, &a, &rc) == -1)
        return rc;
    memset(&p, 0, sizeof(p));
    if (config_load(a.pa_conf, &cfg, err, sizeof(err)) == -1) {
        fprintf(stderr, "wsus-shim probe: %s\n", err);
        return 2;
    }
    p.p_cfg = &cfg;
    p.p_url = a.pa_url;
    if (auth_cred_from_config(&cfg, &p.p_cred, nt_hash) == -1) {
        fprintf(stderr,
                "wsus-shim probe: %s: password_hash is not 32 hex "
                "digits\n",
                a.pa_conf);
        goto out;
    }
    p.p_pc.pc_range_mode = (int)cfg.sc_range_mode;
    p.p_pc.pc_minor = cfg.sc_up_minor;
    p.p_pc.pc_want = cfg.sc_up_auth;
    p.p_cto = step_ms(cfg.sc_connect_timeout_ms);
    p.p_rto = step_ms(cfg.sc_first_byte_ms);
    if (probe_targets(&p, a.pa_url, a.pa_tunnel) == 0)
        rc = probe_all(&p, a.pa_conf, a.pa_json);
out:
    req_target_free(&p.p_t);
    OPENSSL_cleanse(nt_hash, sizeof(nt_hash));
    config_free(&cfg);
    return rc;
}
