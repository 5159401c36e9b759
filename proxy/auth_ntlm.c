/*
 * auth_ntlm.c - NTLMv2 (placeholder until the mechanism lands: never
 * usable).
 */
#include <stddef.h>

#include "auth.h"
#include "strparse.h"

static int
ntlm_usable(const struct auth_cred *c)
{
    (void)c;
    return 0;
}

static void *
ntlm_new(const struct auth_cred *c, const char *host, char *err,
         size_t errlen)
{
    (void)c;
    (void)host;
    errfmt(err, errlen, "NTLM is not built in");
    return NULL;
}

static int
ntlm_step(void *st, const unsigned char *in, size_t inlen,
          unsigned char **out, size_t *outlen, int *last, char *err,
          size_t errlen)
{
    (void)st;
    (void)in;
    (void)inlen;
    (void)out;
    (void)outlen;
    (void)last;
    errfmt(err, errlen, "NTLM is not built in");
    return -1;
}

static void
ntlm_free(void *st)
{
    (void)st;
}

const struct auth_mech auth_mech_ntlm = {
    AUTH_NTLM, "NTLM", ntlm_usable, ntlm_new, ntlm_step, ntlm_free,
};
