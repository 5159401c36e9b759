/*
 * http_msg_int.h - the parser's state, shared by the files of the HTTP/1.x
 * parser and nothing else: http_msg.c (the llhttp glue and the public
 * API), http_scan.c (the head and chunk byte scanners) and http_head.c
 * (field and head validation, framing). Not part of the API: callers use
 * http_msg.h.
 */
#ifndef WSUS_HTTP_MSG_INT_H
#define WSUS_HTTP_MSG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "http_msg.h"

#include "strparse.h"

/* A growable NUL-terminated byte string. */
struct sbuf {
    char *sb_p;
    size_t sb_n;
    size_t sb_cap;
};

enum hp_phase {
    HP_HEAD = 0, /* start line and header section */
    HP_BODY,     /* head delivered, body (if any) running */
    HP_DONE,     /* message complete; waiting for http_parser_next */
    HP_FAILED,   /* HTTP_BAD or HTTP_ABORTED; sticky until next */
};

/* Head scanner states. */
enum hs_state {
    HS_LINE_START = 0, /* at the first byte of a line */
    HS_IN_LINE,        /* inside a non-empty line */
    HS_CR,             /* after CR: LF must follow */
    HS_END_CR,         /* CR of the empty line: LF ends the head */
};

/* Chunk scanner states. */
enum ck_state {
    CK_SIZE_START = 0, /* first hex digit of a chunk size */
    CK_SIZE,           /* more hex digits, ';' or CR */
    CK_EXT,            /* chunk extension, up to CR */
    CK_SIZE_LF,        /* LF after the chunk-size line */
    CK_DATA,           /* ck_left bytes of data */
    CK_DATA_CR,        /* CR after the data */
    CK_DATA_LF,        /* LF after the data */
    CK_TRL_START,      /* start of a trailer line or the final CRLF */
    CK_TRL_LINE,       /* inside a trailer line */
    CK_TRL_LF,         /* LF ending a trailer line */
    CK_END_LF,         /* LF ending the message */
    CK_END,            /* message complete */
};

/* Header callback progress. */
enum hf_state {
    HF_NONE = 0, /* between fields */
    HF_NAME,     /* accumulating a name */
    HF_VALUE,    /* name complete, accumulating a value */
};

struct http_parser {
    llhttp_t hp_ll;
    enum http_kind hp_kind;
    const struct http_limits *hp_lim;
    const struct http_parser_cb *hp_cb;
    void *hp_arg;

    enum hp_phase hp_phase;
    enum http_rc hp_rc;    /* the sticky result once HP_FAILED */
    int hp_status;         /* after HTTP_BAD */
    const char *hp_reason; /* static */
    int hp_no_body;        /* response to HEAD */
    int hp_connect;        /* response to CONNECT */
    int hp_skip_body;      /* decided at head time */
    int hp_scan_status;    /* a scanner's pending verdict */
    const char *hp_scan_reason;

    /* head scanner */
    enum hs_state hp_hs;
    int hp_hs_lines; /* non-empty lines seen */
    uint64_t hp_head_bytes;
    int hp_sl_field;    /* start line part: 0 method or version, 1 target or
                         * status code, 2 version or reason phrase */
    int hp_sl_sp;       /* the last start-line byte was SP */
    uint64_t hp_sl_len; /* bytes of part 1 so far */

    /* chunk scanner */
    int hp_ck_on;
    enum ck_state hp_ck;
    uint64_t hp_ck_size;  /* size being parsed */
    uint64_t hp_ck_left;  /* data bytes left in this chunk */
    uint64_t hp_ck_total; /* declared data bytes so far */
    uint64_t hp_trl_bytes;
    uint64_t hp_trl_max;   /* MAX_TRAILER_BYTES or the head limit */
    uint32_t hp_ext_bytes; /* of the current chunk extension */

    /* span accumulation */
    enum hf_state hp_hf;
    struct sbuf hp_url;
    struct sbuf hp_stat;
    struct sbuf hp_name;
    struct sbuf hp_value;

    uint64_t hp_body_bytes;
    struct http_msg hp_msg;
};

/* Record HTTP_BAD: status for a request parser (a response parser always
 * reports 502). Sticky: a second failure keeps the first verdict. Returns
 * -1 so callbacks can `return hp_fail(...)`. */
int hp_fail(struct http_parser *p, int status, const char *reason);
/* hp_fail(p, 500, "out of memory"). */
int hp_fail_oom(struct http_parser *p);

/* A control character that may not appear in a field value or reason
 * phrase: everything below SP but HTAB, and DEL. Returns 1 or 0. */
int hp_bad_ctl(int c);

/* The accumulated bytes, NUL-terminated ("" before any). */
const char *hp_sb_str(const struct sbuf *b);
/* Empty the buffer, keeping its memory. */
void hp_sb_reset(struct sbuf *b);

/* http_scan.c. Scan head bytes s[0..n): returns 1 when the head ends
 * (*used = bytes up to and including the final LF), 0 when all n bytes
 * belong to the head so far (*used = n), -1 on a violation at s[*used]
 * (hp_scan_status/hp_scan_reason hold the verdict, not yet recorded). */
int hp_scan_head(struct http_parser *p, const char *s, size_t n, size_t *used);
/* http_scan.c. Scan chunked body bytes s[0..n): returns 1 when the message
 * ends (*used = bytes up to and including its last LF), 0 when all n were
 * used, -1 on a violation at s[*used] (as hp_scan_head). */
int hp_scan_chunks(struct http_parser *p, const char *s, size_t n,
                   size_t *used);

/* http_head.c. Commit the accumulated name/value as one field of the head.
 * Returns 0, or -1 after hp_fail. */
int hp_head_field(struct http_parser *p);
/* http_head.c. The head is complete: validate it and derive the framing
 * into p->hp_msg. Returns 0, or -1 after hp_fail. */
int hp_head_request(struct http_parser *p);
int hp_head_response(struct http_parser *p);
/* http_head.c. Does llhttp frame the body the way we decided? 1 or 0. */
int hp_framing_agrees(const struct http_parser *p);

#endif
