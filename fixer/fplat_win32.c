/*
 * fplat_win32.c - the fixer's platform layer on Windows (see fplat.h):
 * CreateProcess of cmd.exe in a job object killed at the deadline,
 * LockFileEx, FlushFileBuffers and MoveFileEx, Winsock for the TCP probe,
 * and the registry. Nothing here knows about services or databases.
 */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <io.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fplat.h"
#include "fplat_shared.h"
#include "strparse.h"

uint64_t
fplat_now_ms(void)
{
    return (uint64_t)GetTickCount64();
}

void
fplat_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}

void
fplat_utc_now(char *buf, size_t len)
{
    SYSTEMTIME st;

    GetSystemTime(&st);
    snprintf(buf, len, "%04u-%02u-%02uT%02u:%02u:%02uZ", st.wYear, st.wMonth,
             st.wDay, st.wHour, st.wMinute, st.wSecond);
}

int
fplat_stderr_is_tty(void)
{
    return _isatty(_fileno(stderr));
}

int
fplat_path_is_abs(const char *path)
{
    if (path[0] == '\\' || path[0] == '/')
        return 1;
    return path[0] != '\0' && path[1] == ':' &&
           (path[2] == '\\' || path[2] == '/');
}

int
fplat_is_sep(char c)
{
    return c == '\\' || c == '/';
}

const char *
fplat_default_conf(void)
{
    return "C:\\ProgramData\\wsus-shim\\wsus-fixer.conf";
}

const char *
fplat_default_state_file(void)
{
    return "C:\\ProgramData\\wsus-shim\\wsus-fixer.state";
}

const char *
fplat_default_content_dir(void)
{
    return ""; /* ContentDir from WSUS's registry */
}

const char *
fplat_default_wsusutil(void)
{
    return "C:\\Program Files\\Update Services\\Tools\\wsusutil.exe";
}

int
fplat_is_windows(void)
{
    return 1;
}

static void
fplat_winerr(char *err, size_t errlen, const char *what, DWORD code)
{
    char msg[256];
    DWORD n;

    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                           FORMAT_MESSAGE_IGNORE_INSERTS,
                       NULL, code, 0, msg, sizeof(msg), NULL);
    while (n > 0 &&
           (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    while (n > 0 && msg[n - 1] == '.')
        msg[--n] = '\0';
    if (n == 0)
        snprintf(msg, sizeof(msg), "error %lu", (unsigned long)code);
    errfmt(err, errlen, "%s: %s (%lu)", what, msg, (unsigned long)code);
}

/* fplat.h. One child's whole life (start, pump its output, kill it at
 * the deadline, reap it) under one cleanup label, which is why it runs
 * past 80 lines: split up, the handles would travel between functions. */
int
fplat_exec(const char *cmd, const char *cwd, uint32_t timeout_ms, char *out,
           size_t outlen, int *status, char *err, size_t errlen)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE rd = NULL, wr = NULL, nul = INVALID_HANDLE_VALUE, job = NULL;
    char *line = NULL;
    size_t used = 0, llen = strlen(cmd) + 32;
    uint64_t deadline = fplat_now_ms() + timeout_ms;
    DWORD code = 0;
    int rc = -1, exited = 0;

    if (outlen > 0)
        out[0] = '\0';
    *status = -1;
    memset(&pi, 0, sizeof(pi));
    line = malloc(llen);
    if (line == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    snprintf(line, llen, "cmd.exe /d /s /c \"%s\"", cmd);
    if (!CreatePipe(&rd, &wr, &sa, 0)) {
        fplat_winerr(err, errlen, "CreatePipe", GetLastError());
        goto out;
    }
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    nul = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                      &sa, OPEN_EXISTING, 0, NULL);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = nul;
    si.hStdOutput = wr;
    si.hStdError = wr;
    job = CreateJobObjectA(NULL, NULL);
    if (!CreateProcessA(NULL, line, NULL, NULL, TRUE,
                        CREATE_NO_WINDOW | CREATE_SUSPENDED, NULL, cwd, &si,
                        &pi)) {
        fplat_winerr(err, errlen, "CreateProcess", GetLastError());
        goto out;
    }
    if (job != NULL)
        AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(wr);
    wr = NULL;

    for (;;) {
        DWORD avail = 0, got = 0;
        char buf[4096];
        uint64_t now;

        while (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail > 0 &&
               ReadFile(rd, buf, avail < sizeof(buf) ? avail : sizeof(buf),
                        &got, NULL) &&
               got > 0)
            fplat_append(out, outlen, &used, buf, got);
        if (exited)
            break;
        now = fplat_now_ms();
        if (now >= deadline)
            break;
        if (WaitForSingleObject(pi.hProcess, FPLAT_EXEC_STEP_MS) ==
            WAIT_OBJECT_0)
            exited = 1; /* one more pass drains the pipe */
    }
    if (!exited) {
        if (job != NULL)
            TerminateJobObject(job, 1);
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, 5000);
        errfmt(err, errlen, "timed out after %u ms (killed)",
               (unsigned)timeout_ms);
        goto out;
    }
    GetExitCodeProcess(pi.hProcess, &code);
    *status = (int)code;
    rc = 0;
out:
    if (pi.hProcess != NULL)
        CloseHandle(pi.hProcess);
    if (pi.hThread != NULL)
        CloseHandle(pi.hThread);
    if (job != NULL)
        CloseHandle(job);
    if (nul != INVALID_HANDLE_VALUE)
        CloseHandle(nul);
    if (wr != NULL)
        CloseHandle(wr);
    if (rd != NULL)
        CloseHandle(rd);
    free(line);
    return rc;
}

static int
fplat_mkdir_parent(const char *path, char *err, size_t errlen)
{
    char *dir = _strdup(path);
    char *p, *last = NULL;
    int rc = 0;

    if (dir == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    for (p = dir; *p != '\0'; p++)
        if (fplat_is_sep(*p))
            last = p;
    if (last != NULL && last != dir && last[-1] != ':') {
        *last = '\0';
        if (!CreateDirectoryA(dir, NULL) &&
            GetLastError() != ERROR_ALREADY_EXISTS) {
            fplat_winerr(err, errlen, dir, GetLastError());
            rc = -1;
        }
    }
    free(dir);
    return rc;
}

struct fplat_lock {
    HANDLE lk_h;
};

int
fplat_lock_take(const char *path, struct fplat_lock **out, char *err,
                size_t errlen)
{
    struct fplat_lock *lk;
    OVERLAPPED ov;
    HANDLE h;

    *out = NULL;
    if (fplat_mkdir_parent(path, err, errlen) == -1)
        return -1;
    h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        fplat_winerr(err, errlen, path, GetLastError());
        return -1;
    }
    memset(&ov, 0, sizeof(ov));
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0,
                    1, 0, &ov)) {
        errfmt(err, errlen, "%s is held by another wsus-fixer run", path);
        CloseHandle(h);
        return -1;
    }
    lk = malloc(sizeof(*lk));
    if (lk == NULL) {
        errfmt(err, errlen, "out of memory");
        CloseHandle(h);
        return -1;
    }
    lk->lk_h = h;
    *out = lk;
    return 0;
}

void
fplat_lock_release(struct fplat_lock *lk)
{
    if (lk == NULL)
        return;
    CloseHandle(lk->lk_h);
    free(lk);
}

int
fplat_write_atomic(const char *path, const char *data, size_t len, char *err,
                   size_t errlen)
{
    size_t tlen = strlen(path) + 5;
    char *tmp = malloc(tlen);
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD put = 0;
    int rc = -1;

    if (tmp == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    if (fplat_mkdir_parent(path, err, errlen) == -1)
        goto out;
    h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        fplat_winerr(err, errlen, tmp, GetLastError());
        goto out;
    }
    if (!WriteFile(h, data, (DWORD)len, &put, NULL) || put != len ||
        !FlushFileBuffers(h)) {
        fplat_winerr(err, errlen, tmp, GetLastError());
        goto out;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    if (!MoveFileExA(tmp, path,
                     MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        fplat_winerr(err, errlen, path, GetLastError());
        goto out;
    }
    rc = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (rc == -1)
        DeleteFileA(tmp);
    free(tmp);
    return rc;
}

int
fplat_dir_readable(const char *path, char *err, size_t errlen)
{
    WIN32_FIND_DATAA fd;
    size_t plen = strlen(path) + 3;
    char *pat = malloc(plen);
    HANDLE h;

    if (pat == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    snprintf(pat, plen, "%s\\*", path);
    h = FindFirstFileA(pat, &fd);
    free(pat);
    if (h == INVALID_HANDLE_VALUE) {
        fplat_winerr(err, errlen, path, GetLastError());
        return -1;
    }
    FindClose(h);
    return 0;
}

/* Wait until s is ready (writable, or readable when rd) before deadline:
 * 1 ready, 0 timed out or failed. */
static int
fplat_wait(SOCKET s, int rd, uint64_t deadline)
{
    fd_set fds, efds;
    struct timeval tv;
    uint64_t now = fplat_now_ms();

    if (now >= deadline)
        return 0;
    FD_ZERO(&fds);
    FD_ZERO(&efds);
    FD_SET(s, &fds);
    FD_SET(s, &efds);
    tv.tv_sec = (long)((deadline - now) / 1000);
    tv.tv_usec = (long)((deadline - now) % 1000) * 1000;
    if (select(0, rd ? &fds : NULL, rd ? NULL : &fds, &efds, &tv) < 1)
        return 0;
    return FD_ISSET(s, &fds) ? 1 : 0;
}

/* Resolve host and connect to port before deadline: the connected
 * non-blocking socket, or INVALID_SOCKET. Winsock is started by the
 * caller. */
static SOCKET
fplat_connect(const char *host, uint16_t port, uint64_t deadline, char *addr,
              size_t addrlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    SOCKET out = INVALID_SOCKET;
    int g;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        errfmt(err, errlen, "%s does not resolve: error %d", host, g);
        return INVALID_SOCKET;
    }
    errfmt(err, errlen, "%s: no address", host);
    for (ai = res; ai != NULL && out == INVALID_SOCKET; ai = ai->ai_next) {
        SOCKET s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        u_long nb = 1;

        if (s == INVALID_SOCKET)
            continue;
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, addr,
                    (DWORD)addrlen, NULL, 0, NI_NUMERICHOST);
        ioctlsocket(s, FIONBIO, &nb);
        if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0) {
            out = s;
        } else if (WSAGetLastError() == WSAEWOULDBLOCK) {
            if (fplat_wait(s, 0, deadline))
                out = s;
            else
                errfmt(err, errlen,
                       "connect %s port %u: refused or "
                       "timed out",
                       addr, (unsigned)port);
        } else {
            errfmt(err, errlen, "connect %s port %u: error %d", addr,
                   (unsigned)port, WSAGetLastError());
        }
        if (out != s)
            closesocket(s);
    }
    freeaddrinfo(res);
    return out;
}

int
fplat_tcp_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                char *addr, size_t addrlen, char *err, size_t errlen)
{
    WSADATA wsa;
    SOCKET s;

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        errfmt(err, errlen, "WSAStartup failed");
        return -1;
    }
    s = fplat_connect(host, port, fplat_now_ms() + timeout_ms, addr, addrlen,
                      err, errlen);
    if (s != INVALID_SOCKET)
        closesocket(s);
    WSACleanup();
    return s == INVALID_SOCKET ? -1 : 0;
}

int
fplat_http_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                 const char *req, char *addr, size_t addrlen, char *line,
                 size_t linelen, char *err, size_t errlen)
{
    uint64_t deadline = fplat_now_ms() + timeout_ms;
    size_t sent = 0, len = strlen(req), got = 0;
    WSADATA wsa;
    SOCKET s;
    int rc = -1;

    line[0] = '\0';
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        errfmt(err, errlen, "WSAStartup failed");
        return -1;
    }
    s = fplat_connect(host, port, deadline, addr, addrlen, err, errlen);
    if (s == INVALID_SOCKET)
        goto done;
    while (sent < len) {
        int n;

        if (!fplat_wait(s, 0, deadline)) {
            errfmt(err, errlen, "%s port %u: sending timed out", addr,
                   (unsigned)port);
            goto out;
        }
        n = send(s, req + sent, (int)(len - sent), 0);
        if (n == SOCKET_ERROR && WSAGetLastError() != WSAEWOULDBLOCK) {
            errfmt(err, errlen, "%s port %u: send: error %d", addr,
                   (unsigned)port, WSAGetLastError());
            goto out;
        }
        if (n > 0)
            sent += (size_t)n;
    }
    while (got + 1 < linelen) {
        int n;

        if (!fplat_wait(s, 1, deadline)) {
            errfmt(err, errlen, "%s port %u: no answer within %u ms", addr,
                   (unsigned)port, (unsigned)timeout_ms);
            goto out;
        }
        n = recv(s, line + got, (int)(linelen - 1 - got), 0);
        if (n == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK)
            continue;
        if (n <= 0) {
            if (got > 0)
                break;
            errfmt(err, errlen,
                   "%s port %u: connection closed without an answer", addr,
                   (unsigned)port);
            goto out;
        }
        got += (size_t)n;
        line[got] = '\0';
        if (strpbrk(line, "\r\n") != NULL)
            break;
    }
    line[strcspn(line, "\r\n")] = '\0';
    rc = 0;
out:
    closesocket(s);
done:
    WSACleanup();
    return rc;
}

/* A string value of WSUS's setup key, HKLM\SOFTWARE\Microsoft\Update
 * Services\Server\Setup (the 64-bit view), into out; a REG_EXPAND_SZ
 * value has its %VARIABLES% expanded. Errors name the value and carry the
 * system's text. */
static int
fplat_setup_value(const char *name, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    static const char key[] =
        "SOFTWARE\\Microsoft\\Update Services\\Server\\Setup";
    char where[160], raw[512];
    HKEY hk;
    DWORD type = 0, size = sizeof(raw) - 1, n;
    LONG r;

    snprintf(where, sizeof(where),
             "%s in HKLM\\SOFTWARE\\Microsoft\\Update Services\\Server\\Setup",
             name);
    if (outlen == 0) {
        errfmt(err, errlen, "no room for %s", name);
        return -1;
    }
    /* WSUS is a 64-bit program: read its view of the registry */
    r = RegOpenKeyExA(HKEY_LOCAL_MACHINE, key, 0,
                      KEY_QUERY_VALUE | KEY_WOW64_64KEY, &hk);
    if (r == ERROR_SUCCESS) {
        r = RegQueryValueExA(hk, name, NULL, &type, (LPBYTE)raw, &size);
        RegCloseKey(hk);
    }
    if (r != ERROR_SUCCESS) {
        fplat_winerr(err, errlen, where, (DWORD)r);
        return -1;
    }
    if (type != REG_SZ && type != REG_EXPAND_SZ) {
        errfmt(err, errlen, "%s: not a string (registry type %lu)", where,
               (unsigned long)type);
        return -1;
    }
    /* the stored string need not end with a NUL */
    raw[size] = '\0';
    if (type == REG_SZ) {
        if (strlen(raw) >= outlen) {
            errfmt(err, errlen, "%s: longer than %lu characters", where,
                   (unsigned long)(outlen - 1));
            return -1;
        }
        memcpy(out, raw, strlen(raw) + 1);
        return 0;
    }
    n = ExpandEnvironmentStringsA(raw, out, (DWORD)outlen);
    if (n == 0) {
        fplat_winerr(err, errlen, where, GetLastError());
        return -1;
    }
    if (n > outlen) {
        errfmt(err, errlen, "%s: longer than %lu characters once expanded",
               where, (unsigned long)(outlen - 1));
        return -1;
    }
    return 0;
}

int
fplat_sqlserver_name(char *out, size_t outlen, char *err, size_t errlen)
{
    return fplat_setup_value("SqlServerName", out, outlen, err, errlen);
}

int
fplat_wsus_content_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    static const char sub[] = "WsusContent";
    size_t n;

    if (fplat_setup_value("ContentDir", out, outlen, err, errlen) == -1)
        return -1;
    n = strlen(out);
    while (n > 0 && fplat_is_sep(out[n - 1]))
        out[--n] = '\0';
    if (n + 1 + sizeof(sub) > outlen) {
        errfmt(err, errlen, "ContentDir \"%s\" is too long", out);
        return -1;
    }
    snprintf(out + n, outlen - n, "\\%s", sub);
    return 0;
}

/* The plain allow and deny ACEs of dacl as aclcheck.h entries, in order,
 * into a fresh array the caller frees (*n of them; *skipped counts the
 * object and callback ACEs, which are not evaluated). */
static int
fplat_dacl_aces(PACL dacl, struct acl_ace **out, size_t *n, size_t *skipped,
                char *err, size_t errlen)
{
    ACL_SIZE_INFORMATION info;
    struct acl_ace *aces;

    *out = NULL;
    *n = 0;
    *skipped = 0;
    if (!GetAclInformation(dacl, &info, sizeof(info), AclSizeInformation)) {
        fplat_winerr(err, errlen, "GetAclInformation", GetLastError());
        return -1;
    }
    aces = calloc(info.AceCount > 0 ? info.AceCount : 1, sizeof(*aces));
    if (aces == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    for (DWORD i = 0; i < info.AceCount; i++) {
        void *ace = NULL;
        const ACE_HEADER *h;
        const ACCESS_ALLOWED_ACE *a; /* ACCESS_DENIED_ACE: same layout */
        LPSTR sid = NULL;

        if (!GetAce(dacl, i, &ace)) {
            fplat_winerr(err, errlen, "GetAce", GetLastError());
            free(aces);
            return -1;
        }
        h = ace;
        if (h->AceType != ACCESS_ALLOWED_ACE_TYPE &&
            h->AceType != ACCESS_DENIED_ACE_TYPE) {
            (*skipped)++;
            continue;
        }
        a = ace;
        if (!ConvertSidToStringSidA((PSID)(uintptr_t)&a->SidStart, &sid)) {
            fplat_winerr(err, errlen, "ConvertSidToStringSid", GetLastError());
            free(aces);
            return -1;
        }
        snprintf(aces[*n].ae_sid, sizeof(aces[*n].ae_sid), "%s", sid);
        LocalFree(sid);
        aces[*n].ae_type =
            h->AceType == ACCESS_DENIED_ACE_TYPE ? ACL_ACE_DENY : ACL_ACE_ALLOW;
        aces[*n].ae_inherit_only = (h->AceFlags & INHERIT_ONLY_ACE) != 0;
        aces[*n].ae_mask = a->Mask;
        (*n)++;
    }
    *out = aces;
    return 0;
}

int
fplat_dir_access(const char *path, int read[ACL_WHO_N], char *evidence,
                 size_t evlen, char *err, size_t errlen)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    struct acl_ace *aces = NULL;
    size_t n = 0, skipped = 0, used;
    char *copy = NULL;
    DWORD attr, r;
    int rc = -1;

    attr = GetFileAttributesA(path);
    if (attr == INVALID_FILE_ATTRIBUTES) {
        fplat_winerr(err, errlen, path, GetLastError());
        return -1;
    }
    if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
        errfmt(err, errlen, "%s: not a folder", path);
        return -1;
    }
    copy = _strdup(path); /* GetNamedSecurityInfoA takes a non-const name */
    if (copy == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    r = GetNamedSecurityInfoA(copy, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                              NULL, NULL, &dacl, NULL, &sd);
    if (r != ERROR_SUCCESS) {
        fplat_winerr(err, errlen, path, r);
        goto out;
    }
    if (dacl != NULL &&
        fplat_dacl_aces(dacl, &aces, &n, &skipped, err, errlen) == -1)
        goto out;
    if (dacl == NULL)
        used = (size_t)snprintf(evidence, evlen,
                                "no DACL (full access for everyone)");
    else
        used = (size_t)snprintf(evidence, evlen,
                                "DACL of %lu allow/deny ACEs (%lu others "
                                "not evaluated)",
                                (unsigned long)n, (unsigned long)skipped);
    for (int w = 0; w < ACL_WHO_N; w++) {
        uint32_t m =
            acl_effective(aces, n, dacl == NULL, acl_who_sids((enum acl_who)w));

        read[w] = (m & ACL_NEED_READ) == ACL_NEED_READ;
        if (used < evlen)
            used += (size_t)snprintf(
                evidence + used, evlen - used, "; %s 0x%08lx",
                acl_who_name((enum acl_who)w), (unsigned long)m);
    }
    rc = 0;
out:
    free(aces);
    free(copy);
    if (sd != NULL)
        LocalFree(sd);
    return rc;
}
