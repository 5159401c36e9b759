/*
 * range.h - HTTP Range (RFC 9110 §14) parsing and the 206/416 decision.
 * Pure: no I/O, no libevent. All offsets and lengths are 64-bit.
 *
 * The flow for one request: range_parse() the client's Range value once
 * the head is read (INVALID means: ignore the header, answer 200), then
 * range_resolve() the set against the entity length once it is known, and
 * build the reply's Content-Range with range_content_range() (206) or
 * range_content_range_unsat() (416). range_parse_content_range() checks an
 * upstream's 206 against what we asked for.
 *
 * Numbers are 1*DIGIT (leading zeros allowed) parsed by hand; a value
 * above 2^64-1 makes the whole value malformed. A request carrying more
 * than one Range field is the caller's to refuse or ignore (RFC 9110 §5.3:
 * Range is not a list-valued field across lines); pass one value here.
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
    uint64_t rs_first; /* 0 for a suffix */
    uint64_t rs_last;  /* inclusive; for a suffix: the byte count n;
                        * 0 (unused) for an open range */
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
 * commas is allowed; empty list elements are skipped.
 *
 * Grammar accepted (RFC 9110 §14.1.1 and the §5.6.1 list rule):
 *   OWS unit OWS "=" OWS [spec] *( OWS "," OWS [spec] ) OWS
 *   unit = "bytes", case-insensitive; any other unit is INVALID
 *   spec = 1*DIGIT "-" [1*DIGIT]  |  "-" 1*DIGIT
 * OWS around "=" and around the whole value is tolerated although the
 * RFC writes none there. INVALID, for the whole header, when: no spec at
 * all ("bytes=", "bytes=,"); a closed spec with last < first; a number
 * above 2^64-1; a sign, space or other non-digit inside a spec; more than
 * RANGE_MAX_SPECS specs. A suffix "-0" parses (RANGE_OK); it is merely
 * unsatisfiable at resolve time. Specs keep the client's order.
 * out is always written: on INVALID, out->r_n is 0. */
enum range_parse_rc range_parse(const char *value, struct range_set *out);

/* A resolved, satisfiable range: first..last inclusive, last < total. */
struct byte_range {
    uint64_t br_first;
    uint64_t br_last;
};

enum range_resolve_rc {
    RESOLVE_FULL = 0,          /* serve the whole entity (200) */
    RESOLVE_PARTIAL = 1,       /* one range (206) in *out */
    RESOLVE_UNSATISFIABLE = 2, /* 416 with Content-Range: bytes * /total */
};

/* Resolve specs against total. Multiple ranges are coalesced into the one
 * range that covers them all (first of the lowest, last of the highest
 * satisfiable spec). A range covering the whole entity still resolves
 * PARTIAL (BITS expects 206 for bytes=0-). Unsatisfiable specs are
 * dropped; if none remain, UNSATISFIABLE. total == 0 is always
 * UNSATISFIABLE for a non-empty set.
 *
 * Per spec, against total > 0:
 *   "a-b": unsatisfiable if a >= total, else a..min(b, total-1);
 *   "a-":  unsatisfiable if a >= total, else a..total-1;
 *   "-n":  unsatisfiable if n == 0, else max(total-n, 0)..total-1
 *          (n > total gives the whole entity, still PARTIAL).
 * FULL is returned only for a set with no specs (no Range to honour) or
 * one range_parse() never produces (r_n > RANGE_MAX_SPECS, a closed spec
 * with last < first, both flags set): such a set is ignored like an
 * invalid header. *out is written only on PARTIAL. */
enum range_resolve_rc range_resolve(const struct range_set *set, uint64_t total,
                                    struct byte_range *out);

/* Does r cover the whole entity of length total (0..total-1)? 1 or 0;
 * 0 when total is 0. */
int range_is_full(const struct byte_range *r, uint64_t total);

/* Room for any Content-Range value these functions format, NUL included:
 * "bytes " + 20 digits + "-" + 20 digits + "/" + 20 digits + NUL. */
#define RANGE_CONTENT_RANGE_LEN 69

/* Format "bytes first-last/total" into buf. Returns 0, -1 if too small.
 * len counts the terminating NUL (RANGE_CONTENT_RANGE_LEN always fits).
 * Also -1, formatting nothing, when r is not a range of the entity
 * (first > last or last >= total): we never emit a Content-Range that
 * contradicts itself. On -1, buf holds "" when len > 0. */
int range_content_range(const struct byte_range *r, uint64_t total, char *buf,
                        size_t len);
/* Format "bytes * /total" (without the space) into buf. Returns 0, or -1
 * if too small (buf then holds "" when len > 0). */
int range_content_range_unsat(uint64_t total, char *buf, size_t len);

/* Parse a Content-Range response value "bytes a-b/total", or one with an
 * unknown total, "bytes a-b/" followed by '*' (total_known set to 0; the
 * star is not written next to the slash here since that would open a
 * comment). Returns 0 or -1 for anything malformed,
 * including last < first or last >= total.
 * The unit is case-insensitive and followed by exactly one SP; no other
 * whitespace may appear inside, though OWS around the whole value (not
 * part of a field value, RFC 9110 §5.5) is ignored. The unsatisfied form
 * "bytes * /total" (no space) is -1 here; see the function below. When
 * total_known is 0, *total is set to 0. Outputs are written only on 0. */
int range_parse_content_range(const char *value, struct byte_range *out,
                              uint64_t *total, int *total_known);

/* Parse the unsatisfied form "bytes * /total" (no space) that comes with
 * a 416, same lexical rules as above. Returns 0 with *total set, or -1. */
int range_parse_content_range_unsat(const char *value, uint64_t *total);

#endif
