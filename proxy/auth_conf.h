/*
 * auth_conf.h - the configured credentials as the authentication
 * framework takes them.
 */
#ifndef WSUS_AUTH_CONF_H
#define WSUS_AUTH_CONF_H

#include <stdint.h>

#include "auth.h"
#include "config.h"

/* Fill *out from cfg's [upstream] keys. Strings are borrowed from cfg;
 * the NT hash (password_hash, 32 hex digits) is decoded into nt_hash,
 * which must live as long as *out. Returns 0, or -1 when the hash is not
 * hex (the config loader already refuses that). */
int auth_cred_from_config(const struct shim_config *cfg,
                          struct auth_cred *out, uint8_t nt_hash[16]);

#endif
