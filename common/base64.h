/*
 * base64.h - standard base64 (RFC 4648 section 4), as HTTP authentication
 * carries it (Basic credentials, NTLM and Negotiate tokens).
 */
#ifndef WSUS_BASE64_H
#define WSUS_BASE64_H

#include <stddef.h>

/* Length of the encoding of n bytes, without the NUL. */
#define BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Encode in[0..n) into out, NUL-terminated; out holds BASE64_LEN(n) + 1
 * bytes. */
void base64_encode(const unsigned char *in, size_t n, char *out);

/* Decode the NUL-terminated s (padding required, no spaces or line
 * breaks) into out, which holds outlen bytes. Returns 0 with *n set, or
 * -1 for bad characters, bad padding or an out buffer that is too small. */
int base64_decode(const char *s, unsigned char *out, size_t outlen, size_t *n);

#endif
