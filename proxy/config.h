/*
 * config.h - the wsus-shim conf file (INI) parsed into struct shim_config.
 *
 * config_load() is table-driven: every key has a row with its section,
 * name, type, range and default. Unknown sections or keys, bad values,
 * and unreadable files are errors reported as "FILE:LINE: message". After
 * parsing, the whole config is validated (cross-key rules). The parser
 * touches no globals; a reload builds a fresh struct.
 */
#ifndef WSUS_CONFIG_H
#define WSUS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "strparse.h"

enum range_mode {
    RANGE_MODE_CACHE = 0,
    RANGE_MODE_SLICE,
    RANGE_MODE_PASS,
};

struct upstream_addr {
    char *ua_host; /* name or address, without brackets */
    uint16_t ua_port;
};

struct shim_config {
    char *sc_path; /* the file it came from */

    /* [listen] */
    char *sc_listen_addr;      /* default "127.0.0.1" */
    uint16_t sc_listen_port;   /* default 8181; 0 = any free port */
    struct cidr_list sc_allow; /* default 127.0.0.1/32, ::1/128 */
    uint32_t sc_max_conns;     /* default DEF_MAX_CONNECTIONS */

    /* [upstream] */
    struct upstream_addr *sc_proxies; /* tried in order; none = direct */
    size_t sc_nproxies;
    int sc_up_minor;      /* http_version: 0 for 1.0 (default), 1 */
    char *sc_up_user;     /* NULL = no Basic auth */
    char *sc_up_password; /* from password or password_file; never logged */
    char *sc_up_password_file; /* where sc_up_password came from, or NULL */
    char *sc_up_password_hash; /* NT hash, 32 hex digits; never logged */
    int sc_up_auth;            /* enum auth_want; default auto */
    char *sc_up_keytab;        /* Negotiate: client keytab, or NULL */
    char *sc_up_principal;     /* Negotiate: its principal, or NULL */
    char *sc_up_spn;           /* Negotiate: SPN override, or NULL */
    uint32_t sc_up_idle_ms;    /* pooled connection idle timeout */
    uint32_t sc_up_max_idle;   /* pooled connections per destination */
    struct pattern_list sc_no_proxy_hosts;
    struct cidr_list sc_no_proxy_nets;
    int sc_pass_client_auth;  /* forward the client's Proxy-Authorization */
    uint32_t sc_hold_down_ms; /* after a failure; default DEF_HOLD_DOWN_MS */

    /* [policy] */
    struct pattern_list sc_allow_hosts; /* default: Microsoft update hosts */
    uint16_t *sc_connect_ports;         /* default 443 */
    size_t sc_nconnect_ports;

    /* [limits] */
    uint32_t sc_max_header_bytes;
    uint32_t sc_max_headers;
    uint32_t sc_max_uri;
    uint64_t sc_max_body;
    uint64_t sc_body_memory;
    uint32_t sc_header_timeout_ms;
    uint32_t sc_idle_timeout_ms;
    uint32_t sc_connect_timeout_ms;
    uint32_t sc_first_byte_ms;
    uint32_t sc_body_timeout_ms;
    uint32_t sc_drain_timeout_ms;

    /* [log] */
    char *sc_log_file;           /* NULL = stderr, "syslog" = system log */
    int sc_log_level;            /* enum log_level; default info */
    char *sc_access_log;         /* NULL = off, "-" = stdout */
    uint64_t sc_log_rotate_size; /* 0 = never */
    uint32_t sc_log_rotate_keep;

    /* [range] */
    enum range_mode sc_range_mode;
    uint64_t sc_slice_max_discard; /* default 64M */
    /* slice_max_discard was set in the file: it also bounds the slices
     * that stand in for the cache in mode cache (unbounded otherwise). */
    int sc_slice_max_discard_set;

    /* [cache] */
    char *sc_cache_dir;    /* default /var/cache/wsus-shim */
    uint64_t sc_cache_max; /* default 20G */
    int sc_verify_sha1;    /* default yes */
    /* Entries whose URL names no SHA-1 may change upstream: they are
     * fetched again once older than this. Default 1 hour. */
    uint32_t sc_unnamed_max_age_ms;
    /* A cache folder that cannot be used is tried again this often;
     * default 1 minute. */
    uint32_t sc_cache_retry_ms;
    /* Free space kept on the cache's volume: bytes, or a percentage of
     * the volume (one of them is 0); default 5%. */
    uint64_t sc_cache_min_free;
    uint32_t sc_cache_min_free_pct;

    /* [status] */
    int sc_status_enabled; /* the status page and /metrics; default yes */
};

/* Fill *cfg with every default (no file read). Returns 0 or -1 (ENOMEM). */
int config_defaults(struct shim_config *cfg);

/* Read and validate path into *cfg (defaults first). Relative file paths in
 * the conf (password_file, cache dir, log files) are taken relative to the
 * conf file's folder. Returns 0, or -1 with "FILE:LINE: reason" (or
 * "FILE: reason") in err. On failure *cfg holds nothing to free. */
int config_load(const char *path, struct shim_config *cfg, char *err,
                size_t errlen);

void config_free(struct shim_config *cfg);

/* The conf word of an [upstream] auth value ("auto", "ntlm"...). */
const char *config_auth_name(int want);

/* Human summary for `wsus-shim -t` and startup: listen, upstreams, policy,
 * limits, cache. Credentials are shown as "(set)". The output is in conf
 * syntax, every key with its effective value, warnings as comments on
 * top; without a password it loads back to the same config. */
void config_print(const struct shim_config *cfg, FILE *out);

/* Legal but risky settings (a non-loopback listen address, "*" in
 * allow_hosts, an ACL admitting everyone, unused credentials). Stores up
 * to max static strings in out and returns how many there are (which may
 * exceed max; CONFIG_WARN_MAX is always enough). */
#define CONFIG_WARN_MAX 8
size_t config_warnings(const struct shim_config *cfg, const char **out,
                       size_t max);

#endif
