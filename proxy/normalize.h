/*
 * normalize.h - pure request rewriting toward the upstream, and parsing of
 * request targets. No I/O.
 */
#ifndef WSUS_NORMALIZE_H
#define WSUS_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "headers.h"
#include "http_msg.h"

/* A parsed request target. */
struct req_target {
    char *rt_host;    /* lower-case; IPv6 without brackets */
    uint16_t rt_port; /* explicit or the scheme's default */
    char *rt_path;    /* origin-form: "/path?query" (never empty) */
    int rt_absolute;  /* the client sent absolute-form */
};

void req_target_free(struct req_target *t);

/* Parse the target of a request:
 *   absolute-form "http://host[:port]/path?q" (scheme http only; https
 *     absolute-form is refused: that goes through CONNECT),
 *   authority-form "host:port" for CONNECT (port required),
 *   origin-form "/path" using the Host header (host_hdr may be NULL).
 * Userinfo in the URL, a fragment, a bad port (strictly 1..65535), host
 * characters other than letters, digits, '-', '.', '_' (or a bracketed
 * IPv6 literal), and any scheme but http are errors.
 * Changed with the implementation: a Host header that disagrees with an
 * absolute URL is NOT an error: RFC 9112 §3.2.2 says a proxy MUST ignore
 * it and use the URL, and normalize_request sends the URL's authority as
 * Host. Origin-form without a Host (host_hdr NULL or empty, e.g. an
 * HTTP/1.0 request to the shim itself) parses with rt_host "" and port
 * 80; req_target_authority/url then fail for it. Hosts are lower-cased.
 * *out is zeroed first and freed on failure.
 * Returns 0, or -1 with *why set to a static reason. */
int req_target_parse(const char *target, int is_connect, const char *host_hdr,
                     struct req_target *out, const char **why);

/* "host:port" or "[v6]:port" into buf (port left out when it is 80 and
 * omit_default). Returns 0, or -1 if too small or the host is empty. */
int req_target_authority(const struct req_target *t, int omit_default,
                         char *buf, size_t len);

/* The normalized URL (cache key and log): "http://host[:port]/path". */
int req_target_url(const struct req_target *t, char *buf, size_t len);

struct norm_opts {
    int no_to_proxy;           /* 1: absolute-form to a proxy; 0: direct */
    int no_up_minor;           /* 0 for HTTP/1.0 upstreams, 1 for 1.1 */
    const char *no_proxy_auth; /* full Proxy-Authorization value or NULL */
    int no_pass_client_auth;   /* keep the client's Proxy-Authorization */
    const char *no_via;        /* e.g. "1.1 wsus-shim"; appended to Via */
    int no_identity;           /* force Accept-Encoding: identity */
    int no_has_body;           /* a body of no_body_len bytes follows */
    uint64_t no_body_len;
    int no_keep_alive; /* ask a 1.0 upstream to keep the connection
                        * (for the pool) instead of closing it */
};

/* Build the upstream request head from the client's request:
 *   *line  gets "METHOD target HTTP/1.x" (malloc'd),
 *   out    gets the rewritten header list:
 *     hop-by-hop removed (hdr_strip_hop_by_hop), Expect removed,
 *     Host set from t, Content-Length set to no_body_len when there is a
 *     body (Transfer-Encoding never sent), Via appended, identity
 *     encoding forced when asked, Proxy-Authorization per opts, and
 *     "Connection: close" for 1.0 (or keep-alive semantics left to 1.1);
 *     with no_keep_alive, 1.0 asks "Connection: keep-alive" instead (and
 *     "Proxy-Connection: keep-alive" to a proxy, which old proxies read).
 * out must be initialized (normally empty): fields are appended, and the
 * caller frees it whatever the result. *line is NULL on failure.
 * Details: Host goes first when the client sent none, else it replaces
 * the client's in place; Via is appended to the client's last Via field
 * ("1.0 a, 1.1 wsus-shim"), added if there is none; no_proxy_auth is used
 * only when no_to_proxy, and when direct no Proxy-Authorization is sent at
 * all (not even with no_pass_client_auth: an origin must not see proxy
 * credentials). A CONNECT request gets "CONNECT host:port HTTP/1.x".
 * Returns 0 or -1 (allocation failure, or a target without a host). */
int normalize_request(const struct http_msg *req, const struct req_target *t,
                      const struct norm_opts *o, char **line,
                      struct hdr_list *out);

#endif
