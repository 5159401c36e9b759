/*
 * bitserr.h - the BITS error a download job would have ended with, had
 * it met an answer without the shim in between. Codes are Microsoft's
 * BITS return values (bitsmsg.h): an HTTP status s >= 400 becomes the
 * HRESULT 0x80190000 + s (BG_E_HTTP_ERROR_s); a ranged GET answered
 * without a 206 is BG_E_INSUFFICIENT_RANGE_SUPPORT, a HEAD without a
 * length BG_E_MISSING_FILE_SIZE. Pure: a table lookup.
 */
#ifndef WSUS_BITSERR_H
#define WSUS_BITSERR_H

#include <stdint.h>

/* What went wrong with the answer. */
enum bitserr_kind {
    BITSERR_STATUS = 0,    /* an error status (4xx, 5xx) */
    BITSERR_RANGE_IGNORED, /* a ranged GET answered with no 206 */
    BITSERR_NO_LENGTH,     /* a HEAD (or GET) answered with no length */
};

struct bitserr {
    uint32_t be_code;    /* the HRESULT, e.g. 0x801901F6 */
    const char *be_name; /* "BG_E_HTTP_ERROR_502"; static, never NULL */
};

/* The BITS error for kind (and status, for BITSERR_STATUS) into *out.
 * Returns 0, or -1 when the answer would not fail a job (a status below
 * 400 or above 599). Statuses BITS names no constant for (431, say) get
 * their HRESULT and the name "BG_E_HTTP_ERROR". */
int bitserr_lookup(enum bitserr_kind kind, int status, struct bitserr *out);

#endif
