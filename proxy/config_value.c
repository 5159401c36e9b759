/*
 * config_value.c - one conf value into its field of struct shim_config:
 * numbers, sizes and durations within the row's bounds, the words of a
 * fixed set, paths resolved against the conf folder, the password read
 * from password_file, and (through config_list.c) lists. Pure: no
 * globals, no log; every error is "name: reason" in the caller's buffer,
 * and never holds a secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "plat.h"
#include "shim_limits.h"
#include "strparse.h"
#include "strutil.h"

/* Largest password_file we read; a password is one short line. */
#define SECRET_FILE_MAX 1024

/* [upstream] auth, indexed by enum auth_want. */
static const char *const auth_want_names[] = {
    "auto", "none", "basic", "ntlm", "negotiate",
};
#define NAUTH_NAMES (sizeof(auth_want_names) / sizeof(auth_want_names[0]))

static char *
str_dup(const char *s)
{
    return str_dupn(s, strlen(s));
}

/* Overwrite and free a string that held a secret. */
void
config_secret_free(char **sp)
{
    if (*sp != NULL) {
        volatile char *v = *sp;

        while (*v != '\0')
            *v++ = '\0';
        free(*sp);
    }
    *sp = NULL;
}

int
config_path_is_abs(const char *p)
{
    if (p[0] == '/' || p[0] == '\\')
        return 1;
    return ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) &&
           p[1] == ':';
}

/* The folder part of path (without the separator), or NULL when path has
 * none (the current folder) or on ENOMEM (*oom set). */
char *
config_path_dir(const char *path, int *oom)
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

    if (dir == NULL || config_path_is_abs(p))
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

void *
config_field(struct shim_config *cfg, size_t off)
{
    return (char *)cfg + off;
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
        errfmt(m, mlen, "%s: '%s' must hold the password on one line", name,
               path);
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

/* Set a CK_SIZEPCT row: "N%" (0 to 50) or a size. Returns 0, or -1 with
 * "name: reason" in m. */
static int
key_set_sizepct(struct shim_config *cfg, const struct conf_key *k,
                const char *val, char *m, size_t mlen)
{
    size_t n = strlen(val);
    uint64_t v;

    if (n > 1 && val[n - 1] == '%') {
        char num[16];
        if (n - 1 >= sizeof(num))
            goto bad;
        memcpy(num, val, n - 1);
        num[n - 1] = '\0';
        if (parse_u64_max(num, 50, &v) == -1)
            goto bad;
        *(uint64_t *)config_field(cfg, k->k_off) = 0;
        *(uint32_t *)config_field(cfg, k->k_off2) = (uint32_t)v;
        return 0;
    }
    if (parse_size(val, &v) == -1 || v > 1024 * TIB)
        goto bad;
    *(uint64_t *)config_field(cfg, k->k_off) = v;
    *(uint32_t *)config_field(cfg, k->k_off2) = 0;
    return 0;
bad:
    errfmt(m, mlen,
           "%s: '%s' is neither a percentage of the volume from 0%% to 50%% "
           "nor a size (bytes, or with a K, M, G or T suffix)",
           k->k_name, val);
    return -1;
}

/* Set a numeric or yes/no row (CK_U16 ... CK_BOOL) from val. Returns 0,
 * or -1 with "name: reason" in m. */
static int
key_set_number(struct shim_config *cfg, const struct conf_key *k,
               const char *val, char *m, size_t mlen)
{
    char a[32], b[32];
    uint64_t v;
    uint32_t ms;
    int iv;

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
            *(uint16_t *)config_field(cfg, k->k_off) = (uint16_t)v;
        else
            *(uint32_t *)config_field(cfg, k->k_off) = (uint32_t)v;
        return 0;
    case CK_SIZE32:
    case CK_SIZE64:
        if (parse_size(val, &v) == -1 || v < k->k_min || v > k->k_max) {
            config_fmt_size(k->k_min, a, sizeof(a));
            config_fmt_size(k->k_max, b, sizeof(b));
            errfmt(m, mlen,
                   "%s: '%s' is not a size from %s to %s (bytes, or with a K, "
                   "M, G or T suffix)",
                   k->k_name, val, a, b);
            return -1;
        }
        if (k->k_type == CK_SIZE32)
            *(uint32_t *)config_field(cfg, k->k_off) = (uint32_t)v;
        else
            *(uint64_t *)config_field(cfg, k->k_off) = v;
        return 0;
    case CK_MS:
        if (parse_duration_ms(val, &ms) == -1 || ms < k->k_min ||
            ms > k->k_max) {
            config_fmt_ms(k->k_min, a, sizeof(a));
            config_fmt_ms(k->k_max, b, sizeof(b));
            errfmt(m, mlen,
                   "%s: '%s' is not a duration from %s to %s (like 250ms, 30s, "
                   "5m, 1h)",
                   k->k_name, val, a, b);
            return -1;
        }
        *(uint32_t *)config_field(cfg, k->k_off) = ms;
        return 0;
    case CK_BOOL:
        if (parse_bool(val, &iv) == -1) {
            errfmt(m, mlen, "%s: '%s' is not yes or no", k->k_name, val);
            return -1;
        }
        *(int *)config_field(cfg, k->k_off) = iv;
        return 0;
    default:
        break;
    }
    errfmt(m, mlen, "%s: internal error: bad key type", k->k_name);
    return -1;
}

/* The words of the one-word keys, in the order of the values they stand
 * for: enum range_mode, the HTTP minor version (enum auth_want's are
 * auth_want_names). */
static const char *const range_mode_names[] = {"cache", "slice", "pass"};
static const char *const http_version_names[] = {"1.0", "1.1"};

/* Set a row that takes one word of a fixed set (log level, range mode,
 * auth, HTTP version) from val. Returns 0, or -1 with a message in m that
 * lists the words. */
static int
key_set_word(struct shim_config *cfg, const struct conf_key *k, const char *val,
             char *m, size_t mlen)
{
    const char *const *w;
    size_t n, i, at = 0;
    char list[96];
    enum log_level lvl;

    switch (k->k_type) {
    case CK_LOGLEVEL:
        if (log_level_parse(val, &lvl) == -1) {
            errfmt(m, mlen, "%s: '%s' is not one of error, warn, info, debug",
                   k->k_name, val);
            return -1;
        }
        *(int *)config_field(cfg, k->k_off) = (int)lvl;
        return 0;
    case CK_RANGEMODE:
        w = range_mode_names;
        n = sizeof(range_mode_names) / sizeof(range_mode_names[0]);
        break;
    case CK_AUTH:
        w = auth_want_names;
        n = NAUTH_NAMES;
        break;
    case CK_HTTPVER:
        w = http_version_names;
        n = sizeof(http_version_names) / sizeof(http_version_names[0]);
        break;
    default:
        errfmt(m, mlen, "%s: internal error: bad key type", k->k_name);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!str_ieq(val, w[i]))
            continue;
        if (k->k_type == CK_RANGEMODE)
            *(enum range_mode *)config_field(cfg, k->k_off) =
                (enum range_mode)i;
        else
            *(int *)config_field(cfg, k->k_off) = (int)i;
        return 0;
    }
    list[0] = '\0';
    for (i = 0; i < n && at < sizeof(list); i++) {
        int r = snprintf(list + at, sizeof(list) - at, "%s%s",
                         i == 0   ? ""
                         : n == 2 ? " or "
                                  : ", ",
                         w[i]);
        if (r > 0)
            at += (size_t)r;
    }
    errfmt(m, mlen, "%s: '%s' is not %s%s", k->k_name, val,
           n > 2 ? "one of " : "", list);
    return -1;
}

/* password_file: resolve the path and read the password into the second
 * field. Returns 0, or -1 with a message in m (never the file's content). */
static int
key_set_secretfile(struct shim_config *cfg, const char *dir,
                   const struct conf_key *k, const char *val, char *m,
                   size_t mlen)
{
    char **sp = config_field(cfg, k->k_off);
    char **pw = config_field(cfg, k->k_off2);

    if (*val == '\0')
        return 0;
    config_secret_free(pw);
    *sp = path_resolve(dir, val);
    if (*sp == NULL) {
        errfmt(m, mlen, "%s: out of memory", k->k_name);
        return -1;
    }
    if (secret_read(*sp, pw, k->k_name, m, mlen) == -1) {
        free(*sp);
        *sp = NULL;
        return -1;
    }
    return 0;
}

/* Set a string row (addresses, paths, log destinations, secrets) from
 * val; the old value is freed first (a secret is wiped). dir resolves
 * relative paths. Returns 0, or -1 with a message in m. */
static int
key_set_string(struct shim_config *cfg, const char *dir,
               const struct conf_key *k, const char *val, char *m, size_t mlen)
{
    char **sp;

    sp = config_field(cfg, k->k_off);
    if (k->k_type == CK_SECRET || k->k_type == CK_NTHASH)
        config_secret_free(sp);
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
        *sp =
            str_ieq(val, "syslog") ? str_dup("syslog") : path_resolve(dir, val);
        break;
    case CK_ACCESSDEST:
        if (*val == '\0' || str_ieq(val, "off"))
            return 0;
        if (strcmp(val, "-") == 0 || str_ieq(val, "stdout"))
            *sp = str_dup("-");
        else
            *sp = path_resolve(dir, val);
        break;
    case CK_SECRETFILE:
        return key_set_secretfile(cfg, dir, k, val, m, mlen);
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

int
config_key_set(struct shim_config *cfg, const char *dir,
               const struct conf_key *k, const char *val, int append, char *m,
               size_t mlen)
{
    if (config_list_is(k->k_type))
        return config_list_set(cfg, k, val, append, m, mlen);
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
    case CK_SIZE32:
    case CK_SIZE64:
    case CK_MS:
    case CK_BOOL:
        return key_set_number(cfg, k, val, m, mlen);
    case CK_SIZEPCT:
        return key_set_sizepct(cfg, k, val, m, mlen);
    case CK_LOGLEVEL:
    case CK_RANGEMODE:
    case CK_AUTH:
    case CK_HTTPVER:
        return key_set_word(cfg, k, val, m, mlen);
    default:
        return key_set_string(cfg, dir, k, val, m, mlen);
    }
}

const char *
config_auth_name(int want)
{
    return want >= 0 && want < (int)NAUTH_NAMES ? auth_want_names[want] : "?";
}
