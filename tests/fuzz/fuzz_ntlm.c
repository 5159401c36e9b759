/*
 * fuzz_ntlm.c - libFuzzer target for the NTLM CHALLENGE_MESSAGE reader
 * (ntlm_parse_challenge in proxy/ntlm.c). Property: on success the target
 * info lies inside the message; on failure the error is a non-empty
 * string. ASan catches any read outside the message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ntlm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any overread. */
    uint8_t *msg = malloc(size > 0 ? size : 1);
    struct ntlm_challenge c;
    char err[256];

    if (msg == NULL)
        return 0;
    memcpy(msg, data, size);
    err[0] = '\0';
    if (ntlm_parse_challenge(msg, size, &c, err, sizeof(err)) == 0) {
        if (c.nc_tinfo != NULL)
            CHECK(c.nc_tinfo >= msg &&
                  c.nc_tinfo + c.nc_tinfo_len <= msg + size);
    } else {
        CHECK(err[0] != '\0');
    }
    free(msg);
    return 0;
}
