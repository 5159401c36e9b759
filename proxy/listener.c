/*
 * listener.c - accepting client connections.
 *
 * Every accepted socket is checked against the client ACL ([listen] allow)
 * and the connection cap before a struct conn exists for it. Refused
 * clients are closed at once; over the cap a client gets a short 503 so
 * BITS retries later rather than seeing a reset.
 *
 * Out of descriptors (EMFILE, ENFILE) accept() fails without taking the
 * client off the backlog, so a level-triggered listener would spin. We
 * answer the waiting clients 503 through a spare descriptor kept for the
 * purpose, then stop accepting for a pause (100 ms doubling to 1 s) that
 * a timer ends. Both warnings that a flood repeats (accept errors and
 * refusals over max_connections) are rate-limited, with the count of
 * lines held back.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "plat.h"
#include "server.h"
#include "shim_limits.h"

static const char busy_503[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain\r\nContent-Length: 29\r\n"
    "Retry-After: 5\r\nConnection: close\r\n\r\n"
    "wsus-shim: too many clients\n";

/* Answer a client we cannot keep: a fresh socket's send buffer takes the
 * 503 at once. Closes fd. */
static void
accept_refuse_busy(evutil_socket_t fd)
{
    (void)send(fd, busy_503, sizeof(busy_503) - 1, 0);
    evutil_closesocket(fd);
}

/* Is the client in [listen] allow? A refused one is counted, logged and
 * its socket set to reset; the caller closes it. */
static int
accept_allowed(struct server *sv, const struct sockaddr *sa, evutil_socket_t fd)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    uint8_t addr[16];
    int family;
    char peer[64];

    if (plat_sockaddr_bytes(sa, &family, addr) == 0 &&
        cidr_list_match(&cfg->sc_allow, family, addr))
        return 1;
    if (plat_sockaddr_str(sa, peer, sizeof(peer)) == -1)
        snprintf(peer, sizeof(peer), "?");
    sv->sv_stats.st_refused++;
    log_warnx("refused %s: not in [listen] allow", peer);
    plat_socket_abort(fd);
    return 0;
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct server *sv = arg;
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    char peer[64];

    (void)lis;
    if (!accept_allowed(sv, sa, fd)) {
        evutil_closesocket(fd);
        return;
    }
    if (plat_sockaddr_str(sa, peer, sizeof(peer)) == -1)
        snprintf(peer, sizeof(peer), "?");
    sv->sv_acc.as_pause_ms = 0;
    if (sv->sv_draining || sv->sv_nconns >= cfg->sc_max_conns) {
        uint64_t held;
        sv->sv_stats.st_refused++;
        if (log_rate_ok(&sv->sv_acc.as_cap_rl, plat_monotonic_ms(),
                        LOG_FLOOD_MS, &held))
            log_warnx("refused %s: %u connections (max_connections); "
                      "%llu more refused since the last such line",
                      peer, (unsigned)sv->sv_nconns, (unsigned long long)held);
        accept_refuse_busy(fd);
        return;
    }
    conn_new(sv, fd, sa, salen);
}

static void
accept_rearm_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    (void)fd;
    (void)what;
    if (sv->sv_lis != NULL && !sv->sv_draining)
        evconnlistener_enable(sv->sv_lis);
}

/* Out of descriptors: free the spare one, and with it take the clients
 * waiting in the backlog one by one, answering each 503. Returns how
 * many were answered. */
static unsigned
accept_shed(struct server *sv)
{
    struct accept_state *as = &sv->sv_acc;
    evutil_socket_t lfd = evconnlistener_get_fd(sv->sv_lis);
    unsigned n = 0;

    if (as->as_spare == -1)
        return 0;
    plat_close(as->as_spare);
    as->as_spare = -1;
    while (n < ACCEPT_SHED_MAX) {
        struct sockaddr_storage ss;
        ev_socklen_t sslen = sizeof(ss);
        evutil_socket_t fd = accept(lfd, (struct sockaddr *)&ss, &sslen);
        if (fd < 0) /* -1, or INVALID_SOCKET on Windows */
            break;
        if (accept_allowed(sv, (struct sockaddr *)&ss, fd)) {
            accept_refuse_busy(fd);
            n++;
        } else {
            evutil_closesocket(fd);
        }
    }
    as->as_spare = plat_fd_reserve();
    return n;
}

static void
accept_error_cb(struct evconnlistener *lis, void *arg)
{
    struct server *sv = arg;
    struct accept_state *as = &sv->sv_acc;
    int err = EVUTIL_SOCKET_ERROR();
    uint64_t held;
    char eb[128];

    /* EMFILE and friends: the client stays in the backlog and the next
     * loop would fail again at once. */
    as->as_shed += accept_shed(sv);
    sv->sv_stats.st_refused += as->as_shed;
    as->as_pause_ms =
        as->as_pause_ms == 0 ? ACCEPT_PAUSE_MIN_MS : as->as_pause_ms * 2;
    if (as->as_pause_ms > ACCEPT_PAUSE_MAX_MS)
        as->as_pause_ms = ACCEPT_PAUSE_MAX_MS;
    if (as->as_rearm != NULL) {
        struct timeval tv = {(time_t)(as->as_pause_ms / 1000),
                             (long)(as->as_pause_ms % 1000) * 1000};
        evconnlistener_disable(lis);
        evtimer_add(as->as_rearm, &tv);
    }
    if (!log_rate_ok(&as->as_err_rl, plat_monotonic_ms(), LOG_FLOOD_MS, &held))
        return;
    plat_strerror(err, eb, sizeof(eb));
    log_warnx("accept: %s: accepting paused for %u ms; %llu clients "
              "answered 503 and %llu more such errors since the last line",
              eb, (unsigned)as->as_pause_ms, (unsigned long long)as->as_shed,
              (unsigned long long)held);
    as->as_shed = 0;
}

/* Raise the descriptor limit as far as allowed, and warn when it is still
 * short of what max_connections may need. */
static void
listener_check_nofile(const struct shim_config *cfg)
{
    uint64_t limit, need;

    need = (uint64_t)cfg->sc_max_conns * FDS_PER_CONN + FDS_FIXED;
    if (plat_nofile_raise(&limit) == -1)
        log_warn("cannot raise the open files limit (now %llu)",
                 (unsigned long long)limit);
    if (limit < need)
        log_warnx("open files limit %llu is below the %llu that "
                  "max_connections = %u may need (%u per connection): "
                  "clients beyond it get 503",
                  (unsigned long long)limit, (unsigned long long)need,
                  (unsigned)cfg->sc_max_conns, FDS_PER_CONN);
}

int
listener_start(struct server *sv, char *bound, size_t boundlen, char *err,
               size_t errlen)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    char spec[128];

    sv->sv_acc.as_spare = -1;
    listener_check_nofile(cfg);
    snprintf(spec, sizeof(spec),
             strchr(cfg->sc_listen_addr, ':') != NULL ? "[%s]:%u" : "%s:%u",
             cfg->sc_listen_addr, (unsigned)cfg->sc_listen_port);
    if (plat_sockaddr_make(cfg->sc_listen_addr, cfg->sc_listen_port,
                           (struct sockaddr *)&ss, &sslen) == -1) {
        snprintf(err, errlen, "bad listen address %s", spec);
        return -1;
    }
    sv->sv_lis = evconnlistener_new_bind(
        sv->sv_base, accept_cb, sv,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 512,
        (struct sockaddr *)&ss, sslen);
    if (sv->sv_lis == NULL) {
        char eb[128];
        plat_strerror(plat_errno(), eb, sizeof(eb));
        snprintf(err, errlen, "cannot listen on %s: %s", spec, eb);
        return -1;
    }
    evconnlistener_set_error_cb(sv->sv_lis, accept_error_cb);
    sv->sv_acc.as_rearm = evtimer_new(sv->sv_base, accept_rearm_cb, sv);
    sv->sv_acc.as_spare = plat_fd_reserve();
    if (plat_sock_local_str(evconnlistener_get_fd(sv->sv_lis), bound,
                            boundlen) == -1)
        snprintf(bound, boundlen, "%s", spec);
    return 0;
}

void
listener_stop(struct server *sv)
{
    struct accept_state *as = &sv->sv_acc;

    if (sv->sv_lis == NULL)
        return;
    evconnlistener_free(sv->sv_lis);
    sv->sv_lis = NULL;
    if (as->as_rearm != NULL)
        event_free(as->as_rearm);
    as->as_rearm = NULL;
    if (as->as_spare != -1)
        plat_close(as->as_spare);
    as->as_spare = -1;
}
