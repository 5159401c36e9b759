/*
 * probe_io.h - the blocking client `wsus-shim probe` talks through
 * (probe_io.c): connect, send and read one answer, each step bounded by a
 * timeout.
 */
#ifndef WSUS_PROBE_IO_H
#define WSUS_PROBE_IO_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "auth.h"
#include "http_msg.h"
#include "probe_eval.h"

#define PROBE_BODY_CAP (64u * 1024) /* body bytes read per answer */

/* One connection and its unread bytes. */
struct pconn {
    evutil_socket_t pc_fd;
    uint32_t pc_rto; /* ms to wait for each send or read */
    char pc_buf[16384];
    size_t pc_off, pc_len;
    int pc_eof;
};

/* What the parser callbacks collect of one answer. */
struct pread {
    struct probe_answer *pr_a;
    enum auth_scheme pr_scheme; /* whose challenge to keep */
    char *pr_challenge;         /* malloc'd, wiped on free */
    int pr_head_only;           /* stop after the head */
    int pr_done;
};

/* The response parser's limits and callbacks for pread_answer(); the
 * callbacks' argument is the struct pread. */
extern const struct http_limits probe_io_limits;
extern const struct http_parser_cb probe_io_parser_cb;

/* Connect to sa within cto ms; later sends and reads wait at most rto ms
 * each. Returns 0, or -1 with err set (c is then closed). */
int pconn_open(uint32_t cto, uint32_t rto, const struct sockaddr *sa, int salen,
               struct pconn *c, char *err, size_t errlen);

/* Send all of buf. Returns 0, or -1 with err set (timeout or error). */
int pconn_send(struct pconn *c, const char *buf, size_t len, char *err,
               size_t errlen);

/* Read one final answer into r->pr_a (interim 1xx answers are skipped).
 * Returns 1 when the message was read whole and the connection can carry
 * another request, 0 when the head was read but the connection is spent
 * (head only, capped body, close), -1 when there was no usable answer
 * (pa_err set). */
int pread_answer(struct pconn *c, struct http_parser *hp, struct pread *r);

void pconn_close(struct pconn *c);

#endif
