/*
 * aclcheck.h - the effective rights a Windows DACL grants a principal,
 * evaluated the way AccessCheck walks a DACL: the ACEs in order, each
 * access bit decided by the first ACE that names one of the principal's
 * SIDs and that bit (deny or allow); inherit-only ACEs do not apply to
 * the object itself; generic rights are mapped with the file mapping.
 * Pure and portable (SIDs as strings), so the rules run under cmocka on
 * Linux; fplat_win32.c turns a real DACL into struct acl_ace entries.
 */
#ifndef WSUS_ACLCHECK_H
#define WSUS_ACLCHECK_H

#include <stddef.h>
#include <stdint.h>

#define ACL_SID_MAX 192

/* Access bits of a folder (winnt.h values). */
#define ACL_LIST_DIRECTORY 0x00000001u /* FILE_LIST_DIRECTORY / READ_DATA */
#define ACL_READ_EA 0x00000008u
#define ACL_TRAVERSE 0x00000020u
#define ACL_READ_ATTRIBUTES 0x00000080u
#define ACL_READ_CONTROL 0x00020000u
/* What doctor calls "read": the data bits of the Read permission
 * (FILE_GENERIC_READ without READ_CONTROL and SYNCHRONIZE). */
#define ACL_NEED_READ (ACL_LIST_DIRECTORY | ACL_READ_EA | ACL_READ_ATTRIBUTES)

enum acl_ace_type {
    ACL_ACE_ALLOW = 0,
    ACL_ACE_DENY,
};

struct acl_ace {
    enum acl_ace_type ae_type;
    int ae_inherit_only;      /* INHERIT_ONLY_ACE: not for this object */
    char ae_sid[ACL_SID_MAX]; /* "S-1-5-20" */
    uint32_t ae_mask;         /* as stored: generic bits not yet mapped */
};

/* The principals doctor asks about. */
enum acl_who {
    ACL_WHO_NETWORK_SERVICE = 0, /* S-1-5-20, the WSUS app pool's account */
    ACL_WHO_USERS,               /* S-1-5-32-545, BUILTIN\Users */
    ACL_WHO_N
};

/* The SIDs whose grants reach who (its own, and the well-known groups
 * every such token holds: Everyone, Authenticated Users, and for NETWORK
 * SERVICE also Users and SERVICE), NULL-terminated. Other groups are not
 * known without a logon token, so their ACEs are not counted. */
const char *const *acl_who_sids(enum acl_who who);

/* "NETWORK SERVICE", "Users". */
const char *acl_who_name(enum acl_who who);

/* GENERIC_* bits replaced by the file rights they stand for. */
uint32_t acl_map_generic(uint32_t mask);

/* The rights aces (n of them) grant to a token holding sids
 * (NULL-terminated). null_dacl: the object has no DACL, which grants
 * everything (0x1f01ff). */
uint32_t acl_effective(const struct acl_ace *aces, size_t n, int null_dacl,
                       const char *const *sids);

#endif
