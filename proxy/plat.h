/*
 * plat.h - the small platform layer. Everything that differs between POSIX
 * and Windows lives behind these calls (plat_posix.c, plat_win32.c); no
 * other file tests _WIN32.
 */
#ifndef WSUS_PLAT_H
#define WSUS_PLAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>

#include "printf_like.h"

/* Wall clock and a monotonic clock. */
void plat_clock_real(struct timespec *ts);
uint64_t plat_monotonic_ms(void);
void plat_gmtime(time_t t, struct tm *out);

/* Last error of the C library or socket layer, and its text. */
int plat_errno(void);
void plat_strerror(int err, char *buf, size_t len);

/* System log (syslog / Windows Event Log). level: enum log_level. */
void plat_syslog_open(const char *ident);
void plat_syslog(int level, const char *fmt, ...) PRINTF_LIKE(2, 3);
void plat_syslog_close(void);

/* Files. plat_open_* return a descriptor usable with evbuffer_add_file
 * (an fd on POSIX, a CRT fd on Windows) or -1. */
int plat_open_read(const char *path);
/* Create exclusively, mode 0600. */
int plat_open_create(const char *path);
int plat_close(int fd);
/* Write all of buf at offset; returns 0 or -1. */
int plat_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Read up to len bytes at offset; returns bytes read, 0 at EOF, -1. */
int64_t plat_pread(int fd, void *buf, size_t len, uint64_t off);
int plat_fsync(int fd);
/* Start writing len bytes at off of a file being written back to disk,
 * without waiting for it (sync_file_range on Linux), so that a later
 * plat_fsync has little left to do. A hint: 0, or -1 with errno set; a
 * no-op returning 0 where the OS has no such call, as on Windows, whose
 * lazy writer already writes dirty pages back by itself. */
int plat_writeback(int fd, uint64_t off, uint64_t len);
int plat_fsize(int fd, uint64_t *size);
/* A second descriptor of fd for sending bytes of the file straight to a
 * socket (a libevent file segment, sendfile), which may outlive fd, while
 * another thread still writes further on in the file: -1 where segments
 * are read through the shared file position instead (Windows, where a
 * concurrent positional write moves it); callers then use plat_pread. */
int plat_dup_for_send(int fd);
/* Atomic replace of to by from (rename / MoveFileEx REPLACE_EXISTING). */
int plat_rename(const char *from, const char *to);
int plat_unlink(const char *path);
/* mkdir -p with mode 0700. */
int plat_mkdirs(const char *path);
/* Make durable the renames and creations of entries in dir (fsync of
 * the folder on POSIX; a no-op returning 0 where the OS has no such call,
 * as on Windows, whose MoveFileEx can take MOVEFILE_WRITE_THROUGH). */
int plat_fsync_dir(const char *dir);
/* Whether path names a folder (1) or not (0: a file, or nothing). */
int plat_is_dir(const char *path);
/* Set the length of the file at path, growing it sparsely or cutting
 * it. Returns 0 or -1. */
int plat_truncate(const char *path, uint64_t size);
/* Set the modification time of the file at path to now (the cache keeps
 * its LRU order across restarts this way). Returns 0 or -1. */
int plat_touch(const char *path);
/* Free bytes for an unprivileged user on the volume holding path
 * (statvfs / GetDiskFreeSpaceEx). Returns 0, or -1 with errno set. */
int plat_disk_free(const char *path, uint64_t *bytes);
/* Size in bytes of the volume holding path. Returns 0, or -1 with errno. */
int plat_disk_size(const char *path, uint64_t *bytes);
/* A fresh temporary file in dir (or the system temp folder when dir is
 * NULL), already unlinked where the OS allows; returns fd or -1. */
int plat_tmpfile(const char *dir);

/* A new private folder in the system's temporary folder ($TMPDIR, else
 * /tmp; GetTempPath on Windows) named prefix followed by a unique suffix,
 * mode 0700. Its path goes to buf. Returns 0, or -1 with errno set. For
 * tests and tools; the daemon keeps its files in [cache] dir. */
int plat_mkdtemp(const char *prefix, char *buf, size_t len);
/* Remove path and everything below it. Symbolic links and junctions are
 * removed, never followed. A path that does not exist is not an error.
 * Returns 0, or -1 with errno set when something could not be removed
 * (what could be is still removed). */
int plat_rmtree(const char *path);

/* Where the daemon keeps its files when neither the command line nor
 * the conf says: the conf file (NULL on POSIX, where the build fixes the
 * installed path), the cache folder, and the folder for log files (NULL
 * on POSIX, where logs go to stderr by default). Windows:
 * %ProgramData%\wsus-shim\{wsus-shim.conf,cache,logs}. */
const char *plat_default_conf(void);
const char *plat_default_cache_dir(void);
const char *plat_default_log_dir(void);

/* Sockets need no start-up call: on Windows the platform layer starts
 * Winsock before main() runs (libevent's event_base_new() already opens
 * sockets). */
/* Sockets: shut the write half; make the next close send a RST. Both
 * ignore fd == -1. */
void plat_shutdown_write(evutil_socket_t fd);
void plat_socket_abort(evutil_socket_t fd);
/* Turn off Nagle's algorithm on a TCP socket (TCP_NODELAY): a response
 * head and its body go out in separate writes, and the body must not wait
 * for the peer's delayed ACK (about 40 ms a response otherwise). 0 or -1. */
int plat_sock_nodelay(evutil_socket_t fd);
/* "1.2.3.4:80" or "[::1]:80" for a socket address; the raw address
 * bytes (4 or 16) and family 4/6 for ACL checks. Return 0 or -1. */
struct sockaddr;
int plat_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
int plat_sockaddr_bytes(const struct sockaddr *sa, int *family,
                        uint8_t addr[16]);
/* Build a socket address from a numeric IPv4/IPv6 address (no brackets)
 * and a port (0 allowed). out must hold a sockaddr_storage; *outlen gets
 * its length. Returns 0 or -1. */
int plat_sockaddr_make(const char *addr, uint16_t port, struct sockaddr *out,
                       int *outlen);
/* The local address a socket is bound to, as text. */
int plat_sock_local_str(evutil_socket_t fd, char *buf, size_t len);

/* Signal numbers for reload and statistics, or -1 where the platform has
 * no such signal (Windows uses service controls instead). */
int plat_sig_reload(void);
int plat_sig_stats(void);

/* Read from a non-blocking socket: bytes read, 0 at EOF, -1 on error,
 * -2 when nothing is available now. */
int64_t plat_recv(evutil_socket_t fd, void *buf, size_t len);

/* Step-by-step socket I/O for one-shot commands (`wsus-shim probe`) that
 * drive a non-blocking socket without an event loop:
 *   plat_connect_start: 0 connected, 1 in progress (wait for writable,
 *     then ask plat_sock_error), -1 failed (plat_errno() says why);
 *   plat_sock_wait: wait until fd is readable (for_write 0) or writable
 *     (1), at most ms: 1 ready (a failed connect counts as ready), 0 timed
 *     out, -1 error;
 *   plat_sock_error: the pending error of a socket (SO_ERROR), 0 if none;
 *   plat_send: bytes sent, -1 on error, -2 when nothing fits now. */
int plat_connect_start(evutil_socket_t fd, const struct sockaddr *sa,
                       int salen);
int plat_sock_wait(evutil_socket_t fd, int for_write, uint32_t ms);
int plat_sock_error(evutil_socket_t fd);
int64_t plat_send(evutil_socket_t fd, const void *buf, size_t len);

/* Keep freed relay buffers in the allocator instead of handing them back
 * to the kernel after every chunk (glibc trims and then page-faults them
 * back in). A no-op where the allocator has no such knob. */
void plat_tune_allocator(void);

/* Ignore SIGPIPE (POSIX); nothing on Windows. */
void plat_ignore_sigpipe(void);

/* Descriptors. plat_nofile_raise raises the soft limit on open
 * descriptors to the hard limit and writes the limit now in force to
 * *limit (UINT64_MAX: unlimited, or no such limit, as on Windows).
 * Returns 0, or -1 when the limit could not be read or raised (*limit
 * then holds the current one, when known). plat_fd_reserve opens a spare
 * descriptor (-1 where none is needed or none could be had) that the
 * accept path closes to take one more client when out of descriptors. */
int plat_nofile_raise(uint64_t *limit);
int plat_fd_reserve(void);

/* Read one line of secret text (a password) from standard input: from
 * the terminal without echo, after writing prompt to stderr, when
 * standard input is a terminal (the console on Windows, read as UTF-16
 * and given back in UTF-8); else the first line of the piped input. The
 * line ends at LF (a CR before it is dropped) or at EOF. buf holds len
 * bytes and gets the text NUL-terminated. Returns its length, or -1 when
 * nothing could be read or the line does not fit (buf is wiped then).
 * No copy stays in a stdio buffer. */
int plat_read_secret(const char *prompt, char *buf, size_t len);

/* Random bytes for request ids and cache file names; never fails (falls
 * back to weak bytes, so never for secrets: those use RAND_bytes). */
void plat_random(void *buf, size_t len);

/* Threads, for the disk work kept off the event loop (offload.c). A
 * plat_lock is a mutex with one condition variable. plat_thread_start
 * returns NULL when no thread could be made; plat_thread_join waits for
 * fn to return and frees the thread. plat_lock_wait releases the lock
 * (which the caller holds), sleeps until plat_lock_signal, and takes it
 * again (it may also wake without a signal: callers test their
 * condition in a loop). plat_socketpair: two connected stream sockets,
 * for waking the event loop from another thread. 0 or -1. */
struct plat_thread;
struct plat_lock;
struct plat_thread *plat_thread_start(void (*fn)(void *), void *arg);
void plat_thread_join(struct plat_thread *t);
struct plat_lock *plat_lock_new(void);
void plat_lock_free(struct plat_lock *l);
void plat_lock(struct plat_lock *l);
void plat_unlock(struct plat_lock *l);
void plat_lock_wait(struct plat_lock *l);
void plat_lock_signal(struct plat_lock *l);
int plat_socketpair(evutil_socket_t fds[2]);

/* Directory walking for the cache: calls fn for every regular file below
 * dir (one level of subfolders), with its path, size and mtime. */
typedef int (*plat_walk_fn)(void *arg, const char *path, uint64_t size,
                            int64_t mtime);
int plat_walk(const char *dir, plat_walk_fn fn, void *arg);

#endif
