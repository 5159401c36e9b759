/*
 * config_list.c - the list values of the conf file (listen.allow,
 * allow_hosts, no_proxy, upstream.proxy, connect_ports): comma-separated
 * items, each checked and added to its field of struct shim_config
 * through the key table (config_int.h). Errors go to the caller's buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "policy.h"
#include "strparse.h"
#include "strutil.h"
#include "upstream.h"

static void *
field(struct shim_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

void
config_proxies_free(struct upstream_addr **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i].ua_host);
    free(*v);
    *v = NULL;
    *n = 0;
}

/* "host:port" or "[v6]:port"; the port is required. On success ua_host is
 * malloc'ed. Returns 0, or -1 with errno 0 (syntax) or ENOMEM. */
static int
proxy_parse(const char *s, struct upstream_addr *out)
{
    const char *host, *hend, *port;
    uint64_t pv;
    char *h;

    errno = 0;
    if (s[0] == '[') {
        host = s + 1;
        hend = strchr(host, ']');
        if (hend == NULL || hend[1] != ':')
            return -1;
        port = hend + 2;
    } else {
        host = s;
        hend = strrchr(s, ':');
        if (hend == NULL)
            return -1;
        port = hend + 1;
    }
    if (parse_u64_max(port, 65535, &pv) == -1 || pv == 0)
        return -1;
    h = str_dupn(host, (size_t)(hend - host));
    if (h == NULL) {
        errno = ENOMEM;
        return -1;
    }
    /* A bracketed host is an IPv6 literal; a bare one is a name or an
     * IPv4 literal (a bare IPv6 literal would make the port ambiguous). */
    if (s[0] == '[' ? ip_literal_family(h) != 6 : !policy_host_valid(h)) {
        free(h);
        return -1;
    }
    out->ua_host = h;
    out->ua_port = (uint16_t)pv;
    return 0;
}

void
config_list_clear(struct shim_config *cfg, const struct conf_key *k)
{
    switch (k->k_type) {
    case CK_CIDRS:
        cidr_list_free(field(cfg, k->k_off));
        break;
    case CK_HOSTS:
        pattern_list_free(field(cfg, k->k_off));
        break;
    case CK_NOPROXY:
        pattern_list_free(field(cfg, k->k_off));
        cidr_list_free(field(cfg, k->k_off2));
        break;
    case CK_PROXIES:
        config_proxies_free(field(cfg, k->k_off), field(cfg, k->k_off2));
        break;
    case CK_PORTS: {
        uint16_t **v = field(cfg, k->k_off);
        free(*v);
        *v = NULL;
        *(size_t *)field(cfg, k->k_off2) = 0;
        break;
    }
    default:
        break;
    }
}

/* Append ua to the proxies of row k. Returns 0 or -1 (ENOMEM). */
static int
proxies_push(struct shim_config *cfg, const struct conf_key *k,
             const struct upstream_addr *ua)
{
    struct upstream_addr **v = field(cfg, k->k_off), *nv;
    size_t *n = field(cfg, k->k_off2);

    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    nv[(*n)++] = *ua;
    *v = nv;
    return 0;
}

/* Append port to the ports of row k. Returns 0 or -1 (ENOMEM). */
static int
ports_push(struct shim_config *cfg, const struct conf_key *k, uint16_t port)
{
    uint16_t **v = field(cfg, k->k_off), *nv;
    size_t *n = field(cfg, k->k_off2);

    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    nv[(*n)++] = port;
    *v = nv;
    return 0;
}

/* Add one trimmed, non-empty list item to row k. Returns 0 or -1 with a
 * message in m. */
static int
list_add(struct shim_config *cfg, const struct conf_key *k, const char *item,
         char *m, size_t mlen)
{
    struct cidr c;
    struct upstream_addr ua;
    uint64_t pv;

    errno = 0;
    switch (k->k_type) {
    case CK_CIDRS:
        if (cidr_parse(item, &c) == -1) {
            errfmt(m, mlen,
                   "%s: '%s' is not an address or CIDR (like 10.0.0.0/8; "
                   "host bits must be zero)",
                   k->k_name, item);
            return -1;
        }
        if (cidr_list_add(field(cfg, k->k_off), &c) == -1)
            goto oom;
        return 0;
    case CK_HOSTS:
        if (pattern_list_add(field(cfg, k->k_off), item) == -1) {
            if (errno == ENOMEM)
                goto oom;
            errfmt(m, mlen,
                   "%s: '%s' is not a host name or pattern (like "
                   "download.example.com, *.example.com or *)",
                   k->k_name, item);
            return -1;
        }
        return 0;
    case CK_NOPROXY:
        if (cidr_parse(item, &c) == 0) {
            if (cidr_list_add(field(cfg, k->k_off2), &c) == -1)
                goto oom;
            return 0;
        }
        if (pattern_list_add(field(cfg, k->k_off), item) == -1) {
            if (errno == ENOMEM)
                goto oom;
            errfmt(m, mlen,
                   "%s: '%s' is neither a CIDR nor a host name or pattern",
                   k->k_name, item);
            return -1;
        }
        return 0;
    case CK_PROXIES:
        if (proxy_parse(item, &ua) == -1) {
            if (errno == ENOMEM)
                goto oom;
            errfmt(m, mlen,
                   "%s: '%s' is not host:port (like proxy.example:8080 or "
                   "[2001:db8::1]:3128)",
                   k->k_name, item);
            return -1;
        }
        if (proxies_push(cfg, k, &ua) == -1) {
            free(ua.ua_host);
            goto oom;
        }
        return 0;
    case CK_PORTS:
        if (parse_u64_max(item, 65535, &pv) == -1 || pv == 0) {
            errfmt(m, mlen, "%s: '%s' is not a port from 1 to 65535", k->k_name,
                   item);
            return -1;
        }
        if (ports_push(cfg, k, (uint16_t)pv) == -1)
            goto oom;
        return 0;
    default:
        break;
    }
    errfmt(m, mlen, "%s: not a list", k->k_name);
    return -1;
oom:
    errfmt(m, mlen, "%s: out of memory", k->k_name);
    return -1;
}

int
config_list_is(enum ck_type t)
{
    return t == CK_CIDRS || t == CK_HOSTS || t == CK_NOPROXY ||
           t == CK_PROXIES || t == CK_PORTS;
}

int
config_list_set(struct shim_config *cfg, const struct conf_key *k,
                const char *val, int append, char *m, size_t mlen)
{
    char *copy, *p;
    size_t n;
    int ret = -1;

    if (!append)
        config_list_clear(cfg, k);
    if (*val == '\0')
        return 0;
    copy = str_dupn(val, strlen(val));
    if (copy == NULL) {
        errfmt(m, mlen, "%s: out of memory", k->k_name);
        return -1;
    }
    n = strlen(copy); /* inih trimmed the value, so copy[n - 1] is no blank */
    if (copy[n - 1] == ',' && n > 1)
        copy[n - 1] = '\0';
    p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        char *end = comma != NULL ? comma : p + strlen(p);

        while (*p == ' ' || *p == '\t')
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        if (*p == '\0') {
            errfmt(m, mlen, "%s: empty item in the list (check the commas)",
                   k->k_name);
            goto done;
        }
        if (list_add(cfg, k, p, m, mlen) == -1)
            goto done;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    ret = 0;
done:
    free(copy);
    return ret;
}
