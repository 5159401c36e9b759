/*
 * wsuscfg.h - doctor's verdicts on WSUS's own configuration as read from
 * SUSDB (db.h do_config): the proxy WSUS uses (wsus-proxy) and where the
 * update files are stored (storage). Pure: no database, no output; the
 * caller reads the columns and reports the verdict. A column the
 * database does not have is "unknown" in the evidence, never a default.
 */
#ifndef WSUS_WSUSCFG_H
#define WSUS_WSUSCFG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "report.h"

/* Index of each column in the array wcfg_columns fills. */
enum wcfg_col {
    WCFG_USE_PROXY = 0,
    WCFG_PROXY_NAME,
    WCFG_PROXY_PORT,
    WCFG_ANON_PROXY,
    WCFG_CLEAR_CREDS,
    WCFG_HOST_ON_MU,
    WCFG_SYNC_FROM_MU,
    WCFG_UP_NAME,
    WCFG_UP_PORT,
    WCFG_UP_SSL,
    WCFG_NCOLS
};

#define WCFG_TEXT_MAX 1024

struct wcfg_verdict {
    enum rep_result wv_result;
    char wv_detail[WCFG_TEXT_MAX];
    char wv_fix[WCFG_TEXT_MAX]; /* "" when there is nothing to do */
};

/* Zero cols and set each cc_name to WSUS's column name. */
void wcfg_columns(struct db_cfgcol cols[WCFG_NCOLS]);

/* A found, non-NULL column as a flag: 1, 0, or -1 (unknown). */
int wcfg_flag(const struct db_cfgcol *c);

/* wsus-proxy. shim is the shim's listen address, NULL when no shim_conf
 * is configured. Fail: a shim is configured and WSUS does not point at
 * it. Warn: credentials may go to the proxy as Basic in clear text
 * (AllowProxyCredentialsOverNonSsl), or a column is unknown. Skip: UseProxy
 * is unknown. */
void wcfg_proxy(const struct db_cfgcol cols[WCFG_NCOLS], const char *shim_host,
                uint16_t shim_port, struct wcfg_verdict *v);

/* storage: local vs Microsoft Update storage; on a downstream server
 * (SyncFromMicrosoftUpdate = 0) the note that the whole hierarchy must
 * match and how to read the upstream's setting. Skip when unknown. */
void wcfg_storage(const struct db_cfgcol cols[WCFG_NCOLS],
                  struct wcfg_verdict *v);

/* The upstream WSUS server of a downstream one. */
struct wcfg_upstream {
    char wu_host[DB_CFG_VALUE_MAX];
    uint16_t wu_port;
    int wu_ssl; /* 1, 0, or -1 unknown (treated as not SSL) */
};

/* The path doctor asks the upstream server for: its server-to-server
 * sync web service. */
#define WCFG_UPSTREAM_PATH "/ServerSyncWebService/ServerSyncWebService.asmx"

/* upstream-server: 0 with *up filled when this is a downstream server
 * whose upstream can be tried; -1 with v filled when not (skip: syncs
 * from Microsoft Update, or SyncFromMicrosoftUpdate unknown; fail: the
 * name or port is missing or unknown). */
int wcfg_upstream(const struct db_cfgcol cols[WCFG_NCOLS],
                  struct wcfg_upstream *up, struct wcfg_verdict *v);

/* The one request doctor sends: to the server itself (via_proxy 0), a GET
 * of WCFG_UPSTREAM_PATH; through the shim (via_proxy 1), the same GET in
 * absolute form, or a CONNECT when the upstream uses SSL. */
void wcfg_upstream_request(const struct wcfg_upstream *up, int via_proxy,
                           char *buf, size_t len);

/* The verdict on the answer's status line. Direct: any HTTP status shows
 * an HTTP server there (ok). Through the shim: 407 and 5xx are the
 * proxy's failures (fail); anything else is the upstream's answer (ok). */
void wcfg_upstream_answer(const struct wcfg_upstream *up, const char *via,
                          const char *addr, const char *status_line,
                          struct wcfg_verdict *v);

#endif
