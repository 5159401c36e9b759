/*
 * svc_posix.c - no service manager: the daemon runs in the foreground and
 * init systems (systemd, runit) supervise it; controls arrive as signals.
 */
#include "svc.h"

void
svc_usage(FILE *out)
{
    (void)out;
}

int
svc_is_verb(const char *word)
{
    (void)word;
    return 0;
}

int
svc_verb(const char *verb, const char *conf, const char *account)
{
    (void)verb;
    (void)conf;
    (void)account;
    return 2;
}

int
svc_run(int (*fn)(void *), void *arg, int console)
{
    (void)console;
    return fn(arg);
}

int
svc_is_service(void)
{
    return 0;
}

int
svc_log_path(const char *leaf, char *buf, size_t len)
{
    (void)leaf;
    (void)buf;
    (void)len;
    return -1;
}

int
svc_syslog_mirror(void)
{
    return -1;
}

int
svc_control_open(evutil_socket_t *fd)
{
    *fd = -1;
    return 0;
}

void
svc_control_close(void)
{
}

void
svc_report_running(uint32_t stop_wait_ms)
{
    (void)stop_wait_ms;
}

void
svc_report_stopping(void)
{
}
