/*
 * errring.c - the ring of recent errors (errring.h).
 */
#include <stdio.h>
#include <string.h>

#include "bitserr.h"
#include "errring.h"

static void
copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

void
errring_add(struct errring *r, int64_t when, int status, const char *reqid,
            const char *client, const char *method, const char *url,
            const char *upstream, const char *reason)
{
    struct errrec *e = &r->rg_v[r->rg_next];
    struct bitserr be;

    memset(e, 0, sizeof(*e));
    e->er_time = when;
    e->er_status = status;
    if (bitserr_lookup(BITSERR_STATUS, status, &be) == 0) {
        e->er_bits = be.be_code;
        e->er_bits_name = be.be_name;
    } else {
        e->er_bits_name = "";
    }
    copy_text(e->er_reqid, sizeof(e->er_reqid), reqid);
    copy_text(e->er_client, sizeof(e->er_client), client);
    copy_text(e->er_method, sizeof(e->er_method), method);
    copy_text(e->er_url, sizeof(e->er_url), url);
    copy_text(e->er_upstream, sizeof(e->er_upstream), upstream);
    copy_text(e->er_reason, sizeof(e->er_reason), reason);
    r->rg_next = (r->rg_next + 1) % ERRRING_MAX;
    if (r->rg_n < ERRRING_MAX)
        r->rg_n++;
    r->rg_total++;
}

const struct errrec *
errring_get(const struct errring *r, unsigned i)
{
    if (i >= r->rg_n)
        return NULL;
    return &r->rg_v[(r->rg_next + ERRRING_MAX - 1 - i) % ERRRING_MAX];
}

const struct errrec *
errring_last_for(const struct errring *r, const char *label)
{
    const struct errrec *e;

    size_t n = strlen(label);

    for (unsigned i = 0; (e = errring_get(r, i)) != NULL; i++) {
        /* er_upstream is one label or a list "a, b". */
        for (const char *p = e->er_upstream; *p != '\0';) {
            size_t len = strcspn(p, ",");
            if (len == n && strncmp(p, label, n) == 0)
                return e;
            p += len;
            while (*p == ',' || *p == ' ')
                p++;
        }
    }
    return NULL;
}
