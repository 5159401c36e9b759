/*
 * status.h - the status page: GET http://wsus-shim.local/status (or
 * /status asked of the shim directly) answers the counters as JSON.
 */
#ifndef WSUS_STATUS_H
#define WSUS_STATUS_H

#include <stddef.h>

/* The host name that addresses the shim itself. */
#define STATUS_HOST "wsus-shim.local"
/* The path of the status page when the shim is asked directly. */
#define STATUS_PATH "/status"

struct server;

/* The whole response (head and, unless head_only, the JSON body) in a
 * malloc'd buffer of *len bytes; the caller frees it. keep: the client
 * connection stays open (else "Connection: close"). Returns NULL on
 * ENOMEM. */
char *status_response(const struct server *sv, int keep, int head_only,
                      size_t *len);

#endif
