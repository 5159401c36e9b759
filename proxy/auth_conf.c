/*
 * auth_conf.c - struct shim_config's [upstream] keys to struct auth_cred.
 */
#include <string.h>

#include "auth_conf.h"

static int
hexval(int c)
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
        return -1;
    for (size_t i = 0; i < 16; i++) {
        int hi = hexval((unsigned char)h[2 * i]);
        int lo = hexval((unsigned char)h[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        nt_hash[i] = (uint8_t)(hi << 4 | lo);
    }
    out->ac_nt_hash = nt_hash;
    return 0;
}
