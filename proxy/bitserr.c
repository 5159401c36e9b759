/*
 * bitserr.c - BITS error codes for failed answers (bitserr.h).
 *
 * The HTTP codes come from bitsmsg.h: FACILITY_HTTP (0x19) with the
 * status as the code. BITS names a constant for the statuses below; any
 * other error status still reaches the job as 0x80190000 + status.
 */
#include <stddef.h>

#include "bitserr.h"

#define BITS_HTTP_BASE 0x80190000u

/* The statuses with a BG_E_HTTP_ERROR_nnn constant in bitsmsg.h. */
static const struct {
    int bs_status;
    const char *bs_name;
} bits_http[] = {
    {400, "BG_E_HTTP_ERROR_400"}, {401, "BG_E_HTTP_ERROR_401"},
    {402, "BG_E_HTTP_ERROR_402"}, {403, "BG_E_HTTP_ERROR_403"},
    {404, "BG_E_HTTP_ERROR_404"}, {405, "BG_E_HTTP_ERROR_405"},
    {406, "BG_E_HTTP_ERROR_406"}, {407, "BG_E_HTTP_ERROR_407"},
    {408, "BG_E_HTTP_ERROR_408"}, {409, "BG_E_HTTP_ERROR_409"},
    {410, "BG_E_HTTP_ERROR_410"}, {411, "BG_E_HTTP_ERROR_411"},
    {412, "BG_E_HTTP_ERROR_412"}, {413, "BG_E_HTTP_ERROR_413"},
    {414, "BG_E_HTTP_ERROR_414"}, {415, "BG_E_HTTP_ERROR_415"},
    {416, "BG_E_HTTP_ERROR_416"}, {417, "BG_E_HTTP_ERROR_417"},
    {449, "BG_E_HTTP_ERROR_449"}, {500, "BG_E_HTTP_ERROR_500"},
    {501, "BG_E_HTTP_ERROR_501"}, {502, "BG_E_HTTP_ERROR_502"},
    {503, "BG_E_HTTP_ERROR_503"}, {504, "BG_E_HTTP_ERROR_504"},
    {505, "BG_E_HTTP_ERROR_505"},
};

int
bitserr_lookup(enum bitserr_kind kind, int status, struct bitserr *out)
{
    switch (kind) {
    case BITSERR_RANGE_IGNORED:
        out->be_code = 0x80200013u;
        out->be_name = "BG_E_INSUFFICIENT_RANGE_SUPPORT";
        return 0;
    case BITSERR_NO_LENGTH:
        out->be_code = 0x80200011u;
        out->be_name = "BG_E_MISSING_FILE_SIZE";
        return 0;
    case BITSERR_STATUS:
        break;
    }
    if (status < 400 || status > 599)
        return -1;
    out->be_code = BITS_HTTP_BASE + (uint32_t)status;
    out->be_name = "BG_E_HTTP_ERROR";
    for (size_t i = 0; i < sizeof(bits_http) / sizeof(bits_http[0]); i++)
        if (bits_http[i].bs_status == status)
            out->be_name = bits_http[i].bs_name;
    return 0;
}
