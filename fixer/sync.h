/*
 * sync.h - `wsus-fixer sync`: the guide's "retry synchronization". A
 * configured command starts a WSUS synchronization (on Windows by
 * default the PowerShell one-liner
 * (Get-WsusServer).GetSubscription().StartSynchronization()); with
 * --wait a configured status command is run every poll interval until
 * the synchronization has been seen running and then no longer runs,
 * bounded by a timeout, and its result is read from that output. The
 * commands run through the system shell (fplat_exec); their output is
 * shown by its last line only.
 */
#ifndef WSUS_SYNC_H
#define WSUS_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "fixer.h"

struct sync_opts {
    const char *sy_command;         /* starts a synchronization */
    const char *sy_status_command;  /* "": --wait is refused */
    const char *sy_running_match;   /* in the status while it runs */
    const char *sy_success_match;   /* in the status once it succeeded */
    const char *sy_cwd;             /* folder the commands run in */
    uint32_t sy_command_timeout_ms; /* each command */
    uint32_t sy_timeout_ms;         /* the whole --wait */
    uint32_t sy_poll_ms;            /* between status commands */
    int sy_wait;
};

/*
 * Start a synchronization, and with sy_wait wait for its end. Records
 * steps (sync-start, sync-wait) on rep but does not finish it: the final
 * message goes to msg. Returns FIXER_EXIT_OK (started; with sy_wait:
 * finished with the success words), or FIXER_EXIT_FAILED (the command
 * failed, the synchronization failed, or the wait timed out; nothing to
 * restore).
 */
int sync_run(const struct fixer_env *env, const struct sync_opts *s,
             struct report *rep, char *msg, size_t msglen);

#endif
