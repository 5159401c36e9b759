/*
 * auth_nogss.c - Negotiate on a build without GSSAPI or SSPI: never
 * usable.
 */
#include <stddef.h>

#include "auth.h"
#include "strparse.h"

static int
nego_usable(const struct auth_cred *c)
{
    (void)c;
    return 0;
}

static void *
nego_new(const struct auth_cred *c, const char *host, char *err, size_t errlen)
{
    (void)c;
    (void)host;
    errfmt(err, errlen, "Negotiate (Kerberos) is not built in");
    return NULL;
}

static int
nego_step(void *st, const unsigned char *in, size_t inlen, unsigned char **out,
          size_t *outlen, int *last, char *err, size_t errlen)
{
    (void)st;
    (void)in;
    (void)inlen;
    (void)out;
    (void)outlen;
    (void)last;
    errfmt(err, errlen, "Negotiate (Kerberos) is not built in");
    return -1;
}

static void
nego_free(void *st)
{
    (void)st;
}

const struct auth_mech auth_mech_negotiate = {
    AUTH_NEGOTIATE, "Negotiate", nego_usable, nego_new, nego_step, nego_free,
};

/* No logon of the process to authenticate as: NTLM needs a user. */
const struct auth_mech *const auth_mech_ntlm_logon = NULL;
