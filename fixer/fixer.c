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

#define FX_ERR_MAX 2048
#define FX_MANUAL_MAX 1024
#define FX_CONN_MAX 1024

struct fx {
    const struct fixer_env *x_env;
    const struct fixer_opts *x_o;
    struct report *x_rep;
    char x_err[FX_ERR_MAX];
    char x_why[FX_ERR_MAX];       /* the failure that decided the outcome */
    char x_manual[FX_MANUAL_MAX]; /* what to run by hand (exit 3) */
    char x_conn[FX_CONN_MAX];     /* masked connection string */
    int x_bits_left_disabled;     /* disabled, and no --enable-bits */
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

static uint64_t
fx_now(struct fx *x)
{
    const struct fixer_clock *c = x->x_env->fe_clock;

    return c->fc_now_ms(c->fc_ctx);
}

static uint64_t
fx_since(struct fx *x, uint64_t t0)
{
    uint64_t now = fx_now(x);

    return now > t0 ? now - t0 : 0;
}

/* Add "; " and the manual command for act on name to x_manual. */
static void
fx_manual(struct fx *x, enum svc_action act, const char *name)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    char cmd[FX_MANUAL_MAX / 2];
    size_t used = strlen(x->x_manual);

    svc->so_manual(svc->so_ctx, act, name, cmd, sizeof(cmd));
    snprintf(x->x_manual + used, sizeof(x->x_manual) - used, "%s%s",
             used ? "; then " : "", cmd);
}

/*
 * Poll name's state until it is want, from t0 for at most timeout_ms.
 * Query failures and unknown states while waiting are not fatal: the
 * service may be between states. The loop is bounded both by the clock
 * and by a count of polls. Returns 0, or -1 with x_err set.
 */
static int
fx_wait(struct fx *x, const char *name, enum svc_state want, uint64_t t0,
        uint32_t timeout_ms)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const struct fixer_clock *clk = x->x_env->fe_clock;
    uint32_t poll = x->x_o->fo_poll_ms ? x->x_o->fo_poll_ms : 1;
    uint64_t max_polls = (uint64_t)timeout_ms / poll + 2;
    enum svc_state st = SVC_UNKNOWN;
    char qerr[FX_ERR_MAX / 2] = "";

    for (uint64_t i = 0; i < max_polls; i++) {
        uint64_t spent;

        qerr[0] = '\0';
        if (svc->so_query(svc->so_ctx, name, &st, qerr, sizeof(qerr)) == 0 &&
            st == want) {
            report_progress_end(x->x_rep);
            return 0;
        }
        spent = fx_since(x, t0);
        if (spent >= timeout_ms)
            break;
        report_progress(
            x->x_rep, "waiting for %s to be %s: %" PRIu64 " of %u s", name,
            svc_state_name(want), spent / 1000, (unsigned)(timeout_ms / 1000));
        clk->fc_sleep_ms(clk->fc_ctx, timeout_ms - spent < poll
                                          ? (uint32_t)(timeout_ms - spent)
                                          : poll);
    }
    report_progress_end(x->x_rep);
    snprintf(x->x_err, sizeof(x->x_err), "%s is still %s after %u s%s%s", name,
             svc_state_name(st), (unsigned)(timeout_ms / 1000),
             qerr[0] ? ": " : "", qerr);
    return -1;
}

/* Make sure name is running: query, start if needed, wait for RUNNING.
 * Records one step named step. Returns 0 or -1. */
static int
fx_ensure_running(struct fx *x, const char *step, const char *name)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    uint32_t timeout = x->x_o->fo_start_timeout_ms;
    uint64_t t0 = fx_now(x);
    enum svc_state st;

    if (svc->so_query(svc->so_ctx, name, &st, x->x_err, sizeof(x->x_err)) ==
        0) {
        if (st == SVC_RUNNING) {
            report_step(x->x_rep, step, REP_OK, fx_since(x, t0),
                        "%s is running", name);
            return 0;
        }
        if (st == SVC_ABSENT) {
            report_step(x->x_rep, step, REP_FAIL, fx_since(x, t0),
                        "%s is not installed", name);
            return -1;
        }
    }
    if (svc->so_start(svc->so_ctx, name, timeout, x->x_err, sizeof(x->x_err)) ==
            -1 ||
        fx_wait(x, name, SVC_RUNNING, t0, timeout) == -1) {
        report_step(x->x_rep, step, REP_FAIL, fx_since(x, t0), "start %s: %s",
                    name, x->x_err);
        return -1;
    }
    report_step(x->x_rep, step, REP_OK, fx_since(x, t0), "%s started", name);
    return 0;
}

/* BITS: enabled (when the backend can tell), then running. */
static int
fx_ensure_bits(struct fx *x)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    const char *bits = x->x_o->fo_bits;
    uint64_t t0 = fx_now(x);
    int disabled = 0, r;

    r = svc->so_disabled(svc->so_ctx, bits, &disabled, x->x_err,
                         sizeof(x->x_err));
    if (r == -1) {
        report_step(x->x_rep, "bits-enable", REP_FAIL, fx_since(x, t0),
                    "start type of %s: %s", bits, x->x_err);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    }
    if (r == 1) {
        report_step(x->x_rep, "bits-enable", REP_SKIP, fx_since(x, t0),
                    "the service backend cannot tell whether %s is "
                    "disabled",
                    bits);
    } else if (!disabled) {
        report_step(x->x_rep, "bits-enable", REP_OK, fx_since(x, t0),
                    "%s is not disabled", bits);
    } else if (!x->x_o->fo_enable_bits) {
        /* A disabled BITS may be an administrator's choice: it is changed
         * only on request. WSUS downloads nothing until it runs. */
        report_step(x->x_rep, "bits-enable", REP_FAIL, fx_since(x, t0),
                    "%s is disabled, so WSUS cannot download; it was left "
                    "disabled (run again with --enable-bits to have it "
                    "set to start automatically)",
                    bits);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        x->x_bits_left_disabled = 1;
        return -1;
    } else if (svc->so_enable(svc->so_ctx, bits, x->x_err, sizeof(x->x_err)) ==
               -1) {
        report_step(x->x_rep, "bits-enable", REP_FAIL, fx_since(x, t0),
                    "%s is disabled and could not be enabled: %s", bits,
                    x->x_err);
        fx_manual(x, SVC_ACT_ENABLE, bits);
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    } else {
        report_step(x->x_rep, "bits-enable", REP_OK, fx_since(x, t0),
                    "%s was disabled; set to start automatically", bits);
    }
    if (fx_ensure_running(x, "bits-start", bits) == -1) {
        fx_manual(x, SVC_ACT_START, bits);
        return -1;
    }
    return 0;
}

/* Step 5: BITS, then WSUSService when it ran before. Both are tried
 * whatever the other did. Returns 0, or -1 with x_manual filled. */
static int
fx_restore(struct fx *x, int was_running)
{
    const char *name = x->x_o->fo_service;
    int rc = 0;

    if (fx_ensure_bits(x) == -1)
        rc = -1;
    if (!was_running) {
        report_step(x->x_rep, "service-start", REP_SKIP, 0,
                    "%s was stopped before; left stopped", name);
    } else if (fx_ensure_running(x, "service-start", name) == -1) {
        fx_manual(x, SVC_ACT_START, name);
        rc = -1;
    }
    return rc;
}

static int
fx_connect_read(struct fx *x, int64_t *value)
{
    const struct db_ops *db = x->x_env->fe_db;
    uint64_t t0 = fx_now(x);

    if (db->do_connect(db->do_ctx, x->x_o->fo_connection, x->x_err,
                       sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "db-connect", REP_FAIL, fx_since(x, t0), "%s: %s",
                    x->x_conn, x->x_err);
        return -1;
    }
    report_step(x->x_rep, "db-connect", REP_OK, fx_since(x, t0), "%s",
                x->x_conn);
    t0 = fx_now(x);
    if (db->do_read(db->do_ctx, value, x->x_err, sizeof(x->x_err)) == -1) {
        report_step(x->x_rep, "db-read", REP_FAIL, fx_since(x, t0), "%s",
                    x->x_err);
        return -1;
    }
    report_step(x->x_rep, "db-read", REP_OK, fx_since(x, t0),
                "BitsDownloadPriorityForeground = %" PRId64, *value);
    return 0;
}

/* Step 4: one transaction. Returns 0 when committed; -1 after rolling
 * back (x_err says why). */
static int
fx_transaction(struct fx *x, int64_t target)
{
    const struct db_ops *db = x->x_env->fe_db;
    char rberr[FX_ERR_MAX / 2];
    uint64_t t0 = fx_now(x);
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
    report_step(x->x_rep, "db-update", REP_OK, fx_since(x, t0),
                "BitsDownloadPriorityForeground = %" PRId64
                " (1 row, read back, committed)",
                target);
    return 0;
fail:
    report_step(x->x_rep, step, REP_FAIL, fx_since(x, t0), "%s", x->x_err);
    memcpy(x->x_why, x->x_err, sizeof(x->x_why));
    t0 = fx_now(x);
    if (db->do_rollback(db->do_ctx, rberr, sizeof(rberr)) == -1)
        report_step(x->x_rep, "db-rollback", REP_WARN, fx_since(x, t0),
                    "%s (the driver discards the open transaction on "
                    "disconnect)",
                    rberr);
    else
        report_step(x->x_rep, "db-rollback", REP_OK, fx_since(x, t0),
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

int
fixer_apply(const struct fixer_env *env, const struct fixer_opts *o,
            struct report *rep)
{
    const struct svc_ops *svc = env->fe_svc;
    const struct db_ops *db = env->fe_db;
    const struct state_ops *sto = env->fe_state;
    const char *cmd = o->fo_cmd == FIXER_CMD_REVERT ? "revert" : "apply";
    const char *name = o->fo_service;
    struct fixer_state st;
    struct fx x;
    enum svc_state sst = SVC_UNKNOWN;
    int64_t cur = 0, target = o->fo_value;
    int rc = FIXER_EXIT_FAILED, locked = 0, connected = 0, saved = 0;
    int was_running = 0, changed = 0, restored = 1;
    uint64_t t0;

    memset(&x, 0, sizeof(x));
    x.x_env = env;
    x.x_o = o;
    x.x_rep = rep;
    connstr_mask(o->fo_connection, x.x_conn, sizeof(x.x_conn));
    report_command(rep, o->fo_dry_run ? (o->fo_cmd == FIXER_CMD_REVERT
                                             ? "revert --dry-run"
                                             : "apply --dry-run")
                                      : cmd);

    /* 1. lock, state, read */
    t0 = fx_now(&x);
    if (!o->fo_dry_run) {
        if (sto->st_lock(sto->st_ctx, x.x_err, sizeof(x.x_err)) == -1) {
            report_step(rep, "lock", REP_FAIL, fx_since(&x, t0), "%s", x.x_err);
            report_finish(rep, rc,
                          "%s: another run holds the lock; "
                          "nothing changed",
                          cmd);
            return rc;
        }
        locked = 1;
        report_step(rep, "lock", REP_OK, fx_since(&x, t0), "run lock held");
    }
    t0 = fx_now(&x);
    if (sto->st_load(sto->st_ctx, &st, x.x_err, sizeof(x.x_err)) == -1) {
        report_step(rep, "state-load", REP_FAIL, fx_since(&x, t0), "%s",
                    x.x_err);
        report_finish(rep, rc,
                      "%s: the state file cannot be read; nothing "
                      "changed",
                      cmd);
        goto out;
    }
    if (o->fo_cmd == FIXER_CMD_REVERT) {
        target = st.fs_has_apply ? st.fs_apply_previous : 0;
        report_step(rep, "state-load", REP_OK, fx_since(&x, t0),
                    st.fs_has_apply
                        ? "last apply recorded the previous value %" PRId64
                        : "no apply recorded: reverting to %" PRId64,
                    target);
    } else {
        report_step(rep, "state-load", REP_OK, fx_since(&x, t0), "%s",
                    st.fs_has_apply ? "state file read"
                                    : "no previous apply recorded");
    }
    report_int(rep, "target", target);
    connected = 1;
    if (fx_connect_read(&x, &cur) == -1) {
        report_finish(rep, rc, "%s: cannot read the value; nothing changed",
                      cmd);
        goto out;
    }
    report_int(rep, "value_before", cur);
    if (cur == target) {
        report_step(rep, "compare", REP_OK, 0,
                    "already %" PRId64 "; service untouched", target);
        report_int(rep, "value_after", cur);
        rc = FIXER_EXIT_OK;
        report_finish(rep, rc,
                      "BitsDownloadPriorityForeground is already "
                      "%" PRId64 "; nothing to do",
                      target);
        goto out;
    }
    if (o->fo_dry_run) {
        rc = fx_plan(&x, cur, target);
        goto out;
    }

    /* 2. service state, record */
    t0 = fx_now(&x);
    if (svc->so_query(svc->so_ctx, name, &sst, x.x_err, sizeof(x.x_err)) ==
            -1 ||
        (sst != SVC_RUNNING && sst != SVC_STOPPED)) {
        if (sst == SVC_ABSENT)
            snprintf(x.x_err, sizeof(x.x_err), "%s is not installed", name);
        else if (sst != SVC_UNKNOWN)
            snprintf(x.x_err, sizeof(x.x_err),
                     "%s is %s; try again once it is running or stopped", name,
                     svc_state_name(sst));
        report_step(rep, "service-query", REP_FAIL, fx_since(&x, t0), "%s",
                    x.x_err);
        report_finish(rep, rc, "%s: %s; nothing changed", cmd, x.x_err);
        goto out;
    }
    was_running = sst == SVC_RUNNING;
    report_str(rep, "service_before", svc_state_name(sst));
    report_step(rep, "service-query", REP_OK, fx_since(&x, t0), "%s is %s",
                name, svc_state_name(sst));
    t0 = fx_now(&x);
    st.fs_has_run = 1;
    fx_set_word(st.fs_run_command, cmd);
    st.fs_run_previous = cur;
    st.fs_run_target = target;
    fx_set_word(st.fs_run_service, svc_state_name(sst));
    fx_set_word(st.fs_run_result, "started");
    st.fs_run_time[0] = '\0';
    if (sto->st_save(sto->st_ctx, &st, x.x_err, sizeof(x.x_err)) == -1) {
        report_step(rep, "state-save", REP_FAIL, fx_since(&x, t0), "%s",
                    x.x_err);
        report_finish(rep, rc,
                      "%s: cannot record the state; nothing "
                      "changed",
                      cmd);
        goto out;
    }
    saved = 1;
    report_step(rep, "state-save", REP_OK, fx_since(&x, t0),
                "recorded %s=%s, value %" PRId64, name, svc_state_name(sst),
                cur);

    /* 3. stop */
    if (was_running) {
        t0 = fx_now(&x);
        if (svc->so_stop(svc->so_ctx, name, o->fo_stop_timeout_ms, x.x_err,
                         sizeof(x.x_err)) == -1 ||
            fx_wait(&x, name, SVC_STOPPED, t0, o->fo_stop_timeout_ms) == -1) {
            report_step(rep, "service-stop", REP_FAIL, fx_since(&x, t0), "%s",
                        x.x_err);
            memcpy(x.x_why, x.x_err, sizeof(x.x_why));
            if (fx_ensure_running(&x, "service-start", name) == -1) {
                fx_manual(&x, SVC_ACT_START, name);
                restored = 0;
            }
            goto finish;
        }
        report_step(rep, "service-stop", REP_OK, fx_since(&x, t0), "%s stopped",
                    name);
    } else {
        report_step(rep, "service-stop", REP_SKIP, 0, "%s is already stopped",
                    name);
    }

    /* 4. the transaction */
    if (fx_transaction(&x, target) == 0)
        changed = 1;
    db->do_disconnect(db->do_ctx);
    connected = 0;

    /* 5. restore */
    if (fx_restore(&x, was_running) == -1)
        restored = 0;

finish:
    if (!restored)
        rc = FIXER_EXIT_NOT_RESTORED;
    else
        rc = changed ? FIXER_EXIT_OK : FIXER_EXIT_FAILED;
    report_int(rep, "value_after", changed ? target : cur);
    if (saved) {
        t0 = fx_now(&x);
        fx_set_word(st.fs_run_result, !restored ? "not-restored"
                                      : changed ? "done"
                                                : "failed");
        st.fs_run_time[0] = '\0';
        if (changed && o->fo_cmd == FIXER_CMD_APPLY) {
            st.fs_has_apply = 1;
            st.fs_apply_previous = cur;
            st.fs_apply_value = target;
            st.fs_apply_time[0] = '\0';
        }
        if (sto->st_save(sto->st_ctx, &st, x.x_err, sizeof(x.x_err)) == -1)
            report_step(rep, "state-save", REP_WARN, fx_since(&x, t0),
                        "%s; note the previous value %" PRId64
                        " for a later revert",
                        x.x_err, cur);
        else
            report_step(rep, "state-save", REP_OK, fx_since(&x, t0),
                        "result %s", st.fs_run_result);
    }
    if (!restored)
        report_finish(rep, rc,
                      "ACTION REQUIRED: %s; BitsDownloadPriorityForeground "
                      "is %" PRId64 " (%s). Run by hand: %s",
                      x.x_bits_left_disabled
                          ? (changed ? "the value was changed, but BITS is "
                                       "disabled and was left so"
                                     : "the change failed, and BITS is "
                                       "disabled and was left so")
                      : changed ? "the value was changed but the services "
                                  "were not restored"
                                : "the change failed and the services were "
                                  "not restored",
                      changed ? target : cur, changed ? "changed" : "unchanged",
                      x.x_manual);
    else if (changed)
        report_finish(rep, rc,
                      "BitsDownloadPriorityForeground changed %" PRId64
                      " -> %" PRId64 "; %s %s",
                      cur, target, name,
                      was_running ? "running again" : "left stopped");
    else
        report_finish(rep, rc,
                      "%s failed: %s; nothing changed, %s is %s as before", cmd,
                      x.x_why, name, svc_state_name(sst));
out:
    if (connected)
        db->do_disconnect(db->do_ctx);
    if (locked)
        sto->st_unlock(sto->st_ctx);
    return rc;
}

/* One service's line for status. Returns 0 or -1. */
static int
fx_status_service(struct fx *x, const char *step, const char *name,
                  int check_disabled)
{
    const struct svc_ops *svc = x->x_env->fe_svc;
    uint64_t t0 = fx_now(x);
    enum svc_state st;
    int disabled = 0, r = 1;

    if (svc->so_query(svc->so_ctx, name, &st, x->x_err, sizeof(x->x_err)) ==
            -1 ||
        st == SVC_UNKNOWN) {
        report_step(x->x_rep, step, REP_FAIL, fx_since(x, t0), "%s: %s", name,
                    x->x_err);
        return -1;
    }
    if (check_disabled)
        r = svc->so_disabled(svc->so_ctx, name, &disabled, x->x_err,
                             sizeof(x->x_err));
    report_step(x->x_rep, step, st == SVC_ABSENT ? REP_FAIL : REP_OK,
                fx_since(x, t0), "%s is %s%s", name, svc_state_name(st),
                r == 0 && disabled ? " (disabled)" : "");
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

    memset(&x, 0, sizeof(x));
    x.x_env = env;
    x.x_o = o;
    x.x_rep = rep;
    connstr_mask(o->fo_connection, x.x_conn, sizeof(x.x_conn));
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
