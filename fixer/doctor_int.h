/*
 * doctor_int.h - what the files of doctor share (doctor.c runs the
 * checks; doctor_http11.c, doctor_acl.c and doctor_files.c hold the
 * longer ones). Private to doctor: other modules use doctor.h.
 */
#ifndef WSUS_DOCTOR_INT_H
#define WSUS_DOCTOR_INT_H

#include <stdint.h>

#include "doctor.h"
#include "wsuscfg.h"

#define DOC_ERR_MAX 2048

struct doc {
    const struct fixer_env *d_env;
    const struct fixer_opts *d_o;
    struct report *d_rep;
    int d_failed;
    /* BitsDownloadPriorityForeground, when SUSDB was read */
    int64_t d_value;
    int d_value_read;
    /* WSUS's configuration, read while SUSDB was reached */
    struct db_cfgcol d_cfg[WCFG_NCOLS];
    int d_cfg_read;              /* 1: d_cfg holds what SUSDB has */
    char d_cfg_why[DOC_ERR_MAX]; /* else why not */
    char d_err[DOC_ERR_MAX];
};

uint64_t doc_now(struct doc *d);
uint64_t doc_since(struct doc *d, uint64_t t0);
/* A failed step with its fix; the exit code becomes 1. */
void doc_fail(struct doc *d, const char *check, uint64_t ms, const char *detail,
              const char *fix);
/* A verdict as one step (a fail counts as doc_fail). */
void doc_verdict(struct doc *d, const char *step, uint64_t ms,
                 const struct wcfg_verdict *v);

/* The content folder: content_dir, else on Windows WSUS's ContentDir
 * (registry). *source says which. Returns 0, or -1 with d_err set. */
int doc_content_folder(struct doc *d, const struct doctor_opts *dopt, char *buf,
                       size_t len, const char **source);

/* The checks of the other files, in the order doctor runs them. */
void doc_http11(struct doc *d, const struct doctor_opts *dopt);
void doc_content_acl(struct doc *d, const struct doctor_opts *dopt);
void doc_missing_updates(struct doc *d);
void doc_approvals(struct doc *d, const struct doctor_opts *dopt);

#endif
