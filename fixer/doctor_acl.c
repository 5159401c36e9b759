/*
 * doctor_acl.c - the content folder (doctor_int.h): where it is, and the
 * content-acl check, "NETWORK SERVICE and Users may read it". The rights
 * come from the platform layer (fplat_dir_access): on Windows, evaluated
 * from the folder's DACL; on POSIX, the mode bits.
 */
#include <stdio.h>
#include <string.h>

#include "doctor_int.h"
#include "fplat.h"

int
doc_content_folder(struct doc *d, const struct doctor_opts *dopt, char *buf,
                   size_t len, const char **source)
{
    if (dopt->do_content_dir != NULL && *dopt->do_content_dir != '\0') {
        snprintf(buf, len, "%s", dopt->do_content_dir);
        *source = "content_dir";
        return 0;
    }
    *source = "ContentDir in WSUS's registry";
    if (!fplat_is_windows()) {
        snprintf(d->d_err, sizeof(d->d_err), "no content_dir configured");
        return -1;
    }
    return fplat_wsus_content_dir(buf, len, d->d_err, sizeof(d->d_err));
}

void
doc_content_acl(struct doc *d, const struct doctor_opts *dopt)
{
    char dir[600], ev[600], who[64] = "", fix[1600];
    const char *source = "";
    int read[ACL_WHO_N];
    uint64_t t0 = doc_now(d);

    if (doc_content_folder(d, dopt, dir, sizeof(dir), &source) == -1) {
        report_step(d->d_rep, "content-acl", REP_SKIP, doc_since(d, t0), "%s",
                    d->d_err);
        return;
    }
    if (fplat_dir_access(dir, read, ev, sizeof(ev), d->d_err,
                         sizeof(d->d_err)) == -1) {
        doc_fail(d, "content-acl", doc_since(d, t0), d->d_err,
                 "create the folder or point [fixer] content_dir at the "
                 "WSUS content folder");
        return;
    }
    for (int w = 0; w < ACL_WHO_N; w++)
        if (!read[w])
            snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s",
                     who[0] != '\0' ? " and " : "",
                     acl_who_name((enum acl_who)w));
    if (who[0] == '\0') {
        report_step(d->d_rep, "content-acl", REP_OK, doc_since(d, t0),
                    "%s (from %s): NETWORK SERVICE and Users may read it "
                    "[%s]",
                    dir, source, ev);
        return;
    }
    if (fplat_is_windows())
        snprintf(fix, sizeof(fix),
                 "icacls \"%s\" /grant \"*S-1-5-20:(OI)(CI)RX\" /grant "
                 "\"*S-1-5-32-545:(OI)(CI)RX\"",
                 dir);
    else
        snprintf(fix, sizeof(fix), "chmod o+rx '%s'", dir);
    {
        char detail[DOC_ERR_MAX];

        snprintf(detail, sizeof(detail),
                 "%s (from %s): %s may not read it [%s]", dir, source, who, ev);
        doc_fail(d, "content-acl", doc_since(d, t0), detail, fix);
    }
}
