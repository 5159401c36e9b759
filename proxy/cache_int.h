/*
 * cache_int.h - what cache.c (the files and the index) and cache_meta.c
 * (keys and the meta text) share. Nothing else includes this header.
 */
#ifndef WSUS_CACHE_INT_H
#define WSUS_CACHE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

/* Bytes of a binary SHA-1 (index keys and body digests). */
#define KEY_LEN 20
/* The meta text is the URL plus a bounded set of short lines. */
#define CACHE_META_MAX (CACHE_URL_MAX + 2048u)

/* n bytes as 2n lower-case hex digits and a NUL into out. */
void cache_hex(const uint8_t *b, size_t n, char *out);
/* 40 lower-case hex digits at s into 20 bytes. Returns 0 or -1. */
int cache_from_hex40(const char *s, uint8_t *out);
/* The binary index key of url: the SHA-1 of its text (all zeros if
 * OpenSSL fails, which then just misses). */
void cache_key_bin(const char *url, uint8_t key[KEY_LEN]);
/* A meta value: NUL-terminated within cap bytes (read no further), no
 * control character (so no CR/LF can split a line). Returns 0, or -1
 * with "<name> ..." in err. */
int cache_value_ok(const char *name, const char *s, size_t cap, char *err,
                   size_t errlen);

#endif
