/*
 * sockaddr.c - socket addresses as text and bytes, the same on every
 * platform: <event2/util.h> brings each system's socket headers and
 * evutil_inet_ntop/pton their conversions (declared in plat.h).
 */
#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "plat.h"

int
plat_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (evutil_inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a)) == NULL)
            return -1;
        snprintf(buf, len, "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
        return 0;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        if (evutil_inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a)) == NULL)
            return -1;
        snprintf(buf, len, "%s:%u", a, (unsigned)ntohs(s4->sin_port));
        return 0;
    }
    return -1;
}

int
plat_sockaddr_bytes(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &s6->sin6_addr, 16);
        *family = 6;
        return 0;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(addr, &s4->sin_addr, 4);
        *family = 4;
        return 0;
    }
    return -1;
}

int
plat_sockaddr_make(const char *addr, uint16_t port, struct sockaddr *out,
                   int *outlen)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

    memset(out, 0, sizeof(struct sockaddr_storage));
    if (evutil_inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        *outlen = (int)sizeof(*s4);
        return 0;
    }
    if (evutil_inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        *outlen = (int)sizeof(*s6);
        return 0;
    }
    return -1;
}
