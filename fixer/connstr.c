/*
 * connstr.c - building and masking ODBC connection strings (connstr.h).
 * A connection string is KEY=VALUE pairs separated by ';'; a value may be
 * braced, "{...}", with "}}" standing for one '}'.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "connstr.h"

static const char connstr_wid_pipe[] =
    "np:\\\\.\\pipe\\MICROSOFT##WID\\tsql\\query";
static const char connstr_ssee_pipe[] =
    "np:\\\\.\\pipe\\MSSQL$MICROSOFT##SSEE\\sql\\query";

/* Case-insensitive: does s contain word? */
static int
connstr_has(const char *s, size_t slen, const char *word)
{
    size_t wl = strlen(word);

    for (size_t i = 0; i + wl <= slen; i++) {
        size_t j;

        for (j = 0; j < wl; j++)
            if (tolower((unsigned char)s[i + j]) !=
                tolower((unsigned char)word[j]))
                break;
        if (j == wl)
            return 1;
    }
    return 0;
}

static int
connstr_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || c == ';' || c == '{' || c == '}' ||
            c == '=')
            return 0;
    }
    return 1;
}

/*
 * The N of "ODBC Driver N for SQL Server" (any case), or 0 for any other
 * driver name ("SQL Server", "SQL Server Native Client 11.0", ...).
 */
static unsigned
connstr_odbc_driver_major(const char *driver)
{
    static const char pre[] = "odbc driver ", post[] = " for sql server";
    const char *p = driver;
    unsigned n = 0;

    for (size_t i = 0; i < sizeof(pre) - 1; i++, p++)
        if (tolower((unsigned char)*p) != pre[i])
            return 0;
    if (!isdigit((unsigned char)*p))
        return 0;
    for (; isdigit((unsigned char)*p) && n < 1000; p++)
        n = n * 10 + (unsigned)(*p - '0');
    for (size_t i = 0; i < sizeof(post) - 1; i++, p++)
        if (tolower((unsigned char)*p) != post[i])
            return 0;
    return *p == '\0' ? n : 0;
}

int
connstr_from_sqlserver_name(const char *name, const char *driver, char *out,
                            size_t outlen, char *err, size_t errlen)
{
    const char *server = name, *trust = "";
    int n;

    if (name == NULL || *name == '\0') {
        snprintf(err, errlen, "SqlServerName is empty");
        return -1;
    }
    if (!connstr_safe(name)) {
        snprintf(err, errlen,
                 "SqlServerName \"%s\" holds a character that "
                 "cannot appear in a connection string",
                 name);
        return -1;
    }
    if (driver == NULL || *driver == '\0' || !connstr_safe(driver)) {
        snprintf(err, errlen, "bad ODBC driver name");
        return -1;
    }
    if (connstr_has(name, strlen(name), "##WID"))
        server = connstr_wid_pipe;
    else if (connstr_has(name, strlen(name), "##SSEE"))
        server = connstr_ssee_pipe;
    /*
     * ODBC Driver 18 encrypts by default and checks the server's
     * certificate; WID and SSEE present a self-signed one. Their pipes are
     * local to the host, so the string trusts that certificate and keeps
     * the encryption. A remote SQL Server keeps the driver's check.
     */
    if (server != name && connstr_odbc_driver_major(driver) >= 18)
        trust = ";TrustServerCertificate=yes";
    n = snprintf(out, outlen,
                 "Driver={%s};Server=%s;Database=SUSDB;"
                 "Trusted_Connection=yes%s",
                 driver, server, trust);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "connection string too long");
        return -1;
    }
    return 0;
}

/* Append len bytes of s to out, keeping room for the NUL. */
static void
connstr_put(char *out, size_t outlen, size_t *used, const char *s, size_t len)
{
    if (outlen == 0)
        return;
    if (len > outlen - 1 - *used)
        len = outlen - 1 - *used;
    memcpy(out + *used, s, len);
    *used += len;
    out[*used] = '\0';
}

void
connstr_mask(const char *connstr, char *out, size_t outlen)
{
    const char *p = connstr;
    size_t used = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    while (*p != '\0') {
        const char *key = p, *eq, *val, *end;
        int secret;

        eq = strchr(p, '=');
        end = strchr(p, ';');
        if (eq == NULL || (end != NULL && end < eq)) {
            /* no value in this piece: copy through the ';' */
            size_t len = end != NULL ? (size_t)(end - p) + 1 : strlen(p);
            connstr_put(out, outlen, &used, p, len);
            p += len;
            continue;
        }
        secret = connstr_has(key, (size_t)(eq - key), "pwd") ||
                 connstr_has(key, (size_t)(eq - key), "password");
        val = eq + 1;
        end = val;
        if (*end == '{') {
            for (end++; *end != '\0'; end++) {
                if (*end == '}') {
                    if (end[1] == '}') {
                        end++;
                        continue;
                    }
                    end++;
                    break;
                }
            }
        }
        while (*end != '\0' && *end != ';')
            end++;
        connstr_put(out, outlen, &used, key, (size_t)(val - key));
        if (secret)
            connstr_put(out, outlen, &used, "***", 3);
        else
            connstr_put(out, outlen, &used, val, (size_t)(end - val));
        if (*end == ';') {
            connstr_put(out, outlen, &used, ";", 1);
            end++;
        }
        p = end;
    }
}
