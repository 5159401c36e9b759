/*
 * restart.c - the restart procedure (restart.h). One function per
 * service step; the outcome is the worst any step reached.
 */
#include <stdio.h>
#include <string.h>

#include "restart.h"
#include "svcwait.h"

#define RS_ERR_MAX 2048
#define RS_MANUAL_MAX 1024

/* How a run ends; a later, larger value wins. */
enum rs_outcome {
    RS_DONE = 0,      /* every service restarted and running */
    RS_NOT_RESTARTED, /* a restart failed; every service running */
    RS_NOT_RUNNING,   /* a service is not running: exit 3 */
};

struct rs {
    const struct fixer_env *r_env;
    const struct fixer_opts *r_o;
    struct report *r_rep;
    enum rs_outcome r_outcome;
    char r_err[RS_ERR_MAX];
    char r_why[RS_ERR_MAX];       /* the first failure */
    char r_manual[RS_MANUAL_MAX]; /* what to run by hand */
};

static void
rs_outcome(struct rs *r, enum rs_outcome o, const char *why)
{
    if (r->r_why[0] == '\0' && why != NULL)
        snprintf(r->r_why, sizeof(r->r_why), "%s", why);
    if (o > r->r_outcome)
        r->r_outcome = o;
}

static void
rs_manual(struct rs *r, enum svc_action act, const char *name)
{
    svcwait_manual(r->r_env->fe_svc, act, name, r->r_manual,
                   sizeof(r->r_manual));
}

/* Start name and wait for RUNNING; one step. Returns 0 or -1 (the
 * manual start is recorded and the outcome is RS_NOT_RUNNING). */
static int
rs_start(struct rs *r, const char *step, const char *name)
{
    const struct svc_ops *svc = r->r_env->fe_svc;
    uint32_t timeout = r->r_o->fo_start_timeout_ms;
    uint64_t t0 = fixer_now(r->r_env);

    if (svc->so_start(svc->so_ctx, name, timeout, r->r_err, sizeof(r->r_err)) ==
            -1 ||
        svcwait_state(r->r_env, r->r_o, r->r_rep, name, SVC_RUNNING, t0,
                      timeout, r->r_err, sizeof(r->r_err)) == -1) {
        report_step(r->r_rep, step, REP_FAIL, fixer_since(r->r_env, t0),
                    "start %s: %s", name, r->r_err);
        rs_manual(r, SVC_ACT_START, name);
        rs_outcome(r, RS_NOT_RUNNING, r->r_err);
        return -1;
    }
    report_step(r->r_rep, step, REP_OK, fixer_since(r->r_env, t0), "%s started",
                name);
    return 0;
}

/* Stop name (when not already stopped) and wait for STOPPED, then start
 * it. A stop that fails is compensated: the service is made to run
 * again, and the run ends "not restarted" at best. */
static void
rs_restart(struct rs *r, const char *prefix, const char *name,
           enum svc_state st)
{
    const struct svc_ops *svc = r->r_env->fe_svc;
    uint32_t timeout = r->r_o->fo_stop_timeout_ms;
    char step[32];
    uint64_t t0 = fixer_now(r->r_env);

    snprintf(step, sizeof(step), "%s-stop", prefix);
    if (st == SVC_STOPPED) {
        report_step(r->r_rep, step, REP_SKIP, 0, "%s was stopped", name);
    } else if (svc->so_stop(svc->so_ctx, name, timeout, r->r_err,
                            sizeof(r->r_err)) == -1 ||
               svcwait_state(r->r_env, r->r_o, r->r_rep, name, SVC_STOPPED, t0,
                             timeout, r->r_err, sizeof(r->r_err)) == -1) {
        report_step(r->r_rep, step, REP_FAIL, fixer_since(r->r_env, t0), "%s",
                    r->r_err);
        rs_outcome(r, RS_NOT_RESTARTED, r->r_err);
        /* compensation: it must run again, whatever state it is in */
        snprintf(step, sizeof(step), "%s-start", prefix);
        if (svc->so_query(svc->so_ctx, name, &st, r->r_err, sizeof(r->r_err)) ==
                0 &&
            st == SVC_RUNNING) {
            report_step(r->r_rep, step, REP_OK, 0, "%s is still running", name);
            return;
        }
        rs_start(r, step, name);
        return;
    } else {
        report_step(r->r_rep, step, REP_OK, fixer_since(r->r_env, t0),
                    "%s stopped", name);
    }
    snprintf(step, sizeof(step), "%s-start", prefix);
    rs_start(r, step, name);
}

/* A disabled BITS: enabled with --enable-bits, else left so (exit 3).
 * Returns 0 when BITS may be started. */
static int
rs_bits_enabled(struct rs *r, const char *bits)
{
    const struct svc_ops *svc = r->r_env->fe_svc;
    uint64_t t0 = fixer_now(r->r_env);
    int disabled = 0, rc;

    rc = svc->so_disabled(svc->so_ctx, bits, &disabled, r->r_err,
                          sizeof(r->r_err));
    if (rc == 1) {
        report_step(
            r->r_rep, "bits-enable", REP_SKIP, fixer_since(r->r_env, t0),
            "the service backend cannot tell whether %s is disabled", bits);
        return 0;
    }
    if (rc == -1) {
        /* the start below tells whether it matters */
        report_step(r->r_rep, "bits-enable", REP_WARN,
                    fixer_since(r->r_env, t0), "start type of %s: %s", bits,
                    r->r_err);
        return 0;
    }
    if (!disabled) {
        report_step(r->r_rep, "bits-enable", REP_OK, fixer_since(r->r_env, t0),
                    "%s is not disabled", bits);
        return 0;
    }
    if (r->r_o->fo_enable_bits &&
        svc->so_enable(svc->so_ctx, bits, r->r_err, sizeof(r->r_err)) == 0) {
        report_step(r->r_rep, "bits-enable", REP_OK, fixer_since(r->r_env, t0),
                    "%s was disabled; set to start automatically", bits);
        return 0;
    }
    if (!r->r_o->fo_enable_bits)
        snprintf(r->r_err, sizeof(r->r_err),
                 "%s is disabled and was left so (--enable-bits sets it to "
                 "start automatically)",
                 bits);
    report_step(r->r_rep, "bits-enable", REP_FAIL, fixer_since(r->r_env, t0),
                "%s", r->r_err);
    rs_manual(r, SVC_ACT_ENABLE, bits);
    rs_manual(r, SVC_ACT_START, bits);
    rs_outcome(r, RS_NOT_RUNNING, r->r_err);
    return -1;
}

/* The state of name before the run; -1 when it cannot be restarted. */
static int
rs_query(struct rs *r, const char *step, const char *name, enum svc_state *st)
{
    const struct svc_ops *svc = r->r_env->fe_svc;
    uint64_t t0 = fixer_now(r->r_env);

    if (svc->so_query(svc->so_ctx, name, st, r->r_err, sizeof(r->r_err)) ==
            -1 ||
        *st == SVC_ABSENT || *st == SVC_UNKNOWN) {
        if (*st == SVC_ABSENT)
            snprintf(r->r_err, sizeof(r->r_err), "%s is not installed", name);
        report_step(r->r_rep, step, REP_FAIL, fixer_since(r->r_env, t0), "%s",
                    r->r_err);
        return -1;
    }
    report_step(r->r_rep, step, REP_OK, fixer_since(r->r_env, t0), "%s is %s",
                name, svc_state_name(*st));
    return 0;
}

static int
rs_finish(struct rs *r)
{
    switch (r->r_outcome) {
    case RS_DONE:
        report_finish(r->r_rep, FIXER_EXIT_OK,
                      "%s and %s restarted; both running", r->r_o->fo_bits,
                      r->r_o->fo_service);
        return FIXER_EXIT_OK;
    case RS_NOT_RESTARTED:
        report_finish(r->r_rep, FIXER_EXIT_FAILED,
                      "restart failed: %s; every service is running", r->r_why);
        return FIXER_EXIT_FAILED;
    case RS_NOT_RUNNING:
        break;
    }
    report_finish(r->r_rep, FIXER_EXIT_NOT_RESTORED,
                  "ACTION REQUIRED: a service is not running (%s). Run by "
                  "hand: %s",
                  r->r_why, r->r_manual);
    return FIXER_EXIT_NOT_RESTORED;
}

int
fixer_restart(const struct fixer_env *env, const struct fixer_opts *o,
              struct report *rep)
{
    const struct state_ops *sto = env->fe_state;
    enum svc_state bst = SVC_UNKNOWN, wst = SVC_UNKNOWN;
    struct rs r;
    uint64_t t0;
    int rc;

    memset(&r, 0, sizeof(r));
    r.r_env = env;
    r.r_o = o;
    r.r_rep = rep;
    report_command(rep, "restart");
    t0 = fixer_now(r.r_env);
    if (sto->st_lock(sto->st_ctx, r.r_err, sizeof(r.r_err)) == -1) {
        report_step(rep, "lock", REP_FAIL, fixer_since(r.r_env, t0), "%s",
                    r.r_err);
        report_finish(rep, FIXER_EXIT_FAILED,
                      "restart: another run holds the lock; nothing done");
        return FIXER_EXIT_FAILED;
    }
    report_step(rep, "lock", REP_OK, fixer_since(r.r_env, t0), "run lock held");
    if (rs_query(&r, "bits-query", o->fo_bits, &bst) == -1 ||
        rs_query(&r, "service-query", o->fo_service, &wst) == -1) {
        report_finish(rep, FIXER_EXIT_FAILED, "restart: %s; nothing done",
                      r.r_err);
        sto->st_unlock(sto->st_ctx);
        return FIXER_EXIT_FAILED;
    }
    report_str(rep, "bits_before", svc_state_name(bst));
    report_str(rep, "service_before", svc_state_name(wst));
    /* 1. BITS (the guide's order), then 2. WSUSService, whatever BITS
     * did: WSUS must run either way. */
    if (rs_bits_enabled(&r, o->fo_bits) == 0)
        rs_restart(&r, "bits", o->fo_bits, bst);
    rs_restart(&r, "service", o->fo_service, wst);
    rc = rs_finish(&r);
    sto->st_unlock(sto->st_ctx);
    return rc;
}
