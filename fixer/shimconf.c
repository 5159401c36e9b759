/*
 * shimconf.c - [upstream] proxy from wsus-shim's conf (shimconf.h), with
 * inih; only that key is looked at.
 */
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "shimconf.h"
#include "strparse.h"

struct shimconf_ctx {
    struct shim_proxy *sc_out;
    size_t sc_max;
    size_t *sc_n;
    char *sc_err;
    size_t sc_errlen;
    int sc_failed;
};

/* One "host:port" item of len bytes at s. */
static int
shimconf_item(const char *s, size_t len, struct shim_proxy *p, char *err,
              size_t errlen)
{
    char item[SHIMCONF_HOST_MAX + 16];
    char *host, *port = NULL;
    uint64_t v;

    if (len >= sizeof(item)) {
        snprintf(err, errlen, "proxy \"%.40s...\" is too long", s);
        return -1;
    }
    memcpy(item, s, len);
    item[len] = '\0';
    host = item;
    if (*host == '[') {
        char *close = strchr(host, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            goto bad;
        *close = '\0';
        if (close[1] == ':')
            port = close + 2;
        host++;
    } else {
        char *colon = strchr(host, ':');

        if (colon != NULL) {
            if (strchr(colon + 1, ':') != NULL)
                goto bad; /* a bare IPv6 address needs brackets */
            *colon = '\0';
            port = colon + 1;
        }
    }
    if (*host == '\0' || strlen(host) >= SHIMCONF_HOST_MAX)
        goto bad;
    for (const char *c = host; *c != '\0'; c++)
        if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@')
            goto bad;
    if (port == NULL || parse_u64_max(port, 65535, &v) == -1 || v == 0)
        goto bad;
    memcpy(p->sp_host, host, strlen(host) + 1);
    p->sp_port = (uint16_t)v;
    return 0;
bad:
    snprintf(err, errlen, "proxy \"%.*s\" is not host:port", (int)len, s);
    return -1;
}

int
shimconf_parse_proxies(const char *value, struct shim_proxy *out, size_t max,
                       size_t *n, char *err, size_t errlen)
{
    const char *p = value;

    for (;;) {
        size_t len;

        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return 0;
        len = strcspn(p, ", \t");
        if (*n == max) {
            snprintf(err, errlen, "more than %lu upstream proxies",
                     (unsigned long)max);
            return -1;
        }
        if (shimconf_item(p, len, &out[*n], err, errlen) == -1)
            return -1;
        (*n)++;
        p += len;
    }
}

static int
shimconf_handler(void *user, const char *section, const char *name,
                 const char *value)
{
    struct shimconf_ctx *c = user;

    if (strcmp(section, "upstream") != 0 || strcmp(name, "proxy") != 0)
        return 1; /* the shim's business */
    if (c->sc_failed)
        return 1;
    if (shimconf_parse_proxies(value, c->sc_out, c->sc_max, c->sc_n, c->sc_err,
                               c->sc_errlen) == -1) {
        c->sc_failed = 1;
        return 0;
    }
    return 1;
}

int
shimconf_read(const char *path, struct shim_proxy *out, size_t max, size_t *n,
              char *err, size_t errlen)
{
    char why[256] = "";
    struct shimconf_ctx c = {out, max, n, why, sizeof(why), 0};
    int line;

    *n = 0;
    line = ini_parse(path, shimconf_handler, &c);
    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    if (c.sc_failed) {
        snprintf(err, errlen, "%s:%d: %s", path, line, why);
        return -1;
    }
    /* inih syntax errors elsewhere in the file are the shim's to report */
    return 0;
}

struct shimconf_lctx {
    struct shim_proxy *sl_out;
    char *sl_err;
    size_t sl_errlen;
    int sl_failed;
};

static int
shimconf_lhandler(void *user, const char *section, const char *name,
                  const char *value)
{
    struct shimconf_lctx *c = user;
    uint64_t v;

    if (strcmp(section, "listen") != 0 || c->sl_failed)
        return 1;
    if (strcmp(name, "address") == 0) {
        if (*value == '\0' || strlen(value) >= SHIMCONF_HOST_MAX) {
            snprintf(c->sl_err, c->sl_errlen, "bad [listen] address");
            c->sl_failed = 1;
            return 0;
        }
        snprintf(c->sl_out->sp_host, sizeof(c->sl_out->sp_host), "%s", value);
    } else if (strcmp(name, "port") == 0) {
        if (parse_u64_max(value, 65535, &v) == -1) {
            snprintf(c->sl_err, c->sl_errlen, "bad [listen] port \"%.20s\"",
                     value);
            c->sl_failed = 1;
            return 0;
        }
        c->sl_out->sp_port = (uint16_t)v;
    }
    return 1;
}

int
shimconf_listen(const char *path, struct shim_proxy *out, char *err,
                size_t errlen)
{
    char why[128] = "";
    struct shimconf_lctx c = {out, why, sizeof(why), 0};
    int line;

    snprintf(out->sp_host, sizeof(out->sp_host), "127.0.0.1");
    out->sp_port = 8181;
    line = ini_parse(path, shimconf_lhandler, &c);
    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    if (c.sl_failed) {
        snprintf(err, errlen, "%s:%d: %s", path, line, why);
        return -1;
    }
    return 0;
}
