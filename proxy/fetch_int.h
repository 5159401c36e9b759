/*
 * fetch_int.h - struct fetch and what fetch.c and fetch_auth.c share:
 * the exchange (fetch.c) and its authentication to the parent
 * (fetch_auth.c). Private to those two files.
 */
#ifndef WSUS_FETCH_INT_H
#define WSUS_FETCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "fetch.h"
#include "pool.h"

struct event;

enum fetch_state {
    FETCH_KICK = 0,   /* waiting for the event loop to start */
    FETCH_CONNECTING, /* TCP connect (and DNS) under way */
    FETCH_WAITING,    /* request sent, no response byte yet */
    FETCH_BODY,       /* head delivered, body streaming */
    FETCH_FINISHED,   /* fc_done or fc_fail called */
};

/* Most legs one request may spend on authentication (NTLM needs two,
 * Negotiate usually one; a restart on a new connection counts again). */
#define FETCH_AUTH_MAX_LEGS 6

/* What a 407 leads to. */
enum fetch_auth_rc {
    FAUTH_PASS = 0, /* no scheme of ours applies: the owner gets the 407 */
    FAUTH_RESEND,   /* swallow this 407, send again with f_auth_value */
    FAUTH_REFUSED,  /* the parent refused our credentials */
    FAUTH_ERROR,    /* the handshake cannot go on (f_err says why) */
};

struct fetch {
    struct server *f_srv;
    struct cfg_ref *f_cfgr;
    const struct shim_config *f_cfg;
    struct fetch_req f_req;
    struct fetch_cb f_cb;
    void *f_arg;
    enum fetch_state f_state;
    struct event *f_kick;
    struct event *f_tmo;
    struct upconn *f_uc; /* the connection in use; owns f_bev */
    struct bufferevent *f_bev;
    struct http_parser *f_parser;
    struct http_msg *f_resp;
    int f_direct;
    int f_hop; /* parent index; -1 direct */
    int f_tried_direct;
    int f_sent_auth;
    int f_connected;
    int f_resp_bytes; /* any response byte seen */
    int f_timed_out;
    int f_interim; /* the message just parsed was 1xx */
    int f_paused;
    int f_done;     /* the parser completed the final message */
    int f_peer_eof; /* our own read saw EOF (or an error) */
    int f_peer_err;
    unsigned f_gen; /* bumped by every connect attempt */
    char *f_head;   /* serialized request head of the current hop */
    size_t f_head_len;
    const char *f_host; /* where the current hop connects */
    uint16_t f_port;
    char f_key[400];          /* pool key of the current hop */
    int f_nopool;             /* never from or back to the pool */
    int f_reused;             /* f_uc came from the pool */
    int f_stale_retry;        /* a stale parked connection was replaced */
    struct auth_sess *f_auth; /* handshake under way on f_uc */
    char *f_auth_value;       /* Proxy-Authorization for the next send */
    int f_auth_pending;       /* swallowing a 407 before sending again */
    int f_auth_legs;
    unsigned f_auth_failed; /* schemes whose mechanism failed here */
    int f_sent_body;        /* the last send carried the body */
    int f_reopen;           /* the kick reopens the current hop */
    int f_abort_status;     /* a parser callback's verdict: 502 */
    char f_err[256];        /* a reason built at run time */
};

/* ---- fetch_msg.c ---- */

/* Build the request head for the current hop into f_head and send it on
 * f_bev, with the body unless a handshake leg holds it back. 0, or -1
 * when out of memory. */
int fetch_send(struct fetch *f);

/* Did the upstream say it keeps the connection after this response, and
 * does the response end without a close? */
int fetch_resp_reusable(const struct fetch *f);

/* ---- fetch_auth.c ---- */

/* The Proxy-Authorization to send with the next request on this hop: a
 * handshake leg, the Basic value, or NULL. */
const char *fetch_auth_header(const struct fetch *f);

/* Does the next send hold the body back (an NTLM leg before the last)? */
int fetch_auth_holds_body(const struct fetch *f);

/* A new connection to a parent: start the handshake of the scheme it
 * asked for before (or the configured one) with the first request. */
void fetch_auth_preempt(struct fetch *f);

/* A final (non-407) answer: the handshake on this connection is done. */
void fetch_auth_done(struct fetch *f);

/* What to do with a 407 from a parent (f_err says why on an error). */
enum fetch_auth_rc fetch_auth_on_407(struct fetch *f, const struct http_msg *m);

#endif
