/*
 * report.c - wsus-fixer's output module (report.h): human lines as steps
 * happen, or one JSON object at the end. Owns copies of every string it
 * records.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Longest detail or message kept. */
#define REPORT_LINE_MAX 2048

static char *report_json_dup(const char *s);
static char *report_vfmt(const char *fmt, va_list ap) REPORT_PRINTF(1, 0);

static char *
report_vfmt(const char *fmt, va_list ap)
{
    char buf[REPORT_LINE_MAX];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    return strdup(buf);
}

const char *
report_result_name(enum rep_result res)
{
    switch (res) {
    case REP_OK:
        return "ok";
    case REP_FAIL:
        return "fail";
    case REP_SKIP:
        return "skip";
    case REP_INFO:
        return "info";
    case REP_WARN:
        return "warn";
    }
    return "?";
}

void
report_init(struct report *r, FILE *out, FILE *err, int json, int verbose,
            int progress)
{
    memset(r, 0, sizeof(*r));
    r->rp_out = out;
    r->rp_err = err;
    r->rp_json = json;
    r->rp_verbose = verbose;
    r->rp_progress = progress && !json;
    r->rp_command = "";
}

void
report_command(struct report *r, const char *command)
{
    r->rp_command = command;
}

void
report_step(struct report *r, const char *name, enum rep_result res,
            uint64_t ms, const char *fmt, ...)
{
    struct rep_step *s;
    va_list ap;
    char *detail;

    va_start(ap, fmt);
    detail = report_vfmt(fmt, ap);
    va_end(ap);
    report_progress_end(r);
    if (!r->rp_json) {
        fprintf(r->rp_out, "%-4s  %-16s %s", report_result_name(res), name,
                detail != NULL ? detail : "");
        if (ms > 0)
            fprintf(r->rp_out, " (%" PRIu64 " ms)", ms);
        fputc('\n', r->rp_out);
        fflush(r->rp_out);
    }
    if (r->rp_nsteps == r->rp_stepcap) {
        size_t cap = r->rp_stepcap ? r->rp_stepcap * 2 : 16;
        struct rep_step *n = realloc(r->rp_steps, cap * sizeof(*n));

        if (n == NULL) {
            free(detail);
            return;
        }
        r->rp_steps = n;
        r->rp_stepcap = cap;
    }
    s = &r->rp_steps[r->rp_nsteps];
    s->rs_name = strdup(name);
    if (s->rs_name == NULL) {
        free(detail);
        return;
    }
    s->rs_result = res;
    s->rs_ms = ms;
    s->rs_detail = detail;
    s->rs_fix = NULL;
    r->rp_nsteps++;
}

void
report_fix(struct report *r, const char *fmt, ...)
{
    va_list ap;
    char *fix;

    va_start(ap, fmt);
    fix = report_vfmt(fmt, ap);
    va_end(ap);
    if (fix == NULL)
        return;
    if (!r->rp_json)
        fprintf(r->rp_out, "      %-16s fix: %s\n", "", fix);
    if (r->rp_nsteps == 0) {
        free(fix);
        return;
    }
    free(r->rp_steps[r->rp_nsteps - 1].rs_fix);
    r->rp_steps[r->rp_nsteps - 1].rs_fix = fix;
}

static void
report_field(struct report *r, const char *key, char *json)
{
    char *k;

    if (json == NULL)
        return;
    if (r->rp_nfields == r->rp_fieldcap) {
        size_t cap = r->rp_fieldcap ? r->rp_fieldcap * 2 : 8;
        struct rep_field *n = realloc(r->rp_fields, cap * sizeof(*n));

        if (n == NULL) {
            free(json);
            return;
        }
        r->rp_fields = n;
        r->rp_fieldcap = cap;
    }
    k = strdup(key);
    if (k == NULL) {
        free(json);
        return;
    }
    r->rp_fields[r->rp_nfields].rf_key = k;
    r->rp_fields[r->rp_nfields].rf_json = json;
    r->rp_nfields++;
}

void
report_str(struct report *r, const char *key, const char *val)
{
    report_field(r, key, report_json_dup(val));
}

void
report_int(struct report *r, const char *key, int64_t val)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, val);
    report_field(r, key, strdup(buf));
}

void
report_debug(struct report *r, const char *fmt, ...)
{
    va_list ap;

    if (!r->rp_verbose)
        return;
    report_progress_end(r);
    fputs("wsus-fixer: ", r->rp_err);
    va_start(ap, fmt);
    vfprintf(r->rp_err, fmt, ap);
    va_end(ap);
    fputc('\n', r->rp_err);
}

void
report_progress(struct report *r, const char *fmt, ...)
{
    va_list ap;

    if (!r->rp_progress)
        return;
    fputs("\r\033[K", r->rp_err);
    va_start(ap, fmt);
    vfprintf(r->rp_err, fmt, ap);
    va_end(ap);
    fflush(r->rp_err);
    r->rp_progress_shown = 1;
}

void
report_progress_end(struct report *r)
{
    if (!r->rp_progress_shown)
        return;
    fputs("\r\033[K", r->rp_err);
    fflush(r->rp_err);
    r->rp_progress_shown = 0;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
report_utf8_len(const unsigned char *s)
{
    size_t n, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The JSON encoding of s, quotes included, in a fresh string (NULL when
 * out of memory). Every input byte needs at most 6 output bytes. */
static char *
report_json_dup(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    char *out = malloc(strlen((const char *)p) * 6 + 3);
    char *q = out;

    if (out == NULL)
        return NULL;
    *q++ = '"';
    while (*p != '\0') {
        size_t n;

        if (*p == '"' || *p == '\\') {
            *q++ = '\\';
            *q++ = (char)*p++;
        } else if (*p == '\n') {
            memcpy(q, "\\n", 2);
            q += 2;
            p++;
        } else if (*p == '\t') {
            memcpy(q, "\\t", 2);
            q += 2;
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(q, 7, "\\u%04x", *p++);
            q += 6;
        } else if ((n = report_utf8_len(p)) == 0) {
            memcpy(q, "\\ufffd", 6);
            q += 6;
            p++;
        } else {
            memcpy(q, p, n);
            q += n;
            p += n;
        }
    }
    *q++ = '"';
    *q = '\0';
    return out;
}

void
report_json_string(FILE *f, const char *s)
{
    char *enc = report_json_dup(s);

    fputs(enc != NULL ? enc : "\"\"", f);
    free(enc);
}

void
report_finish(struct report *r, int exit_code, const char *fmt, ...)
{
    char msg[REPORT_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_progress_end(r);
    if (!r->rp_json) {
        FILE *f = exit_code == 0 ? r->rp_out : r->rp_err;

        if (*msg != '\0')
            fprintf(f, "wsus-fixer: %s\n", msg);
        fflush(f);
        return;
    }
    fputs("{\"command\":", r->rp_out);
    report_json_string(r->rp_out, r->rp_command);
    fprintf(r->rp_out, ",\"exit_code\":%d,\"message\":", exit_code);
    report_json_string(r->rp_out, msg);
    for (size_t i = 0; i < r->rp_nfields; i++) {
        fputc(',', r->rp_out);
        report_json_string(r->rp_out, r->rp_fields[i].rf_key);
        fprintf(r->rp_out, ":%s", r->rp_fields[i].rf_json);
    }
    fputs(",\"steps\":[", r->rp_out);
    for (size_t i = 0; i < r->rp_nsteps; i++) {
        const struct rep_step *s = &r->rp_steps[i];

        fputs(i ? ",{\"step\":" : "{\"step\":", r->rp_out);
        report_json_string(r->rp_out, s->rs_name);
        fprintf(r->rp_out, ",\"result\":\"%s\",\"ms\":%" PRIu64 ",\"detail\":",
                report_result_name(s->rs_result), s->rs_ms);
        report_json_string(r->rp_out, s->rs_detail);
        if (s->rs_fix != NULL) {
            fputs(",\"fix\":", r->rp_out);
            report_json_string(r->rp_out, s->rs_fix);
        }
        fputc('}', r->rp_out);
    }
    fputs("]}\n", r->rp_out);
    fflush(r->rp_out);
}

void
report_free(struct report *r)
{
    for (size_t i = 0; i < r->rp_nsteps; i++) {
        free(r->rp_steps[i].rs_name);
        free(r->rp_steps[i].rs_detail);
        free(r->rp_steps[i].rs_fix);
    }
    free(r->rp_steps);
    for (size_t i = 0; i < r->rp_nfields; i++) {
        free(r->rp_fields[i].rf_key);
        free(r->rp_fields[i].rf_json);
    }
    free(r->rp_fields);
    r->rp_steps = NULL;
    r->rp_fields = NULL;
    r->rp_nsteps = r->rp_nfields = 0;
}
