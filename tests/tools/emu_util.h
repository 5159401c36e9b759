/*
 * emu_util.h - the pure helpers of upstream-emu: strict numbers, Base64,
 * HTTP dates, the Range header and request-target paths. No sockets, no
 * event loop, no allocation except emu_base64().
 */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Strict decimal: digits only; sign, overflow, junk, empty are -1. */
int emu_parse_dec(const char *s, uint64_t *out);
/* Exactly n hex digits (1..15). 0 or -1. */
int emu_parse_hex(const char *s, size_t n, uint64_t *out);
/* Base64 of a C string, malloc'd (caller frees), NULL on ENOMEM. */
char *emu_base64(const char *in);
/* IMF-fixdate of t into buf. */
void emu_http_date(time_t t, char *buf, size_t len);
/*
 * A Range header against an entity size. Returns 1 with [*first, *last]
 * (clamped) for one satisfiable range, 0 to ignore the header (absent,
 * malformed, several ranges), -1 for unsatisfiable (416).
 */
int emu_range_parse(const char *h, uint64_t size, uint64_t *first,
                    uint64_t *last);
/*
 * The path of an origin-form or absolute-form ("http[s]://host/...",
 * host ignored) target, percent-decoded into out without query or
 * fragment. *absolute says which form. -1 for another form, a bad or
 * NUL escape, a ".." segment, or a path longer than outlen - 1.
 */
int emu_decode_path(const char *target, char *out, size_t outlen,
                    int *absolute);

#endif
