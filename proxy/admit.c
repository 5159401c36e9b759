/*
 * admit.c - the request-head checks of admit.h: pure, no sockets, no
 * logging; reasons are static strings the caller logs and answers with.
 */
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "cache.h"
#include "config.h"
#include "policy.h"

static void
admit_set(struct admit *ad, int status, const char *why, int close,
          const char *plan)
{
    ad->ad_status = status;
    ad->ad_why = why;
    ad->ad_close = close;
    ad->ad_plan = plan;
}

static int
method_allowed(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "POST") == 0 || strcmp(m, "CONNECT") == 0;
}

static int
port_allowed(const struct shim_config *cfg, uint16_t port)
{
    for (size_t i = 0; i < cfg->sc_nconnect_ports; i++)
        if (cfg->sc_connect_ports[i] == port)
            return 1;
    return 0;
}

int
admit_head(const struct http_msg *m, struct req_target *tgt, struct admit *ad)
{
    const char *why = NULL;

    admit_set(ad, 0, NULL, 0, NULL);
    if (!method_allowed(m->hm_method)) {
        admit_set(ad, 405, "method not allowed through this proxy", 0, NULL);
        return 0;
    }
    if (req_target_parse(m->hm_target, m->hm_is_connect,
                         hdr_get(&m->hm_hdrs, "Host"), tgt, &why) == -1) {
        admit_set(ad, 400, why ? why : "bad request target", 1, NULL);
        return 0;
    }
    if (m->hm_expect_other)
        admit_set(ad, 417, "unsupported Expect", 0, NULL);
    return 1;
}

char *
admit_url(const struct http_msg *m, const struct req_target *tgt)
{
    char url[4096];

    if (m->hm_is_connect) {
        if (req_target_authority(tgt, 0, url, sizeof(url)) == 0)
            return strdup(url);
    } else if (req_target_url(tgt, url, sizeof(url)) == 0) {
        return strdup(url);
    }
    return NULL;
}

int
admit_policy(const struct shim_config *cfg, const struct http_msg *m,
             const struct req_target *tgt, struct admit *ad)
{
    admit_set(ad, 0, NULL, 0, NULL);
    if (!pattern_list_match(&cfg->sc_allow_hosts, tgt->rt_host))
        admit_set(ad, 403, "destination host not in allow_hosts", 0, "denied");
    else if (m->hm_is_connect && !port_allowed(cfg, tgt->rt_port))
        admit_set(ad, 403, "CONNECT port not in connect_ports", 1, "denied");
    return ad->ad_status == 0;
}

int
admit_has_body(const struct http_msg *m)
{
    return m->hm_chunked || (m->hm_has_length && m->hm_length > 0);
}

int
admit_wants_cache(const struct http_msg *m, const char *url)
{
    const char *ua = hdr_get(&m->hm_hdrs, "User-Agent");
    char sha[41];

    if (strcmp(m->hm_method, "GET") != 0)
        return 0;
    return (url != NULL && cache_url_sha1(url, sha)) ||
           hdr_get(&m->hm_hdrs, "Range") != NULL ||
           (ua != NULL && strstr(ua, "BITS") != NULL);
}
