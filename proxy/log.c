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

/* A log written to a file, rotated by size when log_set_rotation asks. */
struct log_file {
    FILE *lf_fp;      /* NULL after a failed reopen: tried again */
    char *lf_path;    /* NULL: not a file */
    uint64_t lf_size; /* bytes in the file, as far as this process knows */
    int lf_lbf;       /* line-buffered */
};

static struct log_file log_f; /* lf_path NULL: stderr */
static int log_to_syslog;
static int log_mirror = -1; /* levels <= this also go to the system log */
static enum log_level log_lvl = LOG_LVL_INFO;
static struct log_file acc_f; /* lf_path NULL and !acc_is_stdout: off */
static int acc_is_stdout;
static uint64_t rot_size; /* 0: never rotate */
static unsigned rot_keep = 5;

static int
lf_open(struct log_file *lf, const char *path, int lbf)
{
    uint64_t size = 0;
    int fd;

    lf->lf_path = strdup(path);
    if (lf->lf_path == NULL)
        return -1;
    lf->lf_fp = fopen(path, "a");
    if (lf->lf_fp == NULL) {
        free(lf->lf_path);
        lf->lf_path = NULL;
        return -1;
    }
    if (lbf)
        setvbuf(lf->lf_fp, NULL, _IOLBF, 0);
    lf->lf_lbf = lbf;
    /* A file that grows across restarts is rotated by its whole size. */
    if ((fd = plat_open_read(path)) != -1) {
        if (plat_fsize(fd, &size) == -1)
            size = 0;
        plat_close(fd);
    }
    lf->lf_size = size;
    return 0;
}

static void
lf_close(struct log_file *lf)
{
    if (lf->lf_fp != NULL)
        fclose(lf->lf_fp);
    free(lf->lf_path);
    memset(lf, 0, sizeof(*lf));
}

/*
 * PATH.N-1 -> PATH.N ... PATH -> PATH.1, with the file closed (Windows
 * renames no open file), then a fresh PATH. When PATH cannot be renamed
 * (on Windows, another program holding it open), writing goes on in it
 * and the next try comes after another rot_size bytes.
 */
static void
lf_rotate(struct log_file *lf)
{
    size_t plen = strlen(lf->lf_path) + 8;
    char *from = malloc(plen), *to = malloc(plen);

    fclose(lf->lf_fp);
    lf->lf_fp = NULL;
    if (from != NULL && to != NULL) {
        for (unsigned k = rot_keep; k > 1; k--) {
            snprintf(from, plen, "%s.%u", lf->lf_path, k - 1);
            snprintf(to, plen, "%s.%u", lf->lf_path, k);
            (void)plat_rename(from, to); /* a missing one is fine */
        }
        snprintf(to, plen, "%s.1", lf->lf_path);
        (void)plat_rename(lf->lf_path, to);
    }
    free(from);
    free(to);
    lf->lf_fp = fopen(lf->lf_path, "a");
    if (lf->lf_fp != NULL && lf->lf_lbf)
        setvbuf(lf->lf_fp, NULL, _IOLBF, 0);
    lf->lf_size = 0;
}

/* One whole line to the file; rotates after it when the file is full. */
static void
lf_write(struct log_file *lf, const char *line, size_t n)
{
    if (lf->lf_fp == NULL && lf->lf_path != NULL) /* a reopen failed */
        lf->lf_fp = fopen(lf->lf_path, "a");
    if (lf->lf_fp == NULL)
        return;
    fwrite(line, 1, n, lf->lf_fp);
    fflush(lf->lf_fp);
    lf->lf_size += n;
    if (rot_size > 0 && lf->lf_size >= rot_size)
        lf_rotate(lf);
}

int
log_rate_ok(struct log_rate *lr, uint64_t now_ms, uint32_t interval_ms,
            uint64_t *suppressed)
{
    if (lr->lr_next_ms != 0 && now_ms < lr->lr_next_ms) {
        lr->lr_suppressed++;
        return 0;
    }
    *suppressed = lr->lr_suppressed;
    lr->lr_suppressed = 0;
    lr->lr_next_ms = now_ms + interval_ms;
    return 1;
}

void
log_set_rotation(uint64_t size, unsigned keep)
{
    rot_size = size;
    rot_keep = keep == 0 ? 1 : keep;
}

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
    return lf_open(&log_f, path, 1);
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
    lf_close(&log_f);
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
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000) % 1000);
}

static void log_vemit(enum log_level lvl, const char *errtext, const char *fmt,
                      va_list ap) LOG_PRINTF(3, 0);

static void
log_vemit(enum log_level lvl, const char *errtext, const char *fmt, va_list ap)
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
    int n = snprintf(line, sizeof(line), "%s %s %s%s%s\n", ts, lvl_names[lvl],
                     msg, errtext ? ": " : "", errtext ? errtext : "");
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    if (log_f.lf_path != NULL) {
        lf_write(&log_f, line, (size_t)n);
        return;
    }
    fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
}

#define LOG_BODY(lvl, errtext)                                                 \
    do {                                                                       \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_vemit(lvl, errtext, fmt, ap);                                      \
        va_end(ap);                                                            \
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
        acc_is_stdout = 1;
        return 0;
    }
    return lf_open(&acc_f, path, 0);
}

void
access_log_close(void)
{
    lf_close(&acc_f);
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

    if (acc_f.lf_path == NULL && !acc_is_stdout)
        return;
    plat_clock_real(&ts);
    int n =
        snprintf(line, sizeof(line),
                 "%lld.%03ld %6llu %s %s/%03d %llu %s %.1800s - %s - "
                 "%llu %s\n",
                 (long long)ts.tv_sec, ts.tv_nsec / 1000000,
                 (unsigned long long)r->ar_duration_ms, r->ar_client,
                 r->ar_plan, r->ar_status, (unsigned long long)r->ar_bytes_out,
                 r->ar_method, r->ar_url, r->ar_upstream,
                 (unsigned long long)r->ar_bytes_in, r->ar_reqid);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    if (acc_is_stdout) {
        fwrite(line, 1, (size_t)n, stdout);
        fflush(stdout);
        return;
    }
    lf_write(&acc_f, line, (size_t)n);
}
