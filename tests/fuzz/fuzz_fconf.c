/*
 * fuzz_fconf.c - libFuzzer target for the wsus-fixer conf reader
 * (fconf_load in fixer/fconf.c): the input is written to a temporary file
 * and loaded. Properties: a refusal says why (non-empty err); a success
 * dumps every key (fconf_dump) and frees cleanly. ASan and LeakSanitizer
 * catch the rest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "fconf.h"

static char fc_path[64];

/* fconf_dump's line callback: each line is a NUL-terminated string. */
static void
fc_line(void *arg, const char *text)
{
    *(size_t *)arg += strlen(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fixer_conf cf;
    char err[512];
    size_t total = 0;
    FILE *f;

    if (fc_path[0] == '\0')
        snprintf(fc_path, sizeof(fc_path), "/tmp/fuzz_fconf.%ld.conf",
                 (long)getpid());
    f = fopen(fc_path, "wb");
    if (f == NULL)
        return 0;
    if (size > 0)
        fwrite(data, 1, size, f);
    fclose(f);
    err[0] = '\0';
    if (fconf_load(fc_path, &cf, err, sizeof(err)) == 0) {
        fconf_dump(&cf, fc_line, &total);
        CHECK(total > 0);
        fconf_free(&cf);
    } else {
        CHECK(err[0] != '\0');
    }
    unlink(fc_path);
    return 0;
}
