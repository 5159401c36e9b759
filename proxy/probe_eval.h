/*
 * probe_eval.h - what `wsus-shim probe` concludes from what a parent did.
 *
 * probe.c talks to a parent (or, with no parent configured, to the
 * origin) and records what it saw in a struct probe_obs. probe_eval()
 * turns that into one finding per check: what was seen, the BITS error it
 * would cause without the shim, whether the shim repairs it and the conf
 * line it needs for that, and a verdict for the parent. Pure: no sockets,
 * no log, no config file; the few settings that matter come in a struct
 * probe_conf.
 */
#ifndef WSUS_PROBE_EVAL_H
#define WSUS_PROBE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

/* One request and what came back. */
struct probe_answer {
    int pa_tried;      /* the request was attempted */
    int pa_status;     /* 0: no answer (pa_err says why) */
    int pa_minor;      /* HTTP/1.x of the status line */
    int pa_has_length; /* a Content-Length */
    uint64_t pa_length;
    int pa_chunked;
    int pa_close_delimited; /* body runs to the close */
    int pa_said_keep_alive; /* Connection or Proxy-Connection: keep-alive */
    int pa_persistent;      /* the parser would keep the connection */
    int pa_has_cr;          /* a Content-Range field */
    int pa_cr_valid;        /* it parsed, with a known total */
    uint64_t pa_cr_first, pa_cr_last, pa_cr_total;
    unsigned pa_offered;  /* Proxy-Authenticate schemes: AUTH_BIT()s */
    uint64_t pa_body;     /* body bytes read */
    int pa_body_complete; /* the body was read to its end */
    char pa_err[160];
};

enum probe_auth_res {
    PAR_UNTRIED = 0, /* not offered, or not needed */
    PAR_UNUSABLE,    /* offered; the credentials cannot do it */
    PAR_PASSED,      /* the handshake ended in a non-407 answer */
    PAR_REFUSED,     /* a 407 after the final leg */
    PAR_FAILED,      /* the mechanism or the connection failed */
};

struct probe_obs {
    int po_direct; /* no parent: the origin itself */
    /* connect */
    int po_resolved;
    int po_connected;
    uint32_t po_connect_ms;
    char po_connect_err[160];
    /* the first request: HEAD of the URL, no credentials */
    struct probe_answer po_first;
    int po_keep_tested; /* a second request was sent on that connection */
    int po_kept_alive;  /* ... and answered */
    /* authentication (from the first answer's 407) */
    unsigned po_offered; /* AUTH_BIT()s */
    unsigned po_usable;  /* AUTH_BIT()s of auth_usable() */
    enum probe_auth_res po_auth[AUTH_NSCHEMES];
    char po_auth_err[AUTH_NSCHEMES][160];
    /* the content checks, with the working scheme (if any) */
    struct probe_answer po_head;   /* HEAD */
    struct probe_answer po_range;  /* GET, Range: bytes=0-99 */
    struct probe_answer po_get;    /* GET (head only) */
    struct probe_answer po_post;   /* POST, Transfer-Encoding: chunked */
    struct probe_answer po_tunnel; /* CONNECT host:443 (direct: TCP) */
};

/* The settings a finding depends on. */
struct probe_conf {
    int pc_range_mode; /* enum range_mode (config.h) */
    int pc_minor;      /* [upstream] http_version: 0 or 1 */
    int pc_want;       /* enum auth_want */
};

enum probe_level {
    PL_OK = 0,   /* nothing to repair */
    PL_INFO,     /* worth knowing; no BITS error follows */
    PL_REPAIRED, /* BITS would fail; the shim repairs it (pf_conf) */
    PL_FAIL,     /* the shim cannot make this work */
    PL_SKIPPED,  /* not tested (an earlier check failed) */
};

enum probe_check {
    PC_CONNECT = 0,
    PC_HTTP,
    PC_KEEPALIVE,
    PC_AUTH,
    PC_HEAD,
    PC_RANGE,
    PC_FRAMING,
    PC_CHUNKED,
    PC_TUNNEL,
    PC_NCHECKS,
};

struct probe_finding {
    enum probe_check pf_check;
    enum probe_level pf_level;
    char pf_text[240]; /* what was seen, one sentence */
    char pf_bits[96];  /* "0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT", or "" */
    char pf_conf[96];  /* the conf line the repair needs, or "" */
    int pf_conf_set;   /* the conf already says so (or none is needed) */
};

enum probe_verdict {
    PV_WORKS = 0,  /* works through the shim with this conf */
    PV_NEEDS_CONF, /* works once the listed conf lines are set */
    PV_FAILS,      /* cannot be made to work */
};

/* The check's name as printed and in JSON: "connect", "http_version",
 * "keep_alive", "auth", "head", "range", "framing", "chunked_body",
 * "connect_443". */
const char *probe_check_name(enum probe_check c);
/* "ok", "info", "repaired", "fail", "skipped". */
const char *probe_level_name(enum probe_level l);
/* "works", "needs_conf", "fails". */
const char *probe_verdict_name(enum probe_verdict v);

/* Evaluate o under conf c: out[i] is the finding of check i (all
 * PC_NCHECKS of them, in enum order). Returns the verdict: PV_FAILS when
 * any finding fails, PV_NEEDS_CONF when a repair needs a conf line that is
 * not set, else PV_WORKS. Nothing here prints a credential: o holds none. */
enum probe_verdict probe_eval(const struct probe_obs *o,
                              const struct probe_conf *c,
                              struct probe_finding out[PC_NCHECKS]);

/* The scheme the shim would use on this parent: auth_choose() when that
 * scheme passed, else the strongest scheme that passed, else AUTH_NONE. */
enum auth_scheme probe_auth_pick(const struct probe_obs *o,
                                 const struct probe_conf *c);

/* The command's exit code from the verdicts of every parent: 0 when all
 * work with this conf, else 1. (2, usage and conf errors, is probe.c's.) */
int probe_exit_code(const enum probe_verdict *v, size_t n);

#endif
