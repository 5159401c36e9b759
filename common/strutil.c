/*
 * strutil.c - ASCII string helpers shared by wsus-shim and wsus-fixer.
 */
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

int
str_lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
str_ieq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        if (str_lc((unsigned char)*a) != str_lc((unsigned char)*b))
            return 0;
    }
    return *a == *b;
}

int
str_ieqn(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++) {
        if (b[i] == '\0' ||
            str_lc((unsigned char)a[i]) != str_lc((unsigned char)b[i]))
            return 0;
    }
    return b[i] == '\0';
}

int
str_iprefix(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (*s == '\0' ||
            str_lc((unsigned char)*s) != str_lc((unsigned char)*prefix))
            return 0;
    }
    return 1;
}

int
str_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *
str_dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
