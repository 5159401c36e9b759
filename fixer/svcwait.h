/*
 * svcwait.h - waiting for a service to reach a state, shared by the
 * procedures that stop and start services (fixer.c's apply and revert,
 * restart.c), and the manual commands they print when that fails. Bounded by
 * the clock and by a count of polls; progress is shown on the report while it
 * waits.
 */
#ifndef WSUS_SVCWAIT_H
#define WSUS_SVCWAIT_H

#include <stddef.h>
#include <stdint.h>

#include "fixer.h"

/*
 * Poll name's state until it is want, from t0 for at most timeout_ms,
 * every o->fo_poll_ms. Query failures and unknown states while waiting
 * are not fatal: the service may be between states. Returns 0, or -1
 * with "NAME is still STATE after N s[: last query error]" in err.
 */
int svcwait_state(const struct fixer_env *env, const struct fixer_opts *o,
                  struct report *rep, const char *name, enum svc_state want,
                  uint64_t t0, uint32_t timeout_ms, char *err, size_t errlen);

/* Append the exact command that does act on name by hand (the backend's
 * so_manual) to the NUL-terminated list in buf, after "; then " when it
 * is not empty; truncated to len. For the ACTION REQUIRED message of a
 * procedure that could not restore a service. */
void svcwait_manual(const struct svc_ops *svc, enum svc_action act,
                    const char *name, char *buf, size_t len);

#endif
