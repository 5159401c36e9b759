/*
 * daemon.h - the life of the whole server, one layer below main.c: open
 * the logs, start (event base, resolver, cache, listener), reload, drain
 * and stop. main.c keeps the command line, the signals and the service
 * entry and calls these.
 */
#ifndef WSUS_DAEMON_H
#define WSUS_DAEMON_H

#include <stddef.h>

struct server;
struct shim_config;

/* Open the diagnostic log (debug level when verbose) and the access log of
 * cfg. A log that cannot be opened does not stop the server: diagnostics
 * then go to stderr (and the system log mirror), the access log is off
 * until a reload opens it. Returns 0, or -1 when either could not be
 * opened, after logging which and why. */
int daemon_open_logs(const struct shim_config *cfg, int verbose);

/* With sv->sv_cfg loaded: create the event base, the resolver, the cache
 * (range mode cache) and the listener; bound gets "addr:port". Returns 0,
 * or -1 after logging why (daemon_close and daemon_free still apply). */
int daemon_start(struct server *sv, char *bound, size_t boundlen);

/* Stop accepting and finish the requests in flight, at most [limits]
 * drain_timeout; a second call stops at once. why goes to the log. */
void daemon_drain(struct server *sv, const char *why);

/* Read the conf at path again; new connections use it, a bad one is
 * logged and ignored. */
void daemon_reload(struct server *sv, const char *path, int verbose);

/* Close every listener, connection, tunnel and fill and run their deferred
 * frees. The event base stays, so the caller can free its own events. */
void daemon_close(struct server *sv);

/* Free what daemon_start made, and the configuration. */
void daemon_free(struct server *sv);

#endif
