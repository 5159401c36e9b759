/*
 * doctor.h - the checks of the WSUS synchronization troubleshooting guide,
 * each reported OK, WARN, FAIL (with a one-line fix) or SKIP (with the
 * reason): BITS present, not disabled, running; WSUSService present and
 * running; SUSDB reachable and the value; WSUS's own proxy against the
 * shim's listen address (wsus-proxy), its update storage (storage) and
 * its upstream WSUS server answering one request (upstream-server), from
 * the configuration columns found by name (wsuscfg.h); the content folder
 * readable, and granting read to NETWORK SERVICE and Users (content-acl);
 * the shim's upstream proxy resolving and accepting a TCP connection;
 * the HTTP/1.1 workaround against a probe of the shim (http11); files
 * WSUS wants but has not downloaded (missing-updates); approvals that
 * differ from the upstream server's (approvals). Changes nothing.
 */
#ifndef WSUS_DOCTOR_H
#define WSUS_DOCTOR_H

#include <stdint.h>

#include "fixer.h"

struct doctor_opts {
    const char *do_content_dir; /* "" or NULL: content-dir skipped, and
                                   content-acl reads WSUS's registry
                                   (Windows) or is skipped */
    const char *do_shim_conf;   /* "" or NULL: upstream check skipped,
                                   no shim to compare WSUS's proxy with */
    const char *do_shim_bin;    /* "" or NULL: http11 only sends one
                                   request to the shim's listen address */
    const char *do_wsusutil;    /* "" or NULL: approvals skipped */
    const char *do_cwd;         /* folder commands run in (the conf's) */
    uint32_t do_probe_timeout_ms;
    uint32_t do_command_timeout_ms; /* wsus-shim probe, wsusutil */
};

/* Returns FIXER_EXIT_OK when no check failed, else FIXER_EXIT_FAILED. */
int doctor_run(const struct fixer_env *env, const struct fixer_opts *o,
               const struct doctor_opts *d, struct report *rep);

#endif
