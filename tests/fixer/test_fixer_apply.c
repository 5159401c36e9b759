/*
 * test_fixer_apply.c - the apply/revert procedure, status and doctor run
 * against fake service, database and state operations (function-pointer
 * tables, no linker tricks) and a fake clock. Every failure path of
 * DESIGN.md section 4 is injected here, and each test asserts the exact
 * sequence of operations called, the exit code, the database value, the
 * service states and what was saved to the state file.
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

#define LOG_MAX 128
#define LINE_MAX_ 96

enum { WSUS = 0, BITS = 1 };

struct fake_svc {
    const char *fs_name;
    enum svc_state fs_state;
    int fs_disabled;
    int fs_type_unknown; /* so_disabled returns 1 */
    int fs_query_fail;
    int fs_stop_fail; /* 1: fails; 2: fails after stopping it */
    int fs_stop_noop; /* stop "succeeds"; 1: still running, 2: stays
                         stop-pending */
    int fs_start_fail;
    int fs_start_noop;
    int fs_enable_fail;
};

struct fake {
    char f_log[LOG_MAX][LINE_MAX_];
    int f_nlog;
    struct fake_svc f_svc[2];
    /* database */
    int64_t f_value;   /* committed */
    int64_t f_pending; /* inside the transaction */
    int f_in_txn;
    int f_updated;
    int f_connect_fail;
    int f_read_fail_nth; /* 1-based read call that fails; 0 = none */
    int f_nreads;
    int f_begin_fail;
    int f_update_fail;
    int64_t f_update_rows; /* rows reported */
    int f_readback_off;    /* verify read returns value + 1 */
    int f_commit_fail;
    int f_rollback_fail;
    /* state */
    int f_lock_fail;
    int f_load_fail;
    int f_save_fail_nth; /* 1-based save that fails; 0 = none */
    int f_nsaves;
    struct fixer_state f_loaded;
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
        if (strcmp(f->f_svc[i].fs_name, name) == 0)
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
    if (s->fs_query_fail) {
        snprintf(err, errlen, "query failed");
        return -1;
    }
    *st = s->fs_state;
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
    if (s->fs_stop_fail) {
        if (s->fs_stop_fail == 2)
            s->fs_state = SVC_STOPPED;
        snprintf(err, errlen, "stop failed");
        return -1;
    }
    if (s->fs_stop_noop == 2)
        s->fs_state = SVC_STOP_PENDING;
    else if (!s->fs_stop_noop)
        s->fs_state = SVC_STOPPED;
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
    if (s->fs_start_fail || s->fs_disabled) {
        snprintf(err, errlen, "start failed");
        return -1;
    }
    if (!s->fs_start_noop)
        s->fs_state = SVC_RUNNING;
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
    if (s->fs_type_unknown)
        return 1;
    *disabled = s->fs_disabled;
    return 0;
}

static int
fk_enable(void *ctx, const char *name, char *err, size_t errlen)
{
    struct fake *f = ctx;
    struct fake_svc *s = fsvc(f, name);

    flog(f, "svc.enable %s", name);
    if (s->fs_enable_fail) {
        snprintf(err, errlen, "enable failed");
        return -1;
    }
    s->fs_disabled = 0;
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
    if (f->f_connect_fail) {
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
    if (++f->f_nreads == f->f_read_fail_nth) {
        snprintf(err, errlen, "read failed");
        return -1;
    }
    *value = f->f_in_txn && f->f_updated
                 ? f->f_pending + (f->f_readback_off ? 1 : 0)
                 : f->f_value;
    return 0;
}

static int
fk_begin(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.begin");
    if (f->f_begin_fail) {
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
    if (f->f_update_fail) {
        snprintf(err, errlen, "trigger raised");
        return -1;
    }
    f->f_pending = value;
    f->f_updated = 1;
    *rows = f->f_update_rows;
    return 0;
}

static int
fk_commit(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "db.commit");
    if (f->f_commit_fail) {
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
    if (f->f_rollback_fail) {
        snprintf(err, errlen, "rollback failed");
        return -1;
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
    if (f->f_lock_fail) {
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
    if (f->f_load_fail) {
        snprintf(err, errlen, "state:3: bad value");
        return -1;
    }
    *st = f->f_loaded;
    return 0;
}

static int
fk_save(void *ctx, const struct fixer_state *st, char *err, size_t errlen)
{
    struct fake *f = ctx;

    flog(f, "state.save %s", st->fs_run_result);
    if (++f->f_nsaves == f->f_save_fail_nth) {
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

static void
h_init(struct harness *h)
{
    struct fake *f = &h->h_f;

    memset(h, 0, sizeof(*h));
    f->f_svc[WSUS].fs_name = "WSUSService";
    f->f_svc[WSUS].fs_state = SVC_RUNNING;
    f->f_svc[BITS].fs_name = "BITS";
    f->f_svc[BITS].fs_state = SVC_RUNNING;
    f->f_update_rows = 1;
    f->f_now = 1000000;
    h->h_svc = (struct svc_ops){f,           fk_query,  fk_stop,   fk_start,
                                fk_disabled, fk_enable, fk_manual, NULL};
    h->h_db = (struct db_ops){f,           fk_connect,    fk_read,
                              fk_begin,    fk_update,     fk_commit,
                              fk_rollback, fk_disconnect, NULL};
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

enum h_cmd { H_APPLY = 0, H_STATUS, H_DOCTOR };

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

/* ---- apply: success paths */

static void
test_apply_ok(void **state)
{
    static const char *const want[] = {
        PRELUDE, RECORD,   STOP_OK,           TXN_OK,         "db.disconnect",
        BITS_OK, START_OK, "state.save done", "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 1);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    assert_true(h.h_f.f_saved.fs_has_apply);
    assert_int_equal(h.h_f.f_saved.fs_apply_previous, 0);
    assert_int_equal(h.h_f.f_saved.fs_apply_value, 1);
    assert_string_equal(h.h_f.f_saved.fs_run_service, "running");
    h_contains(&h, "\"exit_code\":0");
    h_contains(&h, "\"step\":\"service-stop\",\"result\":\"ok\"");
    h_contains(&h, "PWD=***");
}

static void
test_apply_already(void **state)
{
    static const char *const want[] = {PRELUDE, "db.disconnect", "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_value = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want); /* no service call, no save */
    h_contains(&h, "already 1");
}

static void
test_apply_service_was_stopped(void **state)
{
    static const char *const want[] = {
        PRELUDE,           RECORD,         TXN_OK, "db.disconnect", BITS_OK,
        "state.save done", "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_state = SVC_STOPPED;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want); /* neither stopped nor started */
    assert_int_equal(h.h_f.f_value, 1);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_STOPPED);
    assert_string_equal(h.h_f.f_saved.fs_run_service, "stopped");
}

static void
test_apply_bits_disabled_and_stopped(void **state)
{
    static const char *const want[] = {PRELUDE,           RECORD,
                                       STOP_OK,           TXN_OK,
                                       "db.disconnect",   "svc.disabled BITS",
                                       "svc.enable BITS", "svc.query BITS",
                                       "svc.start BITS",  "svc.query BITS",
                                       START_OK,          "state.save done",
                                       "state.unlock",    NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_disabled = 1;
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    h.h_o.fo_enable_bits = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_svc[BITS].fs_disabled, 0);
    assert_int_equal(h.h_f.f_svc[BITS].fs_state, SVC_RUNNING);
}

/* Without --enable-bits a disabled BITS is reported, never changed: the
 * value is applied and WSUSService restarted, and the run ends in exit 3
 * with the commands that enable and start BITS. */
static void
test_apply_bits_disabled_left_without_enable_bits(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       STOP_OK,
                                       TXN_OK,
                                       "db.disconnect",
                                       "svc.disabled BITS",
                                       START_OK,
                                       "state.save not-restored",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_disabled = 1;
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want); /* no svc.enable, no svc.start BITS */
    assert_int_equal(h.h_f.f_svc[BITS].fs_disabled, 1);
    assert_int_equal(h.h_f.f_svc[BITS].fs_state, SVC_STOPPED);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    assert_int_equal(h.h_f.f_value, 1);
    h_contains(&h, "\"step\":\"bits-enable\",\"result\":\"fail\"");
    h_contains(&h, "run again with --enable-bits");
    h_contains(&h, "the value was changed, but BITS is disabled and was "
                   "left so");
    h_contains(&h, "enable-by-hand BITS; then start-by-hand BITS");
}

static void
test_apply_bits_type_unknown(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_type_unknown = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_contains(&h, "\"step\":\"bits-enable\",\"result\":\"skip\"");
}

/* ---- apply: failures before anything changes */

static void
test_apply_lock_fails(void **state)
{
    static const char *const want[] = {"state.lock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_lock_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    h_contains(&h, "held by another run");
}

static void
test_apply_state_load_fails(void **state)
{
    static const char *const want[] = {"state.lock", "state.load",
                                       "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_load_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
}

static void
test_apply_connect_fails(void **state)
{
    static const char *const want[] = {"state.lock",   "state.load",
                                       "db.connect",   "db.disconnect",
                                       "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_connect_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    h_contains(&h, "cannot connect");
}

static void
test_apply_read_fails(void **state)
{
    static const char *const want[] = {PRELUDE, "db.disconnect", "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_read_fail_nth = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
}

static void
test_apply_query_fails(void **state)
{
    static const char *const want[] = {PRELUDE, "svc.query WSUSService",
                                       "db.disconnect", "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_query_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_nsaves, 0);
}

static void
test_apply_service_pending(void **state)
{
    static const char *const want[] = {PRELUDE, "svc.query WSUSService",
                                       "db.disconnect", "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_state = SVC_STOP_PENDING;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    h_contains(&h, "stop-pending");
}

static void
test_apply_service_absent(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_state = SVC_ABSENT;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "WSUSService is not installed");
    assert_int_equal(h.h_f.f_nsaves, 0);
}

static void
test_apply_state_save_fails(void **state)
{
    static const char *const want[] = {PRELUDE, RECORD, "db.disconnect",
                                       "state.unlock", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_save_fail_nth = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want); /* never stopped */
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
}

/* ---- apply: stop fails: the database is never written */

static void
test_apply_stop_fails(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "state.save failed",
                                       "db.disconnect",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_stop_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want); /* still running: no start needed, no db.begin */
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    assert_false(h.h_f.f_saved.fs_has_apply);
    h_contains(&h, "\"message\":\"apply failed: stop failed; nothing "
                   "changed");
}

static void
test_apply_stop_times_out(void **state)
{
    /* 2000 ms timeout, 1000 ms polls: queries at 0, 1000, 2000 */
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "state.save failed",
                                       "db.disconnect",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_stop_noop = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "still running after 2 s");
}

static void
test_apply_stop_stuck_pending(void **state)
{
    /* the service sits in stop-pending: compensation starts it again */
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       START_OK,
                                       "state.save failed",
                                       "db.disconnect",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_stop_noop = 2;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    h_contains(&h, "still stop-pending after 2 s");
}

static void
test_apply_stop_and_restart_fail(void **state)
{
    /* the stop command fails after taking the service down, and the
     * service will not come back */
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       "svc.stop WSUSService",
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "state.save not-restored",
                                       "db.disconnect",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_stop_fail = 2;
    h.h_f.f_svc[WSUS].fs_start_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "ACTION REQUIRED");
    h_contains(&h, "Run by hand: start-by-hand WSUSService");
    assert_string_equal(h.h_f.f_saved.fs_run_result, "not-restored");
}

/* ---- apply: the transaction fails: rollback, then restore */

#define AFTER_TXN_FAIL                                                         \
    "db.rollback", "db.disconnect", BITS_OK, START_OK, "state.save failed",    \
        "state.unlock", NULL

static void
test_apply_begin_fails(void **state)
{
    static const char *const want[] = {PRELUDE, RECORD, STOP_OK, "db.begin",
                                       AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_begin_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
}

static void
test_apply_update_fails(void **state)
{
    static const char *const want[] = {
        PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1", AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_update_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    assert_false(h.h_f.f_saved.fs_has_apply);
    h_contains(&h, "\"message\":\"apply failed: trigger raised; nothing "
                   "changed, WSUSService is running as before\"");
}

static void
test_apply_update_two_rows(void **state)
{
    static const char *const want[] = {
        PRELUDE, RECORD, STOP_OK, "db.begin", "db.update 1", AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_update_rows = 2;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "changed 2 rows");
}

static void
test_apply_update_zero_rows(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_update_rows = 0;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "changed 0 rows");
    assert_int_equal(h.h_f.f_value, 0);
}

static void
test_apply_verify_read_fails(void **state)
{
    static const char *const want[] = {PRELUDE,       RECORD,        STOP_OK,
                                       "db.begin",    "db.update 1", "db.read",
                                       AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_read_fail_nth = 2;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
}

static void
test_apply_readback_differs(void **state)
{
    static const char *const want[] = {PRELUDE,       RECORD,        STOP_OK,
                                       "db.begin",    "db.update 1", "db.read",
                                       AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_readback_off = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "read back 2 after setting 1");
}

static void
test_apply_commit_fails(void **state)
{
    static const char *const want[] = {PRELUDE, RECORD, STOP_OK, TXN_OK,
                                       AFTER_TXN_FAIL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_commit_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
}

static void
test_apply_rollback_fails_too(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_update_fail = 1;
    h.h_f.f_rollback_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_FAILED);
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "\"step\":\"db-rollback\",\"result\":\"warn\"");
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
}

static void
test_apply_update_fails_restart_fails(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       STOP_OK,
                                       "db.begin",
                                       "db.update 1",
                                       "db.rollback",
                                       "db.disconnect",
                                       BITS_OK,
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "state.save not-restored",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_update_fail = 1;
    h.h_f.f_svc[WSUS].fs_start_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_STOPPED);
    h_contains(&h, "is 0 (unchanged)");
    h_contains(&h, "Run by hand: start-by-hand WSUSService");
}

/* ---- apply: restore fails after a successful change */

static void
test_apply_start_fails_after_commit(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       STOP_OK,
                                       TXN_OK,
                                       "db.disconnect",
                                       BITS_OK,
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "state.save not-restored",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_start_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 1);
    /* the change happened: revert must know the old value */
    assert_true(h.h_f.f_saved.fs_has_apply);
    assert_int_equal(h.h_f.f_saved.fs_apply_previous, 0);
    h_contains(&h, "is 1 (changed)");
}

static void
test_apply_start_times_out(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       STOP_OK,
                                       TXN_OK,
                                       "db.disconnect",
                                       BITS_OK,
                                       "svc.query WSUSService",
                                       "svc.start WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "svc.query WSUSService",
                                       "state.save not-restored",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[WSUS].fs_start_noop = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want);
    h_contains(&h, "still stopped after 2 s");
}

static void
test_apply_bits_enable_fails(void **state)
{
    static const char *const want[] = {PRELUDE,
                                       RECORD,
                                       STOP_OK,
                                       TXN_OK,
                                       "db.disconnect",
                                       "svc.disabled BITS",
                                       "svc.enable BITS",
                                       START_OK,
                                       "state.save not-restored",
                                       "state.unlock",
                                       NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_disabled = 1;
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    h.h_f.f_svc[BITS].fs_enable_fail = 1;
    h.h_o.fo_enable_bits = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    h_expect(&h, want); /* WSUSService is still started */
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    h_contains(&h, "enable-by-hand BITS; then start-by-hand BITS");
}

static void
test_apply_bits_start_fails(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    h.h_f.f_svc[BITS].fs_start_fail = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_NOT_RESTORED);
    assert_int_equal(h.h_f.f_svc[WSUS].fs_state, SVC_RUNNING);
    h_contains(&h, "Run by hand: start-by-hand BITS");
}

static void
test_apply_final_save_fails(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_save_fail_nth = 2;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    assert_int_equal(h.h_f.f_value, 1);
    h_contains(&h, "note the previous value 0");
}

/* ---- revert and dry run */

static void
test_revert_uses_recorded_value(void **state)
{
    static const char *const want[] = {
        PRELUDE,       RECORD,    STOP_OK,           "db.begin",
        "db.update 0", "db.read", "db.commit",       "db.disconnect",
        BITS_OK,       START_OK,  "state.save done", "state.unlock",
        NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_o.fo_cmd = FIXER_CMD_REVERT;
    h.h_f.f_value = 1;
    h.h_f.f_loaded.fs_has_apply = 1;
    h.h_f.f_loaded.fs_apply_previous = 0;
    h.h_f.f_loaded.fs_apply_value = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    assert_int_equal(h.h_f.f_value, 0);
    /* the apply record stays: a second revert is a no-op */
    assert_true(h.h_f.f_saved.fs_has_apply);
    assert_string_equal(h.h_f.f_saved.fs_run_command, "revert");
}

static void
test_revert_without_record_goes_to_zero(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_o.fo_cmd = FIXER_CMD_REVERT;
    h.h_f.f_value = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    assert_int_equal(h.h_f.f_value, 0);
    assert_false(h.h_f.f_saved.fs_has_apply);
}

static void
test_revert_to_recorded_one(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_o.fo_cmd = FIXER_CMD_REVERT;
    h.h_f.f_value = 0;
    h.h_f.f_loaded.fs_has_apply = 1;
    h.h_f.f_loaded.fs_apply_previous = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    assert_int_equal(h.h_f.f_value, 1);
}

static void
test_apply_dry_run(void **state)
{
    static const char *const want[] = {"state.load",    "db.connect",
                                       "db.read",       "svc.query WSUSService",
                                       "db.disconnect", NULL};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_o.fo_dry_run = 1;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    h_expect(&h, want); /* no lock, no save, no stop, no transaction */
    assert_int_equal(h.h_f.f_value, 0);
    h_contains(&h, "would stop WSUSService");
    h_contains(&h, "\"command\":\"apply --dry-run\"");
}

static void
test_apply_value_zero(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_value = 1;
    h.h_o.fo_value = 0;
    assert_int_equal(h_run(&h, H_APPLY, NULL), FIXER_EXIT_OK);
    assert_int_equal(h.h_f.f_value, 0);
    assert_int_equal(h.h_f.f_saved.fs_apply_previous, 1);
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
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_OK);
    h_expect(&h, want);
    h_contains(&h, "\"value\":0");
    h_contains(&h, "\"bits\":\"stopped\"");
}

static void
test_status_db_fails(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_connect_fail = 1;
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_FAILED);
    h_contains(&h, "\"service\":\"running\"");
}

static void
test_status_warns_interrupted_run(void **state)
{
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_loaded.fs_has_run = 1;
    strcpy(h.h_f.f_loaded.fs_run_command, "apply");
    strcpy(h.h_f.f_loaded.fs_run_result, "started");
    strcpy(h.h_f.f_loaded.fs_run_service, "running");
    assert_int_equal(h_run(&h, H_STATUS, NULL), FIXER_EXIT_OK);
    h_contains(&h, "ended \\\"started\\\"");
}

static void
test_doctor_all_ok(void **state)
{
    struct doctor_opts d = {".", "", 1000};
    struct harness h;

    (void)state;
    h_init(&h);
    assert_int_equal(h_run(&h, H_DOCTOR, &d), FIXER_EXIT_OK);
    h_contains(&h, "\"step\":\"upstream\",\"result\":\"skip\"");
    h_contains(&h, "\"step\":\"content-dir\",\"result\":\"ok\"");
    assert_int_equal(h.h_f.f_value, 0);
}

static void
test_doctor_reports_fixes(void **state)
{
    struct doctor_opts d = {"/nonexistent/wsus-fixer-test", "", 1000};
    struct harness h;

    (void)state;
    h_init(&h);
    h.h_f.f_svc[BITS].fs_disabled = 1;
    h.h_f.f_svc[BITS].fs_state = SVC_STOPPED;
    h.h_f.f_svc[WSUS].fs_state = SVC_ABSENT;
    h.h_f.f_read_fail_nth = 1;
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_ok),
        cmocka_unit_test(test_apply_already),
        cmocka_unit_test(test_apply_service_was_stopped),
        cmocka_unit_test(test_apply_bits_disabled_and_stopped),
        cmocka_unit_test(test_apply_bits_disabled_left_without_enable_bits),
        cmocka_unit_test(test_apply_bits_type_unknown),
        cmocka_unit_test(test_apply_lock_fails),
        cmocka_unit_test(test_apply_state_load_fails),
        cmocka_unit_test(test_apply_connect_fails),
        cmocka_unit_test(test_apply_read_fails),
        cmocka_unit_test(test_apply_query_fails),
        cmocka_unit_test(test_apply_service_pending),
        cmocka_unit_test(test_apply_service_absent),
        cmocka_unit_test(test_apply_state_save_fails),
        cmocka_unit_test(test_apply_stop_fails),
        cmocka_unit_test(test_apply_stop_times_out),
        cmocka_unit_test(test_apply_stop_stuck_pending),
        cmocka_unit_test(test_apply_stop_and_restart_fail),
        cmocka_unit_test(test_apply_begin_fails),
        cmocka_unit_test(test_apply_update_fails),
        cmocka_unit_test(test_apply_update_two_rows),
        cmocka_unit_test(test_apply_update_zero_rows),
        cmocka_unit_test(test_apply_verify_read_fails),
        cmocka_unit_test(test_apply_readback_differs),
        cmocka_unit_test(test_apply_commit_fails),
        cmocka_unit_test(test_apply_rollback_fails_too),
        cmocka_unit_test(test_apply_update_fails_restart_fails),
        cmocka_unit_test(test_apply_start_fails_after_commit),
        cmocka_unit_test(test_apply_start_times_out),
        cmocka_unit_test(test_apply_bits_enable_fails),
        cmocka_unit_test(test_apply_bits_start_fails),
        cmocka_unit_test(test_apply_final_save_fails),
        cmocka_unit_test(test_revert_uses_recorded_value),
        cmocka_unit_test(test_revert_without_record_goes_to_zero),
        cmocka_unit_test(test_revert_to_recorded_one),
        cmocka_unit_test(test_apply_dry_run),
        cmocka_unit_test(test_apply_value_zero),
        cmocka_unit_test(test_status_ok),
        cmocka_unit_test(test_status_db_fails),
        cmocka_unit_test(test_status_warns_interrupted_run),
        cmocka_unit_test(test_doctor_all_ok),
        cmocka_unit_test(test_doctor_reports_fixes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
