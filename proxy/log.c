/*
 * log.c - leveled diagnostics and the access log.
 *
 * Diagnostics are single lines "TIME LEVEL message" written with one
 * fwrite so concurrent writers never interleave within a line. The
 * syslog/Event Log sink is provided by the platform file (plat_syslog).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "plat.h"

static FILE *log_fp;          /* NULL: stderr */
static int log_to_syslog;
static int log_mirror = -1;  /* levels <= this also go to the system log */
static enum log_level log_lvl = LOG_LVL_INFO;
static FILE *acc_fp;          /* NULL: access log off */
static int acc_is_stdout;

static const char *const lvl_names[] = {"error", "warn", "info", "debug"};

int
log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(lvl_names) / sizeof(lvl_names[0]); i++) {
        if (strcmp(s, lvl_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_LVL_WARN;
        return 0;
    }
    return -1;
}

int
log_open(const char *path, enum log_level level)
{
    log_close();
    log_lvl = level;
    if (path == NULL || *path == '\0')
        return 0;
    if (strcmp(path, "syslog") == 0) {
        plat_syslog_open("wsus-shim");
        log_to_syslog = 1;
        return 0;
    }
    log_fp = fopen(path, "a");
    if (log_fp == NULL)
        return -1;
    setvbuf(log_fp, NULL, _IOLBF, 0);
    return 0;
}

void
log_mirror_syslog(int upto)
{
    log_mirror = upto;
}

void
log_set_level(enum log_level level)
{
    log_lvl = level;
}

enum log_level
log_get_level(void)
{
    return log_lvl;
}

void
log_close(void)
{
    if (log_fp != NULL)
        fclose(log_fp);
    log_fp = NULL;
    if (log_to_syslog)
        plat_syslog_close();
    log_to_syslog = 0;
}

static void
fmt_time(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    plat_clock_real(&ts);
    plat_gmtime(ts.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void log_vemit(enum log_level lvl, const char *errtext,
                      const char *fmt, va_list ap) LOG_PRINTF(3, 0);

static void
log_vemit(enum log_level lvl, const char *errtext, const char *fmt,
          va_list ap)
{
    char msg[1024], line[1200], ts[64];

    if (lvl > log_lvl)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_to_syslog || (int)lvl <= log_mirror) {
        if (errtext != NULL)
            plat_syslog((int)lvl, "%s: %s", msg, errtext);
        else
            plat_syslog((int)lvl, "%s", msg);
        if (log_to_syslog)
            return;
    }
    fmt_time(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %s %s%s%s\n", ts,
                     lvl_names[lvl], msg, errtext ? ": " : "",
                     errtext ? errtext : "");
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    FILE *fp = log_fp ? log_fp : stderr;
    fwrite(line, 1, (size_t)n, fp);
    fflush(fp);
}

#define LOG_BODY(lvl, errtext)                                              \
    do {                                                                    \
        va_list ap;                                                         \
        va_start(ap, fmt);                                                  \
        log_vemit(lvl, errtext, fmt, ap);                                   \
        va_end(ap);                                                         \
    } while (0)

void
log_warn(const char *fmt, ...)
{
    char eb[256];

    plat_strerror(plat_errno(), eb, sizeof(eb));
    LOG_BODY(LOG_LVL_WARN, eb);
}

void
log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_err(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_ERR, NULL);
}

void
log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_DEBUG, NULL);
}

int
access_log_open(const char *path)
{
    access_log_close();
    if (path == NULL || *path == '\0')
        return 0;
    if (strcmp(path, "-") == 0) {
        acc_fp = stdout;
        acc_is_stdout = 1;
        return 0;
    }
    acc_fp = fopen(path, "a");
    return acc_fp == NULL ? -1 : 0;
}

void
access_log_close(void)
{
    if (acc_fp != NULL && !acc_is_stdout)
        fclose(acc_fp);
    acc_fp = NULL;
    acc_is_stdout = 0;
}

/*
 * Access line, Squid-native-like with two extra fields:
 *   TIME.mmm DURATION_MS CLIENT PLAN/STATUS BYTES_OUT METHOD URL - UPSTREAM
 *   - BYTES_IN REQID
 * URL is logged without query string credentials; it is never quoted.
 */
void
access_log_write(const struct access_rec *r)
{
    struct timespec ts;
    char line[2400];

    if (acc_fp == NULL)
        return;
    plat_clock_real(&ts);
    int n = snprintf(line, sizeof(line),
                     "%lld.%03ld %6llu %s %s/%03d %llu %s %.1800s - %s - "
                     "%llu %s\n",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000000,
                     (unsigned long long)r->ar_duration_ms, r->ar_client,
                     r->ar_plan, r->ar_status,
                     (unsigned long long)r->ar_bytes_out, r->ar_method,
                     r->ar_url, r->ar_upstream,
                     (unsigned long long)r->ar_bytes_in, r->ar_reqid);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    fwrite(line, 1, (size_t)n, acc_fp);
    fflush(acc_fp);
}
