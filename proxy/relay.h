/*
 * relay.h - response plans: how a response travels to the client.
 *
 * Pure decisions (no sockets): which framing the client gets, whether the
 * connection can stay open, and the response head to send. conn.c does
 * the I/O.
 */
#ifndef WSUS_RELAY_H
#define WSUS_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "headers.h"
#include "http_msg.h"

enum out_framing {
    OUT_NONE = 0, /* no body (HEAD, 1xx, 204, 304) */
    OUT_LENGTH,   /* Content-Length: rp_length */
    OUT_CHUNKED,  /* re-framed as chunked (1.1 clients) */
    OUT_CLOSE,    /* body ends at close (1.0 clients, unknown length) */
};

struct resp_plan {
    enum out_framing rp_framing;
    uint64_t rp_length;
    int rp_keep_alive; /* the client connection stays open afterwards */
};

/* Plan the relay of upstream response resp to the client request req.
 * keep_alive_ok: the shim is willing to keep the client connection (not
 * draining, no client EOF). pass_proxy_auth: a 407 is passed through, so
 * Proxy-Authenticate must stay. Fills *plan and out (end-to-end headers of
 * resp plus framing, Connection and Via). Returns 0 or -1 (ENOMEM). */
int relay_plan(const struct http_msg *req, const struct http_msg *resp,
               int keep_alive_ok, int pass_proxy_auth, struct resp_plan *plan,
               struct hdr_list *out);

/* How a stored entity (length total, validators in meta) answers req:
 * 200 with everything, 206 with one range, or 416. Range is honoured for
 * GET only, ignored when invalid or when If-Range does not match; several
 * ranges are coalesced into one covering range. Fills *status, the byte
 * window *first and *len to send, *plan and out (Content-Length,
 * Content-Range, Accept-Ranges, validators, Content-Type, Via,
 * Connection). Returns 0 or -1 (ENOMEM). */
struct cache_meta;
int relay_plan_entity(const struct http_msg *req, const struct cache_meta *meta,
                      uint64_t total, int keep_alive_ok, int *status,
                      uint64_t *first, uint64_t *len, struct resp_plan *plan,
                      struct hdr_list *out);

/* Does the request's If-Range (absent, an entity tag or a date) allow a
 * partial answer for an entity with these validators (NULL or "" when
 * unknown)? A weak tag never matches (RFC 9110 13.1.5); a date must equal
 * Last-Modified exactly. Returns 1 or 0. */
int relay_if_range_ok(const struct http_msg *req, const char *etag,
                      const char *last_modified);

/* What a response fetched for req (pass and slice modes) becomes. */
enum relay_window_rc {
    WINDOW_WHOLE = 0, /* relay the upstream answer as it is */
    WINDOW_PARTIAL,   /* 206 for [rw_first, rw_last] of rw_total: drop
                       * rw_skip body bytes, then send rw_last-rw_first+1 */
    WINDOW_UNSAT,     /* 416 for rw_total, no body */
    WINDOW_BAD_206,   /* upstream 206 without a valid Content-Range: 502 */
    WINDOW_WRONG_206, /* upstream 206 not holding what was asked: 502 */
    WINDOW_TOO_FAR,   /* slice start beyond max_discard: 502 */
    WINDOW_NO_LENGTH, /* a range of a 200 without a length: 502 */
};

struct relay_window {
    uint64_t rw_first;
    uint64_t rw_last;
    uint64_t rw_total;
    uint64_t rw_skip;
};

/* Decide the byte window of a fetched answer. An upstream 206 to a ranged
 * request passes only when it holds the client's single range (the
 * upstream saw Range and If-Range and judged them). With slice set, a 200
 * of known length is cut to the client's range (GET, one Range header,
 * If-Range matching the response's ETag or Last-Modified) when the range
 * starts at or before max_discard. Fills *w for PARTIAL and UNSAT. */
enum relay_window_rc relay_pass_window(const struct http_msg *req,
                                       const struct http_msg *resp, int slice,
                                       uint64_t max_discard,
                                       struct relay_window *w);

/* Turn the head being planned (out, *plan from relay_plan) into the
 * answer of a PARTIAL or UNSAT window: Content-Range, Content-Length,
 * Accept-Ranges, no Transfer-Encoding, length framing. Returns the status
 * to send (206 or 416), or -1 (ENOMEM). */
int relay_plan_window(enum relay_window_rc rc, const struct relay_window *w,
                      struct resp_plan *plan, struct hdr_list *out);

/* Serialize a response head "HTTP/1.x status reason" + headers + CRLF into
 * a malloc'd buffer (*len bytes). Control characters in the reason are
 * replaced. Returns NULL on ENOMEM. */
char *relay_head_serialize(int minor, int status, const char *reason,
                           const struct hdr_list *h, size_t *len);

/* Serialize a request head: line + headers + CRLF. Returns NULL on ENOMEM. */
char *relay_request_serialize(const char *line, const struct hdr_list *h,
                              size_t *len);

/* The shim's own error answer to a request. */
struct relay_error {
    int re_status;
    const char *re_reason;    /* why, for the body (and the log) */
    const char *re_reqid;     /* the request id, in the body and a header */
    int re_keep;              /* 0: "Connection: close" */
    int re_is_head;           /* the request was HEAD: no body */
    const char *re_allow;     /* Allow value (a 405), or NULL */
    const char *re_challenge; /* Proxy-Authenticate value (a 407), or NULL */
};

/* Serialize an error answer: an HTTP/1.1 head with the standard reason,
 * Content-Type text/plain, Content-Length, X-Wsus-Shim-Request-Id, then
 * Allow, Proxy-Authenticate and "Connection: close" as e asks; and the
 * body "wsus-shim: <status> <phrase>: <reason>\nrequest id: <id>\n"
 * (cut at 511 bytes) unless re_is_head, where Content-Length still tells
 * its length. Returns the malloc'd bytes (*len), or NULL on ENOMEM. */
char *relay_error_answer(const struct relay_error *e, size_t *len);

/* The standard reason phrase for status, "" when unknown. */
const char *relay_reason(int status);

/* Does a response with this status to this method carry a body? */
int relay_has_body(int status, int is_head);

#endif
