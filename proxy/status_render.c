/*
 * status_render.c - a status snapshot as JSON and as Prometheus text
 * (status_snap.h). Pure: the output depends on the snapshot only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "printf_like.h"
#include "status_snap.h"

/* A growing output buffer; after a failed allocation it stays failed. */
struct sbuf {
    char *sb_p;
    size_t sb_len;
    size_t sb_cap;
    int sb_oom;
};

static void
sb_grow(struct sbuf *b, size_t more)
{
    size_t cap = b->sb_cap != 0 ? b->sb_cap : 4096;

    if (b->sb_oom || b->sb_len + more + 1 <= b->sb_cap)
        return;
    while (cap < b->sb_len + more + 1)
        cap *= 2;
    char *p = realloc(b->sb_p, cap);
    if (p == NULL) {
        b->sb_oom = 1;
        return;
    }
    b->sb_p = p;
    b->sb_cap = cap;
}

static void
sb_add(struct sbuf *b, const char *p, size_t n)
{
    sb_grow(b, n);
    if (b->sb_oom)
        return;
    memcpy(b->sb_p + b->sb_len, p, n);
    b->sb_len += n;
    b->sb_p[b->sb_len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->sb_oom = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_add(b, small, (size_t)n);
        return;
    }
    sb_grow(b, (size_t)n);
    if (b->sb_oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->sb_p + b->sb_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->sb_len += (size_t)n;
}

static char *
sb_finish(struct sbuf *b, size_t *len)
{
    if (b->sb_oom) {
        free(b->sb_p);
        return NULL;
    }
    *len = b->sb_len;
    return b->sb_p;
}

size_t
status_json_str(char *out, size_t size, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    char esc[8];

#define PUT(ch)                                                                \
    do {                                                                       \
        if (n + 1 < size)                                                      \
            out[n] = (ch);                                                     \
        n++;                                                                   \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)(text ? text : "");
         *p != '\0'; p++) {
        const char *e = NULL;
        switch (*p) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' ||
                *p == 0x7f) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                esc[6] = '\0';
                e = esc;
            }
        }
        if (e == NULL) {
            PUT((char)*p);
            continue;
        }
        for (; *e != '\0'; e++)
            PUT(*e);
    }
    PUT('"');
#undef PUT
    if (size > 0)
        out[n < size ? n : size - 1] = '\0';
    return n;
}

static void
sb_str(struct sbuf *b, const char *text)
{
    size_t need = status_json_str(NULL, 0, text);

    sb_grow(b, need);
    if (b->sb_oom)
        return;
    status_json_str(b->sb_p + b->sb_len, need + 1, text);
    b->sb_len += need;
}

/* "name":"text" with a leading comma unless first. */
static void
sb_kstr(struct sbuf *b, const char *key, const char *text)
{
    sb_printf(b, ",\"%s\":", key);
    sb_str(b, text);
}

static void
sb_ku64(struct sbuf *b, const char *key, uint64_t v)
{
    sb_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void
sb_ki64(struct sbuf *b, const char *key, int64_t v)
{
    sb_printf(b, ",\"%s\":%lld", key, (long long)v);
}

/* The last path segment of a URL (without query), for a short name. */
static void
url_file(const char *url, char *out, size_t size)
{
    const char *end, *start;

    if (url == NULL)
        url = "";
    end = url + strcspn(url, "?#");
    start = end;
    while (start > url && start[-1] != '/')
        start--;
    if (start == end) {
        snprintf(out, size, "%.*s", (int)(end - url), url);
        return;
    }
    snprintf(out, size, "%.*s", (int)(end - start), start);
}

static void
json_parent(struct sbuf *b, const struct status_parent *p)
{
    sb_printf(b, "{\"label\":");
    sb_str(b, p->sp_label);
    sb_kstr(b, "state", p->sp_down ? "down" : "up");
    sb_ki64(b, "down_until", p->sp_down ? p->sp_down_until : 0);
    sb_ku64(b, "down_for_ms", p->sp_down ? p->sp_down_ms : 0);
    sb_kstr(b, "why",
            !p->sp_down                                 ? ""
            : p->sp_why != NULL && p->sp_why[0] != '\0' ? p->sp_why
            : p->sp_last_err != NULL ? p->sp_last_err->er_reason
                                     : "");
    sb_kstr(b, "http_version", p->sp_http);
    sb_kstr(b, "keep_alive", p->sp_keep_alive);
    sb_kstr(b, "auth", p->sp_scheme);
    sb_ku64(b, "idle", p->sp_idle);
    sb_ku64(b, "failures", p->sp_failures);
    if (p->sp_last_err == NULL) {
        sb_printf(b, ",\"last_error\":null}");
        return;
    }
    const struct errrec *e = p->sp_last_err;
    sb_printf(b, ",\"last_error\":{\"time\":%lld,\"status\":%d",
              (long long)e->er_time, e->er_status);
    sb_kstr(b, "reason", e->er_reason);
    sb_kstr(b, "reqid", e->er_reqid);
    sb_printf(b, "}}");
}

static void
json_xfer(struct sbuf *b, const struct status_xfer *x)
{
    char file[256];

    url_file(x->sx_url, file, sizeof(file));
    sb_printf(b, "{\"url\":");
    sb_str(b, x->sx_url);
    sb_kstr(b, "file", file);
    sb_kstr(b, "client", x->sx_client);
    sb_kstr(b, "plan", x->sx_plan);
    sb_kstr(b, "reqid", x->sx_reqid);
    sb_kstr(b, "upstream", x->sx_upstream);
    sb_ku64(b, "done", x->sx_done);
    if (x->sx_total_known) {
        sb_ku64(b, "total", x->sx_total);
        /* Tenths of a percent, written as a decimal. */
        uint64_t permille =
            x->sx_total > 0
                ? (x->sx_done >= x->sx_total ? 1000
                                             : x->sx_done * 1000 / x->sx_total)
                : 1000;
        sb_printf(b, ",\"percent\":%llu.%llu",
                  (unsigned long long)(permille / 10),
                  (unsigned long long)(permille % 10));
    } else {
        sb_printf(b, ",\"total\":null,\"percent\":null");
    }
    sb_ku64(b, "elapsed_ms", x->sx_ms);
    sb_ku64(b, "rate_bps",
            x->sx_ms > 0 ? x->sx_done * 1000 / x->sx_ms : x->sx_done);
    sb_printf(b, ",\"clients\":%u}", x->sx_clients);
}

static void
json_err(struct sbuf *b, const struct errrec *e)
{
    sb_printf(b, "{\"time\":%lld,\"status\":%d", (long long)e->er_time,
              e->er_status);
    sb_kstr(b, "reqid", e->er_reqid);
    sb_kstr(b, "client", e->er_client);
    sb_kstr(b, "method", e->er_method);
    sb_kstr(b, "url", e->er_url);
    sb_kstr(b, "upstream", e->er_upstream);
    sb_kstr(b, "reason", e->er_reason);
    if (e->er_bits != 0)
        sb_printf(b, ",\"bits\":\"0x%08X\"", (unsigned)e->er_bits);
    else
        sb_printf(b, ",\"bits\":null");
    sb_kstr(b, "bits_name", e->er_bits_name ? e->er_bits_name : "");
    sb_printf(b, "}");
}

/* Long on purpose: one line per field, in the order docs/status.md lists
 * them, so the schema reads top to bottom in one place. */
char *
status_render_json(const struct status_snap *s, size_t *len)
{
    struct sbuf b = {NULL, 0, 0, 0};
    const struct cache_stats *cs = &s->ss_cache;

    /* The fields of the first /status come first, unchanged. */
    sb_printf(&b, "{\"version\":");
    sb_str(&b, s->ss_version);
    sb_printf(&b, ",\"connections\":%u", s->ss_connections);
    sb_ku64(&b, "requests", s->ss_requests);
    sb_ku64(&b, "errors", s->ss_errors);
    sb_ku64(&b, "tunnels", s->ss_tunnels);
    sb_ku64(&b, "bytes_out", s->ss_bytes_out);
    sb_ku64(&b, "bytes_upstream", s->ss_bytes_up);
    sb_ku64(&b, "refused", s->ss_refused);
    sb_printf(&b, ",\"cache\":{\"enabled\":%s",
              s->ss_cache_on ? "true" : "false");
    sb_ku64(&b, "entries", cs->cs_entries);
    sb_ku64(&b, "bytes", cs->cs_bytes);
    sb_ku64(&b, "hits", cs->cs_hits);
    sb_ku64(&b, "misses", cs->cs_misses);
    sb_ku64(&b, "fills", cs->cs_fills);
    sb_ku64(&b, "rejected", cs->cs_rejected);
    sb_ku64(&b, "evictions", cs->cs_evictions);
    sb_ku64(&b, "corrupt", cs->cs_corrupt);
    sb_ku64(&b, "max_bytes", s->ss_cache_max);
    if (s->ss_free_known)
        sb_ku64(&b, "free_bytes", s->ss_cache_free);
    else
        sb_printf(&b, ",\"free_bytes\":null");
    uint64_t looked = cs->cs_hits + cs->cs_misses;
    if (looked > 0) {
        uint64_t pm = cs->cs_hits * 1000 / looked;
        sb_printf(&b, ",\"hit_ratio\":%llu.%03llu",
                  (unsigned long long)(pm / 1000),
                  (unsigned long long)(pm % 1000));
    } else {
        sb_printf(&b, ",\"hit_ratio\":null");
    }
    if (s->ss_evict_time != 0)
        sb_printf(&b, ",\"last_eviction\":{\"time\":%lld,\"count\":%llu}",
                  (long long)s->ss_evict_time,
                  (unsigned long long)s->ss_evict_last);
    else
        sb_printf(&b, ",\"last_eviction\":null");
    sb_printf(&b, ",\"state\":");
    sb_str(&b, s->ss_cache_state != NULL ? s->ss_cache_state : "off");
    sb_printf(&b, ",\"reason\":");
    if (s->ss_cache_why != NULL)
        sb_str(&b, s->ss_cache_why);
    else
        sb_printf(&b, "null");
    sb_printf(&b, "}");

    sb_ki64(&b, "now", s->ss_now);
    sb_ki64(&b, "started", s->ss_started);
    sb_ku64(&b, "uptime_s", s->ss_uptime_ms / 1000);
    sb_kstr(&b, "conf", s->ss_conf ? s->ss_conf : "(built-in defaults)");
    sb_kstr(&b, "listen", s->ss_listen);
    sb_kstr(&b, "range_mode", s->ss_range_mode);
    sb_printf(&b,
              ",\"pool\":{\"idle\":%llu,\"opened\":%llu,"
              "\"reused\":%llu,\"retried\":%llu}",
              (unsigned long long)s->ss_pool_idle,
              (unsigned long long)s->ss_pool_opened,
              (unsigned long long)s->ss_pool_reused,
              (unsigned long long)s->ss_pool_retried);
    sb_printf(&b, ",\"active_transfers\":%u", s->ss_active_xfers);

    sb_printf(&b, ",\"parents\":[");
    for (size_t i = 0; i < s->ss_nparents; i++) {
        if (i > 0)
            sb_printf(&b, ",");
        json_parent(&b, &s->ss_parents[i]);
    }
    sb_printf(&b, "],\"transfers\":[");
    for (size_t i = 0; i < s->ss_nxfers; i++) {
        if (i > 0)
            sb_printf(&b, ",");
        json_xfer(&b, &s->ss_xfers[i]);
    }
    sb_printf(&b, "],\"recent_errors\":[");
    const struct errrec *e;
    for (unsigned i = 0;
         s->ss_errs != NULL && (e = errring_get(s->ss_errs, i)) != NULL; i++) {
        if (i > 0)
            sb_printf(&b, ",");
        json_err(&b, e);
    }
    sb_printf(&b, "]}\n");
    return sb_finish(&b, len);
}

/* ---- Prometheus ---- */

/* A label value: backslash, double quote and newline escaped. */
static void
prom_label(struct sbuf *b, const char *v)
{
    for (const char *p = v ? v : ""; *p != '\0'; p++) {
        if (*p == '\\')
            sb_add(b, "\\\\", 2);
        else if (*p == '"')
            sb_add(b, "\\\"", 2);
        else if (*p == '\n')
            sb_add(b, "\\n", 2);
        else
            sb_add(b, p, 1);
    }
}

static void
prom_head(struct sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP wsus_shim_%s %s\n# TYPE wsus_shim_%s %s\n", name, help,
              name, type);
}

static void
prom_one(struct sbuf *b, const char *name, const char *type, const char *help,
         uint64_t v)
{
    prom_head(b, name, type, help);
    sb_printf(b, "wsus_shim_%s %llu\n", name, (unsigned long long)v);
}

/* Long on purpose: one metric per line, in the order docs/status.md lists
 * them; splitting the list would hide the exposition's order. */
char *
status_render_metrics(const struct status_snap *s, size_t *len)
{
    struct sbuf b = {NULL, 0, 0, 0};
    const struct metrics *m = s->ss_metrics;
    const struct cache_stats *cs = &s->ss_cache;

    prom_head(&b, "info", "gauge", "Version of the running wsus-shim.");
    sb_printf(&b, "wsus_shim_info{version=\"");
    prom_label(&b, s->ss_version);
    sb_printf(&b, "\",range_mode=\"");
    prom_label(&b, s->ss_range_mode);
    sb_printf(&b, "\"} 1\n");
    prom_one(&b, "uptime_seconds", "gauge", "Seconds since start.",
             s->ss_uptime_ms / 1000);

    prom_head(&b, "requests_total", "counter",
              "Requests answered, by plan and status.");
    for (size_t i = 0; m != NULL && i < m->mt_nreq; i++) {
        sb_printf(&b, "wsus_shim_requests_total{plan=\"");
        prom_label(&b, m->mt_req[i].mr_plan);
        sb_printf(&b, "\",status=\"%d\"} %llu\n", m->mt_req[i].mr_status,
                  (unsigned long long)m->mt_req[i].mr_n);
    }
    prom_head(&b, "client_bytes_total", "counter",
              "Bytes from clients (in) and to clients (out).");
    sb_printf(&b, "wsus_shim_client_bytes_total{direction=\"in\"} %llu\n",
              (unsigned long long)(m != NULL ? m->mt_bytes_in : 0));
    sb_printf(&b, "wsus_shim_client_bytes_total{direction=\"out\"} %llu\n",
              (unsigned long long)(m != NULL ? m->mt_bytes_out : 0));
    prom_one(&b, "upstream_bytes_total", "counter",
             "Body bytes received from upstreams.", s->ss_bytes_up);
    prom_head(&b, "upstream_failures_total", "counter",
              "Requests a parent (or the origin, direct) failed.");
    for (size_t i = 0; m != NULL && i < m->mt_nup; i++) {
        sb_printf(&b, "wsus_shim_upstream_failures_total{parent=\"");
        prom_label(&b, m->mt_up[i].mu_label);
        sb_printf(&b, "\"} %llu\n",
                  (unsigned long long)m->mt_up[i].mu_failures);
    }
    prom_head(&b, "parent_up", "gauge",
              "1 when the parent is not held down after a failure.");
    for (size_t i = 0; i < s->ss_nparents; i++) {
        sb_printf(&b, "wsus_shim_parent_up{parent=\"");
        prom_label(&b, s->ss_parents[i].sp_label);
        sb_printf(&b, "\"} %d\n", s->ss_parents[i].sp_down ? 0 : 1);
    }
    prom_one(&b, "errors_total", "counter", "Error answers sent by the shim.",
             s->ss_errors);
    prom_one(&b, "refused_total", "counter",
             "Connections refused (ACL, connection cap).", s->ss_refused);
    prom_one(&b, "tunnels_total", "counter", "CONNECT tunnels opened.",
             s->ss_tunnels);
    prom_one(&b, "active_connections", "gauge",
             "Client connections and tunnels open now.", s->ss_connections);
    prom_one(&b, "active_transfers", "gauge",
             "Transfers in flight (fills, passes, slices, hits).",
             s->ss_active_xfers);

    prom_one(&b, "cache_bytes", "gauge", "Bytes in the content cache.",
             cs->cs_bytes);
    prom_one(&b, "cache_max_bytes", "gauge", "[cache] max_size.",
             s->ss_cache_max);
    if (s->ss_free_known)
        prom_one(&b, "cache_free_bytes", "gauge",
                 "Free bytes on the cache's volume.", s->ss_cache_free);
    prom_one(&b, "cache_entries", "gauge", "Entries in the content cache.",
             cs->cs_entries);
    prom_one(&b, "cache_hits_total", "counter", "Cache hits.", cs->cs_hits);
    prom_one(&b, "cache_misses_total", "counter", "Cache misses.",
             cs->cs_misses);
    prom_one(&b, "cache_fills_total", "counter", "Fills committed.",
             cs->cs_fills);
    prom_one(&b, "cache_rejected_total", "counter",
             "Fills discarded (SHA-1 or length mismatch).", cs->cs_rejected);
    prom_one(&b, "cache_evictions_total", "counter", "Entries evicted.",
             cs->cs_evictions);
    prom_one(&b, "cache_corrupt_total", "counter",
             "Entries found broken and removed.", cs->cs_corrupt);

    prom_one(&b, "pool_idle_connections", "gauge",
             "Idle upstream connections in the pool.", s->ss_pool_idle);
    prom_one(&b, "pool_connections_opened_total", "counter",
             "Upstream connections opened.", s->ss_pool_opened);
    prom_one(&b, "pool_connections_reused_total", "counter",
             "Requests sent on a pooled connection.", s->ss_pool_reused);
    prom_one(&b, "pool_stale_retries_total", "counter",
             "Pooled connections found dead and retried.", s->ss_pool_retried);
    return sb_finish(&b, len);
}
