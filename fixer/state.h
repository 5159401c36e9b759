/*
 * state.h - the fixer's state file and run lock, behind a table of
 * operations so the procedure can be tested with fakes. The file records
 * the last successful apply (what revert puts back) and the last run
 * (command, service state and value before it, how it ended), so an
 * interrupted run leaves a trace an administrator can act on. It is
 * always replaced atomically; the lock is a separate file beside it.
 */
#ifndef WSUS_STATE_H
#define WSUS_STATE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_WORD_MAX 24
#define STATE_TIME_MAX 32

struct fixer_state {
    int fs_has_apply;                   /* [last_apply] present */
    int64_t fs_apply_previous;          /* value before it: the revert target */
    int64_t fs_apply_value;             /* value it set */
    char fs_apply_time[STATE_TIME_MAX]; /* "" = stamp on save */
    int fs_has_run;                     /* [last_run] present */
    char fs_run_command[STATE_WORD_MAX]; /* apply | revert */
    int64_t fs_run_previous;
    int64_t fs_run_target;
    char fs_run_service[STATE_WORD_MAX]; /* running | stopped */
    char fs_run_result[STATE_WORD_MAX];  /* started | done | failed |
                                            not-restored */
    char fs_run_time[STATE_TIME_MAX];    /* "" = stamp on save */
};

/*
 *   st_lock    take the run lock; fails at once if another run holds it.
 *   st_unlock  release it (safe when not held).
 *   st_load    read the state; a missing file gives an empty state.
 *   st_save    replace the state file atomically.
 *   st_close   frees st_ctx (releases the lock).
 */
struct state_ops {
    void *st_ctx;
    int (*st_lock)(void *ctx, char *err, size_t errlen);
    void (*st_unlock)(void *ctx);
    int (*st_load)(void *ctx, struct fixer_state *st, char *err, size_t errlen);
    int (*st_save)(void *ctx, const struct fixer_state *st, char *err,
                   size_t errlen);
    void (*st_close)(void *ctx);
};

/* The file-backed implementation: state at path, lock at path.lock.
 * path is copied. */
int state_file_open(struct state_ops *ops, const char *path, char *err,
                    size_t errlen);

/* Serialize st into buf. Returns the length, or -1 when buf is short. */
int state_format(const struct fixer_state *st, char *buf, size_t len);

/* Parse the text of a state file (name is used in "NAME:LINE: ..."
 * errors). Unknown sections or keys and bad values are errors. */
int state_parse(const char *text, const char *name, struct fixer_state *st,
                char *err, size_t errlen);

#endif
