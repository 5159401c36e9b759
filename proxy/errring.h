/*
 * errring.h - the last errors the shim answered, newest first, for the
 * status page: a fixed ring of ERRRING_MAX records, the oldest
 * overwritten. Pure: no time source, no I/O; the caller fills each
 * record (texts are cut to their field's size).
 */
#ifndef WSUS_ERRRING_H
#define WSUS_ERRRING_H

#include <stdint.h>

#include "shim_limits.h"

#define ERRRING_MAX 50

struct errrec {
    int64_t er_time;          /* wall clock, seconds since 1970 */
    int er_status;            /* the status answered */
    uint32_t er_bits;         /* the BITS error it would have caused */
    const char *er_bits_name; /* static (bitserr.h) */
    char er_reqid[REQID_LEN + 1];
    char er_client[64];
    char er_method[16];
    char er_url[512];
    char er_upstream[300]; /* "host:port", "direct", "", or a
                            * list "host:port, host:port" */
    char er_reason[160];
};

struct errring {
    struct errrec rg_v[ERRRING_MAX];
    unsigned rg_next;  /* where the next record goes */
    unsigned rg_n;     /* records held, up to ERRRING_MAX */
    uint64_t rg_total; /* records ever added */
};

/* Add a record: time, status, BITS code, then the texts (any may be
 * NULL: ""). */
void errring_add(struct errring *r, int64_t when, int status, const char *reqid,
                 const char *client, const char *method, const char *url,
                 const char *upstream, const char *reason);

/* The i-th newest record (0: the newest), or NULL past the last. */
const struct errrec *errring_get(const struct errring *r, unsigned i);

/* The newest record whose upstream is label (or lists it), or NULL. */
const struct errrec *errring_last_for(const struct errring *r,
                                      const char *label);

#endif
