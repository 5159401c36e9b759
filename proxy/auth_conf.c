/*
 * auth_conf.c - struct shim_config's credentials to struct auth_cred.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth_conf.h"
#include "config.h"
#include "strutil.h"

static int
hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
auth_cred_from_config(const struct shim_config *cfg, struct auth_cred *out,
                      uint8_t nt_hash[16])
{
    const char *h = cfg->sc_up_password_hash;

    memset(out, 0, sizeof(*out));
    out->ac_user = cfg->sc_up_user;
    out->ac_password = cfg->sc_up_password;
    out->ac_keytab = cfg->sc_up_keytab;
    out->ac_principal = cfg->sc_up_principal;
    out->ac_spn = cfg->sc_up_spn;
    if (h == NULL)
        return 0;
    if (strlen(h) != 32)
        goto bad;
    for (size_t i = 0; i < 16; i++) {
        int hi = hex_nibble(h[2 * i]), lo = hex_nibble(h[2 * i + 1]);
        if (hi == -1 || lo == -1)
            goto bad;
        nt_hash[i] = (uint8_t)(hi << 4 | lo);
    }
    out->ac_nt_hash = nt_hash;
    return 0;
bad:
    OPENSSL_cleanse(nt_hash, 16);
    memset(out, 0, sizeof(*out));
    return -1;
}
