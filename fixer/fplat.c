/*
 * fplat.c - the part of the fixer's platform layer (fplat.h) that is
 * plain C11 and the same everywhere: reading a whole file, and the
 * helpers of fplat_shared.h. The rest is in fplat_posix.c or
 * fplat_win32.c, one of which CMakeLists.txt builds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fplat.h"
#include "fplat_shared.h"
#include "strparse.h"

int
fplat_read_file(const char *path, size_t max, char **data, size_t *len,
                char *err, size_t errlen)
{
    FILE *f;
    char *buf = NULL;
    size_t n;

    *data = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(max + 2);
    if (buf == NULL) {
        errfmt(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        errfmt(err, errlen, "%s: read error", path);
        goto fail;
    }
    if (n > max) {
        errfmt(err, errlen, "%s: larger than %lu bytes", path,
               (unsigned long)max);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}

/* Append len bytes of buf to out (capacity outlen, NUL kept), dropping
 * what does not fit. */
void
fplat_append(char *out, size_t outlen, size_t *used, const char *buf,
             size_t len)
{
    size_t room;

    if (outlen == 0)
        return;
    room = outlen - 1 - *used;
    if (len > room)
        len = room;
    memcpy(out + *used, buf, len);
    *used += len;
    out[*used] = '\0';
}
