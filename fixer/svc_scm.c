/*
 * svc_scm.c - the Windows Service Control Manager backend of svc.h:
 * OpenSCManager/OpenService, ControlService(STOP), StartService,
 * QueryServiceStatusEx (its wait hint and check point pace the wait while
 * a service is pending), and ChangeServiceConfig for a disabled service.
 * Everything is behind _WIN32; elsewhere svc_scm_open() only fails. Built
 * and tested in the Windows build (mingw-w64, Wine's SCM).
 */
#include <stdio.h>

#include "svc.h"

#ifdef _WIN32
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "fplat.h"

struct svc_scm {
    SC_HANDLE sm_mgr;
};

static void
svc_scm_err(char *err, size_t errlen, const char *what, const char *name,
            DWORD code)
{
    char msg[256];
    DWORD n;

    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                           FORMAT_MESSAGE_IGNORE_INSERTS,
                       NULL, code, 0, msg, sizeof(msg), NULL);
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' ||
                     msg[n - 1] == ' ' || msg[n - 1] == '.'))
        msg[--n] = '\0';
    if (n == 0)
        snprintf(msg, sizeof(msg), "error %lu", (unsigned long)code);
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

/* While h is in state pending, wait as the SCM suggests: a tenth of the
 * wait hint (1 to 10 s), giving up when the check point stops moving for
 * longer than the hint or timeout_ms has passed. The caller then checks
 * the final state itself. */
static void
svc_scm_settle(SC_HANDLE h, DWORD pending, uint32_t timeout_ms)
{
    SERVICE_STATUS_PROCESS ss;
    DWORD need = 0, check = 0;
    uint64_t t0 = fplat_now_ms(), progress = t0;

    memset(&ss, 0, sizeof(ss));
    while (QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (LPBYTE)&ss,
                                sizeof(ss), &need) &&
           ss.dwCurrentState == pending) {
        uint64_t now = fplat_now_ms();
        DWORD step = ss.dwWaitHint / 10;

        if (step < 1000)
            step = 1000;
        if (step > 10000)
            step = 10000;
        if (ss.dwCheckPoint != check) {
            check = ss.dwCheckPoint;
            progress = now;
        } else if (now - progress > ss.dwWaitHint + (uint64_t)step) {
            return;
        }
        if (now - t0 >= timeout_ms)
            return;
        if (now - t0 + step > timeout_ms)
            step = (DWORD)(timeout_ms - (now - t0));
        Sleep(step);
    }
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
    SERVICE_STATUS ss;
    SC_HANDLE h;

    h = OpenServiceA(sm->sm_mgr, name, SERVICE_STOP | SERVICE_QUERY_STATUS);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    if (!ControlService(h, SERVICE_CONTROL_STOP, &ss)) {
        DWORD e = GetLastError();

        if (e != ERROR_SERVICE_NOT_ACTIVE) {
            svc_scm_err(err, errlen, "stop", name, e);
            CloseServiceHandle(h);
            return -1;
        }
    }
    svc_scm_settle(h, SERVICE_STOP_PENDING, timeout_ms);
    CloseServiceHandle(h);
    return 0;
}

static int
svc_scm_start(void *ctx, const char *name, uint32_t timeout_ms, char *err,
              size_t errlen)
{
    struct svc_scm *sm = ctx;
    SC_HANDLE h;

    h = OpenServiceA(sm->sm_mgr, name, SERVICE_START | SERVICE_QUERY_STATUS);
    if (h == NULL) {
        svc_scm_err(err, errlen, "open", name, GetLastError());
        return -1;
    }
    if (!StartServiceA(h, 0, NULL)) {
        DWORD e = GetLastError();

        if (e != ERROR_SERVICE_ALREADY_RUNNING) {
            svc_scm_err(err, errlen, "start", name, e);
            CloseServiceHandle(h);
            return -1;
        }
    }
    svc_scm_settle(h, SERVICE_START_PENDING, timeout_ms);
    CloseServiceHandle(h);
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
    /* Windows' own default for BITS; failing here is harmless */
    ChangeServiceConfig2A(h, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed);
    CloseServiceHandle(h);
    return 0;
}

static void
svc_scm_manual(void *ctx, enum svc_action act, const char *name, char *buf,
               size_t len)
{
    (void)ctx;
    if (act == SVC_ACT_START)
        snprintf(buf, len, "net start %s", name);
    else
        snprintf(buf, len, "sc config %s start= delayed-auto", name);
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
    sm->sm_mgr = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
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
