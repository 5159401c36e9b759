/*
 * config.c - the conf file (INI, parsed by inih) into struct shim_config.
 *
 * Every key is one row of conf_keys[]: section, name, type, range, default
 * and the field it fills. config_defaults() applies each row's default
 * through the same code that parses the file, so a default can never be a
 * value the parser would refuse. config_load() reads the file through our
 * own line reader, which counts lines (so every message is "FILE:LINE:
 * reason"), refuses lines inih would silently split (longer than its line
 * buffer) and NUL bytes, and checks section headers as they go by. The
 * first error stops the parse. After parsing, whole-config rules are
 * checked (config_validate).
 *
 * List values are comma-separated and may continue on indented lines
 * (inih's multi-line values), so the long host lists fit the line limit.
 * Setting a list replaces its default; an empty value is an empty list.
 *
 * The password never appears in a message or in config_print(), and its
 * memory is wiped when freed. This file touches no globals (including
 * inih's tunables) and never logs: errors go to the caller's buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "auth.h"
#include "config.h"
#include "strutil.h"
#include "shim_limits.h"
#include "strparse.h"
#include "log.h"
#include "plat.h"

/* Largest password_file we read; a password is one short line. */
#define SECRET_FILE_MAX 1024
/* Room for one formatted message without the FILE:LINE prefix. */
#define MSG_MAX 512

enum ck_type {
    CK_ADDR = 0,   /* an IP literal (checked after parsing) */
    CK_STR,        /* a string; empty = NULL */
    CK_PATH,       /* a path relative to the conf folder; not empty */
    CK_OPTPATH,    /* the same, or empty = NULL */
    CK_U16,        /* uint16_t in [min, max] */
    CK_U32,        /* uint32_t in [min, max] */
    CK_SIZE32,     /* parse_size into uint32_t */
    CK_SIZE64,     /* parse_size into uint64_t */
    CK_MS,         /* parse_duration_ms into uint32_t */
    CK_BOOL,       /* parse_bool into int */
    CK_LOGLEVEL,   /* error|warn|info|debug into int */
    CK_RANGEMODE,  /* cache|slice|pass into enum range_mode */
    CK_HTTPVER,    /* 1.0|1.1 into int (the minor version) */
    CK_LOGDEST,    /* "stderr"/"" = NULL, "syslog", or a path */
    CK_ACCESSDEST, /* "off"/"" = NULL, "-"/"stdout" = "-", or a path */
    CK_AUTH,       /* auto|none|basic|ntlm|negotiate into enum auth_want */
    CK_NTHASH,     /* an NT hash, 32 hex digits, kept as a secret string */
    CK_SECRET,     /* the password itself; empty = NULL */
    CK_SECRETFILE, /* a file holding the password (off2: the password) */
    CK_CIDRS,      /* list: struct cidr_list */
    CK_HOSTS,      /* list: struct pattern_list */
    CK_NOPROXY,    /* list: names to off (pattern_list), CIDRs to off2 */
    CK_PROXIES,    /* list: host:port into off (array), off2 (count) */
    CK_PORTS,      /* list: 1..65535 into off (uint16_t array), off2 */
};

struct conf_key {
    const char *k_section;
    const char *k_name;
    enum ck_type k_type;
    uint64_t k_min, k_max; /* inclusive bounds of numeric types */
    uint64_t k_def;        /* default of numeric and bool types */
    const char *k_sdef;    /* default of the others, in conf syntax */
    size_t k_off;          /* the field in struct shim_config */
    size_t k_off2;         /* a second field (see enum ck_type) */
};

#define OFF(f) offsetof(struct shim_config, f)
#define SEC_S 1000u
#define MIN_MS (60u * SEC_S)
#define HOUR_MS (60u * MIN_MS)
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

/* [upstream] auth, indexed by enum auth_want. */
static const char *const auth_want_names[] = {
    "auto", "none", "basic", "ntlm", "negotiate",
};
#define NAUTH_NAMES (sizeof(auth_want_names) / sizeof(auth_want_names[0]))

static const char *const conf_sections[] = {
    "listen", "upstream", "policy", "limits", "log", "range", "cache",
    "status",
};

/* The Microsoft update hosts (the default destination allowlist). */
#define MS_UPDATE_HOSTS                                                        \
    "windowsupdate.microsoft.com, *.windowsupdate.microsoft.com, "             \
    "*.update.microsoft.com, *.windowsupdate.com, "                            \
    "download.windowsupdate.com, *.download.windowsupdate.com, "               \
    "download.microsoft.com, wustat.windows.com, "                             \
    "ntservicepack.microsoft.com, go.microsoft.com, "                          \
    "dl.delivery.mp.microsoft.com"

/* clang-format off */
static const struct conf_key conf_keys[] = {
    {"listen", "address", CK_ADDR, 0, 0, 0, "127.0.0.1",
     OFF(sc_listen_addr), 0},
    {"listen", "port", CK_U16, 0, 65535, 8181, NULL,
     OFF(sc_listen_port), 0},
    {"listen", "allow", CK_CIDRS, 0, 0, 0, "127.0.0.1/32, ::1/128",
     OFF(sc_allow), 0},
    {"listen", "max_connections", CK_U32, 1, 1000000, DEF_MAX_CONNECTIONS,
     NULL, OFF(sc_max_conns), 0},

    {"upstream", "proxy", CK_PROXIES, 0, 0, 0, "",
     OFF(sc_proxies), OFF(sc_nproxies)},
    {"upstream", "http_version", CK_HTTPVER, 0, 0, 0, "1.0",
     OFF(sc_up_minor), 0},
    {"upstream", "user", CK_STR, 0, 0, 0, NULL, OFF(sc_up_user), 0},
    {"upstream", "password", CK_SECRET, 0, 0, 0, NULL,
     OFF(sc_up_password), 0},
    {"upstream", "password_file", CK_SECRETFILE, 0, 0, 0, NULL,
     OFF(sc_up_password_file), OFF(sc_up_password)},
    {"upstream", "password_hash", CK_NTHASH, 0, 0, 0, NULL,
     OFF(sc_up_password_hash), 0},
    {"upstream", "auth", CK_AUTH, 0, 0, 0, "auto", OFF(sc_up_auth), 0},
    {"upstream", "keytab", CK_OPTPATH, 0, 0, 0, NULL, OFF(sc_up_keytab), 0},
    {"upstream", "principal", CK_STR, 0, 0, 0, NULL, OFF(sc_up_principal),
     0},
    {"upstream", "spn", CK_STR, 0, 0, 0, NULL, OFF(sc_up_spn), 0},
    {"upstream", "idle_timeout", CK_MS, 100, HOUR_MS, DEF_UP_IDLE_MS, NULL,
     OFF(sc_up_idle_ms), 0},
    {"upstream", "max_idle", CK_U32, 0, 1000, DEF_UP_MAX_IDLE, NULL,
     OFF(sc_up_max_idle), 0},
    {"upstream", "no_proxy", CK_NOPROXY, 0, 0, 0, "",
     OFF(sc_no_proxy_hosts), OFF(sc_no_proxy_nets)},
    {"upstream", "pass_client_auth", CK_BOOL, 0, 1, 0, NULL,
     OFF(sc_pass_client_auth), 0},
    {"upstream", "hold_down", CK_MS, 0, HOUR_MS, DEF_HOLD_DOWN_MS, NULL,
     OFF(sc_hold_down_ms), 0},

    {"policy", "allow_hosts", CK_HOSTS, 0, 0, 0, MS_UPDATE_HOSTS,
     OFF(sc_allow_hosts), 0},
    {"policy", "connect_ports", CK_PORTS, 0, 0, 0, "443",
     OFF(sc_connect_ports), OFF(sc_nconnect_ports)},

    {"limits", "max_header_bytes", CK_SIZE32, KIB, MIB,
     DEF_MAX_HEADER_BYTES, NULL, OFF(sc_max_header_bytes), 0},
    {"limits", "max_headers", CK_U32, 8, 10000, DEF_MAX_HEADERS, NULL,
     OFF(sc_max_headers), 0},
    {"limits", "max_uri", CK_SIZE32, 256, MIB, DEF_MAX_URI, NULL,
     OFF(sc_max_uri), 0},
    {"limits", "max_body", CK_SIZE64, 0, TIB, DEF_MAX_BODY, NULL,
     OFF(sc_max_body), 0},
    {"limits", "body_memory", CK_SIZE64, 0, GIB, DEF_BODY_MEMORY, NULL,
     OFF(sc_body_memory), 0},
    {"limits", "header_timeout", CK_MS, 100, 24 * HOUR_MS,
     DEF_HEADER_TIMEOUT_MS, NULL, OFF(sc_header_timeout_ms), 0},
    {"limits", "idle_timeout", CK_MS, 100, 24 * HOUR_MS,
     DEF_IDLE_TIMEOUT_MS, NULL, OFF(sc_idle_timeout_ms), 0},
    {"limits", "connect_timeout", CK_MS, 100, 24 * HOUR_MS,
     DEF_CONNECT_TIMEOUT_MS, NULL, OFF(sc_connect_timeout_ms), 0},
    {"limits", "first_byte_timeout", CK_MS, 100, 24 * HOUR_MS,
     DEF_FIRST_BYTE_MS, NULL, OFF(sc_first_byte_ms), 0},
    {"limits", "body_timeout", CK_MS, 100, 24 * HOUR_MS,
     DEF_BODY_TIMEOUT_MS, NULL, OFF(sc_body_timeout_ms), 0},
    {"limits", "drain_timeout", CK_MS, 0, HOUR_MS, DEF_DRAIN_TIMEOUT_MS,
     NULL, OFF(sc_drain_timeout_ms), 0},

    {"log", "level", CK_LOGLEVEL, 0, 0, 0, "info", OFF(sc_log_level), 0},
    {"log", "file", CK_LOGDEST, 0, 0, 0, NULL, OFF(sc_log_file), 0},
    {"log", "access_log", CK_ACCESSDEST, 0, 0, 0, "-",
     OFF(sc_access_log), 0},
    {"log", "rotate_size", CK_SIZE64, 0, TIB, 0, NULL,
     OFF(sc_log_rotate_size), 0},
    {"log", "rotate_keep", CK_U32, 1, 99, 5, NULL, OFF(sc_log_rotate_keep),
     0},

    {"range", "mode", CK_RANGEMODE, 0, 0, 0, "cache",
     OFF(sc_range_mode), 0},
    {"range", "slice_max_discard", CK_SIZE64, 0, TIB, 64 * MIB, NULL,
     OFF(sc_slice_max_discard), 0},

    /* Default: plat_default_cache_dir(), set by config_defaults(). */
    {"cache", "dir", CK_PATH, 0, 0, 0, NULL, OFF(sc_cache_dir), 0},
    {"cache", "max_size", CK_SIZE64, 0, 1024 * TIB, 20 * GIB, NULL,
     OFF(sc_cache_max), 0},
    {"cache", "verify_sha1", CK_BOOL, 0, 1, 1, NULL,
     OFF(sc_verify_sha1), 0},
    {"cache", "unnamed_max_age", CK_MS, 0, 7 * 24 * HOUR_MS, HOUR_MS, NULL,
     OFF(sc_unnamed_max_age_ms), 0},

    {"status", "enabled", CK_BOOL, 0, 1, 1, NULL, OFF(sc_status_enabled), 0},
};
/* clang-format on */

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Parse state shared by the line reader and the key handler. */
struct load_state {
    struct shim_config *ls_cfg;
    const char *ls_file; /* the path as given, for messages */
    char *ls_dir;        /* the conf folder, NULL = the current one */
    FILE *ls_fp;
    int ls_line;     /* lines read so far = the line being handled */
    int ls_indented; /* that line starts with a blank */
    int ls_last;     /* row of the previous key line in this section, -1 */
    int ls_failed;
    int ls_err_line;
    char *ls_err;
    size_t ls_errlen;
    int ls_seen[NKEYS]; /* line where each key was set; 0 = default */
};




static char *
str_dup(const char *s)
{
    return str_dupn(s, strlen(s));
}

/* Overwrite and free a string that held a secret. */
static void
secret_free(char **sp)
{
    if (*sp != NULL) {
        volatile char *v = *sp;

        while (*v != '\0')
            *v++ = '\0';
        free(*sp);
    }
    *sp = NULL;
}

/* "1K", "64M", "20G", or plain bytes: the largest unit that divides v. */
static void
fmt_size(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    int u = -1;

    while (u < 3 && v != 0 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
}

/* "250ms", "30s", "5m", "1h": the largest unit that divides ms. */
static void
fmt_ms(uint64_t ms, char *buf, size_t len)
{
    if (ms != 0 && ms % HOUR_MS == 0)
        snprintf(buf, len, "%lluh", (unsigned long long)(ms / HOUR_MS));
    else if (ms != 0 && ms % MIN_MS == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(ms / MIN_MS));
    else if (ms % SEC_S == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / SEC_S));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/* Is p absolute? Both separators and a drive letter count, so that one
 * conf layout works on POSIX and Windows. */
static int
path_is_abs(const char *p)
{
    if (p[0] == '/' || p[0] == '\\')
        return 1;
    return ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) &&
           p[1] == ':';
}

/* The folder part of path (without the separator), or NULL when path has
 * none (the current folder) or on ENOMEM (*oom set). */
static char *
path_dir(const char *path, int *oom)
{
    const char *sep = NULL;

    *oom = 0;
    for (const char *p = path; *p != '\0'; p++) {
        if (*p == '/' || *p == '\\')
            sep = p;
    }
    if (sep == NULL)
        return NULL;
    char *d = str_dupn(path, (size_t)(sep - path));
    if (d == NULL)
        *oom = 1;
    return d;
}

/* malloc'ed p resolved against dir (NULL = as is). */
static char *
path_resolve(const char *dir, const char *p)
{
    size_t dn, pn;
    char *r;

    if (dir == NULL || path_is_abs(p))
        return str_dup(p);
    dn = strlen(dir);
    pn = strlen(p);
    r = malloc(dn + 1 + pn + 1);
    if (r == NULL)
        return NULL;
    memcpy(r, dir, dn);
    r[dn] = '/';
    memcpy(r + dn + 1, p, pn + 1);
    return r;
}

static void *
field(struct shim_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

static const void *
cfield(const struct shim_config *cfg, size_t off)
{
    return (const char *)cfg + off;
}

static void
proxies_free(struct upstream_addr **v, size_t *n)
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

/* Empty the list field(s) of row k. */
static void
list_clear(struct shim_config *cfg, const struct conf_key *k)
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
        proxies_free(field(cfg, k->k_off), field(cfg, k->k_off2));
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
    case CK_PROXIES: {
        struct upstream_addr **v = field(cfg, k->k_off), *nv;
        size_t *n = field(cfg, k->k_off2);

        if (proxy_parse(item, &ua) == -1) {
            if (errno == ENOMEM)
                goto oom;
            errfmt(m, mlen,
                "%s: '%s' is not host:port (like proxy.example:8080 or "
                "[2001:db8::1]:3128)",
                k->k_name, item);
            return -1;
        }
        nv = realloc(*v, (*n + 1) * sizeof(*nv));
        if (nv == NULL) {
            free(ua.ua_host);
            goto oom;
        }
        nv[(*n)++] = ua;
        *v = nv;
        return 0;
    }
    case CK_PORTS: {
        uint16_t **v = field(cfg, k->k_off), *nv;
        size_t *n = field(cfg, k->k_off2);

        if (parse_u64_max(item, 65535, &pv) == -1 || pv == 0) {
            errfmt(m, mlen, "%s: '%s' is not a port from 1 to 65535", k->k_name,
                item);
            return -1;
        }
        nv = realloc(*v, (*n + 1) * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        nv[(*n)++] = (uint16_t)pv;
        *v = nv;
        return 0;
    }
    default:
        break;
    }
    errfmt(m, mlen, "%s: not a list", k->k_name);
    return -1;
oom:
    errfmt(m, mlen, "%s: out of memory", k->k_name);
    return -1;
}

static int
is_list(enum ck_type t)
{
    return t == CK_CIDRS || t == CK_HOSTS || t == CK_NOPROXY ||
           t == CK_PROXIES || t == CK_PORTS;
}

/* Split a comma-separated value and add each trimmed item. Unless append,
 * the list is emptied first. An empty value is an empty list. One comma
 * may end the line (so "a,\n  b" continues naturally); any other empty
 * item (",a", "a,,b", ",") is an error. Returns 0 or -1 with a message. */
static int
list_set(struct shim_config *cfg, const struct conf_key *k, const char *val,
         int append, char *m, size_t mlen)
{
    char *copy, *p;
    size_t n;
    int ret = -1;

    if (!append)
        list_clear(cfg, k);
    if (*val == '\0')
        return 0;
    copy = str_dup(val);
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

/* Read the password from path into *out (malloc'ed). One line; a final
 * "\n" or "\r\n" is stripped. Returns 0 or -1 with a message (which never
 * contains the file's content). */
static int
secret_read(const char *path, char **out, const char *name, char *m,
            size_t mlen)
{
    char buf[SECRET_FILE_MAX + 1];
    char ebuf[128];
    size_t n;
    FILE *fp;
    int ret = -1;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        plat_strerror(errno, ebuf, sizeof(ebuf));
        errfmt(m, mlen, "%s: cannot read '%s': %s", name, path, ebuf);
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), fp);
    if (ferror(fp)) {
        plat_strerror(errno, ebuf, sizeof(ebuf));
        errfmt(m, mlen, "%s: cannot read '%s': %s", name, path, ebuf);
        goto done;
    }
    if (n > SECRET_FILE_MAX) {
        errfmt(m, mlen, "%s: '%s' is larger than %d bytes", name, path,
            SECRET_FILE_MAX);
        goto done;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n == 0) {
        errfmt(m, mlen, "%s: '%s' is empty", name, path);
        goto done;
    }
    if (memchr(buf, '\n', n) != NULL || memchr(buf, '\r', n) != NULL ||
        memchr(buf, '\0', n) != NULL) {
        errfmt(m, mlen, "%s: '%s' must hold the password on one line", name, path);
        goto done;
    }
    *out = str_dupn(buf, n);
    if (*out == NULL) {
        errfmt(m, mlen, "%s: out of memory", name);
        goto done;
    }
    ret = 0;
done:
    /* Wipe our copy of the secret. */
    for (volatile char *v = buf; v < buf + sizeof(buf); v++)
        *v = '\0';
    fclose(fp);
    return ret;
}

/* Set row k from val (already trimmed by inih). dir resolves relative
 * paths (NULL = as is). append adds to a list (continuation line).
 * Returns 0, or -1 with "name: reason" in m. */
static int
key_set(struct shim_config *cfg, const char *dir, const struct conf_key *k,
        const char *val, int append, char *m, size_t mlen)
{
    char a[32], b[32];
    uint64_t v;
    uint32_t ms;
    int iv;
    char **sp;

    if (is_list(k->k_type))
        return list_set(cfg, k, val, append, m, mlen);
    if (append) {
        errfmt(m, mlen,
            "%s: only lists may continue on an indented line (is this line "
            "indented by mistake?)",
            k->k_name);
        return -1;
    }

    switch (k->k_type) {
    case CK_U16:
    case CK_U32:
        if (parse_u64_max(val, k->k_max, &v) == -1 || v < k->k_min) {
            errfmt(m, mlen, "%s: '%s' is not a number from %llu to %llu",
                k->k_name, val, (unsigned long long)k->k_min,
                (unsigned long long)k->k_max);
            return -1;
        }
        if (k->k_type == CK_U16)
            *(uint16_t *)field(cfg, k->k_off) = (uint16_t)v;
        else
            *(uint32_t *)field(cfg, k->k_off) = (uint32_t)v;
        return 0;
    case CK_SIZE32:
    case CK_SIZE64:
        if (parse_size(val, &v) == -1 || v < k->k_min || v > k->k_max) {
            fmt_size(k->k_min, a, sizeof(a));
            fmt_size(k->k_max, b, sizeof(b));
            errfmt(m, mlen,
                "%s: '%s' is not a size from %s to %s (bytes, or with a K, "
                "M, G or T suffix)",
                k->k_name, val, a, b);
            return -1;
        }
        if (k->k_type == CK_SIZE32)
            *(uint32_t *)field(cfg, k->k_off) = (uint32_t)v;
        else
            *(uint64_t *)field(cfg, k->k_off) = v;
        return 0;
    case CK_MS:
        if (parse_duration_ms(val, &ms) == -1 || ms < k->k_min ||
            ms > k->k_max) {
            fmt_ms(k->k_min, a, sizeof(a));
            fmt_ms(k->k_max, b, sizeof(b));
            errfmt(m, mlen,
                "%s: '%s' is not a duration from %s to %s (like 250ms, 30s, "
                "5m, 1h)",
                k->k_name, val, a, b);
            return -1;
        }
        *(uint32_t *)field(cfg, k->k_off) = ms;
        return 0;
    case CK_BOOL:
        if (parse_bool(val, &iv) == -1) {
            errfmt(m, mlen, "%s: '%s' is not yes or no", k->k_name, val);
            return -1;
        }
        *(int *)field(cfg, k->k_off) = iv;
        return 0;
    case CK_LOGLEVEL: {
        enum log_level lvl;

        if (log_level_parse(val, &lvl) == -1) {
            errfmt(m, mlen, "%s: '%s' is not one of error, warn, info, debug",
                k->k_name, val);
            return -1;
        }
        *(int *)field(cfg, k->k_off) = (int)lvl;
        return 0;
    }
    case CK_RANGEMODE: {
        enum range_mode rm;

        if (str_ieq(val, "cache"))
            rm = RANGE_MODE_CACHE;
        else if (str_ieq(val, "slice"))
            rm = RANGE_MODE_SLICE;
        else if (str_ieq(val, "pass"))
            rm = RANGE_MODE_PASS;
        else {
            errfmt(m, mlen, "%s: '%s' is not one of cache, slice, pass", k->k_name,
                val);
            return -1;
        }
        *(enum range_mode *)field(cfg, k->k_off) = rm;
        return 0;
    }
    case CK_AUTH:
        for (iv = 0; iv < (int)NAUTH_NAMES; iv++)
            if (str_ieq(val, auth_want_names[iv]))
                break;
        if (iv == (int)NAUTH_NAMES) {
            errfmt(m, mlen,
                "%s: '%s' is not one of auto, none, basic, ntlm, negotiate",
                k->k_name, val);
            return -1;
        }
        *(int *)field(cfg, k->k_off) = iv;
        return 0;
    case CK_HTTPVER:
        if (strcmp(val, "1.0") == 0)
            iv = 0;
        else if (strcmp(val, "1.1") == 0)
            iv = 1;
        else {
            errfmt(m, mlen, "%s: '%s' is not 1.0 or 1.1", k->k_name, val);
            return -1;
        }
        *(int *)field(cfg, k->k_off) = iv;
        return 0;
    default:
        break;
    }

    /* The string types. */
    sp = field(cfg, k->k_off);
    if (k->k_type == CK_SECRET || k->k_type == CK_NTHASH)
        secret_free(sp);
    else {
        free(*sp);
        *sp = NULL;
    }
    switch (k->k_type) {
    case CK_ADDR:
    case CK_STR:
    case CK_SECRET:
        if (*val == '\0')
            return 0;
        *sp = str_dup(val);
        break;
    case CK_NTHASH:
        if (*val == '\0')
            return 0;
        if (strlen(val) != 32 || strspn(val, "0123456789abcdefABCDEF") != 32) {
            /* The value is a secret: not echoed. */
            errfmt(m, mlen,
                "%s: not an NT hash (32 hex digits, as wsus-shim "
                "hash-password prints it)",
                k->k_name);
            return -1;
        }
        *sp = str_dup(val);
        break;
    case CK_PATH:
    case CK_OPTPATH:
        if (*val == '\0') {
            if (k->k_type == CK_OPTPATH)
                return 0;
            errfmt(m, mlen, "%s: must not be empty", k->k_name);
            return -1;
        }
        *sp = path_resolve(dir, val);
        break;
    case CK_LOGDEST:
        if (*val == '\0' || str_ieq(val, "stderr"))
            return 0;
        *sp = str_ieq(val, "syslog") ? str_dup("syslog") : path_resolve(dir, val);
        break;
    case CK_ACCESSDEST:
        if (*val == '\0' || str_ieq(val, "off"))
            return 0;
        if (strcmp(val, "-") == 0 || str_ieq(val, "stdout"))
            *sp = str_dup("-");
        else
            *sp = path_resolve(dir, val);
        break;
    case CK_SECRETFILE: {
        char **pw = field(cfg, k->k_off2);

        if (*val == '\0')
            return 0;
        secret_free(pw);
        *sp = path_resolve(dir, val);
        if (*sp == NULL)
            break;
        if (secret_read(*sp, pw, k->k_name, m, mlen) == -1) {
            free(*sp);
            *sp = NULL;
            return -1;
        }
        return 0;
    }
    default:
        errfmt(m, mlen, "%s: internal error: bad key type", k->k_name);
        return -1;
    }
    if (*sp == NULL) {
        errfmt(m, mlen, "%s: out of memory", k->k_name);
        return -1;
    }
    return 0;
}

/* Row of section/name (case-insensitive), or -1. */
static int
key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (str_ieq(conf_keys[i].k_section, section) &&
            str_ieq(conf_keys[i].k_name, name))
            return (int)i;
    }
    return -1;
}

static int
section_known(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(conf_sections) / sizeof(*conf_sections);
         i++) {
        const char *c = conf_sections[i];
        size_t j;

        if (strlen(c) != n)
            continue;
        for (j = 0; j < n; j++) {
            if (str_lc((unsigned char)s[j]) != c[j])
                break;
        }
        if (j == n)
            return 1;
    }
    return 0;
}

/* Record the first error as "FILE:LINE: reason" (line 0: "FILE: reason")
 * and stop the parse. */
static void st_fail(struct load_state *st, int line, const char *fmt, ...)
    LOG_PRINTF(3, 4);

static void
st_fail(struct load_state *st, int line, const char *fmt, ...)
{
    char m[MSG_MAX];
    va_list ap;

    if (st->ls_failed)
        return;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(st->ls_err, st->ls_errlen, "%s:%d: %s", st->ls_file, line, m);
    else
        snprintf(st->ls_err, st->ls_errlen, "%s: %s", st->ls_file, m);
    st->ls_failed = 1;
    st->ls_err_line = line;
}

/* inih's reader: one physical line per call, so our count matches inih's.
 * Refuses what inih would get wrong: a line longer than its buffer (inih
 * would split it into two lines) and NUL bytes. Notes section headers
 * (unknown ones are errors here, because inih does not report headers to
 * the handler). Returns NULL at EOF or after an error. */
static char *
conf_reader(char *buf, int num, void *arg)
{
    struct load_state *st = arg;
    size_t n = 0, cap, len;
    int ch, nul = 0;
    char *p;

    if (st->ls_failed || num < 4)
        return NULL;
    cap = (size_t)num - 1;
    while ((ch = fgetc(st->ls_fp)) != EOF) {
        if (n < cap)
            buf[n] = (char)ch;
        n++;
        if (ch == '\0')
            nul = 1;
        if (ch == '\n')
            break;
    }
    if (n == 0) {
        if (ferror(st->ls_fp)) {
            char ebuf[128];

            plat_strerror(errno, ebuf, sizeof(ebuf));
            st_fail(st, st->ls_line + 1, "read error: %s", ebuf);
        }
        return NULL;
    }
    st->ls_line++;
    len = n;
    if (n <= cap) {
        buf[n] = '\0';
        if (len > 0 && buf[len - 1] == '\n')
            len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    /* inih needs room for "\r\n" and the NUL. */
    if (n > cap || len > (size_t)num - 3) {
        st_fail(st, st->ls_line,
                "line is longer than %d characters (a list may continue on "
                "indented lines)",
                num - 3);
        return NULL;
    }
    if (nul) {
        st_fail(st, st->ls_line, "NUL byte in the line");
        return NULL;
    }

    st->ls_indented = buf[0] == ' ' || buf[0] == '\t';
    p = buf;
    if (st->ls_line == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (*p == ' ' || *p == '\t')
        p++;
    /* inih reads an indented line after a key as that key's continuation;
     * otherwise a '[' line is a section header. */
    if (*p == '[' && (!st->ls_indented || st->ls_last < 0)) {
        const char *close = strchr(p, ']');

        st->ls_last = -1;
        if (close != NULL && !section_known(p + 1, (size_t)(close - p - 1))) {
            st_fail(st, st->ls_line, "unknown section [%.*s]",
                    (int)(close - p - 1), p + 1);
            return NULL;
        }
    }
    return buf;
}

static int
conf_handler(void *arg, const char *section, const char *name,
             const char *value)
{
    struct load_state *st = arg;
    const struct conf_key *k;
    char m[MSG_MAX];
    int ki, cont, other;

    if (st->ls_failed)
        return 0;
    if (*section == '\0') {
        st_fail(st, st->ls_line, "key '%s' is outside any [section]", name);
        return 0;
    }
    ki = key_find(section, name);
    if (ki == -1) {
        if (!section_known(section, strlen(section)))
            st_fail(st, st->ls_line, "unknown section [%s]", section);
        else
            st_fail(st, st->ls_line, "unknown key '%s' in [%s]", name, section);
        return 0;
    }
    k = &conf_keys[ki];
    cont = st->ls_indented && ki == st->ls_last;
    if (!cont && st->ls_seen[ki] != 0) {
        st_fail(st, st->ls_line,
                "duplicate key '%s' in [%s] (first set on line %d)", k->k_name,
                k->k_section, st->ls_seen[ki]);
        return 0;
    }
    if (!cont && (k->k_type == CK_SECRET || k->k_type == CK_SECRETFILE)) {
        /* An empty value is the same as leaving the key out (there is no
         * default to reset), so it cannot conflict with the other key. */
        if (*value == '\0') {
            st->ls_seen[ki] = st->ls_line;
            st->ls_last = ki;
            return 1;
        }
        other = key_find("upstream",
                         k->k_type == CK_SECRET ? "password_file" : "password");
        if (st->ls_cfg->sc_up_password != NULL) {
            st_fail(st, st->ls_line,
                    "%s: %s is already set on line %d; use only one of them",
                    k->k_name, conf_keys[other].k_name, st->ls_seen[other]);
            return 0;
        }
    }
    if (key_set(st->ls_cfg, st->ls_dir, k, value, cont, m, sizeof(m)) == -1) {
        st_fail(st, st->ls_line, "%s", m);
        return 0;
    }
    if (!cont)
        st->ls_seen[ki] = st->ls_line;
    st->ls_last = ki;
    return 1;
}

/* The line where section/name was set, 0 for a default. */
static int
key_line(const struct load_state *st, const char *section, const char *name)
{
    int ki = key_find(section, name);

    return ki >= 0 ? st->ls_seen[ki] : 0;
}

/* The rules of [upstream] credentials and auth. Returns 0 or -1. */
static int
config_validate_auth(const struct shim_config *c, struct load_state *st)
{
    int pw_line = key_line(st, "upstream", "password");
    int auth_line = key_line(st, "upstream", "auth");
    int have_secret = c->sc_up_password != NULL ||
                      c->sc_up_password_hash != NULL;

    if (pw_line == 0)
        pw_line = key_line(st, "upstream", "password_file");
    if (c->sc_up_password != NULL && c->sc_up_password_hash != NULL) {
        st_fail(st, key_line(st, "upstream", "password_hash"),
                "password_hash: password is already set on line %d; use "
                "only one of them",
                pw_line);
        return -1;
    }
    if (c->sc_up_user == NULL && have_secret) {
        st_fail(st, pw_line != 0 ? pw_line
                                 : key_line(st, "upstream", "password_hash"),
                "password: set without user");
        return -1;
    }
    /* Negotiate may use the ticket cache or a keytab: no secret needed. */
    if (c->sc_up_user != NULL && !have_secret &&
        c->sc_up_auth != AUTH_WANT_NEGOTIATE) {
        st_fail(st, key_line(st, "upstream", "user"),
                "user: set without password, password_file or "
                "password_hash");
        return -1;
    }
    if ((c->sc_up_auth == AUTH_WANT_BASIC ||
         c->sc_up_auth == AUTH_WANT_NTLM) &&
        c->sc_up_user == NULL) {
        st_fail(st, auth_line, "auth: %s needs user and a password",
                auth_want_names[c->sc_up_auth]);
        return -1;
    }
    if (c->sc_up_auth == AUTH_WANT_BASIC && c->sc_up_password == NULL) {
        st_fail(st, auth_line,
                "auth: basic sends the password itself: set password or "
                "password_file, not password_hash");
        return -1;
    }
    if ((c->sc_up_keytab == NULL) != (c->sc_up_principal == NULL)) {
        st_fail(st, key_line(st, "upstream",
                             c->sc_up_keytab ? "keytab" : "principal"),
                "%s: keytab and principal go together",
                c->sc_up_keytab ? "keytab" : "principal");
        return -1;
    }
    return 0;
}

/* Whole-config rules. Returns 0 or -1 with the message in st. */
static int
config_validate(const struct shim_config *c, struct load_state *st)
{
    if (c->sc_listen_addr == NULL ||
        ip_literal_family(c->sc_listen_addr) == 0) {
        st_fail(st, key_line(st, "listen", "address"),
                "address: '%s' is not an IP address (like 127.0.0.1 or ::1)",
                c->sc_listen_addr != NULL ? c->sc_listen_addr : "");
        return -1;
    }
    if (c->sc_allow.cl_n == 0) {
        st_fail(st, key_line(st, "listen", "allow"),
                "allow: the list is empty, so no client could connect");
        return -1;
    }
    if (c->sc_allow_hosts.pl_n == 0) {
        st_fail(st, key_line(st, "policy", "allow_hosts"),
                "allow_hosts: the list is empty, so every request would be "
                "refused");
        return -1;
    }
    if (c->sc_up_user != NULL && strchr(c->sc_up_user, ':') != NULL) {
        st_fail(st, key_line(st, "upstream", "user"),
                "user: must not contain ':' (Basic authentication)");
        return -1;
    }
    if (config_validate_auth(c, st) == -1)
        return -1;
    if (c->sc_up_user != NULL && c->sc_pass_client_auth) {
        st_fail(st, key_line(st, "upstream", "pass_client_auth"),
                "pass_client_auth: cannot forward the client's "
                "Proxy-Authorization when user is set");
        return -1;
    }
    if (c->sc_body_memory > c->sc_max_body) {
        int line = key_line(st, "limits", "body_memory");

        if (line == 0)
            line = key_line(st, "limits", "max_body");
        st_fail(st, line, "body_memory: must not exceed max_body");
        return -1;
    }
    if (c->sc_log_rotate_size > 0 && c->sc_log_rotate_size < LOG_ROTATE_MIN) {
        st_fail(st, key_line(st, "log", "rotate_size"),
                "rotate_size: at least 16K, or 0 for never");
        return -1;
    }
    if (c->sc_range_mode == RANGE_MODE_CACHE && c->sc_cache_max == 0) {
        int line = key_line(st, "cache", "max_size");

        if (line == 0)
            line = key_line(st, "range", "mode");
        st_fail(st, line,
                "max_size: range mode 'cache' needs a cache "
                "larger than 0");
        return -1;
    }
    return 0;
}

void
config_free(struct shim_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (is_list(k->k_type))
            list_clear(cfg, k);
        else if (k->k_type == CK_SECRET || k->k_type == CK_NTHASH)
            secret_free(field(cfg, k->k_off));
        else if (k->k_type == CK_ADDR || k->k_type == CK_STR ||
                 k->k_type == CK_PATH || k->k_type == CK_OPTPATH ||
                 k->k_type == CK_LOGDEST ||
                 k->k_type == CK_ACCESSDEST || k->k_type == CK_SECRETFILE) {
            char **sp = field(cfg, k->k_off);

            free(*sp);
            *sp = NULL;
        }
    }
    free(cfg->sc_path);
    memset(cfg, 0, sizeof(*cfg));
}

int
config_defaults(struct shim_config *cfg)
{
    char m[MSG_MAX];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        switch (k->k_type) {
        case CK_U16:
            *(uint16_t *)field(cfg, k->k_off) = (uint16_t)k->k_def;
            break;
        case CK_U32:
        case CK_SIZE32:
        case CK_MS:
            *(uint32_t *)field(cfg, k->k_off) = (uint32_t)k->k_def;
            break;
        case CK_SIZE64:
            *(uint64_t *)field(cfg, k->k_off) = k->k_def;
            break;
        case CK_BOOL:
            *(int *)field(cfg, k->k_off) = (int)k->k_def;
            break;
        default:
            if (k->k_sdef != NULL &&
                key_set(cfg, NULL, k, k->k_sdef, 0, m, sizeof(m)) == -1) {
                config_free(cfg);
                errno = ENOMEM;
                return -1;
            }
            break;
        }
    }
    /* The platform's folders, through the same parser. */
    cfg->sc_cache_dir = strdup(plat_default_cache_dir());
    if (cfg->sc_cache_dir == NULL) {
        config_free(cfg);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int
config_load(const char *path, struct shim_config *cfg, char *err, size_t errlen)
{
    struct shim_config c;
    struct load_state st;
    char ebuf[128];
    int rc, oom, ret = -1;

    memset(cfg, 0, sizeof(*cfg));
    memset(&st, 0, sizeof(st));
    st.ls_file = path;
    st.ls_err = err;
    st.ls_errlen = errlen;
    st.ls_last = -1;
    st.ls_cfg = &c;
    if (errlen > 0)
        err[0] = '\0';
    if (config_defaults(&c) == -1) {
        st_fail(&st, 0, "out of memory");
        return -1;
    }
    c.sc_path = str_dup(path);
    st.ls_dir = path_dir(path, &oom);
    if (c.sc_path == NULL || oom) {
        st_fail(&st, 0, "out of memory");
        goto done;
    }
    /* A folder opens on POSIX and fails only at the first read, while
     * Windows refuses to open it ("Permission denied"): say what it is. */
    if (plat_is_dir(path)) {
        st_fail(&st, 0, "is a folder, not a file");
        goto done;
    }
    st.ls_fp = fopen(path, "rb");
    if (st.ls_fp == NULL) {
        plat_strerror(errno, ebuf, sizeof(ebuf));
        st_fail(&st, 0, "cannot open: %s", ebuf);
        goto done;
    }
    rc = ini_parse_stream(conf_reader, &st, conf_handler, &st);
    /* inih goes on after a syntax error; report whichever came first. */
    if (rc > 0 && (!st.ls_failed || rc < st.ls_err_line)) {
        st.ls_failed = 0;
        st_fail(&st, rc, "expected 'key = value' or '[section]'");
    } else if (rc < 0 && !st.ls_failed) {
        st_fail(&st, 0, "cannot parse (inih error %d)", rc);
    }
    if (st.ls_failed)
        goto done;
    if (config_validate(&c, &st) == -1)
        goto done;
    *cfg = c;
    ret = 0;
done:
    if (st.ls_fp != NULL)
        fclose(st.ls_fp);
    free(st.ls_dir);
    if (ret == -1)
        config_free(&c);
    return ret;
}

size_t
config_warnings(const struct shim_config *cfg, const char **out, size_t max)
{
    struct cidr loopback[] = {
        {4, 8, {127}},
        {6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    };
    const struct cidr_list lo = {loopback, 2};
    size_t n = 0;

#define WARN(s)                                                                \
    do {                                                                       \
        if (n < max)                                                           \
            out[n] = (s);                                                      \
        n++;                                                                   \
    } while (0)

    if (cfg->sc_listen_addr != NULL &&
        !cidr_list_match_str(&lo, cfg->sc_listen_addr))
        WARN("listen.address is not a loopback address: the shim is "
             "reachable from the network (listen.allow still applies)");
    for (size_t i = 0; i < cfg->sc_allow.cl_n; i++) {
        if (cfg->sc_allow.cl_v[i].c_bits == 0) {
            WARN("listen.allow admits every client address");
            break;
        }
    }
    for (size_t i = 0; i < cfg->sc_allow_hosts.pl_n; i++) {
        if (strcmp(cfg->sc_allow_hosts.pl_v[i], "*") == 0) {
            WARN("policy.allow_hosts contains '*': this is an open proxy "
                 "for every client in listen.allow");
            break;
        }
    }
    if (cfg->sc_up_user != NULL && cfg->sc_nproxies == 0)
        WARN("upstream.user is set but upstream.proxy is empty: the "
             "credentials are never used");
#undef WARN
    return n;
}

/* Print the value of row k in conf syntax. */
static void
key_print(const struct shim_config *cfg, const struct conf_key *k, FILE *out)
{
    char buf[CIDR_TEXT_MAX + 8];
    const char *sep = "";

    fprintf(out, "%s =", k->k_name);
    switch (k->k_type) {
    case CK_U16:
        fprintf(out, " %u", (unsigned)*(const uint16_t *)cfield(cfg, k->k_off));
        break;
    case CK_U32:
        fprintf(out, " %lu",
                (unsigned long)*(const uint32_t *)cfield(cfg, k->k_off));
        break;
    case CK_SIZE32:
    case CK_SIZE64:
        fmt_size(k->k_type == CK_SIZE32
                     ? *(const uint32_t *)cfield(cfg, k->k_off)
                     : *(const uint64_t *)cfield(cfg, k->k_off),
                 buf, sizeof(buf));
        fprintf(out, " %s", buf);
        break;
    case CK_MS:
        fmt_ms(*(const uint32_t *)cfield(cfg, k->k_off), buf, sizeof(buf));
        fprintf(out, " %s", buf);
        break;
    case CK_BOOL:
        fprintf(out, " %s", *(const int *)cfield(cfg, k->k_off) ? "yes" : "no");
        break;
    case CK_LOGLEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        int lv = *(const int *)cfield(cfg, k->k_off);

        fprintf(out, " %s", lv >= 0 && lv <= 3 ? names[lv] : "?");
        break;
    }
    case CK_RANGEMODE: {
        enum range_mode rm = *(const enum range_mode *)cfield(cfg, k->k_off);

        fprintf(out, " %s",
                rm == RANGE_MODE_SLICE  ? "slice"
                : rm == RANGE_MODE_PASS ? "pass"
                                        : "cache");
        break;
    }
    case CK_HTTPVER:
        fprintf(out, " 1.%d", *(const int *)cfield(cfg, k->k_off));
        break;
    case CK_AUTH: {
        int a = *(const int *)cfield(cfg, k->k_off);

        fprintf(out, " %s",
                a >= 0 && a < (int)NAUTH_NAMES ? auth_want_names[a] : "?");
        break;
    }
    case CK_NTHASH:
        if (*(char *const *)cfield(cfg, k->k_off) != NULL)
            fprintf(out, " (set)");
        break;
    case CK_SECRET:
        /* Never the password itself; nothing when it came from a file. */
        if (*(char *const *)cfield(cfg, k->k_off) != NULL &&
            cfg->sc_up_password_file == NULL)
            fprintf(out, " (set)");
        break;
    case CK_ADDR:
    case CK_STR:
    case CK_PATH:
    case CK_OPTPATH:
    case CK_SECRETFILE: {
        const char *s = *(char *const *)cfield(cfg, k->k_off);

        if (s != NULL)
            fprintf(out, " %s", s);
        break;
    }
    case CK_LOGDEST: {
        const char *s = *(char *const *)cfield(cfg, k->k_off);

        fprintf(out, " %s", s != NULL ? s : "stderr");
        break;
    }
    case CK_ACCESSDEST: {
        const char *s = *(char *const *)cfield(cfg, k->k_off);

        fprintf(out, " %s", s != NULL ? s : "off");
        break;
    }
    case CK_CIDRS:
    case CK_NOPROXY: {
        const struct cidr_list *cl =
            cfield(cfg, k->k_type == CK_CIDRS ? k->k_off : k->k_off2);

        if (k->k_type == CK_NOPROXY) {
            const struct pattern_list *pl = cfield(cfg, k->k_off);

            for (size_t i = 0; i < pl->pl_n; i++, sep = ",")
                fprintf(out, "%s %s", sep, pl->pl_v[i]);
        }
        for (size_t i = 0; i < cl->cl_n; i++, sep = ",") {
            if (cidr_format(&cl->cl_v[i], buf, sizeof(buf)) == 0)
                fprintf(out, "%s %s", sep, buf);
        }
        break;
    }
    case CK_HOSTS: {
        const struct pattern_list *pl = cfield(cfg, k->k_off);

        /* One item per line: the default list exceeds the line limit. */
        for (size_t i = 0; i < pl->pl_n; i++)
            fprintf(out, "%s%s", i == 0 ? " " : ",\n    ", pl->pl_v[i]);
        break;
    }
    case CK_PROXIES: {
        const struct upstream_addr *v =
            *(struct upstream_addr *const *)cfield(cfg, k->k_off);
        size_t n = *(const size_t *)cfield(cfg, k->k_off2);

        for (size_t i = 0; i < n; i++, sep = ",") {
            int v6 = strchr(v[i].ua_host, ':') != NULL;

            fprintf(out, "%s %s%s%s:%u", sep, v6 ? "[" : "", v[i].ua_host,
                    v6 ? "]" : "", (unsigned)v[i].ua_port);
        }
        break;
    }
    case CK_PORTS: {
        const uint16_t *v = *(uint16_t *const *)cfield(cfg, k->k_off);
        size_t n = *(const size_t *)cfield(cfg, k->k_off2);

        for (size_t i = 0; i < n; i++, sep = ",")
            fprintf(out, "%s %u", sep, (unsigned)v[i]);
        break;
    }
    }
    fputc('\n', out);
}

void
config_print(const struct shim_config *cfg, FILE *out)
{
    const char *warn[CONFIG_WARN_MAX];
    size_t nw = config_warnings(cfg, warn, CONFIG_WARN_MAX);
    const char *section = NULL;

    fprintf(out, "; wsus-shim configuration from %s\n",
            cfg->sc_path != NULL ? cfg->sc_path : "(built-in defaults)");
    if (cfg->sc_nproxies == 0)
        fprintf(out, "; upstream: direct (no proxy)\n");
    for (size_t i = 0; i < nw && i < CONFIG_WARN_MAX; i++)
        fprintf(out, "; warning: %s\n", warn[i]);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (section == NULL || strcmp(section, k->k_section) != 0) {
            section = k->k_section;
            fprintf(out, "\n[%s]\n", section);
        }
        key_print(cfg, k, out);
    }
}

const char *
config_auth_name(int want)
{
    return want >= 0 && want < (int)NAUTH_NAMES ? auth_want_names[want] : "?";
}
