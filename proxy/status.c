/*
 * status.c - the status page's JSON: version, connections, the request
 * counters and the cache's (status.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "headers.h"
#include "relay.h"
#include "server.h"
#include "status.h"

/* The JSON document, "\n"-terminated, into body. Returns its length, or 0
 * when it does not fit. */
static size_t
status_json(const struct server *sv, char *body, size_t size)
{
    const struct server_stats *st = &sv->sv_stats;
    struct cache_stats cs;

    memset(&cs, 0, sizeof(cs));
    if (sv->sv_cache != NULL)
        cache_get_stats(sv->sv_cache, &cs);
    int n = snprintf(
        body, size,
        "{\"version\":\"%s\",\"connections\":%u,\"requests\":%llu,"
        "\"errors\":%llu,\"tunnels\":%llu,\"bytes_out\":%llu,"
        "\"bytes_upstream\":%llu,\"refused\":%llu,"
        "\"cache\":{\"enabled\":%s,\"entries\":%llu,\"bytes\":%llu,"
        "\"hits\":%llu,\"misses\":%llu,\"fills\":%llu,"
        "\"rejected\":%llu,\"evictions\":%llu,\"corrupt\":%llu}}\n",
        WSUS_SHIM_VERSION, (unsigned)sv->sv_nconns,
        (unsigned long long)st->st_requests,
        (unsigned long long)st->st_errors,
        (unsigned long long)st->st_tunnels,
        (unsigned long long)st->st_bytes_out,
        (unsigned long long)st->st_bytes_up,
        (unsigned long long)st->st_refused,
        sv->sv_cache != NULL ? "true" : "false",
        (unsigned long long)cs.cs_entries, (unsigned long long)cs.cs_bytes,
        (unsigned long long)cs.cs_hits, (unsigned long long)cs.cs_misses,
        (unsigned long long)cs.cs_fills, (unsigned long long)cs.cs_rejected,
        (unsigned long long)cs.cs_evictions,
        (unsigned long long)cs.cs_corrupt);
    if (n < 0 || (size_t)n >= size)
        return 0;
    return (size_t)n;
}

char *
status_response(const struct server *sv, int keep, int head_only,
                size_t *len)
{
    struct hdr_list h;
    char body[2048], num[32];
    size_t hlen, n = status_json(sv, body, sizeof(body));

    hdr_init(&h);
    snprintf(num, sizeof(num), "%zu", n);
    hdr_add(&h, "Content-Type", "application/json");
    hdr_add(&h, "Content-Length", num);
    hdr_add(&h, "Cache-Control", "no-store");
    if (!keep)
        hdr_add(&h, "Connection", "close");
    char *head = relay_head_serialize(1, 200, NULL, &h, &hlen);
    hdr_free(&h);
    if (head == NULL || head_only) {
        *len = hlen;
        return head;
    }
    char *all = realloc(head, hlen + n);
    if (all == NULL) {
        free(head);
        return NULL;
    }
    memcpy(all + hlen, body, n);
    *len = hlen + n;
    return all;
}
