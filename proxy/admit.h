/*
 * admit.h - pure checks of a client's request head before the shim
 * answers it: the method, the target, Expect, the allow list and the
 * CONNECT ports; and whether an admitted GET goes through the range
 * engine's cache. No sockets, no event base, no logging.
 *
 * Which requests are for the shim itself (the status page) is decided by
 * conn.c between admit_head and admit_policy: local requests skip the
 * allow list.
 */
#ifndef WSUS_ADMIT_H
#define WSUS_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "http_msg.h"
#include "normalize.h"

struct shim_config;

/* The outcome of a check. ad_status 0: the request goes on. */
struct admit {
    int ad_status;       /* 0, or the status to answer (400, 403, 405,
                          * 417) */
    const char *ad_why;  /* static reason with ad_status, else NULL */
    int ad_close;        /* the connection cannot go on after the answer */
    const char *ad_plan; /* plan name for the log ("denied"), or NULL */
};

/* The methods the shim relays, for a 405's Allow. */
#define ADMIT_METHODS "GET, HEAD, POST, CONNECT"

/* Check the method, parse the target (with the Host header) into *tgt
 * and check Expect. *ad is set either way. Returns 1 when *tgt holds a
 * parsed target (the caller frees it with req_target_free), admitted or
 * not (a 417 still has one, for the log); 0 when it does not (a 405, or
 * a target that does not parse: 400 and ad_close). */
int admit_head(const struct http_msg *m, struct req_target *tgt,
               struct admit *ad);

/* The request's URL for the cache key and the log: "host:port" for a
 * CONNECT, "http://host[:port]/path" otherwise. Returns a malloc'd
 * string, or NULL when there is none (an origin-form target without a
 * Host) or memory ran out. */
char *admit_url(const struct http_msg *m, const struct req_target *tgt);

/* For a request to pass on: the destination host must match allow_hosts
 * (403, plan "denied") and a CONNECT's port must be one of connect_ports
 * (403, plan "denied", ad_close). Sets *ad; returns ad->ad_status == 0. */
int admit_policy(const struct shim_config *cfg, const struct http_msg *m,
                 const struct req_target *tgt, struct admit *ad);

/* Does the request carry a body (chunked, or a Content-Length above 0)?
 * A refused request with a body is answered at once and the connection
 * closed: the body is not read. */
int admit_has_body(const struct http_msg *m);

/* Should an admitted GET (no request body, range_mode = cache, a cache
 * configured: the caller checks those) go through the range engine's
 * cache? Content URLs always (they are immutable and named by their
 * SHA-1), any ranged GET (the upstream may ignore Range), and anything
 * BITS asks (BITS must get a length, which a close-delimiting upstream
 * does not give). url may be NULL. Returns 1 or 0. */
int admit_wants_cache(const struct http_msg *m, const char *url);

#endif
