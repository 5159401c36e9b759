/*
 * state.c - the state file (state.h): format, strict parsing with inih,
 * and the file-backed state_ops with the run lock from fplat.
 */
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fplat.h"
#include "state.h"
#include "strparse.h"

/* A state file is small; anything bigger is not ours. */
#define STATE_FILE_MAX 8192

struct state_file {
    char *sf_path;
    char *sf_lock_path;
    struct fplat_lock *sf_lock;
};

struct state_parse_ctx {
    struct fixer_state *sp_st;
    const char *sp_name;
    char *sp_err;
    size_t sp_errlen;
    int sp_failed;
};

int
state_format(const struct fixer_state *st, char *buf, size_t len)
{
    int n, m;

    n = snprintf(buf, len,
                 "# wsus-fixer state, written by wsus-fixer. `wsus-fixer "
                 "revert` puts back\n# the previous value of the last "
                 "apply.\n");
    if (n < 0 || (size_t)n >= len)
        return -1;
    if (st->fs_has_apply) {
        m = snprintf(buf + n, len - (size_t)n,
                     "[last_apply]\nprevious = %" PRId64 "\nvalue = %" PRId64
                     "\ntime = %s\n",
                     st->fs_apply_previous, st->fs_apply_value,
                     st->fs_apply_time);
        if (m < 0 || (size_t)m >= len - (size_t)n)
            return -1;
        n += m;
    }
    if (st->fs_has_run) {
        m = snprintf(buf + n, len - (size_t)n,
                     "[last_run]\ncommand = %s\nprevious = %" PRId64
                     "\ntarget = %" PRId64
                     "\nservice = %s\nresult = %s\ntime = %s\n",
                     st->fs_run_command, st->fs_run_previous, st->fs_run_target,
                     st->fs_run_service, st->fs_run_result, st->fs_run_time);
        if (m < 0 || (size_t)m >= len - (size_t)n)
            return -1;
        n += m;
    }
    return n;
}

/* Signed decimal, strict. */
static int
state_i64(const char *s, int64_t *out)
{
    uint64_t v;

    if (*s == '-') {
        if (parse_u64_max(s + 1, (uint64_t)INT64_MAX, &v) == -1)
            return -1;
        *out = -(int64_t)v;
        return 0;
    }
    if (parse_u64_max(s, (uint64_t)INT64_MAX, &v) == -1)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int
state_word(const char *s, char *out, size_t len)
{
    size_t n = strlen(s);

    if (n >= len)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return -1;
    memcpy(out, s, n + 1);
    return 0;
}

static int
state_handler(void *user, const char *section, const char *name,
              const char *value)
{
    struct state_parse_ctx *sp = user;
    struct fixer_state *st = sp->sp_st;
    int bad = 0;

    if (strcmp(section, "last_apply") == 0) {
        st->fs_has_apply = 1;
        if (strcmp(name, "previous") == 0)
            bad = state_i64(value, &st->fs_apply_previous);
        else if (strcmp(name, "value") == 0)
            bad = state_i64(value, &st->fs_apply_value);
        else if (strcmp(name, "time") == 0)
            bad = state_word(value, st->fs_apply_time, STATE_TIME_MAX);
        else
            goto unknown;
    } else if (strcmp(section, "last_run") == 0) {
        st->fs_has_run = 1;
        if (strcmp(name, "command") == 0)
            bad = state_word(value, st->fs_run_command, STATE_WORD_MAX);
        else if (strcmp(name, "previous") == 0)
            bad = state_i64(value, &st->fs_run_previous);
        else if (strcmp(name, "target") == 0)
            bad = state_i64(value, &st->fs_run_target);
        else if (strcmp(name, "service") == 0)
            bad = state_word(value, st->fs_run_service, STATE_WORD_MAX);
        else if (strcmp(name, "result") == 0)
            bad = state_word(value, st->fs_run_result, STATE_WORD_MAX);
        else if (strcmp(name, "time") == 0)
            bad = state_word(value, st->fs_run_time, STATE_TIME_MAX);
        else
            goto unknown;
    } else {
        goto unknown;
    }
    if (bad && !sp->sp_failed) {
        snprintf(sp->sp_err, sp->sp_errlen, "%s: bad value for %s.%s: \"%s\"",
                 sp->sp_name, section, name, value);
        sp->sp_failed = 1;
    }
    return bad ? 0 : 1;
unknown:
    if (!sp->sp_failed) {
        snprintf(sp->sp_err, sp->sp_errlen, "%s: unknown key %s.%s",
                 sp->sp_name, section, name);
        sp->sp_failed = 1;
    }
    return 0;
}

int
state_parse(const char *text, const char *name, struct fixer_state *st,
            char *err, size_t errlen)
{
    struct state_parse_ctx sp = {st, name, err, errlen, 0};
    int line;

    memset(st, 0, sizeof(*st));
    line = ini_parse_string(text, state_handler, &sp);
    if (line != 0 && !sp.sp_failed)
        snprintf(err, errlen, "%s:%d: syntax error", name, line);
    if (line != 0 || sp.sp_failed) {
        memset(st, 0, sizeof(*st));
        return -1;
    }
    return 0;
}

static int
state_file_lock(void *ctx, char *err, size_t errlen)
{
    struct state_file *sf = ctx;

    if (sf->sf_lock != NULL)
        return 0;
    return fplat_lock_take(sf->sf_lock_path, &sf->sf_lock, err, errlen);
}

static void
state_file_unlock(void *ctx)
{
    struct state_file *sf = ctx;

    fplat_lock_release(sf->sf_lock);
    sf->sf_lock = NULL;
}

static int
state_file_load(void *ctx, struct fixer_state *st, char *err, size_t errlen)
{
    struct state_file *sf = ctx;
    char *text = NULL;
    size_t len;
    int r;

    memset(st, 0, sizeof(*st));
    r = fplat_read_file(sf->sf_path, STATE_FILE_MAX, &text, &len, err, errlen);
    if (r == 1)
        return 0;
    if (r == -1)
        return -1;
    r = state_parse(text, sf->sf_path, st, err, errlen);
    free(text);
    return r;
}

static int
state_file_save(void *ctx, const struct fixer_state *in, char *err,
                size_t errlen)
{
    struct state_file *sf = ctx;
    struct fixer_state st = *in;
    char buf[STATE_FILE_MAX];
    char now[STATE_TIME_MAX];
    int n;

    fplat_utc_now(now, sizeof(now));
    if (st.fs_has_apply && st.fs_apply_time[0] == '\0')
        memcpy(st.fs_apply_time, now, sizeof(now));
    if (st.fs_has_run && st.fs_run_time[0] == '\0')
        memcpy(st.fs_run_time, now, sizeof(now));
    n = state_format(&st, buf, sizeof(buf));
    if (n < 0) {
        snprintf(err, errlen, "%s: state too large", sf->sf_path);
        return -1;
    }
    return fplat_write_atomic(sf->sf_path, buf, (size_t)n, err, errlen);
}

static void
state_file_close(void *ctx)
{
    struct state_file *sf = ctx;

    if (sf == NULL)
        return;
    fplat_lock_release(sf->sf_lock);
    free(sf->sf_path);
    free(sf->sf_lock_path);
    free(sf);
}

int
state_file_open(struct state_ops *ops, const char *path, char *err,
                size_t errlen)
{
    struct state_file *sf = calloc(1, sizeof(*sf));
    size_t n = strlen(path) + sizeof(".lock");

    if (sf == NULL)
        goto oom;
    sf->sf_path = strdup(path);
    sf->sf_lock_path = malloc(n);
    if (sf->sf_path == NULL || sf->sf_lock_path == NULL)
        goto oom;
    snprintf(sf->sf_lock_path, n, "%s.lock", path);
    ops->st_ctx = sf;
    ops->st_lock = state_file_lock;
    ops->st_unlock = state_file_unlock;
    ops->st_load = state_file_load;
    ops->st_save = state_file_save;
    ops->st_close = state_file_close;
    return 0;
oom:
    state_file_close(sf);
    snprintf(err, errlen, "out of memory");
    return -1;
}
