/*
 * log.h - leveled diagnostics and the access log.
 *
 * Diagnostics go to stderr (default), a file, or syslog (the Event Log on
 * Windows, via the platform file). log_warn() appends the text of the
 * current errno/socket error; log_warnx() does not. Pure modules never log:
 * they return an error string to their caller.
 */
#ifndef WSUS_LOG_H
#define WSUS_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "printf_like.h"

enum log_level {
    LOG_LVL_ERR = 0,
    LOG_LVL_WARN,
    LOG_LVL_INFO,
    LOG_LVL_DEBUG,
};

#define LOG_PRINTF(a, b) PRINTF_LIKE(a, b)

/* Open the diagnostic sink. path NULL or "" means stderr; "syslog" means the
 * system log. Returns 0, or -1 with errno set when the file cannot open. */
int log_open(const char *path, enum log_level level);
void log_set_level(enum log_level level);
/* Also send messages at level upto and more severe (LOG_LVL_WARN: warnings
 * and errors) to the system log, whatever the destination; -1: never. */
void log_mirror_syslog(int upto);
enum log_level log_get_level(void);
void log_close(void);

/* Parse "error|warn|info|debug" into *out. Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_err(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);

/* A rate limit for a warning that a flood could repeat (accept errors,
 * refused clients): at most one line per interval. */
struct log_rate {
    uint64_t lr_next_ms;    /* monotonic: the next line allowed at */
    uint64_t lr_suppressed; /* lines held back since the last one */
};

/* Returns 1 when a line may be written at now_ms (then *suppressed gets
 * the count held back before it, and the count restarts), 0 when it is
 * to be held back (and counted). */
int log_rate_ok(struct log_rate *lr, uint64_t now_ms, uint32_t interval_ms,
                uint64_t *suppressed);

/* Rotate the log file and the access log (when they are files) once one
 * reaches size bytes: PATH becomes PATH.1, PATH.1 PATH.2, ..., and PATH.keep
 * is dropped. size 0: never. Takes effect at the next write. */
void log_set_rotation(uint64_t size, unsigned keep);

/* The access log: one line per request. path NULL or "" disables it, "-"
 * means stdout. Returns 0 or -1 with errno set. */
int access_log_open(const char *path);
void access_log_close(void);

struct access_rec {
    const char *ar_client; /* "127.0.0.1:51234" */
    const char *ar_method;
    const char *ar_url;
    int ar_status;           /* status sent to the client, 0 if none */
    uint64_t ar_bytes_in;    /* request bytes read from the client */
    uint64_t ar_bytes_out;   /* response bytes written to the client */
    const char *ar_upstream; /* "proxy1:8080", "direct", "-" */
    const char *ar_plan;     /* pass, slice, cache-hit, ..., tunnel, error */
    uint64_t ar_duration_ms;
    const char *ar_reqid;
};

/* Write one access line; see docs for the format. */
void access_log_write(const struct access_rec *r);

#endif
