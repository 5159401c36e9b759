/*
 * fplat_posix.c - the fixer's platform layer on POSIX systems (see
 * fplat.h): fork/exec of /bin/sh with a process group killed at the
 * deadline, fcntl locks, fsync and rename, poll for the TCP probe.
 * Nothing here knows about services or databases.
 */
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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fplat.h"
#include "fplat_shared.h"
#include "strparse.h"

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

const char *
fplat_default_wsusutil(void)
{
    return "";
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

    for (int i = 0; i < 64; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));

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

/* fplat.h. One child's whole life (start, pump its output, kill it at
 * the deadline, reap it) under one cleanup label, which is why it runs
 * past 80 lines: split up, the handles would travel between functions. */
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
            errfmt(err, errlen, "%s is held by another wsus-fixer run", path);
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
fplat_dir_access(const char *path, int read[ACL_WHO_N], char *evidence,
                 size_t evlen, char *err, size_t errlen)
{
    struct stat sb;
    int others;

    if (stat(path, &sb) == -1) {
        errfmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        errfmt(err, errlen, "%s: not a folder", path);
        return -1;
    }
    others = (sb.st_mode & S_IROTH) && (sb.st_mode & S_IXOTH);
    for (int i = 0; i < ACL_WHO_N; i++)
        read[i] = others;
    snprintf(evidence, evlen, "mode %04o, owner uid %lu gid %lu; others %c%c%c",
             (unsigned)(sb.st_mode & 07777), (unsigned long)sb.st_uid,
             (unsigned long)sb.st_gid, (sb.st_mode & S_IROTH) ? 'r' : '-',
             (sb.st_mode & S_IWOTH) ? 'w' : '-',
             (sb.st_mode & S_IXOTH) ? 'x' : '-');
    return 0;
}

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Resolve host and connect to port before deadline: the connected
 * non-blocking socket, or -1. */
static int
fplat_connect(const char *host, uint16_t port, uint64_t deadline, char *addr,
              size_t addrlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int g, out = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        errfmt(err, errlen, "%s does not resolve: %s", host, gai_strerror(g));
        return -1;
    }
    errfmt(err, errlen, "%s: no address", host);
    for (ai = res; ai != NULL && out == -1; ai = ai->ai_next) {
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
            out = fd;
        } else if (errno == EINPROGRESS && now < deadline) {
            p.fd = fd;
            p.events = POLLOUT;
            p.revents = 0;
            if (poll(&p, 1, (int)(deadline - now)) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
                soerr == 0)
                out = fd;
            else if (soerr != 0)
                errfmt(err, errlen, "connect %s port %u: %s", addr,
                       (unsigned)port, strerror(soerr));
            else
                errfmt(err, errlen, "connect %s port %u: timed out", addr,
                       (unsigned)port);
        } else {
            errfmt(err, errlen, "connect %s port %u: %s", addr, (unsigned)port,
                   strerror(errno));
        }
        if (out != fd)
            close(fd);
    }
    freeaddrinfo(res);
    return out;
}

int
fplat_tcp_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                char *addr, size_t addrlen, char *err, size_t errlen)
{
    int fd = fplat_connect(host, port, fplat_now_ms() + timeout_ms, addr,
                           addrlen, err, errlen);

    if (fd == -1)
        return -1;
    close(fd);
    return 0;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out. */
static int
fplat_wait(int fd, short events, uint64_t deadline)
{
    struct pollfd p = {fd, events, 0};
    uint64_t now = fplat_now_ms();

    if (now >= deadline)
        return 0;
    return poll(&p, 1, (int)(deadline - now)) == 1;
}

int
fplat_http_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                 const char *req, char *addr, size_t addrlen, char *line,
                 size_t linelen, char *err, size_t errlen)
{
    uint64_t deadline = fplat_now_ms() + timeout_ms;
    size_t sent = 0, len = strlen(req), got = 0;
    int fd, rc = -1;

    line[0] = '\0';
    fd = fplat_connect(host, port, deadline, addr, addrlen, err, errlen);
    if (fd == -1)
        return -1;
    while (sent < len) {
        ssize_t n;

        if (!fplat_wait(fd, POLLOUT, deadline)) {
            errfmt(err, errlen, "%s port %u: sending timed out", addr,
                   (unsigned)port);
            goto out;
        }
        n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            errfmt(err, errlen, "%s port %u: send: %s", addr, (unsigned)port,
                   strerror(errno));
            goto out;
        }
        if (n > 0)
            sent += (size_t)n;
    }
    while (got + 1 < linelen) {
        ssize_t n;

        if (!fplat_wait(fd, POLLIN, deadline)) {
            errfmt(err, errlen, "%s port %u: no answer within %u ms", addr,
                   (unsigned)port, (unsigned)timeout_ms);
            goto out;
        }
        n = recv(fd, line + got, linelen - 1 - got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            if (got > 0)
                break;
            errfmt(err, errlen,
                   "%s port %u: connection closed without an "
                   "answer",
                   addr, (unsigned)port);
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
    close(fd);
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

int
fplat_wsus_content_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    (void)out;
    (void)outlen;
    errfmt(err, errlen,
           "WSUS's ContentDir is in the Windows registry; set [fixer] "
           "content_dir on this system");
    return -1;
}
