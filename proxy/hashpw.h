/*
 * hashpw.h - the "wsus-shim hash-password" verb: the NT hash of a
 * password for [upstream] password_hash, so the conf need not hold the
 * password itself.
 */
#ifndef WSUS_HASHPW_H
#define WSUS_HASHPW_H

/* argv[0] is "hash-password"; options: [-u USER]. Reads the password
 * with plat_read_secret (never from argv) and prints the conf lines
 * ("user = USER" with -u, then "password_hash = <32 hex>"). Returns the
 * exit code: 0, 1 when no usable password was read, 2 for a wrong usage. */
int hashpw_main(int argc, char **argv);

#endif
