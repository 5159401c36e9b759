/*
 * strutil.h - the small string helpers both programs use: ASCII case
 * folding and comparison (HTTP field names, conf keywords and tokens are
 * ASCII and case-insensitive; the C library's tolower() depends on the
 * locale) and a length-bounded duplicate.
 */
#ifndef WSUS_STRUTIL_H
#define WSUS_STRUTIL_H

#include <stddef.h>

/* c folded to lower case when it is an ASCII capital, else unchanged. */
int str_lc(int c);

/* Are the NUL-terminated a and b equal, ignoring ASCII case? 1 or 0. */
int str_ieq(const char *a, const char *b);

/* Is a[0..alen) equal to the NUL-terminated b, ignoring ASCII case
 * (same length, same letters)? 1 or 0. a need not be NUL-terminated. */
int str_ieqn(const char *a, size_t alen, const char *b);

/* Does the NUL-terminated s start with prefix, ignoring ASCII case? */
int str_iprefix(const char *s, const char *prefix);

/* The value of the hex digit c (either case), or -1. */
int str_hexval(int c);

/* A NUL-terminated copy of s[0..n) in a new allocation the caller frees,
 * or NULL when out of memory. */
char *str_dupn(const char *s, size_t n);

#endif
