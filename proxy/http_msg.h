/*
 * http_msg.h - the HTTP/1.x message model and the llhttp glue.
 *
 * A struct http_parser turns bytes into one struct http_msg head plus body
 * callbacks, enforcing limits and the anti-smuggling rules. It does no
 * socket I/O: the caller feeds bytes in whatever fragments it has.
 */
#ifndef WSUS_HTTP_MSG_H
#define WSUS_HTTP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "headers.h"

enum http_kind {
    HTTP_KIND_REQUEST = 0,
    HTTP_KIND_RESPONSE,
};

struct http_msg {
    enum http_kind hm_kind;
    uint8_t hm_major;
    uint8_t hm_minor;
    /* request */
    char *hm_method;   /* "GET", as received (validated token) */
    char *hm_target;   /* request-target as received */
    int hm_is_head;    /* method is HEAD */
    int hm_is_connect; /* method is CONNECT */
    /* response */
    int hm_status;
    char *hm_reason;
    struct hdr_list hm_hdrs;
    /* framing, derived when the head is complete */
    int hm_chunked;    /* Transfer-Encoding: ..., chunked */
    int hm_has_length; /* a valid single Content-Length */
    uint64_t hm_length;
    int hm_close_delimited; /* response body runs to EOF */
    int hm_keep_alive;      /* peer wants the connection kept open */
    int hm_expect_continue; /* request has Expect: 100-continue */
    /* added with the implementation: */
    int hm_expect_other; /* request has another Expect value (417 is the
                          * caller's choice); both are 0 for HTTP/1.0 */
    int hm_no_body;      /* response carries no body whatever its framing
                          * fields say: 1xx, 204, 304, HEAD, CONNECT 2xx.
                          * hm_chunked/hm_has_length/hm_length still tell
                          * what the fields announced (a HEAD's length) */
};

void http_msg_init(struct http_msg *m, enum http_kind kind);
void http_msg_free(struct http_msg *m);

struct http_limits {
    uint32_t hl_max_head;    /* bytes of start line + headers */
    uint32_t hl_max_headers; /* count */
    uint32_t hl_max_uri;
    uint64_t hl_max_body; /* requests only; 0 = no limit */
};

/* Callbacks into the owner. Each returns 0 to go on or -1 to abort the
 * parse (http_parser_feed then returns HTTP_ABORTED). */
struct http_parser_cb {
    /* Head complete and validated; m stays valid until the next message
     * starts (after http_parser_next). */
    int (*on_head)(void *arg, struct http_msg *m);
    /* Decoded body bytes (chunk framing removed). */
    int (*on_body)(void *arg, const char *p, size_t n);
    /* Message complete. The parser stops right after it. */
    int (*on_done)(void *arg);
};

enum http_rc {
    HTTP_MORE = 0,     /* all input consumed, message not complete */
    HTTP_DONE = 1,     /* a message completed; *consumed stops after it */
    HTTP_BAD = -1,     /* malformed or over a limit: see http_parser_error */
    HTTP_ABORTED = -2, /* a callback returned -1 */
};

struct http_parser;

/* Create a parser. Returns NULL on allocation failure. The parser keeps
 * pointers to limits and cb; they must outlive it. */
struct http_parser *http_parser_new(enum http_kind kind,
                                    const struct http_limits *limits,
                                    const struct http_parser_cb *cb, void *arg);
void http_parser_free(struct http_parser *p);

/* For a response: the request was HEAD, so the response carries no body
 * whatever its headers say. Call before the head is fed. Cleared by
 * http_parser_next. (Do not use it for CONNECT: a 407 to a CONNECT has a
 * body; see http_parser_set_connect.) */
void http_parser_set_no_body(struct http_parser *p);
/* Added: for a response, the request was CONNECT: a 2xx answer has no
 * body (the tunnel follows right after the head, *consumed stops there),
 * any other status is framed as usual. Call before the head is fed.
 * Cleared by http_parser_next. */
void http_parser_set_connect(struct http_parser *p);

/* Feed len bytes. *consumed gets how many were used; on HTTP_DONE bytes
 * after the message (a pipelined request, or tunnel bytes after a CONNECT
 * head) are left for the next call after http_parser_next. HTTP_BAD and
 * HTTP_ABORTED are sticky, and so is HTTP_DONE (with *consumed 0) until
 * http_parser_next. The callbacks run inside this call; they must not
 * call http_parser_next or http_parser_free. */
enum http_rc http_parser_feed(struct http_parser *p, const char *data,
                              size_t len, size_t *consumed);

/* The peer closed. Returns HTTP_DONE when that completes a close-delimited
 * response body, HTTP_MORE when nothing was started, HTTP_BAD when a
 * message was cut short (truncated). */
enum http_rc http_parser_eof(struct http_parser *p);

/* Get ready for the next message on the same connection. */
void http_parser_next(struct http_parser *p);

/* After HTTP_BAD: the status to answer (400, 413, 414, 431, 501, 505; 500
 * when memory ran out) and a short static reason for the error body and
 * the log. A response parser always reports 502: bad framing from an
 * upstream is an upstream error. After HTTP_ABORTED: 500. */
int http_parser_error(const struct http_parser *p, const char **reason);

/* Has the current message started (any byte of it seen)? */
int http_parser_started(const struct http_parser *p);

/* Bytes of body seen so far in the current message. */
uint64_t http_parser_body_bytes(const struct http_parser *p);

#endif
