/*
 * conn_req.c - the current request's record in a struct conn (see
 * conn_int.h): its id, its reset between requests, its access line, and
 * the views of it handed to serve.c, pass.c, tunnel.c and the status page.
 * Never assigns c_state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "conn.h"
#include "conn_int.h"
#include "log.h"
#include "metrics.h"
#include "plat.h"
#include "server.h"
#include "tunnel.h"

void
creq_new_id(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[REQID_LEN / 2];

    plat_random(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[REQID_LEN] = '\0';
}

/* Keep an answer's upstream for the log line. */
static void
creq_note_upstream(struct conn *c, const char *up)
{
    if (up != NULL && up[0] != '\0')
        snprintf(c->c_fetch_up, sizeof(c->c_fetch_up), "%s", up);
}

void
creq_unfill(struct conn *c)
{
    creq_note_upstream(c, serve_upstream(&c->c_serve));
    serve_stop(&c->c_serve);
}

void
creq_unfetch(struct conn *c)
{
    creq_note_upstream(c, pass_upstream(&c->c_pass));
    pass_stop(&c->c_pass);
}

void
creq_reset(struct conn *c)
{
    creq_unfetch(c);
    creq_unfill(c);
    if (c->c_have_tgt)
        req_target_free(&c->c_tgt);
    c->c_have_tgt = 0;
    free(c->c_url);
    c->c_url = NULL;
    spool_reset(&c->c_body);
    pass_init(&c->c_pass);
    serve_init(&c->c_serve);
    c->c_req = NULL;
    c->c_in_bytes = c->c_out_bytes = 0;
    c->c_status = 0;
    c->c_plan = "pass";
    c->c_upstream = NULL;
    c->c_fetch_up[0] = '\0';
    c->c_req_done = c->c_local = c->c_no_cache = 0;
    c->c_head_sent = 0;
    c->c_err_status = 0;
    free(c->c_err_auth);
    c->c_err_auth = NULL;
    c->c_reqid[0] = '\0';
    memset(&c->c_plan_out, 0, sizeof(c->c_plan_out));
}

void
creq_log(struct conn *c)
{
    struct access_rec r;

    if (c->c_req == NULL && c->c_status == 0)
        return;
    memset(&r, 0, sizeof(r));
    r.ar_client = c->c_peer;
    r.ar_method = c->c_req && c->c_req->hm_method ? c->c_req->hm_method : "-";
    r.ar_url = c->c_url ? c->c_url
                        : (c->c_req && c->c_req->hm_target ? c->c_req->hm_target
                                                           : "-");
    r.ar_status = c->c_status;
    r.ar_bytes_in = c->c_in_bytes;
    r.ar_bytes_out = c->c_out_bytes;
    if (c->c_upstream != NULL)
        r.ar_upstream = c->c_upstream;
    else if (pass_upstream(&c->c_pass)[0] != '\0')
        r.ar_upstream = pass_upstream(&c->c_pass);
    else if (c->c_fetch_up[0] != '\0')
        r.ar_upstream = c->c_fetch_up;
    else
        r.ar_upstream = "-";
    r.ar_plan = c->c_plan;
    r.ar_duration_ms = plat_monotonic_ms() - c->c_t0;
    r.ar_reqid = c->c_reqid;
    access_log_write(&r);
    metrics_request(&c->c_srv->sv_metrics, c->c_plan, c->c_status,
                    c->c_in_bytes, c->c_out_bytes);
    c->c_srv->sv_stats.st_requests++;
    c->c_srv->sv_stats.st_bytes_out += c->c_out_bytes;
}

void
creq_serve_req(const struct conn *c, struct serve_req *sr)
{
    sr->sr_srv = c->c_srv;
    sr->sr_cfgr = c->c_cfgr;
    sr->sr_req = c->c_req;
    sr->sr_tgt = &c->c_tgt;
    sr->sr_url = c->c_url;
    sr->sr_reqid = c->c_reqid;
}

void
creq_pass_req(struct conn *c, struct pass_req *pr)
{
    pr->pr_srv = c->c_srv;
    pr->pr_cfgr = c->c_cfgr;
    pr->pr_req = c->c_req;
    pr->pr_tgt = &c->c_tgt;
    pr->pr_reqid = c->c_reqid;
    pr->pr_client = c->c_id;
    pr->pr_uncached = c->c_no_cache;
    pr->pr_body = &c->c_body;
    if (c->c_srv->sv_cache == NULL || c->c_url == NULL ||
        !cache_refused_length(c->c_srv->sv_cache, c->c_url, &pr->pr_length))
        pr->pr_length = UINT64_MAX;
}

void
creq_tunnel_info(const struct conn *c, struct tunnel_info *ti)
{
    memset(ti, 0, sizeof(*ti));
    ti->ti_client = c->c_peer;
    ti->ti_target = c->c_url ? c->c_url : "-";
    ti->ti_upstream = pass_upstream(&c->c_pass);
    ti->ti_reqid = c->c_reqid;
    ti->ti_t0_ms = c->c_t0;
    ti->ti_bytes_in = c->c_in_bytes;
    ti->ti_idle_ms = c->c_cfg->sc_idle_timeout_ms;
}

/* The status page's view of the transfers in progress (conn.h). */
size_t
conn_transfers(const struct server *sv, struct conn_xfer *out, size_t max)
{
    const struct conn *c;
    size_t n = 0;

    for (c = sv->sv_conns; c != NULL; c = c->c_next) {
        if (c->c_state != CONN_UPSTREAM && c->c_state != CONN_RELAY &&
            c->c_state != CONN_SERVE)
            continue;
        if (n < max) {
            struct conn_xfer *x = &out[n];
            const char *up = c->c_upstream;
            if (up == NULL)
                up = pass_upstream(&c->c_pass);
            if (up[0] == '\0')
                up = serve_upstream(&c->c_serve);
            x->cx_peer = c->c_peer;
            x->cx_url = c->c_url != NULL ? c->c_url : "-";
            x->cx_plan = c->c_plan != NULL ? c->c_plan : "-";
            x->cx_reqid = c->c_reqid;
            x->cx_upstream = up;
            x->cx_fill = c->c_state == CONN_SERVE ? c->c_serve.se_fill : NULL;
            x->cx_done = c->c_out_bytes;
            x->cx_total_known =
                c->c_head_sent && c->c_plan_out.rp_framing == OUT_LENGTH;
            x->cx_total = c->c_plan_out.rp_length;
            x->cx_t0_ms = c->c_t0;
        }
        n++;
    }
    return n;
}
