/*
 * http11.h - doctor's verdict on the HTTP/1.1 workaround (the http11
 * check): BitsDownloadPriorityForeground against what is known of the
 * shim. Foreground downloads fail for files over 2 GB and on any resume,
 * so once a working shim carries WSUS's downloads the advice is to revert
 * the workaround. Pure: the caller reads the value, runs the probe or the
 * request, and reports the verdict.
 */
#ifndef WSUS_HTTP11_H
#define WSUS_HTTP11_H

#include <stdint.h>

#include "wsuscfg.h"

/* What was verified about the shim, strongest first. */
enum h11_shim {
    H11_SHIM_NONE = 0,    /* no shim_conf: nothing to verify */
    H11_SHIM_PROBE_OK,    /* `wsus-shim probe` exit 0: every parent works */
    H11_SHIM_PROBE_FAIL,  /* probe exit 1 or 2: a parent or the conf fails */
    H11_SHIM_PROBE_ERROR, /* the probe could not be run (shim_bin) */
    H11_SHIM_ANSWERS,     /* its listen address answered HTTP; parents
                             not probed */
    H11_SHIM_DOWN,        /* its listen address did not answer */
};

/* The verdict for value (0, 1, or -1 when SUSDB was not read: skip) and
 * shim. evidence is what was verified, in words (the probe's last line,
 * the status line, the error); it ends the detail. v->wv_fix is "" when
 * there is nothing to do. */
void h11_verdict(int64_t value, enum h11_shim shim, const char *evidence,
                 struct wcfg_verdict *v);

#endif
