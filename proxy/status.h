/*
 * status.h - the operator's view, answered by the shim itself to clients
 * in [listen] allow (the listener refuses everyone else):
 *
 *   GET /              the status page (HTML, refreshes from status.json)
 *   GET /status.json   everything as JSON (/status: the same, as before)
 *   GET /metrics       the Prometheus text format
 *
 * asked in origin form of the shim's own address, or through the proxy
 * path as http://wsus-shim.local/... (no other host ever reaches these).
 * Any other path of wsus-shim.local is 404 (of the shim's address, 400:
 * no proxy request), and every page is 404 with [status] enabled = no.
 * Every answer carries Cache-Control: no-store and shows no credential.
 */
#ifndef WSUS_STATUS_H
#define WSUS_STATUS_H

#include <stddef.h>
#include <stdint.h>

/* The host name that addresses the shim itself through the proxy path. */
#define STATUS_HOST "wsus-shim.local"

struct server;
struct shim_config;

/* Is path (query ignored) one of the shim's pages? 1 or 0. Origin-form
 * requests for any other path are no proxy requests (400). */
int status_is_page(const char *path);

/* The whole response to GET/HEAD path (query ignored) under cfg (the
 * connection's; its [status] enabled decides) in a malloc'd buffer of
 * *len bytes; the caller frees it. *status gets the status sent. keep:
 * the client connection stays open (else "Connection: close"). Returns
 * NULL on ENOMEM. */
char *status_response(struct server *sv, const struct shim_config *cfg,
                      const char *path, int keep, int head_only, int *status,
                      size_t *len);

/* The shim answered an error for a request started at t0_ms
 * (monotonic): keep it in the recent errors (with the BITS error it
 * would have caused) and count an upstream failure for a 502 or 504.
 * The hop is upstream when known; else the parents that failed while the
 * request ran (each a failure, all named in the record). Any text may be
 * NULL. */
void status_note_error(struct server *sv, uint64_t t0_ms, int status,
                       const char *reqid, const char *client,
                       const char *method, const char *url,
                       const char *upstream, const char *reason);

/* The page itself: static, NUL-terminated HTML of *len bytes. */
const char *status_page_html(size_t *len);

#endif
