/*
 * wsuscfg.c - verdicts on WSUS's configuration (wsuscfg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "wsuscfg.h"

static const char *const wcfg_names[WCFG_NCOLS] = {
    [WCFG_USE_PROXY] = "UseProxy",
    [WCFG_PROXY_NAME] = "ProxyName",
    [WCFG_PROXY_PORT] = "ProxyServerPort",
    [WCFG_ANON_PROXY] = "AnonymousProxyAccess",
    [WCFG_CLEAR_CREDS] = "AllowProxyCredentialsOverNonSsl",
    [WCFG_HOST_ON_MU] = "HostBinariesOnMicrosoftUpdate",
    [WCFG_SYNC_FROM_MU] = "SyncFromMicrosoftUpdate",
    [WCFG_UP_NAME] = "UpstreamServerName",
    [WCFG_UP_PORT] = "UpstreamServerPortNumber",
    [WCFG_UP_SSL] = "UpstreamServerUseSSL",
};

void
wcfg_columns(struct db_cfgcol cols[WCFG_NCOLS])
{
    memset(cols, 0, sizeof(cols[0]) * WCFG_NCOLS);
    for (size_t i = 0; i < WCFG_NCOLS; i++)
        cols[i].cc_name = wcfg_names[i];
}

int
wcfg_flag(const struct db_cfgcol *c)
{
    static const char *const yes[] = {"1", "true", "t", "yes", "y"};
    static const char *const no[] = {"0", "false", "f", "no", "n"};

    if (!c->cc_found || c->cc_null)
        return -1;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (str_ieq(c->cc_value, yes[i]))
            return 1;
        if (str_ieq(c->cc_value, no[i]))
            return 0;
    }
    return -1;
}

/* The value as evidence: the text, "NULL" or "unknown". */
static const char *
wcfg_text(const struct db_cfgcol *c)
{
    if (!c->cc_found)
        return "unknown";
    return c->cc_null ? "NULL" : c->cc_value;
}

static int
wcfg_loopback(const char *h)
{
    return str_ieq(h, "127.0.0.1") || str_ieq(h, "localhost") ||
           str_ieq(h, "::1") || str_ieq(h, "[::1]");
}

static int
wcfg_wildcard(const char *h)
{
    return strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ||
           strcmp(h, "[::]") == 0;
}

/* 1: name reaches the shim listening on shim; 0: it does not; -1: cannot
 * tell (a wildcard listener and a name that is not loopback). */
static int
wcfg_same_host(const char *name, const char *shim)
{
    if (str_ieq(name, shim))
        return 1;
    if (wcfg_loopback(name) && (wcfg_loopback(shim) || wcfg_wildcard(shim)))
        return 1;
    return wcfg_wildcard(shim) ? -1 : 0;
}

static void
wcfg_worse(struct wcfg_verdict *v, enum rep_result r)
{
    static const int rank[] = {
        [REP_OK] = 0,   [REP_INFO] = 0, [REP_SKIP] = 1,
        [REP_WARN] = 2, [REP_FAIL] = 3,
    };

    if (rank[r] > rank[v->wv_result])
        v->wv_result = r;
}

/* Append ", text" (or text when s is empty) to s. */
static void
wcfg_add(char *s, const char *text)
{
    size_t used = strlen(s), add = strlen(text);

    if (used > 0 && used + 2 < WCFG_TEXT_MAX) {
        memcpy(s + used, "; ", 2);
        used += 2;
    }
    if (add > WCFG_TEXT_MAX - 1 - used)
        add = WCFG_TEXT_MAX - 1 - used;
    memcpy(s + used, text, add);
    s[used + add] = '\0';
}

/* WSUS uses a proxy and the shim listens on shim_host:shim_port: is
 * that proxy the shim? ok, fail (another proxy) or warn (cannot tell). */
static void
wcfg_points_at(const struct db_cfgcol *name, const struct db_cfgcol *port,
               const char *shim_host, uint16_t shim_port,
               struct wcfg_verdict *v)
{
    char line[WCFG_TEXT_MAX];
    int same = -1;

    if (wcfg_text(name) == name->cc_value && *name->cc_value != '\0' &&
        wcfg_text(port) == port->cc_value)
        same = wcfg_same_host(name->cc_value, shim_host);
    if (same == 1 && strtol(port->cc_value, NULL, 10) != shim_port)
        same = 0;
    if (same == 1) {
        snprintf(line, sizeof(line), "WSUS points at the shim (%s:%u)",
                 shim_host, (unsigned)shim_port);
    } else if (same == 0) {
        wcfg_worse(v, REP_FAIL);
        snprintf(line, sizeof(line),
                 "WSUS points at %s:%s, not at the shim listening on %s:%u",
                 wcfg_text(name), wcfg_text(port), shim_host,
                 (unsigned)shim_port);
    } else {
        wcfg_worse(v, REP_WARN);
        snprintf(line, sizeof(line),
                 "cannot tell whether WSUS (%s:%s) points at the shim "
                 "listening on %s:%u",
                 wcfg_text(name), wcfg_text(port), shim_host,
                 (unsigned)shim_port);
    }
    wcfg_add(v->wv_detail, line);
}

void
wcfg_proxy(const struct db_cfgcol cols[WCFG_NCOLS], const char *shim_host,
           uint16_t shim_port, struct wcfg_verdict *v)
{
    const struct db_cfgcol *name = &cols[WCFG_PROXY_NAME],
                           *port = &cols[WCFG_PROXY_PORT];
    int use = wcfg_flag(&cols[WCFG_USE_PROXY]);
    int clear = wcfg_flag(&cols[WCFG_CLEAR_CREDS]);
    const char *target = shim_host;
    char line[WCFG_TEXT_MAX];

    memset(v, 0, sizeof(*v));
    v->wv_result = REP_OK;
    if (shim_host != NULL && wcfg_wildcard(shim_host))
        target = "127.0.0.1";
    if (use == -1) {
        v->wv_result = REP_SKIP;
        snprintf(line, sizeof(line),
                 "unknown: UseProxy is %s in tbConfigurationA/B/C",
                 cols[WCFG_USE_PROXY].cc_found ? "neither 0 nor 1"
                                               : "not a column");
        wcfg_add(v->wv_detail, line);
    } else if (shim_host != NULL && use == 0) {
        wcfg_worse(v, REP_FAIL);
        snprintf(line, sizeof(line),
                 "WSUS uses no proxy, not the shim listening on %s:%u",
                 shim_host, (unsigned)shim_port);
        wcfg_add(v->wv_detail, line);
    } else if (shim_host != NULL) {
        wcfg_points_at(name, port, shim_host, shim_port, v);
    } else if (use == 0) {
        wcfg_add(v->wv_detail, "WSUS connects directly (no proxy); no "
                               "shim_conf to compare with");
    } else {
        snprintf(line, sizeof(line),
                 "WSUS uses the proxy %s:%s; no shim_conf to compare with",
                 wcfg_text(name), wcfg_text(port));
        wcfg_add(v->wv_detail, line);
    }
    if (clear == 1) {
        wcfg_worse(v, REP_WARN);
        wcfg_add(v->wv_detail, "Basic credentials over clear text are allowed "
                               "(AllowProxyCredentialsOverNonSsl = 1)");
    }
    snprintf(line, sizeof(line),
             "UseProxy = %.16s, ProxyName = %.255s, ProxyServerPort = %.16s, "
             "AnonymousProxyAccess = %.16s, "
             "AllowProxyCredentialsOverNonSsl = %.16s",
             wcfg_text(&cols[WCFG_USE_PROXY]), wcfg_text(name), wcfg_text(port),
             wcfg_text(&cols[WCFG_ANON_PROXY]),
             wcfg_text(&cols[WCFG_CLEAR_CREDS]));
    wcfg_add(v->wv_detail, line);
    if (v->wv_result == REP_OK)
        return;
    if (shim_host != NULL)
        snprintf(v->wv_fix, sizeof(v->wv_fix),
                 "in PowerShell on the WSUS server: $c = "
                 "(Get-WsusServer).GetConfiguration(); $c.UseProxy = $true; "
                 "$c.ProxyName = \"%s\"; $c.ProxyServerPort = %u; "
                 "$c.UseProxyCredentials = $false; "
                 "$c.AllowProxyCredentialsOverNonSsl = $false; $c.Save()",
                 target, (unsigned)shim_port);
    else if (clear == 1)
        snprintf(v->wv_fix, sizeof(v->wv_fix),
                 "in PowerShell on the WSUS server: $c = "
                 "(Get-WsusServer).GetConfiguration(); "
                 "$c.AllowProxyCredentialsOverNonSsl = $false; $c.Save() "
                 "(or run the shim and point WSUS at it)");
}

void
wcfg_storage(const struct db_cfgcol cols[WCFG_NCOLS], struct wcfg_verdict *v)
{
    int mu = wcfg_flag(&cols[WCFG_HOST_ON_MU]);
    int sync = wcfg_flag(&cols[WCFG_SYNC_FROM_MU]);
    char line[WCFG_TEXT_MAX];

    memset(v, 0, sizeof(*v));
    v->wv_result = REP_OK;
    if (mu == -1) {
        v->wv_result = REP_SKIP;
        snprintf(line, sizeof(line),
                 "unknown: HostBinariesOnMicrosoftUpdate is %s in "
                 "tbConfigurationA/B/C; see WSUS console > Options > Update "
                 "Files and Languages",
                 cols[WCFG_HOST_ON_MU].cc_found ? "neither 0 nor 1"
                                                : "not a column");
        wcfg_add(v->wv_detail, line);
        return;
    }
    wcfg_add(v->wv_detail,
             mu ? "Microsoft Update storage: clients download update files "
                  "from Microsoft Update (HostBinariesOnMicrosoftUpdate = 1)"
                : "local storage: update files are downloaded to this "
                  "server (HostBinariesOnMicrosoftUpdate = 0)");
    if (sync == 1) {
        wcfg_add(v->wv_detail, "this server syncs from Microsoft Update "
                               "(SyncFromMicrosoftUpdate = 1)");
        return;
    }
    if (sync == -1) {
        snprintf(line, sizeof(line),
                 "unknown whether this server is downstream "
                 "(SyncFromMicrosoftUpdate = %s)",
                 wcfg_text(&cols[WCFG_SYNC_FROM_MU]));
        wcfg_add(v->wv_detail, line);
        return;
    }
    snprintf(line, sizeof(line),
             "downstream server (SyncFromMicrosoftUpdate = 0, upstream %s): "
             "every server of the hierarchy must use the same storage "
             "option",
             wcfg_text(&cols[WCFG_UP_NAME]));
    wcfg_add(v->wv_detail, line);
    snprintf(v->wv_fix, sizeof(v->wv_fix),
             "on the upstream server %s run in PowerShell: "
             "(Get-WsusServer).GetConfiguration()."
             "HostBinariesOnMicrosoftUpdate; it must be %s, as here",
             wcfg_text(&cols[WCFG_UP_NAME]), mu ? "True" : "False");
}

int
wcfg_upstream(const struct db_cfgcol cols[WCFG_NCOLS], struct wcfg_upstream *up,
              struct wcfg_verdict *v)
{
    const struct db_cfgcol *name = &cols[WCFG_UP_NAME],
                           *port = &cols[WCFG_UP_PORT];
    int sync = wcfg_flag(&cols[WCFG_SYNC_FROM_MU]);
    char *end = NULL;
    long p;

    memset(v, 0, sizeof(*v));
    memset(up, 0, sizeof(*up));
    if (sync != 0) {
        v->wv_result = REP_SKIP;
        snprintf(v->wv_detail, sizeof(v->wv_detail), "%s",
                 sync == 1 ? "this server syncs from Microsoft Update "
                             "(SyncFromMicrosoftUpdate = 1): no upstream "
                             "WSUS server"
                           : "unknown whether this server has an upstream "
                             "WSUS server (SyncFromMicrosoftUpdate unknown)");
        return -1;
    }
    p = port->cc_found && !port->cc_null ? strtol(port->cc_value, &end, 10) : 0;
    if (!name->cc_found || name->cc_null || name->cc_value[0] == '\0' ||
        end == NULL || end == port->cc_value || *end != '\0' || p < 1 ||
        p > 65535) {
        v->wv_result = REP_FAIL;
        snprintf(v->wv_detail, sizeof(v->wv_detail),
                 "downstream server (SyncFromMicrosoftUpdate = 0) without a "
                 "usable upstream: UpstreamServerName = %.255s, "
                 "UpstreamServerPortNumber = %.16s",
                 wcfg_text(name), wcfg_text(port));
        snprintf(v->wv_fix, sizeof(v->wv_fix),
                 "set the upstream server in the WSUS console (Options > "
                 "Update Source and Proxy Server > Update Source), or in "
                 "PowerShell: $c = (Get-WsusServer).GetConfiguration(); "
                 "$c.UpstreamWsusServerName = \"NAME\"; "
                 "$c.UpstreamWsusServerPortNumber = 8530; $c.Save()");
        return -1;
    }
    snprintf(up->wu_host, sizeof(up->wu_host), "%s", name->cc_value);
    up->wu_port = (uint16_t)p;
    up->wu_ssl = wcfg_flag(&cols[WCFG_UP_SSL]);
    return 0;
}

void
wcfg_upstream_request(const struct wcfg_upstream *up, int via_proxy, char *buf,
                      size_t len)
{
    char hp[DB_CFG_VALUE_MAX + 16];
    int v6 = strchr(up->wu_host, ':') != NULL;

    snprintf(hp, sizeof(hp), "%s%s%s:%u", v6 ? "[" : "", up->wu_host,
             v6 ? "]" : "", (unsigned)up->wu_port);
    if (via_proxy && up->wu_ssl == 1)
        snprintf(buf, len, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hp, hp);
    else
        snprintf(buf, len,
                 "GET %s%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
                 "wsus-fixer\r\nConnection: close\r\n\r\n",
                 via_proxy ? "http://" : "", via_proxy ? hp : "",
                 WCFG_UPSTREAM_PATH, hp);
}

void
wcfg_upstream_answer(const struct wcfg_upstream *up, const char *via,
                     const char *addr, const char *status_line,
                     struct wcfg_verdict *v)
{
    char where[DB_CFG_VALUE_MAX + 200];
    int code = -1;

    memset(v, 0, sizeof(*v));
    if (strncmp(status_line, "HTTP/1.", 7) == 0 && status_line[7] != '\0' &&
        status_line[8] == ' ')
        code = (int)strtol(status_line + 9, NULL, 10);
    if (via != NULL)
        snprintf(where, sizeof(where),
                 "%.255s port %u%s through the shim "
                 "(%.64s)",
                 up->wu_host, (unsigned)up->wu_port,
                 up->wu_ssl == 1 ? " (SSL)" : "", via);
    else
        snprintf(where, sizeof(where), "%.255s port %u (%.64s)", up->wu_host,
                 (unsigned)up->wu_port, addr);
    if (code < 100 || code > 999 ||
        (via != NULL && (code == 407 || code >= 500))) {
        v->wv_result = REP_FAIL;
        snprintf(v->wv_detail, sizeof(v->wv_detail), "%s answered \"%.200s\"",
                 where, status_line);
        snprintf(v->wv_fix, sizeof(v->wv_fix), "%s",
                 via != NULL
                     ? "the shim cannot reach the upstream WSUS server: see "
                       "the shim's log, its [upstream] proxy, and the "
                       "upstream server name in WSUS (Options > Update "
                       "Source and Proxy Server)"
                     : "check the upstream server name and port in WSUS "
                       "(Options > Update Source and Proxy Server) and that "
                       "the upstream server's IIS site (WSUS "
                       "Administration) is running");
        return;
    }
    v->wv_result = REP_OK;
    snprintf(v->wv_detail, sizeof(v->wv_detail), "%s answered \"%.200s\"",
             where, status_line);
}
