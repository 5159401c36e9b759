/*
 * fuzz_config.c - libFuzzer target for the conf reader (config_load in
 * proxy/config.c): the input is written to a temporary file and loaded.
 * Properties: a failure says why (non-empty err); a success frees
 * cleanly. ASan and LeakSanitizer catch the rest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "config.h"

static char conf_path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct shim_config cfg;
    char err[512];
    FILE *f;

    if (conf_path[0] == '\0') {
        snprintf(conf_path, sizeof(conf_path), "/tmp/fuzz_config.%ld.conf",
                 (long)getpid());
    }
    f = fopen(conf_path, "wb");
    if (f == NULL)
        return 0;
    if (size > 0)
        fwrite(data, 1, size, f);
    fclose(f);
    err[0] = '\0';
    if (config_load(conf_path, &cfg, err, sizeof(err)) == 0)
        config_free(&cfg);
    else
        CHECK(err[0] != '\0');
    unlink(conf_path);
    return 0;
}
