/*
 * main.c - wsus-fixer's command line: parse the arguments, load the conf,
 * build the service, database and state operations, run one command and
 * turn its result into the exit code. No logic of the procedure is here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connstr.h"
#include "doctor.h"
#include "fconf.h"
#include "fixer.h"
#include "fplat.h"
#include "restart.h"
#include "strparse.h"
#include "sync.h"

#define MAIN_ERR_MAX 2048
#define MAIN_CONN_MAX 1024

enum main_cmd {
    MAIN_NONE = 0,
    MAIN_STATUS,
    MAIN_APPLY,
    MAIN_REVERT,
    MAIN_DOCTOR,
    MAIN_RESTART,
    MAIN_SYNC,
};

struct main_args {
    const char *ma_conf; /* NULL: the platform default */
    int ma_json;
    int ma_verbose;
    int ma_help;
    int ma_version;
    enum main_cmd ma_cmd;
    const char *ma_cmd_name;
    int ma_dry_run;
    int ma_enable_bits;
    int ma_sync; /* apply --sync */
    int ma_wait; /* sync --wait, apply --sync --wait */
    int ma_value_set;
    int64_t ma_value;
};

static void
main_usage(FILE *f)
{
    fprintf(
        f,
        "usage: wsus-fixer [-c FILE] [--json] [-v] COMMAND\n"
        "\n"
        "Applies, reports and reverts WSUS's BitsDownloadPriorityForeground "
        "in\n"
        "SUSDB safely: WSUSService is stopped, the value changed in one\n"
        "transaction and verified, and the services started again.\n"
        "\n"
        "commands:\n"
        "  status                      WSUSService and BITS states, the value\n"
        "  apply [--dry-run] [--value N] [--enable-bits]\n"
        "                              set the value (default 1; N is 0 or "
        "1);\n"
        "                              --dry-run prints the plan, changes "
        "nothing\n"
        "  revert [--enable-bits]      put back the value recorded by the "
        "last\n"
        "                              successful apply, or 0 if none\n"
        "                              --enable-bits: a disabled BITS is set "
        "to\n"
        "                              start automatically (without it, it "
        "is\n"
        "                              reported and left alone: exit 3)\n"
        "  doctor                      WSUS download troubleshooting checks\n"
        "  restart [--enable-bits]     restart BITS, then WSUSService\n"
        "  sync [--wait]               start a WSUS synchronization; --wait\n"
        "                              follows it to its result\n"
        "  apply --sync [--wait]       apply, then sync\n"
        "\n"
        "options:\n"
        "  -c FILE    conf file (default %s)\n"
        "  --json     print one JSON object with every step, result and "
        "timing\n"
        "  -v         verbose: the conf, the statements, command details\n"
        "  -h, --help this text\n"
        "  --version  print the version and exit\n"
        "\n"
        "exit codes:\n"
        "  0  done, or already in the wanted state\n"
        "  1  failed and nothing changed (the service is back in its state)\n"
        "  2  usage or conf error\n"
        "  3  failed and the service could not be restored: the message says\n"
        "     exactly what to run by hand\n",
        fplat_default_conf());
}

/* The options that only set a flag. */
static const struct {
    const char *mo_name;
    size_t mo_off; /* of the int in struct main_args */
} main_flags[] = {
    {"--json", offsetof(struct main_args, ma_json)},
    {"-v", offsetof(struct main_args, ma_verbose)},
    {"-h", offsetof(struct main_args, ma_help)},
    {"--help", offsetof(struct main_args, ma_help)},
    {"--version", offsetof(struct main_args, ma_version)},
    {"--dry-run", offsetof(struct main_args, ma_dry_run)},
    {"--enable-bits", offsetof(struct main_args, ma_enable_bits)},
    {"--sync", offsetof(struct main_args, ma_sync)},
    {"--wait", offsetof(struct main_args, ma_wait)},
};

static const struct {
    const char *mc_name;
    enum main_cmd mc_cmd;
} main_cmds[] = {
    {"status", MAIN_STATUS}, {"apply", MAIN_APPLY},     {"revert", MAIN_REVERT},
    {"doctor", MAIN_DOCTOR}, {"restart", MAIN_RESTART}, {"sync", MAIN_SYNC},
};

/* --value N or --value=N at argv[*i] (*i moves past N). 0, or -1 with a
 * reason in err. */
static int
main_value(int argc, char **argv, int *i, struct main_args *a, char *err,
           size_t errlen)
{
    const char *s = argv[*i], *v = s[7] == '=' ? s + 8 : NULL;
    uint64_t n;

    if (v == NULL) {
        if (++*i == argc) {
            snprintf(err, errlen, "--value needs a number");
            return -1;
        }
        v = argv[*i];
    }
    if (parse_u64_max(v, 1, &n) == -1) {
        snprintf(err, errlen, "--value \"%s\": the value is a bit, 0 or 1", v);
        return -1;
    }
    a->ma_value = (int64_t)n;
    a->ma_value_set = 1;
    return 0;
}

/* The command word s. 0, or -1 with a reason in err. */
static int
main_command(const char *s, struct main_args *a, char *err, size_t errlen)
{
    if (a->ma_cmd != MAIN_NONE) {
        snprintf(err, errlen, "one command at a time (\"%s\" after \"%s\")", s,
                 a->ma_cmd_name);
        return -1;
    }
    for (size_t k = 0; k < sizeof(main_cmds) / sizeof(main_cmds[0]); k++) {
        if (strcmp(s, main_cmds[k].mc_name) == 0) {
            a->ma_cmd = main_cmds[k].mc_cmd;
            a->ma_cmd_name = s;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown command \"%s\"", s);
    return -1;
}

/* Which options go with which command. 0, or -1 with a reason in err. */
static int
main_check(const struct main_args *a, char *err, size_t errlen)
{
    if (a->ma_help || a->ma_version)
        return 0;
    if (a->ma_cmd == MAIN_NONE) {
        snprintf(err, errlen, "no command given");
        return -1;
    }
    if ((a->ma_dry_run || a->ma_value_set) && a->ma_cmd != MAIN_APPLY) {
        snprintf(err, errlen, "--dry-run and --value go with apply only");
        return -1;
    }
    if (a->ma_enable_bits && a->ma_cmd != MAIN_APPLY &&
        a->ma_cmd != MAIN_REVERT && a->ma_cmd != MAIN_RESTART) {
        snprintf(err, errlen,
                 "--enable-bits goes with apply, revert and restart only");
        return -1;
    }
    if (a->ma_sync && (a->ma_cmd != MAIN_APPLY || a->ma_dry_run)) {
        snprintf(err, errlen, "--sync goes with apply only (not --dry-run)");
        return -1;
    }
    if (a->ma_wait && a->ma_cmd != MAIN_SYNC && !a->ma_sync) {
        snprintf(err, errlen, "--wait goes with sync and apply --sync only");
        return -1;
    }
    return 0;
}

/* Parse argv. Returns 0, or -1 with a reason in err. */
static int
main_parse(int argc, char **argv, struct main_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        size_t k, nflags = sizeof(main_flags) / sizeof(main_flags[0]);

        for (k = 0; k < nflags; k++)
            if (strcmp(s, main_flags[k].mo_name) == 0)
                break;
        if (k < nflags) {
            *(int *)(void *)((char *)a + main_flags[k].mo_off) = 1;
        } else if (strcmp(s, "-c") == 0) {
            if (++i == argc) {
                snprintf(err, errlen, "-c needs a file name");
                return -1;
            }
            a->ma_conf = argv[i];
        } else if (strcmp(s, "--value") == 0 ||
                   strncmp(s, "--value=", 8) == 0) {
            if (main_value(argc, argv, &i, a, err, errlen) == -1)
                return -1;
        } else if (s[0] == '-') {
            snprintf(err, errlen, "unknown option \"%s\"", s);
            return -1;
        } else if (main_command(s, a, err, errlen) == -1) {
            return -1;
        }
    }
    return main_check(a, err, errlen);
}

/* Exit 2 with msg, as a JSON object when --json was given. */
static int
main_usage_error(const struct main_args *a, const char *cmd, const char *msg,
                 int show_usage)
{
    struct report rep;

    report_init(&rep, stdout, stderr, a->ma_json, 0, 0);
    report_command(&rep, cmd != NULL ? cmd : "");
    report_finish(&rep, FIXER_EXIT_USAGE, "%s", msg);
    report_free(&rep);
    if (show_usage && !a->ma_json)
        fprintf(stderr, "try: wsus-fixer --help\n");
    return FIXER_EXIT_USAGE;
}

static void
main_dump_line(void *arg, const char *text)
{
    report_debug(arg, "conf %s", text);
}

static int
main_conf_exists(const char *path)
{
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return 0;
    fclose(f);
    return 1;
}

/* The connection string: [database] connection, or for "auto" the one
 * built from the registry's SqlServerName. Returns 0, or -1 with the
 * final message (exit 2) reported. conn holds secrets: the caller wipes
 * it. */
static int
main_conn(struct report *rep, const struct fixer_conf *cf, char *conn,
          size_t connlen)
{
    if (strcmp(cf->fc_connection, "auto") == 0) {
        char name[256], err[MAIN_ERR_MAX];

        if (fplat_sqlserver_name(name, sizeof(name), err, sizeof(err)) == -1 ||
            connstr_from_sqlserver_name(name, cf->fc_auto_driver, conn, connlen,
                                        err, sizeof(err)) == -1) {
            report_finish(rep, FIXER_EXIT_USAGE, "%s: connection = auto: %s",
                          cf->fc_path, err);
            return -1;
        }
        report_debug(rep, "SqlServerName \"%s\" -> %s", name, conn);
    } else if (snprintf(conn, connlen, "%s", cf->fc_connection) >=
               (int)connlen) {
        report_finish(rep, FIXER_EXIT_USAGE,
                      "%s: [database] connection is "
                      "longer than %lu characters",
                      cf->fc_path, (unsigned long)(connlen - 1));
        return -1;
    }

    return 0;
}

/* The service backend named by [service] backend. Returns 0 or -1. */
static int
main_svc_open(struct svc_ops *svc, const struct fixer_conf *cf, char *err,
              size_t errlen)
{
    if (cf->fc_backend == FCONF_BACKEND_SCM) {
        if (svc_scm_open(svc, err, errlen) == -1)
            return -1;
    } else {
        struct svc_exec_conf sx = {
            .sx_stop = cf->fc_stop_cmd,
            .sx_start = cf->fc_start_cmd,
            .sx_status = cf->fc_status_cmd,
            .sx_starttype = cf->fc_starttype_cmd,
            .sx_enable = cf->fc_enable_cmd,
            .sx_running = cf->fc_running_match,
            .sx_stopped = cf->fc_stopped_match,
            .sx_absent = cf->fc_absent_match,
            .sx_disabled = cf->fc_disabled_match,
            .sx_cwd = cf->fc_dir,
            .sx_query_timeout_ms = cf->fc_query_timeout_ms,
        };

        if (svc_exec_open(svc, &sx, err, errlen) == -1)
            return -1;
    }
    return 0;
}

/* The procedure's options from the command line and the conf. */
static void
main_opts(struct fixer_opts *o, const struct main_args *a,
          const struct fixer_conf *cf, const char *conn)
{
    memset(o, 0, sizeof(*o));
    o->fo_cmd = a->ma_cmd == MAIN_REVERT ? FIXER_CMD_REVERT : FIXER_CMD_APPLY;
    o->fo_value = a->ma_value_set ? a->ma_value : 1;
    o->fo_dry_run = a->ma_dry_run;
    o->fo_connection = conn;
    o->fo_service = cf->fc_name;
    o->fo_bits = cf->fc_bits_name;
    o->fo_enable_bits = a->ma_enable_bits;
    o->fo_stop_timeout_ms = cf->fc_stop_timeout_ms;
    o->fo_start_timeout_ms = cf->fc_start_timeout_ms;
    o->fo_poll_ms = cf->fc_poll_ms;
}

static void
main_sync_opts(struct sync_opts *so, const struct main_args *a,
               const struct fixer_conf *cf)
{
    memset(so, 0, sizeof(*so));
    so->sy_command = cf->fc_sync_cmd;
    so->sy_status_command = cf->fc_sync_status_cmd;
    so->sy_running_match = cf->fc_sync_running_match;
    so->sy_success_match = cf->fc_sync_success_match;
    so->sy_cwd = cf->fc_dir;
    so->sy_command_timeout_ms = cf->fc_command_timeout_ms;
    so->sy_timeout_ms = cf->fc_sync_timeout_ms;
    so->sy_poll_ms = cf->fc_sync_poll_ms;
    so->sy_wait = a->ma_wait;
}

/* apply --sync: the apply, and when it ended well (done, or already in
 * place) a synchronization; one report, finished once. A sync that fails
 * after a good apply is exit 1: nothing is left to restore. */
static int
main_apply_sync(const struct fixer_env *env, const struct fixer_opts *o,
                const struct main_args *a, const struct fixer_conf *cf,
                struct report *rep)
{
    struct sync_opts so;
    char amsg[MAIN_ERR_MAX], smsg[MAIN_ERR_MAX];
    int arc = FIXER_EXIT_FAILED, rc;

    report_hold(rep);
    rc = fixer_apply(env, o, rep);
    if (!report_held(rep, &arc, amsg, sizeof(amsg)))
        snprintf(amsg, sizeof(amsg), "apply ended");
    report_command(rep, "apply --sync");
    if (rc != FIXER_EXIT_OK) {
        report_step(rep, "sync-start", REP_SKIP, 0,
                    "not started: the apply did not succeed");
        report_finish(rep, rc, "%s", amsg);
        return rc;
    }
    main_sync_opts(&so, a, cf);
    rc = sync_run(env, &so, rep, smsg, sizeof(smsg));
    report_finish(rep, rc, "%s; %s", amsg, smsg);
    return rc;
}

/* Run the command. Returns its exit code. */
static int
main_run(const struct fixer_env *env, const struct fixer_opts *o,
         const struct main_args *a, const struct fixer_conf *cf,
         struct report *rep)
{
    int rc = FIXER_EXIT_FAILED;

    switch (a->ma_cmd) {
    case MAIN_STATUS:
        rc = fixer_status(env, o, rep);
        break;
    case MAIN_APPLY:
        if (a->ma_sync)
            return main_apply_sync(env, o, a, cf, rep);
        rc = fixer_apply(env, o, rep);
        break;
    case MAIN_REVERT:
        rc = fixer_apply(env, o, rep);
        break;
    case MAIN_RESTART:
        rc = fixer_restart(env, o, rep);
        break;
    case MAIN_SYNC: {
        struct sync_opts so;
        char msg[MAIN_ERR_MAX];

        main_sync_opts(&so, a, cf);
        rc = sync_run(env, &so, rep, msg, sizeof(msg));
        report_finish(rep, rc, "%s", msg);
        break;
    }
    case MAIN_DOCTOR: {
        struct doctor_opts d = {
            .do_content_dir = cf->fc_content_dir,
            .do_shim_conf = cf->fc_shim_conf,
            .do_shim_bin = cf->fc_shim_bin,
            .do_wsusutil = cf->fc_wsusutil,
            .do_cwd = cf->fc_dir,
            .do_probe_timeout_ms = cf->fc_probe_timeout_ms,
            .do_command_timeout_ms = cf->fc_command_timeout_ms,
        };

        rc = doctor_run(env, o, &d, rep);
        break;
    }
    case MAIN_NONE:
        break;
    }
    return rc;
}

/* The operations a command runs on. */
struct main_ops {
    struct svc_ops mo_svc;
    struct db_ops mo_db;
    struct state_ops mo_state;
    int mo_have_svc, mo_have_db, mo_have_state;
};

/* Open the service, database and state operations for cf. 0, or -1 with
 * err set (what was opened stays for main_ops_close). */
static int
main_ops_open(struct main_ops *m, const struct fixer_conf *cf, char *err,
              size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (main_svc_open(&m->mo_svc, cf, err, errlen) == -1)
        return -1;
    m->mo_have_svc = 1;
    if (db_odbc_open(&m->mo_db, err, errlen) == -1)
        return -1;
    m->mo_have_db = 1;
    if (state_file_open(&m->mo_state, cf->fc_state_file, err, errlen) == -1)
        return -1;
    m->mo_have_state = 1;
    return 0;
}

static void
main_ops_close(struct main_ops *m)
{
    if (m->mo_have_state)
        m->mo_state.st_close(m->mo_state.st_ctx);
    if (m->mo_have_db)
        m->mo_db.do_close(m->mo_db.do_ctx);
    if (m->mo_have_svc)
        m->mo_svc.so_close(m->mo_svc.so_ctx);
    memset(m, 0, sizeof(*m));
}

/* It takes the conf, the report and the operations in order and gives
 * them back under one cleanup label in reverse. */
int
main(int argc, char **argv)
{
    struct main_args a;
    struct fixer_conf cf;
    struct main_ops m;
    struct fixer_clock clk;
    struct fixer_env env;
    struct fixer_opts o;
    struct report rep;
    char err[MAIN_ERR_MAX];
    char conn[MAIN_CONN_MAX];
    int rc = FIXER_EXIT_USAGE, have_rep = 0;

    if (main_parse(argc, argv, &a, err, sizeof(err)) == -1)
        return main_usage_error(&a, a.ma_cmd_name, err, 1);
    if (a.ma_help) {
        main_usage(stdout);
        return FIXER_EXIT_OK;
    }
    if (a.ma_version) {
        printf("wsus-fixer %s\n", WSUS_FIXER_VERSION);
        return FIXER_EXIT_OK;
    }

    /* conf */
    if (a.ma_conf == NULL && fplat_is_windows() &&
        !main_conf_exists(fplat_default_conf())) {
        if (fconf_defaults(&cf, NULL) == -1)
            return main_usage_error(&a, a.ma_cmd_name, "out of memory", 0);
    } else if (fconf_load(a.ma_conf != NULL ? a.ma_conf : fplat_default_conf(),
                          &cf, err, sizeof(err)) == -1) {
        return main_usage_error(&a, a.ma_cmd_name, err, 0);
    }
    memset(&m, 0, sizeof(m));
    report_init(&rep, stdout, stderr, a.ma_json, a.ma_verbose,
                fplat_stderr_is_tty());
    have_rep = 1;
    report_command(&rep, a.ma_cmd_name);
    if (a.ma_verbose)
        fconf_dump(&cf, main_dump_line, &rep);

    if (main_conn(&rep, &cf, conn, sizeof(conn)) == -1)
        goto out;

    /* operations */
    rc = FIXER_EXIT_FAILED;
    if (main_ops_open(&m, &cf, err, sizeof(err)) == -1) {
        report_finish(&rep, rc, "%s", err);
        goto out;
    }
    fixer_clock_system(&clk);
    env.fe_svc = &m.mo_svc;
    env.fe_db = &m.mo_db;
    env.fe_state = &m.mo_state;
    env.fe_clock = &clk;

    main_opts(&o, &a, &cf, conn);
    report_debug(&rep, "read statement: %s", db_sql_read());
    report_debug(&rep, "update statement: %s", db_sql_update());
    report_debug(&rep, "state file: %s", cf.fc_state_file);

    rc = main_run(&env, &o, &a, &cf, &rep);
out:
    memset(conn, 0, sizeof(conn));
    main_ops_close(&m);
    if (have_rep)
        report_free(&rep);
    fconf_free(&cf);
    return rc;
}
