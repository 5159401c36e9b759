/*
 * aclcheck.c - DACL evaluation (aclcheck.h).
 */
#include <string.h>

#include "aclcheck.h"
#include "strutil.h"

#define ACL_GENERIC_READ 0x80000000u
#define ACL_GENERIC_WRITE 0x40000000u
#define ACL_GENERIC_EXECUTE 0x20000000u
#define ACL_GENERIC_ALL 0x10000000u
#define ACL_FILE_ALL 0x001f01ffu

static const char *const acl_sids_ns[] = {
    "S-1-5-20", "S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-6", NULL,
};
static const char *const acl_sids_users[] = {
    "S-1-5-32-545",
    "S-1-1-0",
    "S-1-5-11",
    NULL,
};

const char *const *
acl_who_sids(enum acl_who who)
{
    return who == ACL_WHO_NETWORK_SERVICE ? acl_sids_ns : acl_sids_users;
}

const char *
acl_who_name(enum acl_who who)
{
    return who == ACL_WHO_NETWORK_SERVICE ? "NETWORK SERVICE" : "Users";
}

uint32_t
acl_map_generic(uint32_t mask)
{
    uint32_t out = mask & ~(ACL_GENERIC_READ | ACL_GENERIC_WRITE |
                            ACL_GENERIC_EXECUTE | ACL_GENERIC_ALL);

    /* FILE_GENERIC_READ, _WRITE, _EXECUTE and FILE_ALL_ACCESS */
    if (mask & ACL_GENERIC_READ)
        out |= 0x00120089u;
    if (mask & ACL_GENERIC_WRITE)
        out |= 0x00120116u;
    if (mask & ACL_GENERIC_EXECUTE)
        out |= 0x001200a0u;
    if (mask & ACL_GENERIC_ALL)
        out |= ACL_FILE_ALL;
    return out;
}

static int
acl_holds(const char *const *sids, const char *sid)
{
    for (; *sids != NULL; sids++)
        if (str_ieq(*sids, sid))
            return 1;
    return 0;
}

uint32_t
acl_effective(const struct acl_ace *aces, size_t n, int null_dacl,
              const char *const *sids)
{
    uint32_t granted = 0, denied = 0;

    if (null_dacl)
        return ACL_FILE_ALL;
    for (size_t i = 0; i < n; i++) {
        uint32_t m;

        if (aces[i].ae_inherit_only || !acl_holds(sids, aces[i].ae_sid))
            continue;
        m = acl_map_generic(aces[i].ae_mask);
        if (aces[i].ae_type == ACL_ACE_DENY)
            denied |= m & ~granted;
        else
            granted |= m & ~denied;
    }
    return granted;
}
