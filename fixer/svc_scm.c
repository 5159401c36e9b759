/*
 * svc_scm.c - the Windows Service Control Manager backend of svcctl.h:
 * OpenSCManager/OpenService, ControlService(STOP), StartService,
 * QueryServiceStatusEx (the wait hint and check point pace every wait),
 * and ChangeServiceConfig for a disabled service. Everything is behind
 * _WIN32; elsewhere svc_scm_open() only fails.
 *
 * Dependent services: Windows refuses to stop a service while services
 * that depend on it run (ERROR_DEPENDENT_SERVICES_RUNNING). so_stop
 * therefore stops the running dependents first (theirs before them),
 * remembers them, and so_start starts them again once the service runs.
 * When the service will not stop, the dependents already stopped are
 * started again before so_stop fails, so everything ends as it was.
 * Dependents are found from each active service's configured
 * dependencies (EnumServicesStatusEx, then QueryServiceConfig and the
 * DependOnService value of the SCM's registry database) rather than with
 * EnumDependentServices: Wine implements that as a stub that returns
 * none, and its QueryServiceConfig returns no dependencies. On Windows
 * the sources agree, and the code the Wine tests run is the code Windows
 * runs. Load-order group dependencies ("+group") are not followed: WSUS
 * uses none.
 *
 * Tested under Wine's service manager by tests/win/test_fixer_wine.py.
 */
#include <stdio.h>

#include "svcctl.h"

#ifdef _WIN32
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "fplat.h"

/* Polls while waiting: a tenth of the wait hint, within these bounds. */
#define SCM_STEP_MIN_MS 100
#define SCM_STEP_MAX_MS 10000
/* Service names: the SCM's limit is 256 characters. */
#define SCM_NAME_MAX 257
/* Dependents stopped with one service, and how deep their chain may be. */
#define SCM_DEPS_MAX 32
#define SCM_DEPTH_MAX 8
/* EnumServicesStatusEx takes at most 256 KB per call. */
#define SCM_ENUM_BUF_MAX (256 * 1024)
#define SCM_ENUM_PASSES 64

struct svc_scm {
    SC_HANDLE sm_mgr;
    /* The dependents that so_stop of sm_parent stopped and that are not
     * running again yet, in the order they were stopped. */
    char sm_parent[SCM_NAME_MAX];
    char sm_deps[SCM_DEPS_MAX][SCM_NAME_MAX];
    size_t sm_ndeps;
};

/* FormatMessage's text for code, without the trailing newline and dot;
 * "error N" when the system has no text. */
static void
svc_scm_text(DWORD code, char *buf, size_t len)
{
    DWORD n;

    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                           FORMAT_MESSAGE_IGNORE_INSERTS,
                       NULL, code, 0, buf, (DWORD)len, NULL);
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' ||
                     buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    if (n == 0)
        snprintf(buf, len, "error %lu", (unsigned long)code);
}

/* err = "WHAT NAME: <system text> (CODE)". */
static void
svc_scm_err(char *err, size_t errlen, const char *what, const char *name,
            DWORD code)
{
    char msg[256];

    svc_scm_text(code, msg, sizeof(msg));
    snprintf(err, errlen, "%s %s: %s (%lu)", what, name, msg,
             (unsigned long)code);
}

static enum svc_state
svc_scm_map(DWORD s)
{
    switch (s) {
    case SERVICE_STOPPED:
        return SVC_STOPPED;
    case SERVICE_START_PENDING:
    case SERVICE_CONTINUE_PENDING:
        return SVC_START_PENDING;
    case SERVICE_STOP_PENDING:
    case SERVICE_PAUSE_PENDING:
        return SVC_STOP_PENDING;
    case SERVICE_RUNNING:
        return SVC_RUNNING;
    case SERVICE_PAUSED:
        return SVC_PAUSED;
    }
    return SVC_UNKNOWN;
}

static int
svc_scm_pending(DWORD s)
{
    return s == SERVICE_START_PENDING || s == SERVICE_STOP_PENDING ||
           s == SERVICE_CONTINUE_PENDING || s == SERVICE_PAUSE_PENDING;
}

static const char *
svc_scm_state_name(DWORD s)
{
    return svc_state_name(svc_scm_map(s));
}

/* Why a service that was asked to start is STOPPED again. */
static void
svc_scm_exit_err(const SERVICE_STATUS_PROCESS *ss, const char *name, char *err,
                 size_t errlen)
{
    char msg[256];

    if (ss->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR) {
        snprintf(err, errlen,
                 "%s stopped while starting: service-specific exit code "
                 "%lu",
                 name, (unsigned long)ss->dwServiceSpecificExitCode);
    } else if (ss->dwWin32ExitCode != NO_ERROR) {
        svc_scm_text(ss->dwWin32ExitCode, msg, sizeof(msg));
        snprintf(err, errlen, "%s stopped while starting: %s (%lu)", name, msg,
                 (unsigned long)ss->dwWin32ExitCode);
    } else {
        snprintf(err, errlen, "%s stopped while starting, without an exit code",
                 name);
    }
}

/*
 * Wait until h (the service name) is in state want, at most timeout_ms
 * from t0. Polls at a tenth of the wait hint (100 ms to 10 s) and follows
 * the check point. Waiting for RUNNING, a service back in STOPPED has
 * failed to start: that ends the wait at once, with its exit code. The
 * loop is bounded by the clock and by a count of polls. Returns 0, or -1
 * with err; on a timeout err says whether the check point was still
 * moving or had stayed put for longer than the wait hint (a hung
 * service rather than a slow one).
 *
 * Unlike Microsoft's service samples, a check point that stays put does
 * not end the wait before timeout_ms: .NET services such as WSUSService
 * report STOP_PENDING with a zero wait hint and no check points at all,
 * and a service that is slow rather than hung must get the whole timeout,
 * because giving up early turns a run that would succeed into exit 3.
 */
static int
svc_scm_wait(SC_HANDLE h, const char *name, DWORD want, uint64_t t0,
             uint32_t timeout_ms, char *err, size_t errlen)
{
    SERVICE_STATUS_PROCESS ss;
    DWORD need = 0, state = 0, check = 0;
    uint64_t progress = 0, now = 0;
    uint64_t max_polls = timeout_ms / SCM_STEP_MIN_MS + 2;
    size_t used;

    memset(&ss, 0, sizeof(ss));
    for (uint64_t i = 0; i < max_polls; i++) {
        uint64_t spent;
        DWORD step;

        memset(&ss, 0, sizeof(ss));
        if (!QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (LPBYTE)&ss,
                                  sizeof(ss), &need)) {
            svc_scm_err(err, errlen, "query", name, GetLastError());
            return -1;
        }
        if (ss.dwCurrentState == want)
            return 0;
        if (want == SERVICE_RUNNING && ss.dwCurrentState == SERVICE_STOPPED) {
            svc_scm_exit_err(&ss, name, err, errlen);
            return -1;
        }
        now = fplat_now_ms();
        if (i == 0 || ss.dwCurrentState != state || ss.dwCheckPoint != check) {
            state = ss.dwCurrentState;
            check = ss.dwCheckPoint;
            progress = now;
        }
        spent = now > t0 ? now - t0 : 0;
        if (spent >= timeout_ms)
            break;
        step = ss.dwWaitHint / 10;
        if (step < SCM_STEP_MIN_MS)
            step = SCM_STEP_MIN_MS;
        if (step > SCM_STEP_MAX_MS)
            step = SCM_STEP_MAX_MS;
        if (step > timeout_ms - spent)
            step = (DWORD)(timeout_ms - spent);
        Sleep(step);
    }
    snprintf(err, errlen, "%s is still %s %u s after the request", name,
             svc_scm_state_name(ss.dwCurrentState),
             (unsigned)((timeout_ms + 999) / 1000));
    used = strlen(err);
    if (!svc_scm_pending(ss.dwCurrentState))
        return -1;
    if (ss.dwWaitHint > 0 && now - progress > ss.dwWaitHint)
        snprintf(err + used, errlen - used,
                 "; its check point has stayed at %lu for %lu ms, longer "
                 "than its wait hint (%lu ms): it looks hung",
                 (unsigned long)check, (unsigned long)(now - progress),
                 (unsigned long)ss.dwWaitHint);
    else
        snprintf(err + used, errlen - used,
                 "; its check point is at %lu (wait hint %lu ms)",
                 (unsigned long)check, (unsigned long)ss.dwWaitHint);
    return -1;
}

/* Does the multi-string deps (QueryServiceConfig's lpDependencies) name
 * the service name? Groups ("+name") are skipped. */
static int
svc_scm_depends_on(const char *deps, const char *name)
{
    if (deps == NULL)
        return 0;
    for (const char *p = deps; *p != '\0'; p += strlen(p) + 1)
        if (*p != SC_GROUP_IDENTIFIERA && _stricmp(p, name) == 0)
            return 1;
    return 0;
}

/* DependOnService of service s in the SCM's database in the registry,
 * as a fresh multi-string the caller frees; NULL when it has none. */
static char *
svc_scm_reg_deps(const char *s)
{
    char key[SCM_NAME_MAX + 64];
    char *deps = NULL;
    DWORD type = 0, size = 0;
    HKEY hk;

    snprintf(key, sizeof(key), "SYSTEM\\CurrentControlSet\\Services\\%s", s);
    if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, key, 0, KEY_QUERY_VALUE, &hk) !=
        ERROR_SUCCESS)
        return NULL;
    if (RegQueryValueExA(hk, "DependOnService", NULL, &type, NULL, &size) ==
            ERROR_SUCCESS &&
        type == REG_MULTI_SZ && size > 0 && size < 64 * 1024 &&
        (deps = calloc(1, size + 2)) != NULL &&
        RegQueryValueExA(hk, "DependOnService", NULL, &type, (LPBYTE)deps,
                         &size) != ERROR_SUCCESS) {
        free(deps);
        deps = NULL;
    }
    /* calloc's two extra NULs end the list even if the data did not */
    RegCloseKey(hk);
    return deps;
}

/*
 * Does service s list name among the services it depends on? Windows
 * answers through QueryServiceConfig; Wine's returns no dependencies at
 * all, so the DependOnService value that CreateService and
 * ChangeServiceConfig store in the SCM's registry database (on Windows as
 * on Wine) is read as well. A service whose configuration cannot be read
 * counts as no: should that hide a dependent, ControlService refuses the
 * stop (ERROR_DEPENDENT_SERVICES_RUNNING) and the stop fails cleanly.
 */
static int
svc_scm_is_dependent(struct svc_scm *sm, const char *s, const char *name)
{
    QUERY_SERVICE_CONFIGA *qc = NULL;
    SC_HANDLE h;
    DWORD need = 0;
    char *deps;
    int r = 0;

    h = OpenServiceA(sm->sm_mgr, s, SERVICE_QUERY_CONFIG);
    if (h != NULL) {
        if ((QueryServiceConfigA(h, NULL, 0, &need) ||
             GetLastError() == ERROR_INSUFFICIENT_BUFFER) &&
            need > 0 && (qc = malloc(need)) != NULL &&
            QueryServiceConfigA(h, qc, need, &need))
            r = svc_scm_depends_on(qc->lpDependencies, name);
        free(qc);
        CloseServiceHandle(h);
    }
    if (!r && (deps = svc_scm_reg_deps(s)) != NULL) {
        r = svc_scm_depends_on(deps, name);
        free(deps);
    }
    return r;
}

static int
svc_scm_listed(char (*list)[SCM_NAME_MAX], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (_stricmp(list[i], name) == 0)
            return 1;
    return 0;
}

/*
 * Append to list (n entries of max) the active services that depend on
 * name, each after its own dependents (the order to stop them in); ones
 * already listed are skipped. Returns 0, or -1 with err. Past 80 lines
 * because EnumServicesStatusEx's grow-and-retry buffer, the filter and the
 * recursion share two allocations and one cleanup label.
 */
static int
svc_scm_collect(struct svc_scm *sm, const char *name, int depth,
                char (*list)[SCM_NAME_MAX], size_t max, size_t *n, char *err,
                size_t errlen)
{
    ENUM_SERVICE_STATUS_PROCESSA *all;
    char(*direct)[SCM_NAME_MAX] = NULL;
    size_t ndirect = 0;
    DWORD size = 16 * 1024, need = 0, count = 0, resume = 0;
    BYTE *buf = NULL;
    int rc = -1, done = 0;

    if (depth > SCM_DEPTH_MAX) {
        snprintf(err, errlen,
                 "the services depending on %s form a chain deeper than %d",
                 name, SCM_DEPTH_MAX);
        return -1;
    }
    direct = calloc(SCM_DEPS_MAX, sizeof(*direct));
    buf = malloc(size);
    if (direct == NULL || buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int pass = 0; !done && pass < SCM_ENUM_PASSES; pass++) {
        if (EnumServicesStatusExA(sm->sm_mgr, SC_ENUM_PROCESS_INFO,
                                  SERVICE_WIN32, SERVICE_ACTIVE, buf, size,
                                  &need, &count, &resume, NULL)) {
            done = 1;
        } else if (GetLastError() != ERROR_MORE_DATA) {
            svc_scm_err(err, errlen, "list", "the active services",
                        GetLastError());
            goto out;
        } else if (count == 0) {
            BYTE *nb;

            /* not even one entry fits: grow and ask again */
            if (need <= size || size >= SCM_ENUM_BUF_MAX) {
                snprintf(err, errlen,
                         "list the active services: the "
                         "service manager wants %lu bytes",
                         (unsigned long)need);
                goto out;
            }
            size = need < SCM_ENUM_BUF_MAX ? need : SCM_ENUM_BUF_MAX;
            nb = realloc(buf, size);
            if (nb == NULL) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            continue;
        }
        all = (ENUM_SERVICE_STATUS_PROCESSA *)(void *)buf;
        for (DWORD i = 0; i < count; i++) {
            const char *s = all[i].lpServiceName;

            if (s == NULL || strlen(s) >= SCM_NAME_MAX ||
                _stricmp(s, name) == 0 || svc_scm_listed(direct, ndirect, s) ||
                !svc_scm_is_dependent(sm, s, name))
                continue;
            if (ndirect == SCM_DEPS_MAX) {
                snprintf(err, errlen, "more than %d services depend on %s",
                         SCM_DEPS_MAX, name);
                goto out;
            }
            snprintf(direct[ndirect++], SCM_NAME_MAX, "%s", s);
        }
    }
    if (!done) {
        snprintf(err, errlen,
                 "list the active services: no end after %d "
                 "passes",
                 SCM_ENUM_PASSES);
        goto out;
    }
    for (size_t i = 0; i < ndirect; i++) {
        if (svc_scm_listed(list, *n, direct[i]))
            continue;
        if (svc_scm_collect(sm, direct[i], depth + 1, list, max, n, err,
                            errlen) == -1)
            goto out;
        if (*n == max) {
            snprintf(err, errlen, "more than %d services depend on %s",
                     (int)max, name);
            goto out;
        }
        snprintf(list[(*n)++], SCM_NAME_MAX, "%s", direct[i]);
    }
    rc = 0;
out:
    free(buf);
    free(direct);
    return rc;
}

/* Ask name to stop and wait for STOPPED (timeout_ms from t0). */
static int
svc_scm_stop_one(struct svc_scm *sm, const char *name, uint64_t t0,
                 uint32_t timeout_ms, char *err, size_t errlen)
{
    SERVICE_STATUS ss;
    SC_HANDLE h;
    int rc;

    h = OpenServiceA(sm->sm_mgr, name, SERVICE_STOP | SERVICE_QUERY_STATUS);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    memset(&ss, 0, sizeof(ss));
    if (!ControlService(h, SERVICE_CONTROL_STOP, &ss)) {
        DWORD e = GetLastError();

        /* already stopped, or already stopping: wait for STOPPED */
        if (e != ERROR_SERVICE_NOT_ACTIVE &&
            !(e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL &&
              ss.dwCurrentState == SERVICE_STOP_PENDING)) {
            svc_scm_err(err, errlen, "stop", name, e);
            CloseServiceHandle(h);
            return -1;
        }
    }
    rc = svc_scm_wait(h, name, SERVICE_STOPPED, t0, timeout_ms, err, errlen);
    CloseServiceHandle(h);
    return rc;
}

/* Start name and wait for RUNNING (timeout_ms from t0). A service still
 * stopping is first waited for, since it cannot be started before. */
static int
svc_scm_start_one(struct svc_scm *sm, const char *name, uint64_t t0,
                  uint32_t timeout_ms, char *err, size_t errlen)
{
    SERVICE_STATUS_PROCESS ss;
    SC_HANDLE h;
    DWORD need = 0;
    int rc = -1;

    h = OpenServiceA(sm->sm_mgr, name, SERVICE_START | SERVICE_QUERY_STATUS);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    memset(&ss, 0, sizeof(ss));
    if (QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (LPBYTE)&ss, sizeof(ss),
                             &need) &&
        ss.dwCurrentState == SERVICE_STOP_PENDING &&
        svc_scm_wait(h, name, SERVICE_STOPPED, t0, timeout_ms, err, errlen) ==
            -1) {
        size_t used = strlen(err);

        snprintf(err + used, errlen - used,
                 "; it cannot be started before it has stopped");
        goto out;
    }
    if (!StartServiceA(h, 0, NULL)) {
        DWORD e = GetLastError();
        char msg[256];

        if (e != ERROR_SERVICE_ALREADY_RUNNING) {
            size_t used;

            svc_scm_text(e, msg, sizeof(msg));
            snprintf(err, errlen, "%s (%lu)", msg, (unsigned long)e);
            /* A service that reports STOPPED while starting makes Wine's
             * StartService fail (1053); its exit code says why. */
            used = strlen(err);
            memset(&ss, 0, sizeof(ss));
            if (QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (LPBYTE)&ss,
                                     sizeof(ss), &need) &&
                ss.dwCurrentState == SERVICE_STOPPED &&
                ss.dwWin32ExitCode != NO_ERROR && ss.dwWin32ExitCode != e &&
                used + 2 < errlen) {
                snprintf(err + used, errlen - used, "; ");
                svc_scm_exit_err(&ss, name, err + used + 2, errlen - used - 2);
            }
            goto out;
        }
    }
    rc = svc_scm_wait(h, name, SERVICE_RUNNING, t0, timeout_ms, err, errlen);
out:
    CloseServiceHandle(h);
    return rc;
}

/* Start again, newest first, the dependents still recorded. Those that
 * do not start stay recorded (so_manual names them); the first failure
 * is appended to err. Returns 0 when all run again, else -1. */
static int
svc_scm_restart_deps(struct svc_scm *sm, uint32_t timeout_ms, char *err,
                     size_t errlen)
{
    char why[512];
    size_t keep = 0, n = sm->sm_ndeps;
    int rc = 0;
    char(*left)[SCM_NAME_MAX] = calloc(SCM_DEPS_MAX, SCM_NAME_MAX);

    if (left == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = n; i-- > 0;) {
        if (svc_scm_start_one(sm, sm->sm_deps[i], fplat_now_ms(), timeout_ms,
                              why, sizeof(why)) == 0)
            continue;
        if (rc == 0) {
            size_t used = strlen(err);

            snprintf(err + used, errlen - used,
                     "%s%s (it depends on %s) did not start again: %s",
                     used ? "; " : "", sm->sm_deps[i], sm->sm_parent, why);
        }
        rc = -1;
        memcpy(left[keep++], sm->sm_deps[i], SCM_NAME_MAX);
    }
    /* left is newest first; keep the stop order */
    sm->sm_ndeps = keep;
    for (size_t i = 0; i < keep; i++)
        memcpy(sm->sm_deps[i], left[keep - 1 - i], SCM_NAME_MAX);
    free(left);
    return rc;
}

static int
svc_scm_query(void *ctx, const char *name, enum svc_state *st, char *err,
              size_t errlen)
{
    struct svc_scm *sm = ctx;
    SERVICE_STATUS_PROCESS ss;
    SC_HANDLE h;
    DWORD need = 0;

    *st = SVC_UNKNOWN;
    memset(&ss, 0, sizeof(ss));
    h = OpenServiceA(sm->sm_mgr, name, SERVICE_QUERY_STATUS);
    if (h == NULL) {
        DWORD e = GetLastError();

        if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
            *st = SVC_ABSENT;
            return 0;
        }
        svc_scm_err(err, errlen, "open", name, e);
        return -1;
    }
    if (!QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (LPBYTE)&ss,
                              sizeof(ss), &need)) {
        svc_scm_err(err, errlen, "query", name, GetLastError());
        CloseServiceHandle(h);
        return -1;
    }
    CloseServiceHandle(h);
    *st = svc_scm_map(ss.dwCurrentState);
    if (*st == SVC_UNKNOWN)
        snprintf(err, errlen, "%s: state %lu", name,
                 (unsigned long)ss.dwCurrentState);
    return 0;
}

static int
svc_scm_stop(void *ctx, const char *name, uint32_t timeout_ms, char *err,
             size_t errlen)
{
    struct svc_scm *sm = ctx;
    char(*order)[SCM_NAME_MAX] = NULL;
    char why[1024];
    size_t norder = 0;
    uint64_t t0 = fplat_now_ms();
    int rc = -1;

    if (strlen(name) >= SCM_NAME_MAX) {
        snprintf(err, errlen, "service name too long");
        return -1;
    }
    snprintf(sm->sm_parent, sizeof(sm->sm_parent), "%s", name);
    sm->sm_ndeps = 0;
    order = calloc(SCM_DEPS_MAX, SCM_NAME_MAX);
    if (order == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (svc_scm_collect(sm, name, 0, order, SCM_DEPS_MAX, &norder, err,
                        errlen) == -1)
        goto out;
    for (size_t i = 0; i < norder; i++) {
        if (svc_scm_stop_one(sm, order[i], t0, timeout_ms, why, sizeof(why)) ==
            -1) {
            snprintf(err, errlen, "%s depends on %s and did not stop: %s",
                     order[i], name, why);
            goto undo;
        }
        memcpy(sm->sm_deps[sm->sm_ndeps++], order[i], SCM_NAME_MAX);
    }
    if (svc_scm_stop_one(sm, name, t0, timeout_ms, err, errlen) == -1)
        goto undo;
    rc = 0;
    goto out;
undo:
    if (sm->sm_ndeps > 0) {
        size_t used = strlen(err), stopped = sm->sm_ndeps;

        if (svc_scm_restart_deps(sm, timeout_ms, err, errlen) == 0)
            snprintf(err + used, errlen - used,
                     "; the %lu services depending on it that were "
                     "stopped run again",
                     (unsigned long)stopped);
    }
out:
    free(order);
    return rc;
}

static int
svc_scm_start(void *ctx, const char *name, uint32_t timeout_ms, char *err,
              size_t errlen)
{
    struct svc_scm *sm = ctx;

    if (svc_scm_start_one(sm, name, fplat_now_ms(), timeout_ms, err, errlen) ==
        -1)
        return -1;
    if (sm->sm_ndeps == 0 || _stricmp(sm->sm_parent, name) != 0)
        return 0;
    err[0] = '\0';
    if (svc_scm_restart_deps(sm, timeout_ms, err, errlen) == -1) {
        char why[1024];

        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s runs, but %s", name, why);
        return -1;
    }
    return 0;
}

static int
svc_scm_disabled(void *ctx, const char *name, int *disabled, char *err,
                 size_t errlen)
{
    struct svc_scm *sm = ctx;
    QUERY_SERVICE_CONFIGA *qc = NULL;
    SC_HANDLE h;
    DWORD need = 0;
    int rc = -1;

    *disabled = 0;
    h = OpenServiceA(sm->sm_mgr, name, SERVICE_QUERY_CONFIG);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    if (!QueryServiceConfigA(h, NULL, 0, &need) &&
        GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
        svc_scm_err(err, errlen, "query config of", name, GetLastError());
        goto out;
    }
    qc = malloc(need);
    if (qc == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!QueryServiceConfigA(h, qc, need, &need)) {
        svc_scm_err(err, errlen, "query config of", name, GetLastError());
        goto out;
    }
    *disabled = qc->dwStartType == SERVICE_DISABLED;
    rc = 0;
out:
    free(qc);
    CloseServiceHandle(h);
    return rc;
}

/* Called by the procedure (apply, revert) only, never by status, doctor
 * or --dry-run: a disabled service gets Windows' default start type for
 * BITS, automatic with a delayed start. */
static int
svc_scm_enable(void *ctx, const char *name, char *err, size_t errlen)
{
    struct svc_scm *sm = ctx;
    SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
    SC_HANDLE h;

    h = OpenServiceA(sm->sm_mgr, name, SERVICE_CHANGE_CONFIG);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    if (!ChangeServiceConfigA(h, SERVICE_NO_CHANGE, SERVICE_AUTO_START,
                              SERVICE_NO_CHANGE, NULL, NULL, NULL, NULL, NULL,
                              NULL, NULL)) {
        svc_scm_err(err, errlen, "enable", name, GetLastError());
        CloseServiceHandle(h);
        return -1;
    }
    /* The delayed start is a refinement: automatic is what matters.
     * (Wine 8 has no SERVICE_CONFIG_DELAYED_AUTO_START_INFO: ERROR_INVALID_
     * LEVEL, and the service is left plain automatic.) */
    ChangeServiceConfig2W(h, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed);
    CloseServiceHandle(h);
    return 0;
}

static void
svc_scm_manual(void *ctx, enum svc_action act, const char *name, char *buf,
               size_t len)
{
    struct svc_scm *sm = ctx;

    if (act != SVC_ACT_START) {
        snprintf(buf, len, "sc config %s start= delayed-auto", name);
        return;
    }
    snprintf(buf, len, "net start %s", name);
    if (_stricmp(sm->sm_parent, name) != 0)
        return;
    for (size_t i = sm->sm_ndeps; i-- > 0;) {
        size_t used = strlen(buf);

        snprintf(buf + used, len - used, "; then net start %s", sm->sm_deps[i]);
    }
}

static void
svc_scm_close(void *ctx)
{
    struct svc_scm *sm = ctx;

    if (sm == NULL)
        return;
    if (sm->sm_mgr != NULL)
        CloseServiceHandle(sm->sm_mgr);
    free(sm);
}

int
svc_scm_open(struct svc_ops *ops, char *err, size_t errlen)
{
    struct svc_scm *sm = calloc(1, sizeof(*sm));

    if (sm == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sm->sm_mgr = OpenSCManagerA(
        NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
    if (sm->sm_mgr == NULL) {
        svc_scm_err(err, errlen, "open", "the Service Control Manager",
                    GetLastError());
        free(sm);
        return -1;
    }
    ops->so_ctx = sm;
    ops->so_query = svc_scm_query;
    ops->so_stop = svc_scm_stop;
    ops->so_start = svc_scm_start;
    ops->so_disabled = svc_scm_disabled;
    ops->so_enable = svc_scm_enable;
    ops->so_manual = svc_scm_manual;
    ops->so_close = svc_scm_close;
    return 0;
}

#else

int
svc_scm_open(struct svc_ops *ops, char *err, size_t errlen)
{
    (void)ops;
    snprintf(err, errlen,
             "the scm backend (Windows Service Control "
             "Manager) exists only on Windows; use backend = exec");
    return -1;
}

#endif
