/*
 * doctor_files.c - doctor's missing-updates and approvals checks
 * (doctor_int.h). missing-updates reads SUSDB (db.h do_files) during its
 * own connection; approvals runs `wsusutil listinactiveapprovals` when
 * the tool is there. Each prints the manual step when it cannot tell.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_int.h"
#include "fplat.h"

#define DOC_OUT_MAX 16384

/* The manual steps when SUSDB cannot tell. */
#define DOC_FILES_MANUAL                                                       \
    "look in the Application event log for source Windows Server Update "      \
    "Services, event 364 (\"Content file download failed\"), and run "         \
    "wsusutil reset to have WSUS check its content and download what is "      \
    "missing; on a replica, check on the upstream server that the "            \
    "updates are approved and downloaded"

void
doc_missing_updates(struct doc *d)
{
    const struct db_ops *db = d->d_env->fe_db;
    struct db_files *f;
    char names[1200] = "";
    uint64_t t0 = doc_now(d);

    if (!d->d_value_read) {
        report_step(d->d_rep, "missing-updates", REP_SKIP, 0,
                    "SUSDB not reached (see susdb)");
        report_fix(d->d_rep, "%s", DOC_FILES_MANUAL);
        return;
    }
    if (db->do_files == NULL) {
        report_step(d->d_rep, "missing-updates", REP_SKIP, 0,
                    "the database backend cannot list files");
        report_fix(d->d_rep, "%s", DOC_FILES_MANUAL);
        return;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        doc_fail(d, "missing-updates", 0, "out of memory", DOC_FILES_MANUAL);
        return;
    }
    if (db->do_connect(db->do_ctx, d->d_o->fo_connection, d->d_err,
                       sizeof(d->d_err)) == -1 ||
        db->do_files(db->do_ctx, f, d->d_err, sizeof(d->d_err)) == -1) {
        db->do_disconnect(db->do_ctx);
        doc_fail(d, "missing-updates", doc_since(d, t0), d->d_err,
                 DOC_FILES_MANUAL);
        free(f);
        return;
    }
    db->do_disconnect(db->do_ctx);
    if (!f->df_known) {
        report_step(d->d_rep, "missing-updates", REP_SKIP, doc_since(d, t0),
                    "unknown: %s is not in this SUSDB, so the files WSUS "
                    "still wants cannot be read",
                    f->df_missing);
        report_fix(d->d_rep, "%s", DOC_FILES_MANUAL);
        free(f);
        return;
    }
    for (size_t i = 0; i < f->df_nnames; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                 i > 0 ? ", " : "", f->df_names[i]);
    if (f->df_count == 0) {
        report_step(d->d_rep, "missing-updates", REP_OK, doc_since(d, t0),
                    "every file in tbFileOnServer is in its desired state "
                    "(none waiting or failed)");
    } else {
        report_step(d->d_rep, "missing-updates", REP_WARN, doc_since(d, t0),
                    "%" PRId64 " file(s) in tbFileOnServer not in their "
                    "desired state (waiting for download, or failed): %s%s",
                    f->df_count, names,
                    (int64_t)f->df_nnames < f->df_count ? ", ..." : "");
        report_fix(d->d_rep, "%s", DOC_FILES_MANUAL);
    }
    report_int(d->d_rep, "missing_files", f->df_count);
    free(f);
}

/* The number of non-empty lines of out, and the first one into first. */
static int
doc_lines(const char *out, char *first, size_t len)
{
    int n = 0;

    first[0] = '\0';
    while (*out != '\0') {
        size_t l = strcspn(out, "\r\n"), k = 0;

        while (k < l && (out[k] == ' ' || out[k] == '\t'))
            k++;
        if (k < l) {
            if (n == 0)
                snprintf(first, len, "%.*s", (int)(l - k), out + k);
            n++;
        }
        out += l;
        while (*out == '\r' || *out == '\n')
            out++;
    }
    return n;
}

void
doc_approvals(struct doc *d, const struct doctor_opts *dopt)
{
    static const char manual[] =
        "on the replica, run wsusutil listinactiveapprovals, then "
        "wsusutil removeinactiveapprovals, and compare the approvals with "
        "the upstream server's in the WSUS console";
    const char *tool = dopt->do_wsusutil;
    char cmd[700], first[300], *out = NULL;
    uint64_t t0 = doc_now(d);
    int status = -1, n;
    FILE *fp;

    if (tool == NULL || *tool == '\0') {
        report_step(d->d_rep, "approvals", REP_SKIP, 0,
                    "no [fixer] wsusutil configured");
        report_fix(d->d_rep, "%s", manual);
        return;
    }
    fp = fopen(tool, "rb");
    if (fp == NULL) {
        report_step(d->d_rep, "approvals", REP_SKIP, 0,
                    "%s not found (WSUS's tools are not on this host)", tool);
        report_fix(d->d_rep, "%s", manual);
        return;
    }
    fclose(fp);
    out = malloc(DOC_OUT_MAX);
    if (out == NULL) {
        doc_fail(d, "approvals", 0, "out of memory", manual);
        return;
    }
    snprintf(cmd, sizeof(cmd), "\"%s\" listinactiveapprovals", tool);
    if (fplat_exec(cmd, dopt->do_cwd, dopt->do_command_timeout_ms, out,
                   DOC_OUT_MAX, &status, d->d_err, sizeof(d->d_err)) == -1 ||
        status != 0) {
        char detail[DOC_ERR_MAX + 800];

        if (status != -1)
            doc_lines(out, d->d_err, sizeof(d->d_err));
        snprintf(detail, sizeof(detail), "%s%s%s: %s", cmd,
                 status != -1 ? " exited " : "",
                 status != -1 ? "with an error" : "", d->d_err);
        doc_fail(d, "approvals", doc_since(d, t0), detail, manual);
        free(out);
        return;
    }
    n = doc_lines(out, first, sizeof(first));
    if (n == 0)
        report_step(d->d_rep, "approvals", REP_OK, doc_since(d, t0),
                    "wsusutil listinactiveapprovals printed nothing: no "
                    "inactive approvals");
    else {
        report_step(d->d_rep, "approvals", REP_WARN, doc_since(d, t0),
                    "wsusutil listinactiveapprovals printed %d line(s), "
                    "the first: \"%s\"",
                    n, first);
        report_fix(d->d_rep,
                   "read the list (wsusutil listinactiveapprovals), then "
                   "wsusutil removeinactiveapprovals");
    }
    report_int(d->d_rep, "approvals_lines", n);
    free(out);
}
