/*
 * report.h - wsus-fixer's output. Each command records steps (a name, a
 * result, the time it took, a one-line detail, and for doctor a one-line
 * fix) and a few top-level fields. In human mode a step is printed the
 * moment it is recorded; with --json nothing is printed until
 * report_finish(), which writes one JSON object holding every step.
 * Progress during long waits goes to standard error, on a terminal only.
 */
#ifndef WSUS_REPORT_H
#define WSUS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "printf_like.h"

#define REPORT_PRINTF(a, b) PRINTF_LIKE(a, b)

enum rep_result {
    REP_OK = 0,
    REP_FAIL,
    REP_SKIP,
    REP_INFO,
    REP_WARN,
};

struct rep_step {
    char *rs_name;
    enum rep_result rs_result;
    uint64_t rs_ms;
    char *rs_detail;
    char *rs_fix; /* NULL unless report_fix() was called */
};

struct rep_field {
    char *rf_key;
    char *rf_json; /* the value, already JSON-encoded */
};

struct report {
    FILE *rp_out; /* steps and the result */
    FILE *rp_err; /* errors in human mode, progress, -v */
    int rp_json;
    int rp_verbose;
    int rp_progress; /* show progress (a terminal, not --json) */
    int rp_progress_shown;
    const char *rp_command;
    struct rep_step *rp_steps;
    size_t rp_nsteps;
    size_t rp_stepcap;
    int rp_hold;      /* report_hold: the next finish is kept */
    int rp_held;      /* a finish was kept */
    int rp_held_exit; /* its exit code and message */
    char *rp_held_msg;
    struct rep_field *rp_fields;
    size_t rp_nfields;
    size_t rp_fieldcap;
};

/* Set up r; out and err are borrowed. */
void report_init(struct report *r, FILE *out, FILE *err, int json, int verbose,
                 int progress);
/* The command name shown in the output (borrowed, static string). */
void report_command(struct report *r, const char *command);
/* Record one step. Out of memory drops the step from JSON but still
 * prints it. */
void report_step(struct report *r, const char *name, enum rep_result res,
                 uint64_t ms, const char *fmt, ...) REPORT_PRINTF(5, 6);
/* Attach a one-line fix to the last step. */
void report_fix(struct report *r, const char *fmt, ...) REPORT_PRINTF(2, 3);
/* Top-level fields ("value_before": 0, ...). */
void report_str(struct report *r, const char *key, const char *val);
void report_int(struct report *r, const char *key, int64_t val);
/* -v only, to standard error. */
void report_debug(struct report *r, const char *fmt, ...) REPORT_PRINTF(2, 3);
/* One progress line, rewritten in place; report_progress_end clears it. */
void report_progress(struct report *r, const char *fmt, ...)
    REPORT_PRINTF(2, 3);
void report_progress_end(struct report *r);
/* Print the result: the message line (human), or the JSON object. */
void report_finish(struct report *r, int exit_code, const char *fmt, ...)
    REPORT_PRINTF(3, 4);
/* Hold the next report_finish: it keeps its exit code and message
 * instead of printing them, so that a command run after another (apply
 * --sync) adds its steps and the report is finished once. */
void report_hold(struct report *r);
/* The kept finish: 1 with *exit_code and msg (len bytes) filled, or 0
 * when none was kept. Ends the hold either way. */
int report_held(struct report *r, int *exit_code, char *msg, size_t len);
void report_free(struct report *r);

const char *report_result_name(enum rep_result res);

/* Write s as a JSON string (quotes included); invalid UTF-8 becomes
 * U+FFFD. */
void report_json_string(FILE *f, const char *s);

#endif
