/*
 * fixer.c - the apply/revert procedure and status (fixer.h). This file
 * makes every decision and owns every compensation; the operation tables
 * only act. Each step is recorded in the report with its time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "connstr.h"
#include "fixer.h"
#include "fplat.h"
#include "svcwait.h"

#define FX_ERR_MAX 2048
#define FX_MANUAL_MAX 1024
#define FX_CONN_MAX 1024

/* How the services end a run. When more than one applies, the later
 * value wins: it says more about what the administrator must do. */
enum fx_services {
    FX_SVC_RESTORED = 0,       /* as before the run (BITS running) */
    FX_SVC_NOT_RESTORED,       /* a start failed: exit 3 */
    FX_SVC_BITS_LEFT_DISABLED, /* BITS disabled, no --enable-bits: exit 3 */
};

struct fx {
    const struct fixer_env *x_env;
    const struct fixer_opts *x_o;
    struct report *x_rep;
    char x_err[FX_ERR_MAX];
    char x_why[FX_ERR_MAX];       /* the failure that decided the outcome */
    char x_manual[FX_MANUAL_MAX]; /* what to run by hand (exit 3) */
    char x_conn[FX_CONN_MAX];     /* masked connection string */
    /* apply and revert only */
    const char *x_cmd;           /* "apply" or "revert" */
    struct fixer_state x_st;     /* loaded, then saved with the run */
    int64_t x_cur;               /* the value read in step 1 */
    int64_t x_target;            /* the value wanted */
    enum svc_state x_sst;        /* WSUSService before the run */
    int x_connected;             /* disconnect still owed */
    int x_changed;               /* the transaction committed */
    enum fx_services x_services; /* how the services ended */
};

static uint64_t
fixer_sys_now(void *ctx)
{
    (void)ctx;
    return fplat_now_ms();
}

static void
fixer_sys_sleep(void *ctx, uint32_t ms)
{
    (void)ctx;
    fplat_sleep_ms(ms);
}

void
fixer_clock_system(struct fixer_clock *clk)
{
    clk->fc_ctx = NULL;
    clk->fc_now_ms = fixer_sys_now;
    clk->fc_sleep_ms = fixer_sys_sleep;
}

uint64_t
fixer_now(const struct fixer_env *env)
{
    return env->fe_clock->fc_now_ms(env->fe_clock->fc_ctx);
}

uint64_t
fixer_since(const struct fixer_env *env, uint64_t t0)
{
    uint64_t now = fixer_now(env);

    return now > t0 ? now - t0 : 0;
}

/* Set up x for one command; connstr masked once for every message. */
static void
fx_init(struct fx *x, const struct fixer_env *env, const struct fixer_opts *o,
        struct report *rep)
{
    memset(x, 0, sizeof(*x));
    x->x_env = env;
    x->x_o = o;
    x->x_rep = rep;
    x->x_sst = SVC_UNKNOWN;
    connstr_mask(o->fo_connection, x->x_conn, sizeof(x->x_conn));
}

/* Record that the services did not end as before (see enum
 * fx_services). */
static void
fx_services(struct fx *x, enum fx_services s)
{
    if (s > x->x_services)
        x->x_services = s;
}

/* Add the manual command for act on name to x_manual. */
static void
fx_manual(struct fx *x, enum svc_action act, const char *name)
{
    svcwait_manual(x->x_env->fe_svc, act, name, x->x_manual,
                   sizeof(x->x_manual));
}

/* svcwait_state, with x_err. Returns 0 or -1. */
static int
fx_wait(struct fx *x, const char *name, enum svc_state want, uint64_t t0,
        uint32_t timeout_ms)
{
    return svcwait_state(x->x_env, x->x_o, x->x_rep, name, want, t0, timeout_ms,
                         x->x_err, sizeof(x->x_err));
}

/* Make sure name is running: query, start if needed, wait for RUNNING.
 * Records one step named step. Returns 0 or -1. */
static int
fx_ensure_running(struct fx *x, const char *step, const char *name)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    uint32_t timeout = x->x_o->fo_start_timeout_ms;
    uint64_t t0 = fixer_now(x->x_env);
    enum svc_state st;

    if (svc->so_query(svc->so_ctx, name, &st, x->x_err, sizeof(x->x_err)) ==
        0) {
        if (st == SVC_RUNNING) {
            report_step(x->x_rep, step, REP_OK, fixer_since(x->x_env, t0),
                        "%s is running", name);
            return 0;
        }
        if (st == SVC_ABSENT) {
            report_step(x->x_rep, step, REP_FAIL, fixer_since(x->x_env, t0),
                        "%s is not installed", name);
            return -1;
        }
    }
    if (svc->so_start(svc->so_ctx, name, timeout, x->x_err, sizeof(x->x_err)) ==
            -1 ||
        fx_wait(x, name, SVC_RUNNING, t0, timeout) == -1) {
        report_step(x->x_rep, step, REP_FAIL, fixer_since(x->x_env, t0),
                    "start %s: %s", name, x->x_err);
        return -1;
    }
    report_step(x->x_rep, step, REP_OK, fixer_since(x->x_env, t0), "%s started",
                name);
    return 0;
}

/* BITS: enabled (when the backend can tell), then running. */
static int
fx_ensure_bits(struct fx *x)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const char *bits = x->x_o->fo_bits;
    uint64_t t0 = fixer_now(x->x_env);
    int disabled = 0, r;

    r = svc->so_disabled(svc->so_ctx, bits, &disabled, x->x_err,
                         sizeof(x->x_err));
    if (r == -1) {
        report_step(x->x_rep, "bits-enable", REP_FAIL,
                    fixer_since(x->x_env, t0), "start type of %s: %s", bits,
                    x->x_err);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    }
    if (r == 1) {
        report_step(x->x_rep, "bits-enable", REP_SKIP,
                    fixer_since(x->x_env, t0),
                    "the service backend cannot tell whether %s is "
                    "disabled",
                    bits);
    } else if (!disabled) {
        report_step(x->x_rep, "bits-enable", REP_OK, fixer_since(x->x_env, t0),
                    "%s is not disabled", bits);
    } else if (!x->x_o->fo_enable_bits) {
        /* A disabled BITS may be an administrator's choice: it is changed
         * only on request. WSUS downloads nothing until it runs. */
        report_step(x->x_rep, "bits-enable", REP_FAIL,
                    fixer_since(x->x_env, t0),
                    "%s is disabled, so WSUS cannot download; it was left "
                    "disabled (run again with --enable-bits to have it "
                    "set to start automatically)",
                    bits);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        fx_services(x, FX_SVC_BITS_LEFT_DISABLED);
        return -1;
    } else if (svc->so_enable(svc->so_ctx, bits, x->x_err, sizeof(x->x_err)) ==
               -1) {
        report_step(
            x->x_rep, "bits-enable", REP_FAIL, fixer_since(x->x_env, t0),
            "%s is disabled and could not be enabled: %s", bits, x->x_err);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    } else {
        report_step(x->x_rep, "bits-enable", REP_OK, fixer_since(x->x_env, t0),
                    "%s was disabled; set to start automatically", bits);
    }
    if (fx_ensure_running(x, "bits-start", bits) == -1) {
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    }
    return 0;
}

/* Step 6: BITS, then WSUSService when it ran before. Both are tried
 * whatever the other did. A failure is recorded in x_services, with
 * x_manual filled. */
static void
fx_restore(struct fx *x, int was_running)
{
    const char *name = x->x_o->fo_service;

    if (fx_ensure_bits(x) == -1)
        fx_services(x, FX_SVC_NOT_RESTORED);
    if (!was_running) {
        report_step(x->x_rep, "service-start", REP_SKIP, 0,
                    "%s was stopped before; left stopped", name);
    } else if (fx_ensure_running(x, "service-start", name) == -1) {
        fx_manual(x, SVC_ACT_START, name);
        fx_services(x, FX_SVC_NOT_RESTORED);
    }
}

static int
fx_connect_read(struct fx *x, int64_t *value)
{
    const struct db_ops *db = x->x_env->fe_db;
    uint64_t t0 = fixer_now(x->x_env);

    if (db->do_connect(db->do_ctx, x->x_o->fo_connection, x->x_err,
                       sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "db-connect", REP_FAIL, fixer_since(x->x_env, t0),
                    "%s: %s", x->x_conn, x->x_err);
        return -1;
    }
    report_step(x->x_rep, "db-connect", REP_OK, fixer_since(x->x_env, t0), "%s",
                x->x_conn);
    t0 = fixer_now(x->x_env);
    if (db->do_read(db->do_ctx, value, x->x_err, sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "db-read", REP_FAIL, fixer_since(x->x_env, t0),
                    "%s", x->x_err);
        return -1;
    }
    report_step(x->x_rep, "db-read", REP_OK, fixer_since(x->x_env, t0),
                "BitsDownloadPriorityForeground = %" PRId64, *value);
    return 0;
}

/* Step 5: one transaction. Returns 0 when committed; -1 after rolling
 * back (x_why says why). */
static int
fx_transaction(struct fx *x, int64_t target)
{
    const struct db_ops *db = x->x_env->fe_db;
    char rberr[FX_ERR_MAX / 2];
    uint64_t t0 = fixer_now(x->x_env);
    const char *step = "db-begin";
    int64_t rows = -1, back = -1;

    if (db->do_begin(db->do_ctx, x->x_err, sizeof(x->x_err)) == -1)
        goto fail;
    step = "db-update";
    if (db->do_update(db->do_ctx, target, &rows, x->x_err, sizeof(x->x_err)) ==
        -1)
        goto fail;
    if (rows != 1) {
        snprintf(x->x_err, sizeof(x->x_err),
                 "UPDATE changed %" PRId64 " rows; exactly 1 is required",
                 rows);
        goto fail;
    }
    step = "db-verify";
    if (db->do_read(db->do_ctx, &back, x->x_err, sizeof(x->x_err)) == -1)
        goto fail;
    if (back != target) {
        snprintf(x->x_err, sizeof(x->x_err),
                 "read back %" PRId64 " after setting %" PRId64, back, target);
        goto fail;
    }
    step = "db-commit";
    if (db->do_commit(db->do_ctx, x->x_err, sizeof(x->x_err)) == -1)
        goto fail;
    report_step(x->x_rep, "db-update", REP_OK, fixer_since(x->x_env, t0),
                "BitsDownloadPriorityForeground = %" PRId64
                " (1 row, read back, committed)",
                target);
    return 0;
fail:
    report_step(x->x_rep, step, REP_FAIL, fixer_since(x->x_env, t0), "%s",
                x->x_err);
    memcpy(x->x_why, x->x_err, sizeof(x->x_why));
    t0 = fixer_now(x->x_env);
    if (db->do_rollback(db->do_ctx, rberr, sizeof(rberr)) == -1)
        report_step(x->x_rep, "db-rollback", REP_WARN,
                    fixer_since(x->x_env, t0),
                    "%s (the driver discards the open transaction on "
                    "disconnect)",
                    rberr);
    else
        report_step(x->x_rep, "db-rollback", REP_OK, fixer_since(x->x_env, t0),
                    "rolled back; value unchanged");
    return -1;
}

/* The plan for --dry-run. */
static int
fx_plan(struct fx *x, int64_t cur, int64_t target)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const struct fixer_opts *o = x->x_o;
    enum svc_state st;

    if (svc->so_query(svc->so_ctx, o->fo_service, &st, x->x_err,
                      sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "service-query", REP_FAIL, 0, "%s: %s",
                    o->fo_service, x->x_err);
        report_finish(x->x_rep, FIXER_EXIT_FAILED,
                      "dry run: cannot read the state of %s", o->fo_service);
        return FIXER_EXIT_FAILED;
    }
    report_step(x->x_rep, "service-query", REP_OK, 0, "%s is %s", o->fo_service,
                svc_state_name(st));
    report_step(x->x_rep, "plan", REP_INFO, 0,
                "would lock and record %s=%s, value %" PRId64
                " in the state file",
                o->fo_service, svc_state_name(st), cur);
    if (st == SVC_RUNNING)
        report_step(x->x_rep, "plan", REP_INFO, 0,
                    "would stop %s and wait up to %u s for STOPPED",
                    o->fo_service, (unsigned)(o->fo_stop_timeout_ms / 1000));
    report_step(x->x_rep, "plan", REP_INFO, 0,
                "would run in one transaction: %s [? = %" PRId64
                "], require 1 row, read back, commit",
                db_sql_update(), target);
    report_step(x->x_rep, "plan", REP_INFO, 0,
                o->fo_enable_bits
                    ? "would make sure %s is not disabled (enabling it if "
                      "it is) and is running"
                    : "would make sure %s is running; a disabled one is "
                      "reported and left disabled (--enable-bits enables "
                      "it)",
                o->fo_bits);
    if (st == SVC_RUNNING)
        report_step(x->x_rep, "plan", REP_INFO, 0,
                    "would start %s and wait up to %u s for RUNNING",
                    o->fo_service, (unsigned)(o->fo_start_timeout_ms / 1000));
    report_int(x->x_rep, "value_before", cur);
    report_int(x->x_rep, "target", target);
    report_str(x->x_rep, "service_before", svc_state_name(st));
    report_finish(x->x_rep, FIXER_EXIT_OK,
                  "dry run: would change BitsDownloadPriorityForeground "
                  "%" PRId64 " -> %" PRId64 "; nothing was changed",
                  cur, target);
    return FIXER_EXIT_OK;
}

static void
fx_set_word(char *dst, const char *src)
{
    snprintf(dst, STATE_WORD_MAX, "%s", src);
}

/* Step 1, first half: the run lock. Its compensation is st_unlock in
 * fixer_apply. Returns 0, or -1 with the final message reported. */
static int
fx_step_lock(struct fx *x)
{
    const struct state_ops *sto = x->x_env->fe_state;
    uint64_t t0 = fixer_now(x->x_env);

    if (sto->st_lock(sto->st_ctx, x->x_err, sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "lock", REP_FAIL, fixer_since(x->x_env, t0), "%s",
                    x->x_err);
        report_finish(x->x_rep, FIXER_EXIT_FAILED,
                      "%s: another run holds the lock; nothing changed",
                      x->x_cmd);
        return -1;
    }
    report_step(x->x_rep, "lock", REP_OK, fixer_since(x->x_env, t0),
                "run lock held");
    return 0;
}

/* Step 1, second half: the state file (revert's target comes from it),
 * then connect and read the value. From the connect on, the compensation
 * is the disconnect in fixer_apply (x_connected). Returns 0, or -1 with
 * the final message reported. */
static int
fx_step_read(struct fx *x)
{
    const struct state_ops *sto = x->x_env->fe_state;
    struct fixer_state *st = &x->x_st;
    uint64_t t0 = fixer_now(x->x_env);

    if (sto->st_load(sto->st_ctx, st, x->x_err, sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "state-load", REP_FAIL, fixer_since(x->x_env, t0),
                    "%s", x->x_err);
        report_finish(x->x_rep, FIXER_EXIT_FAILED,
                      "%s: the state file cannot be read; nothing changed",
                      x->x_cmd);
        return -1;
    }
    if (x->x_o->fo_cmd == FIXER_CMD_REVERT) {
        x->x_target = st->fs_has_apply ? st->fs_apply_previous : 0;
        report_step(x->x_rep, "state-load", REP_OK, fixer_since(x->x_env, t0),
                    st->fs_has_apply
                        ? "last apply recorded the previous value %" PRId64
                        : "no apply recorded: reverting to %" PRId64,
                    x->x_target);
    } else {
        report_step(x->x_rep, "state-load", REP_OK, fixer_since(x->x_env, t0),
                    "%s",
                    st->fs_has_apply ? "state file read"
                                     : "no previous apply recorded");
    }
    report_int(x->x_rep, "target", x->x_target);
    x->x_connected = 1;
    if (fx_connect_read(x, &x->x_cur) == -1) {
        report_finish(x->x_rep, FIXER_EXIT_FAILED,
                      "%s: cannot read the value; nothing changed", x->x_cmd);
        return -1;
    }
    report_int(x->x_rep, "value_before", x->x_cur);
    return 0;
}

/* Step 2: the value is already the target. Nothing to compensate. */
static int
fx_step_already(struct fx *x)
{
    report_step(x->x_rep, "compare", REP_OK, 0,
                "already %" PRId64 "; service untouched", x->x_target);
    report_int(x->x_rep, "value_after", x->x_cur);
    report_finish(x->x_rep, FIXER_EXIT_OK,
                  "BitsDownloadPriorityForeground is already %" PRId64
                  "; nothing to do",
                  x->x_target);
    return FIXER_EXIT_OK;
}

/* Step 3: WSUSService must be running or stopped; record its state and
 * the value in the state file (result "started"). Nothing to compensate:
 * nothing has changed yet. Returns 0, or -1 with the final message
 * reported. */
static int
fx_step_record(struct fx *x)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const struct state_ops *sto = x->x_env->fe_state;
    const char *name = x->x_o->fo_service;
    struct fixer_state *st = &x->x_st;
    enum svc_state sst = SVC_UNKNOWN;
    uint64_t t0 = fixer_now(x->x_env);

    if (svc->so_query(svc->so_ctx, name, &sst, x->x_err, sizeof(x->x_err)) ==
            -1 ||
        (sst != SVC_RUNNING && sst != SVC_STOPPED)) {
        if (sst == SVC_ABSENT)
            snprintf(x->x_err, sizeof(x->x_err), "%s is not installed", name);
        else if (sst != SVC_UNKNOWN)
            snprintf(x->x_err, sizeof(x->x_err),
                     "%s is %s; try again once it is running or stopped", name,
                     svc_state_name(sst));
        report_step(x->x_rep, "service-query", REP_FAIL,
                    fixer_since(x->x_env, t0), "%s", x->x_err);
        report_finish(x->x_rep, FIXER_EXIT_FAILED, "%s: %s; nothing changed",
                      x->x_cmd, x->x_err);
        return -1;
    }
    x->x_sst = sst;
    report_str(x->x_rep, "service_before", svc_state_name(sst));
    report_step(x->x_rep, "service-query", REP_OK, fixer_since(x->x_env, t0),
                "%s is %s", name, svc_state_name(sst));
    t0 = fixer_now(x->x_env);
    st->fs_has_run = 1;
    fx_set_word(st->fs_run_command, x->x_cmd);
    st->fs_run_previous = x->x_cur;
    st->fs_run_target = x->x_target;
    fx_set_word(st->fs_run_service, svc_state_name(sst));
    fx_set_word(st->fs_run_result, "started");
    st->fs_run_time[0] = '\0';
    if (sto->st_save(sto->st_ctx, st, x->x_err, sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "state-save", REP_FAIL, fixer_since(x->x_env, t0),
                    "%s", x->x_err);
        report_finish(x->x_rep, FIXER_EXIT_FAILED,
                      "%s: cannot record the state; nothing changed", x->x_cmd);
        return -1;
    }
    report_step(x->x_rep, "state-save", REP_OK, fixer_since(x->x_env, t0),
                "recorded %s=%s, value %" PRId64, name, svc_state_name(sst),
                x->x_cur);
    return 0;
}

/* Step 4: if it was running, stop WSUSService and wait for STOPPED. The
 * compensation, on failure: make sure it runs again (x_services says
 * whether that worked). Returns 0, or -1: the database must not be
 * touched. */
static int
fx_step_stop(struct fx *x)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const char *name = x->x_o->fo_service;
    uint32_t timeout = x->x_o->fo_stop_timeout_ms;
    uint64_t t0 = fixer_now(x->x_env);

    if (x->x_sst != SVC_RUNNING) {
        report_step(x->x_rep, "service-stop", REP_SKIP, 0,
                    "%s is already stopped", name);
        return 0;
    }
    if (svc->so_stop(svc->so_ctx, name, timeout, x->x_err, sizeof(x->x_err)) !=
            -1 &&
        fx_wait(x, name, SVC_STOPPED, t0, timeout) != -1) {
        report_step(x->x_rep, "service-stop", REP_OK, fixer_since(x->x_env, t0),
                    "%s stopped", name);
        return 0;
    }
    report_step(x->x_rep, "service-stop", REP_FAIL, fixer_since(x->x_env, t0),
                "%s", x->x_err);
    memcpy(x->x_why, x->x_err, sizeof(x->x_why));
    if (fx_ensure_running(x, "service-start", name) == -1) {
        fx_manual(x, SVC_ACT_START, name);
        fx_services(x, FX_SVC_NOT_RESTORED);
    }
    return -1;
}

/* Step 5: the transaction (its compensation, the rollback, is inside
 * fx_transaction), then the disconnect: nothing stays open while the
 * services start. */
static void
fx_step_change(struct fx *x)
{
    const struct db_ops *db = x->x_env->fe_db;

    x->x_changed = fx_transaction(x, x->x_target) == 0;
    db->do_disconnect(db->do_ctx);
    x->x_connected = 0;
}

/* How a run that got past step 3 ends. */
enum fx_outcome {
    FX_FAILED = 0,           /* value unchanged, services as before */
    FX_DONE,                 /* value changed, services as before */
    FX_FAILED_NOT_RESTORED,  /* value unchanged, a service not restored */
    FX_CHANGED_NOT_RESTORED, /* value changed, a service not restored */
    FX_FAILED_BITS_LEFT,     /* value unchanged, BITS left disabled */
    FX_CHANGED_BITS_LEFT,    /* value changed, BITS left disabled */
};

/* Per outcome: the exit code, the state file's result, and for exit 3
 * what the ACTION REQUIRED message says happened. */
struct fx_end {
    int fe_exit;
    const char *fe_result;
    const char *fe_what;
};

static const struct fx_end fx_ends[] = {
    [FX_FAILED] = {FIXER_EXIT_FAILED, "failed", NULL},
    [FX_DONE] = {FIXER_EXIT_OK, "done", NULL},
    [FX_FAILED_NOT_RESTORED] =
        {FIXER_EXIT_NOT_RESTORED, "not-restored",
         "the change failed and the services were not restored"},
    [FX_CHANGED_NOT_RESTORED] =
        {FIXER_EXIT_NOT_RESTORED, "not-restored",
         "the value was changed but the services were not restored"},
    [FX_FAILED_BITS_LEFT] =
        {FIXER_EXIT_NOT_RESTORED, "not-restored",
         "the change failed, and BITS is disabled and was left so"},
    [FX_CHANGED_BITS_LEFT] =
        {FIXER_EXIT_NOT_RESTORED, "not-restored",
         "the value was changed, but BITS is disabled and was left so"},
};

static enum fx_outcome
fx_outcome(const struct fx *x)
{
    switch (x->x_services) {
    case FX_SVC_RESTORED:
        return x->x_changed ? FX_DONE : FX_FAILED;
    case FX_SVC_NOT_RESTORED:
        return x->x_changed ? FX_CHANGED_NOT_RESTORED : FX_FAILED_NOT_RESTORED;
    case FX_SVC_BITS_LEFT_DISABLED:
        break;
    }
    return x->x_changed ? FX_CHANGED_BITS_LEFT : FX_FAILED_BITS_LEFT;
}

/* The end of a run that recorded "started": save the result (and, after
 * a successful apply, the value revert puts back), then the final
 * message of the outcome. Returns the exit code. */
static int
fx_step_end(struct fx *x)
{
    const struct state_ops *sto = x->x_env->fe_state;
    const struct fx_end *end = &fx_ends[fx_outcome(x)];
    struct fixer_state *st = &x->x_st;
    const char *name = x->x_o->fo_service;
    int64_t after = x->x_changed ? x->x_target : x->x_cur;
    uint64_t t0 = fixer_now(x->x_env);

    report_int(x->x_rep, "value_after", after);
    fx_set_word(st->fs_run_result, end->fe_result);
    st->fs_run_time[0] = '\0';
    if (x->x_changed && x->x_o->fo_cmd == FIXER_CMD_APPLY) {
        st->fs_has_apply = 1;
        st->fs_apply_previous = x->x_cur;
        st->fs_apply_value = x->x_target;
        st->fs_apply_time[0] = '\0';
    }
    if (sto->st_save(sto->st_ctx, st, x->x_err, sizeof(x->x_err)) == -1)
        report_step(x->x_rep, "state-save", REP_WARN, fixer_since(x->x_env, t0),
                    "%s; note the previous value %" PRId64
                    " for a later revert",
                    x->x_err, x->x_cur);
    else
        report_step(x->x_rep, "state-save", REP_OK, fixer_since(x->x_env, t0),
                    "result %s", st->fs_run_result);
    if (end->fe_exit == FIXER_EXIT_NOT_RESTORED)
        report_finish(x->x_rep, end->fe_exit,
                      "ACTION REQUIRED: %s; BitsDownloadPriorityForeground "
                      "is %" PRId64 " (%s). Run by hand: %s",
                      end->fe_what, after,
                      x->x_changed ? "changed" : "unchanged", x->x_manual);
    else if (end->fe_exit == FIXER_EXIT_OK)
        report_finish(x->x_rep, end->fe_exit,
                      "BitsDownloadPriorityForeground changed %" PRId64
                      " -> %" PRId64 "; %s %s",
                      x->x_cur, x->x_target, name,
                      x->x_sst == SVC_RUNNING ? "running again"
                                              : "left stopped");
    else
        report_finish(x->x_rep, end->fe_exit,
                      "%s failed: %s; nothing changed, %s is %s as before",
                      x->x_cmd, x->x_why, name, svc_state_name(x->x_sst));
    return end->fe_exit;
}

/* Steps 1 (after the lock) to 6 of docs/wsus-fixer.md, "The procedure".
 * Each step reports its own failure; from step 4 on every way out goes
 * through fx_step_end. Returns the exit code. */
static int
fx_steps(struct fx *x)
{
    /* 1. state file, connect, read and check the value */
    if (fx_step_read(x) == -1)
        return FIXER_EXIT_FAILED;
    /* 2. already the target: done, service untouched; or only a plan */
    if (x->x_cur == x->x_target)
        return fx_step_already(x);
    if (x->x_o->fo_dry_run)
        return fx_plan(x, x->x_cur, x->x_target);
    /* 3. WSUSService's state and the value, recorded */
    if (fx_step_record(x) == -1)
        return FIXER_EXIT_FAILED;
    /* 4. stop WSUSService and wait; on failure it is started again */
    if (fx_step_stop(x) == -1)
        return fx_step_end(x);
    /* 5. BEGIN, UPDATE, 1 row, read back, COMMIT or ROLLBACK */
    fx_step_change(x);
    /* 6. BITS running, WSUSService started again if it ran before */
    fx_restore(x, x->x_sst == SVC_RUNNING);
    return fx_step_end(x);
}

/* "apply", "revert --dry-run", ...: [fo_cmd][fo_dry_run]. */
static const char *const fx_command_names[][2] = {
    [FIXER_CMD_APPLY] = {"apply", "apply --dry-run"},
    [FIXER_CMD_REVERT] = {"revert", "revert --dry-run"},
};

int
fixer_apply(const struct fixer_env *env, const struct fixer_opts *o,
            struct report *rep)
{
    const struct db_ops *db = env->fe_db;
    const struct state_ops *sto = env->fe_state;
    struct fx x;
    int rc;

    fx_init(&x, env, o, rep);
    x.x_cmd = fx_command_names[o->fo_cmd][0];
    x.x_target = o->fo_value;
    report_command(rep, fx_command_names[o->fo_cmd][o->fo_dry_run ? 1 : 0]);
    /* 1. the run lock; a dry run takes none */
    if (!o->fo_dry_run && fx_step_lock(&x) == -1)
        return FIXER_EXIT_FAILED;
    rc = fx_steps(&x);
    if (x.x_connected)
        db->do_disconnect(db->do_ctx);
    if (!o->fo_dry_run)
        sto->st_unlock(sto->st_ctx);
    return rc;
}

/* One service's line for status. Returns 0 or -1. */
static int
fx_status_service(struct fx *x, const char *step, const char *name,
                  int check_disabled)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    uint64_t t0 = fixer_now(x->x_env);
    enum svc_state st;
    int disabled = 0, r = 1;

    if (svc->so_query(svc->so_ctx, name, &st, x->x_err, sizeof(x->x_err)) ==
            -1 ||
        st == SVC_UNKNOWN) {
        report_step(x->x_rep, step, REP_FAIL, fixer_since(x->x_env, t0),
                    "%s: %s", name, x->x_err);
        return -1;
    }
    if (check_disabled)
        r = svc->so_disabled(svc->so_ctx, name, &disabled, x->x_err,
                             sizeof(x->x_err));
    report_step(x->x_rep, step, st == SVC_ABSENT ? REP_FAIL : REP_OK,
                fixer_since(x->x_env, t0), "%s is %s%s", name,
                svc_state_name(st), r == 0 && disabled ? " (disabled)" : "");
    report_str(x->x_rep, step, svc_state_name(st));
    return st == SVC_ABSENT ? -1 : 0;
}

int
fixer_status(const struct fixer_env *env, const struct fixer_opts *o,
             struct report *rep)
{
    const struct db_ops *db = env->fe_db;
    const struct state_ops *sto = env->fe_state;
    struct fixer_state st;
    struct fx x;
    int64_t value = 0;
    int bad = 0;

    fx_init(&x, env, o, rep);
    report_command(rep, "status");
    memset(&st, 0, sizeof(st));

    if (fx_status_service(&x, "service", o->fo_service, 0) == -1)
        bad = 1;
    if (fx_status_service(&x, "bits", o->fo_bits, 1) == -1)
        bad = 1;
    if (fx_connect_read(&x, &value) == -1)
        bad = 1;
    else
        report_int(rep, "value", value);
    db->do_disconnect(db->do_ctx);
    if (sto->st_load(sto->st_ctx, &st, x.x_err, sizeof(x.x_err)) == -1) {
        report_step(rep, "state", REP_WARN, 0, "%s", x.x_err);
    } else if (st.fs_has_apply) {
        report_step(rep, "state", REP_INFO, 0,
                    "last apply %s: %" PRId64 " -> %" PRId64
                    " (revert puts back %" PRId64 ")",
                    st.fs_apply_time, st.fs_apply_previous, st.fs_apply_value,
                    st.fs_apply_previous);
        report_int(rep, "last_apply_previous", st.fs_apply_previous);
    } else {
        report_step(rep, "state", REP_INFO, 0, "no apply recorded");
    }
    if (st.fs_has_run && strcmp(st.fs_run_result, "done") != 0 &&
        strcmp(st.fs_run_result, "failed") != 0)
        report_step(rep, "state", REP_WARN, 0,
                    "last %s at %s ended \"%s\": %s was %s and the value "
                    "%" PRId64 " before it",
                    st.fs_run_command, st.fs_run_time, st.fs_run_result,
                    o->fo_service, st.fs_run_service, st.fs_run_previous);
    if (bad) {
        report_finish(rep, FIXER_EXIT_FAILED, "status: some checks failed");
        return FIXER_EXIT_FAILED;
    }
    report_finish(rep, FIXER_EXIT_OK,
                  "BitsDownloadPriorityForeground = %" PRId64, value);
    return FIXER_EXIT_OK;
}
