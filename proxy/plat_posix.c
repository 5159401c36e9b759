/*
 * plat_posix.c - the platform layer on POSIX systems (Linux, BSD).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "plat.h"

void
plat_clock_real(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

uint64_t
plat_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
plat_gmtime(time_t t, struct tm *out)
{
    gmtime_r(&t, out);
}

int
plat_errno(void)
{
    return errno;
}

void
plat_strerror(int err, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror(err));
}

void
plat_syslog_open(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
plat_syslog(int level, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level < 0 || level > 3)
        level = 2;
    syslog(prio[level], "%s", msg);
}

void
plat_syslog_close(void)
{
    closelog();
}

int
plat_open_read(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC);
}

int
plat_open_create(const char *path)
{
    return open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int
plat_close(int fd)
{
    return close(fd);
}

int
plat_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int64_t
plat_pread(int fd, void *buf, size_t len, uint64_t off)
{
    for (;;) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n == -1 && errno == EINTR)
            continue;
        return (int64_t)n;
    }
}

int
plat_fsync(int fd)
{
    return fsync(fd);
}

int
plat_writeback(int fd, uint64_t off, uint64_t len)
{
#if defined(__linux__)
    return sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)off;
    (void)len;
    return 0;
#endif
}

int
plat_dup_for_send(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

int
plat_fsize(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) == -1)
        return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

int
plat_rename(const char *from, const char *to)
{
    return rename(from, to);
}

int
plat_unlink(const char *path)
{
    return unlink(path);
}

int
plat_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) == -1 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) == -1 && errno != EEXIST)
        return -1;
    return 0;
}

int
plat_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd == -1)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int
plat_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
plat_truncate(const char *path, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX) {
        errno = EFBIG;
        return -1;
    }
    return truncate(path, (off_t)size);
}

int
plat_touch(const char *path)
{
    return utimensat(AT_FDCWD, path, NULL, 0);
}

int
plat_mkdtemp(const char *prefix, char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || *base == '\0')
        base = "/tmp";
    if ((size_t)snprintf(buf, len, "%s/%sXXXXXX", base, prefix) >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(buf) == NULL ? -1 : 0;
}

/* Folders nested deeper than this are not descended (a bound on the
 * recursion; nothing we create comes near it). */
#define PLAT_RMTREE_DEPTH 32

static int
plat_rmtree_at(const char *path, int depth)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int rc = 0, err = 0;

    if (lstat(path, &st) == -1)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
    if (depth >= PLAT_RMTREE_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char sub[4096];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
            sizeof(sub)) {
            rc = -1;
            err = ENAMETOOLONG;
            continue;
        }
        if (plat_rmtree_at(sub, depth + 1) == -1) {
            rc = -1;
            err = errno;
        }
    }
    closedir(d);
    if (rmdir(path) == -1 && errno != ENOENT) {
        if (rc == 0)
            err = errno;
        rc = -1;
    }
    if (rc == -1)
        errno = err;
    return rc;
}

int
plat_rmtree(const char *path)
{
    return plat_rmtree_at(path, 0);
}

const char *
plat_default_conf(void)
{
    return NULL;
}

const char *
plat_default_cache_dir(void)
{
    return "/var/cache/wsus-shim";
}

const char *
plat_default_log_dir(void)
{
    return NULL;
}

int
plat_tmpfile(const char *dir)
{
    char path[4096];

    if (dir == NULL || *dir == '\0') {
        dir = getenv("TMPDIR");
        if (dir == NULL || *dir == '\0')
            dir = "/tmp";
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/wsus-shim.XXXXXX", dir) >=
        sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(path);
    if (fd == -1)
        return -1;
    unlink(path);
    return fd;
}

void
plat_shutdown_write(evutil_socket_t fd)
{
    if (fd != -1)
        shutdown(fd, SHUT_WR);
}

void
plat_socket_abort(evutil_socket_t fd)
{
    struct linger lg = {1, 0};

    if (fd != -1)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

int
plat_sock_nodelay(evutil_socket_t fd)
{
    int on = 1;

    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int
plat_sock_local_str(evutil_socket_t fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
        return -1;
    return plat_sockaddr_str((struct sockaddr *)&ss, buf, len);
}

int
plat_sig_reload(void)
{
    return SIGHUP;
}

int
plat_sig_stats(void)
{
    return SIGUSR1;
}

int64_t
plat_recv(evutil_socket_t fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return (int64_t)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -2;
        return -1;
    }
}

int
plat_connect_start(evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
    if (connect(fd, sa, (socklen_t)salen) == 0)
        return 0;
    return errno == EINPROGRESS || errno == EINTR ? 1 : -1;
}

int
plat_sock_wait(evutil_socket_t fd, int for_write, uint32_t ms)
{
    struct pollfd pfd;
    uint64_t end = plat_monotonic_ms() + ms;

    pfd.fd = fd;
    pfd.events = for_write ? POLLOUT : POLLIN;
    for (;;) {
        pfd.revents = 0;
        uint64_t now = plat_monotonic_ms();
        int left = now >= end ? 0 : (int)(end - now);
        int n = poll(&pfd, 1, left);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        return n > 0 ? 1 : 0;
    }
}

int
plat_sock_error(evutil_socket_t fd)
{
    int e = 0;
    socklen_t len = sizeof(e);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
        return errno;
    return e;
}

int64_t
plat_send(evutil_socket_t fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int64_t)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -2;
        return -1;
    }
}

void
plat_tune_allocator(void)
{
#if defined(__GLIBC__)
    /* Relay chunks are up to a few hundred KiB: keep them on the heap
     * (no per-chunk mmap) and trim only above 16 MiB of free top. */
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
}

void
plat_ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

int
plat_nofile_raise(uint64_t *limit)
{
    struct rlimit rl;

    *limit = UINT64_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    *limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    if (rl.rlim_cur == rl.rlim_max)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    *limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    return 0;
}

int
plat_fd_reserve(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Read a line from fd byte by byte (no buffer keeps a copy). */
static int
read_line_fd(int fd, char *buf, size_t len)
{
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t r = read(fd, &c, 1);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            goto fail;
        if (r == 0) {
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
    memset(buf, 0, len);
    return -1;
}

int
plat_read_secret(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    int rc;

    if (len == 0 || len > INT32_MAX)
        return -1;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) == -1)
        return read_line_fd(STDIN_FILENO, buf, len);
    /* Echo off before the prompt: what is typed after it is never
     * shown. */
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
        return -1;
    fputs(prompt, stderr);
    fflush(stderr);
    rc = read_line_fd(STDIN_FILENO, buf, len);
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputs("\n", stderr);
    return rc;
}

void
plat_random(void *buf, size_t len)
{
    static unsigned long seed;
    unsigned char *p = buf;
    int fd;

    /* OpenSSL's generator is seeded from the kernel once and costs no
     * system call here (a request id per request). */
    if (len <= INT_MAX && RAND_bytes(buf, (int)len) == 1)
        return;
    if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
        ssize_t n = read(fd, buf, len);
        close(fd);
        if (n == (ssize_t)len)
            return;
    }
    if (seed == 0)
        seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

int
plat_walk(const char *dir, plat_walk_fn fn, void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    struct stat st;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
            sizeof(path))
            continue;
        if (stat(path, &st) == -1)
            continue;
        if (S_ISDIR(st.st_mode)) {
            DIR *sd = opendir(path);
            struct dirent *se;
            char sub[4096];
            if (sd == NULL)
                continue;
            while ((se = readdir(sd)) != NULL) {
                if (se->d_name[0] == '.')
                    continue;
                if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
                                     se->d_name) >= sizeof(sub))
                    continue;
                if (stat(sub, &st) == -1 || !S_ISREG(st.st_mode))
                    continue;
                if (fn(arg, sub, (uint64_t)st.st_size, (int64_t)st.st_mtime) !=
                    0)
                    break;
            }
            closedir(sd);
        } else if (S_ISREG(st.st_mode)) {
            if (fn(arg, path, (uint64_t)st.st_size, (int64_t)st.st_mtime) != 0)
                break;
        }
    }
    closedir(d);
    return 0;
}

int
plat_disk_free(const char *path, uint64_t *bytes)
{
    struct statvfs st;

    if (statvfs(path, &st) == -1)
        return -1;
    *bytes = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    return 0;
}

int
plat_disk_size(const char *path, uint64_t *bytes)
{
    struct statvfs st;

    if (statvfs(path, &st) == -1)
        return -1;
    *bytes = (uint64_t)st.f_blocks * (uint64_t)st.f_frsize;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Threads */

struct plat_thread {
    pthread_t pt_id;
    void (*pt_fn)(void *);
    void *pt_arg;
};

struct plat_lock {
    pthread_mutex_t pl_mu;
    pthread_cond_t pl_cv;
};

static void *
thread_main(void *arg)
{
    struct plat_thread *t = arg;

    t->pt_fn(t->pt_arg);
    return NULL;
}

struct plat_thread *
plat_thread_start(void (*fn)(void *), void *arg)
{
    struct plat_thread *t = calloc(1, sizeof(*t));
    sigset_t all, old;
    int rc;

    if (t == NULL)
        return NULL;
    t->pt_fn = fn;
    t->pt_arg = arg;
    /* Signals (reload, stop) are the event loop's: the thread starts
     * with them all blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t->pt_id, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(t);
        errno = rc;
        return NULL;
    }
    return t;
}

void
plat_thread_join(struct plat_thread *t)
{
    if (t == NULL)
        return;
    (void)pthread_join(t->pt_id, NULL);
    free(t);
}

struct plat_lock *
plat_lock_new(void)
{
    struct plat_lock *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if (pthread_mutex_init(&l->pl_mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    if (pthread_cond_init(&l->pl_cv, NULL) != 0) {
        pthread_mutex_destroy(&l->pl_mu);
        free(l);
        return NULL;
    }
    return l;
}

void
plat_lock_free(struct plat_lock *l)
{
    if (l == NULL)
        return;
    pthread_cond_destroy(&l->pl_cv);
    pthread_mutex_destroy(&l->pl_mu);
    free(l);
}

void
plat_lock(struct plat_lock *l)
{
    (void)pthread_mutex_lock(&l->pl_mu);
}

void
plat_unlock(struct plat_lock *l)
{
    (void)pthread_mutex_unlock(&l->pl_mu);
}

void
plat_lock_wait(struct plat_lock *l)
{
    (void)pthread_cond_wait(&l->pl_cv, &l->pl_mu);
}

void
plat_lock_signal(struct plat_lock *l)
{
    (void)pthread_cond_signal(&l->pl_cv);
}

int
plat_socketpair(evutil_socket_t fds[2])
{
    return evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}
