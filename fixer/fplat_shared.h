/*
 * fplat_shared.h - what fplat_posix.c and fplat_win32.c share, defined
 * once in fplat.c. Private to the platform layer: other modules use
 * fplat.h only.
 */
#ifndef WSUS_FPLAT_SHARED_H
#define WSUS_FPLAT_SHARED_H

#include <stddef.h>

/* Poll step while a command runs: bounds how late its exit is noticed. */
#define FPLAT_EXEC_STEP_MS 20

/* Append len bytes of buf to out (capacity outlen, NUL kept), dropping
 * what does not fit. *used is the length already in out. */
void fplat_append(char *out, size_t outlen, size_t *used, const char *buf,
                  size_t len);

#endif
