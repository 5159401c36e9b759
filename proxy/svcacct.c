/*
 * svcacct.c - `install --account` words to service accounts.
 */
#include <stdio.h>
#include <string.h>

#include "strparse.h"
#include "strutil.h"
#include "svcacct.h"

static const struct {
    const char *w_word;
    enum svcacct_kind w_kind;
    const char *w_name;
} builtin[] = {
    {"LocalSystem", SVCACCT_LOCAL_SYSTEM, ""},
    {"SYSTEM", SVCACCT_LOCAL_SYSTEM, ""},
    {"NT AUTHORITY\\SYSTEM", SVCACCT_LOCAL_SYSTEM, ""},
    {"NetworkService", SVCACCT_NETWORK_SERVICE, "NT AUTHORITY\\NetworkService"},
    {"NT AUTHORITY\\NetworkService", SVCACCT_NETWORK_SERVICE,
     "NT AUTHORITY\\NetworkService"},
    {"LocalService", SVCACCT_LOCAL_SERVICE, "NT AUTHORITY\\LocalService"},
    {"NT AUTHORITY\\LocalService", SVCACCT_LOCAL_SERVICE,
     "NT AUTHORITY\\LocalService"},
};

int
svcacct_resolve(const char *word, struct svcacct *out, char *err, size_t errlen)
{
    size_t n;

    memset(out, 0, sizeof(*out));
    if (word == NULL) {
        out->sa_network_id = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        if (str_ieq(word, builtin[i].w_word)) {
            out->sa_kind = builtin[i].w_kind;
            snprintf(out->sa_name, sizeof(out->sa_name), "%s",
                     builtin[i].w_name);
            out->sa_network_id = out->sa_kind != SVCACCT_LOCAL_SERVICE;
            return 0;
        }
    }
    n = strlen(word);
    if (n == 0 || n >= sizeof(out->sa_name) ||
        strpbrk(word, "\"/:*?<>|,;=[]+") != NULL) {
        errfmt(err, errlen, "--account: '%s' is not an account name", word);
        return -1;
    }
    if (strchr(word, '\\') == NULL && strchr(word, '@') == NULL) {
        errfmt(err, errlen,
               "--account: give DOMAIN\\user, .\\user for a local "
               "account, or user@domain (or LocalSystem, NetworkService)");
        return -1;
    }
    snprintf(out->sa_name, sizeof(out->sa_name), "%s", word);
    out->sa_logon_right = 1;
    out->sa_network_id = 1;
    if (word[n - 1] == '$') {
        out->sa_kind = SVCACCT_GMSA;
        return 0;
    }
    out->sa_kind = SVCACCT_USER;
    out->sa_password = 1;
    return 0;
}
