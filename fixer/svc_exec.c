/*
 * svc_exec.c - the exec service backend: stop, start and query a service
 * by running commands from the conf with the service name substituted
 * for %s (e.g. "sc \\wsus01 stop %s"). A stop or start command that exits
 * non-zero has failed; the status command's output is mapped to a state
 * by configured words. Used by the Linux tests and the demo, and by
 * administrators driving a remote host. Also holds svc_state_name().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fplat.h"
#include "svcctl.h"

/* Captured output kept per command; the rest is dropped. */
#define SVC_EXEC_OUT_MAX 4096

struct svc_exec {
    struct svc_exec_conf se_conf;
};

const char *
svc_state_name(enum svc_state st)
{
    switch (st) {
    case SVC_STOPPED:
        return "stopped";
    case SVC_START_PENDING:
        return "start-pending";
    case SVC_STOP_PENDING:
        return "stop-pending";
    case SVC_RUNNING:
        return "running";
    case SVC_PAUSED:
        return "paused";
    case SVC_ABSENT:
        return "absent";
    case SVC_UNKNOWN:
        break;
    }
    return "unknown";
}

char *
svc_exec_expand(const char *fmt, const char *name)
{
    size_t n = 0, nlen = strlen(name);
    const char *p;
    char *out, *q;

    for (p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            n++;
            continue;
        }
        p++;
        if (*p == 's')
            n += nlen;
        else if (*p == '%')
            n++;
        else
            return NULL;
    }
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (p = fmt, q = out; *p != '\0'; p++) {
        if (*p != '%') {
            *q++ = *p;
        } else if (*++p == 's') {
            memcpy(q, name, nlen);
            q += nlen;
        } else {
            *q++ = '%';
        }
    }
    *q = '\0';
    return out;
}

/* Case-insensitive substring test; an empty or NULL word never matches. */
static int
svc_exec_has(const char *hay, const char *word)
{
    size_t wl;

    if (word == NULL || *word == '\0')
        return 0;
    wl = strlen(word);
    for (; *hay != '\0'; hay++) {
        size_t i;

        for (i = 0; i < wl && hay[i] != '\0'; i++)
            if (tolower((unsigned char)hay[i]) !=
                tolower((unsigned char)word[i]))
                break;
        if (i == wl)
            return 1;
    }
    return 0;
}

enum svc_state
svc_exec_map(const char *output, const struct svc_exec_conf *conf)
{
    if (svc_exec_has(output, conf->sx_absent))
        return SVC_ABSENT;
    /* sc's transitional states, so waits can say where a service hangs */
    if (svc_exec_has(output, "STOP_PENDING"))
        return SVC_STOP_PENDING;
    if (svc_exec_has(output, "START_PENDING"))
        return SVC_START_PENDING;
    if (svc_exec_has(output, conf->sx_stopped))
        return SVC_STOPPED;
    if (svc_exec_has(output, conf->sx_running))
        return SVC_RUNNING;
    return SVC_UNKNOWN;
}

/* Output made fit for a one-line message: control characters become
 * spaces, runs of spaces collapse, ends are trimmed. */
static void
svc_exec_oneline(char *s)
{
    char *w = s;
    int space = 1;

    for (char *r = s; *r != '\0'; r++) {
        unsigned char c = (unsigned char)*r;

        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (!space)
                *w++ = ' ';
            space = 1;
        } else {
            *w++ = (char)c;
            space = 0;
        }
    }
    if (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

/* Run fmt for name. Returns 0 with the exit code in *status and the
 * one-line output in out, or -1 (not started, killed, timed out). */
static int
svc_exec_run(struct svc_exec *se, const char *fmt, const char *name,
             uint32_t timeout_ms, char *out, size_t outlen, int *status,
             char *err, size_t errlen)
{
    char why[256];
    char *cmd = svc_exec_expand(fmt, name);
    int rc;

    if (cmd == NULL) {
        snprintf(err, errlen, "cannot build the command from \"%s\"", fmt);
        return -1;
    }
    rc = fplat_exec(cmd, se->se_conf.sx_cwd, timeout_ms, out, outlen, status,
                    why, sizeof(why));
    svc_exec_oneline(out);
    if (rc == -1)
        snprintf(err, errlen, "`%s` %s%s%s", cmd, why, *out ? ": " : "", out);
    free(cmd);
    return rc;
}

static int
svc_exec_query(void *ctx, const char *name, enum svc_state *st, char *err,
               size_t errlen)
{
    struct svc_exec *se = ctx;
    char out[SVC_EXEC_OUT_MAX];
    int status;

    *st = SVC_UNKNOWN;
    if (svc_exec_run(se, se->se_conf.sx_status, name,
                     se->se_conf.sx_query_timeout_ms, out, sizeof(out), &status,
                     err, errlen) == -1)
        return -1;
    *st = svc_exec_map(out, &se->se_conf);
    if (*st != SVC_RUNNING && *st != SVC_STOPPED && *st != SVC_ABSENT)
        snprintf(err, errlen, "status of %s not recognized (exit %d): %s", name,
                 status, *out ? out : "(no output)");
    return 0;
}

/* Run an action command; non-zero exit is a failure. */
static int
svc_exec_act(struct svc_exec *se, const char *fmt, const char *what,
             const char *name, uint32_t timeout_ms, char *err, size_t errlen)
{
    char out[SVC_EXEC_OUT_MAX];
    int status;

    if (svc_exec_run(se, fmt, name, timeout_ms, out, sizeof(out), &status, err,
                     errlen) == -1)
        return -1;
    if (status != 0) {
        snprintf(err, errlen, "%s %s: command exited with %d%s%s", what, name,
                 status, *out ? ": " : "", out);
        return -1;
    }
    return 0;
}

static int
svc_exec_stop(void *ctx, const char *name, uint32_t timeout_ms, char *err,
              size_t errlen)
{
    struct svc_exec *se = ctx;

    return svc_exec_act(se, se->se_conf.sx_stop, "stop", name, timeout_ms, err,
                        errlen);
}

static int
svc_exec_start(void *ctx, const char *name, uint32_t timeout_ms, char *err,
               size_t errlen)
{
    struct svc_exec *se = ctx;

    return svc_exec_act(se, se->se_conf.sx_start, "start", name, timeout_ms,
                        err, errlen);
}

static int
svc_exec_disabled(void *ctx, const char *name, int *disabled, char *err,
                  size_t errlen)
{
    struct svc_exec *se = ctx;
    char out[SVC_EXEC_OUT_MAX];
    int status;

    *disabled = 0;
    if (se->se_conf.sx_starttype == NULL || *se->se_conf.sx_starttype == 0)
        return 1;
    if (svc_exec_run(se, se->se_conf.sx_starttype, name,
                     se->se_conf.sx_query_timeout_ms, out, sizeof(out), &status,
                     err, errlen) == -1)
        return -1;
    if (status != 0) {
        snprintf(err, errlen, "start type of %s: command exited with %d%s%s",
                 name, status, *out ? ": " : "", out);
        return -1;
    }
    *disabled = svc_exec_has(out, se->se_conf.sx_disabled);
    return 0;
}

static int
svc_exec_enable(void *ctx, const char *name, char *err, size_t errlen)
{
    struct svc_exec *se = ctx;

    if (se->se_conf.sx_enable == NULL || *se->se_conf.sx_enable == '\0') {
        snprintf(err, errlen,
                 "%s is disabled and no enable_command is configured", name);
        return -1;
    }
    return svc_exec_act(se, se->se_conf.sx_enable, "enable", name,
                        se->se_conf.sx_query_timeout_ms, err, errlen);
}

static void
svc_exec_manual(void *ctx, enum svc_action act, const char *name, char *buf,
                size_t len)
{
    struct svc_exec *se = ctx;
    const char *fmt =
        act == SVC_ACT_START ? se->se_conf.sx_start : se->se_conf.sx_enable;
    char *cmd;

    if (fmt == NULL || *fmt == '\0') {
        snprintf(buf, len, "set the start type of %s to automatic", name);
        return;
    }
    cmd = svc_exec_expand(fmt, name);
    snprintf(buf, len, "%s", cmd != NULL ? cmd : fmt);
    free(cmd);
}

static void
svc_exec_close(void *ctx)
{
    free(ctx);
}

int
svc_exec_open(struct svc_ops *ops, const struct svc_exec_conf *conf, char *err,
              size_t errlen)
{
    struct svc_exec *se = calloc(1, sizeof(*se));

    if (se == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    se->se_conf = *conf;
    ops->so_ctx = se;
    ops->so_query = svc_exec_query;
    ops->so_stop = svc_exec_stop;
    ops->so_start = svc_exec_start;
    ops->so_disabled = svc_exec_disabled;
    ops->so_enable = svc_exec_enable;
    ops->so_manual = svc_exec_manual;
    ops->so_close = svc_exec_close;
    return 0;
}
