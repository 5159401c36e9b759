/*
 * doctor.c - wsus-fixer doctor (doctor.h). Every check runs whatever the
 * others found; the exit code says whether any failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "connstr.h"
#include "doctor.h"
#include "doctor_int.h"
#include "fplat.h"
#include "shimconf.h"
#include "wsuscfg.h"

uint64_t
doc_now(struct doc *d)
{
    return fixer_now(d->d_env);
}

uint64_t
doc_since(struct doc *d, uint64_t t0)
{
    return fixer_since(d->d_env, t0);
}

void
doc_fail(struct doc *d, const char *check, uint64_t ms, const char *detail,
         const char *fix)
{
    report_step(d->d_rep, check, REP_FAIL, ms, "%s", detail);
    report_fix(d->d_rep, "%s", fix);
    d->d_failed = 1;
}

static void
doc_manual(struct doc *d, enum svc_action act, const char *name, char *buf,
           size_t len)
{
    const struct svc_ops *svc = d->d_env->fe_svc;

    svc->so_manual(svc->so_ctx, act, name, buf, len);
}

/* Present and running; for BITS also not disabled. */
static void
doc_service(struct doc *d, const char *prefix, const char *name, int bits)
{
    const struct svc_ops *svc = d->d_env->fe_svc;
    char step[32], detail[DOC_ERR_MAX + 128], fix[512];
    uint64_t t0 = doc_now(d);
    enum svc_state st = SVC_UNKNOWN;
    int disabled = 0;

    snprintf(step, sizeof(step), "%s-present", prefix);
    if (svc->so_query(svc->so_ctx, name, &st, d->d_err, sizeof(d->d_err)) ==
            -1 ||
        st == SVC_UNKNOWN || st == SVC_ABSENT) {
        snprintf(detail, sizeof(detail), "%s: %s", name,
                 st == SVC_ABSENT ? "not installed" : d->d_err);
        doc_fail(d, step, doc_since(d, t0), detail,
                 bits ? "BITS is part of Windows: repair the system "
                        "(sfc /scannow, DISM /Online /Cleanup-Image "
                        "/RestoreHealth)"
                      : "install or repair the WSUS role (Server Manager > "
                        "Add Roles, then wsusutil postinstall)");
        return;
    }
    report_step(d->d_rep, step, REP_OK, doc_since(d, t0), "%s is installed",
                name);
    if (bits) {
        int r;

        t0 = doc_now(d);
        snprintf(step, sizeof(step), "%s-enabled", prefix);
        r = svc->so_disabled(svc->so_ctx, name, &disabled, d->d_err,
                             sizeof(d->d_err));
        if (r == 1) {
            report_step(d->d_rep, step, REP_SKIP, doc_since(d, t0),
                        "the service backend cannot tell the start type of "
                        "%s",
                        name);
        } else if (r == -1 || disabled) {
            snprintf(detail, sizeof(detail), "%s: %s", name,
                     r == -1 ? d->d_err : "start type is disabled");
            doc_manual(d, SVC_ACT_ENABLE, name, fix, sizeof(fix));
            doc_fail(d, step, doc_since(d, t0), detail, fix);
        } else {
            report_step(d->d_rep, step, REP_OK, doc_since(d, t0),
                        "%s is not disabled", name);
        }
    }
    snprintf(step, sizeof(step), "%s-running", prefix);
    if (st != SVC_RUNNING) {
        snprintf(detail, sizeof(detail), "%s is %s", name, svc_state_name(st));
        doc_manual(d, SVC_ACT_START, name, fix, sizeof(fix));
        doc_fail(d, step, 0, detail, fix);
        return;
    }
    report_step(d->d_rep, step, REP_OK, 0, "%s is running", name);
}

static void
doc_database(struct doc *d, const struct fixer_opts *o)
{
    const struct db_ops *db = d->d_env->fe_db;
    char masked[1024];
    uint64_t t0 = doc_now(d);
    int64_t value = 0;

    connstr_mask(o->fo_connection, masked, sizeof(masked));
    if (db->do_connect(db->do_ctx, o->fo_connection, d->d_err,
                       sizeof(d->d_err)) == -1) {
        char detail[DOC_ERR_MAX + 1100];

        snprintf(detail, sizeof(detail), "%s: %s", masked, d->d_err);
        doc_fail(d, "susdb", doc_since(d, t0), detail,
                 "check [database] connection and that this account may "
                 "log in to SUSDB (run as an administrator)");
        db->do_disconnect(db->do_ctx);
        return;
    }
    if (db->do_read(db->do_ctx, &value, d->d_err, sizeof(d->d_err)) == -1) {
        doc_fail(d, "susdb", doc_since(d, t0), d->d_err,
                 "the database reached is not a healthy SUSDB: check "
                 "Database= in [database] connection");
        db->do_disconnect(db->do_ctx);
        return;
    }
    wcfg_columns(d->d_cfg);
    if (db->do_config == NULL) {
        snprintf(d->d_cfg_why, sizeof(d->d_cfg_why),
                 "the database backend cannot list columns");
    } else if (db->do_config(db->do_ctx, d->d_cfg, WCFG_NCOLS, d->d_cfg_why,
                             sizeof(d->d_cfg_why)) == 0) {
        d->d_cfg_read = 1;
    }
    db->do_disconnect(db->do_ctx);
    d->d_value = value;
    d->d_value_read = 1;
    report_step(
        d->d_rep, "susdb", REP_OK, doc_since(d, t0),
        "reachable; BitsDownloadPriorityForeground = %" PRId64 "%s", value,
        value == 1 ? " (foreground downloads: the workaround is on)" : "");
    report_int(d->d_rep, "value", value);
}

static void
doc_content(struct doc *d, const struct doctor_opts *dopt)
{
    char dir[600];
    const char *source = "";
    uint64_t t0 = doc_now(d);

    if (doc_content_folder(d, dopt, dir, sizeof(dir), &source) == -1) {
        report_step(d->d_rep, "content-dir", REP_SKIP, doc_since(d, t0), "%s",
                    d->d_err);
        return;
    }
    if (fplat_dir_readable(dir, d->d_err, sizeof(d->d_err)) == -1) {
        doc_fail(d, "content-dir", doc_since(d, t0), d->d_err,
                 "create the folder or point [fixer] content_dir at the "
                 "WSUS content folder; NETWORK SERVICE and WsusPool need "
                 "read access");
        return;
    }
    report_step(d->d_rep, "content-dir", REP_OK, doc_since(d, t0),
                "%s exists and is readable", dir);
}

static void
doc_upstream(struct doc *d, const struct doctor_opts *dopt)
{
    struct shim_proxy px[SHIMCONF_MAX_PROXIES];
    char addr[64], detail[DOC_ERR_MAX + 300];
    uint64_t t0 = doc_now(d);
    size_t n = 0;

    if (dopt->do_shim_conf == NULL || *dopt->do_shim_conf == '\0') {
        report_step(d->d_rep, "upstream", REP_SKIP, 0,
                    "no shim_conf configured");
        return;
    }
    if (shimconf_read(dopt->do_shim_conf, px, SHIMCONF_MAX_PROXIES, &n,
                      d->d_err, sizeof(d->d_err)) == -1) {
        doc_fail(d, "upstream", doc_since(d, t0), d->d_err,
                 "fix [upstream] proxy in the wsus-shim conf, or "
                 "[fixer] shim_conf");
        return;
    }
    if (n == 0) {
        report_step(d->d_rep, "upstream", REP_SKIP, doc_since(d, t0),
                    "%s names no upstream proxy (the shim goes direct)",
                    dopt->do_shim_conf);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        t0 = doc_now(d);
        addr[0] = '\0';
        if (fplat_tcp_probe(px[i].sp_host, px[i].sp_port,
                            dopt->do_probe_timeout_ms, addr, sizeof(addr),
                            d->d_err, sizeof(d->d_err)) == -1) {
            snprintf(detail, sizeof(detail), "%.255s port %u: %.1900s",
                     px[i].sp_host, (unsigned)px[i].sp_port, d->d_err);
            doc_fail(d, "upstream", doc_since(d, t0), detail,
                     "check the name in [upstream] proxy, DNS, and that "
                     "the firewall lets this host reach the proxy");
            continue;
        }
        report_step(d->d_rep, "upstream", REP_OK, doc_since(d, t0),
                    "%s port %u resolves (%s) and accepts connections",
                    px[i].sp_host, (unsigned)px[i].sp_port, addr);
    }
}

void
doc_verdict(struct doc *d, const char *step, uint64_t ms,
            const struct wcfg_verdict *v)
{
    if (v->wv_result == REP_FAIL) {
        doc_fail(d, step, ms, v->wv_detail, v->wv_fix);
        return;
    }
    report_step(d->d_rep, step, v->wv_result, ms, "%s", v->wv_detail);
    if (v->wv_fix[0] != '\0')
        report_fix(d->d_rep, "%s", v->wv_fix);
}

static int
doc_cfg_ready(struct doc *d, const char *step)
{
    if (d->d_cfg_read)
        return 1;
    report_step(d->d_rep, step, REP_SKIP, 0,
                "WSUS configuration not read from SUSDB: %s",
                d->d_cfg_why[0] != '\0' ? d->d_cfg_why : "SUSDB not reached");
    return 0;
}

static void
doc_wsus_proxy(struct doc *d, const struct doctor_opts *dopt)
{
    struct shim_proxy listen = {"", 0};
    struct wcfg_verdict v;
    const char *conf = dopt->do_shim_conf;

    if (!doc_cfg_ready(d, "wsus-proxy"))
        return;
    if (conf != NULL && *conf != '\0') {
        if (shimconf_listen(conf, &listen, d->d_err, sizeof(d->d_err)) == -1) {
            doc_fail(d, "wsus-proxy", 0, d->d_err,
                     "fix [listen] in the wsus-shim conf, or [fixer] "
                     "shim_conf");
            return;
        }
        wcfg_proxy(d->d_cfg, listen.sp_host, listen.sp_port, &v);
    } else {
        wcfg_proxy(d->d_cfg, NULL, 0, &v);
    }
    doc_verdict(d, "wsus-proxy", 0, &v);
}

static void
doc_storage(struct doc *d)
{
    struct wcfg_verdict v;

    if (!doc_cfg_ready(d, "storage"))
        return;
    wcfg_storage(d->d_cfg, &v);
    doc_verdict(d, "storage", 0, &v);
}

/* upstream-server: one request to the upstream WSUS server, through the
 * shim when a shim_conf names one, else directly (a TCP connection only
 * when the upstream uses SSL: the fixer has no TLS client). */
static void
doc_upstream_server(struct doc *d, const struct doctor_opts *dopt)
{
    struct shim_proxy via = {"", 0};
    struct wcfg_upstream up;
    struct wcfg_verdict v;
    char req[768], line[256], addr[64] = "", viabuf[300];
    const char *conf = dopt->do_shim_conf;
    uint64_t t0 = doc_now(d);
    int r;

    if (!doc_cfg_ready(d, "upstream-server"))
        return;
    if (wcfg_upstream(d->d_cfg, &up, &v) == -1) {
        doc_verdict(d, "upstream-server", 0, &v);
        return;
    }
    if (conf != NULL && *conf != '\0') {
        if (shimconf_listen(conf, &via, d->d_err, sizeof(d->d_err)) == -1) {
            doc_fail(d, "upstream-server", 0, d->d_err,
                     "fix [listen] in the wsus-shim conf, or [fixer] "
                     "shim_conf");
            return;
        }
        if (strcmp(via.sp_host, "0.0.0.0") == 0)
            snprintf(via.sp_host, sizeof(via.sp_host), "127.0.0.1");
        else if (strcmp(via.sp_host, "::") == 0)
            snprintf(via.sp_host, sizeof(via.sp_host), "::1");
        snprintf(viabuf, sizeof(viabuf), "%.255s:%u", via.sp_host,
                 (unsigned)via.sp_port);
        wcfg_upstream_request(&up, 1, req, sizeof(req));
        r = fplat_http_probe(via.sp_host, via.sp_port,
                             dopt->do_probe_timeout_ms, req, addr, sizeof(addr),
                             line, sizeof(line), d->d_err, sizeof(d->d_err));
    } else if (up.wu_ssl == 1) {
        r = fplat_tcp_probe(up.wu_host, up.wu_port, dopt->do_probe_timeout_ms,
                            addr, sizeof(addr), d->d_err, sizeof(d->d_err));
        if (r == 0) {
            report_step(d->d_rep, "upstream-server", REP_OK, doc_since(d, t0),
                        "%s port %u (SSL) resolves (%s) and accepts "
                        "connections (TLS not tried)",
                        up.wu_host, (unsigned)up.wu_port, addr);
            return;
        }
    } else {
        wcfg_upstream_request(&up, 0, req, sizeof(req));
        r = fplat_http_probe(up.wu_host, up.wu_port, dopt->do_probe_timeout_ms,
                             req, addr, sizeof(addr), line, sizeof(line),
                             d->d_err, sizeof(d->d_err));
    }
    if (r == -1) {
        char detail[DOC_ERR_MAX + 600];

        snprintf(detail, sizeof(detail),
                 "upstream WSUS server %.255s port "
                 "%u%s%s: %.1900s",
                 up.wu_host, (unsigned)up.wu_port,
                 via.sp_port != 0 ? " through the shim " : "",
                 via.sp_port != 0 ? viabuf : "", d->d_err);
        doc_fail(d, "upstream-server", doc_since(d, t0), detail,
                 via.sp_port != 0
                     ? "start the shim (or fix [fixer] shim_conf), then "
                       "check its log for the upstream WSUS server"
                     : "check the upstream server name and port in WSUS "
                       "(Options > Update Source and Proxy Server), DNS, "
                       "and that the firewall lets this host reach it");
        return;
    }
    wcfg_upstream_answer(&up, via.sp_port != 0 ? viabuf : NULL, addr, line, &v);
    if (v.wv_result == REP_FAIL) {
        doc_fail(d, "upstream-server", doc_since(d, t0), v.wv_detail, v.wv_fix);
        return;
    }
    report_step(d->d_rep, "upstream-server", v.wv_result, doc_since(d, t0),
                "%s", v.wv_detail);
}

int
doctor_run(const struct fixer_env *env, const struct fixer_opts *o,
           const struct doctor_opts *dopt, struct report *rep)
{
    struct doc d;

    memset(&d, 0, sizeof(d));
    d.d_env = env;
    d.d_o = o;
    d.d_rep = rep;
    report_command(rep, "doctor");
    doc_service(&d, "bits", o->fo_bits, 1);
    doc_service(&d, "service", o->fo_service, 0);
    doc_database(&d, o);
    doc_wsus_proxy(&d, dopt);
    doc_storage(&d);
    doc_upstream_server(&d, dopt);
    doc_content(&d, dopt);
    doc_content_acl(&d, dopt);
    doc_upstream(&d, dopt);
    doc_http11(&d, dopt);
    doc_missing_updates(&d);
    doc_approvals(&d, dopt);
    if (d.d_failed) {
        report_finish(rep, FIXER_EXIT_FAILED,
                      "doctor: some checks failed; see the fix lines");
        return FIXER_EXIT_FAILED;
    }
    report_finish(rep, FIXER_EXIT_OK, "doctor: every check passed");
    return FIXER_EXIT_OK;
}
