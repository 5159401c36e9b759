/*
 * fconf.c - the wsus-fixer conf file (fconf.h). One table row per key;
 * inih does the INI syntax, a line-counting reader gives each handler
 * call its line number.
 */
#include <ini.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connstr.h"
#include "fconf.h"
#include "fplat.h"
#include "strparse.h"
#include "svcctl.h"

#define FCONF_ERR_MAX 512

enum fconf_type {
    FT_STR = 0, /* any text; may be empty */
    FT_PATH,    /* relative to the conf folder; may be empty */
    FT_CMD,     /* a command template: only %s and %% */
    FT_NAME,    /* a service name */
    FT_DUR,     /* a duration, bounded */
    FT_BACKEND, /* exec | scm */
};

struct fconf_key {
    const char *k_section;
    const char *k_name;
    enum fconf_type k_type;
    size_t k_off;      /* of the field in struct fixer_conf */
    const char *k_def; /* NULL: set in fconf_defaults (platform) or none */
    uint32_t k_min;    /* FT_DUR bounds, ms */
    uint32_t k_max;
};

#define FC_OFF(f) offsetof(struct fixer_conf, f)

/* The default sync commands on Windows: the WSUS API through PowerShell
 * (the UpdateServices module of the WSUS role). The status prints the
 * state (Running or NotProcessing), then the last result (Succeeded,
 * Failed, ...). */
#define FCONF_PS "powershell.exe -NoProfile -NonInteractive -Command "
#define FCONF_SYNC_WIN                                                         \
    FCONF_PS "\"(Get-WsusServer).GetSubscription().StartSynchronization()\""
#define FCONF_SYNC_STATUS_WIN                                                  \
    FCONF_PS "\"$s = (Get-WsusServer).GetSubscription(); "                     \
             "$s.GetSynchronizationStatus(); "                                 \
             "$s.GetLastSynchronizationInfo().Result\""
#define FC_HOUR_MS 3600000u

static const struct fconf_key fconf_keys[] = {
    {"database", "connection", FT_STR, FC_OFF(fc_connection), NULL, 0, 0},
    {"database", "auto_driver", FT_STR, FC_OFF(fc_auto_driver),
     CONNSTR_DEFAULT_DRIVER, 0, 0},
    {"service", "backend", FT_BACKEND, FC_OFF(fc_backend), NULL, 0, 0},
    {"service", "name", FT_NAME, FC_OFF(fc_name), "WSUSService", 0, 0},
    {"service", "bits_name", FT_NAME, FC_OFF(fc_bits_name), "BITS", 0, 0},
    {"service", "stop_timeout", FT_DUR, FC_OFF(fc_stop_timeout_ms), "120", 1000,
     FC_HOUR_MS},
    {"service", "start_timeout", FT_DUR, FC_OFF(fc_start_timeout_ms), "120",
     1000, FC_HOUR_MS},
    {"service", "query_timeout", FT_DUR, FC_OFF(fc_query_timeout_ms), "30",
     1000, FC_HOUR_MS},
    {"service", "poll_interval", FT_DUR, FC_OFF(fc_poll_ms), "500ms", 10,
     60000},
    {"service", "stop_command", FT_CMD, FC_OFF(fc_stop_cmd), "", 0, 0},
    {"service", "start_command", FT_CMD, FC_OFF(fc_start_cmd), "", 0, 0},
    {"service", "status_command", FT_CMD, FC_OFF(fc_status_cmd), "", 0, 0},
    {"service", "starttype_command", FT_CMD, FC_OFF(fc_starttype_cmd), "", 0,
     0},
    {"service", "enable_command", FT_CMD, FC_OFF(fc_enable_cmd), "", 0, 0},
    {"service", "running_match", FT_STR, FC_OFF(fc_running_match), "RUNNING", 0,
     0},
    {"service", "stopped_match", FT_STR, FC_OFF(fc_stopped_match), "STOPPED", 0,
     0},
    {"service", "absent_match", FT_STR, FC_OFF(fc_absent_match),
     "does not exist", 0, 0},
    {"service", "disabled_match", FT_STR, FC_OFF(fc_disabled_match), "DISABLED",
     0, 0},
    {"fixer", "state_file", FT_PATH, FC_OFF(fc_state_file), NULL, 0, 0},
    {"fixer", "content_dir", FT_PATH, FC_OFF(fc_content_dir), NULL, 0, 0},
    {"fixer", "shim_conf", FT_PATH, FC_OFF(fc_shim_conf), "", 0, 0},
    {"fixer", "probe_timeout", FT_DUR, FC_OFF(fc_probe_timeout_ms), "5", 100,
     60000},
    {"fixer", "shim_bin", FT_PATH, FC_OFF(fc_shim_bin), "", 0, 0},
    {"fixer", "wsusutil", FT_PATH, FC_OFF(fc_wsusutil), NULL, 0, 0},
    {"fixer", "command_timeout", FT_DUR, FC_OFF(fc_command_timeout_ms), "120",
     1000, FC_HOUR_MS},
    {"fixer", "sync_command", FT_STR, FC_OFF(fc_sync_cmd), NULL, 0, 0},
    {"fixer", "sync_status_command", FT_STR, FC_OFF(fc_sync_status_cmd), NULL,
     0, 0},
    {"fixer", "sync_running_match", FT_STR, FC_OFF(fc_sync_running_match),
     "Running", 0, 0},
    {"fixer", "sync_success_match", FT_STR, FC_OFF(fc_sync_success_match),
     "Succeeded", 0, 0},
    {"fixer", "sync_timeout", FT_DUR, FC_OFF(fc_sync_timeout_ms), "1h", 1000,
     24 * FC_HOUR_MS},
    {"fixer", "sync_poll_interval", FT_DUR, FC_OFF(fc_sync_poll_ms), "10s", 100,
     600000},
};
#define FCONF_NKEYS (sizeof(fconf_keys) / sizeof(fconf_keys[0]))

struct fconf_parse {
    struct fixer_conf *p_cf;
    FILE *p_file;
    const char *p_path;
    int p_line; /* line the reader returned last */
    int p_failed;
    char *p_err;
    size_t p_errlen;
    int p_seen[FCONF_NKEYS];
};

static char **
fconf_strp(struct fixer_conf *cf, const struct fconf_key *k)
{
    return (char **)(void *)((char *)cf + k->k_off);
}

/* dir joined with a relative path; absolute paths are copied. */
static char *
fconf_path(const char *dir, const char *path)
{
    size_t n;
    char *out;

    if (*path == '\0' || fplat_path_is_abs(path) || dir == NULL ||
        strcmp(dir, ".") == 0)
        return strdup(path);
    n = strlen(dir) + strlen(path) + 2;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", dir, path);
    return out;
}

static int
fconf_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 80)
        return 0;
    for (; *s != '\0'; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == '$'))
            return 0;
    }
    return 1;
}

/* Set key k from text. Returns 0, or -1 with why filled. */
static int
fconf_set(struct fixer_conf *cf, const struct fconf_key *k, const char *text,
          char *why, size_t whylen)
{
    char **sp;
    char *copy;

    switch (k->k_type) {
    case FT_DUR: {
        uint32_t ms;

        if (parse_duration_ms(text, &ms) == -1 || ms < k->k_min ||
            ms > k->k_max) {
            snprintf(why, whylen,
                     "\"%s\" is not a duration from %ums to "
                     "%us (\"120\", \"90s\", \"500ms\", \"2m\")",
                     text, (unsigned)k->k_min, (unsigned)(k->k_max / 1000));
            return -1;
        }
        *(uint32_t *)(void *)((char *)cf + k->k_off) = ms;
        return 0;
    }
    case FT_BACKEND:
        if (strcmp(text, "exec") == 0) {
            cf->fc_backend = FCONF_BACKEND_EXEC;
        } else if (strcmp(text, "scm") == 0) {
            if (!fplat_is_windows()) {
                snprintf(why, whylen,
                         "backend scm (the Windows Service "
                         "Control Manager) exists only on Windows; use "
                         "exec");
                return -1;
            }
            cf->fc_backend = FCONF_BACKEND_SCM;
        } else {
            snprintf(why, whylen, "\"%s\": use exec or scm", text);
            return -1;
        }
        return 0;
    case FT_NAME:
        if (!fconf_name_ok(text)) {
            snprintf(why, whylen,
                     "\"%s\" is not a service name (letters, "
                     "digits, _ - . $)",
                     text);
            return -1;
        }
        break;
    case FT_CMD:
        copy = svc_exec_expand(text, "x");
        if (copy == NULL) {
            snprintf(why, whylen,
                     "only %%s (the service name) and %%%% "
                     "may follow a %%");
            return -1;
        }
        free(copy);
        break;
    case FT_STR:
    case FT_PATH:
        break;
    }
    copy = k->k_type == FT_PATH ? fconf_path(cf->fc_dir, text) : strdup(text);
    if (copy == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    sp = fconf_strp(cf, k);
    free(*sp);
    *sp = copy;
    return 0;
}

void
fconf_free(struct fixer_conf *cf)
{
    for (size_t i = 0; i < FCONF_NKEYS; i++) {
        const struct fconf_key *k = &fconf_keys[i];

        if (k->k_type != FT_DUR && k->k_type != FT_BACKEND) {
            char **sp = fconf_strp(cf, k);
            free(*sp);
            *sp = NULL;
        }
    }
    free(cf->fc_path);
    free(cf->fc_dir);
    cf->fc_path = NULL;
    cf->fc_dir = NULL;
}

int
fconf_defaults(struct fixer_conf *cf, const char *dir)
{
    char why[FCONF_ERR_MAX];

    memset(cf, 0, sizeof(*cf));
    cf->fc_path = strdup("(defaults)");
    cf->fc_dir = strdup(dir != NULL ? dir : ".");
    if (cf->fc_path == NULL || cf->fc_dir == NULL)
        goto fail;
    for (size_t i = 0; i < FCONF_NKEYS; i++) {
        const struct fconf_key *k = &fconf_keys[i];

        if (k->k_def != NULL &&
            fconf_set(cf, k, k->k_def, why, sizeof(why)) == -1)
            goto fail;
    }
    cf->fc_backend =
        fplat_is_windows() ? FCONF_BACKEND_SCM : FCONF_BACKEND_EXEC;
    cf->fc_connection = strdup(fplat_is_windows() ? "auto" : "");
    cf->fc_state_file = strdup(fplat_default_state_file());
    cf->fc_content_dir = strdup(fplat_default_content_dir());
    cf->fc_wsusutil = strdup(fplat_default_wsusutil());
    cf->fc_sync_cmd = strdup(fplat_is_windows() ? FCONF_SYNC_WIN : "");
    cf->fc_sync_status_cmd =
        strdup(fplat_is_windows() ? FCONF_SYNC_STATUS_WIN : "");
    if (cf->fc_connection == NULL || cf->fc_state_file == NULL ||
        cf->fc_content_dir == NULL || cf->fc_wsusutil == NULL ||
        cf->fc_sync_cmd == NULL || cf->fc_sync_status_cmd == NULL)
        goto fail;
    return 0;
fail:
    fconf_free(cf);
    return -1;
}

/* inih reader: one line per call, counted. A line longer than inih's
 * buffer is an error (inih would split it) and is handed over empty. */
static char *
fconf_reader(char *str, int num, void *stream)
{
    struct fconf_parse *p = stream;
    int c, n = 0, toolong = 0;

    c = getc(p->p_file);
    if (c == EOF)
        return NULL;
    p->p_line++;
    for (; c != EOF; c = getc(p->p_file)) {
        if (n < num - 2)
            str[n++] = (char)c;
        else if (c != '\n')
            toolong = 1;
        if (c == '\n')
            break;
    }
    str[n] = '\0';
    if (toolong) {
        if (!p->p_failed)
            snprintf(p->p_err, p->p_errlen,
                     "%s:%d: line longer than %d characters", p->p_path,
                     p->p_line, num - 2);
        p->p_failed = 1;
        str[0] = '\n';
        str[1] = '\0';
    }
    return str;
}

static int
fconf_handler(void *user, const char *section, const char *name,
              const char *value)
{
    struct fconf_parse *p = user;
    char why[FCONF_ERR_MAX];
    int known_section = 0;

    for (size_t i = 0; i < FCONF_NKEYS; i++) {
        const struct fconf_key *k = &fconf_keys[i];

        if (strcmp(k->k_section, section) != 0)
            continue;
        known_section = 1;
        if (strcmp(k->k_name, name) != 0)
            continue;
        if (p->p_seen[i]) {
            snprintf(why, sizeof(why), "[%s] %s given twice", section, name);
            goto bad;
        }
        p->p_seen[i] = p->p_line;
        if (fconf_set(p->p_cf, k, value, why, sizeof(why)) == -1)
            goto bad;
        return 1;
    }
    if (known_section)
        snprintf(why, sizeof(why), "unknown key \"%s\" in [%s]", name, section);
    else if (*section == '\0')
        snprintf(why, sizeof(why), "key \"%s\" outside any section", name);
    else
        snprintf(why, sizeof(why), "unknown section [%s]", section);
bad:
    if (!p->p_failed)
        snprintf(p->p_err, p->p_errlen, "%s:%d: %s", p->p_path, p->p_line, why);
    p->p_failed = 1;
    return 0;
}

/* The cross-key rules, after parsing. */
static int
fconf_check(struct fconf_parse *p)
{
    struct fixer_conf *cf = p->p_cf;

    if (*cf->fc_connection == '\0') {
        snprintf(p->p_err, p->p_errlen,
                 "%s: [database] connection is required (an ODBC connection "
                 "string%s)",
                 p->p_path, fplat_is_windows() ? ", or auto" : "");
        return -1;
    }
    if (cf->fc_backend == FCONF_BACKEND_EXEC &&
        (*cf->fc_stop_cmd == '\0' || *cf->fc_start_cmd == '\0' ||
         *cf->fc_status_cmd == '\0')) {
        snprintf(p->p_err, p->p_errlen,
                 "%s: [service] backend = exec needs stop_command, "
                 "start_command and status_command",
                 p->p_path);
        return -1;
    }
    if (*cf->fc_running_match == '\0' || *cf->fc_stopped_match == '\0') {
        snprintf(p->p_err, p->p_errlen,
                 "%s: [service] running_match and stopped_match must not be "
                 "empty",
                 p->p_path);
        return -1;
    }
    if (*cf->fc_state_file == '\0') {
        snprintf(p->p_err, p->p_errlen,
                 "%s: [fixer] state_file must not be empty", p->p_path);
        return -1;
    }
    return 0;
}

/* Folder part of path ("." when it has none). */
static char *
fconf_dirname(const char *path)
{
    size_t n = strlen(path);
    char *d;

    while (n > 0 && !fplat_is_sep(path[n - 1]))
        n--;
    if (n == 0)
        return strdup(".");
    if (n > 1)
        n--; /* drop the separator, keep a lone root "/" */
    d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

int
fconf_load(const char *path, struct fixer_conf *cf, char *err, size_t errlen)
{
    struct fconf_parse p;
    char *dir;
    int line;

    memset(&p, 0, sizeof(p));
    dir = fconf_dirname(path);
    if (dir == NULL || fconf_defaults(cf, dir) == -1) {
        free(dir);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    free(dir);
    free(cf->fc_path);
    cf->fc_path = strdup(path);
    if (cf->fc_path == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    p.p_cf = cf;
    p.p_path = path;
    p.p_err = err;
    p.p_errlen = errlen;
    p.p_file = fopen(path, "r");
    if (p.p_file == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    line = ini_parse_stream(fconf_reader, &p, fconf_handler, &p);
    fclose(p.p_file);
    if (line != 0 && !p.p_failed)
        snprintf(err, errlen,
                 "%s:%d: syntax error (expected [section] or "
                 "key = value)",
                 path, line);
    if (line != 0 || p.p_failed)
        goto fail;
    if (fconf_check(&p) == -1)
        goto fail;
    return 0;
fail:
    fconf_free(cf);
    return -1;
}

void
fconf_dump(const struct fixer_conf *cf,
           void (*line)(void *arg, const char *text), void *arg)
{
    char buf[1200];

    for (size_t i = 0; i < FCONF_NKEYS; i++) {
        const struct fconf_key *k = &fconf_keys[i];
        const char *sval = NULL;
        char num[32];

        if (k->k_type == FT_DUR) {
            snprintf(
                num, sizeof(num), "%ums",
                *(const uint32_t *)(const void *)((const char *)cf + k->k_off));
            sval = num;
        } else if (k->k_type == FT_BACKEND) {
            sval = cf->fc_backend == FCONF_BACKEND_SCM ? "scm" : "exec";
        } else {
            sval = *(char *const *)(const void *)((const char *)cf + k->k_off);
        }
        if (k->k_off == FC_OFF(fc_connection)) {
            char masked[1024];

            connstr_mask(sval, masked, sizeof(masked));
            snprintf(buf, sizeof(buf), "[%s] %s = %s", k->k_section, k->k_name,
                     masked);
        } else {
            snprintf(buf, sizeof(buf), "[%s] %s = %s", k->k_section, k->k_name,
                     sval);
        }
        line(arg, buf);
    }
}
