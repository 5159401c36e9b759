/*
 * headers.h - an ordered list of HTTP header fields.
 *
 * Names keep their original case; lookups are case-insensitive. The list
 * owns copies of every name and value. Pure: no I/O.
 */
#ifndef WSUS_HEADERS_H
#define WSUS_HEADERS_H

#include <stddef.h>

struct hdr {
    char *h_name;
    char *h_value; /* leading/trailing whitespace already trimmed */
};

struct hdr_list {
    struct hdr *hl_v;
    size_t hl_n;
    size_t hl_cap;
};

void hdr_init(struct hdr_list *l);
void hdr_free(struct hdr_list *l);
/* Append a copy of name/value (value trimmed of OWS). Returns 0 or -1. */
int hdr_add(struct hdr_list *l, const char *name, const char *value);
int hdr_addn(struct hdr_list *l, const char *name, size_t nlen,
             const char *value, size_t vlen);
/* Replace every field called name by one with value (added at the end if
 * absent). Returns 0 or -1. */
int hdr_set(struct hdr_list *l, const char *name, const char *value);
/* First value of name, or NULL. */
const char *hdr_get(const struct hdr_list *l, const char *name);
/* How many fields are called name. */
size_t hdr_count(const struct hdr_list *l, const char *name);
/* Remove every field called name; returns how many went. */
size_t hdr_del(struct hdr_list *l, const char *name);
/* Does any field called name carry token in its comma-separated list
 * (case-insensitive, OWS ignored, quoted strings not split)? 1 or 0. */
int hdr_has_token(const struct hdr_list *l, const char *name,
                  const char *token);
/* Walk a comma-separated list value (RFC 9110 §5.6.1): *sp is the cursor,
 * start it at the value. Each call sets *tok and *tlen to the next non-empty
 * element, OWS trimmed, commas inside quoted strings not splitting, and
 * returns 1; returns 0 at the end. The element points into the value. */
int hdr_list_next(const char **sp, const char **tok, size_t *tlen);
/* Copy every field of src to dst. Returns 0 or -1. */
int hdr_copy(struct hdr_list *dst, const struct hdr_list *src);

/* Remove the hop-by-hop fields: Connection and every name it lists,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
 * and Proxy-Authorization / Proxy-Authenticate unless keep_proxy_auth.
 * (Content-Length stays; framing is the caller's business.) Content-Length
 * and Host are never removed even when Connection names them (RFC 9110
 * §7.6.1: a sender must not list them; honouring it would let a client
 * strip the framing or the authority). */
void hdr_strip_hop_by_hop(struct hdr_list *l, int keep_proxy_auth);

#endif
