/*
 * config_print.c - a struct shim_config back in conf syntax, through the
 * key table (config_int.h): config_print for `wsus-shim -t -v` style
 * output. Secrets print as "(set)", never their value. Writes only to
 * the FILE it is given.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "policy.h"
#include "upstream.h"

void
config_fmt_size(uint64_t v, char *buf, size_t len)
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

void
config_fmt_ms(uint64_t ms, char *buf, size_t len)
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

static const void *
cfield(const struct shim_config *cfg, size_t off)
{
    return (const char *)cfg + off;
}

/* List items go out one by one through list_item, which keeps every line
 * within CONF_LINE_MAX: the first item on the key's line when it fits,
 * each further one on its own continuation line (the reader's list
 * continuation: an indented line after the key, a comma ending the line
 * before). */
struct list_out {
    FILE *lo_fp;
    size_t lo_col; /* characters on the current line */
    int lo_n;      /* items printed */
};

static void
list_item(struct list_out *lo, const char *item)
{
    size_t n = strlen(item);
    /* Four blanks, or one for an item too long for four (the shortest
     * line an item could have been read from). */
    const char *indent = 4 + n + 1 <= CONF_LINE_MAX ? "    " : " ";

    if (lo->lo_n > 0)
        fputc(',', lo->lo_fp);
    if (lo->lo_n > 0 || lo->lo_col + 1 + n + 1 > CONF_LINE_MAX) {
        fprintf(lo->lo_fp, "\n%s%s", indent, item);
        lo->lo_col = strlen(indent) + n;
    } else {
        fprintf(lo->lo_fp, " %s", item);
        lo->lo_col += 1 + n;
    }
    lo->lo_n++;
}

/* Print the items of a list row, one per line (see list_item). */
static void
key_print_list(const struct shim_config *cfg, const struct conf_key *k,
               FILE *out)
{
    struct list_out lo = {out, strlen(k->k_name) + 2, 0};
    char buf[CIDR_TEXT_MAX + 8];

    switch (k->k_type) {
    case CK_CIDRS:
    case CK_NOPROXY: {
        const struct cidr_list *cl =
            cfield(cfg, k->k_type == CK_CIDRS ? k->k_off : k->k_off2);

        if (k->k_type == CK_NOPROXY) {
            const struct pattern_list *pl = cfield(cfg, k->k_off);

            for (size_t i = 0; i < pl->pl_n; i++)
                list_item(&lo, pl->pl_v[i]);
        }
        for (size_t i = 0; i < cl->cl_n; i++) {
            if (cidr_format(&cl->cl_v[i], buf, sizeof(buf)) == 0)
                list_item(&lo, buf);
        }
        break;
    }
    case CK_HOSTS: {
        const struct pattern_list *pl = cfield(cfg, k->k_off);

        for (size_t i = 0; i < pl->pl_n; i++)
            list_item(&lo, pl->pl_v[i]);
        break;
    }
    case CK_PROXIES: {
        const struct upstream_addr *v =
            *(struct upstream_addr *const *)cfield(cfg, k->k_off);
        size_t n = *(const size_t *)cfield(cfg, k->k_off2);

        for (size_t i = 0; i < n; i++) {
            char item[CONF_LINE_MAX + 16];
            int v6 = strchr(v[i].ua_host, ':') != NULL;

            snprintf(item, sizeof(item), "%s%s%s:%u", v6 ? "[" : "",
                     v[i].ua_host, v6 ? "]" : "", (unsigned)v[i].ua_port);
            list_item(&lo, item);
        }
        break;
    }
    case CK_PORTS: {
        const uint16_t *v = *(uint16_t *const *)cfield(cfg, k->k_off);
        size_t n = *(const size_t *)cfield(cfg, k->k_off2);

        for (size_t i = 0; i < n; i++) {
            snprintf(buf, sizeof(buf), "%u", (unsigned)v[i]);
            list_item(&lo, buf);
        }
        break;
    }
    default:
        break;
    }
}

/* A path the loader resolved against the conf's folder, as written: when
 * that folder is relative, the loader made "DIR/p" of a relative p, and
 * "DIR/p" read again from the same folder would become "DIR/DIR/p". An
 * absolute folder leaves absolute paths, which read back as they are. */
static const char *
path_as_written(const struct shim_config *cfg, const char *s)
{
    const char *conf = cfg->sc_path, *sep = NULL;

    if (conf == NULL)
        return s;
    for (const char *p = conf; *p != '\0'; p++) {
        if (*p == '/' || *p == '\\')
            sep = p;
    }
    if (sep == NULL || config_path_is_abs(conf))
        return s;
    size_t dn = (size_t)(sep - conf);
    if (strncmp(s, conf, dn) == 0 && (s[dn] == '/' || s[dn] == '\\') &&
        s[dn + 1] != '\0')
        return s + dn + 1;
    return s;
}

/* Print the value of a string row, with its leading blank: a secret as
 * "(set)", an unset log destination as its default, nothing for another
 * unset string. */
static void
key_print_string(const struct shim_config *cfg, const struct conf_key *k,
                 FILE *out)
{
    const char *s = *(char *const *)cfield(cfg, k->k_off);

    switch (k->k_type) {
    case CK_NTHASH:
        if (s != NULL)
            fprintf(out, " (set)");
        break;
    case CK_SECRET:
        /* Never the password itself; nothing when it came from a file. */
        if (s != NULL && cfg->sc_up_password_file == NULL)
            fprintf(out, " (set)");
        break;
    case CK_LOGDEST:
        fprintf(out, " %s", s != NULL ? path_as_written(cfg, s) : "stderr");
        break;
    case CK_ACCESSDEST:
        fprintf(out, " %s", s != NULL ? path_as_written(cfg, s) : "off");
        break;
    case CK_PATH:
    case CK_OPTPATH:
    case CK_SECRETFILE:
        if (s != NULL)
            fprintf(out, " %s", path_as_written(cfg, s));
        break;
    default:
        if (s != NULL)
            fprintf(out, " %s", s);
        break;
    }
}

/* Print the value of a scalar row (a number, a word, a string, a secret
 * as "(set)"), with its leading blank; nothing for an unset string. */
static void
key_print_scalar(const struct shim_config *cfg, const struct conf_key *k,
                 FILE *out)
{
    char buf[32];

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
        config_fmt_size(k->k_type == CK_SIZE32
                            ? *(const uint32_t *)cfield(cfg, k->k_off)
                            : *(const uint64_t *)cfield(cfg, k->k_off),
                        buf, sizeof(buf));
        fprintf(out, " %s", buf);
        break;
    case CK_SIZEPCT: {
        uint32_t pct = *(const uint32_t *)cfield(cfg, k->k_off2);
        if (pct > 0) {
            fprintf(out, " %lu%%", (unsigned long)pct);
        } else {
            config_fmt_size(*(const uint64_t *)cfield(cfg, k->k_off), buf,
                            sizeof(buf));
            fprintf(out, " %s", buf);
        }
        break;
    }
    case CK_MS:
        config_fmt_ms(*(const uint32_t *)cfield(cfg, k->k_off), buf,
                      sizeof(buf));
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

        fprintf(out, " %s", config_auth_name(a));
        break;
    }
    case CK_NTHASH:
    case CK_SECRET:
    case CK_ADDR:
    case CK_STR:
    case CK_PATH:
    case CK_OPTPATH:
    case CK_SECRETFILE:
    case CK_LOGDEST:
    case CK_ACCESSDEST:
        key_print_string(cfg, k, out);
        break;
    default:
        key_print_list(cfg, k, out);
        break;
    }
}

/* Print the value of row k in conf syntax, one line. */
static void
key_print(const struct shim_config *cfg, const struct conf_key *k, FILE *out)
{
    fprintf(out, "%s =", k->k_name);
    key_print_scalar(cfg, k, out);
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
    for (size_t i = 0; i < conf_nkeys; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (section == NULL || strcmp(section, k->k_section) != 0) {
            section = k->k_section;
            fprintf(out, "\n[%s]\n", section);
        }
        key_print(cfg, k, out);
    }
}
