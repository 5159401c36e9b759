/*
 * conn_int.h - struct conn, shared by the two halves of the client
 * connection: conn.c (the state machine; the only file that assigns
 * c_state) and conn_req.c (the current request's record: reset, request
 * id, access line, and the views of the request handed to serve.c,
 * pass.c and tunnel.c). Nothing else includes this header.
 */
#ifndef WSUS_CONN_INT_H
#define WSUS_CONN_INT_H

#include <stdint.h>

#include <event2/util.h>

#include "http_msg.h"
#include "normalize.h"
#include "pass.h"
#include "relay.h"
#include "serve.h"
#include "shim_limits.h"
#include "spool.h"

struct bufferevent;
struct event;
struct server;
struct cfg_ref;
struct shim_config;
struct tunnel_info;

enum conn_state {
    CONN_READ_HEAD = 0, /* waiting for or parsing a request head */
    CONN_READ_BODY,     /* collecting the request body */
    CONN_UPSTREAM,      /* fetch under way, no response head sent */
    CONN_RELAY,         /* streaming the fetch's response body */
    CONN_SERVE,         /* answering from the cache or a fill */
    CONN_CLOSING,       /* flushing the last bytes, then free */
    CONN_DEAD,          /* freed from the reaper event */
};

struct conn {
    struct conn *c_next;
    struct conn *c_prev;
    struct server *c_srv;
    struct cfg_ref *c_cfgr;
    const struct shim_config *c_cfg;
    enum conn_state c_state;
    struct bufferevent *c_bev;
    struct event *c_tmo;    /* the timer of the current state */
    struct event *c_kick;   /* deferred: continue with buffered input */
    struct event *c_reaper; /* deferred: free */
    char c_peer[64];
    uint64_t c_id;
    int c_client_eof;
    int c_rd_paused; /* reading stopped: the output is above the high mark */
    uint64_t c_nreq; /* requests begun (first byte seen) on this connection */

    struct http_limits c_lim;
    struct http_parser *c_reqp;

    /* The current request. */
    struct http_msg *c_req; /* owned by c_reqp until http_parser_next */
    struct req_target c_tgt;
    int c_have_tgt;
    char *c_url;
    char c_reqid[REQID_LEN + 1];
    uint64_t c_t0;
    uint64_t c_in_bytes;
    uint64_t c_out_bytes;
    int c_status;
    const char *c_plan;
    const char *c_upstream; /* for the log; NULL: the fetch's or "-" */
    int c_keep;             /* keep the client connection after this response */
    int c_req_done;   /* the whole request (head and body) has been read */
    int c_local;      /* answered by the shim itself */
    int c_no_cache;   /* the range engine declined: plain pass-through */
    int c_err_status; /* a recorded verdict, 0: none */
    char c_err_buf[160];
    char *c_err_auth; /* Proxy-Authenticate to pass with a 407 */

    struct spool c_body;  /* the request body */
    struct pass c_pass;   /* answering through a fetch */
    struct serve c_serve; /* answering from the cache or a fill */
    char c_fetch_up[300]; /* the last answer's upstream, for the log */

    struct resp_plan c_plan_out;
    int c_head_sent;
};

/* conn_req.c */

/* Fill out with a fresh random request id (REQID_LEN hex digits). */
void creq_new_id(char *out);

/* Stop the answer from the cache or a fill, or through a fetch (each may
 * be idle), keeping its upstream for the log line. */
void creq_unfill(struct conn *c);
void creq_unfetch(struct conn *c);

/* Forget the current request: stops its answer, frees its target, URL
 * and body, and clears every per-request field. */
void creq_reset(struct conn *c);

/* Write the access line of the current request (nothing when there was
 * none) and count it. */
void creq_log(struct conn *c);

/* The current request as serve.c, pass.c and tunnel.c see it; the
 * pointers stay owned by c. */
void creq_serve_req(const struct conn *c, struct serve_req *sr);
void creq_pass_req(struct conn *c, struct pass_req *pr);
void creq_tunnel_info(const struct conn *c, struct tunnel_info *ti);

#endif
