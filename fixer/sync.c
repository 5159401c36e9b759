/*
 * sync.c - start a WSUS synchronization and wait for it (sync.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fplat.h"
#include "strutil.h"
#include "sync.h"

#define SY_OUT_MAX 8192
#define SY_ERR_MAX 1024
#define SY_LINE_MAX 300

/* The last non-empty line of out, trimmed. */
static void
sy_last_line(const char *out, char *line, size_t len)
{
    size_t n = strlen(out), end;

    while (n > 0 && strchr("\r\n \t", out[n - 1]) != NULL)
        n--;
    end = n;
    while (n > 0 && out[n - 1] != '\n')
        n--;
    while (n < end && (out[n] == ' ' || out[n] == '\t'))
        n++;
    snprintf(line, len, "%.*s", (int)(end - n), out + n);
}

/* Case-insensitive substring. */
static int
sy_has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0)
        return 0;
    for (; *hay != '\0'; hay++)
        if (str_iprefix(hay, needle))
            return 1;
    return 0;
}

/* Run cmd; 0 when it exited 0 (out holds its output), else -1 with err. */
static int
sy_exec(const struct sync_opts *s, const char *cmd, char *out, char *err,
        size_t errlen)
{
    int status = -1;

    if (fplat_exec(cmd, s->sy_cwd, s->sy_command_timeout_ms, out, SY_OUT_MAX,
                   &status, err, errlen) == -1)
        return -1;
    if (status != 0) {
        char line[SY_LINE_MAX];

        sy_last_line(out, line, sizeof(line));
        snprintf(err, errlen, "exit %d%s%s", status, line[0] ? ": " : "", line);
        return -1;
    }
    return 0;
}

/* --wait: poll the status until seen running and then not running. */
static int
sy_wait(const struct fixer_env *env, const struct sync_opts *s,
        struct report *rep, char *out, char *msg, size_t msglen)
{
    const struct fixer_clock *clk = env->fe_clock;
    uint32_t poll = s->sy_poll_ms ? s->sy_poll_ms : 1;
    uint64_t max_polls = (uint64_t)s->sy_timeout_ms / poll + 2;
    uint64_t t0 = fixer_now(env);
    char err[SY_ERR_MAX], line[SY_LINE_MAX] = "";
    int seen_running = 0;

    for (uint64_t i = 0; i < max_polls; i++) {
        uint64_t now, spent;

        if (sy_exec(s, s->sy_status_command, out, err, sizeof(err)) == -1) {
            report_step(rep, "sync-wait", REP_FAIL, fixer_now(env) - t0,
                        "status command: %s", err);
            snprintf(msg, msglen,
                     "synchronization started; its status cannot be read: "
                     "%s",
                     err);
            return FIXER_EXIT_FAILED;
        }
        sy_last_line(out, line, sizeof(line));
        if (sy_has(out, s->sy_running_match)) {
            seen_running = 1;
        } else if (seen_running) {
            int ok = sy_has(out, s->sy_success_match);

            report_step(rep, "sync-wait", ok ? REP_OK : REP_FAIL,
                        fixer_now(env) - t0, "synchronization ended: %s", line);
            if (!ok)
                report_fix(rep,
                           "see the synchronization's errors in the WSUS "
                           "console (Synchronizations), then run wsus-fixer "
                           "doctor");
            snprintf(msg, msglen, "synchronization %s: %s",
                     ok ? "succeeded" : "failed", line);
            report_str(rep, "sync_result", line);
            return ok ? FIXER_EXIT_OK : FIXER_EXIT_FAILED;
        }
        now = fixer_now(env);
        spent = now > t0 ? now - t0 : 0;
        if (spent >= s->sy_timeout_ms)
            break;
        report_progress(rep, "synchronization %s: %u of %u s",
                        seen_running ? "running" : "not seen running yet",
                        (unsigned)(spent / 1000),
                        (unsigned)(s->sy_timeout_ms / 1000));
        clk->fc_sleep_ms(clk->fc_ctx, s->sy_timeout_ms - spent < poll
                                          ? (uint32_t)(s->sy_timeout_ms - spent)
                                          : poll);
    }
    report_progress_end(rep);
    report_step(rep, "sync-wait", REP_FAIL, fixer_now(env) - t0,
                "after %u s the synchronization %s; last status: %s",
                (unsigned)(s->sy_timeout_ms / 1000),
                seen_running ? "is still running" : "was never seen running",
                line);
    report_fix(rep, "watch it in the WSUS console (Synchronizations), or "
                    "raise [fixer] sync_timeout");
    snprintf(msg, msglen, "synchronization started; not %s within %u s",
             seen_running ? "finished" : "seen running",
             (unsigned)(s->sy_timeout_ms / 1000));
    return FIXER_EXIT_FAILED;
}

int
sync_run(const struct fixer_env *env, const struct sync_opts *s,
         struct report *rep, char *msg, size_t msglen)
{
    char err[SY_ERR_MAX], line[SY_LINE_MAX];
    char *out = malloc(SY_OUT_MAX);
    uint64_t t0 = fixer_now(env);
    int rc = FIXER_EXIT_FAILED;

    if (out == NULL) {
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    if (s->sy_command == NULL || *s->sy_command == '\0') {
        report_step(rep, "sync-start", REP_FAIL, 0, "no [fixer] sync_command");
        report_fix(rep, "set [fixer] sync_command, or start the "
                        "synchronization in the WSUS console "
                        "(Synchronizations > Synchronize Now)");
        snprintf(msg, msglen, "sync: no sync_command configured");
        goto out;
    }
    if (s->sy_wait &&
        (s->sy_status_command == NULL || *s->sy_status_command == '\0')) {
        report_step(rep, "sync-start", REP_FAIL, 0,
                    "--wait needs [fixer] sync_status_command; nothing "
                    "started");
        snprintf(msg, msglen, "sync --wait: no sync_status_command");
        goto out;
    }
    if (sy_exec(s, s->sy_command, out, err, sizeof(err)) == -1) {
        report_step(rep, "sync-start", REP_FAIL, fixer_now(env) - t0, "%s: %s",
                    s->sy_command, err);
        report_fix(rep, "start the synchronization in the WSUS console "
                        "(Synchronizations > Synchronize Now), and check "
                        "that this account may administer WSUS");
        snprintf(msg, msglen,
                 "sync: the synchronization could not be "
                 "started");
        goto out;
    }
    sy_last_line(out, line, sizeof(line));
    report_step(rep, "sync-start", REP_OK, fixer_now(env) - t0,
                "synchronization started%s%s", line[0] ? ": " : "", line);
    if (!s->sy_wait) {
        snprintf(msg, msglen,
                 "synchronization started (follow it with "
                 "sync --wait or in the WSUS console)");
        rc = FIXER_EXIT_OK;
        goto out;
    }
    rc = sy_wait(env, s, rep, out, msg, msglen);
out:
    free(out);
    return rc;
}
