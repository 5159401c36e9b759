/*
 * auth_conf.h - the configured credentials as the auth framework takes
 * them. Pure: no I/O, no log.
 */
#ifndef WSUS_AUTH_CONF_H
#define WSUS_AUTH_CONF_H

#include <stdint.h>

#include "auth.h"

struct shim_config;

/* Fill *out from cfg's [upstream] user, password, password_hash, keytab,
 * principal and spn. The strings are borrowed from cfg (which must outlive
 * *out); the NT hash is decoded from its 32 hex digits into nt_hash,
 * which *out points to (ac_nt_hash is NULL when no hash is configured).
 * Returns 0, or -1 when password_hash is not 32 hex digits (config_load
 * already refuses that; *out is then cleared and nt_hash wiped). The
 * caller wipes nt_hash when done with it. */
int auth_cred_from_config(const struct shim_config *cfg, struct auth_cred *out,
                          uint8_t nt_hash[16]);

#endif
