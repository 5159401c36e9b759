/*
 * fuzz_http_diff.c - differential libFuzzer target: our request parser
 * (proxy/http_msg.c: the head scanner, the field checks and the framing
 * decision, over llhttp) against llhttp alone in its strict default
 * settings, on the same bytes.
 *
 * Where a request head is accepted by us, both must agree on how its body
 * is framed, since a disagreement between two parsers is how requests are
 * smuggled:
 *   - llhttp alone also reaches the end of the head without an error;
 *   - chunked for us exactly when llhttp sees Transfer-Encoding: chunked;
 *   - a Content-Length for us exactly when llhttp has one, of the same
 *     value.
 * We may refuse what llhttp takes (we are stricter), never the reverse of
 * the framing.
 */
#include <stdint.h>
#include <string.h>

#include <llhttp.h>

#include "fuzz.h"
#include "http_msg.h"

struct view {
    int v_head;
    int v_chunked;
    int v_has_length;
    uint64_t v_length;
};

static int
our_head(void *arg, struct http_msg *m)
{
    struct view *v = arg;

    v->v_head = 1;
    v->v_chunked = m->hm_chunked != 0;
    v->v_has_length = m->hm_has_length != 0;
    v->v_length = m->hm_length;
    return -1; /* the head is all we compare */
}

static int
our_body(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

static int
our_done(void *arg)
{
    (void)arg;
    return 0;
}

static const struct http_parser_cb our_cb = {our_head, our_body, our_done};

static const struct http_limits our_lim = {
    .hl_max_head = 4096,
    .hl_max_headers = 40,
    .hl_max_uri = 1024,
    .hl_max_body = 1u << 20,
};

static int
ll_headers_complete(llhttp_t *p)
{
    struct view *v = p->data;

    v->v_head = 1;
    v->v_chunked = (p->flags & F_CHUNKED) != 0;
    v->v_has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    v->v_length = p->content_length;
    return HPE_PAUSED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct view ours, ll;
    struct http_parser *p;
    llhttp_settings_t set;
    llhttp_t h;
    size_t used = 0;

    memset(&ours, 0, sizeof(ours));
    memset(&ll, 0, sizeof(ll));
    p = http_parser_new(HTTP_KIND_REQUEST, &our_lim, &our_cb, &ours);
    CHECK(p != NULL);
    (void)http_parser_feed(p, (const char *)data, size, &used);
    http_parser_free(p);
    if (!ours.v_head)
        return 0;

    llhttp_settings_init(&set);
    set.on_headers_complete = ll_headers_complete;
    llhttp_init(&h, HTTP_REQUEST, &set);
    h.data = &ll;
    llhttp_errno_t e = llhttp_execute(&h, (const char *)data, size);
    CHECK(ll.v_head && (e == HPE_PAUSED || e == HPE_OK));
    CHECK(ours.v_chunked == ll.v_chunked);
    CHECK(ours.v_has_length == (ll.v_has_length && !ll.v_chunked));
    if (ours.v_has_length)
        CHECK(ours.v_length == ll.v_length);
    return 0;
}
