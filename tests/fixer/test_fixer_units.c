/*
 * test_fixer_units.c - table-driven tests of the fixer's pure modules
 * (connection strings, conf, state file, shim conf proxies, exec command
 * templates and status mapping, JSON encoding) and of its platform layer
 * (command execution with a time limit, the run lock, atomic writes), on
 * POSIX and on Windows (under Wine). Where a test runs shell commands it
 * gives them for /bin/sh and for cmd.exe; the lock test's second process
 * and the sleeping commands are this program itself (helper modes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connstr.h"
#include "fconf.h"
#include "fplat.h"
#include "http11.h"
#include "plat.h"
#include "report.h"
#include "shimconf.h"
#include "state.h"
#include "svcctl.h"
#include "wsuscfg.h"

#define ERRLEN 1024

/* ---- connection strings */

static void
test_connstr_auto(void **state)
{
    static const struct {
        const char *name;
        const char *want; /* NULL: must fail */
    } v[] = {
        {"MICROSOFT##WID",
         "Driver={D};Server=np:\\\\.\\pipe\\MICROSOFT##WID\\tsql\\query;"
         "Database=SUSDB;Trusted_Connection=yes"},
        {"WSUS01\\microsoft##wid",
         "Driver={D};Server=np:\\\\.\\pipe\\MICROSOFT##WID\\tsql\\query;"
         "Database=SUSDB;Trusted_Connection=yes"},
        {"MICROSOFT##SSEE",
         "Driver={D};Server=np:\\\\.\\pipe\\MSSQL$MICROSOFT##SSEE\\sql\\"
         "query;Database=SUSDB;Trusted_Connection=yes"},
        {"SQL01\\WSUS", "Driver={D};Server=SQL01\\WSUS;Database=SUSDB;"
                        "Trusted_Connection=yes"},
        {"SQL01", "Driver={D};Server=SQL01;Database=SUSDB;"
                  "Trusted_Connection=yes"},
        {"", NULL},
        {"SQL01;Database=master", NULL},
        {"SQL01}", NULL},
        {"SQL\n01", NULL},
    };
    char out[512], err[ERRLEN];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int r = connstr_from_sqlserver_name(v[i].name, "D", out, sizeof(out),
                                            err, sizeof(err));
        if (v[i].want == NULL) {
            assert_int_equal(r, -1);
        } else {
            assert_int_equal(r, 0);
            assert_string_equal(out, v[i].want);
        }
    }
    /* no room */
    assert_int_equal(
        connstr_from_sqlserver_name("SQL01", "D", out, 20, err, sizeof(err)),
        -1);
    /* ODBC Driver 18+ trusts the local pipes' self-signed certificate, not
     * a remote server's; older drivers and other names get nothing. */
    static const struct {
        const char *name, *driver, *want;
    } t[] = {
        {"MICROSOFT##WID", "ODBC Driver 18 for SQL Server",
         "Driver={ODBC Driver 18 for SQL Server};Server=np:\\\\.\\pipe\\"
         "MICROSOFT##WID\\tsql\\query;Database=SUSDB;Trusted_Connection=yes;"
         "TrustServerCertificate=yes"},
        {"MICROSOFT##SSEE", "odbc driver 19 for sql server",
         "Driver={odbc driver 19 for sql server};Server=np:\\\\.\\pipe\\"
         "MSSQL$MICROSOFT##SSEE\\sql\\query;Database=SUSDB;"
         "Trusted_Connection=yes;TrustServerCertificate=yes"},
        {"SQL01\\WSUS", "ODBC Driver 18 for SQL Server",
         "Driver={ODBC Driver 18 for SQL Server};Server=SQL01\\WSUS;"
         "Database=SUSDB;Trusted_Connection=yes"},
        {"MICROSOFT##WID", "ODBC Driver 17 for SQL Server",
         "Driver={ODBC Driver 17 for SQL Server};Server=np:\\\\.\\pipe\\"
         "MICROSOFT##WID\\tsql\\query;Database=SUSDB;Trusted_Connection=yes"},
        {"MICROSOFT##WID", "ODBC Driver 18 for SQL Server Beta",
         "Driver={ODBC Driver 18 for SQL Server Beta};Server=np:\\\\.\\pipe"
         "\\MICROSOFT##WID\\tsql\\query;Database=SUSDB;"
         "Trusted_Connection=yes"},
        {"MICROSOFT##WID", "SQL Server",
         "Driver={SQL Server};Server=np:\\\\.\\pipe\\MICROSOFT##WID\\"
         "tsql\\query;Database=SUSDB;Trusted_Connection=yes"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_int_equal(connstr_from_sqlserver_name(t[i].name, t[i].driver,
                                                     out, sizeof(out), err,
                                                     sizeof(err)),
                         0);
        assert_string_equal(out, t[i].want);
    }
    /* a driver name that would break the string */
    assert_int_equal(connstr_from_sqlserver_name("SQL01", "D};X={", out,
                                                 sizeof(out), err, sizeof(err)),
                     -1);
}

static void
test_connstr_mask(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } v[] = {
        {"Driver=X;UID=sa;PWD=secret;", "Driver=X;UID=sa;PWD=***;"},
        {"Driver=X;UID=sa;PWD=secret", "Driver=X;UID=sa;PWD=***"},
        {"pwd={a;b}}c};Server=x", "pwd=***;Server=x"},
        {"Password=x;Database=SUSDB", "Password=***;Database=SUSDB"},
        {"SSLPassword=k;X=1", "SSLPassword=***;X=1"},
        {"Driver={ODBC Driver 17 for SQL Server};Trusted_Connection=yes",
         "Driver={ODBC Driver 17 for SQL Server};Trusted_Connection=yes"},
        {"DSN=susdb", "DSN=susdb"},
        {"junk;PWD=s", "junk;PWD=***"},
        {"", ""},
    };
    char out[256];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        connstr_mask(v[i].in, out, sizeof(out));
        assert_string_equal(out, v[i].want);
    }
    /* truncation never shows the secret */
    connstr_mask("PWD=verysecret", out, 6);
    assert_string_equal(out, "PWD=*");
}

/* ---- conf */

static char tmpdir[256];

static int
setup_tmpdir(void **state)
{
    (void)state;
    return plat_mkdtemp("wsus-fixer-unit-", tmpdir, sizeof(tmpdir));
}

static int
teardown_tmpdir(void **state)
{
    (void)state;
    return plat_rmtree(tmpdir);
}

static const char *
write_conf(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

#define GOOD_SERVICE                                                           \
    "[service]\n"                                                              \
    "backend = exec\n"                                                         \
    "stop_command = sc \\\\wsus01 stop %s\n"                                   \
    "start_command = sc \\\\wsus01 start %s\n"                                 \
    "status_command = sc \\\\wsus01 query %s   ; the state\n"

static void
test_fconf_good(void **state)
{
    struct fixer_conf cf;
    char err[ERRLEN], want[600];
    const char *path = write_conf(
        "good.conf",
        "# comment\n"
        "[database]\n"
        "connection = Driver=SQLite3;Database=/tmp/x.db\n" GOOD_SERVICE
        "stop_timeout = 90s\n"
        "poll_interval = 250ms\n"
        "name = WSUSService\n"
        "[fixer]\n"
        "state_file = state/fixer.state\n"
        "content_dir = /srv/WsusContent\n"
        "shim_conf = wsus-shim.conf\n");

    (void)state;
    assert_int_equal(fconf_load(path, &cf, err, sizeof(err)), 0);
    assert_string_equal(cf.fc_connection, "Driver=SQLite3;Database=/tmp/x.db");
    assert_int_equal(cf.fc_backend, FCONF_BACKEND_EXEC);
    assert_string_equal(cf.fc_stop_cmd, "sc \\\\wsus01 stop %s");
    assert_string_equal(cf.fc_status_cmd, "sc \\\\wsus01 query %s");
    assert_int_equal(cf.fc_stop_timeout_ms, 90000);
    assert_int_equal(cf.fc_start_timeout_ms, 120000);
    assert_int_equal(cf.fc_poll_ms, 250);
    assert_string_equal(cf.fc_bits_name, "BITS");
    snprintf(want, sizeof(want), "%s/state/fixer.state", tmpdir);
    assert_string_equal(cf.fc_state_file, want);
    assert_string_equal(cf.fc_content_dir, "/srv/WsusContent");
    snprintf(want, sizeof(want), "%s/wsus-shim.conf", tmpdir);
    assert_string_equal(cf.fc_shim_conf, want);
    assert_string_equal(cf.fc_dir, tmpdir);
    assert_string_equal(cf.fc_running_match, "RUNNING");
    fconf_free(&cf);
}

static void
test_fconf_errors(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* after "PATH" */
    } v[] = {
        {"[database]\nconnection = x\nfoo = 1\n",
         ":3: unknown key \"foo\" in [database]"},
        {"[database]\nconnection = x\n[dtabase]\nconnection = y\n",
         ":4: unknown section [dtabase]"},
        {"connection = x\n", ":1: key \"connection\" outside any section"},
        {"[database]\nconnection = x\n" GOOD_SERVICE "stop_timeout = 2q\n",
         ":8: \"2q\" is not a duration"},
        {"[database]\nconnection = x\n" GOOD_SERVICE "stop_timeout = 0\n",
         ":8: \"0\" is not a duration"},
        {"[database]\nconnection = x\nconnection = y\n",
         ":3: [database] connection given twice"},
        {"[database]\nconnection = x\n" GOOD_SERVICE "name = WSUS;rm\n",
         ":8: \"WSUS;rm\" is not a service name"},
        {"[database]\nconnection = x\n[service]\nstop_command = stop %d\n",
         ":4: only %s"},
        {"[database]\nconnection = x\n[service]\nbackend = smc\n",
         ":4: \"smc\": use exec or scm"},
        {"[database]\nconnection = x\n[service]\nbackend = scm\n",
         ":4: backend scm"},
        {"[database]\nconnection = x\n[service]\nstop_command = a %s\n",
         ": [service] backend = exec needs stop_command"},
        {GOOD_SERVICE, ": [database] connection is required"},
        {"[database]\nconnection\n", ":2: syntax error"},
        {"[database]\n; long\nconnection = "
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "\n",
         ":3: line longer than"},
    };
    struct fixer_conf cf;
    char err[ERRLEN], want[ERRLEN];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const char *path = write_conf("bad.conf", v[i].text);

        /* Windows has the SCM backend (the default there, so exec's
         * commands are not needed) and connection = auto (the default). */
        if (fplat_is_windows() &&
            (strstr(v[i].want, "backend scm") != NULL ||
             strstr(v[i].want, "exec needs") != NULL ||
             strstr(v[i].want, "connection is required") != NULL)) {
            if (fconf_load(path, &cf, err, sizeof(err)) != 0)
                fail_msg("case %zu: %s", i, err);
            if (strstr(v[i].want, "connection") != NULL)
                assert_string_equal(cf.fc_connection, "auto");
            else
                assert_int_equal(cf.fc_backend, FCONF_BACKEND_SCM);
            fconf_free(&cf);
            continue;
        }
        if (fconf_load(path, &cf, err, sizeof(err)) != -1)
            fail_msg("case %zu: loaded", i);
        snprintf(want, sizeof(want), "%s%s", path, v[i].want);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, want);
    }
    /* defaults alone: what Windows runs on without a conf file */
    assert_int_equal(fconf_defaults(&cf, NULL), 0);
    assert_string_equal(cf.fc_path, "(defaults)");
    assert_string_equal(cf.fc_dir, ".");
    assert_string_equal(cf.fc_name, "WSUSService");
    assert_int_equal(cf.fc_stop_timeout_ms, 120000);
    fconf_free(&cf);
    assert_int_equal(fconf_load("/nonexistent/x.conf", &cf, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/x.conf: cannot open"));
}

/* ---- state file */

static void
test_state_roundtrip(void **state)
{
    struct fixer_state a, b;
    char buf[4096], err[ERRLEN];
    int n;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.fs_has_apply = 1;
    a.fs_apply_previous = 0;
    a.fs_apply_value = 1;
    strcpy(a.fs_apply_time, "2024-01-02T03:04:05Z");
    a.fs_has_run = 1;
    strcpy(a.fs_run_command, "revert");
    a.fs_run_previous = 1;
    a.fs_run_target = -5;
    strcpy(a.fs_run_service, "running");
    strcpy(a.fs_run_result, "not-restored");
    strcpy(a.fs_run_time, "2024-01-02T03:04:06Z");
    n = state_format(&a, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(state_parse(buf, "st", &b, err, sizeof(err)), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(state_format(&a, buf, 40), -1);
}

static void
test_state_errors(void **state)
{
    struct fixer_state st;
    char err[ERRLEN];

    (void)state;
    assert_int_equal(state_parse("", "st", &st, err, sizeof(err)), 0);
    assert_false(st.fs_has_apply);
    assert_int_equal(state_parse("[last_apply]\nprevious = x\n", "st", &st, err,
                                 sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "bad value for last_apply.previous"));
    assert_int_equal(state_parse("[last_apply]\nprevious = 99999999999999999"
                                 "999\n",
                                 "st", &st, err, sizeof(err)),
                     -1);
    assert_int_equal(
        state_parse("[last_apply]\nprevius = 1\n", "st", &st, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "unknown key last_apply.previus"));
    assert_int_equal(
        state_parse("[other]\nx = 1\n", "st", &st, err, sizeof(err)), -1);
    assert_int_equal(state_parse("garbage\n", "st", &st, err, sizeof(err)), -1);
    assert_string_equal(err, "st:1: syntax error");
}

/* This program's path (argv[0]): it runs itself as the second process of
 * the lock test, and as a command that sleeps in the exec tests. */
static const char *self_path;

enum try_lock { TRY_LOCK_TAKEN = 0, TRY_LOCK_REFUSED = 3, TRY_LOCK_ERROR = 4 };

/* Run "SELF --try-lock STATE.lock" (the state file's run lock) in another
 * process; its exit code says whether it got the lock. */
static int
other_process_locks(const char *state_path)
{
    char cmd[1200], out[256], err[ERRLEN];
    int status = -1;

    snprintf(cmd, sizeof(cmd), "\"%s\" --try-lock \"%s.lock\"", self_path,
             state_path);
    if (fplat_exec(cmd, NULL, 30000, out, sizeof(out), &status, err,
                   sizeof(err)) == -1)
        fail_msg("%s: %s", cmd, err);
    if (status != TRY_LOCK_TAKEN && status != TRY_LOCK_REFUSED)
        fail_msg("%s: exit %d: %s", cmd, status, out);
    return status;
}

static void
test_state_file_ops(void **state)
{
    struct state_ops a, b;
    struct fixer_state st, back;
    char path[400], err[ERRLEN];

    (void)state;
    snprintf(path, sizeof(path), "%s/sub/state", tmpdir);
    assert_int_equal(state_file_open(&a, path, err, sizeof(err)), 0);
    assert_int_equal(state_file_open(&b, path, err, sizeof(err)), 0);
    /* missing file: empty state; the lock creates the folder */
    assert_int_equal(a.st_load(a.st_ctx, &st, err, sizeof(err)), 0);
    assert_false(st.fs_has_apply);
    assert_int_equal(a.st_lock(a.st_ctx, err, sizeof(err)), 0);
    /* A second process is refused while we hold the lock. */
    assert_int_equal(other_process_locks(path), TRY_LOCK_REFUSED);
    st.fs_has_apply = 1;
    st.fs_apply_previous = 0;
    st.fs_apply_value = 1;
    assert_int_equal(a.st_save(a.st_ctx, &st, err, sizeof(err)), 0);
    assert_int_equal(b.st_load(b.st_ctx, &back, err, sizeof(err)), 0);
    assert_true(back.fs_has_apply);
    assert_int_equal(back.fs_apply_value, 1);
    assert_true(back.fs_apply_time[0] != '\0'); /* stamped */
    a.st_unlock(a.st_ctx);
    /* ... and gets it once we let go. */
    assert_int_equal(other_process_locks(path), TRY_LOCK_TAKEN);
    a.st_close(a.st_ctx);
    b.st_close(b.st_ctx);
}

/* ---- shim conf */

static void
test_shimconf_proxies(void **state)
{
    static const struct {
        const char *in;
        const char *host0;
        unsigned port0;
        size_t n; /* 0: must fail */
    } v[] = {
        {"proxy.corp:3128", "proxy.corp", 3128, 1},
        {"http://proxy.corp:8080/", NULL, 0, 0},
        {"[::1]:3128", "::1", 3128, 1},
        {"a:1, b:2", "a", 1, 2},
        {"a:1 b:2,c:3", "a", 1, 3},
        {"host", NULL, 0, 0},
        {"  proxy1.example.com:8080, [2001:db8::5]:3128 ", "proxy1.example.com",
         8080, 2},
        {"host:0", NULL, 0, 0},
        {"host:99999", NULL, 0, 0},
        {"::1:80", NULL, 0, 0},
        {"user@host:80", NULL, 0, 0},
        {"host:", NULL, 0, 0},
        {"[::1", NULL, 0, 0},
    };
    struct shim_proxy px[SHIMCONF_MAX_PROXIES];
    char err[ERRLEN];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = 0;
        int r = shimconf_parse_proxies(v[i].in, px, SHIMCONF_MAX_PROXIES, &n,
                                       err, sizeof(err));

        if (v[i].n == 0) {
            if (r != -1)
                fail_msg("case %zu (%s) accepted", i, v[i].in);
            continue;
        }
        assert_int_equal(r, 0);
        assert_int_equal(n, v[i].n);
        assert_string_equal(px[0].sp_host, v[i].host0);
        assert_int_equal(px[0].sp_port, v[i].port0);
    }
}

static void
test_shimconf_read(void **state)
{
    struct shim_proxy px[SHIMCONF_MAX_PROXIES];
    char err[ERRLEN];
    size_t n = 9;
    const char *path;

    (void)state;
    path = write_conf("shim.conf", "[listen]\nport = 8181\nbogus = 1\n"
                                   "[upstream]\nproxy = 127.0.0.1:3128\n"
                                   "user = x\n[cache]\ndir = /x\n");
    assert_int_equal(
        shimconf_read(path, px, SHIMCONF_MAX_PROXIES, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(px[0].sp_host, "127.0.0.1");
    assert_int_equal(px[0].sp_port, 3128);
    path = write_conf("shim.conf", "[upstream]\nuser = x\n");
    assert_int_equal(
        shimconf_read(path, px, SHIMCONF_MAX_PROXIES, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    path = write_conf("shim.conf", "[upstream]\nproxy = a:b\n");
    assert_int_equal(
        shimconf_read(path, px, SHIMCONF_MAX_PROXIES, &n, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "shim.conf:2: proxy \"a:b\""));
}

static void
test_shimconf_listen(void **state)
{
    struct shim_proxy l;
    char err[ERRLEN];
    const char *path;

    (void)state;
    path = write_conf("shim.conf", "[listen]\nport = 3129\n");
    assert_int_equal(shimconf_listen(path, &l, err, sizeof(err)), 0);
    assert_string_equal(l.sp_host, "127.0.0.1");
    assert_int_equal(l.sp_port, 3129);
    path = write_conf("shim.conf", "[listen]\naddress = 10.0.0.5\n"
                                   "[upstream]\nport = 1\n");
    assert_int_equal(shimconf_listen(path, &l, err, sizeof(err)), 0);
    assert_string_equal(l.sp_host, "10.0.0.5");
    assert_int_equal(l.sp_port, 8181);
    path = write_conf("shim.conf", "[listen]\nport = 70000\n");
    assert_int_equal(shimconf_listen(path, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "shim.conf:2: bad [listen] port"));
}

/* ---- WSUS configuration verdicts */

/* cols from "Name=value" pairs; a column not named is not found; the
 * value "NULL" is SQL NULL. */
static void
cfg_set(struct db_cfgcol cols[WCFG_NCOLS], const char *const *kv)
{
    wcfg_columns(cols);
    for (; *kv != NULL; kv++) {
        const char *eq = strchr(*kv, '=');
        size_t i;

        assert_non_null(eq);
        for (i = 0; i < WCFG_NCOLS; i++)
            if (strlen(cols[i].cc_name) == (size_t)(eq - *kv) &&
                strncmp(cols[i].cc_name, *kv, (size_t)(eq - *kv)) == 0)
                break;
        assert_true(i < WCFG_NCOLS);
        cols[i].cc_found = 1;
        cols[i].cc_null = strcmp(eq + 1, "NULL") == 0;
        snprintf(cols[i].cc_value, sizeof(cols[i].cc_value), "%s",
                 cols[i].cc_null ? "" : eq + 1);
    }
}

#define KV_MAX 8

static void
test_wcfg_proxy(void **state)
{
    static const struct {
        const char *kv[KV_MAX];
        const char *shim; /* NULL: no shim_conf */
        uint16_t port;
        enum rep_result want;
        const char *detail; /* a fragment of the detail */
        const char *fix;    /* a fragment of the fix; NULL: no fix */
    } v[] = {
        {{"UseProxy=1", "ProxyName=127.0.0.1", "ProxyServerPort=8181",
          "AnonymousProxyAccess=1", "AllowProxyCredentialsOverNonSsl=0"},
         "127.0.0.1",
         8181,
         REP_OK,
         "WSUS points at the shim (127.0.0.1:8181)",
         NULL},
        /* loopback names are the same host; a wildcard listener too */
        {{"UseProxy=True", "ProxyName=LOCALHOST", "ProxyServerPort=8181"},
         "0.0.0.0",
         8181,
         REP_OK,
         "points at the shim",
         NULL},
        {{"UseProxy=1", "ProxyName=wsus01", "ProxyServerPort=8181"},
         "0.0.0.0",
         8181,
         REP_WARN,
         "cannot tell whether WSUS (wsus01:8181)",
         "$c.ProxyName = \"127.0.0.1\"; $c.ProxyServerPort = 8181;"},
        {{"UseProxy=1", "ProxyName=proxy.corp", "ProxyServerPort=3128"},
         "127.0.0.1",
         8181,
         REP_FAIL,
         "WSUS points at proxy.corp:3128, not at the shim listening on "
         "127.0.0.1:8181",
         "$c.UseProxy = $true; $c.ProxyName = \"127.0.0.1\"; "
         "$c.ProxyServerPort = 8181; $c.UseProxyCredentials = $false; "
         "$c.AllowProxyCredentialsOverNonSsl = $false; $c.Save()"},
        /* right host, wrong port */
        {{"UseProxy=1", "ProxyName=127.0.0.1", "ProxyServerPort=8080"},
         "127.0.0.1",
         8181,
         REP_FAIL,
         "not at the shim",
         "Save()"},
        {{"UseProxy=0", "ProxyName=NULL", "ProxyServerPort=80"},
         "127.0.0.1",
         8181,
         REP_FAIL,
         "WSUS uses no proxy, not the shim",
         "$c.UseProxy = $true"},
        /* a port column this WSUS lacks: unknown, not a guess */
        {{"UseProxy=1", "ProxyName=127.0.0.1"},
         "127.0.0.1",
         8181,
         REP_WARN,
         "cannot tell whether WSUS (127.0.0.1:unknown)",
         "Save()"},
        {{"ProxyName=127.0.0.1", "ProxyServerPort=8181"},
         "127.0.0.1",
         8181,
         REP_SKIP,
         "unknown: UseProxy is not a column",
         "Save()"},
        {{"UseProxy=maybe"},
         NULL,
         0,
         REP_SKIP,
         "unknown: UseProxy is neither 0 nor 1",
         NULL},
        {{"UseProxy=0"},
         NULL,
         0,
         REP_OK,
         "WSUS connects directly (no proxy); no shim_conf",
         NULL},
        {{"UseProxy=1", "ProxyName=proxy.corp", "ProxyServerPort=3128",
          "AnonymousProxyAccess=0", "AllowProxyCredentialsOverNonSsl=1"},
         NULL,
         0,
         REP_WARN,
         "WSUS uses the proxy proxy.corp:3128; no shim_conf to compare "
         "with; Basic credentials over clear text are allowed "
         "(AllowProxyCredentialsOverNonSsl = 1); UseProxy = 1, ProxyName "
         "= proxy.corp, ProxyServerPort = 3128, AnonymousProxyAccess = 0, "
         "AllowProxyCredentialsOverNonSsl = 1",
         "$c.AllowProxyCredentialsOverNonSsl = $false; $c.Save()"},
        /* the shim is right but clear text is allowed: warn */
        {{"UseProxy=1", "ProxyName=127.0.0.1", "ProxyServerPort=8181",
          "AllowProxyCredentialsOverNonSsl=1"},
         "127.0.0.1",
         8181,
         REP_WARN,
         "Basic credentials over clear text",
         "$c.AllowProxyCredentialsOverNonSsl = $false"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct db_cfgcol cols[WCFG_NCOLS];
        struct wcfg_verdict vd;

        cfg_set(cols, v[i].kv);
        wcfg_proxy(cols, v[i].shim, v[i].port, &vd);
        if (vd.wv_result != v[i].want ||
            strstr(vd.wv_detail, v[i].detail) == NULL ||
            (v[i].fix == NULL) != (vd.wv_fix[0] == '\0') ||
            (v[i].fix != NULL && strstr(vd.wv_fix, v[i].fix) == NULL))
            fail_msg("row %zu: %s / %s / fix %s", i,
                     report_result_name(vd.wv_result), vd.wv_detail, vd.wv_fix);
    }
}

static void
test_wcfg_storage(void **state)
{
    static const struct {
        const char *kv[KV_MAX];
        enum rep_result want;
        const char *detail;
        const char *fix; /* NULL: no fix */
    } v[] = {
        {{"HostBinariesOnMicrosoftUpdate=0", "SyncFromMicrosoftUpdate=1"},
         REP_OK,
         "local storage: update files are downloaded to this server "
         "(HostBinariesOnMicrosoftUpdate = 0); this server syncs from "
         "Microsoft Update (SyncFromMicrosoftUpdate = 1)",
         NULL},
        {{"HostBinariesOnMicrosoftUpdate=1", "SyncFromMicrosoftUpdate=0",
          "UpstreamServerName=parent.corp"},
         REP_OK,
         "Microsoft Update storage: clients download update files from "
         "Microsoft Update (HostBinariesOnMicrosoftUpdate = 1); downstream "
         "server (SyncFromMicrosoftUpdate = 0, upstream parent.corp): every "
         "server of the hierarchy must use the same storage option",
         "on the upstream server parent.corp run in PowerShell: "
         "(Get-WsusServer).GetConfiguration().HostBinariesOnMicrosoftUpdate;"
         " it must be True, as here"},
        {{"HostBinariesOnMicrosoftUpdate=0"},
         REP_OK,
         "unknown whether this server is downstream "
         "(SyncFromMicrosoftUpdate = unknown)",
         NULL},
        {{"SyncFromMicrosoftUpdate=0"},
         REP_SKIP,
         "unknown: HostBinariesOnMicrosoftUpdate is not a column",
         NULL},
        {{"HostBinariesOnMicrosoftUpdate=NULL"},
         REP_SKIP,
         "unknown: HostBinariesOnMicrosoftUpdate is neither 0 nor 1",
         NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct db_cfgcol cols[WCFG_NCOLS];
        struct wcfg_verdict vd;

        cfg_set(cols, v[i].kv);
        wcfg_storage(cols, &vd);
        if (vd.wv_result != v[i].want ||
            strstr(vd.wv_detail, v[i].detail) == NULL ||
            (v[i].fix == NULL) != (vd.wv_fix[0] == '\0') ||
            (v[i].fix != NULL && strstr(vd.wv_fix, v[i].fix) == NULL))
            fail_msg("row %zu: %s / %s / fix %s", i,
                     report_result_name(vd.wv_result), vd.wv_detail, vd.wv_fix);
    }
}

static void
test_wcfg_upstream(void **state)
{
    static const struct {
        const char *kv[KV_MAX];
        int rc;
        enum rep_result want; /* when rc is -1 */
        const char *detail;   /* when rc is -1 */
        const char *direct;   /* when rc is 0: the request, directly */
        const char *proxied;  /* and through the shim */
    } v[] = {
        {{"SyncFromMicrosoftUpdate=1", "UpstreamServerName=x"},
         -1,
         REP_SKIP,
         "syncs from Microsoft Update (SyncFromMicrosoftUpdate = 1): no "
         "upstream",
         NULL,
         NULL},
        {{"UpstreamServerName=x"},
         -1,
         REP_SKIP,
         "unknown whether this server has an upstream",
         NULL,
         NULL},
        {{"SyncFromMicrosoftUpdate=0", "UpstreamServerName=NULL",
          "UpstreamServerPortNumber=8530"},
         -1,
         REP_FAIL,
         "without a usable upstream: UpstreamServerName = NULL, "
         "UpstreamServerPortNumber = 8530",
         NULL,
         NULL},
        {{"SyncFromMicrosoftUpdate=0", "UpstreamServerName=p"},
         -1,
         REP_FAIL,
         "UpstreamServerPortNumber = unknown",
         NULL,
         NULL},
        {{"SyncFromMicrosoftUpdate=0", "UpstreamServerName=p",
          "UpstreamServerPortNumber=70000"},
         -1,
         REP_FAIL,
         "UpstreamServerPortNumber = 70000",
         NULL,
         NULL},
        {{"SyncFromMicrosoftUpdate=0", "UpstreamServerName=parent.corp",
          "UpstreamServerPortNumber=8530", "UpstreamServerUseSSL=0"},
         0,
         REP_OK,
         NULL,
         "GET /ServerSyncWebService/ServerSyncWebService.asmx HTTP/1.1\r\n"
         "Host: parent.corp:8530\r\nUser-Agent: wsus-fixer\r\n"
         "Connection: close\r\n\r\n",
         "GET http://parent.corp:8530/ServerSyncWebService/"
         "ServerSyncWebService.asmx HTTP/1.1\r\nHost: parent.corp:8530\r\n"
         "User-Agent: wsus-fixer\r\nConnection: close\r\n\r\n"},
        {{"SyncFromMicrosoftUpdate=0", "UpstreamServerName=fe80::1",
          "UpstreamServerPortNumber=8531", "UpstreamServerUseSSL=1"},
         0,
         REP_OK,
         NULL,
         NULL,
         "CONNECT [fe80::1]:8531 HTTP/1.1\r\nHost: [fe80::1]:8531\r\n\r\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct db_cfgcol cols[WCFG_NCOLS];
        struct wcfg_upstream up;
        struct wcfg_verdict vd;
        char req[768];
        int rc;

        cfg_set(cols, v[i].kv);
        rc = wcfg_upstream(cols, &up, &vd);
        if (rc != v[i].rc)
            fail_msg("row %zu: rc %d (%s)", i, rc, vd.wv_detail);
        if (rc == -1) {
            if (vd.wv_result != v[i].want ||
                strstr(vd.wv_detail, v[i].detail) == NULL)
                fail_msg("row %zu: %s / %s", i,
                         report_result_name(vd.wv_result), vd.wv_detail);
            continue;
        }
        if (v[i].direct != NULL) {
            wcfg_upstream_request(&up, 0, req, sizeof(req));
            assert_string_equal(req, v[i].direct);
        }
        wcfg_upstream_request(&up, 1, req, sizeof(req));
        assert_string_equal(req, v[i].proxied);
    }
}

static void
test_wcfg_upstream_answer(void **state)
{
    static const struct {
        const char *via; /* NULL: direct */
        const char *line;
        enum rep_result want;
        const char *detail;
    } v[] = {
        {NULL, "HTTP/1.1 200 OK", REP_OK,
         "parent.corp port 8530 (10.0.0.9) answered \"HTTP/1.1 200 OK\""},
        {NULL, "HTTP/1.1 503 Service Unavailable", REP_OK, "answered"},
        {NULL, "SSH-2.0-OpenSSH_9.2", REP_FAIL,
         "answered \"SSH-2.0-OpenSSH_9.2\""},
        {NULL, "", REP_FAIL, "answered \"\""},
        {"127.0.0.1:8181", "HTTP/1.1 200 OK", REP_OK,
         "parent.corp port 8530 through the shim (127.0.0.1:8181) answered"},
        {"127.0.0.1:8181", "HTTP/1.1 404 Not Found", REP_OK, "404"},
        {"127.0.0.1:8181", "HTTP/1.1 502 Bad Gateway", REP_FAIL,
         "502 Bad Gateway"},
        {"127.0.0.1:8181", "HTTP/1.0 407 Proxy Authentication Required",
         REP_FAIL, "407"},
    };
    struct wcfg_upstream up = {"parent.corp", 8530, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct wcfg_verdict vd;

        wcfg_upstream_answer(&up, v[i].via, "10.0.0.9", v[i].line, &vd);
        if (vd.wv_result != v[i].want ||
            strstr(vd.wv_detail, v[i].detail) == NULL ||
            (vd.wv_result == REP_FAIL) != (vd.wv_fix[0] != '\0'))
            fail_msg("row %zu: %s / %s / %s", i,
                     report_result_name(vd.wv_result), vd.wv_detail, vd.wv_fix);
    }
}

/* ---- exec backend pieces */

static void
test_svc_exec_expand(void **state)
{
    char *s;

    (void)state;
    s = svc_exec_expand("sc \\\\host stop %s", "WSUSService");
    assert_string_equal(s, "sc \\\\host stop WSUSService");
    free(s);
    s = svc_exec_expand("x %s %s 100%%", "B");
    assert_string_equal(s, "x B B 100%");
    free(s);
    assert_null(svc_exec_expand("x %d", "B"));
    assert_null(svc_exec_expand("x %", "B"));
}

static void
test_svc_exec_map(void **state)
{
    struct svc_exec_conf c;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.sx_running = "RUNNING";
    c.sx_stopped = "STOPPED";
    c.sx_absent = "does not exist";
    assert_int_equal(svc_exec_map("STATE : 4  RUNNING", &c), SVC_RUNNING);
    assert_int_equal(svc_exec_map("state : 1 stopped", &c), SVC_STOPPED);
    assert_int_equal(svc_exec_map("STATE : 3  STOP_PENDING", &c),
                     SVC_STOP_PENDING);
    assert_int_equal(svc_exec_map("STATE : 2  START_PENDING", &c),
                     SVC_START_PENDING);
    assert_int_equal(svc_exec_map("STATE : 7  PAUSED", &c), SVC_UNKNOWN);
    assert_int_equal(
        svc_exec_map("FAILED 1060: The specified service does not exist as "
                     "an installed service.",
                     &c),
        SVC_ABSENT);
    /* systemd words: stopped is looked for first */
    c.sx_running = "active";
    c.sx_stopped = "inactive";
    assert_int_equal(svc_exec_map("inactive", &c), SVC_STOPPED);
    assert_int_equal(svc_exec_map("active", &c), SVC_RUNNING);
}

static void
test_svc_exec_backend(void **state)
{
    struct svc_exec_conf c;
    struct svc_ops ops;
    enum svc_state st;
    char err[ERRLEN], buf[200];
    int disabled = 7;

    (void)state;
    memset(&c, 0, sizeof(c));
    /* The same commands for /bin/sh and for cmd.exe. */
    if (fplat_is_windows()) {
        c.sx_stop = "if \"%s\"==\"x\" (exit 0) else (exit 1)";
        c.sx_status = "echo   STATE : 4 RUNNING&exit 1";
        c.sx_cwd = "C:\\";
    } else {
        c.sx_stop = "test %s = x";
        c.sx_status = "echo '  STATE : 4 RUNNING'; exit 1";
        c.sx_cwd = "/";
    }
    c.sx_start = "exit 3";
    c.sx_running = "RUNNING";
    c.sx_stopped = "STOPPED";
    c.sx_query_timeout_ms = 5000;
    assert_int_equal(svc_exec_open(&ops, &c, err, sizeof(err)), 0);
    assert_int_equal(ops.so_query(ops.so_ctx, "x", &st, err, sizeof(err)), 0);
    assert_int_equal(st, SVC_RUNNING);
    assert_int_equal(ops.so_stop(ops.so_ctx, "x", 5000, err, sizeof(err)), 0);
    assert_int_equal(ops.so_stop(ops.so_ctx, "y", 5000, err, sizeof(err)), -1);
    assert_int_equal(ops.so_start(ops.so_ctx, "x", 5000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "exited with 3"));
    /* no starttype command: cannot tell */
    assert_int_equal(
        ops.so_disabled(ops.so_ctx, "x", &disabled, err, sizeof(err)), 1);
    assert_int_equal(ops.so_enable(ops.so_ctx, "x", err, sizeof(err)), -1);
    ops.so_manual(ops.so_ctx, SVC_ACT_START, "WSUSService", buf, sizeof(buf));
    assert_string_equal(buf, "exit 3");
    ops.so_close(ops.so_ctx);
}

/* ---- JSON */

static void
test_json_string(void **state)
{
    char buf[256];
    FILE *f = tmpfile();
    size_t n;

    (void)state;
    assert_non_null(f);
    report_json_string(f, "a\"b\\c\nd\x01\x7f \xc3\xa9 \xff\xc3");
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\u0001\\u007f \xc3\xa9 "
                             "\\ufffd\\ufffd\"");
}

/* ---- platform (POSIX /bin/sh, Windows cmd.exe) */

/* The shell commands of test_fplat_exec for one platform. */
struct exec_cmds {
    const char *ec_out_err_exit4; /* "hello" out, "err" to stderr, exit 4 */
    const char *ec_want_out;
    const char *ec_root; /* a folder, and what ec_pwd prints there */
    const char *ec_pwd;
    const char *ec_want_pwd;
    const char *ec_flood;     /* far more output than the buffer */
    const char *ec_bg_before; /* these around "SELF --sleep 3000": */
    const char *ec_bg_after;  /* leave a child running, echo ok */
};

static const struct exec_cmds exec_posix = {
    "echo hello; echo err >&2; exit 4",
    "hello\nerr\n",
    "/",
    "pwd",
    "/\n",
    "yes | head -c 100000",
    "(",
    " >/dev/null 2>&1 &) ; echo ok",
};

static const struct exec_cmds exec_windows = {
    "echo hello&echo err>&2&exit 4",
    "hello\r\nerr\r\n",
    "C:\\",
    "cd",
    "C:\\\r\n",
    /* 21000 bytes: more than the pipe holds (4 KiB). */
    "for /l %i in (1,1,500) do @echo 0123456789012345678901234567890123456789",
    /* The started child shares the output pipe while it sleeps. */
    "start \"\" /b ",
    "&echo ok",
};

static void
test_fplat_exec(void **state)
{
    const struct exec_cmds *ec =
        fplat_is_windows() ? &exec_windows : &exec_posix;
    char out[64], err[ERRLEN], cmd[1200];
    int status = -1;
    uint64_t t0;

    (void)state;
    assert_int_equal(fplat_exec(ec->ec_out_err_exit4, NULL, 5000, out,
                                sizeof(out), &status, err, sizeof(err)),
                     0);
    assert_int_equal(status, 4);
    assert_string_equal(out, ec->ec_want_out);
    assert_int_equal(fplat_exec(ec->ec_pwd, ec->ec_root, 5000, out, sizeof(out),
                                &status, err, sizeof(err)),
                     0);
    assert_string_equal(out, ec->ec_want_pwd);
    /* output beyond the buffer is dropped, not overflowed */
    assert_int_equal(fplat_exec(ec->ec_flood, NULL, 20000, out, sizeof(out),
                                &status, err, sizeof(err)),
                     0);
    assert_int_equal(strlen(out), sizeof(out) - 1);
    /* a hanging command (a child of the shell) is killed at the limit */
    snprintf(cmd, sizeof(cmd), "\"%s\" --sleep 30000", self_path);
    t0 = fplat_now_ms();
    assert_int_equal(
        fplat_exec(cmd, NULL, 300, out, sizeof(out), &status, err, sizeof(err)),
        -1);
    assert_true(fplat_now_ms() - t0 < 5000);
    assert_non_null(strstr(err, "timed out"));
    /* a background child keeping the pipe open does not hold us */
    snprintf(cmd, sizeof(cmd), "%s\"%s\" --sleep 3000%s", ec->ec_bg_before,
             self_path, ec->ec_bg_after);
    t0 = fplat_now_ms();
    assert_int_equal(fplat_exec(cmd, NULL, 10000, out, sizeof(out), &status,
                                err, sizeof(err)),
                     0);
    assert_true(fplat_now_ms() - t0 < 2500);
    assert_non_null(strstr(out, "ok"));
}

static void
test_fplat_files(void **state)
{
    char path[400], err[ERRLEN];
    char *data = NULL;
    size_t len;

    (void)state;
    snprintf(path, sizeof(path), "%s/atomic/file", tmpdir);
    assert_int_equal(fplat_read_file(path, 100, &data, &len, err, sizeof(err)),
                     1);
    assert_int_equal(fplat_write_atomic(path, "abc", 3, err, sizeof(err)), 0);
    assert_int_equal(fplat_read_file(path, 100, &data, &len, err, sizeof(err)),
                     0);
    assert_string_equal(data, "abc");
    free(data);
    assert_int_equal(fplat_read_file(path, 2, &data, &len, err, sizeof(err)),
                     -1);
    assert_int_equal(fplat_dir_readable(tmpdir, err, sizeof(err)), 0);
    assert_int_equal(fplat_dir_readable(path, err, sizeof(err)), -1);
}

/* The helper modes of this program (see self_path): --try-lock PATH
 * exits TRY_LOCK_TAKEN or TRY_LOCK_REFUSED; --sleep MS sleeps. */
static int
helper(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--try-lock") == 0) {
        struct fplat_lock *lk = NULL;
        char err[ERRLEN];

        if (fplat_lock_take(argv[2], &lk, err, sizeof(err)) == -1) {
            printf("%s\n", err);
            return TRY_LOCK_REFUSED;
        }
        fplat_lock_release(lk);
        return TRY_LOCK_TAKEN;
    }
    if (argc == 3 && strcmp(argv[1], "--sleep") == 0) {
        fplat_sleep_ms((uint32_t)strtoul(argv[2], NULL, 10));
        return 0;
    }
    fprintf(stderr, "usage: %s [--try-lock PATH | --sleep MS]\n", argv[0]);
    return TRY_LOCK_ERROR;
}

/* http11: every (shim, value) pair, and the skip. */
static void
test_h11_verdict(void **state)
{
    static const struct {
        int64_t value;
        enum h11_shim shim;
        enum rep_result res;
        const char *detail; /* a part of it */
        const char *fix;    /* the whole fix; NULL: any non-empty one */
    } v[] = {
        {-1, H11_SHIM_PROBE_OK, REP_SKIP, "not read from SUSDB", ""},
        {0, H11_SHIM_NONE, REP_OK,
         "= 0 (background downloads, BITS's default); no shim_conf", ""},
        {1, H11_SHIM_NONE, REP_WARN,
         "fail for files over 2 GB and on any resume); no shim_conf",
         "put wsus-shim between WSUS and the parent proxy and set [fixer] "
         "shim_conf; once doctor's http11 check passes, run wsus-fixer "
         "revert"},
        {0, H11_SHIM_PROBE_OK, REP_OK, "probe passes", ""},
        {1, H11_SHIM_PROBE_OK, REP_WARN, "no longer needed",
         "wsus-fixer revert"},
        {0, H11_SHIM_PROBE_FAIL, REP_FAIL, "will fail",
         "fix the shim's conf as wsus-shim probe says, or run wsus-fixer "
         "apply as a stopgap"},
        {1, H11_SHIM_PROBE_FAIL, REP_WARN, "keep the workaround",
         "fix the shim's conf as wsus-shim probe says; once it passes, run "
         "wsus-fixer revert"},
        {0, H11_SHIM_PROBE_ERROR, REP_FAIL, "could not be run", NULL},
        {1, H11_SHIM_PROBE_ERROR, REP_FAIL, "could not be run", NULL},
        {0, H11_SHIM_ANSWERS, REP_OK, "parents were not probed", NULL},
        {1, H11_SHIM_ANSWERS, REP_WARN, "parents were not probed",
         "run wsus-shim probe; when it passes, run wsus-fixer revert"},
        {0, H11_SHIM_DOWN, REP_FAIL, "does not answer", NULL},
        {1, H11_SHIM_DOWN, REP_WARN, "still needed", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct wcfg_verdict vd;

        h11_verdict(v[i].value, v[i].shim, "EVIDENCE", &vd);
        assert_int_equal(vd.wv_result, v[i].res);
        assert_non_null(strstr(vd.wv_detail, v[i].detail));
        if (v[i].value != -1) {
            const char *ev = strstr(vd.wv_detail, " [EVIDENCE]");

            assert_non_null(ev);
            assert_int_equal(ev[strlen(" [EVIDENCE]")], '\0');
        }
        if (v[i].fix != NULL)
            assert_string_equal(vd.wv_fix, v[i].fix);
        else
            assert_true(vd.wv_fix[0] != '\0');
    }
}

/* DACL evaluation: order, deny, inherit-only, generic rights, groups. */
static void
test_acl_effective(void **state)
{
    static const struct acl_ace allow_ns_read[] = {
        {ACL_ACE_ALLOW, 0, "S-1-5-20", 0x001200a9u},
    };
    static const struct acl_ace users_generic[] = {
        {ACL_ACE_ALLOW, 0, "s-1-5-32-545", 0x80000000u | 0x20000000u},
    };
    static const struct acl_ace deny_first[] = {
        {ACL_ACE_DENY, 0, "S-1-1-0", ACL_LIST_DIRECTORY},
        {ACL_ACE_ALLOW, 0, "S-1-5-20", 0x001f01ffu},
    };
    static const struct acl_ace allow_first[] = {
        {ACL_ACE_ALLOW, 0, "S-1-5-20", 0x001f01ffu},
        {ACL_ACE_DENY, 0, "S-1-1-0", ACL_LIST_DIRECTORY},
    };
    static const struct acl_ace inherit_only[] = {
        {ACL_ACE_ALLOW, 1, "S-1-5-32-545", 0x001200a9u},
        {ACL_ACE_ALLOW, 0, "S-1-5-32-544", 0x001f01ffu},
    };
    static const struct acl_ace everyone[] = {
        {ACL_ACE_ALLOW, 0, "S-1-5-11", ACL_LIST_DIRECTORY},
        {ACL_ACE_ALLOW, 0, "S-1-1-0", ACL_READ_EA | ACL_READ_ATTRIBUTES},
    };
    static const struct acl_ace service_only[] = {
        {ACL_ACE_ALLOW, 0, "S-1-5-6", 0x001200a9u},
    };
    const char *const *ns = acl_who_sids(ACL_WHO_NETWORK_SERVICE);
    const char *const *users = acl_who_sids(ACL_WHO_USERS);

    (void)state;
    assert_int_equal(acl_effective(allow_ns_read, 1, 0, ns), 0x001200a9u);
    assert_int_equal(acl_effective(allow_ns_read, 1, 0, users), 0);
    /* GENERIC_READ | GENERIC_EXECUTE, SIDs compared without case */
    assert_int_equal(acl_effective(users_generic, 1, 0, users), 0x001200a9u);
    assert_int_equal(acl_effective(users_generic, 1, 0, ns), 0x001200a9u);
    assert_int_equal(acl_map_generic(0x10000000u), 0x001f01ffu);
    /* the first ACE that names a bit decides it */
    assert_int_equal(acl_effective(deny_first, 2, 0, ns) & ACL_NEED_READ,
                     ACL_READ_EA | ACL_READ_ATTRIBUTES);
    assert_int_equal(acl_effective(allow_first, 2, 0, ns), 0x001f01ffu);
    /* inherit-only ACEs do not apply to the folder itself */
    assert_int_equal(acl_effective(inherit_only, 2, 0, users), 0);
    /* grants add up over the groups the token holds */
    assert_int_equal(acl_effective(everyone, 2, 0, users), ACL_NEED_READ);
    assert_int_equal(acl_effective(service_only, 1, 0, ns), 0x001200a9u);
    assert_int_equal(acl_effective(service_only, 1, 0, users), 0);
    /* no DACL: everything; an empty one: nothing */
    assert_int_equal(acl_effective(NULL, 0, 1, users), 0x001f01ffu);
    assert_int_equal(acl_effective(NULL, 0, 0, users), 0);
    assert_string_equal(acl_who_name(ACL_WHO_NETWORK_SERVICE),
                        "NETWORK SERVICE");
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        return helper(argc, argv);
    self_path = argv[0];

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connstr_auto),
        cmocka_unit_test(test_connstr_mask),
        cmocka_unit_test(test_fconf_good),
        cmocka_unit_test(test_fconf_errors),
        cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_state_errors),
        cmocka_unit_test(test_state_file_ops),
        cmocka_unit_test(test_shimconf_proxies),
        cmocka_unit_test(test_shimconf_read),
        cmocka_unit_test(test_shimconf_listen),
        cmocka_unit_test(test_wcfg_proxy),
        cmocka_unit_test(test_wcfg_storage),
        cmocka_unit_test(test_wcfg_upstream),
        cmocka_unit_test(test_wcfg_upstream_answer),
        cmocka_unit_test(test_h11_verdict),
        cmocka_unit_test(test_acl_effective),
        cmocka_unit_test(test_svc_exec_expand),
        cmocka_unit_test(test_svc_exec_map),
        cmocka_unit_test(test_svc_exec_backend),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_fplat_exec),
        cmocka_unit_test(test_fplat_files),
    };

    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
