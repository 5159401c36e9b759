/*
 * headers.c - an ordered list of HTTP header fields.
 *
 * The list keeps fields in arrival order with their names as received, so a
 * rewritten head looks like the client's. Every lookup is case-insensitive
 * (RFC 9110 §5.1). Values are stored trimmed of optional whitespace. The
 * comma-list helpers follow RFC 9110 §5.6.1: elements are separated by
 * commas outside quoted strings, surrounding OWS is ignored, empty elements
 * are skipped. Pure: no I/O, no logging; every allocation is checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "strutil.h"

#define HDR_MIN_CAP 16

static int
is_ows(int c)
{
    return c == ' ' || c == '\t';
}

/* Case-insensitive comparison of a NUL-terminated a with b[0..blen). */

/* Trim OWS from both ends of s[0..*n); returns the new start. */
static const char *
trim_ows(const char *s, size_t *n)
{
    size_t len = *n;

    while (len > 0 && is_ows((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_ows((unsigned char)s[len - 1]))
        len--;
    *n = len;
    return s;
}

void
hdr_init(struct hdr_list *l)
{
    l->hl_v = NULL;
    l->hl_n = 0;
    l->hl_cap = 0;
}

void
hdr_free(struct hdr_list *l)
{
    for (size_t i = 0; i < l->hl_n; i++) {
        free(l->hl_v[i].h_name);
        free(l->hl_v[i].h_value);
    }
    free(l->hl_v);
    hdr_init(l);
}

static int
hdr_grow(struct hdr_list *l)
{
    struct hdr *v;
    size_t cap;

    if (l->hl_n < l->hl_cap)
        return 0;
    cap = l->hl_cap == 0 ? HDR_MIN_CAP : l->hl_cap * 2;
    if (cap > SIZE_MAX / sizeof(*v))
        return -1;
    v = realloc(l->hl_v, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    l->hl_v = v;
    l->hl_cap = cap;
    return 0;
}

int
hdr_addn(struct hdr_list *l, const char *name, size_t nlen, const char *value,
         size_t vlen)
{
    char *n = NULL, *v = NULL;

    value = trim_ows(value, &vlen);
    if (hdr_grow(l) == -1)
        goto fail;
    if ((n = str_dupn(name, nlen)) == NULL)
        goto fail;
    if ((v = str_dupn(value, vlen)) == NULL)
        goto fail;
    l->hl_v[l->hl_n].h_name = n;
    l->hl_v[l->hl_n].h_value = v;
    l->hl_n++;
    return 0;
fail:
    free(v);
    free(n);
    return -1;
}

int
hdr_add(struct hdr_list *l, const char *name, const char *value)
{
    return hdr_addn(l, name, strlen(name), value, strlen(value));
}

/* Remove the field at index i, keeping the order of the others. */
static void
hdr_remove_at(struct hdr_list *l, size_t i)
{
    free(l->hl_v[i].h_name);
    free(l->hl_v[i].h_value);
    memmove(&l->hl_v[i], &l->hl_v[i + 1],
            (l->hl_n - i - 1) * sizeof(l->hl_v[0]));
    l->hl_n--;
}

int
hdr_set(struct hdr_list *l, const char *name, const char *value)
{
    size_t i, vlen = strlen(value);
    const char *tv = trim_ows(value, &vlen);
    char *v;

    for (i = 0; i < l->hl_n; i++) {
        if (str_ieq(l->hl_v[i].h_name, name))
            break;
    }
    if (i == l->hl_n)
        return hdr_addn(l, name, strlen(name), value, strlen(value));
    /* Replace the first in place (it keeps its position), drop the rest. */
    if ((v = str_dupn(tv, vlen)) == NULL)
        return -1;
    free(l->hl_v[i].h_value);
    l->hl_v[i].h_value = v;
    for (size_t j = l->hl_n; j > i + 1; j--) {
        if (str_ieq(l->hl_v[j - 1].h_name, name))
            hdr_remove_at(l, j - 1);
    }
    return 0;
}

const char *
hdr_get(const struct hdr_list *l, const char *name)
{
    for (size_t i = 0; i < l->hl_n; i++) {
        if (str_ieq(l->hl_v[i].h_name, name))
            return l->hl_v[i].h_value;
    }
    return NULL;
}

size_t
hdr_count(const struct hdr_list *l, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < l->hl_n; i++) {
        if (str_ieq(l->hl_v[i].h_name, name))
            n++;
    }
    return n;
}

size_t
hdr_del(struct hdr_list *l, const char *name)
{
    size_t gone = 0;

    for (size_t i = l->hl_n; i > 0; i--) {
        if (str_ieq(l->hl_v[i - 1].h_name, name)) {
            hdr_remove_at(l, i - 1);
            gone++;
        }
    }
    return gone;
}

int
hdr_list_next(const char **sp, const char **tok, size_t *tlen)
{
    const char *s = *sp, *start;
    size_t n;

    for (;;) {
        if (*s == '\0') {
            *sp = s;
            return 0;
        }
        start = s;
        int inq = 0;
        for (; *s != '\0'; s++) {
            if (inq) {
                if (*s == '\\' && s[1] != '\0')
                    s++;
                else if (*s == '"')
                    inq = 0;
            } else if (*s == '"') {
                inq = 1;
            } else if (*s == ',') {
                break;
            }
        }
        n = (size_t)(s - start);
        start = trim_ows(start, &n);
        if (*s == ',')
            s++;
        if (n > 0) {
            *sp = s;
            *tok = start;
            *tlen = n;
            return 1;
        }
        /* empty element: skipped (RFC 9110 §5.6.1) */
    }
}

/* Does the comma list value carry token? */
static int
list_has(const char *value, const char *token, size_t toklen)
{
    const char *s = value, *t;
    size_t n, i;

    while (hdr_list_next(&s, &t, &n)) {
        if (n != toklen)
            continue;
        for (i = 0; i < n; i++) {
            if (str_lc((unsigned char)t[i]) != str_lc((unsigned char)token[i]))
                break;
        }
        if (i == n)
            return 1;
    }
    return 0;
}

int
hdr_has_token(const struct hdr_list *l, const char *name, const char *token)
{
    size_t toklen = strlen(token);

    for (size_t i = 0; i < l->hl_n; i++) {
        if (str_ieq(l->hl_v[i].h_name, name) &&
            list_has(l->hl_v[i].h_value, token, toklen))
            return 1;
    }
    return 0;
}

int
hdr_copy(struct hdr_list *dst, const struct hdr_list *src)
{
    for (size_t i = 0; i < src->hl_n; i++) {
        if (hdr_add(dst, src->hl_v[i].h_name, src->hl_v[i].h_value) == -1)
            return -1;
    }
    return 0;
}

/* Is name one of the fixed hop-by-hop fields? */
static int
is_fixed_hop(const char *name, int keep_proxy_auth)
{
    static const char *const hop[] = {
        "Connection", "Keep-Alive",        "Proxy-Connection", "TE",
        "Trailer",    "Transfer-Encoding", "Upgrade",
    };

    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
        if (str_ieq(name, hop[i]))
            return 1;
    }
    if (!keep_proxy_auth && (str_ieq(name, "Proxy-Authorization") ||
                             str_ieq(name, "Proxy-Authenticate")))
        return 1;
    return 0;
}

/*
 * Fields named by Connection are removed too, except Content-Length and
 * Host: a client cannot make us drop the framing or the authority of the
 * message by listing them (RFC 9110 §7.6.1 forbids a sender to list them,
 * so a proxy that honoured it would be turned into a smuggling device).
 * With keep_proxy_auth, Proxy-Authorization/-Authenticate stay even when
 * Connection names them: the administrator asked for them to pass.
 */
void
hdr_strip_hop_by_hop(struct hdr_list *l, int keep_proxy_auth)
{
    /* First everything but Connection itself, while the Connection fields
     * are still there to be consulted; then Connection. */
    for (size_t i = l->hl_n; i > 0; i--) {
        const char *name = l->hl_v[i - 1].h_name;
        int drop;

        if (str_ieq(name, "Connection"))
            continue;
        drop = is_fixed_hop(name, keep_proxy_auth);
        if (!drop && !str_ieq(name, "Content-Length") &&
            !str_ieq(name, "Host") &&
            !(keep_proxy_auth && (str_ieq(name, "Proxy-Authorization") ||
                                  str_ieq(name, "Proxy-Authenticate"))))
            drop = hdr_has_token(l, "Connection", name);
        if (drop)
            hdr_remove_at(l, i - 1);
    }
    hdr_del(l, "Connection");
}
