/*
 * normalize.c - request targets and the request head sent upstream.
 *
 * req_target_parse turns the three request-target forms a proxy sees into
 * one (host, port, path) triple, refusing anything that could make two
 * parts of the system disagree about the destination: userinfo, fragments,
 * odd host characters, sloppy ports, https in absolute-form. When the URL
 * and the Host header disagree, the URL wins (RFC 9112 §3.2.2) and the
 * rewritten request carries the URL's authority as Host.
 *
 * normalize_request builds the upstream head from the parsed client
 * request: absolute-form to a proxy, origin-form when direct, the
 * upstream's HTTP version, hop-by-hop fields gone, no Expect, no
 * Transfer-Encoding (bodies are de-chunked by the caller and sent with a
 * Content-Length), Via, identity encoding, and our own proxy credentials.
 * Pure: no I/O, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "normalize.h"
#include "strutil.h"
#include "strparse.h"

#define HOST_MAX 253 /* a DNS name; also bounds authority buffers */

void
req_target_free(struct req_target *t)
{
    free(t->rt_host);
    free(t->rt_path);
    memset(t, 0, sizeof(*t));
}

/*
 * Parse an authority "host[:port]" or "[v6][:port]" of n bytes. The port
 * is required when need_port. Fills t->rt_host (malloc'd, lower-case,
 * brackets removed) and t->rt_port. Returns 0 or -1 with *why.
 */
static int
parse_authority(const char *a, size_t n, int need_port, uint16_t def_port,
                struct req_target *t, const char **why)
{
    const char *host, *colon = NULL;
    size_t hlen;
    int v6 = 0;
    uint64_t port = def_port;

    if (n == 0) {
        *why = "empty host";
        return -1;
    }
    if (memchr(a, '@', n) != NULL) {
        *why = "userinfo in request-target";
        return -1;
    }
    if (a[0] == '[') {
        const char *close = memchr(a, ']', n);

        if (close == NULL) {
            *why = "unterminated IPv6 literal";
            return -1;
        }
        host = a + 1;
        hlen = (size_t)(close - host);
        v6 = 1;
        if (close + 1 < a + n) {
            if (close[1] != ':') {
                *why = "junk after IPv6 literal";
                return -1;
            }
            colon = close + 1;
        }
    } else {
        host = a;
        colon = memchr(a, ':', n);
        hlen = colon != NULL ? (size_t)(colon - a) : n;
    }
    if (hlen == 0) {
        *why = "empty host";
        return -1;
    }
    if (hlen > HOST_MAX) {
        *why = "host name too long";
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        int c = str_lc((unsigned char)host[i]);
        int ok = v6 ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                       c == ':' || c == '.')
                    : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       c == '-' || c == '.' || c == '_');
        if (!ok) {
            *why = v6 ? "invalid IPv6 literal" : "invalid host name";
            return -1;
        }
    }
    if (v6 && memchr(host, ':', hlen) == NULL) {
        *why = "invalid IPv6 literal";
        return -1;
    }
    if (colon != NULL) {
        size_t plen = (size_t)(a + n - colon - 1);
        char pbuf[8];

        if (plen == 0 || plen >= sizeof(pbuf)) {
            *why = "invalid port";
            return -1;
        }
        memcpy(pbuf, colon + 1, plen);
        pbuf[plen] = '\0';
        if (parse_u64_max(pbuf, 65535, &port) == -1 || port == 0) {
            *why = "invalid port";
            return -1;
        }
    } else if (need_port) {
        *why = "CONNECT needs host:port";
        return -1;
    }
    if ((t->rt_host = str_dupn(host, hlen)) == NULL) {
        *why = "out of memory";
        return -1;
    }
    for (char *p = t->rt_host; *p != '\0'; p++)
        *p = (char)str_lc((unsigned char)*p);
    t->rt_port = (uint16_t)port;
    return 0;
}

int
req_target_parse(const char *target, int is_connect, const char *host_hdr,
                 struct req_target *out, const char **why)
{
    const char *p, *auth, *rest;
    size_t alen, slen;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (target == NULL || *target == '\0') {
        *why = "empty request-target";
        goto fail;
    }
    if (strchr(target, '#') != NULL) {
        *why = "fragment in request-target";
        goto fail;
    }
    if (is_connect) {
        if (parse_authority(target, strlen(target), 1, 0, out, why) == -1)
            goto fail;
        if ((out->rt_path = str_dupn("/", 1)) == NULL) {
            *why = "out of memory";
            goto fail;
        }
        return 0;
    }
    if (target[0] == '/') {
        /* origin-form: the authority comes from Host (may be absent, e.g.
         * an HTTP/1.0 request to the shim itself: rt_host is then "") */
        if (host_hdr != NULL && *host_hdr != '\0') {
            if (parse_authority(host_hdr, strlen(host_hdr), 0, 80, out, why) ==
                -1)
                goto fail;
        } else {
            if ((out->rt_host = str_dupn("", 0)) == NULL) {
                *why = "out of memory";
                goto fail;
            }
            out->rt_port = 80;
        }
        if ((out->rt_path = str_dupn(target, strlen(target))) == NULL) {
            *why = "out of memory";
            goto fail;
        }
        return 0;
    }
    /* absolute-form */
    p = strstr(target, "://");
    if (p == NULL) {
        *why = "invalid request-target";
        goto fail;
    }
    slen = (size_t)(p - target);
    if (str_ieqn(target, slen, "https")) {
        *why = "use CONNECT for https";
        goto fail;
    }
    if (!str_ieqn(target, slen, "http")) {
        *why = "unsupported URL scheme";
        goto fail;
    }
    auth = p + 3;
    alen = strcspn(auth, "/?");
    rest = auth + alen;
    if (parse_authority(auth, alen, 0, 80, out, why) == -1)
        goto fail;
    out->rt_absolute = 1;
    /* The Host header, whatever it says, is ignored: RFC 9112 §3.2.2
     * (normalize_request replaces it with this authority). */
    if (*rest == '\0') {
        out->rt_path = str_dupn("/", 1);
    } else if (*rest == '?') {
        size_t n = strlen(rest);

        if ((out->rt_path = malloc(n + 2)) != NULL) {
            out->rt_path[0] = '/';
            memcpy(out->rt_path + 1, rest, n + 1);
        }
    } else {
        out->rt_path = str_dupn(rest, strlen(rest));
    }
    if (out->rt_path == NULL) {
        *why = "out of memory";
        goto fail;
    }
    return 0;
fail:
    req_target_free(out);
    return -1;
}

int
req_target_authority(const struct req_target *t, int omit_default, char *buf,
                     size_t len)
{
    int v6, n;

    if (t->rt_host == NULL || t->rt_host[0] == '\0' || len == 0)
        return -1;
    v6 = strchr(t->rt_host, ':') != NULL;
    if (omit_default && t->rt_port == 80)
        n = snprintf(buf, len, v6 ? "[%s]" : "%s", t->rt_host);
    else
        n = snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", t->rt_host,
                     (unsigned)t->rt_port);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return 0;
}

int
req_target_url(const struct req_target *t, char *buf, size_t len)
{
    char auth[HOST_MAX + 16];
    int n;

    if (t->rt_path == NULL ||
        req_target_authority(t, 1, auth, sizeof(auth)) == -1)
        return -1;
    n = snprintf(buf, len, "http://%s%s", auth, t->rt_path);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return 0;
}

/* "a" ", " "b" into a malloc'd string. */
static char *
join_list(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + 2 + nb + 1);

    if (s == NULL)
        return NULL;
    snprintf(s, na + 2 + nb + 1, "%s, %s", a, b);
    return s;
}

/* Append our Via entry to the last Via field, or add one. An empty last
 * Via field takes our entry as its value, in its place; the other Via
 * fields stay as they are. */
static int
add_via(struct hdr_list *l, const char *entry)
{
    for (size_t i = l->hl_n; i > 0; i--) {
        struct hdr *h = &l->hl_v[i - 1];
        char *v;

        if (!str_ieqn(h->h_name, strlen(h->h_name), "Via"))
            continue;
        if (h->h_value[0] == '\0')
            v = str_dupn(entry, strlen(entry));
        else
            v = join_list(h->h_value, entry);
        if (v == NULL)
            return -1;
        free(h->h_value);
        h->h_value = v;
        return 0;
    }
    return hdr_add(l, "Via", entry);
}

/*
 * Contract additions: out must be initialized (normally empty); fields are
 * appended, and on -1 the caller still frees it. *line is NULL on -1.
 * When direct (no_to_proxy 0), no Proxy-Authorization is ever sent: it is
 * meant for a proxy, and an origin has no business seeing credentials.
 */
int
normalize_request(const struct http_msg *req, const struct req_target *t,
                  const struct norm_opts *o, char **line, struct hdr_list *out)
{
    char auth[HOST_MAX + 16], clen[24];
    const char *target;
    char *l = NULL, *urlbuf = NULL;
    int minor = o->no_up_minor >= 1 ? 1 : 0;
    size_t need;

    *line = NULL;
    if (req->hm_method == NULL || t->rt_path == NULL ||
        req_target_authority(t, !req->hm_is_connect, auth, sizeof(auth)) == -1)
        goto fail;

    /* request line */
    if (req->hm_is_connect) {
        target = auth;
    } else if (o->no_to_proxy) {
        need = strlen("http://") + strlen(auth) + strlen(t->rt_path) + 1;
        if ((urlbuf = malloc(need)) == NULL)
            goto fail;
        snprintf(urlbuf, need, "http://%s%s", auth, t->rt_path);
        target = urlbuf;
    } else {
        target = t->rt_path;
    }
    need = strlen(req->hm_method) + 1 + strlen(target) + 1 + 8 + 1;
    if ((l = malloc(need)) == NULL)
        goto fail;
    snprintf(l, need, "%s %s HTTP/1.%d", req->hm_method, target, minor);

    /* fields: Host first when the client sent none */
    if (hdr_get(&req->hm_hdrs, "Host") == NULL &&
        hdr_add(out, "Host", auth) == -1)
        goto fail;
    if (hdr_copy(out, &req->hm_hdrs) == -1)
        goto fail;
    hdr_strip_hop_by_hop(out, o->no_pass_client_auth);
    if (!o->no_to_proxy)
        hdr_del(out, "Proxy-Authorization");
    hdr_del(out, "Expect");
    hdr_del(out, "Transfer-Encoding");
    if (hdr_set(out, "Host", auth) == -1)
        goto fail;
    hdr_del(out, "Content-Length");
    if (o->no_has_body) {
        snprintf(clen, sizeof(clen), "%llu",
                 (unsigned long long)o->no_body_len);
        if (hdr_add(out, "Content-Length", clen) == -1)
            goto fail;
    }
    if (o->no_identity && hdr_set(out, "Accept-Encoding", "identity") == -1)
        goto fail;
    if (o->no_to_proxy && o->no_proxy_auth != NULL &&
        hdr_set(out, "Proxy-Authorization", o->no_proxy_auth) == -1)
        goto fail;
    if (o->no_via != NULL && add_via(out, o->no_via) == -1)
        goto fail;
    /* HTTP/1.0 has no persistent connections unless negotiated; say so
     * explicitly. For 1.1 keep-alive is the default and the caller may add
     * "Connection: close" itself. */
    if (minor == 0 && !o->no_keep_alive &&
        hdr_add(out, "Connection", "close") == -1)
        goto fail;
    if (minor == 0 && o->no_keep_alive &&
        (hdr_add(out, "Connection", "keep-alive") == -1 ||
         (o->no_to_proxy &&
          hdr_add(out, "Proxy-Connection", "keep-alive") == -1)))
        goto fail;
    free(urlbuf);
    *line = l;
    return 0;
fail:
    free(urlbuf);
    free(l);
    return -1;
}
