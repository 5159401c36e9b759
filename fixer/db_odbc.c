/*
 * db_odbc.c - the db.h operations over ODBC (unixODBC on POSIX, odbc32 on
 * Windows). Statements come from sql/ (compiled in as fixer_sql.h), are
 * prepared, and take their value as a bound parameter. Every failure
 * carries every SQLGetDiagRec record. All handles are freed on every
 * path: the environment and connection live from connect to disconnect,
 * a statement only inside one operation.
 */
#ifdef _WIN32
#include <windows.h>
#endif
#include <sql.h>
#include <sqlext.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "strparse.h"
#include "strutil.h"
#include "fixer_sql.h"

/* Seconds a driver may take to log in. */
#define DB_LOGIN_TIMEOUT_S 30
/* Catalog rows read per table: a bound on a misbehaving driver. */
#define DB_CATALOG_MAX 4096
/* Diagnostic records shown per failure. */
#define DB_DIAG_MAX 8

struct db_odbc {
    SQLHENV dc_env;
    SQLHDBC dc_dbc;
    int dc_connected;
    int dc_in_txn; /* autocommit is off and no SQLEndTran yet */
};

const char *
db_sql_read(void)
{
    return fixer_sql_read;
}

const char *
db_sql_update(void)
{
    return fixer_sql_update;
}

/* err = "what: [STATE] message (native N); ..." from handle h. */
static void
db_diag(SQLSMALLINT type, SQLHANDLE h, const char *what, char *err,
        size_t errlen)
{
    int n = snprintf(err, errlen, "%s", what);
    size_t used = n < 0 ? 0 : (size_t)n;

    for (SQLSMALLINT i = 1; i <= DB_DIAG_MAX && used < errlen; i++) {
        SQLCHAR state[6], msg[1024];
        SQLINTEGER native = 0;
        SQLSMALLINT mlen = 0;
        SQLRETURN r;

        r = SQLGetDiagRec(type, h, i, state, &native, msg, sizeof(msg), &mlen);
        if (!SQL_SUCCEEDED(r))
            break;
        n = snprintf(err + used, errlen - used, "%s [%s] %s (native %ld)",
                     i == 1 ? ":" : ";", (char *)state, (char *)msg,
                     (long)native);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used == (size_t)strlen(what) && used < errlen)
        snprintf(err + used, errlen - used, ": no diagnostic from driver");
}

/* Prepare sql on a fresh statement handle. */
static int
db_prepare(struct db_odbc *dc, const char *sql, SQLHSTMT *out, char *err,
           size_t errlen)
{
    SQLHSTMT st = SQL_NULL_HSTMT;
    char *text = NULL;
    SQLRETURN r;

    *out = SQL_NULL_HSTMT;
    if (!dc->dc_connected) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    r = SQLAllocHandle(SQL_HANDLE_STMT, dc->dc_dbc, &st);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_DBC, dc->dc_dbc, "SQLAllocHandle(STMT)", err,
                errlen);
        return -1;
    }
    text = strdup(sql); /* SQLPrepare takes a non-const pointer */
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return -1;
    }
    r = SQLPrepare(st, (SQLCHAR *)text, SQL_NTS);
    free(text);
    if (!SQL_SUCCEEDED(r)) {
        char what[160];

        snprintf(what, sizeof(what), "prepare \"%.120s\"", sql);
        db_diag(SQL_HANDLE_STMT, st, what, err, errlen);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return -1;
    }
    *out = st;
    return 0;
}

static int
db_odbc_connect(void *ctx, const char *connstr, char *err, size_t errlen)
{
    struct db_odbc *dc = ctx;
    char *cs = NULL;
    SQLRETURN r;

    if (dc->dc_connected) {
        snprintf(err, errlen, "already connected");
        return -1;
    }
    r = SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &dc->dc_env);
    if (!SQL_SUCCEEDED(r)) {
        snprintf(err, errlen,
                 "SQLAllocHandle(ENV) failed: is an ODBC "
                 "driver manager installed?");
        dc->dc_env = SQL_NULL_HENV;
        return -1;
    }
    r = SQLSetEnvAttr(dc->dc_env, SQL_ATTR_ODBC_VERSION,
                      (SQLPOINTER)(uintptr_t)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_ENV, dc->dc_env, "SQLSetEnvAttr(ODBC3)", err,
                errlen);
        goto fail;
    }
    r = SQLAllocHandle(SQL_HANDLE_DBC, dc->dc_env, &dc->dc_dbc);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_ENV, dc->dc_env, "SQLAllocHandle(DBC)", err, errlen);
        dc->dc_dbc = SQL_NULL_HDBC;
        goto fail;
    }
    SQLSetConnectAttr(dc->dc_dbc, SQL_ATTR_LOGIN_TIMEOUT,
                      (SQLPOINTER)(uintptr_t)DB_LOGIN_TIMEOUT_S, 0);
    cs = strdup(connstr);
    if (cs == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r = SQLDriverConnect(dc->dc_dbc, NULL, (SQLCHAR *)cs, SQL_NTS, NULL, 0,
                         NULL, SQL_DRIVER_NOPROMPT);
    /* the string may hold a password: wipe our copy */
    memset(cs, 0, strlen(cs));
    free(cs);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_DBC, dc->dc_dbc, "SQLDriverConnect", err, errlen);
        goto fail;
    }
    dc->dc_connected = 1;
    return 0;
fail:
    if (dc->dc_dbc != SQL_NULL_HDBC)
        SQLFreeHandle(SQL_HANDLE_DBC, dc->dc_dbc);
    dc->dc_dbc = SQL_NULL_HDBC;
    SQLFreeHandle(SQL_HANDLE_ENV, dc->dc_env);
    dc->dc_env = SQL_NULL_HENV;
    return -1;
}

static int
db_odbc_read(void *ctx, int64_t *value, char *err, size_t errlen)
{
    struct db_odbc *dc = ctx;
    SQLHSTMT st;
    SQLBIGINT v = 0;
    SQLLEN ind = 0;
    SQLRETURN r;
    int rows = 0, rc = -1;

    if (db_prepare(dc, fixer_sql_read, &st, err, errlen) == -1)
        return -1;
    r = SQLExecute(st);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st,
                "reading tbConfigurationC.BitsDownloadPriorityForeground "
                "(do the table and column exist?)",
                err, errlen);
        goto out;
    }
    r = SQLBindCol(st, 1, SQL_C_SBIGINT, &v, 0, &ind);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "SQLBindCol", err, errlen);
        goto out;
    }
    /* Two fetches are enough to tell one row from several. */
    while (rows < 2) {
        r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            db_diag(SQL_HANDLE_STMT, st, "SQLFetch", err, errlen);
            goto out;
        }
        rows++;
        if (rows == 1) {
            if (ind == SQL_NULL_DATA) {
                snprintf(err, errlen,
                         "tbConfigurationC."
                         "BitsDownloadPriorityForeground is NULL");
                goto out;
            }
            *value = (int64_t)v;
        }
    }
    if (rows != 1) {
        snprintf(err, errlen,
                 "tbConfigurationC has %s rows; exactly one is expected",
                 rows == 0 ? "no" : "several");
        goto out;
    }
    rc = 0;
out:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static int
db_odbc_begin(void *ctx, char *err, size_t errlen)
{
    struct db_odbc *dc = ctx;
    SQLRETURN r;

    if (!dc->dc_connected) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    r = SQLSetConnectAttr(dc->dc_dbc, SQL_ATTR_AUTOCOMMIT,
                          (SQLPOINTER)(uintptr_t)SQL_AUTOCOMMIT_OFF, 0);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_DBC, dc->dc_dbc, "autocommit off", err, errlen);
        return -1;
    }
    dc->dc_in_txn = 1;
    return 0;
}

static int
db_odbc_update(void *ctx, int64_t value, int64_t *rows, char *err,
               size_t errlen)
{
    struct db_odbc *dc = ctx;
    SQLHSTMT st;
    SQLINTEGER v;
    SQLLEN n = -1;
    SQLRETURN r;
    int rc = -1;

    *rows = -1;
    if (value < INT32_MIN || value > INT32_MAX) {
        snprintf(err, errlen, "value %lld out of range", (long long)value);
        return -1;
    }
    v = (SQLINTEGER)value;
    if (db_prepare(dc, fixer_sql_update, &st, err, errlen) == -1)
        return -1;
    r = SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0,
                         &v, 0, NULL);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "SQLBindParameter", err, errlen);
        goto out;
    }
    r = SQLExecute(st);
    if (r == SQL_NO_DATA) { /* a searched UPDATE that touched no row */
        *rows = 0;
        rc = 0;
        goto out;
    }
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "UPDATE tbConfigurationC", err, errlen);
        goto out;
    }
    r = SQLRowCount(st, &n);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "SQLRowCount", err, errlen);
        goto out;
    }
    *rows = (int64_t)n;
    rc = 0;
out:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static int
db_odbc_endtran(struct db_odbc *dc, SQLSMALLINT how, const char *what,
                char *err, size_t errlen)
{
    SQLRETURN r;

    if (!dc->dc_connected) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    r = SQLEndTran(SQL_HANDLE_DBC, dc->dc_dbc, how);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_DBC, dc->dc_dbc, what, err, errlen);
        return -1;
    }
    dc->dc_in_txn = 0;
    return 0;
}

static int
db_odbc_commit(void *ctx, char *err, size_t errlen)
{
    return db_odbc_endtran(ctx, SQL_COMMIT, "COMMIT (SQLEndTran)", err, errlen);
}

static int
db_odbc_rollback(void *ctx, char *err, size_t errlen)
{
    return db_odbc_endtran(ctx, SQL_ROLLBACK, "ROLLBACK (SQLEndTran)", err,
                           errlen);
}

/* WSUS keeps its configuration in these three one-row tables; which
 * column lives in which differs between versions. */
static const char *const db_cfg_tables[] = {
    "tbConfigurationA",
    "tbConfigurationB",
    "tbConfigurationC",
};

static int
db_stmt(struct db_odbc *dc, SQLHSTMT *st, char *err, size_t errlen)
{
    SQLRETURN r;

    *st = SQL_NULL_HSTMT;
    if (!dc->dc_connected) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    r = SQLAllocHandle(SQL_HANDLE_STMT, dc->dc_dbc, st);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_DBC, dc->dc_dbc, "SQLAllocHandle(STMT)", err,
                errlen);
        *st = SQL_NULL_HSTMT;
        return -1;
    }
    return 0;
}

/* SQLColumns on table; each wanted column it has is marked found there.
 * *seen gets the number of catalog rows (0: no such table as spelt). */
static int
db_catalog(struct db_odbc *dc, const char *table, struct db_cfgcol *cols,
           size_t ncols, size_t *seen, char *err, size_t errlen)
{
    char tbl[DB_CFG_TABLE_MAX], what[96];
    SQLCHAR name[256];
    SQLLEN ind = 0;
    SQLHSTMT st;
    SQLRETURN r;
    int rc = -1;

    *seen = 0;
    snprintf(tbl, sizeof(tbl), "%s", table);
    if (db_stmt(dc, &st, err, errlen) == -1)
        return -1;
    snprintf(what, sizeof(what), "SQLColumns(%s)", tbl);
    r = SQLColumns(st, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, NULL, 0);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, what, err, errlen);
        goto out;
    }
    r = SQLBindCol(st, 4, SQL_C_CHAR, name, sizeof(name), &ind);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, what, err, errlen);
        goto out;
    }
    while (*seen < DB_CATALOG_MAX) {
        r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            db_diag(SQL_HANDLE_STMT, st, what, err, errlen);
            goto out;
        }
        (*seen)++;
        if (ind == SQL_NULL_DATA)
            continue;
        for (size_t i = 0; i < ncols; i++) {
            if (cols[i].cc_found || !str_ieq((char *)name, cols[i].cc_name))
                continue;
            cols[i].cc_found = 1;
            snprintf(cols[i].cc_table, sizeof(cols[i].cc_table), "%s", tbl);
        }
    }
    rc = 0;
out:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

/* A name that is safe to put in a statement as an identifier. */
static int
db_ident_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* SELECT c->cc_name FROM c->cc_table: exactly one row. */
static int
db_cfg_value(struct db_odbc *dc, struct db_cfgcol *c, char *err, size_t errlen)
{
    char sql[192];
    SQLLEN ind = 0;
    SQLHSTMT st;
    SQLRETURN r;
    int rows = 0, rc = -1;

    if (!db_ident_ok(c->cc_name) || !db_ident_ok(c->cc_table)) {
        snprintf(err, errlen, "bad column name %.64s", c->cc_name);
        return -1;
    }
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s", c->cc_name, c->cc_table);
    if (db_stmt(dc, &st, err, errlen) == -1)
        return -1;
    r = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, sql, err, errlen);
        goto out;
    }
    r = SQLBindCol(st, 1, SQL_C_CHAR, c->cc_value, sizeof(c->cc_value), &ind);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "SQLBindCol", err, errlen);
        goto out;
    }
    while (rows < 2) {
        r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            db_diag(SQL_HANDLE_STMT, st, sql, err, errlen);
            goto out;
        }
        if (++rows == 1)
            c->cc_null = ind == SQL_NULL_DATA;
    }
    if (rows != 1) {
        snprintf(err, errlen, "%s has %s rows; exactly one is expected",
                 c->cc_table, rows == 0 ? "no" : "several");
        goto out;
    }
    if (c->cc_null)
        c->cc_value[0] = '\0';
    rc = 0;
out:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static int
db_odbc_config(void *ctx, struct db_cfgcol *cols, size_t ncols, char *err,
               size_t errlen)
{
    struct db_odbc *dc = ctx;

    for (size_t i = 0; i < ncols; i++) {
        cols[i].cc_found = 0;
        cols[i].cc_null = 0;
        cols[i].cc_table[0] = '\0';
        cols[i].cc_value[0] = '\0';
    }
    for (size_t t = 0; t < sizeof(db_cfg_tables) / sizeof(db_cfg_tables[0]);
         t++) {
        char lc[DB_CFG_TABLE_MAX];
        size_t seen = 0;

        if (db_catalog(dc, db_cfg_tables[t], cols, ncols, &seen, err, errlen) ==
            -1)
            return -1;
        if (seen > 0)
            continue;
        /* catalogs that fold unquoted names (PostgreSQL) */
        snprintf(lc, sizeof(lc), "%s", db_cfg_tables[t]);
        for (char *p = lc; *p != '\0'; p++)
            *p = (char)str_lc((unsigned char)*p);
        if (db_catalog(dc, lc, cols, ncols, &seen, err, errlen) == -1)
            return -1;
    }
    for (size_t i = 0; i < ncols; i++)
        if (cols[i].cc_found && db_cfg_value(dc, &cols[i], err, errlen) == -1)
            return -1;
    return 0;
}

/* db_catalog on table as spelt, then lower-cased for catalogs that fold
 * unquoted names (PostgreSQL). */
static int
db_catalog_any(struct db_odbc *dc, const char *table, struct db_cfgcol *cols,
               size_t ncols, char *err, size_t errlen)
{
    char lc[DB_CFG_TABLE_MAX];
    size_t seen = 0;

    if (db_catalog(dc, table, cols, ncols, &seen, err, errlen) == -1)
        return -1;
    if (seen > 0)
        return 0;
    snprintf(lc, sizeof(lc), "%s", table);
    for (char *p = lc; *p != '\0'; p++)
        *p = (char)str_lc((unsigned char)*p);
    return db_catalog(dc, lc, cols, ncols, &seen, err, errlen);
}

/* Run sql and copy column 1 of up to max rows, as text, into rows
 * (each DB_CFG_VALUE_MAX bytes); *n gets how many. */
static int
db_query_text(struct db_odbc *dc, const char *sql,
              char (*rows)[DB_CFG_VALUE_MAX], size_t max, size_t *n, char *err,
              size_t errlen)
{
    char buf[DB_CFG_VALUE_MAX];
    SQLLEN ind = 0;
    SQLHSTMT st;
    SQLRETURN r;
    int rc = -1;

    *n = 0;
    if (db_stmt(dc, &st, err, errlen) == -1)
        return -1;
    r = SQLExecDirect(st, (SQLCHAR *)(uintptr_t)sql, SQL_NTS);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, sql, err, errlen);
        goto out;
    }
    r = SQLBindCol(st, 1, SQL_C_CHAR, buf, sizeof(buf), &ind);
    if (!SQL_SUCCEEDED(r)) {
        db_diag(SQL_HANDLE_STMT, st, "SQLBindCol", err, errlen);
        goto out;
    }
    while (*n < max) {
        r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            db_diag(SQL_HANDLE_STMT, st, sql, err, errlen);
            goto out;
        }
        snprintf(rows[*n], DB_CFG_VALUE_MAX, "%s",
                 ind == SQL_NULL_DATA ? "(NULL)" : buf);
        (*n)++;
    }
    rc = 0;
out:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static int
db_odbc_files(void *ctx, struct db_files *out, char *err, size_t errlen)
{
    static const char sql_count[] =
        "SELECT COUNT(*) FROM tbFileOnServer WHERE ActualState <> "
        "DesiredState";
    static const char sql_names[] =
        "SELECT f.FileName FROM tbFileOnServer s JOIN tbFile f ON "
        "f.FileDigest = s.FileDigest WHERE s.ActualState <> s.DesiredState "
        "ORDER BY f.FileName";
    struct db_cfgcol on[3] = {
        {.cc_name = "FileDigest"},
        {.cc_name = "ActualState"},
        {.cc_name = "DesiredState"},
    };
    struct db_cfgcol file[2] = {
        {.cc_name = "FileDigest"},
        {.cc_name = "FileName"},
    };
    struct db_odbc *dc = ctx;
    char count[1][DB_CFG_VALUE_MAX];
    uint64_t cnt = 0;
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    if (db_catalog_any(dc, "tbFileOnServer", on, 3, err, errlen) == -1 ||
        db_catalog_any(dc, "tbFile", file, 2, err, errlen) == -1)
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (!on[i].cc_found) {
            snprintf(out->df_missing, sizeof(out->df_missing),
                     "tbFileOnServer.%s", on[i].cc_name);
            return 0;
        }
    for (size_t i = 0; i < 2; i++)
        if (!file[i].cc_found) {
            snprintf(out->df_missing, sizeof(out->df_missing), "tbFile.%s",
                     file[i].cc_name);
            return 0;
        }
    if (db_query_text(dc, sql_count, count, 1, &n, err, errlen) == -1)
        return -1;
    if (n != 1 || parse_u64(count[0], &cnt) == -1 || cnt > INT64_MAX) {
        snprintf(err, errlen, "%s: no count", sql_count);
        return -1;
    }
    out->df_count = (int64_t)cnt;
    if (db_query_text(dc, sql_names, out->df_names, DB_FILES_MAX,
                      &out->df_nnames, err, errlen) == -1)
        return -1;
    out->df_known = 1;
    return 0;
}

static void
db_odbc_disconnect(void *ctx)
{
    struct db_odbc *dc = ctx;

    if (dc->dc_connected) {
        if (dc->dc_in_txn)
            SQLEndTran(SQL_HANDLE_DBC, dc->dc_dbc, SQL_ROLLBACK);
        SQLDisconnect(dc->dc_dbc);
        dc->dc_connected = 0;
        dc->dc_in_txn = 0;
    }
    if (dc->dc_dbc != SQL_NULL_HDBC)
        SQLFreeHandle(SQL_HANDLE_DBC, dc->dc_dbc);
    dc->dc_dbc = SQL_NULL_HDBC;
    if (dc->dc_env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, dc->dc_env);
    dc->dc_env = SQL_NULL_HENV;
}

static void
db_odbc_close(void *ctx)
{
    if (ctx == NULL)
        return;
    db_odbc_disconnect(ctx);
    free(ctx);
}

int
db_odbc_open(struct db_ops *ops, char *err, size_t errlen)
{
    struct db_odbc *dc = calloc(1, sizeof(*dc));

    if (dc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dc->dc_env = SQL_NULL_HENV;
    dc->dc_dbc = SQL_NULL_HDBC;
    ops->do_ctx = dc;
    ops->do_connect = db_odbc_connect;
    ops->do_read = db_odbc_read;
    ops->do_begin = db_odbc_begin;
    ops->do_update = db_odbc_update;
    ops->do_commit = db_odbc_commit;
    ops->do_rollback = db_odbc_rollback;
    ops->do_disconnect = db_odbc_disconnect;
    ops->do_close = db_odbc_close;
    ops->do_config = db_odbc_config;
    ops->do_files = db_odbc_files;
    return 0;
}
