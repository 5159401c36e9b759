/*
 * http_scan.c - the parser's own byte scanners (see http_msg.c for how they
 * sit in front of llhttp): the head scanner finds the end of the start line
 * and header section and refuses bare CR, bare LF, obs-fold, control
 * characters and a malformed start line; the chunk scanner validates chunked
 * framing and finds the end of a chunked message. Each sees every byte once,
 * whatever the fragments, so its verdict does not depend on them.
 */
#include <stddef.h>
#include <stdint.h>

#include "http_msg_int.h"
#include "shim_limits.h"
#include "strutil.h"

/*
 * A scanner found a violation at s[at]. It is not recorded yet: the
 * caller first gives llhttp the bytes before it, so that whichever error
 * comes first in the stream is the one reported, however the input was
 * cut into fragments.
 */
static int
scan_err(struct http_parser *p, int status, const char *reason, size_t at,
         size_t *used)
{
    p->hp_scan_status = status;
    p->hp_scan_reason = reason;
    *used = at;
    return -1;
}

/*
 * One byte c of the start line ('\r' at its end). Returns 0, or -1 with
 * *status and *reason set. RFC 9112 §3 and §4: the parts are separated by
 * exactly one SP; a request-line has three parts and its request-target
 * at most hl_max_uri bytes; a status code is exactly three digits (the
 * reason phrase after it may hold any SP). Checked here, by position, so
 * the verdict does not depend on how llhttp delivers its spans: llhttp 8
 * takes a run of SP after the method, and leading zeros in a status code.
 */
static int
scan_start_line(struct http_parser *p, int c, int *status, const char **reason)
{
    int req = p->hp_kind == HTTP_KIND_REQUEST;
    const char *bad_line = req ? "invalid request-line" : "invalid status line";

    *status = 400;
    if (c == ' ' && (req || p->hp_sl_field < 2)) {
        if (p->hp_sl_sp || (req && p->hp_sl_field == 2)) {
            *reason = bad_line;
            return -1;
        }
        if (!req && p->hp_sl_field == 1 && p->hp_sl_len != 3) {
            *reason = "invalid status code";
            return -1;
        }
        p->hp_sl_field++;
        p->hp_sl_sp = 1;
        return 0;
    }
    p->hp_sl_sp = 0;
    if (c == '\r') {
        if (!req && p->hp_sl_field == 1 && p->hp_sl_len != 3) {
            *reason = "invalid status code";
            return -1;
        }
        return 0;
    }
    if (p->hp_sl_field != 1)
        return 0;
    p->hp_sl_len++;
    if (req && p->hp_sl_len > p->hp_lim->hl_max_uri) {
        *status = 414;
        *reason = "URI too long";
        return -1;
    }
    if (!req && (c < '0' || c > '9' || p->hp_sl_len > 3)) {
        *reason = "invalid status code";
        return -1;
    }
    return 0;
}

/*
 * Scan head bytes s[0..n). Returns 1 when the head ends (*used = bytes up to
 * and including the final LF), 0 when all n bytes belong to the head so far
 * (*used = n), -1 on a violation at s[*used] (see scan_err). Empty lines before
 * the start line are skipped (RFC 9112 §2.2 lets a server ignore them).
 */
int
hp_scan_head(struct http_parser *p, const char *s, size_t n, size_t *used)
{
    const char *why;
    int st;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        if (p->hp_hs == HS_CR || p->hp_hs == HS_END_CR) {
            if (c != '\n')
                return scan_err(p, 400, "bare CR in head", i, used);
            if (p->hp_hs == HS_END_CR) {
                *used = i + 1;
                return 1;
            }
            p->hp_hs = HS_LINE_START;
            continue;
        }
        if (c == '\r') {
            if (p->hp_hs == HS_LINE_START && p->hp_hs_lines > 0) {
                p->hp_hs = HS_END_CR;
            } else {
                if (p->hp_hs == HS_IN_LINE && p->hp_hs_lines == 0 &&
                    scan_start_line(p, c, &st, &why) == -1)
                    return scan_err(p, st, why, i, used);
                if (p->hp_hs == HS_IN_LINE)
                    p->hp_hs_lines++;
                p->hp_hs = HS_CR;
            }
            continue;
        }
        if (c == '\n')
            return scan_err(p, 400, "bare LF in head", i, used);
        if (c == 0)
            return scan_err(p, 400, "NUL in head", i, used);
        if (hp_bad_ctl(c))
            return scan_err(p, 400, "control character in head", i, used);
        if (p->hp_hs == HS_LINE_START && (c == ' ' || c == '\t')) {
            if (p->hp_hs_lines > 0)
                return scan_err(p, 400, "obsolete line folding", i, used);
            return scan_err(p, 400, "whitespace before the start line", i,
                            used);
        }
        p->hp_hs = HS_IN_LINE;
        if (p->hp_hs_lines == 0 && scan_start_line(p, c, &st, &why) == -1)
            return scan_err(p, st, why, i, used);
    }
    *used = n;
    return 0;
}

/*
 * Scan chunked body bytes s[0..n). Returns 1 when the message ends
 * (*used = bytes up to and including its last LF), 0 when all n bytes were
 * used, -1 on a violation at s[*used] (see scan_err).
 * Long on purpose: one byte loop over one state switch (size, extension,
 * data, CRLF, trailers), so every state and its limit check read in one
 * place and no byte is seen twice; splitting it would scatter the states.
 */
int
hp_scan_chunks(struct http_parser *p, const char *s, size_t n, size_t *used)
{
    const struct http_limits *lim = p->hp_lim;
    size_t i = 0;

    while (i < n) {
        int c = (unsigned char)s[i];
        int h;

        switch (p->hp_ck) {
        case CK_SIZE_START:
        case CK_SIZE:
            h = str_hexval(c);
            if (h >= 0) {
                if (p->hp_ck_size > (UINT64_MAX >> 4))
                    return scan_err(p, 400, "chunk size overflow", i, used);
                p->hp_ck_size = (p->hp_ck_size << 4) | (uint64_t)h;
                p->hp_ck = CK_SIZE;
            } else if (p->hp_ck == CK_SIZE && c == ';') {
                p->hp_ck = CK_EXT;
                p->hp_ext_bytes = 0;
            } else if (p->hp_ck == CK_SIZE && c == '\r') {
                p->hp_ck = CK_SIZE_LF;
            } else {
                return scan_err(p, 400, "invalid chunk size", i, used);
            }
            break;
        case CK_EXT:
            if (c == '\r')
                p->hp_ck = CK_SIZE_LF;
            else if (hp_bad_ctl(c))
                return scan_err(p, 400, "invalid chunk extension", i, used);
            else if (++p->hp_ext_bytes > MAX_CHUNK_EXT)
                return scan_err(p, 400, "chunk extension too long", i, used);
            break;
        case CK_SIZE_LF:
            if (c != '\n')
                return scan_err(p, 400, "bare CR in chunk size line", i, used);
            if (p->hp_ck_size == 0) {
                p->hp_ck = CK_TRL_START;
                break;
            }
            if (p->hp_ck_size > UINT64_MAX - p->hp_ck_total)
                return scan_err(p, 400, "chunk size overflow", i, used);
            p->hp_ck_total += p->hp_ck_size;
            if (p->hp_kind == HTTP_KIND_REQUEST && lim->hl_max_body != 0 &&
                p->hp_ck_total > lim->hl_max_body)
                return scan_err(p, 413, "request body too large", i, used);
            p->hp_ck_left = p->hp_ck_size;
            p->hp_ck_size = 0;
            p->hp_ck = CK_DATA;
            break;
        case CK_DATA: {
            uint64_t take = n - i;

            if (take > p->hp_ck_left)
                take = p->hp_ck_left;
            p->hp_ck_left -= take;
            i += (size_t)take;
            if (p->hp_ck_left == 0)
                p->hp_ck = CK_DATA_CR;
            continue;
        }
        case CK_DATA_CR:
            if (c != '\r')
                return scan_err(p, 400, "missing CRLF after chunk data", i,
                                used);
            p->hp_ck = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (c != '\n')
                return scan_err(p, 400, "missing CRLF after chunk data", i,
                                used);
            p->hp_ck = CK_SIZE_START;
            break;
        case CK_TRL_START:
            if (c == '\r') {
                p->hp_ck = CK_END_LF;
            } else if (c == ' ' || c == '\t') {
                return scan_err(p, 400, "obsolete line folding", i, used);
            } else if (c == '\n' || hp_bad_ctl(c)) {
                return scan_err(p, 400, "invalid trailer section", i, used);
            } else {
                p->hp_ck = CK_TRL_LINE;
            }
            break;
        case CK_TRL_LINE:
            if (c == '\r')
                p->hp_ck = CK_TRL_LF;
            else if (c == '\n' || hp_bad_ctl(c))
                return scan_err(p, 400, "invalid trailer section", i, used);
            break;
        case CK_TRL_LF:
        case CK_END_LF:
            if (c != '\n')
                return scan_err(p, 400, "invalid trailer section", i, used);
            if (p->hp_ck == CK_END_LF) {
                p->hp_ck = CK_END;
                *used = i + 1;
                return 1;
            }
            p->hp_ck = CK_TRL_START;
            break;
        case CK_END:
            *used = i;
            return 1;
        }
        if (p->hp_ck >= CK_TRL_START && p->hp_ck <= CK_END_LF &&
            ++p->hp_trl_bytes > p->hp_trl_max)
            return scan_err(p, 431, "trailer section too large", i, used);
        i++;
    }
    *used = n;
    return 0;
}
