/*
 * fplat.h - the fixer's platform layer. Everything wsus-fixer needs from
 * the operating system that differs between POSIX and Windows sits behind
 * these calls: clocks, running a command with a time limit, the run lock,
 * atomic file replacement, a TCP probe, directory checks and the Windows
 * registry. fplat_posix.c and fplat_win32.c implement them, one of which
 * the build picks; fplat.c holds what is the same on both. Every call that
 * can fail returns 0 or -1 and fills err.
 */
#ifndef WSUS_FPLAT_H
#define WSUS_FPLAT_H

#include <stddef.h>
#include <stdint.h>

#include "aclcheck.h"

/* Monotonic milliseconds, and a sleep. */
uint64_t fplat_now_ms(void);
void fplat_sleep_ms(uint32_t ms);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (buf of at least 21 bytes). */
void fplat_utc_now(char *buf, size_t len);

/* Nonzero when standard error is a terminal (progress display). */
int fplat_stderr_is_tty(void);

/* Paths: absolute test, separator test, and the platform defaults. */
int fplat_path_is_abs(const char *path);
int fplat_is_sep(char c);
const char *fplat_default_conf(void);
const char *fplat_default_state_file(void);
const char *fplat_default_content_dir(void); /* "": WSUS's registry */
const char *fplat_default_wsusutil(void);    /* "": none */
/* Nonzero where the scm backend and connection = auto are the defaults. */
int fplat_is_windows(void);

/*
 * Run cmd through the system shell (/bin/sh -c, or cmd.exe /c) in folder
 * cwd (NULL: inherit). Standard output and error are captured together
 * into out (always NUL-terminated, truncated to outlen - 1). After
 * timeout_ms the command and its children are killed. Returns 0 when the
 * command ran to completion, with its exit code in *status; -1 when it
 * could not be started, was killed, or timed out (err says which).
 */
int fplat_exec(const char *cmd, const char *cwd, uint32_t timeout_ms, char *out,
               size_t outlen, int *status, char *err, size_t errlen);

/* The run lock: an exclusive, non-blocking lock on path (created if
 * missing, never removed). Fails at once when another process holds it.
 * The caller owns *out and gives it back with fplat_lock_release. */
struct fplat_lock;
int fplat_lock_take(const char *path, struct fplat_lock **out, char *err,
                    size_t errlen);
void fplat_lock_release(struct fplat_lock *lk);

/* Read a whole file of at most max bytes into a fresh NUL-terminated
 * buffer the caller frees. Returns 0, 1 when the file does not exist
 * (*data is NULL), or -1. */
int fplat_read_file(const char *path, size_t max, char **data, size_t *len,
                    char *err, size_t errlen);

/* Replace path atomically with data: write path.tmp, flush it to disk,
 * rename over path. Creates the parent folder (one level) if missing. */
int fplat_write_atomic(const char *path, const char *data, size_t len,
                       char *err, size_t errlen);

/* 0 when path is a folder whose entries can be listed. */
int fplat_dir_readable(const char *path, char *err, size_t errlen);

/* Whether each principal of aclcheck.h (enum acl_who: NETWORK SERVICE,
 * Users) may read the folder path: read[who] is 1 or 0. On Windows, the
 * effective rights its DACL grants (GetNamedSecurityInfo, evaluated by
 * aclcheck.c, not by trying to list it ourselves); evidence gets each
 * principal's rights mask. On POSIX, the mode bits: "others" r-x stands
 * for both; evidence gets the mode. Fails when path is not a folder or
 * its security cannot be read. */
int fplat_dir_access(const char *path, int read[ACL_WHO_N], char *evidence,
                     size_t evlen, char *err, size_t errlen);

/* Resolve host and open a TCP connection to port within timeout_ms, then
 * close it. addr gets the numeric address that answered. */
int fplat_tcp_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                    char *addr, size_t addrlen, char *err, size_t errlen);

/* Resolve host, connect to port, send req and read the answer's first
 * line (up to CR or LF, truncated to linelen - 1) into line, all within
 * timeout_ms; then close. addr as for fplat_tcp_probe. Fails when no
 * byte arrives in time. */
int fplat_http_probe(const char *host, uint16_t port, uint32_t timeout_ms,
                     const char *req, char *addr, size_t addrlen, char *line,
                     size_t linelen, char *err, size_t errlen);

/* HKLM\SOFTWARE\Microsoft\Update Services\Server\Setup\SqlServerName
 * (the 64-bit view), into out. A REG_EXPAND_SZ value has its %VARIABLES%
 * expanded. Errors carry the system's text. Fails on POSIX. */
int fplat_sqlserver_name(char *out, size_t outlen, char *err, size_t errlen);

/* WSUS's content folder: ContentDir of the same key (the folder WSUS
 * setup was given, e.g. D:\WSUS) with \WsusContent appended, into out.
 * Fails on POSIX. */
int fplat_wsus_content_dir(char *out, size_t outlen, char *err, size_t errlen);

#endif
