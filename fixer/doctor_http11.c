/*
 * doctor_http11.c - doctor's http11 check (doctor_int.h): the value of
 * BitsDownloadPriorityForeground, and whether the shim makes the
 * workaround unneeded. With [fixer] shim_bin, `wsus-shim probe -c
 * SHIM_CONF` is run and its exit code decides; without it, one GET of the
 * shim's status page at its listen address shows only that the shim
 * answers, and the verdict says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_int.h"
#include "fplat.h"
#include "http11.h"
#include "shimconf.h"

#define H11_OUT_MAX 8192

/* The last non-empty line of out, into line. */
static void
h11_last_line(const char *out, char *line, size_t len)
{
    size_t n = strlen(out), end, start;

    while (n > 0 &&
           (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    end = n;
    while (n > 0 && out[n - 1] != '\n')
        n--;
    start = n;
    snprintf(line, len, "%.*s", (int)(end - start), out + start);
}

/* Run the shim's own probe. */
static enum h11_shim
h11_probe(struct doc *d, const struct doctor_opts *dopt, char *ev, size_t evlen)
{
    char *out = malloc(H11_OUT_MAX);
    char cmd[2400], last[512];
    enum h11_shim rc = H11_SHIM_PROBE_ERROR;
    int status = -1;

    if (out == NULL) {
        snprintf(ev, evlen, "out of memory");
        return rc;
    }

    snprintf(cmd, sizeof(cmd), "\"%s\" probe -c \"%s\"", dopt->do_shim_bin,
             dopt->do_shim_conf);
    if (fplat_exec(cmd, dopt->do_cwd, dopt->do_command_timeout_ms, out,
                   H11_OUT_MAX, &status, d->d_err, sizeof(d->d_err)) == -1) {
        snprintf(ev, evlen, "%.200s probe: %.1500s", dopt->do_shim_bin,
                 d->d_err);
        goto out;
    }
    h11_last_line(out, last, sizeof(last));
    snprintf(ev, evlen, "wsus-shim probe -c %.600s: exit %d: %.400s",
             dopt->do_shim_conf, status, last);
    /* 0: every parent works; 1: a parent fails; 2: its conf is wrong.
     * Anything else (127: not found by the shell) means the probe did
     * not run. */
    if (status == 0)
        rc = H11_SHIM_PROBE_OK;
    else if (status == 1 || status == 2)
        rc = H11_SHIM_PROBE_FAIL;
out:
    free(out);
    return rc;
}

/* One GET of the shim's status page at its listen address. */
static enum h11_shim
h11_request(struct doc *d, const struct doctor_opts *dopt,
            const struct shim_proxy *ls, char *ev, size_t evlen)
{
    char req[600], line[256], addr[64] = "";

    snprintf(req, sizeof(req),
             "GET /status.json HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
             "Connection: close\r\n\r\n",
             strchr(ls->sp_host, ':') != NULL ? "[" : "", ls->sp_host,
             strchr(ls->sp_host, ':') != NULL ? "]" : "",
             (unsigned)ls->sp_port);
    if (fplat_http_probe(ls->sp_host, ls->sp_port, dopt->do_probe_timeout_ms,
                         req, addr, sizeof(addr), line, sizeof(line), d->d_err,
                         sizeof(d->d_err)) == -1) {
        snprintf(ev, evlen, "GET /status.json at %.255s port %u: %.1500s",
                 ls->sp_host, (unsigned)ls->sp_port, d->d_err);
        return H11_SHIM_DOWN;
    }
    if (strncmp(line, "HTTP/", 5) != 0) {
        snprintf(ev, evlen,
                 "GET /status.json at %.255s port %u: not an HTTP answer: "
                 "\"%.100s\"",
                 ls->sp_host, (unsigned)ls->sp_port, line);
        return H11_SHIM_DOWN;
    }
    snprintf(ev, evlen, "GET /status.json at %.255s port %u (%s): \"%.100s\"",
             ls->sp_host, (unsigned)ls->sp_port, addr, line);
    return H11_SHIM_ANSWERS;
}

void
doc_http11(struct doc *d, const struct doctor_opts *dopt)
{
    struct shim_proxy ls = {"", 0};
    struct wcfg_verdict v;
    char ev[2600] = "";
    uint64_t t0 = doc_now(d);
    enum h11_shim shim = H11_SHIM_NONE;

    if (!d->d_value_read) {
        report_step(d->d_rep, "http11", REP_SKIP, 0,
                    "BitsDownloadPriorityForeground not read: SUSDB not "
                    "reached (see susdb)");
        return;
    }
    if (dopt->do_shim_conf != NULL && *dopt->do_shim_conf != '\0') {
        if (dopt->do_shim_bin != NULL && *dopt->do_shim_bin != '\0') {
            shim = h11_probe(d, dopt, ev, sizeof(ev));
        } else if (shimconf_listen(dopt->do_shim_conf, &ls, d->d_err,
                                   sizeof(d->d_err)) == -1) {
            doc_fail(d, "http11", doc_since(d, t0), d->d_err,
                     "fix [listen] in the wsus-shim conf, or [fixer] "
                     "shim_conf");
            return;
        } else {
            if (strcmp(ls.sp_host, "0.0.0.0") == 0)
                snprintf(ls.sp_host, sizeof(ls.sp_host), "127.0.0.1");
            else if (strcmp(ls.sp_host, "::") == 0)
                snprintf(ls.sp_host, sizeof(ls.sp_host), "::1");
            shim = h11_request(d, dopt, &ls, ev, sizeof(ev));
        }
    }
    h11_verdict(d->d_value, shim, ev, &v);
    doc_verdict(d, "http11", doc_since(d, t0), &v);
}
