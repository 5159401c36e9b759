/*
 * doctor.h - the checks of the WSUS synchronization troubleshooting guide,
 * each reported OK, WARN, FAIL (with a one-line fix) or SKIP (with the
 * reason): BITS present, not disabled, running; WSUSService present and
 * running; SUSDB reachable and the value; WSUS's own proxy against the
 * shim's listen address (wsus-proxy), its update storage (storage) and
 * its upstream WSUS server answering one request (upstream-server), from
 * the configuration columns found by name (wsuscfg.h); the content folder
 * readable; the shim's upstream proxy resolving and accepting a TCP
 * connection. Changes nothing.
 */
#ifndef WSUS_DOCTOR_H
#define WSUS_DOCTOR_H

#include <stdint.h>

#include "fixer.h"

struct doctor_opts {
    const char *do_content_dir;
    const char *do_shim_conf; /* "" or NULL: upstream check skipped,
                                 no shim to compare WSUS's proxy with */
    uint32_t do_probe_timeout_ms;
};

/* Returns FIXER_EXIT_OK when no check failed, else FIXER_EXIT_FAILED. */
int doctor_run(const struct fixer_env *env, const struct fixer_opts *o,
               const struct doctor_opts *d, struct report *rep);

#endif
