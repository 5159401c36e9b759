/*
 * svcwait.c - waiting for a service state (svcwait.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "svcwait.h"

#define SW_ERR_MAX 1024

int
svcwait_state(const struct fixer_env *env, const struct fixer_opts *o,
              struct report *rep, const char *name, enum svc_state want,
              uint64_t t0, uint32_t timeout_ms, char *err, size_t errlen)
{
    const struct svc_ops *svc = env->fe_svc;
    const struct fixer_clock *clk = env->fe_clock;
    uint32_t poll = o->fo_poll_ms ? o->fo_poll_ms : 1;
    uint64_t max_polls = (uint64_t)timeout_ms / poll + 2;
    enum svc_state st = SVC_UNKNOWN;
    char qerr[SW_ERR_MAX] = "";

    for (uint64_t i = 0; i < max_polls; i++) {
        uint64_t now, spent;

        qerr[0] = '\0';
        if (svc->so_query(svc->so_ctx, name, &st, qerr, sizeof(qerr)) == 0 &&
            st == want) {
            report_progress_end(rep);
            return 0;
        }
        now = clk->fc_now_ms(clk->fc_ctx);
        spent = now > t0 ? now - t0 : 0;
        if (spent >= timeout_ms)
            break;
        report_progress(rep, "waiting for %s to be %s: %" PRIu64 " of %u s",
                        name, svc_state_name(want), spent / 1000,
                        (unsigned)(timeout_ms / 1000));
        clk->fc_sleep_ms(clk->fc_ctx, timeout_ms - spent < poll
                                          ? (uint32_t)(timeout_ms - spent)
                                          : poll);
    }
    report_progress_end(rep);
    snprintf(err, errlen, "%s is still %s after %u s%s%s", name,
             svc_state_name(st), (unsigned)(timeout_ms / 1000),
             qerr[0] ? ": " : "", qerr);
    return -1;
}

void
svcwait_manual(const struct svc_ops *svc, enum svc_action act, const char *name,
               char *buf, size_t len)
{
    char cmd[512];
    size_t used = strlen(buf);

    if (used >= len)
        return;
    svc->so_manual(svc->so_ctx, act, name, cmd, sizeof(cmd));
    snprintf(buf + used, len - used, "%s%s", used ? "; then " : "", cmd);
}
