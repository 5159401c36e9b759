/*
 * connstr.h - ODBC connection strings: building the default one from the
 * SqlServerName that WSUS setup records in the registry, and masking
 * passwords before a connection string is shown anywhere. Pure functions:
 * no I/O.
 */
#ifndef WSUS_CONNSTR_H
#define WSUS_CONNSTR_H

#include <stddef.h>

/* The driver used when none is configured for connection = auto. */
#define CONNSTR_DEFAULT_DRIVER "ODBC Driver 17 for SQL Server"

/*
 * Build the SUSDB connection string (trusted connection) for the
 * registry's SqlServerName: a name containing ##WID means the Windows
 * Internal Database pipe, ##SSEE the SQL Server Embedded Edition pipe
 * (both case-insensitive), anything else a SQL Server instance name.
 * driver is the ODBC driver name without braces; with ODBC Driver 18 or
 * later, the local WID and SSEE pipes get TrustServerCertificate=yes (the
 * driver encrypts by default and they present a self-signed certificate).
 * Returns 0, or -1 with a reason in err for an empty name, a name or
 * driver holding a character that would break the string (; { } = or a
 * control character), or no room in out.
 */
int connstr_from_sqlserver_name(const char *name, const char *driver, char *out,
                                size_t outlen, char *err, size_t errlen);

/* Copy connstr to out with the value of every key whose name contains
 * "pwd" or "password" (any case) replaced by "***", braced values
 * included. out is always NUL-terminated (truncated if short). */
void connstr_mask(const char *connstr, char *out, size_t outlen);

#endif
