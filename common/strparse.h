/*
 * strparse.h - strict parsing of numbers, sizes, durations and booleans,
 * shared by wsus-shim and wsus-fixer. Each returns 0 or -1: empty input,
 * a sign, overflow, and trailing junk are all errors. Surrounding spaces
 * are not accepted either; callers trim. Also the one helper that writes
 * an error message into a caller's buffer.
 */
#ifndef WSUS_STRPARSE_H
#define WSUS_STRPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "printf_like.h"

/* Format an error message into err (errlen bytes, cut to fit); nothing
 * when err is NULL or errlen is 0. */
void errfmt(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

int parse_u64(const char *s, uint64_t *out);
/* Like parse_u64 with an inclusive upper bound. */
int parse_u64_max(const char *s, uint64_t max, uint64_t *out);
/* Sizes: plain bytes or with a K, M, G or T suffix (powers of 1024,
 * optionally followed by "B" or "iB"). */
int parse_size(const char *s, uint64_t *out);
/* Durations: "250ms", "30s", "5m", "1h"; a bare number means seconds.
 * The result must fit in 32 bits of milliseconds. */
int parse_duration_ms(const char *s, uint32_t *out);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int parse_bool(const char *s, int *out);

#endif
