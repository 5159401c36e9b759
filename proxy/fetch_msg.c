/*
 * fetch_msg.c - the messages of one fetch (fetch_int.h): the request head
 * for the current hop (a CONNECT, or the normalized request with the
 * hop's authentication), its sending with the body, and whether the
 * response leaves a connection that can carry another request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "auth.h"
#include "config.h"
#include "fetch_int.h"
#include "headers.h"
#include "normalize.h"
#include "relay.h"

/* Did the upstream say it keeps the connection after this response, and
 * does the response end without a close? */
int
fetch_resp_reusable(const struct fetch *f)
{
    const struct http_msg *m = f->f_resp;

    /* A CONNECT's 407 is framed as usual: its connection can carry the
     * next leg. (A CONNECT's own connection never returns to the pool:
     * fetch_finish gives it to the tunnel.) */
    if (m == NULL || !f->f_done || m->hm_close_delimited)
        return 0;
    if (m->hm_keep_alive)
        return 1;
    /* An HTTP/1.0 proxy may say so with Proxy-Connection only. */
    return m->hm_minor == 0 &&
           hdr_has_token(&m->hm_hdrs, "Proxy-Connection", "keep-alive") &&
           !hdr_has_token(&m->hm_hdrs, "Connection", "close");
}

/* Serialize the request for the current hop into f_head. */
static int
fetch_build_head(struct fetch *f)
{
    const struct shim_config *cfg = f->f_cfg;
    const struct http_msg *m = f->f_req.fr_req;
    const struct req_target *t = f->f_req.fr_tgt;
    const char *auth = fetch_auth_header(f);
    struct hdr_list h;
    char *line = NULL;

    free(f->f_head);
    f->f_head = NULL;
    f->f_sent_auth = auth != NULL;
    hdr_init(&h);
    if (m->hm_is_connect) {
        char authority[300], lbuf[400];
        const char *v;
        if (req_target_authority(t, 0, authority, sizeof(authority)) == -1)
            goto fail;
        snprintf(lbuf, sizeof(lbuf), "CONNECT %s HTTP/1.%d", authority,
                 cfg->sc_up_minor);
        if (hdr_add(&h, "Host", authority) == -1)
            goto fail;
        if (auth != NULL)
            v = auth;
        else if (cfg->sc_pass_client_auth)
            v = hdr_get(&m->hm_hdrs, "Proxy-Authorization");
        else
            v = NULL;
        if (v != NULL && hdr_add(&h, "Proxy-Authorization", v) == -1)
            goto fail;
        v = hdr_get(&m->hm_hdrs, "User-Agent");
        if (v != NULL && hdr_add(&h, "User-Agent", v) == -1)
            goto fail;
        /* The tunnel's connection must stay open through a handshake. */
        if (cfg->sc_up_minor == 0 &&
            (hdr_add(&h, "Connection", "keep-alive") == -1 ||
             hdr_add(&h, "Proxy-Connection", "keep-alive") == -1))
            goto fail;
        f->f_head = relay_request_serialize(lbuf, &h, &f->f_head_len);
    } else {
        struct norm_opts o;
        memset(&o, 0, sizeof(o));
        o.no_to_proxy = !f->f_direct;
        o.no_up_minor = cfg->sc_up_minor;
        o.no_proxy_auth = auth;
        o.no_pass_client_auth = cfg->sc_pass_client_auth;
        o.no_via = m->hm_minor >= 1 ? "1.1 wsus-shim" : "1.0 wsus-shim";
        o.no_identity = 1;
        o.no_has_body =
            f->f_req.fr_body_len > 0 || m->hm_chunked || m->hm_has_length;
        o.no_body_len = fetch_auth_holds_body(f) ? 0 : f->f_req.fr_body_len;
        /* Keep-alive is worth asking for when the connection can be
         * parked, and needed while a handshake runs on it. */
        o.no_keep_alive =
            (!f->f_nopool && cfg->sc_up_max_idle > 0) || f->f_auth != NULL;
        if (normalize_request(m, t, &o, &line, &h) == -1)
            goto fail;
        f->f_head = relay_request_serialize(line, &h, &f->f_head_len);
        free(line);
    }
    hdr_free(&h);
    return f->f_head == NULL ? -1 : 0;
fail:
    hdr_free(&h);
    return -1;
}

/* Send the request (head and body) on the current connection. */
int
fetch_send(struct fetch *f)
{
    struct evbuffer *out = bufferevent_get_output(f->f_bev);

    if (fetch_build_head(f) == -1)
        return -1;
    /* A direct CONNECT sends nothing of its own: the tunnel starts once
     * the TCP connection is up. */
    if (!(f->f_direct && f->f_req.fr_req->hm_is_connect))
        evbuffer_add(out, f->f_head, f->f_head_len);
    f->f_sent_body = !fetch_auth_holds_body(f) && f->f_req.fr_body_len > 0;
    if (!f->f_sent_body)
        ; /* none, or it goes with the last leg */
    else if (f->f_req.fr_body_seg != NULL)
        evbuffer_add_file_segment(out, f->f_req.fr_body_seg, 0,
                                  (ev_off_t)f->f_req.fr_body_len);
    else if (f->f_req.fr_body != NULL && f->f_req.fr_body_len > 0)
        evbuffer_add_buffer_reference(out, f->f_req.fr_body);
    auth_value_free(f->f_auth_value);
    f->f_auth_value = NULL;
    return 0;
}
