/*
 * svcctl.h - service control behind a small table of operations, so that the
 * fixer's procedure runs the same against the Windows Service Control
 * Manager (svc_scm.c), configured commands (svc_exec.c) and the fakes of
 * the unit tests. Backends act and report; every decision, and the final
 * wait for a state, belong to the caller (fixer.c). The scm backend also
 * waits inside so_stop and so_start, paced by the services' wait hints,
 * because dependent services must be stopped before, and started after,
 * the service itself.
 */
#ifndef WSUS_SVCCTL_H
#define WSUS_SVCCTL_H

#include <stddef.h>
#include <stdint.h>

enum svc_state {
    SVC_UNKNOWN = 0, /* present but the state could not be told */
    SVC_STOPPED,
    SVC_START_PENDING,
    SVC_STOP_PENDING,
    SVC_RUNNING,
    SVC_PAUSED,
    SVC_ABSENT, /* no such service */
};

/* What so_manual describes. */
enum svc_action {
    SVC_ACT_START = 0,
    SVC_ACT_ENABLE,
};

/*
 * Every operation takes so_ctx first and the service name, returns 0 or
 * -1 with a one-line reason in err.
 *   so_query     the current state. A service that does not exist is
 *                0 with SVC_ABSENT.
 *   so_stop      ask the service to stop. The exec backend returns once
 *                the stop command ended (timeout_ms bounds a command that
 *                hangs) and leaves the wait for STOPPED to the caller.
 *                The scm backend first stops the running services that
 *                depend on it, waits for STOPPED itself within
 *                timeout_ms, and when the service does not stop starts
 *                those dependents again before it fails.
 *   so_start     the same for starting; the scm backend waits for
 *                RUNNING and then starts again the dependents its so_stop
 *                stopped.
 *   so_disabled  *disabled = 1 when its start type is "disabled". Returns
 *                1 (not -1) when the backend cannot tell: the check is
 *                skipped.
 *   so_enable    set a disabled service to start automatically.
 *   so_manual    the command an administrator types to do action by
 *                hand (always fills buf); for the scm backend it also
 *                names the dependents still to be started.
 *   so_close     frees so_ctx.
 */
struct svc_ops {
    void *so_ctx;
    int (*so_query)(void *ctx, const char *name, enum svc_state *st, char *err,
                    size_t errlen);
    int (*so_stop)(void *ctx, const char *name, uint32_t timeout_ms, char *err,
                   size_t errlen);
    int (*so_start)(void *ctx, const char *name, uint32_t timeout_ms, char *err,
                    size_t errlen);
    int (*so_disabled)(void *ctx, const char *name, int *disabled, char *err,
                       size_t errlen);
    int (*so_enable)(void *ctx, const char *name, char *err, size_t errlen);
    void (*so_manual)(void *ctx, enum svc_action act, const char *name,
                      char *buf, size_t len);
    void (*so_close)(void *ctx);
};

/* "running", "stopped", ... for messages and JSON. */
const char *svc_state_name(enum svc_state st);

/* Settings of the exec backend (from [service]). Strings are borrowed
 * and must outlive the backend. */
struct svc_exec_conf {
    const char *sx_stop; /* commands with %s for the service name */
    const char *sx_start;
    const char *sx_status;
    const char *sx_starttype; /* optional */
    const char *sx_enable;    /* optional */
    const char *sx_running;   /* status output words, case-insensitive */
    const char *sx_stopped;
    const char *sx_absent;
    const char *sx_disabled;
    const char *sx_cwd; /* folder commands run in (the conf's) */
    uint32_t sx_query_timeout_ms;
};

/* Fill ops with the exec backend. Returns 0 or -1 (out of memory). */
int svc_exec_open(struct svc_ops *ops, const struct svc_exec_conf *conf,
                  char *err, size_t errlen);

/* Substitute name for every %s in fmt ("%%" is a literal %). Returns a
 * fresh string the caller frees, or NULL (out of memory, or another %
 * sequence). */
char *svc_exec_expand(const char *fmt, const char *name);

/* Map the output of a status command: absent words, then sc's
 * STOP_PENDING / START_PENDING, then stopped words, then running words
 * are looked for (case-insensitive substrings); nothing is SVC_UNKNOWN. */
enum svc_state svc_exec_map(const char *output,
                            const struct svc_exec_conf *conf);

/* Fill ops with the Windows SCM backend. Fails on other systems. */
int svc_scm_open(struct svc_ops *ops, char *err, size_t errlen);

#endif
