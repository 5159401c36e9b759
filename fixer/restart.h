/*
 * restart.h - `wsus-fixer restart`: the guide's "restart the BITS
 * service" procedure. BITS is restarted (started if it was stopped; a
 * disabled BITS is enabled only with fo_enable_bits), then WSUSService
 * (started if it was stopped), each stop and start waited for within
 * stop_timeout and start_timeout. The scm backend stops the services that
 * depend on each one first and starts them again after it. The same
 * compensation rule as apply: a service that does not stop is started
 * again, and every service ends running, or the run exits 3 with the
 * exact commands to run by hand.
 */
#ifndef WSUS_RESTART_H
#define WSUS_RESTART_H

#include "fixer.h"

/* Returns FIXER_EXIT_OK (both restarted and running), FIXER_EXIT_FAILED
 * (a restart failed or the lock is held, every service running as
 * before), or FIXER_EXIT_NOT_RESTORED (a service is not running). */
int fixer_restart(const struct fixer_env *env, const struct fixer_opts *o,
                  struct report *rep);

#endif
