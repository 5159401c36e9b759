/*
 * svc_win32.c - wsus-shim as a service of the Windows service control
 * manager (SCM).
 *
 *   wsus-shim install [-c FILE] [--account NAME]
 *                                 create the service (automatic start,
 *                                 restart on failure) and the Event Log
 *                                 source; FILE is stored as an absolute
 *                                 path; NAME is the account it runs as
 *                                 (svcacct.h), given "Log on as a service"
 *                                 and Modify on the log and cache folders
 *   wsus-shim uninstall           stop it if running, delete both
 *   wsus-shim start | stop        start or stop it and wait for the result
 *   wsus-shim reload | stats      have it read its conf again, or log its
 *                                 counters (SERVICE_CONTROL_PARAMCHANGE,
 *                                 user control 128)
 *
 * Under the SCM the process reports START_PENDING while it reads the conf
 * and opens the cache, RUNNING once it listens, and STOP_PENDING with the
 * drain as wait hint when asked to stop; STOPPED carries the exit code.
 * The SCM's handler runs on the dispatcher's thread: it only writes one
 * byte to the control socket, which the event loop reads (svc.h).
 * Started from a console (or with -f), the same program runs in the
 * foreground and Ctrl+C, Ctrl+Break and closing the window drain it.
 */
#include <winsock2.h>
#include <windows.h>
#include <aclapi.h>
#include <ntsecapi.h>
#include <sddl.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "log.h"
#include "plat.h"
#include "svc.h"
#include "svcacct.h"

#define SVC_DISPLAY "WSUS shim (HTTP/1.1 repair proxy for BITS)"
#define SVC_DESCRIPTION                                                        \
    "Local proxy between WSUS and a legacy HTTP/1.0 upstream proxy: "          \
    "answers BITS ranges from a SHA-1-verified cache, gives HEAD exact "       \
    "lengths, tunnels CONNECT. Conf: %ProgramData%\\wsus-shim\\."
#define SVC_EVLOG_KEY                                                          \
    "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" SVC_NAME
/* A user-defined control code (128-255): log the counters, like SIGUSR1.
 * Send it with `sc control wsus-shim 128`. */
#define SVC_CONTROL_STATS 128
/* Reading the conf and opening a large cache can take a while. */
#define SVC_START_HINT_MS 60000
/* Extra time for the stop beyond the drain: closing and flushing logs. */
#define SVC_STOP_MARGIN_MS 10000
/* The longest `start`/`stop` waits when the service makes no progress
 * and names no wait hint. */
#define SVC_WAIT_CAP_MS (15 * 60 * 1000)

static CRITICAL_SECTION svc_lock; /* svc_status, ctl_wr */
static int svc_lock_ready;
static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static uint32_t svc_stop_hint_ms = 30000 + SVC_STOP_MARGIN_MS;
static int svc_mode;
static evutil_socket_t ctl_rd = -1, ctl_wr = -1;

static int (*svc_fn)(void *);
static void *svc_arg;
static int svc_rc;

/* The system's text for a Win32 error code. */
static const char *
win_error(DWORD err, char *buf, size_t len)
{
    DWORD n = FormatMessageA(
        FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
            FORMAT_MESSAGE_MAX_WIDTH_MASK,
        NULL, err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf, (DWORD)len,
        NULL);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '.' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        buf[--n] = '\0';
    if (n == 0)
        snprintf(buf, len, "error %lu", (unsigned long)err);
    return buf;
}

/* "wsus-shim: what: <Win32 text> (code)" on stderr; returns exit code 1. */
static int
fail(const char *what)
{
    DWORD err = GetLastError();
    char text[256];

    fprintf(stderr, "wsus-shim: %s: %s (%lu)\n", what,
            win_error(err, text, sizeof(text)), (unsigned long)err);
    return 1;
}

static void
lock_init(void)
{
    if (!svc_lock_ready) {
        InitializeCriticalSection(&svc_lock);
        svc_lock_ready = 1;
    }
}

/* ---- the control channel ----------------------------------------------- */

static void
ctl_send(char c)
{
    EnterCriticalSection(&svc_lock);
    if (ctl_wr != -1)
        send(ctl_wr, &c, 1, 0);
    LeaveCriticalSection(&svc_lock);
}

int
svc_control_open(evutil_socket_t *fd)
{
    evutil_socket_t pair[2];

    *fd = -1;
    lock_init();
    if (evutil_socketpair(AF_INET, SOCK_STREAM, 0, pair) == -1)
        return -1;
    evutil_make_socket_nonblocking(pair[0]);
    EnterCriticalSection(&svc_lock);
    ctl_rd = pair[0];
    ctl_wr = pair[1];
    LeaveCriticalSection(&svc_lock);
    *fd = ctl_rd;
    return 0;
}

void
svc_control_close(void)
{
    if (!svc_lock_ready)
        return;
    EnterCriticalSection(&svc_lock);
    if (ctl_wr != -1)
        evutil_closesocket(ctl_wr);
    if (ctl_rd != -1)
        evutil_closesocket(ctl_rd);
    ctl_wr = ctl_rd = -1;
    LeaveCriticalSection(&svc_lock);
}

/* ---- status reports ----------------------------------------------------- */

/* Report state to the SCM. The check point advances on every report of
 * a pending state and is 0 otherwise. Caller holds svc_lock. */
static void
report_locked(DWORD state, DWORD hint_ms)
{
    if (svc_handle == NULL)
        return;
    if (state != svc_status.dwCurrentState)
        svc_status.dwCheckPoint = 0;
    svc_status.dwCurrentState = state;
    svc_status.dwWaitHint = hint_ms;
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
        svc_status.dwCheckPoint++;
    else
        svc_status.dwCheckPoint = 0;
    svc_status.dwControlsAccepted = state == SERVICE_RUNNING
                                        ? SERVICE_ACCEPT_STOP |
                                              SERVICE_ACCEPT_SHUTDOWN |
                                              SERVICE_ACCEPT_PARAMCHANGE
                                        : 0;
    SetServiceStatus(svc_handle, &svc_status);
}

static void
report(DWORD state, DWORD hint_ms)
{
    EnterCriticalSection(&svc_lock);
    report_locked(state, hint_ms);
    LeaveCriticalSection(&svc_lock);
}

void
svc_report_running(uint32_t stop_wait_ms)
{
    if (!svc_mode)
        return;
    svc_stop_hint_ms = stop_wait_ms + SVC_STOP_MARGIN_MS;
    report(SERVICE_RUNNING, 0);
}

void
svc_report_stopping(void)
{
    if (svc_mode)
        report(SERVICE_STOP_PENDING, svc_stop_hint_ms);
}

int
svc_log_path(const char *leaf, char *buf, size_t len)
{
    const char *dir = plat_default_log_dir();

    if (!svc_mode || dir == NULL)
        return -1;
    plat_mkdirs(dir);
    snprintf(buf, len, "%s\\%s", dir, leaf);
    return 0;
}

int
svc_syslog_mirror(void)
{
    return LOG_LVL_WARN;
}

int
svc_is_service(void)
{
    return svc_mode;
}

/* ---- running under the SCM or in a console ----------------------------- */

static DWORD WINAPI
svc_handler(DWORD ctl, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (ctl) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        /* The SCM sees the stop accepted at once; the loop drains. */
        svc_report_stopping();
        ctl_send(SVC_CTL_STOP);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        ctl_send(SVC_CTL_RELOAD);
        return NO_ERROR;
    case SVC_CONTROL_STATS:
        ctl_send(SVC_CTL_STATS);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI
svc_main(DWORD argc, LPSTR *argv)
{
    (void)argc;
    (void)argv;
    svc_handle = RegisterServiceCtrlHandlerExA(SVC_NAME, svc_handler, NULL);
    if (svc_handle == NULL) {
        svc_rc = 1;
        return;
    }
    memset(&svc_status, 0, sizeof(svc_status));
    svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    report(SERVICE_START_PENDING, SVC_START_HINT_MS);

    svc_rc = svc_fn(svc_arg);

    EnterCriticalSection(&svc_lock);
    if (svc_rc == 0) {
        svc_status.dwWin32ExitCode = NO_ERROR;
    } else {
        svc_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        svc_status.dwServiceSpecificExitCode = (DWORD)svc_rc;
    }
    report_locked(SERVICE_STOPPED, 0);
    LeaveCriticalSection(&svc_lock);
}

static BOOL WINAPI
console_handler(DWORD ev)
{
    int open;

    if (ev != CTRL_C_EVENT && ev != CTRL_BREAK_EVENT &&
        ev != CTRL_CLOSE_EVENT && ev != CTRL_SHUTDOWN_EVENT)
        return FALSE;
    EnterCriticalSection(&svc_lock);
    open = ctl_wr != -1;
    LeaveCriticalSection(&svc_lock);
    if (!open)
        return FALSE; /* not serving yet: the default ends the process */
    ctl_send(SVC_CTL_STOP);
    return TRUE;
}

int
svc_run(int (*fn)(void *), void *arg, int console)
{
    lock_init();
    svc_fn = fn;
    svc_arg = arg;
    if (!console) {
        static char name[] = SVC_NAME;
        SERVICE_TABLE_ENTRYA table[] = {{name, svc_main}, {NULL, NULL}};

        svc_mode = 1;
        /* Returns once the service stopped; fails at once when the SCM
         * did not start this process. */
        if (StartServiceCtrlDispatcherA(table))
            return svc_rc;
        svc_mode = 0;
        if (GetLastError() != ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
            return fail("cannot connect to the service control manager");
    }
    SetConsoleCtrlHandler(console_handler, TRUE);
    return fn(arg);
}

/* ---- the verbs ---------------------------------------------------------- */

void
svc_usage(FILE *out)
{
    fprintf(
        out,
        "       wsus-shim install [-c FILE] [--account NAME] | uninstall |\n"
        "                 start | stop | reload | stats\n"
        "  install    register the Windows service '%s' (automatic "
        "start)\n"
        "             and its Event Log source; FILE defaults to\n"
        "             %%ProgramData%%\\wsus-shim\\wsus-shim.conf; NAME: the\n"
        "             account it runs as (LocalSystem by default,\n"
        "             NetworkService, DOMAIN\\gmsa$, DOMAIN\\user: its\n"
        "             password is asked for)\n"
        "  uninstall  stop and remove the service and the source\n"
        "  start, stop  start or stop the service and wait for it\n"
        "  reload     have the running service read its conf again\n"
        "             (also: sc control %s paramchange)\n"
        "  stats      have it log its counters (sc control %s %d)\n",
        SVC_NAME, SVC_NAME, SVC_NAME, SVC_CONTROL_STATS);
}

int
svc_is_verb(const char *w)
{
    return strcmp(w, "install") == 0 || strcmp(w, "uninstall") == 0 ||
           strcmp(w, "start") == 0 || strcmp(w, "stop") == 0 ||
           strcmp(w, "reload") == 0 || strcmp(w, "stats") == 0;
}

static const char *
state_name(DWORD s)
{
    switch (s) {
    case SERVICE_STOPPED:
        return "stopped";
    case SERVICE_START_PENDING:
        return "start pending";
    case SERVICE_STOP_PENDING:
        return "stop pending";
    case SERVICE_RUNNING:
        return "running";
    default:
        return "paused";
    }
}

static int
query(SC_HANDLE s, SERVICE_STATUS_PROCESS *st)
{
    DWORD need;

    return QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (LPBYTE)st,
                                sizeof(*st), &need)
               ? 0
               : -1;
}

/*
 * Wait while the service is in state pending. Polls every tenth of its
 * wait hint (between 100 ms and 1 s) and gives up when the check point
 * has not moved for a whole wait hint plus a margin, as the SCM's own
 * rules say; never longer than SVC_WAIT_CAP_MS in all. Returns 0 when
 * the state became want.
 */
static int
wait_state(SC_HANDLE s, DWORD pending, DWORD want, SERVICE_STATUS_PROCESS *st)
{
    ULONGLONG start = GetTickCount64(), moved = start;
    DWORD cp;

    if (query(s, st) == -1)
        return -1;
    cp = st->dwCheckPoint;
    while (st->dwCurrentState == pending) {
        DWORD hint = st->dwWaitHint != 0 ? st->dwWaitHint : 5000;
        DWORD nap = hint / 10 < 100 ? 100 : hint / 10 > 1000 ? 1000 : hint / 10;
        ULONGLONG now;

        Sleep(nap);
        if (query(s, st) == -1)
            return -1;
        now = GetTickCount64();
        if (st->dwCheckPoint != cp) {
            cp = st->dwCheckPoint;
            moved = now;
        } else if (now - moved > (ULONGLONG)hint + 5000) {
            break;
        }
        if (now - start > SVC_WAIT_CAP_MS)
            break;
    }
    return st->dwCurrentState == want ? 0 : -1;
}

static SC_HANDLE
open_service(DWORD access, SC_HANDLE *scm)
{
    SC_HANDLE s;

    *scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
    if (*scm == NULL) {
        fail("cannot open the service control manager");
        return NULL;
    }
    s = OpenServiceA(*scm, SVC_NAME, access);
    if (s == NULL) {
        fail("cannot open the service " SVC_NAME);
        CloseServiceHandle(*scm);
        *scm = NULL;
    }
    return s;
}

static int
report_exit(const SERVICE_STATUS_PROCESS *st)
{
    char text[256];

    if (st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR)
        fprintf(stderr,
                "wsus-shim: the service exited with code %lu; its "
                "log file and the Application event log say why\n",
                (unsigned long)st->dwServiceSpecificExitCode);
    else if (st->dwWin32ExitCode != NO_ERROR)
        fprintf(stderr, "wsus-shim: the service exited: %s (%lu)\n",
                win_error(st->dwWin32ExitCode, text, sizeof(text)),
                (unsigned long)st->dwWin32ExitCode);
    return 1;
}

static int
do_start(void)
{
    SC_HANDLE scm, s = open_service(SERVICE_START | SERVICE_QUERY_STATUS, &scm);
    SERVICE_STATUS_PROCESS st;
    int rc = 1;

    if (s == NULL)
        return 1;
    if (!StartServiceA(s, 0, NULL)) {
        if (GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
            fail("cannot start " SVC_NAME);
            goto out;
        }
        printf("%s is already running\n", SVC_NAME);
    }
    if (wait_state(s, SERVICE_START_PENDING, SERVICE_RUNNING, &st) == 0) {
        printf("%s is running (pid %lu)\n", SVC_NAME,
               (unsigned long)st.dwProcessId);
        rc = 0;
    } else {
        fprintf(stderr, "wsus-shim: %s did not start: %s\n", SVC_NAME,
                state_name(st.dwCurrentState));
        report_exit(&st);
    }
out:
    CloseServiceHandle(s);
    CloseServiceHandle(scm);
    return rc;
}

/* Ask s to stop and wait; 0 when it is stopped. */
static int
stop_and_wait(SC_HANDLE s)
{
    SERVICE_STATUS ss;
    SERVICE_STATUS_PROCESS st;

    if (query(s, &st) == 0 && st.dwCurrentState == SERVICE_STOPPED)
        return 0;
    if (!ControlService(s, SERVICE_CONTROL_STOP, &ss) &&
        GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
        fail("cannot stop " SVC_NAME);
        return -1;
    }
    if (wait_state(s, SERVICE_STOP_PENDING, SERVICE_STOPPED, &st) == 0)
        return 0;
    fprintf(stderr, "wsus-shim: %s did not stop: %s\n", SVC_NAME,
            state_name(st.dwCurrentState));
    return -1;
}

static int
do_stop(void)
{
    SC_HANDLE scm, s = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS, &scm);
    int rc = 1;

    if (s == NULL)
        return 1;
    if (stop_and_wait(s) == 0) {
        printf("%s is stopped\n", SVC_NAME);
        rc = 0;
    }
    CloseServiceHandle(s);
    CloseServiceHandle(scm);
    return rc;
}

/* Send a control that needs no waiting (reload, stats). */
static int
do_control(DWORD code, const char *what)
{
    SC_HANDLE scm,
        s = open_service(SERVICE_PAUSE_CONTINUE | SERVICE_USER_DEFINED_CONTROL |
                             SERVICE_INTERROGATE,
                         &scm);
    SERVICE_STATUS ss;
    int rc = 1;

    if (s == NULL)
        return 1;
    if (!ControlService(s, code, &ss)) {
        fail(what);
    } else {
        printf("%s: done; the service's log has the result\n", what);
        rc = 0;
    }
    CloseServiceHandle(s);
    CloseServiceHandle(scm);
    return rc;
}

/* The Event Log source: the viewer takes the message texts from the
 * message table compiled into this executable (wsus-shim.mc). */
static int
evlog_register(const char *exe)
{
    HKEY k;
    DWORD types =
        EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    LONG r = RegCreateKeyExA(HKEY_LOCAL_MACHINE, SVC_EVLOG_KEY, 0, NULL, 0,
                             KEY_SET_VALUE, NULL, &k, NULL);

    if (r != ERROR_SUCCESS) {
        SetLastError((DWORD)r);
        return fail("cannot register the Event Log source");
    }
    r = RegSetValueExA(k, "EventMessageFile", 0, REG_EXPAND_SZ,
                       (const BYTE *)exe, (DWORD)strlen(exe) + 1);
    if (r == ERROR_SUCCESS)
        r = RegSetValueExA(k, "TypesSupported", 0, REG_DWORD,
                           (const BYTE *)&types, sizeof(types));
    RegCloseKey(k);
    if (r != ERROR_SUCCESS) {
        SetLastError((DWORD)r);
        return fail("cannot register the Event Log source");
    }
    return 0;
}

/* Grant "Log on as a service" (SeServiceLogonRight) to the account: the
 * SCM does not, and without it the start fails with error 1069. */
static int
grant_logon_right(const char *name)
{
    BYTE sidbuf[SECURITY_MAX_SID_SIZE];
    char dom[256];
    DWORD sidlen = sizeof(sidbuf), domlen = sizeof(dom);
    SID_NAME_USE use;
    LSA_OBJECT_ATTRIBUTES oa;
    LSA_HANDLE pol;
    static WCHAR right[] = L"SeServiceLogonRight";
    LSA_UNICODE_STRING r = {sizeof(right) - sizeof(WCHAR), sizeof(right),
                            right};
    NTSTATUS st;

    if (!LookupAccountNameA(NULL, name, (PSID)sidbuf, &sidlen, dom, &domlen,
                            &use))
        return fail("cannot find the account");
    memset(&oa, 0, sizeof(oa));
    st = LsaOpenPolicy(NULL, &oa, POLICY_CREATE_ACCOUNT | POLICY_LOOKUP_NAMES,
                       &pol);
    if (st == 0) {
        st = LsaAddAccountRights(pol, (PSID)sidbuf, &r, 1);
        LsaClose(pol);
    }
    if (st != 0) {
        SetLastError(LsaNtStatusToWinError(st));
        return fail("cannot grant 'Log on as a service'");
    }
    return 0;
}

/* Give the account Modify on dir (made if missing), inherited by what is
 * below it: the service writes its logs and cache there. */
static int
grant_dir(const char *name, const char *dir)
{
    EXPLICIT_ACCESSA ea;
    PACL old = NULL, acl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD r;

    if (!CreateDirectoryA(dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return fail(dir);
    memset(&ea, 0, sizeof(ea));
    ea.grfAccessPermissions =
        FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE;
    ea.grfAccessMode = GRANT_ACCESS;
    ea.grfInheritance = SUB_CONTAINERS_AND_OBJECTS_INHERIT;
    ea.Trustee.TrusteeForm = TRUSTEE_IS_NAME;
    ea.Trustee.ptstrName = (LPSTR)(uintptr_t)name;
    r = GetNamedSecurityInfoA(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                              NULL, NULL, &old, NULL, &sd);
    if (r == ERROR_SUCCESS)
        r = SetEntriesInAclA(1, &ea, old, &acl);
    if (r == ERROR_SUCCESS)
        r = SetNamedSecurityInfoA((LPSTR)(uintptr_t)dir, SE_FILE_OBJECT,
                                  DACL_SECURITY_INFORMATION, NULL, NULL, acl,
                                  NULL);
    if (acl != NULL)
        LocalFree(acl);
    if (sd != NULL)
        LocalFree(sd);
    if (r != ERROR_SUCCESS) {
        SetLastError(r);
        return fail(dir);
    }
    return 0;
}

/* What the account needs beyond the service entry; failures are
 * reported as warnings with the manual step, the install stands. */
static void
grant_account(const struct svcacct *a)
{
    const char *dirs[] = {plat_default_log_dir(), plat_default_cache_dir()};

    if (a->sa_kind == SVCACCT_LOCAL_SYSTEM)
        return;
    if (a->sa_logon_right && grant_logon_right(a->sa_name) != 0)
        fprintf(stderr,
                "wsus-shim: warning: grant it by hand: Local "
                "Security Policy > User Rights Assignment > Log on as a "
                "service > add %s\n",
                a->sa_name);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (dirs[i] != NULL && grant_dir(a->sa_name, dirs[i]) != 0)
            fprintf(stderr,
                    "wsus-shim: warning: grant it by hand: icacls "
                    "\"%s\" /grant \"%s:(OI)(CI)M\"\n",
                    dirs[i], a->sa_name);
    if (!a->sa_network_id)
        fprintf(stderr,
                "wsus-shim: warning: %s has no identity on the "
                "network: Negotiate and NTLM need user and a password in "
                "the conf\n",
                a->sa_name);
}

static int
do_install(const char *conf, const char *account)
{
    struct svcacct acct;
    char pw[256], aerr[256];
    char exe[MAX_PATH], full[MAX_PATH], cmd[3 * MAX_PATH];
    SC_HANDLE scm, s;
    DWORD n = GetModuleFileNameA(NULL, exe, sizeof(exe));
    static char desc_text[] = SVC_DESCRIPTION;
    SERVICE_DESCRIPTIONA desc = {desc_text};
    /* Restart after 10 s, twice; the failure count resets after a day. */
    SC_ACTION acts[] = {{SC_ACTION_RESTART, 10000},
                        {SC_ACTION_RESTART, 10000},
                        {SC_ACTION_NONE, 0}};
    SERVICE_FAILURE_ACTIONSA fa = {86400, NULL, NULL, 3, acts};
    int rc = 1;

    if (n == 0 || n >= sizeof(exe))
        return fail("cannot find this program's path");
    if (svcacct_resolve(account, &acct, aerr, sizeof(aerr)) == -1) {
        fprintf(stderr, "wsus-shim: %s\n", aerr);
        return 2;
    }
    pw[0] = '\0';
    if (acct.sa_password) {
        char prompt[300];
        snprintf(prompt, sizeof(prompt), "Password of %s: ", acct.sa_name);
        if (plat_read_secret(prompt, pw, sizeof(pw)) == -1) {
            fprintf(stderr, "wsus-shim: no password read for %s\n",
                    acct.sa_name);
            return 2;
        }
    }
    if (conf != NULL) {
        n = GetFullPathNameA(conf, sizeof(full), full, NULL);
        if (n == 0 || n >= sizeof(full))
            return fail(conf);
        snprintf(cmd, sizeof(cmd), "\"%s\" -c \"%s\"", exe, full);
    } else {
        snprintf(cmd, sizeof(cmd), "\"%s\"", exe);
    }
    scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (scm == NULL)
        return fail("cannot open the service control manager (run as "
                    "Administrator)");
    /* Started at boot after the TCP/IP stack, as LocalSystem unless an
     * account was given. The password goes to the SCM only. */
    s = CreateServiceA(scm, SVC_NAME, SVC_DISPLAY, SERVICE_ALL_ACCESS,
                       SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                       SERVICE_ERROR_NORMAL, cmd, NULL, NULL, "Tcpip\0",
                       acct.sa_name[0] != '\0' ? acct.sa_name : NULL,
                       acct.sa_password ? pw : NULL);
    SecureZeroMemory(pw, sizeof(pw));
    if (s == NULL) {
        fail("cannot create the service " SVC_NAME);
        goto out;
    }
    if (!ChangeServiceConfig2A(s, SERVICE_CONFIG_DESCRIPTION, &desc))
        fail("warning: cannot set the service description");
    if (!ChangeServiceConfig2A(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa))
        fail("warning: cannot set the restart-on-failure actions");
    if (evlog_register(exe) != 0) {
        DeleteService(s);
        goto out;
    }
    grant_account(&acct);
    printf("installed service %s: %s (as %s)\n", SVC_NAME, cmd,
           acct.sa_name[0] != '\0' ? acct.sa_name : "LocalSystem");
    printf("start it with: wsus-shim start   (or: sc start %s)\n", SVC_NAME);
    rc = 0;
out:
    if (s != NULL)
        CloseServiceHandle(s);
    CloseServiceHandle(scm);
    return rc;
}

static int
do_uninstall(void)
{
    SC_HANDLE scm,
        s = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &scm);
    int rc = 1;

    if (s == NULL)
        return 1;
    if (stop_and_wait(s) == -1)
        goto out;
    if (!DeleteService(s)) {
        fail("cannot delete the service " SVC_NAME);
        goto out;
    }
    RegDeleteKeyA(HKEY_LOCAL_MACHINE, SVC_EVLOG_KEY);
    printf("removed service %s\n", SVC_NAME);
    rc = 0;
out:
    CloseServiceHandle(s);
    CloseServiceHandle(scm);
    return rc;
}

int
svc_verb(const char *verb, const char *conf, const char *account)
{
    if (strcmp(verb, "install") == 0)
        return do_install(conf, account);
    if (strcmp(verb, "uninstall") == 0)
        return do_uninstall();
    if (strcmp(verb, "start") == 0)
        return do_start();
    if (strcmp(verb, "stop") == 0)
        return do_stop();
    if (strcmp(verb, "reload") == 0)
        return do_control(SERVICE_CONTROL_PARAMCHANGE, "reload");
    if (strcmp(verb, "stats") == 0)
        return do_control(SVC_CONTROL_STATS, "stats");
    return 2;
}
