/*
 * listener.c - accepting client connections.
 *
 * Every accepted socket is checked against the client ACL ([listen] allow)
 * and the connection cap before a struct conn exists for it. Refused
 * clients are closed at once; over the cap a client gets a short 503 so
 * BITS retries later rather than seeing a reset.
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

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct server *sv = arg;
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    uint8_t addr[16];
    int family;
    char peer[64];

    (void)lis;
    if (plat_sockaddr_str(sa, peer, sizeof(peer)) == -1)
        snprintf(peer, sizeof(peer), "?");
    if (plat_sockaddr_bytes(sa, &family, addr) == -1 ||
        !cidr_list_match(&cfg->sc_allow, family, addr)) {
        sv->sv_stats.st_refused++;
        log_warnx("refused %s: not in [listen] allow", peer);
        plat_socket_abort(fd);
        evutil_closesocket(fd);
        return;
    }
    if (sv->sv_draining || sv->sv_nconns >= cfg->sc_max_conns) {
        static const char busy[] =
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: text/plain\r\nContent-Length: 29\r\n"
            "Retry-After: 5\r\nConnection: close\r\n\r\n"
            "wsus-shim: too many clients\n";
        sv->sv_stats.st_refused++;
        log_warnx("refused %s: %u connections (max_connections)", peer,
                  (unsigned)sv->sv_nconns);
        /* A fresh socket's send buffer takes this at once. */
        (void)send(fd, busy, sizeof(busy) - 1, 0);
        evutil_closesocket(fd);
        return;
    }
    conn_new(sv, fd, sa, salen);
}

static void
accept_error_cb(struct evconnlistener *lis, void *arg)
{
    (void)lis;
    (void)arg;
    /* EMFILE and friends: log and keep going; libevent retries. */
    log_warn("accept");
}

int
listener_start(struct server *sv, char *bound, size_t boundlen, char *err,
               size_t errlen)
{
    const struct shim_config *cfg = &sv->sv_cfg->cr_cfg;
    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    char spec[128];

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
    if (plat_sock_local_str(evconnlistener_get_fd(sv->sv_lis), bound,
                            boundlen) == -1)
        snprintf(bound, boundlen, "%s", spec);
    return 0;
}

void
listener_stop(struct server *sv)
{
    if (sv->sv_lis != NULL) {
        evconnlistener_free(sv->sv_lis);
        sv->sv_lis = NULL;
    }
}
