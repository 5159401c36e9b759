/*
 * listener.h - the listening socket: accept, client ACL, connection cap.
 */
#ifndef WSUS_LISTENER_H
#define WSUS_LISTENER_H

#include <stddef.h>

struct server;

/* Bind the configured address and start accepting. On success the bound
 * address ("127.0.0.1:8181", with the real port when port 0 was asked) is
 * written to bound. Returns 0, or -1 with a reason in err. */
int listener_start(struct server *sv, char *bound, size_t boundlen, char *err,
                   size_t errlen);
void listener_stop(struct server *sv);

#endif
