/*
 * config.c - the conf file (INI, parsed by inih) into struct shim_config.
 *
 * Every key is one row of conf_keys[]: section, name, type, range, default
 * and the field it fills; config_value.c turns one value into its field.
 * config_defaults() applies each row's default
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
#include "config_int.h"
#include "strutil.h"
#include "shim_limits.h"
#include "strparse.h"
#include "log.h"
#include "plat.h"

#if INI_MAX_LINE - 3 != CONF_LINE_MAX
#error "CONF_LINE_MAX (config_int.h) must follow inih's INI_MAX_LINE"
#endif

/* Room for one formatted message without the FILE:LINE prefix. */
#define MSG_MAX 512

static const char *const conf_sections[] = {
    "listen", "upstream", "policy", "limits", "log", "range", "cache", "status",
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
const struct conf_key conf_keys[] = {
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
    {"cache", "min_free", CK_SIZEPCT, 0, 0, 0, "5%",
     OFF(sc_cache_min_free), OFF(sc_cache_min_free_pct)},
    {"cache", "retry_interval", CK_MS, SEC_S, 24 * HOUR_MS, MIN_MS, NULL,
     OFF(sc_cache_retry_ms), 0},

    {"status", "enabled", CK_BOOL, 0, 1, 1, NULL, OFF(sc_status_enabled), 0},
};
/* clang-format on */

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
const size_t conf_nkeys = NKEYS;

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
        if (buf[len - 1] == '\n') /* n > 0 here */
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
    int ki, cont;

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
        int other = key_find(
            "upstream", k->k_type == CK_SECRET ? "password_file" : "password");
        if (st->ls_cfg->sc_up_password != NULL) {
            st_fail(st, st->ls_line,
                    "%s: %s is already set on line %d; use only one of them",
                    k->k_name, conf_keys[other].k_name, st->ls_seen[other]);
            return 0;
        }
    }
    if (config_key_set(st->ls_cfg, st->ls_dir, k, value, cont, m, sizeof(m)) ==
        -1) {
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
    int have_secret =
        c->sc_up_password != NULL || c->sc_up_password_hash != NULL;

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
        st_fail(st,
                pw_line != 0 ? pw_line
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
    if (c->sc_up_auth == AUTH_WANT_BASIC && c->sc_up_user == NULL) {
        st_fail(st, auth_line, "auth: basic needs user and a password");
        return -1;
    }
    /* Where the platform has one (Windows), NTLM without a user is the
     * service's own logon. */
    struct auth_cred none = {NULL, NULL, NULL, NULL, NULL, NULL};
    if (c->sc_up_auth == AUTH_WANT_NTLM && c->sc_up_user == NULL &&
        !(auth_usable(&none) & AUTH_BIT(AUTH_NTLM))) {
        st_fail(st, auth_line,
                "auth: ntlm needs user and a password or password_hash "
                "(only on Windows is no user the service's own logon)");
        return -1;
    }
    if (c->sc_up_auth == AUTH_WANT_BASIC && c->sc_up_password == NULL) {
        st_fail(st, auth_line,
                "auth: basic sends the password itself: set password or "
                "password_file, not password_hash");
        return -1;
    }
    if ((c->sc_up_keytab == NULL) != (c->sc_up_principal == NULL)) {
        st_fail(
            st,
            key_line(st, "upstream", c->sc_up_keytab ? "keytab" : "principal"),
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

        if (config_list_is(k->k_type))
            config_list_clear(cfg, k);
        else if (k->k_type == CK_SECRET || k->k_type == CK_NTHASH)
            config_secret_free(config_field(cfg, k->k_off));
        else if (k->k_type == CK_ADDR || k->k_type == CK_STR ||
                 k->k_type == CK_PATH || k->k_type == CK_OPTPATH ||
                 k->k_type == CK_LOGDEST || k->k_type == CK_ACCESSDEST ||
                 k->k_type == CK_SECRETFILE) {
            char **sp = config_field(cfg, k->k_off);

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
            *(uint16_t *)config_field(cfg, k->k_off) = (uint16_t)k->k_def;
            break;
        case CK_U32:
        case CK_SIZE32:
        case CK_MS:
            *(uint32_t *)config_field(cfg, k->k_off) = (uint32_t)k->k_def;
            break;
        case CK_SIZE64:
            *(uint64_t *)config_field(cfg, k->k_off) = k->k_def;
            break;
        case CK_BOOL:
            *(int *)config_field(cfg, k->k_off) = (int)k->k_def;
            break;
        default:
            if (k->k_sdef != NULL && config_key_set(cfg, NULL, k, k->k_sdef, 0,
                                                    m, sizeof(m)) == -1) {
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
    c.sc_path = str_dupn(path, strlen(path));
    st.ls_dir = config_path_dir(path, &oom);
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
    c.sc_slice_max_discard_set =
        key_line(&st, "range", "slice_max_discard") != 0;
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
