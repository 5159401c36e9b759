/*
 * policy.h - pure matching rules: client ACL (CIDR lists), destination host
 * patterns, no_proxy. No sockets, no event base.
 */
#ifndef WSUS_POLICY_H
#define WSUS_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
    uint8_t c_family; /* 4 or 6 */
    uint8_t c_bits;   /* prefix length: 0..32 or 0..128 */
    uint8_t c_addr[16];
};

struct cidr_list {
    struct cidr *cl_v;
    size_t cl_n;
};

/* Lower-cased host patterns: "host.example" matches exactly;
 * "*.example" matches any name below example (not example itself);
 * "*" matches everything. */
struct pattern_list {
    char **pl_v;
    size_t pl_n;
};

/* "10.0.0.0/8", "::1/128", or a bare address (full-length prefix).
 * Host bits set beyond the prefix are an error. Returns 0 or -1. */
int cidr_parse(const char *s, struct cidr *out);
/* Write c as "address/bits" into buf. Returns 0, or -1 when len is too
 * small (CIDR_TEXT_MAX is always enough). */
#define CIDR_TEXT_MAX 50
int cidr_format(const struct cidr *c, char *buf, size_t len);
/* Append a copy of *c. Returns 0 or -1 (ENOMEM); l is unchanged then. */
int cidr_list_add(struct cidr_list *l, const struct cidr *c);
void cidr_list_free(struct cidr_list *l);

/* Match a textual IPv4/IPv6 address (IPv4-mapped IPv6 matches IPv4
 * entries). Returns 1 on match, 0 otherwise (also for a non-address). */
int cidr_list_match_str(const struct cidr_list *l, const char *ip);
/* Match raw address bytes (4 or 16 of them). */
int cidr_list_match(const struct cidr_list *l, int family, const uint8_t *addr);

/* Validate and add a pattern (lower-cased copy). Returns 0 or -1 for an
 * invalid pattern ("*" alone, "*.x", or a host name; no "a*b"). */
int pattern_list_add(struct pattern_list *l, const char *pat);
void pattern_list_free(struct pattern_list *l);
/* Case-insensitive; a trailing dot on host is ignored. A host that is not
 * a DNS name (see policy_host_valid) matches only "*". Returns 1 or 0. */
int pattern_list_match(const struct pattern_list *l, const char *host);

/* Is host a DNS name: dot-separated labels of 1..63 letters, digits, '-'
 * or '_', no label starting or ending with '-', 253 characters at most,
 * one trailing dot allowed? Returns 1 or 0. */
int policy_host_valid(const char *host);

/* Is s an IPv4 or IPv6 literal (without brackets)? Returns 4, 6 or 0.
 * IPv4 is exactly a.b.c.d in decimal without leading zeros. */
int ip_literal_family(const char *s);

#endif
