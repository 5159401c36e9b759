/*
 * pass.c - answering through a fetch: pass, slice, HEAD synthesis and the
 * start of a CONNECT (pass.h).
 *
 * The fetch calls back here; every way the exchange ends is one named
 * outcome handed to the owner through pcb_end. A fetch callback that
 * stops the exchange records the outcome in ps_stop and returns -1; the
 * fetch then calls pass_on_fail, which delivers it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "fetch.h"
#include "pass.h"
#include "server.h"
#include "shim_limits.h"
#include "spool.h"

void
pass_init(struct pass *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->ps_take = UINT64_MAX;
}

static void
pass_out(struct pass *ps, const void *p, size_t n)
{
    evbuffer_add(ps->ps_cb->pcb_output(ps->ps_arg), p, n);
    ps->ps_cb->pcb_sent(ps->ps_arg, n);
}

/* Stop from inside a fetch callback: the outcome is delivered from
 * pass_on_fail once the fetch's parser has returned. */
static int
pass_halt(struct pass *ps, enum pass_outcome oc, int status, const char *reason)
{
    if (ps->ps_stop == PASS_DONE) {
        ps->ps_stop = oc;
        ps->ps_status = status;
        snprintf(ps->ps_why, sizeof(ps->ps_why), "%s",
                 reason != NULL ? reason : "");
    }
    return -1;
}

/* A CONNECT's answer: a 2xx starts the tunnel at fc_done; anything else
 * is answered by the shim (a 407 without our credentials passes the
 * challenge on, so the client may authenticate). */
static int
pass_connect_head(struct pass *ps, const struct http_msg *m)
{
    int status = m->hm_status;

    if (status / 100 == 2)
        return 0;
    if (status == 407 && !fetch_sent_auth(ps->ps_fetch)) {
        /* No credentials of ours: the client may authenticate. */
        const char *ch = hdr_get(&m->hm_hdrs, "Proxy-Authenticate");
        if (ch != NULL)
            ps->ps_challenge = strdup(ch);
        return pass_halt(ps, PASS_VERDICT, 407,
                         "the upstream proxy wants credentials");
    }
    char why[96];
    snprintf(why, sizeof(why), "upstream refused CONNECT: %d", status);
    return pass_halt(ps, PASS_VERDICT, 502, why);
}

/* Why a window is refused, by outcome. */
static const char *
window_refusal(enum relay_window_rc rc)
{
    switch (rc) {
    case WINDOW_BAD_206:
        return "upstream sent a 206 without a valid Content-Range";
    case WINDOW_WRONG_206:
        return "upstream sent a different range than asked";
    case WINDOW_TOO_FAR:
        return "range starts beyond slice_max_discard";
    case WINDOW_NO_LENGTH:
        return "upstream gave no length, so no range can be cut from its "
               "answer";
    default:
        return NULL;
    }
}

static int
pass_on_head(void *arg, struct http_msg *m)
{
    struct pass *ps = arg;
    const struct http_msg *req = ps->ps_req;
    struct hdr_list out;
    struct relay_window w;
    int status = m->hm_status;
    const char *plan_name = NULL;
    size_t hlen;

    if (req->hm_is_connect)
        return pass_connect_head(ps, m);
    if (status == 407 && fetch_sent_auth(ps->ps_fetch))
        return pass_halt(ps, PASS_VERDICT, 502,
                         "the upstream proxy refused the configured "
                         "credentials (407)");
    if (req->hm_is_head && status == 200 && !m->hm_has_length &&
        ps->ps_synth_ok)
        return pass_halt(ps, PASS_NEEDS_SYNTH, 0, NULL);

    /* A 200 without a length (a close-delimited legacy parent) is sliced
     * with the length the cache learnt, when it did. */
    struct http_msg known;
    const struct http_msg *wm = m;
    if (status == 200 && !m->hm_has_length && ps->ps_length != UINT64_MAX) {
        known = *m;
        known.hm_has_length = 1;
        known.hm_length = ps->ps_length;
        wm = &known;
    }
    enum relay_window_rc rc =
        relay_pass_window(req, wm, ps->ps_slice, ps->ps_max_discard, &w);
    if (window_refusal(rc) != NULL)
        return pass_halt(ps, PASS_VERDICT, 502, window_refusal(rc));
    hdr_init(&out);
    if (relay_plan(req, m, ps->ps_cb->pcb_keep_ok(ps->ps_arg), status == 407,
                   &ps->ps_plan, &out) == -1)
        goto nomem;
    if (rc == WINDOW_PARTIAL || rc == WINDOW_UNSAT) {
        if ((status = relay_plan_window(rc, &w, &ps->ps_plan, &out)) == -1)
            goto nomem;
        ps->ps_skip = w.rw_skip;
        ps->ps_take = rc == WINDOW_PARTIAL ? w.rw_last - w.rw_first + 1 : 0;
        if (m->hm_status == 200)
            plan_name = "slice";
    }
    /* Our own version, whatever the client's (RFC 9110 6.2). */
    char *head = relay_head_serialize(
        1, status, status == m->hm_status ? m->hm_reason : NULL, &out, &hlen);
    hdr_free(&out);
    if (head == NULL)
        return pass_halt(ps, PASS_VERDICT, 500, "out of memory");
    pass_out(ps, head, hlen);
    free(head);
    ps->ps_cb->pcb_head(ps->ps_arg, status, &ps->ps_plan, plan_name);
    if (ps->ps_take == 0)
        return pass_halt(ps, PASS_SLICE_DONE, 0, NULL);
    return 0;
nomem:
    hdr_free(&out);
    return pass_halt(ps, PASS_VERDICT, 500, "out of memory");
}

static int
pass_on_body(void *arg, const char *p, size_t n)
{
    struct pass *ps = arg;

    if (ps->ps_skip > 0) {
        size_t d = ps->ps_skip < n ? (size_t)ps->ps_skip : n;
        p += d;
        n -= d;
        ps->ps_skip -= d;
    }
    if (ps->ps_take != UINT64_MAX && n > ps->ps_take)
        n = (size_t)ps->ps_take;
    if (n == 0)
        return 0;
    if (ps->ps_take != UINT64_MAX)
        ps->ps_take -= n;
    switch (ps->ps_plan.rp_framing) {
    case OUT_NONE:
        return 0;
    case OUT_CHUNKED: {
        char hdr[32];
        int k = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        pass_out(ps, hdr, (size_t)k);
        pass_out(ps, p, n);
        pass_out(ps, "\r\n", 2);
        break;
    }
    case OUT_LENGTH:
    case OUT_CLOSE:
        pass_out(ps, p, n);
        break;
    }
    if (ps->ps_take == 0) {
        /* The wanted range is complete: drop the rest of the body. */
        return pass_halt(ps, PASS_SLICE_DONE, 0, NULL);
    }
    if (!ps->ps_paused && evbuffer_get_length(ps->ps_cb->pcb_output(
                              ps->ps_arg)) > RELAY_HIGH_MARK) {
        ps->ps_paused = 1;
        fetch_pause(ps->ps_fetch, 1);
    }
    return 0;
}

static void
pass_end(struct pass *ps, enum pass_outcome oc, int status, const char *reason)
{
    if (ps->ps_stopped)
        return;
    ps->ps_stopped = 1;
    ps->ps_cb->pcb_end(ps->ps_arg, oc, status, reason);
}

static void
pass_on_done(void *arg)
{
    struct pass *ps = arg;

    if (ps->ps_req->hm_is_connect) {
        pass_end(ps, PASS_TUNNEL, 0, NULL);
        return;
    }
    if (ps->ps_take != UINT64_MAX && ps->ps_take > 0) {
        pass_end(ps, PASS_CUT, 0, "upstream body shorter than the range");
        return;
    }
    if (ps->ps_plan.rp_framing == OUT_CHUNKED)
        pass_out(ps, "0\r\n\r\n", 5);
    pass_end(ps, PASS_DONE, 0, NULL);
}

static void
pass_on_fail(void *arg, int status, const char *reason, int head_seen)
{
    struct pass *ps = arg;
    char why[256];

    /* reason may live in the fetch, which the owner's answer frees. */
    if (reason != NULL) {
        snprintf(why, sizeof(why), "%s", reason);
        reason = why;
    }

    if (ps->ps_stop != PASS_DONE) {
        pass_end(ps, ps->ps_stop, ps->ps_status, ps->ps_why);
        return;
    }
    if (head_seen)
        pass_end(ps, PASS_CUT, 0, reason ? reason : "upstream failed mid-body");
    else
        pass_end(ps, PASS_FAILED, status ? status : 502,
                 reason ? reason : "upstream failed");
}

static const struct fetch_cb pass_fetch_cb = {pass_on_head, pass_on_body,
                                              pass_on_done, pass_on_fail};

int
pass_start(struct pass *ps, const struct pass_req *pr, const struct pass_cb *cb,
           void *arg)
{
    const struct shim_config *cfg = &pr->pr_cfgr->cr_cfg;
    struct fetch_req fr;

    pass_stop(ps);
    pass_init(ps);
    ps->ps_cb = cb;
    ps->ps_arg = arg;
    ps->ps_req = pr->pr_req;
    ps->ps_length = pr->pr_length;
    /* A fill learns the length even without a usable cache folder. */
    ps->ps_synth_ok =
        cfg->sc_range_mode == RANGE_MODE_CACHE && !pr->pr_uncached;
    /* In mode cache every ranged GET the cache did not take (too big, no
     * space, no folder, a failed fill) still gets its 206 by slicing. */
    ps->ps_slice = cfg->sc_range_mode != RANGE_MODE_PASS;
    ps->ps_max_discard =
        cfg->sc_range_mode == RANGE_MODE_SLICE || cfg->sc_slice_max_discard_set
            ? cfg->sc_slice_max_discard
            : UINT64_MAX;
    memset(&fr, 0, sizeof(fr));
    fr.fr_req = pr->pr_req;
    fr.fr_tgt = pr->pr_tgt;
    fr.fr_reqid = pr->pr_reqid;
    fr.fr_client = pr->pr_client;
    fr.fr_body = spool_mem(pr->pr_body);
    fr.fr_body_seg = spool_segment(pr->pr_body);
    fr.fr_body_len = pr->pr_body->sp_len;
    ps->ps_fetch =
        fetch_start(pr->pr_srv, pr->pr_cfgr, &fr, &pass_fetch_cb, ps);
    return ps->ps_fetch == NULL ? -1 : 0;
}

void
pass_resume(struct pass *ps)
{
    if (ps->ps_paused && ps->ps_fetch != NULL) {
        ps->ps_paused = 0;
        fetch_pause(ps->ps_fetch, 0);
    }
}

struct bufferevent *
pass_take_bev(struct pass *ps)
{
    return ps->ps_fetch != NULL ? fetch_take_bev(ps->ps_fetch) : NULL;
}

const char *
pass_challenge(const struct pass *ps)
{
    return ps->ps_challenge;
}

const char *
pass_upstream(const struct pass *ps)
{
    return ps->ps_fetch != NULL ? fetch_upstream(ps->ps_fetch) : "";
}

void
pass_stop(struct pass *ps)
{
    if (ps->ps_fetch != NULL) {
        fetch_free(ps->ps_fetch);
        ps->ps_fetch = NULL;
    }
    free(ps->ps_challenge);
    ps->ps_challenge = NULL;
    ps->ps_paused = 0;
    ps->ps_stopped = 1;
}
