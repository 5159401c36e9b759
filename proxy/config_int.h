/*
 * config_int.h - the key table of the conf file, shared by config.c (which
 * parses into struct shim_config through it) and config_print.c (which
 * prints a config back in conf syntax through it). Nothing else includes
 * this header.
 */
#ifndef WSUS_CONFIG_INT_H
#define WSUS_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum ck_type {
    CK_ADDR = 0,   /* an IP literal (checked after parsing) */
    CK_STR,        /* a string; empty = NULL */
    CK_PATH,       /* a path relative to the conf folder; not empty */
    CK_OPTPATH,    /* the same, or empty = NULL */
    CK_U16,        /* uint16_t in [min, max] */
    CK_U32,        /* uint32_t in [min, max] */
    CK_SIZE32,     /* parse_size into uint32_t */
    CK_SIZE64,     /* parse_size into uint64_t */
    CK_SIZEPCT,    /* a size into off (uint64_t), or "N%" (0..50) into
                    * off2 (uint32_t); the other one is 0 */
    CK_MS,         /* parse_duration_ms into uint32_t */
    CK_BOOL,       /* parse_bool into int */
    CK_LOGLEVEL,   /* error|warn|info|debug into int */
    CK_RANGEMODE,  /* cache|slice|pass into enum range_mode */
    CK_HTTPVER,    /* 1.0|1.1 into int (the minor version) */
    CK_LOGDEST,    /* "stderr"/"" = NULL, "syslog", or a path */
    CK_ACCESSDEST, /* "off"/"" = NULL, "-"/"stdout" = "-", or a path */
    CK_AUTH,       /* auto|none|basic|ntlm|negotiate into enum auth_want */
    CK_NTHASH,     /* an NT hash, 32 hex digits, kept as a secret string */
    CK_SECRET,     /* the password itself; empty = NULL */
    CK_SECRETFILE, /* a file holding the password (off2: the password) */
    CK_CIDRS,      /* list: struct cidr_list */
    CK_HOSTS,      /* list: struct pattern_list */
    CK_NOPROXY,    /* list: names to off (pattern_list), CIDRs to off2 */
    CK_PROXIES,    /* list: host:port into off (array), off2 (count) */
    CK_PORTS,      /* list: 1..65535 into off (uint16_t array), off2 */
};

struct conf_key {
    const char *k_section;
    const char *k_name;
    enum ck_type k_type;
    uint64_t k_min, k_max; /* inclusive bounds of numeric types */
    uint64_t k_def;        /* default of numeric and bool types */
    const char *k_sdef;    /* default of the others, in conf syntax */
    size_t k_off;          /* the field in struct shim_config */
    size_t k_off2;         /* a second field (see enum ck_type) */
};

#define OFF(f) offsetof(struct shim_config, f)
#define SEC_S 1000u
#define MIN_MS (60u * SEC_S)
#define HOUR_MS (60u * MIN_MS)
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

/* Every key, grouped by section in the order config_print shows them. */
extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* "1K", "64M", "20G", or plain bytes: the largest unit that divides v. */
void config_fmt_size(uint64_t v, char *buf, size_t len);
/* "250ms", "30s", "5m", "1h": the largest unit that divides ms. */
void config_fmt_ms(uint64_t ms, char *buf, size_t len);

/* config_value.c */

/* Set row k from val (already trimmed by inih). dir resolves relative
 * paths (NULL = as is). append adds to a list (continuation line).
 * Returns 0, or -1 with "name: reason" in m. */
int config_key_set(struct shim_config *cfg, const char *dir,
                   const struct conf_key *k, const char *val, int append,
                   char *m, size_t mlen);
/* The field at off in cfg. */
void *config_field(struct shim_config *cfg, size_t off);
/* Overwrite and free a string that held a secret; *sp becomes NULL. */
void config_secret_free(char **sp);
/* The folder part of path (without the separator), or NULL when path has
 * none (the current folder) or on ENOMEM (*oom set). */
char *config_path_dir(const char *path, int *oom);

/* The longest conf line the reader takes: inih's line buffer
 * (INI_MAX_LINE, 200) less room for "\r\n" and the NUL. config_print
 * keeps every line within it. */
#define CONF_LINE_MAX 197

/* config_value.c. Is p absolute ("/x", "\\x", "C:...")? The conf's relative
 * paths are taken against the conf's folder. */
int config_path_is_abs(const char *p);

/* config_list.c */

/* Is a row of this type a list? */
int config_list_is(enum ck_type t);
/* Empty the list field(s) of row k. */
void config_list_clear(struct shim_config *cfg, const struct conf_key *k);
/* Split a comma-separated value and add each trimmed item. Unless append,
 * the list is emptied first. An empty value is an empty list. One comma
 * may end the line (so "a,\n  b" continues naturally); any other empty
 * item (",a", "a,,b", ",") is an error. Returns 0 or -1 with a message in
 * m. */
int config_list_set(struct shim_config *cfg, const struct conf_key *k,
                    const char *val, int append, char *m, size_t mlen);
/* Free an upstream.proxy list and zero it. */
void config_proxies_free(struct upstream_addr **v, size_t *n);

#endif
