/*
 * svc.h - how the daemon meets its platform's service manager.
 *
 * On Windows (svc_win32.c) wsus-shim is a service of the service control
 * manager: `install`, `uninstall`, `start` and `stop` verbs, START_PENDING
 * then RUNNING, a drain inside the stop's wait hint, console Ctrl+C. On
 * POSIX (svc_posix.c) there is no service manager to talk to: signals do
 * the same (main.c), and every call here is a no-op.
 *
 * Control requests that arrive on another thread (the SCM's handler, the
 * console's Ctrl handler) reach the event loop as one byte of enum svc_ctl
 * on the socket svc_control_open() returns.
 */
#ifndef WSUS_SVC_H
#define WSUS_SVC_H

#include <stdint.h>
#include <stdio.h>

#include <event2/util.h>

enum svc_ctl {
    SVC_CTL_STOP = 'S',   /* drain and exit */
    SVC_CTL_RELOAD = 'R', /* read the conf again */
    SVC_CTL_STATS = 'U',  /* log the counters */
};

/* The service's name in the service manager and the Event Log. */
#define SVC_NAME "wsus-shim"

/* Print the platform's service verbs for --help (nothing on POSIX). */
void svc_usage(FILE *out);

/* Whether word is one of the platform's service verbs. */
int svc_is_verb(const char *word);

/* Carry out a service verb; conf is the -c argument or NULL, account the
 * install's --account word or NULL (svcacct.h). Returns the exit code. */
int svc_verb(const char *verb, const char *conf, const char *account);

/* Run fn(arg): as the service when the service manager started this
 * process and console is 0, else directly as a console program. Returns
 * fn's exit code. */
int svc_run(int (*fn)(void *), void *arg, int console);

/* Whether this process runs as a service (no console to write to). */
int svc_is_service(void);

/* For a service: the path of the file leaf in the platform's log folder,
 * which is created. Returns -1 when not a service (logs go to the
 * console then). */
int svc_log_path(const char *leaf, char *buf, size_t len);

/* The most verbose log level (enum log_level) that also goes to the
 * system log whatever [log] file says, or -1: on Windows warnings and
 * errors always reach the Application event log. */
int svc_syslog_mirror(void);

/* Open the control channel: *fd gets its read end, non-blocking, or -1
 * where the platform delivers its controls as signals. Returns 0, or -1
 * when the channel cannot be made (the daemon could not be stopped). */
int svc_control_open(evutil_socket_t *fd);
void svc_control_close(void);

/* Tell the service manager that requests are served now; stop_wait_ms is
 * the longest a stop may take (the drain), given as the stop's wait hint. */
void svc_report_running(uint32_t stop_wait_ms);

/* Tell the service manager that a stop is in progress (called again while
 * the drain runs, which advances the check point). */
void svc_report_stopping(void);

#endif
