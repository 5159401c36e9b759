/*
 * range.h - HTTP Range (RFC 9110 §14) parsing and the 206/416 decision.
 * Pure: no I/O, no libevent. All offsets and lengths are 64-bit.
 */
#ifndef WSUS_RANGE_H
#define WSUS_RANGE_H

#include <stddef.h>
#include <stdint.h>

#define RANGE_MAX_SPECS 16 /* more ranges than this: treated as invalid */

/* One byte-range-spec as written by the client, before the total length
 * is known. */
struct range_spec {
    int rs_suffix;     /* "-n": the last rs_last bytes */
    int rs_open;       /* "a-": from rs_first to the end */
    uint64_t rs_first;
    uint64_t rs_last;  /* inclusive; for a suffix: the byte count n */
};

struct range_set {
    struct range_spec r_v[RANGE_MAX_SPECS];
    size_t r_n;
};

enum range_parse_rc {
    RANGE_OK = 0,       /* one or more specs parsed */
    RANGE_INVALID = -1, /* syntax error or unit other than bytes: ignore */
};

/* Parse a Range header value ("bytes=0-499, -200"). Whitespace around
 * commas is allowed; empty list elements are skipped. */
enum range_parse_rc range_parse(const char *value, struct range_set *out);

/* A resolved, satisfiable range: first..last inclusive, last < total. */
struct byte_range {
    uint64_t br_first;
    uint64_t br_last;
};

enum range_resolve_rc {
    RESOLVE_FULL = 0,       /* serve the whole entity (200) */
    RESOLVE_PARTIAL = 1,    /* one range (206) in *out */
    RESOLVE_UNSATISFIABLE = 2, /* 416 with Content-Range: bytes * /total */
};

/* Resolve specs against total. Multiple ranges are coalesced into the one
 * range that covers them all (first of the lowest, last of the highest
 * satisfiable spec). A range covering the whole entity still resolves
 * PARTIAL (BITS expects 206 for bytes=0-). Unsatisfiable specs are
 * dropped; if none remain, UNSATISFIABLE. total == 0 is always
 * UNSATISFIABLE for a non-empty set. */
enum range_resolve_rc range_resolve(const struct range_set *set,
                                    uint64_t total, struct byte_range *out);

/* Format "bytes first-last/total" into buf. Returns 0, -1 if too small. */
int range_content_range(const struct byte_range *r, uint64_t total,
                        char *buf, size_t len);
/* Format "bytes * /total" (without the space) into buf. */
int range_content_range_unsat(uint64_t total, char *buf, size_t len);

/* Parse a Content-Range response value "bytes a-b/total" or "bytes a-b/*"
 * (total_known set to 0). Returns 0 or -1 for anything malformed,
 * including last < first or last >= total. */
int range_parse_content_range(const char *value, struct byte_range *out,
                              uint64_t *total, int *total_known);

#endif
