/*
 * svcacct.h - the account a Windows service runs as, from the word given
 * to `wsus-shim install --account`. Pure: the rules are the same on every
 * platform and unit-tested anywhere; svc_win32.c applies the result.
 *
 *   (none), LocalSystem        the SCM's default; the machine account on
 *                              the network (Negotiate as HOST$)
 *   NetworkService             NT AUTHORITY\NetworkService: fewer rights,
 *                              still the machine account on the network
 *   LocalService               NT AUTHORITY\LocalService: anonymous on the
 *                              network, so no Negotiate or NTLM as itself
 *   DOMAIN\name$               a group managed service account (gMSA):
 *                              no password, Windows rotates it
 *   DOMAIN\user, .\user,       an ordinary account: its password is asked
 *   user@domain.example        for at install and kept by the SCM only
 */
#ifndef WSUS_SVCACCT_H
#define WSUS_SVCACCT_H

#include <stddef.h>

enum svcacct_kind {
    SVCACCT_LOCAL_SYSTEM = 0,
    SVCACCT_NETWORK_SERVICE,
    SVCACCT_LOCAL_SERVICE,
    SVCACCT_GMSA,
    SVCACCT_USER,
};

struct svcacct {
    enum svcacct_kind sa_kind;
    char sa_name[256];  /* for CreateService; "" for LocalSystem */
    int sa_password;    /* a password must be given */
    int sa_logon_right; /* needs "Log on as a service" granted */
    int sa_network_id;  /* authenticates as itself on the network */
};

/* Resolve word (NULL: LocalSystem). Returns 0, or -1 with a message in
 * err. */
int svcacct_resolve(const char *word, struct svcacct *out, char *err,
                    size_t errlen);

#endif
