/*
 * test_fixer_apply.c - the apply/revert procedure, status and doctor run
 * against fake service, database and state operations (function-pointer
 * tables, no linker tricks) and a fake clock. Every failure path of the
 * procedure (docs/wsus-fixer.md) is one row of apply_cases: the faults
 * the fakes are scripted with, the command line, and what must come out:
 * the exact sequence of operations called, the exit code, the database
 * value, the service states, what was saved to the state file and
 * fragments of the output. test_apply_case runs one row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doctor.h"
#include "fixer.h"
#include "restart.h"
#include "wsuscfg.h"

#define LOG_MAX 128
#define LINE_MAX_ 96
#define OUT_MAX 6 /* output fragments per row */

enum { WSUS = 0, BITS = 1 };

/* One fake service: its faults, and its state as the run changes it. */
struct fake_svc {
    const char *ks_name;
    enum svc_state ks_state; /* in a script, 0 (SVC_UNKNOWN) = running */
    int ks_disabled;
    int ks_type_unknown; /* so_disabled returns 1 */
    int ks_query_fail;
    int ks_stop_fail; /* 1: fails; 2: fails after stopping it */
    int ks_stop_noop; /* stop "succeeds"; 1: still running, 2: stays
                         stop-pending */
    int ks_start_fail;
    int ks_start_noop;
    int ks_enable_fail;
};

/* What the fakes start from and which operations fail. Zero is the
 * default everywhere: both services running, value 0, nothing fails. */
struct fault {
    struct fake_svc ft_wsus;
    struct fake_svc ft_bits;
    /* database */
    int64_t ft_value; /* committed before the run */
    int ft_connect_fail;
    int ft_read_fail_nth; /* 1-based read call that fails; 0 = none */
    int ft_begin_fail;
    int ft_update_fail;
    int64_t ft_extra_rows; /* the UPDATE reports 1 + this many rows */
    int ft_readback_off;   /* verify read returns value + 1 */
    int ft_commit_fail;
    int ft_rollback_fail;
    /* WSUS configuration: NULL = no such column, "NULL" = SQL NULL */
    const char *ft_cfg[WCFG_NCOLS];
    int ft_config_fail;
    /* state */
    int ft_lock_fail;
    int ft_load_fail;
    int ft_save_fail_nth; /* 1-based save that fails; 0 = none */
    struct fixer_state ft_loaded;
};

struct fake {
    char f_log[LOG_MAX][LINE_MAX_];
    int f_nlog;
    struct fault f_ft;
    struct fake_svc f_svc[2];
    /* database */
    int64_t f_value;   /* committed */
    int64_t f_pending; /* inside the transaction */
    int f_in_txn;
    int f_updated;
    int f_nreads;
    /* state */
    int f_nsaves;
    struct fixer_state f_saved;
    /* clock */
    uint64_t f_now;
};

static void
flog(struct fake *f, const char *fmt, ...)
{
    va_list ap;

    assert_true(f->f_nlog < LOG_MAX);
    va_start(ap, fmt);
    vsnprintf(f->f_log[f->f_nlog++], LINE_MAX_, fmt, ap);
    va_end(ap);
}

static struct fake_svc *
fsvc(struct fake *f, const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(f->f_svc[i].ks_name, name) == 0)
            return &f->f_svc[i];
    fail_msg("unknown service %s", name);
    return NULL;
}

/* ---- fake svc ops */

static int
fk_query(void *ctx, const char *name, enum svc_state *st, char *err,
         size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    flog(f, "svc.query %s", name);
    if (s->ks_query_fail) {
        snprintf(err, errlen, "query failed");
        return -1;
    }
    *st = s->ks_state;
    return 0;
}

static int
fk_stop(void *ctx, const char *name, uint32_t timeout_ms, char *err,
        size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    (void)timeout_ms;
    flog(f, "svc.stop %s", name);
    if (s->ks_stop_fail) {
        if (s->ks_stop_fail == 2)
            s->ks_state = SVC_STOPPED;
        snprintf(err, errlen, "stop failed");
        return -1;
    }
    if (s->ks_stop_noop == 2)
        s->ks_state = SVC_STOP_PENDING;
    else if (!s->ks_stop_noop)
        s->ks_state = SVC_STOPPED;
    return 0;
}

static int
fk_start(void *ctx, const char *name, uint32_t timeout_ms, char *err,
         size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    (void)timeout_ms;
    flog(f, "svc.start %s", name);
    if (s->ks_start_fail || s->ks_disabled) {
        snprintf(err, errlen, "start failed");
        return -1;
    }
    if (!s->ks_start_noop)
        s->ks_state = SVC_RUNNING;
    return 0;
}

static int
fk_disabled(void *ctx, const char *name, int *disabled, char *err,
            size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    (void)err;
    (void)errlen;
    flog(f, "svc.disabled %s", name);
    if (s->ks_type_unknown)
        return 1;
    *disabled = s->ks_disabled;
    return 0;
}

static int
fk_enable(void *ctx, const char *name, char *err, size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    flog(f, "svc.enable %s", name);
    if (s->ks_enable_fail) {
        snprintf(err, errlen, "enable failed");
        return -1;
    }
    s->ks_disabled = 0;
    return 0;
}

static void
fk_manual(void *ctx, enum svc_action act, const char *name, char *buf,
          size_t len)
{
    (void)ctx;
    snprintf(buf, len, "%s-by-hand %s",
             act == SVC_ACT_START ? "start" : "enable", name);
}

/* ---- fake db ops */

static int
fk_connect(void *ctx, const char *connstr, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.connect");
    assert_non_null(strstr(connstr, "PWD=hunter2"));
    if (f->f_ft.ft_connect_fail) {
        snprintf(err, errlen, "cannot connect");
        return -1;
    }
    return 0;
}

static int
fk_read(void *ctx, int64_t *value, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.read");
    if (++f->f_nreads == f->f_ft.ft_read_fail_nth) {
        snprintf(err, errlen, "read failed");
        return -1;
    }
    *value = f->f_in_txn && f->f_updated
                 ? f->f_pending + (f->f_ft.ft_readback_off ? 1 : 0)
                 : f->f_value;
    return 0;
}

static int
fk_begin(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.begin");
    if (f->f_ft.ft_begin_fail) {
        snprintf(err, errlen, "begin failed");
        return -1;
    }
    f->f_in_txn = 1;
    return 0;
}

static int
fk_update(void *ctx, int64_t value, int64_t *rows, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.update %lld", (long long)value);
    assert_true(f->f_in_txn);
    if (f->f_ft.ft_update_fail) {
        snprintf(err, errlen, "trigger raised");
        return -1;
    }
    f->f_pending = value;
    f->f_updated = 1;
    *rows = 1 + f->f_ft.ft_extra_rows;
    return 0;
}

static int
fk_commit(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.commit");
    if (f->f_ft.ft_commit_fail) {
        snprintf(err, errlen, "commit failed");
        return -1;
    }
    if (f->f_updated)
        f->f_value = f->f_pending;
    f->f_in_txn = f->f_updated = 0;
    return 0;
}

static int
fk_rollback(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.rollback");
    f->f_in_txn = f->f_updated = 0;
    if (f->f_ft.ft_rollback_fail) {
        snprintf(err, errlen, "rollback failed");
        return -1;
    }
    return 0;
}

static int
fk_config(void *ctx, struct db_cfgcol *cols, size_t ncols, char *err,
          size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.config");
    assert_int_equal(ncols, WCFG_NCOLS);
    if (f->f_ft.ft_config_fail) {
        snprintf(err, errlen, "catalog failed");
        return -1;
    }
    for (size_t i = 0; i < ncols; i++) {
        const char *v = f->f_ft.ft_cfg[i];

        cols[i].cc_found = v != NULL;
        cols[i].cc_null = v != NULL && strcmp(v, "NULL") == 0;
        snprintf(cols[i].cc_table, sizeof(cols[i].cc_table), "%s",
                 v != NULL ? "tbConfigurationB" : "");
        snprintf(cols[i].cc_value, sizeof(cols[i].cc_value), "%s",
                 v != NULL && !cols[i].cc_null ? v : "");
    }
    return 0;
}

static void
fk_disconnect(void *ctx)
{
    struct fake *f = ctx;

    flog(f, "db.disconnect");
    f->f_in_txn = f->f_updated = 0; /* an open transaction is discarded */
}

/* ---- fake state ops */

static int
fk_lock(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "state.lock");
    if (f->f_ft.ft_lock_fail) {
        snprintf(err, errlen, "held by another run");
        return -1;
    }
    return 0;
}

static void
fk_unlock(void *ctx)
{
    flog(ctx, "state.unlock");
}

static int
fk_load(void *ctx, struct fixer_state *st, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "state.load");
    if (f->f_ft.ft_load_fail) {
        snprintf(err, errlen, "state:3: bad value");
        return -1;
    }
    *st = f->f_ft.ft_loaded;
    return 0;
}

static int
fk_save(void *ctx, const struct fixer_state *st, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "state.save %s", st->fs_run_result);
    if (++f->f_nsaves == f->f_ft.ft_save_fail_nth) {
        snprintf(err, errlen, "disk full");
        return -1;
    }
    f->f_saved = *st;
    return 0;
}

/* ---- clock */

static uint64_t
fk_now(void *ctx)
{
    return ((struct fake *)ctx)->f_now;
}

static void
fk_sleep(void *ctx, uint32_t ms)
{
    ((struct fake *)ctx)->f_now += ms;
}

/* ---- harness */

struct harness {
    struct fake h_f;
    struct svc_ops h_svc;
    struct db_ops h_db;
    struct state_ops h_st;
    struct fixer_clock h_clk;
    struct fixer_env h_env;
    struct fixer_opts h_o;
    FILE *h_out;
    char h_text[16384];
};

/* Set up the fakes from ft (NULL: no faults) and apply's options. */
static void
h_init(struct harness *h, const struct fault *ft)
{
    struct fake *f = &h->h_f;

    memset(h, 0, sizeof(*h));
    if (ft != NULL)
        f->f_ft = *ft;
    f->f_svc[WSUS] = f->f_ft.ft_wsus;
    f->f_svc[BITS] = f->f_ft.ft_bits;
    f->f_svc[WSUS].ks_name = "WSUSService";
    f->f_svc[BITS].ks_name = "BITS";
    for (int i = 0; i < 2; i++)
        if (f->f_svc[i].ks_state == SVC_UNKNOWN)
            f->f_svc[i].ks_state = SVC_RUNNING;
    f->f_value = f->f_ft.ft_value;
    f->f_now = 1000000;
    h->h_svc = (struct svc_ops){f,           fk_query,  fk_stop,   fk_start,
                                fk_disabled, fk_enable, fk_manual, NULL};
    h->h_db = (struct db_ops){f,         fk_connect, fk_read,     fk_begin,
                              fk_update, fk_commit,  fk_rollback, fk_disconnect,
                              NULL,      fk_config,  NULL};
    h->h_st = (struct state_ops){f, fk_lock, fk_unlock, fk_load, fk_save, NULL};
    h->h_clk = (struct fixer_clock){f, fk_now, fk_sleep};
    h->h_env = (struct fixer_env){&h->h_svc, &h->h_db, &h->h_st, &h->h_clk};
    h->h_o.fo_cmd = FIXER_CMD_APPLY;
    h->h_o.fo_value = 1;
    h->h_o.fo_connection = "Driver=X;Server=db;UID=sa;PWD=hunter2";
    h->h_o.fo_service = "WSUSService";
    h->h_o.fo_bits = "BITS";
    h->h_o.fo_stop_timeout_ms = 2000;
    h->h_o.fo_start_timeout_ms = 2000;
    h->h_o.fo_poll_ms = 1000;
}

/* Set the options from a command line as wsus-fixer takes it: "apply"
 * or "revert", then any of --dry-run, --enable-bits and --value N. */
static void
h_args(struct harness *h, const char *args)
{
    const char *v = strstr(args, " --value ");

    if (strncmp(args, "revert", 6) == 0)
        h->h_o.fo_cmd = FIXER_CMD_REVERT;
    else
        assert_int_equal(strncmp(args, "apply", 5), 0);
    h->h_o.fo_dry_run = strstr(args, " --dry-run") != NULL;
    h->h_o.fo_enable_bits = strstr(args, " --enable-bits") != NULL;
    if (v != NULL)
        h->h_o.fo_value = strtoll(v + strlen(" --value "), NULL, 10);
}

enum h_cmd { H_APPLY = 0, H_STATUS, H_DOCTOR, H_RESTART };

/* Run one command with a JSON report into h_text; returns the exit code. */
static int
h_run(struct harness *h, enum h_cmd cmd, const struct doctor_opts *d)
{
    struct report rep;
    size_t n;
    int rc;

    h->h_out = tmpfile();
    assert_non_null(h->h_out);
    report_init(&rep, h->h_out, h->h_out, 1, 0, 0);
    if (cmd == H_APPLY)
        rc = fixer_apply(&h->h_env, &h->h_o, &rep);
    else if (cmd == H_STATUS)
        rc = fixer_status(&h->h_env, &h->h_o, &rep);
    else if (cmd == H_RESTART)
        rc = fixer_restart(&h->h_env, &h->h_o, &rep);
    else
        rc = doctor_run(&h->h_env, &h->h_o, d, &rep);
    report_free(&rep);
    rewind(h->h_out);
    n = fread(h->h_text, 1, sizeof(h->h_text) - 1, h->h_out);
    h->h_text[n] = '\0';
    fclose(h->h_out);
    /* the password never reaches the output */
    assert_null(strstr(h->h_text, "hunter2"));
    return rc;
}

/* The log must be exactly the NULL-terminated list. */
static void
h_expect(const struct harness *h, const char *const *want)
{
    int i;

    for (i = 0; want[i] != NULL; i++) {
        if (i >= h->h_f.f_nlog)
            fail_msg("call %d: missing \"%s\"", i, want[i]);
        if (strcmp(h->h_f.f_log[i], want[i]) != 0)
            fail_msg("call %d: got \"%s\", want \"%s\"", i, h->h_f.f_log[i],
                     want[i]);
    }
    if (i != h->h_f.f_nlog)
        fail_msg("call %d: unexpected \"%s\"", i, h->h_f.f_log[i]);
}

static void
h_contains(const struct harness *h, const char *s)
{
    if (strstr(h->h_text, s) == NULL)
        fail_msg("output lacks \"%s\":\n%s", s, h->h_text);
}

/* The calls shared by every run that gets past the value read. */
#define PRELUDE "state.lock", "state.load", "db.connect", "db.read"
#define RECORD "svc.query WSUSService", "state.save started"
#define STOP_OK "svc.stop WSUSService", "svc.query WSUSService"
#define TXN_OK "db.begin", "db.update 1", "db.read", "db.commit"
#define BITS_OK "svc.disabled BITS", "svc.query BITS"
#define START_OK                                                               \
    "svc.query WSUSService", "svc.start WSUSService", "svc.query WSUSService"

#define AFTER_TXN_FAIL                                                         \
    "db.rollback", "db.disconnect", BITS_OK, START_OK, "state.save failed",    \
        "state.unlock", NULL

/* ---- apply and revert: one row per path */

/* An expected number; unset (IS not used) means "not checked". */
struct want_int {
    int wi_set;
    int64_t wi_v;
};
#define IS(v)                                                                  \
    {                                                                          \
        1, (v)                                                                 \
    }

/* The calls, as a NULL-terminated list. */
#define CALLS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct apply_case {
    const char *ap_name;
    struct fault ap_fault; /* the fakes' script */
    const char *ap_args;   /* "apply", "revert", "apply --enable-bits"... */
    int ap_exit;
    const char *const *ap_calls; /* exactly these calls; NULL: unchecked */
    struct want_int ap_value;    /* the database value afterwards */
    struct want_int ap_wsus;     /* WSUSService's state afterwards */
    struct want_int ap_bits;     /* BITS's state afterwards */
    struct want_int ap_bits_disabled;
    struct want_int ap_nsaves;      /* state saves that happened */
    struct want_int ap_has_apply;   /* of the state last saved */
    struct want_int ap_apply_prev;  /* its [last_apply] previous */
    struct want_int ap_apply_value; /* its [last_apply] value */
    const char *ap_run_service;     /* its [last_run]; NULL: unchecked */
    const char *ap_run_result;
    const char *ap_run_command;
    const char *ap_out[OUT_MAX]; /* fragments the JSON output holds */
};

static struct apply_case apply_cases[] = {
    /* -- success paths */
    {.ap_name = "apply_ok",
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_OK,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect",
                       BITS_OK, START_OK, "state.save done", "state.unlock"),
     .ap_value = IS(1),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_has_apply = IS(1),
     .ap_apply_prev = IS(0),
     .ap_apply_value = IS(1),
     .ap_run_service = "running",
     .ap_out = {"\"exit_code\":0",
                "\"step\":\"service-stop\",\"result\":\"ok\"", "PWD=***"}},
    {.ap_name = "apply_already",
     .ap_fault = {.ft_value = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_OK,
     /* no service call, no save */
     .ap_calls = CALLS(PRELUDE, "db.disconnect", "state.unlock"),
     .ap_out = {"already 1"}},
    {.ap_name = "apply_service_was_stopped",
     .ap_fault = {.ft_wsus = {.ks_state = SVC_STOPPED}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_OK,
     /* neither stopped nor started */
     .ap_calls = CALLS(PRELUDE, RECORD, TXN_OK, "db.disconnect", BITS_OK,
                       "state.save done", "state.unlock"),
     .ap_value = IS(1),
     .ap_wsus = IS(SVC_STOPPED),
     .ap_run_service = "stopped"},
    {.ap_name = "apply_bits_disabled_and_stopped",
     .ap_fault = {.ft_bits = {.ks_state = SVC_STOPPED, .ks_disabled = 1}},
     .ap_args = "apply --enable-bits",
     .ap_exit = FIXER_EXIT_OK,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect",
                       "svc.disabled BITS", "svc.enable BITS", "svc.query BITS",
                       "svc.start BITS", "svc.query BITS", START_OK,
                       "state.save done", "state.unlock"),
     .ap_bits_disabled = IS(0),
     .ap_bits = IS(SVC_RUNNING)},
    /* Without --enable-bits a disabled BITS is reported, never changed:
     * the value is applied and WSUSService restarted, and the run ends
     * in exit 3 with the commands that enable and start BITS. */
    {.ap_name = "apply_bits_disabled_left_without_enable_bits",
     .ap_fault = {.ft_bits = {.ks_state = SVC_STOPPED, .ks_disabled = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     /* no svc.enable, no svc.start BITS */
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect",
                       "svc.disabled BITS", START_OK, "state.save not-restored",
                       "state.unlock"),
     .ap_bits_disabled = IS(1),
     .ap_bits = IS(SVC_STOPPED),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_value = IS(1),
     .ap_out = {"\"step\":\"bits-enable\",\"result\":\"fail\"",
                "run again with --enable-bits",
                "the value was changed, but BITS is disabled and was "
                "left so",
                "enable-by-hand BITS; then start-by-hand BITS"}},
    {.ap_name = "apply_bits_type_unknown",
     .ap_fault = {.ft_bits = {.ks_type_unknown = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_OK,
     .ap_out = {"\"step\":\"bits-enable\",\"result\":\"skip\""}},

    /* -- failures before anything changes */
    {.ap_name = "apply_lock_fails",
     .ap_fault = {.ft_lock_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS("state.lock"),
     .ap_out = {"held by another run"}},
    {.ap_name = "apply_state_load_fails",
     .ap_fault = {.ft_load_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS("state.lock", "state.load", "state.unlock")},
    {.ap_name = "apply_connect_fails",
     .ap_fault = {.ft_connect_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS("state.lock", "state.load", "db.connect",
                       "db.disconnect", "state.unlock"),
     .ap_out = {"cannot connect"}},
    {.ap_name = "apply_read_fails",
     .ap_fault = {.ft_read_fail_nth = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, "db.disconnect", "state.unlock")},
    {.ap_name = "apply_query_fails",
     .ap_fault = {.ft_wsus = {.ks_query_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, "svc.query WSUSService", "db.disconnect",
                       "state.unlock"),
     .ap_nsaves = IS(0)},
    {.ap_name = "apply_service_pending",
     .ap_fault = {.ft_wsus = {.ks_state = SVC_STOP_PENDING}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, "svc.query WSUSService", "db.disconnect",
                       "state.unlock"),
     .ap_out = {"stop-pending"}},
    {.ap_name = "apply_service_absent",
     .ap_fault = {.ft_wsus = {.ks_state = SVC_ABSENT}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_out = {"WSUSService is not installed"},
     .ap_nsaves = IS(0)},
    {.ap_name = "apply_state_save_fails",
     .ap_fault = {.ft_save_fail_nth = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     /* never stopped */
     .ap_calls = CALLS(PRELUDE, RECORD, "db.disconnect", "state.unlock"),
     .ap_wsus = IS(SVC_RUNNING)},

    /* -- stop fails: the database is never written */
    {.ap_name = "apply_stop_fails",
     .ap_fault = {.ft_wsus = {.ks_stop_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     /* still running: no start needed, no db.begin */
     .ap_calls =
         CALLS(PRELUDE, RECORD, "svc.stop WSUSService", "svc.query WSUSService",
               "state.save failed", "db.disconnect", "state.unlock"),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_has_apply = IS(0),
     .ap_out = {"\"message\":\"apply failed: stop failed; nothing "
                "changed"}},
    /* 2000 ms timeout, 1000 ms polls: queries at 0, 1000, 2000 */
    {.ap_name = "apply_stop_times_out",
     .ap_fault = {.ft_wsus = {.ks_stop_noop = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, "svc.stop WSUSService",
                       "svc.query WSUSService", "svc.query WSUSService",
                       "svc.query WSUSService", "svc.query WSUSService",
                       "state.save failed", "db.disconnect", "state.unlock"),
     .ap_value = IS(0),
     .ap_out = {"still running after 2 s"}},
    /* the service sits in stop-pending: compensation starts it again */
    {.ap_name = "apply_stop_stuck_pending",
     .ap_fault = {.ft_wsus = {.ks_stop_noop = 2}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls =
         CALLS(PRELUDE, RECORD, "svc.stop WSUSService", "svc.query WSUSService",
               "svc.query WSUSService", "svc.query WSUSService", START_OK,
               "state.save failed", "db.disconnect", "state.unlock"),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_out = {"still stop-pending after 2 s"}},
    /* the stop command fails after taking the service down, and the
     * service will not come back */
    {.ap_name = "apply_stop_and_restart_fail",
     .ap_fault = {.ft_wsus = {.ks_stop_fail = 2, .ks_start_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     .ap_calls =
         CALLS(PRELUDE, RECORD, "svc.stop WSUSService", "svc.query WSUSService",
               "svc.start WSUSService", "state.save not-restored",
               "db.disconnect", "state.unlock"),
     .ap_value = IS(0),
     .ap_out = {"ACTION REQUIRED", "Run by hand: start-by-hand WSUSService"},
     .ap_run_result = "not-restored"},

    /* -- the transaction fails: rollback, then restore */
    {.ap_name = "apply_begin_fails",
     .ap_fault = {.ft_begin_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", AFTER_TXN_FAIL),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_RUNNING)},
    {.ap_name = "apply_update_fails",
     .ap_fault = {.ft_update_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1",
                       AFTER_TXN_FAIL),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_has_apply = IS(0),
     .ap_out = {"\"message\":\"apply failed: trigger raised; nothing "
                "changed, WSUSService is running as before\""}},
    {.ap_name = "apply_update_two_rows",
     .ap_fault = {.ft_extra_rows = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1",
                       AFTER_TXN_FAIL),
     .ap_value = IS(0),
     .ap_out = {"changed 2 rows"}},
    {.ap_name = "apply_update_zero_rows",
     .ap_fault = {.ft_extra_rows = -1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_out = {"changed 0 rows"},
     .ap_value = IS(0)},
    {.ap_name = "apply_verify_read_fails",
     .ap_fault = {.ft_read_fail_nth = 2},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1",
                       "db.read", AFTER_TXN_FAIL),
     .ap_value = IS(0)},
    {.ap_name = "apply_readback_differs",
     .ap_fault = {.ft_readback_off = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1",
                       "db.read", AFTER_TXN_FAIL),
     .ap_value = IS(0),
     .ap_out = {"read back 2 after setting 1"}},
    {.ap_name = "apply_commit_fails",
     .ap_fault = {.ft_commit_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, AFTER_TXN_FAIL),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_RUNNING)},
    {.ap_name = "apply_rollback_fails_too",
     .ap_fault = {.ft_update_fail = 1, .ft_rollback_fail = 1},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_FAILED,
     .ap_value = IS(0),
     .ap_out = {"\"step\":\"db-rollback\",\"result\":\"warn\""},
     .ap_wsus = IS(SVC_RUNNING)},
    {.ap_name = "apply_update_fails_restart_fails",
     .ap_fault = {.ft_update_fail = 1, .ft_wsus = {.ks_start_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1",
                       "db.rollback", "db.disconnect", BITS_OK,
                       "svc.query WSUSService", "svc.start WSUSService",
                       "state.save not-restored", "state.unlock"),
     .ap_value = IS(0),
     .ap_wsus = IS(SVC_STOPPED),
     .ap_out = {"is 0 (unchanged)", "Run by hand: start-by-hand WSUSService"}},

    /* -- restore fails after a successful change */
    {.ap_name = "apply_start_fails_after_commit",
     .ap_fault = {.ft_wsus = {.ks_start_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     .ap_calls =
         CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect", BITS_OK,
               "svc.query WSUSService", "svc.start WSUSService",
               "state.save not-restored", "state.unlock"),
     .ap_value = IS(1),
     /* the change happened: revert must know the old value */
     .ap_has_apply = IS(1),
     .ap_apply_prev = IS(0),
     .ap_out = {"is 1 (changed)"}},
    {.ap_name = "apply_start_times_out",
     .ap_fault = {.ft_wsus = {.ks_start_noop = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect",
                       BITS_OK, "svc.query WSUSService",
                       "svc.start WSUSService", "svc.query WSUSService",
                       "svc.query WSUSService", "svc.query WSUSService",
                       "state.save not-restored", "state.unlock"),
     .ap_out = {"still stopped after 2 s"}},
    {.ap_name = "apply_bits_enable_fails",
     .ap_fault = {.ft_bits = {.ks_state = SVC_STOPPED,
                              .ks_disabled = 1,
                              .ks_enable_fail = 1}},
     .ap_args = "apply --enable-bits",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     /* WSUSService is still started */
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, TXN_OK, "db.disconnect",
                       "svc.disabled BITS", "svc.enable BITS", START_OK,
                       "state.save not-restored", "state.unlock"),
     .ap_wsus = IS(SVC_RUNNING),
     .ap_out = {"enable-by-hand BITS; then start-by-hand BITS"}},
    {.ap_name = "apply_bits_start_fails",
     .ap_fault = {.ft_bits = {.ks_state = SVC_STOPPED, .ks_start_fail = 1}},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_NOT_RESTORED,
     .ap_wsus = IS(SVC_RUNNING),
     .ap_out = {"Run by hand: start-by-hand BITS"}},
    {.ap_name = "apply_final_save_fails",
     .ap_fault = {.ft_save_fail_nth = 2},
     .ap_args = "apply",
     .ap_exit = FIXER_EXIT_OK,
     .ap_value = IS(1),
     .ap_out = {"note the previous value 0"}},

    /* -- revert, dry run, another value */
    {.ap_name = "revert_uses_recorded_value",
     .ap_fault = {.ft_value = 1,
                  .ft_loaded = {.fs_has_apply = 1,
                                .fs_apply_previous = 0,
                                .fs_apply_value = 1}},
     .ap_args = "revert",
     .ap_exit = FIXER_EXIT_OK,
     .ap_calls = CALLS(PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 0",
                       "db.read", "db.commit", "db.disconnect", BITS_OK,
                       START_OK, "state.save done", "state.unlock"),
     .ap_value = IS(0),
     /* the apply record stays: a second revert is a no-op */
     .ap_has_apply = IS(1),
     .ap_run_command = "revert"},
    {.ap_name = "revert_without_record_goes_to_zero",
     .ap_fault = {.ft_value = 1},
     .ap_args = "revert",
     .ap_exit = FIXER_EXIT_OK,
     .ap_value = IS(0),
     .ap_has_apply = IS(0)},
    {.ap_name = "revert_to_recorded_one",
     .ap_fault = {.ft_value = 0,
                  .ft_loaded = {.fs_has_apply = 1, .fs_apply_previous = 1}},
     .ap_args = "revert",
     .ap_exit = FIXER_EXIT_OK,
     .ap_value = IS(1)},
    {.ap_name = "apply_dry_run",
     .ap_args = "apply --dry-run",
     .ap_exit = FIXER_EXIT_OK,
     /* no lock, no save, no stop, no transaction */
     .ap_calls = CALLS("state.load", "db.connect", "db.read",
                       "svc.query WSUSService", "db.disconnect"),
     .ap_value = IS(0),
     .ap_out = {"would stop WSUSService", "\"command\":\"apply --dry-run\""}},
    {.ap_name = "apply_value_zero",
     .ap_fault = {.ft_value = 1},
     .ap_args = "apply --value 0",
     .ap_exit = FIXER_EXIT_OK,
     .ap_value = IS(0),
     .ap_apply_prev = IS(1)},
};

static void
check_int(struct want_int w, int64_t got, const char *what)
{
    if (w.wi_set && got != w.wi_v)
        fail_msg("%s: got %lld, want %lld", what, (long long)got,
                 (long long)w.wi_v);
}

static void
check_str(const char *w, const char *got, const char *what)
{
    if (w != NULL && strcmp(got, w) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", what, got, w);
}

/* Run one row of apply_cases (the state cmocka was given). */
static void
test_apply_case(void **state)
{
    const struct apply_case *c = *state;
    const struct fake *f;
    struct harness h;

    h_init(&h, &c->ap_fault);
    h_args(&h, c->ap_args);
    assert_int_equal(h_run(&h, H_APPLY, NULL), c->ap_exit);
    f = &h.h_f;
    if (c->ap_calls != NULL)
        h_expect(&h, c->ap_calls);
    check_int(c->ap_value, f->f_value, "database value");
    check_int(c->ap_wsus, f->f_svc[WSUS].ks_state, "WSUSService state");
    check_int(c->ap_bits, f->f_svc[BITS].ks_state, "BITS state");
    check_int(c->ap_bits_disabled, f->f_svc[BITS].ks_disabled, "BITS disabled");
    check_int(c->ap_nsaves, f->f_nsaves, "state saves");
    check_int(c->ap_has_apply, f->f_saved.fs_has_apply != 0, "saved has_apply");
    check_int(c->ap_apply_prev, f->f_saved.fs_apply_previous, "saved previous");
    check_int(c->ap_apply_value, f->f_saved.fs_apply_value, "saved value");
    check_str(c->ap_run_service, f->f_saved.fs_run_service, "saved service");
    check_str(c->ap_run_result, f->f_saved.fs_run_result, "saved result");
    check_str(c->ap_run_command, f->f_saved.fs_run_command, "saved command");
    for (int i = 0; i < OUT_MAX && c->ap_out[i] != NULL; i++)
        h_contains(&h, c->ap_out[i]);
}

/* ---- status and doctor */

static void
test_status_ok(void **state)
{
    static const char *const want[] = {"svc.query WSUSService",
                                       "svc.query BITS",
                                       "svc.disabled BITS",
                                       "db.connect",
                                       "db.read",
                                       "db.disconnect",
                                       "state.load",
                                       NULL};
    static const struct fault ft = {.ft_bits = {.ks_state = SVC_STOPPED}};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    h_contains(&h, "\"value\":0");
    h_contains(&h, "\"bits\":\"stopped\"");
}

static void
test_status_db_fails(void **state)
{
    static const struct fault ft = {.ft_connect_fail = 1};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "\"service\":\"running\"");
}

static void
test_status_warns_interrupted_run(void **state)
{
    static const struct fault ft = {.ft_loaded = {.fs_has_run = 1,
                                                  .fs_run_command = "apply",
                                                  .fs_run_result = "started",
                                                  .fs_run_service = "running"}};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_OK);
    h_contains(&h, "ended \\\"started\\\"");
}

static void
test_doctor_all_ok(void **state)
{
    struct doctor_opts d = {.do_content_dir = ".", .do_probe_timeout_ms = 1000};
    struct harness h;

    (void)state;
    h_init(&h, NULL);
    assert_int_equal(h_run(&h, H_DOCTOR, &d), FIXER_EXIT_OK);
    h_contains(&h, "\"step\":\"upstream\",\"result\":\"skip\"");
    h_contains(&h, "\"step\":\"content-dir\",\"result\":\"ok\"");
    assert_int_equal(h.h_f.f_value, 0);
}

static void
test_doctor_reports_fixes(void **state)
{
    static const struct fault ft = {
        .ft_bits = {.ks_state = SVC_STOPPED, .ks_disabled = 1},
        .ft_wsus = {.ks_state = SVC_ABSENT},
        .ft_read_fail_nth = 1};
    struct doctor_opts d = {.do_content_dir = "/nonexistent/wsus-fixer-test",
                            .do_probe_timeout_ms = 1000};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_DOCTOR, &d), FIXER_EXIT_FAILED);
    h_contains(&h, "\"step\":\"bits-enabled\",\"result\":\"fail\"");
    h_contains(&h, "\"fix\":\"enable-by-hand BITS\"");
    h_contains(&h, "\"fix\":\"start-by-hand BITS\"");
    h_contains(&h, "\"step\":\"service-present\",\"result\":\"fail\"");
    h_contains(&h, "\"step\":\"susdb\",\"result\":\"fail\"");
    h_contains(&h, "\"step\":\"content-dir\",\"result\":\"fail\"");
    /* doctor never acts */
    for (int i = 0; i < h.h_f.f_nlog; i++) {
        assert_null(strstr(h.h_f.f_log[i], "svc.start"));
        assert_null(strstr(h.h_f.f_log[i], "svc.enable"));
        assert_null(strstr(h.h_f.f_log[i], "db.update"));
    }
}

static void
test_doctor_wsus_config(void **state)
{
    static const struct fault ft = {.ft_cfg = {[WCFG_USE_PROXY] = "1",
                                               [WCFG_PROXY_NAME] = "proxy.corp",
                                               [WCFG_PROXY_PORT] = "3128",
                                               [WCFG_CLEAR_CREDS] = "1",
                                               [WCFG_HOST_ON_MU] = "0",
                                               [WCFG_SYNC_FROM_MU] = "0",
                                               [WCFG_UP_NAME] = "parent.corp"}};
    struct doctor_opts d = {.do_content_dir = ".", .do_probe_timeout_ms = 1000};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    /* the warning does not fail doctor; the upstream without a port does */
    assert_int_equal(h_run(&h, H_DOCTOR, &d), FIXER_EXIT_FAILED);
    h_contains(&h, "\"step\":\"upstream-server\",\"result\":\"fail\"");
    h_contains(&h, "UpstreamServerPortNumber = unknown");
    h_contains(&h, "\"step\":\"wsus-proxy\",\"result\":\"warn\"");
    h_contains(&h, "WSUS uses the proxy proxy.corp:3128");
    h_contains(&h, "AnonymousProxyAccess = unknown");
    h_contains(&h, "AllowProxyCredentialsOverNonSsl = $false; $c.Save()");
    h_contains(&h, "\"step\":\"storage\",\"result\":\"ok\"");
    h_contains(&h, "upstream parent.corp");
}

static void
test_doctor_config_unread(void **state)
{
    static const struct fault ft = {.ft_config_fail = 1};
    struct doctor_opts d = {.do_content_dir = ".", .do_probe_timeout_ms = 1000};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_DOCTOR, &d), FIXER_EXIT_OK);
    h_contains(&h, "\"step\":\"wsus-proxy\",\"result\":\"skip\","
                   "\"ms\":0,\"detail\":\"WSUS configuration not read "
                   "from SUSDB: catalog failed\"");
    h_contains(&h, "\"step\":\"storage\",\"result\":\"skip\"");
}

#define N_APPLY (sizeof(apply_cases) / sizeof(apply_cases[0]))

/* ---- restart */

/* Both running: BITS stopped and started, then WSUSService; each wait
 * sees the state at the first poll. */
static void
test_restart_ok(void **state)
{
    static const char *const want[] = {"state.lock",
                                       "svc.query BITS",
                                       "svc.query WSUSService",
                                       "svc.disabled BITS",
                                       "svc.stop BITS",
                                       "svc.query BITS",
                                       "svc.start BITS",
                                       "svc.query BITS",
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "svc.query WSUSService",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h, NULL);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    h_contains(&h, "\"bits_before\":\"running\"");
    h_contains(&h, "\"message\":\"BITS and WSUSService restarted; both "
                   "running\"");
    assert_int_equal(h.h_f.f_value, 0);
}

/* A stopped BITS is only started; a stopped WSUSService too. */
static void
test_restart_stopped(void **state)
{
    static const struct fault ft = {.ft_bits = {.ks_state = SVC_STOPPED},
                                    .ft_wsus = {.ks_state = SVC_STOPPED}};
    static const char *const want[] = {"state.lock",
                                       "svc.query BITS",
                                       "svc.query WSUSService",
                                       "svc.disabled BITS",
                                       "svc.start BITS",
                                       "svc.query BITS",
                                       "svc.start WSUSService",
                                       "svc.query WSUSService",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
}

/* WSUSService accepts STOP but keeps running: after stop_timeout it is
 * found running, so it is not started; exit 1. */
static void
test_restart_stop_ignored(void **state)
{
    static const struct fault ft = {.ft_wsus = {.ks_stop_noop = 1}};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "\"step\":\"service-stop\",\"result\":\"fail\"");
    h_contains(&h, "WSUSService is still running after 2 s");
    h_contains(&h, "\"step\":\"service-start\",\"result\":\"ok\",\"ms\":0,"
                   "\"detail\":\"WSUSService is still running\"");
    for (int i = 0; i < h.h_f.f_nlog; i++)
        assert_string_not_equal(h.h_f.f_log[i], "svc.start WSUSService");
    assert_int_equal(h.h_f.f_svc[WSUS].ks_state, SVC_RUNNING);
}

/* A stop that fails after stopping it: the compensation starts it. */
static void
test_restart_stop_fails_stopped(void **state)
{
    static const struct fault ft = {.ft_bits = {.ks_stop_fail = 2}};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "\"step\":\"bits-start\",\"result\":\"ok\"");
    h_contains(&h, "restart failed: stop failed; every service is running");
    assert_int_equal(h.h_f.f_svc[BITS].ks_state, SVC_RUNNING);
    assert_int_equal(h.h_f.f_svc[WSUS].ks_state, SVC_RUNNING);
}

/* WSUSService does not start again: exit 3 with the manual command. */
static void
test_restart_start_fails(void **state)
{
    static const struct fault ft = {.ft_wsus = {.ks_start_fail = 1}};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_NOT_RESTORED);
    h_contains(&h, "ACTION REQUIRED: a service is not running (start "
                   "failed). Run by hand: start-by-hand WSUSService\"");
    assert_int_equal(h.h_f.f_svc[BITS].ks_state, SVC_RUNNING);
}

/* A disabled BITS: left alone without --enable-bits (exit 3, WSUSService
 * still restarted); enabled and started with it. */
static void
test_restart_bits_disabled(void **state)
{
    static const struct fault ft = {
        .ft_bits = {.ks_state = SVC_STOPPED, .ks_disabled = 1}};
    static const char *const want[] = {"state.lock",
                                       "svc.query BITS",
                                       "svc.query WSUSService",
                                       "svc.disabled BITS",
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "svc.query WSUSService",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h, &ft);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want);
    h_contains(&h, "Run by hand: enable-by-hand BITS; then start-by-hand "
                   "BITS\"");
    h_init(&h, &ft);
    h.h_o.fo_enable_bits = 1;
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_OK);
    assert_int_equal(h.h_f.f_svc[BITS].ks_disabled, 0);
    assert_int_equal(h.h_f.f_svc[BITS].ks_state, SVC_RUNNING);
}

/* Another run holds the lock, or a service is missing: nothing done. */
static void
test_restart_nothing_done(void **state)
{
    static const struct fault lock = {.ft_lock_fail = 1};
    static const struct fault absent = {.ft_wsus = {.ks_state = SVC_ABSENT}};
    static const char *const want_lock[] = {"state.lock", NULL};
    static const char *const want_absent[] = {"state.lock", "svc.query BITS",
                                              "svc.query WSUSService",
                                              "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h, &lock);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want_lock);
    h_init(&h, &absent);
    assert_int_equal(h_run(&h, H_RESTART, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want_absent);
    h_contains(&h, "restart: WSUSService is not installed; nothing done");
}

int
main(void)
{
    struct CMUnitTest tests[N_APPLY + 14] = {
        [N_APPLY] = cmocka_unit_test(test_status_ok),
        cmocka_unit_test(test_status_db_fails),
        cmocka_unit_test(test_status_warns_interrupted_run),
        cmocka_unit_test(test_doctor_all_ok),
        cmocka_unit_test(test_doctor_reports_fixes),
        cmocka_unit_test(test_doctor_wsus_config),
        cmocka_unit_test(test_doctor_config_unread),
        cmocka_unit_test(test_restart_ok),
        cmocka_unit_test(test_restart_stopped),
        cmocka_unit_test(test_restart_stop_ignored),
        cmocka_unit_test(test_restart_stop_fails_stopped),
        cmocka_unit_test(test_restart_start_fails),
        cmocka_unit_test(test_restart_bits_disabled),
        cmocka_unit_test(test_restart_nothing_done),
    };

    for (size_t i = 0; i < N_APPLY; i++) {
        tests[i].name = apply_cases[i].ap_name;
        tests[i].test_func = test_apply_case;
        tests[i].initial_state = &apply_cases[i];
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
