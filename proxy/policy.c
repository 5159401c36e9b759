/*
 * policy.c - pure matching rules: CIDR lists for the client ACL and for
 * no_proxy, host patterns for the destination allowlist and no_proxy.
 *
 * Everything here is strict, because these functions decide who may use
 * the proxy and where it may go. IPv4 literals are parsed by hand (exactly
 * four decimal parts, no leading zeros, no signs or spaces), so that the
 * result does not depend on the platform's inet_pton; IPv6 literals are
 * checked for their character set and then parsed with evutil_inet_pton.
 * Host patterns are validated as DNS names and matched on label
 * boundaries, so "*.windowsupdate.com" never matches
 * "evilwindowsupdate.com". No sockets, no event base, no logging.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "policy.h"
#include "strutil.h"
#include "strparse.h"

/* Longest textual IPv6 address ("ffff:...:255.255.255.255"). */
#define IP_TEXT_MAX 45
/* DNS limits (RFC 1035). */
#define HOST_MAX 253
#define LABEL_MAX 63

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};

/* Parse a dotted-quad IPv4 address: four decimal parts 0..255, each
 * "0" or without leading zeros. Returns 0 or -1. */
static int
ip4_parse(const char *s, uint8_t out[4])
{
    const char *p = s;

    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int nd = 0;

        if (i > 0) {
            if (*p != '.')
                return -1;
            p++;
        }
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
            return -1; /* leading zero: octal in some parsers */
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++nd > 3)
                return -1;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (nd == 0 || v > 255)
            return -1;
        out[i] = (uint8_t)v;
    }
    return *p == '\0' ? 0 : -1;
}

/* Parse an IPv6 literal without brackets or zone. Returns 0 or -1. */
static int
ip6_parse(const char *s, uint8_t out[16])
{
    size_t n = strlen(s);

    if (n < 2 || n > IP_TEXT_MAX)
        return -1;
    /* Only hex digits, ':' and '.' (embedded IPv4): no spaces, signs or
     * "%zone", whatever the platform's parser would tolerate. */
    if (strspn(s, "0123456789abcdefABCDEF:.") != n)
        return -1;
    if (evutil_inet_pton(AF_INET6, s, out) != 1)
        return -1;
    return 0;
}

/* Parse an IPv4 or IPv6 literal into addr; *family gets 4 or 6.
 * Returns 0 or -1. */
static int
ip_parse(const char *s, int *family, uint8_t addr[16])
{
    if (s == NULL || *s == '\0')
        return -1;
    if (strchr(s, ':') != NULL) {
        if (ip6_parse(s, addr) == -1)
            return -1;
        *family = 6;
        return 0;
    }
    if (ip4_parse(s, addr) == -1)
        return -1;
    *family = 4;
    return 0;
}

int
ip_literal_family(const char *s)
{
    uint8_t addr[16];
    int family;

    if (ip_parse(s, &family, addr) == -1)
        return 0;
    return family;
}

int
cidr_parse(const char *s, struct cidr *out)
{
    char buf[IP_TEXT_MAX + 1];
    const char *slash;
    struct cidr c;
    uint64_t bits;
    size_t alen;
    int family;

    if (s == NULL)
        return -1;
    memset(&c, 0, sizeof(c));
    slash = strchr(s, '/');
    alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (ip_parse(buf, &family, c.c_addr) == -1)
        return -1;
    c.c_family = (uint8_t)family;
    if (slash == NULL) {
        bits = family == 4 ? 32 : 128;
    } else {
        /* Strict prefix: digits only, no leading zero ("/08"). */
        if (slash[1] == '0' && slash[2] != '\0')
            return -1;
        if (parse_u64_max(slash + 1, family == 4 ? 32 : 128, &bits) == -1)
            return -1;
    }
    c.c_bits = (uint8_t)bits;

    /* Host bits beyond the prefix must be zero: "10.1.2.3/8" is almost
     * always a typo for a host or a different network. */
    for (unsigned i = 0; i < (family == 4 ? 4u : 16u); i++) {
        unsigned lo = i * 8;
        uint8_t mask;

        if (bits >= lo + 8)
            continue;
        mask = bits <= lo ? 0 : (uint8_t)(0xff << (8 - (bits - lo)));
        if ((c.c_addr[i] & (uint8_t)~mask) != 0)
            return -1;
    }
    *out = c;
    return 0;
}

int
cidr_format(const struct cidr *c, char *buf, size_t len)
{
    char ip[IP_TEXT_MAX + 1];
    int n;

    if (evutil_inet_ntop(c->c_family == 4 ? AF_INET : AF_INET6, c->c_addr, ip,
                         sizeof(ip)) == NULL)
        return -1;
    n = snprintf(buf, len, "%s/%u", ip, (unsigned)c->c_bits);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return 0;
}

int
cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
    struct cidr *v;

    if (l->cl_n >= SIZE_MAX / sizeof(*v) - 1) {
        errno = ENOMEM;
        return -1;
    }
    v = realloc(l->cl_v, (l->cl_n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    v[l->cl_n++] = *c;
    l->cl_v = v;
    return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
    free(l->cl_v);
    l->cl_v = NULL;
    l->cl_n = 0;
}

/* Do the first bits bits of a and b agree? */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
cidr_list_match(const struct cidr_list *l, int family, const uint8_t *addr)
{
    uint8_t mapped[16];
    const uint8_t *v4 = NULL; /* the IPv4 form of addr, if it has one */

    if (family == 4) {
        v4 = addr;
        memcpy(mapped, v4mapped_prefix, 12);
        memcpy(mapped + 12, addr, 4);
    } else if (family == 6) {
        if (memcmp(addr, v4mapped_prefix, 12) == 0)
            v4 = addr + 12;
        memcpy(mapped, addr, 16);
    } else {
        return 0;
    }

    for (size_t i = 0; i < l->cl_n; i++) {
        const struct cidr *c = &l->cl_v[i];

        if (c->c_family == 4) {
            if (v4 != NULL && prefix_eq(c->c_addr, v4, c->c_bits))
                return 1;
        } else if (prefix_eq(c->c_addr, mapped, c->c_bits)) {
            /* An IPv4 address matches an IPv6 entry through its
             * IPv4-mapped form (::ffff:0:0/96 and wider). */
            return 1;
        }
    }
    return 0;
}

int
cidr_list_match_str(const struct cidr_list *l, const char *ip)
{
    uint8_t addr[16];
    int family;

    if (ip_parse(ip, &family, addr) == -1)
        return 0;
    return cidr_list_match(l, family, addr);
}

/* Is s[0..n) a DNS name: labels of 1..63 letters, digits, '-' or '_'
 * (the latter appears in real service names), not starting or ending with
 * '-', separated by single dots, 253 characters at most? */
static int
host_valid(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return 0;
        if (ch == '-' && label == 0)
            return 0;
        if (++label > LABEL_MAX)
            return 0;
    }
    return label > 0 && s[n - 1] != '-';
}

int
policy_host_valid(const char *host)
{
    size_t n;

    if (host == NULL)
        return 0;
    n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--;
    return host_valid(host, n);
}

int
pattern_list_add(struct pattern_list *l, const char *pat)
{
    size_t n;
    char *copy, **v;

    if (pat == NULL)
        return -1;
    n = strlen(pat);
    if (n > 0 && pat[n - 1] == '.')
        n--; /* "windowsupdate.com." is the same name */
    if (strcmp(pat, "*") != 0) {
        const char *name =
            (n > 2 && pat[0] == '*' && pat[1] == '.') ? pat + 2 : pat;

        if (!host_valid(name, n - (size_t)(name - pat)))
            return -1;
    }
    if (l->pl_n >= SIZE_MAX / sizeof(*v) - 1) {
        errno = ENOMEM;
        return -1;
    }
    copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        copy[i] = (char)str_lc((unsigned char)pat[i]);
    copy[n] = '\0';
    v = realloc(l->pl_v, (l->pl_n + 1) * sizeof(*v));
    if (v == NULL) {
        free(copy);
        return -1;
    }
    v[l->pl_n++] = copy;
    l->pl_v = v;
    return 0;
}

void
pattern_list_free(struct pattern_list *l)
{
    for (size_t i = 0; i < l->pl_n; i++)
        free(l->pl_v[i]);
    free(l->pl_v);
    l->pl_v = NULL;
    l->pl_n = 0;
}

/* Case-insensitive equality of a[0..n) and the lower-case string b. */
static int
tail_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (str_lc((unsigned char)a[i]) != (unsigned char)b[i])
            return 0;
    }
    return 1;
}

int
pattern_list_match(const struct pattern_list *l, const char *host)
{
    size_t hn;
    int valid;

    if (host == NULL || *host == '\0')
        return 0;
    hn = strlen(host);
    if (host[hn - 1] == '.')
        hn--;
    /* Only "*" may match something that is not a DNS name (an IPv6
     * literal, say); a malformed name never matches a real pattern. */
    valid = host_valid(host, hn);

    for (size_t i = 0; i < l->pl_n; i++) {
        const char *p = l->pl_v[i];
        size_t pn;

        if (p[0] == '*' && p[1] == '\0')
            return 1;
        if (!valid)
            continue;
        if (p[0] == '*') {
            /* "*.a.b": at least one label, then ".a.b". */
            pn = strlen(p + 1); /* ".a.b" */
            if (hn > pn && tail_eq(host + hn - pn, p + 1, pn))
                return 1;
        } else {
            pn = strlen(p);
            if (hn == pn && tail_eq(host, p, pn))
                return 1;
        }
    }
    return 0;
}
