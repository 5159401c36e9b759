/*
 * base64.c - RFC 4648 base64, strict on decode.
 */
#include <stdint.h>
#include <string.h>

#include "base64.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = b64[(v >> 6) & 63];
        *out++ = b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = b64[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

static int
b64_val(int c)
{
    const char *p;

    if (c == '\0' || (p = strchr(b64, c)) == NULL)
        return -1;
    return (int)(p - b64);
}

int
base64_decode(const char *s, unsigned char *out, size_t outlen, size_t *n)
{
    size_t len = strlen(s), o = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v0 = b64_val(s[i]), v1 = b64_val(s[i + 1]);
        int v2 = s[i + 2] == '=' && last ? -2 : b64_val(s[i + 2]);
        int v3 = s[i + 3] == '=' && last ? -2 : b64_val(s[i + 3]);
        if (v0 < 0 || v1 < 0 || v2 == -1 || v3 == -1 || (v2 == -2 && v3 != -2))
            return -1;
        uint32_t v = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 |
                     (uint32_t)(v2 < 0 ? 0 : v2) << 6 |
                     (uint32_t)(v3 < 0 ? 0 : v3);
        size_t k = v2 < 0 ? 1 : v3 < 0 ? 2 : 3;
        if (o + k > outlen)
            return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (k > 1)
            out[o++] = (unsigned char)(v >> 8);
        if (k > 2)
            out[o++] = (unsigned char)v;
    }
    *n = o;
    return 0;
}
