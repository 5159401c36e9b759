/*
 * upstream.h - choosing where a request goes: direct, or through the
 * configured parent proxies in order, skipping parents held down after a
 * failure. Pure bookkeeping: time is passed in, no sockets here.
 */
#ifndef WSUS_UPSTREAM_H
#define WSUS_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"

struct upstream_set;

/* One hop: a parent proxy (us_index >= 0) or the origin itself. */
struct upstream_hop {
    int uh_index;        /* parent index, or -1 for direct */
    const char *uh_host; /* where to connect */
    uint16_t uh_port;
};

/* Build the parent list of cfg (copied). Returns NULL on ENOMEM. */
struct upstream_set *upstream_set_new(const struct shim_config *cfg);
void upstream_set_free(struct upstream_set *us);

/* Does host go direct (no parents, or a no_proxy match)? 1 or 0. */
int upstream_is_direct(const struct upstream_set *us, const char *host);

/* The next parent to try after `after` (-1 to start) at time now_ms.
 * Parents in hold-down are skipped unless every remaining one is held
 * down, in which case the least recently failed is tried anyway (better a
 * retry than a certain 502). Returns the index or -1 when exhausted. */
int upstream_next(const struct upstream_set *us, int after, uint64_t now_ms);

/* Fill *hop for parent index i. */
void upstream_hop_parent(const struct upstream_set *us, int i,
                         struct upstream_hop *hop);

/* Parent i failed (why: a short reason for the status page, or NULL):
 * held down from now_ms for hold_down. */
void upstream_failed(struct upstream_set *us, int i, uint64_t now_ms,
                     const char *why);
void upstream_succeeded(struct upstream_set *us, int i);

/* Label for logs: "host:port" of parent i, or "direct" for -1. */
const char *upstream_label(const struct upstream_set *us, int i);

size_t upstream_count(const struct upstream_set *us);

/* The Basic Proxy-Authorization value for parents (user and clear-text
 * password configured), or NULL. */
const char *upstream_auth(const struct upstream_set *us);

/* The configured credentials and scheme for parents. */
const struct auth_cred *upstream_cred(const struct upstream_set *us);
enum auth_want upstream_auth_want(const struct upstream_set *us);

/* The scheme parent i asked for in its last 407 (AUTH_NONE before any):
 * later connections to it start that handshake with their first request,
 * which saves the 407 round trip. */
enum auth_scheme upstream_scheme(const struct upstream_set *us, int i);
void upstream_set_scheme(struct upstream_set *us, int i, enum auth_scheme s);

/* Parent i refused the credentials: 1 the first time since it last took
 * them (log it), else 0. A refusal is no failure of the parent: it causes
 * no hold-down. */
int upstream_auth_refused(struct upstream_set *us, int i);
void upstream_auth_accepted(struct upstream_set *us, int i);

/* For the status page: the monotonic ms until which parent i is held
 * down (0 or a past time: it is not), and its host and port (NULL for a
 * bad index). */
uint64_t upstream_down_until(const struct upstream_set *us, int i);
const char *upstream_host(const struct upstream_set *us, int i, uint16_t *port);
/* The monotonic ms of parent i's last failure, 0 if none. */
uint64_t upstream_failed_at(const struct upstream_set *us, int i);

/* What parent i's last answer taught: its HTTP minor version and whether
 * it keeps connections open (for the status page). */
void upstream_learn(struct upstream_set *us, int i, int minor, int keep);

struct upstream_info {
    int ui_minor;         /* -1 until it answered */
    int ui_keep;          /* 1, 0, or -1 until it answered */
    uint64_t ui_failures; /* failures, failovers included */
    const char *ui_why;   /* the last failure's reason, "" if none */
};
void upstream_get_info(const struct upstream_set *us, int i,
                       struct upstream_info *out);

#endif
