/*
 * testsvc.c - a tiny Win32 service that plays WSUSService, BITS and their
 * dependents for the Wine tests of wsus-fixer's scm backend
 * (tests/win/test_fixer_wine.py). It is registered with
 * `sc create NAME binPath= "wsus-testsvc.exe --name NAME --log FILE ..."`;
 * the arguments in the binPath choose how it behaves:
 *
 *   --name NAME      the service name (for the log)
 *   --log FILE       every event is appended to FILE as one line:
 *                    "NAME EVENT START_NUMBER PID"
 *   --start-ms N     stay START_PENDING for N ms, the check point moving
 *                    every 100 ms (wait hint 1000 ms), then RUNNING
 *   --stop MODE      what a STOP control does:
 *                      ok      STOP_PENDING for --stop-ms, then STOPPED
 *                      ignore  accepted, but the service stays RUNNING
 *                      hang    STOP_PENDING with a check point that never
 *                              moves; STOPPED only after --hang-ms
 *                      reject  STOP is not among the accepted controls
 *   --stop-ms N      (ok) time spent STOP_PENDING, check point moving
 *   --hang-ms N      (hang) the bound on the hang, so the tests can end
 *                    it without killing processes (default 20000)
 *   --fail-start K   the K-th start of the service (counted in the log,
 *                    from 1) fails: STOPPED with ERROR_SERVICE_SPECIFIC_ERROR
 *                    and service exit code 42
 *   --quit-file F    once F exists (checked every 100 ms) the service
 *                    stops, whatever its mode: how the tests end a service
 *                    that ignores, rejects or hangs on STOP without killing
 *                    a process
 *
 * Events: start, start-failed, running, stop-request, stop-ignored,
 * stop-pending, stop-hang, quit, stopped. Every state it reports goes
 * through SetServiceStatus from the thread of ServiceMain or the handler,
 * as the SCM expects. Run from a console, it prints its usage and exits 2.
 *
 * `wsus-testsvc.exe --probe-delayed NAME` (a console run) asks the
 * service manager to give service NAME a delayed automatic start and
 * prints "delayed-autostart: ok" or "delayed-autostart: error N": the
 * tests tell that way whether the platform supports what the fixer's
 * enable step tries (Wine 8 does not).
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_HINT_MS 1000
#define TS_STEP_MS 100
#define TS_FAILED_EXIT 42

enum ts_stop {
    TS_STOP_OK = 0,
    TS_STOP_IGNORE,
    TS_STOP_HANG,
    TS_STOP_REJECT,
};

struct ts_conf {
    char *tc_name;
    char *tc_log;
    char *tc_quit; /* NULL: none */
    enum ts_stop tc_stop;
    DWORD tc_start_ms;
    DWORD tc_stop_ms;
    DWORD tc_hang_ms;
    long tc_fail_start;
};

/* One service per process: the SCM callbacks reach these. */
static struct ts_conf ts_conf;
static SERVICE_STATUS_HANDLE ts_handle;
static SERVICE_STATUS ts_status;
static HANDLE ts_stop_ev;
static long ts_start_no;

static void
ts_log(const char *event)
{
    char line[512];
    HANDLE h;
    DWORD put;
    int n;

    n = snprintf(line, sizeof(line), "%s %s %ld %lu\r\n", ts_conf.tc_name,
                 event, ts_start_no, (unsigned long)GetCurrentProcessId());
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    /* FILE_APPEND_DATA only: every write lands at the end, whole */
    h = CreateFileA(ts_conf.tc_log, FILE_APPEND_DATA,
                    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return;
    WriteFile(h, line, (DWORD)n, &put, NULL);
    CloseHandle(h);
}

/* How many times this service has started before (lines "NAME start"). */
static long
ts_count_starts(void)
{
    char want[300], line[512];
    FILE *f;
    long n = 0;

    snprintf(want, sizeof(want), "%s start ", ts_conf.tc_name);
    f = fopen(ts_conf.tc_log, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, want, strlen(want)) == 0)
            n++;
    fclose(f);
    return n;
}

static void
ts_set(DWORD state, DWORD checkpoint, DWORD hint)
{
    ts_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    ts_status.dwCurrentState = state;
    ts_status.dwCheckPoint = checkpoint;
    ts_status.dwWaitHint = hint;
    if (state == SERVICE_RUNNING && ts_conf.tc_stop != TS_STOP_REJECT)
        ts_status.dwControlsAccepted = SERVICE_ACCEPT_STOP;
    else
        ts_status.dwControlsAccepted = 0;
    SetServiceStatus(ts_handle, &ts_status);
}

static DWORD WINAPI
ts_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    case SERVICE_CONTROL_STOP:
        ts_log("stop-request");
        if (ts_conf.tc_stop == TS_STOP_REJECT)
            return ERROR_CALL_NOT_IMPLEMENTED;
        if (ts_conf.tc_stop == TS_STOP_IGNORE) {
            ts_log("stop-ignored");
            ts_set(SERVICE_RUNNING, 0, 0);
            return NO_ERROR;
        }
        ts_set(SERVICE_STOP_PENDING, 1, TS_HINT_MS);
        SetEvent(ts_stop_ev);
        return NO_ERROR;
    }
    return ERROR_CALL_NOT_IMPLEMENTED;
}

/* Has the test asked this service to end (the quit file exists)? */
static int
ts_quit(void)
{
    static int logged;

    if (ts_conf.tc_quit == NULL ||
        GetFileAttributesA(ts_conf.tc_quit) == INVALID_FILE_ATTRIBUTES)
        return 0;
    if (!logged)
        ts_log("quit");
    logged = 1;
    return 1;
}

/* Pending for ms, the check point moving (or frozen) every TS_STEP_MS;
 * a quit file ends it early. */
static void
ts_pending(DWORD state, DWORD ms, int moving)
{
    DWORD cp = 1;

    for (DWORD spent = 0; spent < ms; spent += TS_STEP_MS) {
        ts_set(state, cp, TS_HINT_MS);
        Sleep(TS_STEP_MS);
        if (moving)
            cp++;
        if (ts_quit())
            return;
    }
}

static void WINAPI
ts_main(DWORD argc, LPSTR *argv)
{
    (void)argc;
    (void)argv;
    ts_handle =
        RegisterServiceCtrlHandlerExA(ts_conf.tc_name, ts_handler, NULL);
    if (ts_handle == NULL)
        return;
    ts_start_no = ts_count_starts() + 1;
    ts_log("start");
    if (ts_start_no == ts_conf.tc_fail_start) {
        ts_log("start-failed");
        ts_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        ts_status.dwServiceSpecificExitCode = TS_FAILED_EXIT;
        ts_set(SERVICE_STOPPED, 0, 0);
        return;
    }
    ts_stop_ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (ts_stop_ev == NULL) {
        ts_status.dwWin32ExitCode = GetLastError();
        ts_set(SERVICE_STOPPED, 0, 0);
        return;
    }
    ts_pending(SERVICE_START_PENDING, ts_conf.tc_start_ms, 1);
    ts_set(SERVICE_RUNNING, 0, 0);
    ts_log("running");
    while (WaitForSingleObject(ts_stop_ev, TS_STEP_MS) == WAIT_TIMEOUT)
        if (ts_quit())
            break;
    if (ts_conf.tc_stop == TS_STOP_HANG &&
        WaitForSingleObject(ts_stop_ev, 0) == WAIT_OBJECT_0) {
        ts_log("stop-hang");
        ts_pending(SERVICE_STOP_PENDING, ts_conf.tc_hang_ms, 0);
    } else {
        ts_log("stop-pending");
        ts_pending(SERVICE_STOP_PENDING, ts_conf.tc_stop_ms, 1);
    }
    ts_log("stopped");
    ts_status.dwWin32ExitCode = NO_ERROR;
    ts_set(SERVICE_STOPPED, 0, 0);
    CloseHandle(ts_stop_ev);
}

static int
ts_num(const char *s, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
ts_parse(int argc, char **argv)
{
    long v;

    ts_conf.tc_hang_ms = 20000;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (val == NULL)
            return -1;
        i++;
        if (strcmp(opt, "--name") == 0) {
            ts_conf.tc_name = val;
        } else if (strcmp(opt, "--log") == 0) {
            ts_conf.tc_log = val;
        } else if (strcmp(opt, "--stop") == 0) {
            if (strcmp(val, "ok") == 0)
                ts_conf.tc_stop = TS_STOP_OK;
            else if (strcmp(val, "ignore") == 0)
                ts_conf.tc_stop = TS_STOP_IGNORE;
            else if (strcmp(val, "hang") == 0)
                ts_conf.tc_stop = TS_STOP_HANG;
            else if (strcmp(val, "reject") == 0)
                ts_conf.tc_stop = TS_STOP_REJECT;
            else
                return -1;
        } else if (strcmp(opt, "--quit-file") == 0) {
            ts_conf.tc_quit = val;
        } else if (strcmp(opt, "--fail-start") == 0) {
            if (ts_num(val, 1000000, &ts_conf.tc_fail_start) == -1)
                return -1;
        } else if (strcmp(opt, "--start-ms") == 0) {
            if (ts_num(val, 600000, &v) == -1)
                return -1;
            ts_conf.tc_start_ms = (DWORD)v;
        } else if (strcmp(opt, "--stop-ms") == 0) {
            if (ts_num(val, 600000, &v) == -1)
                return -1;
            ts_conf.tc_stop_ms = (DWORD)v;
        } else if (strcmp(opt, "--hang-ms") == 0) {
            if (ts_num(val, 600000, &v) == -1)
                return -1;
            ts_conf.tc_hang_ms = (DWORD)v;
        } else {
            return -1;
        }
    }
    return ts_conf.tc_name != NULL && ts_conf.tc_log != NULL ? 0 : -1;
}

static int
ts_probe_delayed(const char *name)
{
    SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
    SC_HANDLE mgr, h = NULL;
    DWORD e = 0;

    mgr = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
    if (mgr != NULL)
        h = OpenServiceA(mgr, name, SERVICE_CHANGE_CONFIG);
    if (h == NULL || !ChangeServiceConfig2W(
                         h, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed))
        e = GetLastError();
    if (h != NULL)
        CloseServiceHandle(h);
    if (mgr != NULL)
        CloseServiceHandle(mgr);
    if (e != 0)
        printf("delayed-autostart: error %lu\n", (unsigned long)e);
    else
        printf("delayed-autostart: ok\n");
    return 0;
}

int
main(int argc, char **argv)
{
    SERVICE_TABLE_ENTRYA table[2];

    if (argc == 3 && strcmp(argv[1], "--probe-delayed") == 0)
        return ts_probe_delayed(argv[2]);

    if (ts_parse(argc, argv) == -1) {
        fprintf(stderr,
                "usage: wsus-testsvc --name NAME --log FILE [--start-ms N] "
                "[--stop ok|ignore|hang|reject] [--stop-ms N] [--hang-ms N] "
                "[--fail-start K] [--quit-file FILE]\n");
        return 2;
    }
    memset(table, 0, sizeof(table));
    table[0].lpServiceName = ts_conf.tc_name;
    table[0].lpServiceProc = ts_main;
    if (!StartServiceCtrlDispatcherA(table)) {
        fprintf(stderr,
                "wsus-testsvc: not started by the service manager "
                "(error %lu)\n",
                (unsigned long)GetLastError());
        return 1;
    }
    return 0;
}
