/*
 * fconf.h - the wsus-fixer conf file (INI) parsed into struct fixer_conf.
 *
 * fconf_load() is table-driven: every key has a row with its section,
 * name, type, range and default. Unknown sections or keys, duplicate keys,
 * bad values and over-long lines are errors reported as "FILE:LINE:
 * message"; the whole conf is then checked (cross-key rules, "FILE:
 * message"). Relative paths are taken relative to the conf file's folder,
 * which is also where exec commands run. The parser touches no globals.
 */
#ifndef WSUS_FCONF_H
#define WSUS_FCONF_H

#include <stddef.h>
#include <stdint.h>

enum fconf_backend {
    FCONF_BACKEND_EXEC = 0,
    FCONF_BACKEND_SCM,
};

struct fixer_conf {
    char *fc_path; /* the file it came from; "(defaults)" when none */
    char *fc_dir;  /* its folder: base of relative paths and commands */

    /* [database] */
    char *fc_connection;  /* an ODBC connection string, or "auto" */
    char *fc_auto_driver; /* ODBC driver for connection = auto */

    /* [service] */
    enum fconf_backend fc_backend; /* default scm on Windows, else exec */
    char *fc_name;                 /* WSUSService */
    char *fc_bits_name;            /* BITS */
    uint32_t fc_stop_timeout_ms;   /* 120 s */
    uint32_t fc_start_timeout_ms;  /* 120 s */
    uint32_t fc_query_timeout_ms;  /* 30 s, exec status commands */
    uint32_t fc_poll_ms;           /* 500 ms between state queries */
    char *fc_stop_cmd;             /* exec: %s = service name */
    char *fc_start_cmd;
    char *fc_status_cmd;
    char *fc_starttype_cmd; /* optional */
    char *fc_enable_cmd;    /* optional */
    char *fc_running_match; /* status output words */
    char *fc_stopped_match;
    char *fc_absent_match;
    char *fc_disabled_match;

    /* [fixer] */
    char *fc_state_file;
    char *fc_content_dir;           /* "": WSUS's registry (Windows) */
    char *fc_shim_conf;             /* "" = doctor skips the upstream check */
    uint32_t fc_probe_timeout_ms;   /* doctor's TCP connect, 5 s */
    char *fc_shim_bin;              /* "" = http11 sends one request */
    char *fc_wsusutil;              /* "" = approvals skipped */
    uint32_t fc_command_timeout_ms; /* wsus-shim probe, wsusutil, sync
                                       commands: 120 s */
    char *fc_sync_cmd;              /* default: PowerShell on Windows */
    char *fc_sync_status_cmd;       /* default: PowerShell on Windows */
    char *fc_sync_running_match;    /* "Running" */
    char *fc_sync_success_match;    /* "Succeeded" */
    uint32_t fc_sync_timeout_ms;    /* sync --wait: 1 h */
    uint32_t fc_sync_poll_ms;       /* 10 s */
};

/* Fill *cf with every default (no file read). dir is the base folder for
 * relative paths (NULL: "."). Returns 0 or -1 (out of memory). */
int fconf_defaults(struct fixer_conf *cf, const char *dir);

/* Read and check path into *cf (defaults first). Returns 0, or -1 with
 * "FILE:LINE: reason" (or "FILE: reason") in err; on failure *cf holds
 * nothing to free. */
int fconf_load(const char *path, struct fixer_conf *cf, char *err,
               size_t errlen);

void fconf_free(struct fixer_conf *cf);

/* Every key with its value, for -v ("connection" masked). */
void fconf_dump(const struct fixer_conf *cf,
                void (*line)(void *arg, const char *text), void *arg);

#endif
