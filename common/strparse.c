/*
 * strparse.c - strict parsing of numbers, sizes, durations and booleans.
 * Never uses atol/strtoul: every character is checked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strparse.h"
#include "strutil.h"

void
errfmt(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Parse the leading decimal digits of s into *out; *end gets the first
 * non-digit. Returns 0, or -1 for no digits or overflow. */
static int
parse_digits(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    *end = p;
    return 0;
}

int
parse_u64(const char *s, uint64_t *out)
{
    const char *end;
    uint64_t v;

    if (s == NULL || parse_digits(s, &v, &end) == -1 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int
parse_u64_max(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (parse_u64(s, &v) == -1 || v > max)
        return -1;
    *out = v;
    return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
    const char *end;
    uint64_t v, mul = 1;

    if (s == NULL || parse_digits(s, &v, &end) == -1)
        return -1;
    if (*end != '\0') {
        switch (str_lc((unsigned char)*end)) {
        case 'k':
            mul = 1ull << 10;
            break;
        case 'm':
            mul = 1ull << 20;
            break;
        case 'g':
            mul = 1ull << 30;
            break;
        case 't':
            mul = 1ull << 40;
            break;
        case 'b':
            mul = 1;
            end--;
            break;
        default:
            return -1;
        }
        end++;
        if (*end != '\0' && !str_ieq(end, "b") && !str_ieq(end, "ib"))
            return -1;
    }
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int
parse_duration_ms(const char *s, uint32_t *out)
{
    const char *end;
    uint64_t v, mul;

    if (s == NULL || parse_digits(s, &v, &end) == -1)
        return -1;
    if (*end == '\0' || str_ieq(end, "s"))
        mul = 1000;
    else if (str_ieq(end, "ms"))
        mul = 1;
    else if (str_ieq(end, "m"))
        mul = 60000;
    else if (str_ieq(end, "h"))
        mul = 3600000;
    else
        return -1;
    if (v > UINT32_MAX / mul)
        return -1;
    *out = (uint32_t)(v * mul);
    return 0;
}

int
parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    if (s == NULL)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        if (str_ieq(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (str_ieq(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}
