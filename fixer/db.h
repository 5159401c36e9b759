/*
 * db.h - the database behind a small table of operations: the ODBC
 * implementation (db_odbc.c) for the real thing, fakes in the unit tests.
 * The operations are exactly what the fixer's procedure needs on SUSDB's
 * tbConfigurationC, in the order it needs them: connect, read the value
 * (checking table, column and the single row), begin (autocommit off),
 * update with a bound parameter, commit or roll back, disconnect; and for
 * doctor, WSUS's configuration columns found by name (do_config).
 */
#ifndef WSUS_DB_H
#define WSUS_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_CFG_VALUE_MAX 256
#define DB_CFG_TABLE_MAX 32

/* One WSUS configuration column: the name is the caller's, the rest is
 * filled by do_config. */
struct db_cfgcol {
    const char *cc_name;             /* WSUS's spelling, e.g. "UseProxy" */
    int cc_found;                    /* some tbConfiguration* has it */
    int cc_null;                     /* found, and the value is NULL */
    char cc_table[DB_CFG_TABLE_MAX]; /* where it was found */
    char cc_value[DB_CFG_VALUE_MAX]; /* the value as text */
};

#define DB_FILES_MAX 10

/* Files WSUS wants on this server and does not have: rows of
 * tbFileOnServer whose ActualState differs from DesiredState (waiting for
 * a download, or failed), with their names from tbFile. */
struct db_files {
    int df_known;         /* the tables and columns exist */
    char df_missing[128]; /* else the first table.column not found */
    int64_t df_count;     /* such files */
    size_t df_nnames;     /* names below (the first, by name) */
    char df_names[DB_FILES_MAX][DB_CFG_VALUE_MAX];
};

/*
 * Every operation takes do_ctx first and returns 0 or -1 with the whole
 * driver diagnostic in err.
 *   do_connect     connstr is never copied into err.
 *   do_read        the value of BitsDownloadPriorityForeground; fails
 *                  unless there is exactly one row and the value is not
 *                  NULL.
 *   do_begin       autocommit off: what follows is one transaction.
 *   do_update      set the value (a bound parameter); *rows gets the row
 *                  count the driver reports.
 *   do_commit      SQLEndTran(COMMIT).
 *   do_rollback    SQLEndTran(ROLLBACK).
 *   do_disconnect  rolls back anything open; safe to call twice.
 *   do_close       disconnects and frees do_ctx.
 *   do_config      WSUS configuration by column name (struct db_cfgcol):
 *                  the columns of tbConfigurationA, B and C are listed
 *                  with the catalog (SQLColumns), each wanted name is
 *                  matched case-insensitively, and a found column is read
 *                  from its table, which must have exactly one row. A
 *                  name no table has is left cc_found = 0: "unknown",
 *                  never a guess. Needs a connection; -1 only when the
 *                  catalog or a read fails.
 *   do_files       struct db_files; the columns are looked up with
 *                  SQLColumns first, and a missing one gives df_known = 0
 *                  (not an error). NULL in fakes that lack it.
 */
struct db_ops {
    void *do_ctx;
    int (*do_connect)(void *ctx, const char *connstr, char *err, size_t errlen);
    int (*do_read)(void *ctx, int64_t *value, char *err, size_t errlen);
    int (*do_begin)(void *ctx, char *err, size_t errlen);
    int (*do_update)(void *ctx, int64_t value, int64_t *rows, char *err,
                     size_t errlen);
    int (*do_commit)(void *ctx, char *err, size_t errlen);
    int (*do_rollback)(void *ctx, char *err, size_t errlen);
    void (*do_disconnect)(void *ctx);
    void (*do_close)(void *ctx);
    int (*do_config)(void *ctx, struct db_cfgcol *cols, size_t ncols, char *err,
                     size_t errlen);
    int (*do_files)(void *ctx, struct db_files *out, char *err, size_t errlen);
};

/* Fill ops with the ODBC implementation. Returns 0 or -1. */
int db_odbc_open(struct db_ops *ops, char *err, size_t errlen);

/* The statements the ODBC implementation runs (from sql/), for -v and
 * --dry-run. */
const char *db_sql_read(void);
const char *db_sql_update(void);

#endif
