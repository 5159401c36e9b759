/*
 * emu_util.c - pure helpers of upstream-emu (see emu_util.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu_util.h"

int
emu_parse_dec(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

int
emu_parse_hex(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 15)
        return -1;
    for (i = 0; i < n; i++) {
        int d;
        char ch = s[i];

        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return -1;
        v = v * 16 + (uint64_t)d;
    }
    *out = v;
    return 0;
}

char *
emu_base64(const char *in)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), i, o = 0;
    const unsigned char *p = (const unsigned char *)in;
    char *out = malloc((n + 2) / 3 * 4 + 1);

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = tab[p[i] >> 2];
        out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[o++] = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        out[o++] = tab[p[i + 2] & 63];
    }
    if (n - i == 1) {
        out[o++] = tab[p[i] >> 2];
        out[o++] = tab[(p[i] & 3) << 4];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        out[o++] = tab[p[i] >> 2];
        out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[o++] = tab[(p[i + 1] & 15) << 2];
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

void
emu_http_date(time_t t, char *buf, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int
emu_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    char a[32], b[32];
    const char *dash;
    uint64_t x, y;
    size_t n;

    if (h == NULL || strncasecmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ',') != NULL || (dash = strchr(h, '-')) == NULL)
        return 0;
    n = (size_t)(dash - h);
    if (n >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
        return 0;
    memcpy(a, h, n);
    a[n] = '\0';
    strcpy(b, dash + 1);
    if (n == 0) { /* suffix: -N */
        if (emu_parse_dec(b, &y) == -1)
            return 0;
        if (y == 0 || size == 0)
            return -1;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return 1;
    }
    if (emu_parse_dec(a, &x) == -1)
        return 0;
    if (b[0] == '\0')
        y = UINT64_MAX;
    else if (emu_parse_dec(b, &y) == -1 || y < x)
        return 0;
    if (x >= size)
        return -1;
    *first = x;
    *last = y >= size ? size - 1 : y;
    return 1;
}

int
emu_decode_path(const char *target, char *out, size_t outlen, int *absolute)
{
    const char *t = target, *end;
    size_t o = 0;

    *absolute = 0;
    if (strncasecmp(t, "http://", 7) == 0 ||
        strncasecmp(t, "https://", 8) == 0) {
        *absolute = 1;
        t = strstr(t, "//") + 2;
        t += strcspn(t, "/?#");
        if (*t != '/')
            t = "/";
    }
    if (*t != '/')
        return -1;
    end = t + strcspn(t, "?#");
    for (; t < end; t++) {
        char ch = *t;

        if (ch == '%') {
            uint64_t v;

            if (end - t < 3 || emu_parse_hex(t + 1, 2, &v) == -1 || v == 0)
                return -1;
            ch = (char)v;
            t += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    /* No ".." segment, whatever the slashes around it. */
    for (t = out; (t = strstr(t, "..")) != NULL; t += 2)
        if (t[-1] == '/' && (t[2] == '/' || t[2] == '\0'))
            return -1;
    return 0;
}
