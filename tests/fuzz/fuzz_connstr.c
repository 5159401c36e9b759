/*
 * fuzz_connstr.c - libFuzzer target for the fixer's ODBC connection
 * strings (fixer/connstr.c).
 *
 * Input: byte 0 picks the output size (1..256), then a SqlServerName and a
 * driver name separated by a NUL (the driver may be empty: the default),
 * which are also taken together as a connection string to mask.
 * Properties, each an abort:
 *   - connstr_from_sqlserver_name: a success is NUL-terminated within the
 *     buffer, comes only from a name and driver free of ; { } = and
 *     control characters (nothing can be injected), and names the driver
 *     in braces; a refusal says why;
 *   - connstr_mask: the output is NUL-terminated within the buffer, and
 *     masking twice changes nothing (a masked string shows no value that a
 *     second pass would still hide).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "connstr.h"

/* Does s hold a character that would break a connection string? */
static int
breaks(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || strchr(";{}=", c) != NULL)
            return 1;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in, *out, *big;
    const char *name, *driver;
    char err[256], want[300];
    size_t outlen;

    if (size < 1)
        return 0;
    outlen = 1 + data[0];
    in = malloc(size + 1); /* name NUL driver NUL */
    out = malloc(outlen);
    big = malloc(4 * size + 16);
    CHECK(in != NULL && out != NULL && big != NULL);
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    in[size] = '\0';
    name = in;
    driver = in + strlen(in) + 1; /* at most in + size: a NUL */

    err[0] = '\0';
    memset(out, 'x', outlen);
    if (connstr_from_sqlserver_name(
            name, *driver != '\0' ? driver : CONNSTR_DEFAULT_DRIVER, out,
            outlen, err, sizeof(err)) == 0) {
        CHECK(memchr(out, '\0', outlen) != NULL);
        CHECK(!breaks(name) && !breaks(driver) && *name != '\0');
        snprintf(want, sizeof(want), "{%s}",
                 *driver != '\0' ? driver : CONNSTR_DEFAULT_DRIVER);
        CHECK(strstr(out, want) != NULL);
    } else {
        CHECK(err[0] != '\0');
    }

    /* the whole input (NULs as ';') as a connection string */
    for (size_t i = 0; i + 1 < size; i++)
        in[i] = data[i + 1] == '\0' ? ';' : (char)data[i + 1];
    memset(out, 'x', outlen);
    connstr_mask(in, out, outlen);
    CHECK(memchr(out, '\0', outlen) != NULL);
    connstr_mask(in, big, 4 * size + 16);
    if (strlen(big) < 4 * size + 15) {
        char *twice = malloc(4 * size + 16);

        CHECK(twice != NULL);
        connstr_mask(big, twice, 4 * size + 16);
        if (strcmp(big, twice) != 0) {
            fprintf(stderr, "once:  %s\ntwice: %s\n", big, twice);
            abort();
        }
        free(twice);
    }
    free(in);
    free(out);
    free(big);
    return 0;
}
