/*
 * plat_win32.c - the platform layer on Windows (Server 2012 and later;
 * built with mingw-w64, tested under Wine): errors, clocks, the Event Log,
 * sockets, signals, the console and randomness. Files and folders are in
 * plat_win32_fs.c.
 *
 * Failing Win32 calls are mapped to an errno value, so callers keep using
 * plat_errno()/plat_strerror() as on POSIX. Socket errors live in the
 * thread's last-error value (WSAGetLastError), not in errno: plat_errno()
 * returns such a code (10000 and up) when one is pending, and
 * plat_strerror() asks the system for its text.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <bcrypt.h>

#include <errno.h>
#include <io.h>
#include <process.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"
#include "plat_win32.h"

static HANDLE plat_evlog;

/*
 * Winsock must be started before the first socket call, and libevent
 * leaves that to the program: event_base_new() already makes a socket
 * pair for its signal events. Starting it here, before main(), gives every
 * program linked with the platform layer (the daemon, the tests) working
 * sockets without a Windows-only call in shared code. The process exit
 * releases it.
 */
__attribute__((constructor)) static void
plat_winsock_start(void)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

    if (rc != 0)
        fprintf(stderr, "wsus-shim: WSAStartup failed: error %d\n", rc);
}

void
plat_set_errno(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
        errno = ENOENT;
        break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_WRITE_PROTECT:
        errno = EACCES;
        break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        errno = EEXIST;
        break;
    case ERROR_INVALID_HANDLE:
        errno = EBADF;
        break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        errno = ENOMEM;
        break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        errno = ENOSPC;
        break;
    case ERROR_FILENAME_EXCED_RANGE:
        errno = ENAMETOOLONG;
        break;
    case ERROR_DIR_NOT_EMPTY:
        errno = ENOTEMPTY;
        break;
    case ERROR_DIRECTORY:
        errno = ENOTDIR;
        break;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
        errno = EINVAL;
        break;
    default:
        errno = EIO;
        break;
    }
}

HANDLE
plat_handle(int fd)
{
    intptr_t h = _get_osfhandle(fd);

    if (h == -1 || (HANDLE)h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return NULL;
    }
    return (HANDLE)h;
}

uint64_t
plat_filetime(const FILETIME *ft)
{
    return ((uint64_t)ft->dwHighDateTime << 32) | ft->dwLowDateTime;
}

void
plat_clock_real(struct timespec *ts)
{
    FILETIME ft;
    uint64_t t;

    GetSystemTimePreciseAsFileTime(&ft);
    t = plat_filetime(&ft) - PLAT_EPOCH_DIFF;
    ts->tv_sec = (time_t)(t / 10000000u);
    ts->tv_nsec = (long)(t % 10000000u) * 100;
}

uint64_t
plat_monotonic_ms(void)
{
    return (uint64_t)GetTickCount64();
}

void
plat_gmtime(time_t t, struct tm *out)
{
    if (gmtime_s(out, &t) != 0)
        memset(out, 0, sizeof(*out));
}

int
plat_errno(void)
{
    int wsa = WSAGetLastError();

    if (wsa >= WSABASEERR && wsa < WSABASEERR + 2000)
        return wsa;
    return errno;
}

void
plat_strerror(int err, char *buf, size_t len)
{
    DWORD n;

    if (len == 0)
        return;
    if (err < WSABASEERR) {
        snprintf(buf, len, "%s", strerror(err));
        return;
    }
    n = FormatMessageA(
        FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
            FORMAT_MESSAGE_MAX_WIDTH_MASK,
        NULL, (DWORD)err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf,
        len > 0xffff ? 0xffff : (DWORD)len, NULL);
    if (n == 0) {
        snprintf(buf, len, "error %d", err);
        return;
    }
    /* Drop the trailing blanks and period the system text ends with. */
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '.' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        buf[--n] = '\0';
}

/*
 * The Event Log source is registered by name only; the installer may add
 * HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<ident> with
 * a message file so that the viewer shows the text without a preamble.
 */
void
plat_syslog_open(const char *ident)
{
    if (plat_evlog != NULL)
        DeregisterEventSource(plat_evlog);
    plat_evlog = RegisterEventSourceA(NULL, ident);
}

void
plat_syslog(int level, const char *fmt, ...)
{
    static const WORD type[] = {EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE,
                                EVENTLOG_INFORMATION_TYPE,
                                EVENTLOG_INFORMATION_TYPE};
    char msg[1024];
    const char *strs[1];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level < 0 || level > 3)
        level = 2;
    if (plat_evlog == NULL)
        plat_evlog = RegisterEventSourceA(NULL, "wsus-shim");
    if (plat_evlog == NULL) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    strs[0] = msg;
    /* Event id 1 + level, category 0; the one string is the message. */
    ReportEventA(plat_evlog, type[level], 0, (DWORD)(1 + level), NULL, 1, 0,
                 strs, NULL);
}

void
plat_syslog_close(void)
{
    if (plat_evlog != NULL)
        DeregisterEventSource(plat_evlog);
    plat_evlog = NULL;
}

void
plat_shutdown_write(evutil_socket_t fd)
{
    if (fd != -1)
        shutdown((SOCKET)fd, SD_SEND);
}

void
plat_socket_abort(evutil_socket_t fd)
{
    struct linger lg;

    if (fd == -1)
        return;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt((SOCKET)fd, SOL_SOCKET, SO_LINGER, (const char *)&lg,
               (int)sizeof(lg));
}

int
plat_sock_nodelay(evutil_socket_t fd)
{
    BOOL on = TRUE;

    if (setsockopt((SOCKET)fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&on,
                   (int)sizeof(on)) == SOCKET_ERROR) {
        plat_set_errno(WSAGetLastError());
        return -1;
    }
    return 0;
}

int
plat_sock_local_str(evutil_socket_t fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int sl = (int)sizeof(ss);

    if (getsockname((SOCKET)fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    return plat_sockaddr_str((struct sockaddr *)&ss, buf, len);
}

int64_t
plat_recv(evutil_socket_t fd, void *buf, size_t len)
{
    int want = len > 0x7fffffff ? 0x7fffffff : (int)len;

    for (;;) {
        int n = recv((SOCKET)fd, buf, want, 0);
        if (n != SOCKET_ERROR)
            return (int64_t)n;
        switch (WSAGetLastError()) {
        case WSAEINTR:
            continue;
        case WSAEWOULDBLOCK:
            return -2;
        default:
            return -1; /* the code stays for plat_errno() */
        }
    }
}

int
plat_connect_start(evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
    if (connect((SOCKET)fd, sa, salen) == 0)
        return 0;
    return WSAGetLastError() == WSAEWOULDBLOCK ? 1 : -1;
}

/* select() on one socket: WSAPoll does not report a refused connect on
 * older Windows, select() does so in the exception set. */
int
plat_sock_wait(evutil_socket_t fd, int for_write, uint32_t ms)
{
    fd_set rw, ex;
    struct timeval tv;
    int n;

    FD_ZERO(&rw);
    FD_ZERO(&ex);
    FD_SET((SOCKET)fd, &rw);
    FD_SET((SOCKET)fd, &ex);
    tv.tv_sec = (long)(ms / 1000);
    tv.tv_usec = (long)(ms % 1000) * 1000;
    n = select(0, for_write ? NULL : &rw, for_write ? &rw : NULL, &ex, &tv);
    if (n == SOCKET_ERROR)
        return -1;
    return n > 0 ? 1 : 0;
}

int
plat_sock_error(evutil_socket_t fd)
{
    int e = 0, len = sizeof(e);

    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_ERROR, (char *)&e, &len) ==
        SOCKET_ERROR)
        return WSAGetLastError();
    return e;
}

int64_t
plat_send(evutil_socket_t fd, const void *buf, size_t len)
{
    int want = len > 0x7fffffff ? 0x7fffffff : (int)len;

    for (;;) {
        int n = send((SOCKET)fd, buf, want, 0);
        if (n != SOCKET_ERROR)
            return (int64_t)n;
        switch (WSAGetLastError()) {
        case WSAEINTR:
            continue;
        case WSAEWOULDBLOCK:
            return -2;
        default:
            return -1;
        }
    }
}

/* Reload and statistics arrive as service controls (svc_win32). */
int
plat_sig_reload(void)
{
    return -1;
}

int
plat_sig_stats(void)
{
    return -1;
}

/* Windows sockets raise no signal on a closed peer. */
void
plat_ignore_sigpipe(void)
{
}

int
plat_nofile_raise(uint64_t *limit)
{
    /* Sockets are not counted against a descriptor table. */
    *limit = UINT64_MAX;
    return 0;
}

int
plat_fd_reserve(void)
{
    return -1;
}

/* Piped input: one byte at a time (no buffer keeps a copy). */
static int
read_line_handle(HANDLE in, char *buf, size_t len)
{
    size_t n = 0;
    DWORD got;
    char c;

    for (;;) {
        if (!ReadFile(in, &c, 1, &got, NULL) || got == 0) {
            if (n == 0)
                goto fail;
            break;
        }
        if (c == '\n')
            break;
        if (n + 1 >= len)
            goto fail;
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (int)n;
fail:
    SecureZeroMemory(buf, len);
    return -1;
}

int
plat_read_secret(const char *prompt, char *buf, size_t len)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    wchar_t w[1024];
    DWORD mode, got = 0;
    int n = -1;

    if (len == 0 || len > INT32_MAX || in == NULL || in == INVALID_HANDLE_VALUE)
        return -1;
    if (!GetConsoleMode(in, &mode))
        return read_line_handle(in, buf, len);
    if (!SetConsoleMode(in,
                        (mode | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT) &
                            ~ENABLE_ECHO_INPUT))
        return -1;
    fputs(prompt, stderr);
    fflush(stderr);
    /* Line input: the call returns at Enter, with CR LF at the end; a
     * line without LF did not fit. */
    if (ReadConsoleW(in, w, (DWORD)(sizeof(w) / sizeof(w[0])), &got, NULL) &&
        got > 0 && w[got - 1] == L'\n') {
        got--;
        if (got > 0 && w[got - 1] == L'\r')
            got--;
        if (got == 0) {
            buf[0] = '\0';
            n = 0;
        } else {
            n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)got,
                                    buf, (int)len - 1, NULL, NULL);
            if (n > 0)
                buf[n] = '\0';
            else
                n = -1;
        }
    }
    (void)SetConsoleMode(in, mode);
    fputs("\n", stderr);
    SecureZeroMemory(w, sizeof(w));
    if (n == -1)
        SecureZeroMemory(buf, len);
    return n;
}

void
plat_random(void *buf, size_t len)
{
    static uint64_t seed;
    unsigned char *p = buf;
    size_t done = 0;

    while (done < len) {
        ULONG n = len - done > 0x10000000 ? 0x10000000 : (ULONG)(len - done);
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, p + done, n,
                                            BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            break;
        done += n;
    }
    if (done == len)
        return;
    /* Weak fallback, good enough for request ids. */
    if (seed == 0)
        seed = (uint64_t)GetTickCount64() ^
               ((uint64_t)GetCurrentProcessId() << 32);
    for (size_t i = done; i < len; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (unsigned char)(seed >> 56);
    }
}

void
plat_tune_allocator(void)
{
    /* The Windows heap needs no tuning for relay-sized blocks. */
}

/* ------------------------------------------------------------------ */
/* Threads: _beginthreadex (the CRT's per-thread state, errno among it,
 * is set up for the thread), an SRW lock and a condition variable. */

struct plat_thread {
    HANDLE pt_h;
    void (*pt_fn)(void *);
    void *pt_arg;
};

struct plat_lock {
    SRWLOCK pl_mu;
    CONDITION_VARIABLE pl_cv;
};

static unsigned __stdcall thread_main(void *arg)
{
    struct plat_thread *t = arg;

    t->pt_fn(t->pt_arg);
    return 0;
}

struct plat_thread *
plat_thread_start(void (*fn)(void *), void *arg)
{
    struct plat_thread *t = calloc(1, sizeof(*t));
    uintptr_t h;

    if (t == NULL)
        return NULL;
    t->pt_fn = fn;
    t->pt_arg = arg;
    h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        free(t);
        return NULL;
    }
    t->pt_h = (HANDLE)h;
    return t;
}

void
plat_thread_join(struct plat_thread *t)
{
    if (t == NULL)
        return;
    (void)WaitForSingleObject(t->pt_h, INFINITE);
    CloseHandle(t->pt_h);
    free(t);
}

struct plat_lock *
plat_lock_new(void)
{
    struct plat_lock *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    InitializeSRWLock(&l->pl_mu);
    InitializeConditionVariable(&l->pl_cv);
    return l;
}

void
plat_lock_free(struct plat_lock *l)
{
    free(l);
}

void
plat_lock(struct plat_lock *l)
{
    AcquireSRWLockExclusive(&l->pl_mu);
}

void
plat_unlock(struct plat_lock *l)
{
    ReleaseSRWLockExclusive(&l->pl_mu);
}

void
plat_lock_wait(struct plat_lock *l)
{
    (void)SleepConditionVariableSRW(&l->pl_cv, &l->pl_mu, INFINITE, 0);
}

void
plat_lock_signal(struct plat_lock *l)
{
    WakeConditionVariable(&l->pl_cv);
}

int
plat_socketpair(evutil_socket_t fds[2])
{
    /* Winsock has no AF_UNIX pair: libevent makes a loopback TCP pair. */
    return evutil_socketpair(AF_INET, SOCK_STREAM, 0, fds);
}
