/*
 * shimconf.h - the one thing wsus-fixer reads from wsus-shim's conf: the
 * upstream proxies ([upstream] proxy), for doctor's "does the upstream
 * resolve and accept a connection" check, and the listen address, for
 * "does WSUS point at the shim". Every other key of that file
 * belongs to the shim and is ignored here; the shim validates it.
 */
#ifndef WSUS_SHIMCONF_H
#define WSUS_SHIMCONF_H

#include <stddef.h>
#include <stdint.h>

#define SHIMCONF_MAX_PROXIES 8
#define SHIMCONF_HOST_MAX 256

struct shim_proxy {
    char sp_host[SHIMCONF_HOST_MAX]; /* name or address, no brackets */
    uint16_t sp_port;
};

/*
 * Parse one proxy value as the shim documents it: "host:port" or
 * "[IPv6]:port" items (the port is required) separated by commas or
 * spaces. Appends to out (capacity max, count in *n). Returns 0, or -1
 * with a reason in err.
 */
int shimconf_parse_proxies(const char *value, struct shim_proxy *out,
                           size_t max, size_t *n, char *err, size_t errlen);

/* Read path and collect every [upstream] proxy value. None is not an
 * error (*n = 0: the shim goes direct). Returns 0 or -1 ("FILE:LINE: ..."
 * or "FILE: ..." in err). */
int shimconf_read(const char *path, struct shim_proxy *out, size_t max,
                  size_t *n, char *err, size_t errlen);

/* The shim's listen address, [listen] address and port, with the shim's
 * defaults (127.0.0.1, 8181) for keys the file does not set: where WSUS
 * must point its proxy. Returns 0 or -1 as shimconf_read. */
int shimconf_listen(const char *path, struct shim_proxy *out, char *err,
                    size_t errlen);

#endif
