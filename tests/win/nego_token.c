/*
 * nego_token.c - the Windows build's Negotiate mechanism (auth_sspi.c)
 * under Wine, through auth.h's session API, for
 * tests/win/test_negotiate_wine.py:
 *
 *   nego-token HOST [--scheme negotiate|ntlm] [--spn S]
 *              [--user U --password P] [--count N]
 *
 * Prints "usable 0|1" (auth_usable() for the scheme, Negotiate by
 * default; NTLM with no user is the process's own logon), then for each of N
 * fresh sessions either "value <Proxy-Authorization value>" or
 * "error: <message>". Exit 0 when every session gave a value, 2 when one
 * failed, 1 on bad usage.
 *
 * It prints the token itself: the test sends it to a Linux Squid over a
 * loopback socket, in a throwaway realm of the test's own. The shim
 * never does this.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "strparse.h"

int
main(int argc, char **argv)
{
    struct auth_cred c;
    const char *host = NULL;
    uint64_t count = 1;
    enum auth_scheme scheme = AUTH_NEGOTIATE;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (k[0] != '-' && host == NULL) {
            host = k;
            continue;
        }
        if (v == NULL)
            goto usage;
        i++;
        if (strcmp(k, "--scheme") == 0 && strcmp(v, "ntlm") == 0)
            scheme = AUTH_NTLM;
        else if (strcmp(k, "--scheme") == 0 && strcmp(v, "negotiate") == 0)
            scheme = AUTH_NEGOTIATE;
        else if (strcmp(k, "--spn") == 0)
            c.ac_spn = v;
        else if (strcmp(k, "--user") == 0)
            c.ac_user = v;
        else if (strcmp(k, "--password") == 0)
            c.ac_password = v;
        else if (strcmp(k, "--count") == 0) {
            if (parse_u64_max(v, 100, &count) == -1)
                goto usage;
        } else
            goto usage;
    }
    if (host == NULL)
        goto usage;
    printf("usable %d\n", (auth_usable(&c) & AUTH_BIT(scheme)) != 0);
    for (uint64_t n = 0; n < count; n++) {
        char err[512];
        char *value = NULL;
        struct auth_sess *a;

        a = auth_sess_new(scheme, &c, host, err, sizeof(err));
        if (a == NULL ||
            auth_sess_step(a, NULL, &value, err, sizeof(err)) == -1) {
            printf("error: %s\n", err);
            rc = 2;
        } else {
            printf("value %s last %d\n", value, auth_sess_sent_last(a));
        }
        auth_value_free(value);
        auth_sess_free(a);
    }
    fflush(stdout);
    return rc;
usage:
    fprintf(stderr, "usage: nego-token HOST [--scheme negotiate|ntlm] "
                    "[--spn S] [--user U --password P] [--count N]\n");
    return 1;
}
