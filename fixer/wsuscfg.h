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

#endif
