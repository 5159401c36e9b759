/*
 * probe_print.h - the output of `wsus-shim probe` (docs/probe.md).
 */
#ifndef WSUS_PROBE_PRINT_H
#define WSUS_PROBE_PRINT_H

#include <stddef.h>
#include <stdio.h>

#include "probe_eval.h"

/* One parent's result, as printed. */
struct probe_report {
    int rp_idx;           /* parent index in [upstream] proxy; -1: direct */
    size_t rp_n;          /* parents in all */
    const char *rp_label; /* the parent as configured, host:port */
    const char *rp_addr;  /* the address connected to, or "" */
    const struct probe_conf *rp_pc;
    const struct probe_obs *rp_obs;
    const struct probe_finding *rp_f; /* PC_NCHECKS findings */
    enum probe_verdict rp_v;
};

/* The human report of one parent. */
void probe_print_human(FILE *out, const struct probe_report *r);

/* One element of the "parents" array; last: no trailing comma. */
void probe_print_json(FILE *out, const struct probe_report *r, int last);

/* s as a JSON string: quotes, backslashes, controls and non-ASCII bytes
 * escaped. */
void probe_json_str(FILE *out, const char *s);

#endif
