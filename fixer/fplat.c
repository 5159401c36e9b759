/*
 * fplat.c - the fixer's platform layer (see fplat.h). The POSIX half uses
 * fork/exec, fcntl locks and poll; the Windows half CreateProcess with a
 * job object, LockFileEx, Winsock and the registry. Nothing here knows
 * about services or databases.
 */
#ifdef _WIN32
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <io.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fplat.h"
#include "strparse.h"

/* Poll step while a command runs: bounds how late its exit is noticed. */
#define FPLAT_EXEC_STEP_MS 20

/* Append len bytes of buf to out (capacity outlen, NUL kept), dropping
 * what does not fit. */
static void
fplat_append(char *out, size_t outlen, size_t *used, const char *buf,
             size_t len)
{
    size_t room;

    if (outlen == 0)
        return;
    room = outlen - 1 - *used;
    if (len > room)
        len = room;
    memcpy(out + *used, buf, len);
    *used += len;
    out[*used] = '\0';
}

int
fplat_read_file(const char *path, size_t max, char **data, size_t *len,
                char *err, size_t errlen)
{
    FILE *f;
    char *buf = NULL;
    size_t n;

    *data = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(max + 2);
    if (buf == NULL) {
        errfmt(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        errfmt(err, errlen, "%s: read error", path);
        goto fail;
    }
    if (n > max) {
        errfmt(err, errlen, "%s: larger than %lu bytes", path,
                  (unsigned long)max);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}

#ifndef _WIN32
/* ------------------------------------------------------------ POSIX */

uint64_t
fplat_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
fplat_sleep_ms(uint32_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

void
fplat_utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "unknown");
}

int
fplat_stderr_is_tty(void)
{
    return isatty(2);
}

int
fplat_path_is_abs(const char *path)
{
    return path[0] == '/';
}

int
fplat_is_sep(char c)
{
    return c == '/';
}

const char *
fplat_default_conf(void)
{
    return "/etc/wsus-shim/wsus-fixer.conf";
}

const char *
fplat_default_state_file(void)
{
    return "/var/lib/wsus-fixer/state";
}

const char *
fplat_default_content_dir(void)
{
    return "/var/lib/wsus/WsusContent";
}

int
fplat_is_windows(void)
{
    return 0;
}

/* Read what is available on fd into out; sets *eof at end of stream. */
static void
fplat_drain(int fd, char *out, size_t outlen, size_t *used, int *eof)
{
    char buf[4096];
    ssize_t n;

    for (int i = 0; i < 64; i++) {
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            fplat_append(out, outlen, used, buf, (size_t)n);
            continue;
        }
        if (n == 0)
            *eof = 1;
        else if (errno == EINTR)
            continue;
        return;
    }
}

int
fplat_exec(const char *cmd, const char *cwd, uint32_t timeout_ms, char *out,
           size_t outlen, int *status, char *err, size_t errlen)
{
    int pfd[2] = {-1, -1};
    pid_t pid;
    int wst = 0, eof = 0, exited = 0, rc = -1;
    size_t used = 0;
    uint64_t deadline = fplat_now_ms() + timeout_ms;

    if (outlen > 0)
        out[0] = '\0';
    *status = -1;
    if (pipe(pfd) == -1) {
        errfmt(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        errfmt(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);

        setpgid(0, 0);
        if (nul != -1)
            dup2(nul, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        if (cwd != NULL && chdir(cwd) == -1)
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also in the parent: no race with kill() */
    close(pfd[1]);
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);

    for (;;) {
        pid_t r = waitpid(pid, &wst, WNOHANG);
        uint64_t now;

        if (r == pid) {
            exited = 1;
            fplat_drain(pfd[0], out, outlen, &used, &eof);
            break;
        }
        now = fplat_now_ms();
        if (now >= deadline)
            break;
        if (eof) {
            fplat_sleep_ms(FPLAT_EXEC_STEP_MS);
        } else {
            struct pollfd p = {.fd = pfd[0], .events = POLLIN};
            uint64_t left = deadline - now;

            if (poll(&p, 1,
                     (int)(left < FPLAT_EXEC_STEP_MS ? left
                                                     : FPLAT_EXEC_STEP_MS)) > 0)
                fplat_drain(pfd[0], out, outlen, &used, &eof);
        }
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &wst, 0) == -1 && errno == EINTR)
            ;
        errfmt(err, errlen, "timed out after %u ms (killed)",
                  (unsigned)timeout_ms);
        goto done;
    }
    if (WIFEXITED(wst)) {
        *status = WEXITSTATUS(wst);
        rc = 0;
    } else if (WIFSIGNALED(wst)) {
        errfmt(err, errlen, "killed by signal %d", WTERMSIG(wst));
    } else {
        errfmt(err, errlen, "ended abnormally");
    }
done:
    close(pfd[0]);
    return rc;
}

/* Create the folder holding path when it is missing (one level). */
static int
fplat_mkdir_parent(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    char *slash;
    int rc = 0;

    if (dir == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
            errfmt(err, errlen, "%s: %s", dir, strerror(errno));
            rc = -1;
        }
    }
    free(dir);
    return rc;
}

struct fplat_lock {
    int lk_fd;
};

int
fplat_lock_take(const char *path, struct fplat_lock **out, char *err,
                size_t errlen)
{
    struct fplat_lock *lk;
    struct flock fl;
    int fd;

    *out = NULL;
    if (fplat_mkdir_parent(path, err, errlen) == -1)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1) {
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == -1) {
        if (errno == EAGAIN || errno == EACCES)
            errfmt(err, errlen, "%s is held by another wsus-fixer run",
                      path);
        else
            errfmt(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    lk = malloc(sizeof(*lk));
    if (lk == NULL) {
        errfmt(err, errlen, "out of memory");
        close(fd);
        return -1;
    }
    lk->lk_fd = fd;
    *out = lk;
    return 0;
}

void
fplat_lock_release(struct fplat_lock *lk)
{
    if (lk == NULL)
        return;
    close(lk->lk_fd); /* drops the fcntl lock */
    free(lk);
}

int
fplat_write_atomic(const char *path, const char *data, size_t len, char *err,
                   size_t errlen)
{
    size_t tlen = strlen(path) + 5;
    char *tmp = malloc(tlen);
    size_t off = 0;
    int fd = -1, rc = -1;

    if (tmp == NULL) {
        errfmt(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    if (fplat_mkdir_parent(path, err, errlen) == -1)
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        errfmt(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            errfmt(err, errlen, "%s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) == -1) {
        errfmt(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) == -1) {
        fd = -1;
        errfmt(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) == -1) {
        errfmt(err, errlen, "rename %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd != -1)
        close(fd);
    if (rc == -1)
        unlink(tmp);
    free(tmp);
    return rc;
}

int
fplat_dir_readable(const char *path, char *err, size_t errlen)
{
    DIR *d = opendir(path);
    int n = 0;

    if (d == NULL) {
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    errno = 0;
    while (n < 4 && readdir(d) != NULL)
        n++;
    if (errno != 0) {
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        closedir(d);
        return -1;
    }
    closedir(d);
    return 0;
}

int
fplat_tcp_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                char *addr, size_t addrlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    uint64_t deadline = fplat_now_ms() + timeout_ms;
    int g, rc = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        errfmt(err, errlen, "%s does not resolve: %s", host,
                  gai_strerror(g));
        return -1;
    }
    errfmt(err, errlen, "%s: no address", host);
    for (ai = res; ai != NULL && rc == -1; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        struct pollfd p;
        uint64_t now = fplat_now_ms();
        int soerr = 0;
        socklen_t sl = sizeof(soerr);

        if (fd == -1)
            continue;
        getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, (socklen_t)addrlen, NULL,
                    0, NI_NUMERICHOST);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            rc = 0;
        } else if (errno == EINPROGRESS && now < deadline) {
            p.fd = fd;
            p.events = POLLOUT;
            p.revents = 0;
            if (poll(&p, 1, (int)(deadline - now)) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
                soerr == 0)
                rc = 0;
            else if (soerr != 0)
                errfmt(err, errlen, "connect %s port %u: %s", addr,
                          (unsigned)port, strerror(soerr));
            else
                errfmt(err, errlen, "connect %s port %u: timed out", addr,
                          (unsigned)port);
        } else {
            errfmt(err, errlen, "connect %s port %u: %s", addr,
                      (unsigned)port, strerror(errno));
        }
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int
fplat_sqlserver_name(char *out, size_t outlen, char *err, size_t errlen)
{
    (void)out;
    (void)outlen;
    errfmt(err, errlen,
              "connection = auto reads the Windows registry; set "
              "[database] connection explicitly on this system");
    return -1;
}

#else
/* ---------------------------------------------------------- Windows */

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
    return "C:\\WSUS\\WsusContent";
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

int
fplat_tcp_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                char *addr, size_t addrlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    WSADATA wsa;
    uint64_t deadline = fplat_now_ms() + timeout_ms;
    int g, rc = -1;

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        errfmt(err, errlen, "WSAStartup failed");
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        errfmt(err, errlen, "%s does not resolve: error %d", host, g);
        WSACleanup();
        return -1;
    }
    errfmt(err, errlen, "%s: no address", host);
    for (ai = res; ai != NULL && rc == -1; ai = ai->ai_next) {
        SOCKET s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        u_long nb = 1;
        uint64_t now = fplat_now_ms();
        fd_set wfds, efds;
        struct timeval tv;

        if (s == INVALID_SOCKET)
            continue;
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, addr,
                    (DWORD)addrlen, NULL, 0, NI_NUMERICHOST);
        ioctlsocket(s, FIONBIO, &nb);
        if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0) {
            rc = 0;
        } else if (WSAGetLastError() == WSAEWOULDBLOCK && now < deadline) {
            FD_ZERO(&wfds);
            FD_ZERO(&efds);
            FD_SET(s, &wfds);
            FD_SET(s, &efds);
            tv.tv_sec = (long)((deadline - now) / 1000);
            tv.tv_usec = (long)((deadline - now) % 1000) * 1000;
            if (select(0, NULL, &wfds, &efds, &tv) == 1 && FD_ISSET(s, &wfds))
                rc = 0;
            else
                errfmt(err, errlen,
                          "connect %s port %u: refused or "
                          "timed out",
                          addr, (unsigned)port);
        } else {
            errfmt(err, errlen, "connect %s port %u: error %d", addr,
                      (unsigned)port, WSAGetLastError());
        }
        closesocket(s);
    }
    freeaddrinfo(res);
    WSACleanup();
    return rc;
}

int
fplat_sqlserver_name(char *out, size_t outlen, char *err, size_t errlen)
{
    static const char key[] =
        "SOFTWARE\\Microsoft\\Update Services\\Server\\Setup";
    static const char where[] = "SqlServerName in HKLM\\SOFTWARE\\Microsoft\\"
                                "Update Services\\Server\\Setup";
    char raw[512];
    HKEY hk;
    DWORD type = 0, size = sizeof(raw) - 1, n;
    LONG r;

    if (outlen == 0) {
        errfmt(err, errlen, "no room for SqlServerName");
        return -1;
    }
    /* WSUS is a 64-bit program: read its view of the registry */
    r = RegOpenKeyExA(HKEY_LOCAL_MACHINE, key, 0,
                      KEY_QUERY_VALUE | KEY_WOW64_64KEY, &hk);
    if (r == ERROR_SUCCESS) {
        r = RegQueryValueExA(hk, "SqlServerName", NULL, &type, (LPBYTE)raw,
                             &size);
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

#endif
