/*
 * fixer.h - the fixer's procedures: apply/revert (DESIGN.md section 4) and
 * status. They see the world only through the svc, db and state operation
 * tables and a clock, so every failure path runs under cmocka with fakes.
 * Doctor lives in doctor.h, restart in restart.h, sync in sync.h.
 */
#ifndef WSUS_FIXER_H
#define WSUS_FIXER_H

#include <stdint.h>

#include "db.h"
#include "report.h"
#include "state.h"
#include "svcctl.h"

/* Exit codes of wsus-fixer, documented in --help and docs/wsus-fixer.md. */
enum fixer_exit {
    FIXER_EXIT_OK = 0,           /* done, or already in the wanted state */
    FIXER_EXIT_FAILED = 1,       /* failed; nothing changed, service back */
    FIXER_EXIT_USAGE = 2,        /* command line or conf error */
    FIXER_EXIT_NOT_RESTORED = 3, /* failed; service not restored */
};

enum fixer_cmd {
    FIXER_CMD_APPLY = 0,
    FIXER_CMD_REVERT,
};

/* Time, injectable: tests advance a fake clock in fc_sleep_ms. */
struct fixer_clock {
    void *fc_ctx;
    uint64_t (*fc_now_ms)(void *ctx);
    void (*fc_sleep_ms)(void *ctx, uint32_t ms);
};

struct fixer_env {
    const struct svc_ops *fe_svc;
    const struct db_ops *fe_db;
    const struct state_ops *fe_state;
    const struct fixer_clock *fe_clock;
};

struct fixer_opts {
    enum fixer_cmd fo_cmd;
    int64_t fo_value; /* apply's wanted value */
    int fo_dry_run;
    const char *fo_connection; /* holds secrets: shown only masked */
    const char *fo_service;    /* WSUSService */
    const char *fo_bits;       /* BITS */
    int fo_enable_bits; /* --enable-bits: a disabled BITS may be enabled */
    uint32_t fo_stop_timeout_ms;
    uint32_t fo_start_timeout_ms;
    uint32_t fo_poll_ms; /* between state queries while waiting */
};

/* The system clock (fplat). */
void fixer_clock_system(struct fixer_clock *clk);

/* Now on env's clock, in ms; the ms since t0 on it (0 if it went back). */
uint64_t fixer_now(const struct fixer_env *env);
uint64_t fixer_since(const struct fixer_env *env, uint64_t t0);

/*
 * apply or revert (o->fo_cmd), the whole procedure (the steps of
 * docs/wsus-fixer.md, one function each in fixer.c):
 *  1. lock; load the state file (revert's target: last apply's previous
 *     value, or 0); connect; read the value (one row);
 *  2. already the target: exit 0, service untouched;
 *  3. query WSUSService; record service state and value (state file);
 *  4. stop WSUSService, wait for STOPPED (stop_timeout); on failure make
 *     sure it runs again and exit 1, database untouched;
 *  5. autocommit off; UPDATE (bound value); 1 row; read back; commit; on
 *     failure roll back and go on to 6, exit 1;
 *  6. BITS enabled (a disabled one is enabled only with fo_enable_bits;
 *     otherwise it is reported with the manual commands) and running;
 *     start WSUSService if it ran before, wait for RUNNING; on failure
 *     exit 3 with the manual command.
 * With fo_dry_run only steps 1 and 2 run (no lock) and the plan is reported.
 * Returns an enum fixer_exit value.
 */
int fixer_apply(const struct fixer_env *env, const struct fixer_opts *o,
                struct report *rep);

/* Service states of WSUSService and BITS, the value, the last apply.
 * Changes nothing. Returns FIXER_EXIT_OK, or FIXER_EXIT_FAILED when
 * something could not be read. */
int fixer_status(const struct fixer_env *env, const struct fixer_opts *o,
                 struct report *rep);

#endif
