/*
 * status.c - the operator's view answered over HTTP (status.h): routing
 * of the shim's own paths, the response heads, and the recent-errors
 * feed. The content comes from status_collect.c (the snapshot),
 * status_render.c (JSON, metrics) and status_page.c (the HTML).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "headers.h"
#include "plat.h"
#include "relay.h"
#include "server.h"
#include "status.h"
#include "status_collect.h"
#include "status_snap.h"
#include "upstream.h"

enum status_page_id {
    SPAGE_NONE = 0, /* 404 */
    SPAGE_HTML,
    SPAGE_JSON,
    SPAGE_METRICS,
};

static const struct {
    const char *sr_path;
    enum status_page_id sr_page;
} status_routes[] = {
    {"/", SPAGE_HTML},
    {"/index.html", SPAGE_HTML},
    {"/status.json", SPAGE_JSON},
    {"/status", SPAGE_JSON}, /* the first status page's address */
    {"/metrics", SPAGE_METRICS},
};

/* The page for path (its query ignored). */
static enum status_page_id
status_route(const char *path)
{
    const char *p = path != NULL ? path : "";
    size_t n = strcspn(p, "?#");

    for (size_t i = 0; i < sizeof(status_routes) / sizeof(status_routes[0]);
         i++)
        if (strlen(status_routes[i].sr_path) == n &&
            strncmp(status_routes[i].sr_path, p, n) == 0)
            return status_routes[i].sr_page;
    return SPAGE_NONE;
}

int
status_is_page(const char *path)
{
    return status_route(path) != SPAGE_NONE;
}

/* Head and body in one malloc'd buffer. */
static char *
status_answer(int status, const char *type, const char *body, size_t n,
              int keep, int head_only, size_t *len)
{
    struct hdr_list h;
    char num[32];
    size_t hlen;

    hdr_init(&h);
    snprintf(num, sizeof(num), "%zu", n);
    hdr_add(&h, "Content-Type", type);
    hdr_add(&h, "Content-Length", num);
    hdr_add(&h, "Cache-Control", "no-store");
    hdr_add(&h, "X-Content-Type-Options", "nosniff");
    /* The page loads nothing from anywhere: its script and style are
     * inline and it fetches only status.json from where it came from. */
    hdr_add(&h, "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
            "frame-ancestors 'none'");
    if (!keep)
        hdr_add(&h, "Connection", "close");
    char *head = relay_head_serialize(1, status, NULL, &h, &hlen);
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

char *
status_response(struct server *sv, const struct shim_config *cfg,
                const char *path, int keep, int head_only, int *status,
                size_t *len)
{
    static const char off[] =
        "wsus-shim: 404 Not Found: the status page is off "
        "([status] enabled = no)\n";
    static const char none[] =
        "wsus-shim: 404 Not Found: the shim's pages are /, /status.json "
        "and /metrics\n";
    enum status_page_id page = status_route(path);
    struct status_snap snap;
    char *body, *resp;
    size_t n;

    if (!cfg->sc_status_enabled || page == SPAGE_NONE) {
        const char *msg = cfg->sc_status_enabled ? none : off;
        *status = 404;
        return status_answer(404, "text/plain; charset=utf-8", msg, strlen(msg),
                             keep, head_only, len);
    }
    *status = 200;
    if (page == SPAGE_HTML) {
        const char *html = status_page_html(&n);
        return status_answer(200, "text/html; charset=utf-8", html, n, keep,
                             head_only, len);
    }
    status_collect(sv, &snap);
    if (page == SPAGE_JSON)
        body = status_render_json(&snap, &n);
    else
        body = status_render_metrics(&snap, &n);
    if (body == NULL)
        return NULL;
    resp = status_answer(200,
                         page == SPAGE_JSON
                             ? "application/json"
                             : "text/plain; version=0.0.4; charset=utf-8",
                         body, n, keep, head_only, len);
    free(body);
    return resp;
}

/* The parents that failed since t0_ms, as "a, b" into out. */
static void
failed_parents(struct server *sv, uint64_t t0_ms, char *out, size_t size)
{
    const struct upstream_set *us = sv->sv_cfg->cr_up;
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < upstream_count(us); i++) {
        uint64_t at = upstream_failed_at(us, (int)i);
        if (at == 0 || at < t0_ms)
            continue;
        const char *label = upstream_label(us, (int)i);
        int n = snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "",
                         label);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

void
status_note_error(struct server *sv, uint64_t t0_ms, int status,
                  const char *reqid, const char *client, const char *method,
                  const char *url, const char *upstream, const char *reason)
{
    struct timespec now;
    char hops[300];

    plat_clock_real(&now);
    if (status == 502 || status == 504) {
        /* fetch.c counts the parents' failures; here the answer only
         * names them. */
        if (upstream == NULL || upstream[0] == '\0' ||
            strcmp(upstream, "-") == 0) {
            failed_parents(sv, t0_ms, hops, sizeof(hops));
            upstream = hops;
        }
    }
    errring_add(&sv->sv_errs, (int64_t)now.tv_sec, status, reqid, client,
                method, url, upstream, reason);
}
