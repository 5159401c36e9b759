/*
 * conn.h - one client connection of the proxy: request parsing, policy,
 * the upstream exchange and the relay back, keep-alive and pipelining.
 * The connection state machine lives entirely in conn.c.
 */
#ifndef WSUS_CONN_H
#define WSUS_CONN_H

#include <event2/util.h>

struct server;
struct sockaddr;

/* Take over an accepted socket (fd is closed on failure). Returns 0 or -1. */
int conn_new(struct server *sv, evutil_socket_t fd, const struct sockaddr *sa,
             int salen);

/* Graceful stop: idle connections close now, busy ones after their
 * current response. */
void conn_drain_all(struct server *sv);

/* Close every connection at once (end of drain timeout, shutdown). */
void conn_close_all(struct server *sv);

#endif
