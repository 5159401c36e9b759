/*
 * status_collect.h - a status snapshot (status_snap.h) taken from the live
 * server: its counters, the current config's parents, the pool, the
 * cache, the fills and the connections answering now.
 */
#ifndef WSUS_STATUS_COLLECT_H
#define WSUS_STATUS_COLLECT_H

#include "status_snap.h"

struct server;

/* Fill *s. Its strings point into live objects (and into *s itself):
 * render before the event loop runs again. Updates the server's note of
 * when the cache last evicted. */
void status_collect(struct server *sv, struct status_snap *s);

#endif
