/*
 * http11.c - the http11 verdict (http11.h): one table row per
 * (what is known of the shim, value) pair.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http11.h"

/* Why the workaround costs something: said whenever it is on. */
#define H11_COST                                                               \
    "foreground downloads fail for files over 2 GB and on any resume"

struct h11_row {
    enum rep_result hr_result;
    const char *hr_detail; /* after "BitsDownloadPriorityForeground = N" */
    const char *hr_fix;    /* "" for none */
};

/* [shim][value] */
static const struct h11_row h11_rows[][2] = {
    [H11_SHIM_NONE] =
        {{REP_OK,
          "(background downloads, BITS's default); no shim_conf, so "
          "nothing else was verified",
          ""},
         {REP_WARN,
          "(the workaround is on: " H11_COST
          "); no shim_conf, so whether it is still needed was not "
          "verified",
          "put wsus-shim between WSUS and the parent proxy and set [fixer] "
          "shim_conf; once doctor's http11 check passes, run "
          "wsus-fixer revert"}},
    [H11_SHIM_PROBE_OK] =
        {{REP_OK,
          "and wsus-shim probe passes: background downloads work "
          "through the shim",
          ""},
         {REP_WARN,
          "and wsus-shim probe passes: the workaround is no longer needed, "
          "and " H11_COST,
          "wsus-fixer revert"}},
    [H11_SHIM_PROBE_FAIL] =
        {{REP_FAIL,
          "(background downloads) but wsus-shim probe fails: downloads "
          "through the shim will fail",
          "fix the shim's conf as wsus-shim probe says, or run wsus-fixer "
          "apply as a stopgap"},
         {REP_WARN,
          "(the workaround is on) and wsus-shim probe fails: keep the "
          "workaround until the shim works",
          "fix the shim's conf as wsus-shim probe says; once it passes, run "
          "wsus-fixer revert"}},
    [H11_SHIM_PROBE_ERROR] =
        {{REP_FAIL, "(wsus-shim probe could not be run: nothing was verified)",
          "fix [fixer] shim_bin (the path of wsus-shim), or empty it to have "
          "doctor only check that the shim answers"},
         {REP_FAIL, "(wsus-shim probe could not be run: nothing was verified)",
          "fix [fixer] shim_bin (the path of wsus-shim), or empty it to have "
          "doctor only check that the shim answers"}},
    [H11_SHIM_ANSWERS] =
        {{REP_OK,
          "(background downloads); the shim answers at its listen address "
          "(its parents were not probed: [fixer] shim_bin is empty)",
          "to verify the parents too, run wsus-shim probe (or set [fixer] "
          "shim_bin)"},
         {REP_WARN,
          "(the workaround is on: " H11_COST
          "); the shim answers at its listen address (its parents were not "
          "probed: [fixer] shim_bin is empty)",
          "run wsus-shim probe; when it passes, run wsus-fixer revert"}},
    [H11_SHIM_DOWN] =
        {{REP_FAIL,
          "(background downloads) but the shim does not answer at its "
          "listen address",
          "start wsus-shim (net start wsus-shim), or run wsus-fixer apply as "
          "a stopgap"},
         {REP_WARN,
          "(the workaround is on) and the shim does not answer at its "
          "listen address: the workaround is still needed",
          "start wsus-shim (net start wsus-shim), run doctor again, and "
          "revert once http11 passes"}},
};

void
h11_verdict(int64_t value, enum h11_shim shim, const char *evidence,
            struct wcfg_verdict *v)
{
    const struct h11_row *row;

    memset(v, 0, sizeof(*v));
    if (value != 0 && value != 1) {
        v->wv_result = REP_SKIP;
        snprintf(v->wv_detail, sizeof(v->wv_detail),
                 "BitsDownloadPriorityForeground not read from SUSDB");
        return;
    }
    row = &h11_rows[shim][value];
    v->wv_result = row->hr_result;
    snprintf(v->wv_detail, sizeof(v->wv_detail),
             "BitsDownloadPriorityForeground = %" PRId64 " %s%s%s%s", value,
             row->hr_detail, evidence != NULL && *evidence != '\0' ? " [" : "",
             evidence != NULL ? evidence : "",
             evidence != NULL && *evidence != '\0' ? "]" : "");
    snprintf(v->wv_fix, sizeof(v->wv_fix), "%s", row->hr_fix);
}
