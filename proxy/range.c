/*
 * range.c - the Range engine's arithmetic: parse a client's Range value
 * (RFC 9110 §14.1.1), resolve it against the entity length into the one
 * range we serve (206) or a 416, and format and parse Content-Range
 * (§14.4). BITS lives on these answers, and content exceeds 4 GiB, so
 * every offset is uint64_t and every number is parsed by hand with an
 * overflow check. Pure: no I/O, no allocation, no logging; the contracts
 * are in range.h.
 */
#include <string.h>

#include "range.h"
#include "strutil.h"

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *
skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

/* Does p start with the unit "bytes" (any case)? Returns the character
 * after it, or NULL. The caller checks that the token ends there. */
static const char *
match_bytes(const char *p)
{
    static const char unit[] = "bytes";
    size_t i;

    for (i = 0; unit[i] != '\0'; i++) {
        if (str_lc(p[i]) != unit[i])
            return NULL;
    }
    return p + i;
}

/* Parse 1*DIGIT at *pp into *out and advance *pp past it. Returns 0, or
 * -1 for no digit or a value above UINT64_MAX (*pp then unspecified). */
static int
digits(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (!is_digit(*p))
        return -1;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    *pp = p;
    return 0;
}

/* Parse one byte-range-spec at *pp into *rs, advancing *pp. Returns 0 or
 * -1 for bad syntax, overflow, or last < first. */
static int
parse_spec(const char **pp, struct range_spec *rs)
{
    const char *p = *pp;

    memset(rs, 0, sizeof(*rs));
    if (*p == '-') {
        p++;
        if (digits(&p, &rs->rs_last) == -1)
            return -1;
        rs->rs_suffix = 1;
    } else {
        if (digits(&p, &rs->rs_first) == -1 || *p != '-')
            return -1;
        p++;
        if (is_digit(*p)) {
            if (digits(&p, &rs->rs_last) == -1)
                return -1;
            if (rs->rs_last < rs->rs_first)
                return -1;
        } else
            rs->rs_open = 1;
    }
    *pp = p;
    return 0;
}

enum range_parse_rc
range_parse(const char *value, struct range_set *out)
{
    const char *p;
    struct range_spec rs;

    out->r_n = 0;
    if (value == NULL)
        return RANGE_INVALID;
    p = skip_ows(value);
    if ((p = match_bytes(p)) == NULL)
        return RANGE_INVALID;
    p = skip_ows(p);
    if (*p != '=')
        return RANGE_INVALID; /* another unit, or junk after "bytes" */
    p = skip_ows(p + 1);

    /* [spec] *( OWS "," OWS [spec] ) OWS; p sits at an element start. */
    for (;;) {
        if (*p == ',') {
            p = skip_ows(p + 1); /* empty element */
            continue;
        }
        if (*p == '\0')
            break;
        if (parse_spec(&p, &rs) == -1)
            goto invalid;
        if (out->r_n == RANGE_MAX_SPECS)
            goto invalid;
        out->r_v[out->r_n++] = rs;
        p = skip_ows(p);
        if (*p == ',')
            p = skip_ows(p + 1);
        else if (*p != '\0')
            goto invalid;
    }
    if (out->r_n == 0)
        return RANGE_INVALID;
    return RANGE_OK;

invalid:
    out->r_n = 0;
    return RANGE_INVALID;
}

/* Is rs something range_parse() could have produced? */
static int
spec_well_formed(const struct range_spec *rs)
{
    if (rs->rs_suffix && rs->rs_open)
        return 0;
    if (!rs->rs_suffix && !rs->rs_open && rs->rs_last < rs->rs_first)
        return 0;
    return 1;
}

/* Resolve one well-formed spec against total. Returns 1 with *br set if
 * satisfiable, else 0. */
static int
spec_resolve(const struct range_spec *rs, uint64_t total, struct byte_range *br)
{
    if (total == 0)
        return 0;
    if (rs->rs_suffix) {
        if (rs->rs_last == 0)
            return 0;
        br->br_first = rs->rs_last >= total ? 0 : total - rs->rs_last;
        br->br_last = total - 1;
        return 1;
    }
    if (rs->rs_first >= total)
        return 0;
    br->br_first = rs->rs_first;
    if (rs->rs_open || rs->rs_last >= total)
        br->br_last = total - 1;
    else
        br->br_last = rs->rs_last;
    return 1;
}

enum range_resolve_rc
range_resolve(const struct range_set *set, uint64_t total,
              struct byte_range *out)
{
    struct byte_range acc = {0, 0}, one;
    size_t i;
    int any = 0;

    if (set == NULL || set->r_n == 0 || set->r_n > RANGE_MAX_SPECS)
        return RESOLVE_FULL;
    for (i = 0; i < set->r_n; i++) {
        if (!spec_well_formed(&set->r_v[i]))
            return RESOLVE_FULL;
    }
    for (i = 0; i < set->r_n; i++) {
        if (!spec_resolve(&set->r_v[i], total, &one))
            continue;
        if (!any) {
            acc = one;
            any = 1;
            continue;
        }
        if (one.br_first < acc.br_first)
            acc.br_first = one.br_first;
        if (one.br_last > acc.br_last)
            acc.br_last = one.br_last;
    }
    if (!any)
        return RESOLVE_UNSATISFIABLE;
    *out = acc;
    return RESOLVE_PARTIAL;
}

int
range_is_full(const struct byte_range *r, uint64_t total)
{
    return total > 0 && r->br_first == 0 && r->br_last == total - 1;
}

/* A bounded string builder: appends never write past b_len, and b_err
 * records that something did not fit. */
struct strbuf {
    char *b_buf;
    size_t b_len; /* capacity, NUL included */
    size_t b_off;
    int b_err;
};

static void
sb_putc(struct strbuf *sb, char c)
{
    if (sb->b_off + 1 >= sb->b_len) { /* keep room for the NUL */
        sb->b_err = 1;
        return;
    }
    sb->b_buf[sb->b_off++] = c;
}

static void
sb_puts(struct strbuf *sb, const char *s)
{
    for (; *s != '\0'; s++)
        sb_putc(sb, *s);
}

static void
sb_putu64(struct strbuf *sb, uint64_t v)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        sb_putc(sb, tmp[--n]);
}

/* NUL-terminate; returns 0, or -1 (buf then "" when len > 0). */
static int
sb_finish(struct strbuf *sb)
{
    if (sb->b_len == 0)
        return -1;
    if (sb->b_err) {
        sb->b_buf[0] = '\0';
        return -1;
    }
    sb->b_buf[sb->b_off] = '\0';
    return 0;
}

int
range_content_range(const struct byte_range *r, uint64_t total, char *buf,
                    size_t len)
{
    struct strbuf sb = {buf, len, 0, 0};

    if (r->br_first > r->br_last || r->br_last >= total) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    sb_puts(&sb, "bytes ");
    sb_putu64(&sb, r->br_first);
    sb_putc(&sb, '-');
    sb_putu64(&sb, r->br_last);
    sb_putc(&sb, '/');
    sb_putu64(&sb, total);
    return sb_finish(&sb);
}

int
range_content_range_unsat(uint64_t total, char *buf, size_t len)
{
    struct strbuf sb = {buf, len, 0, 0};

    sb_puts(&sb, "bytes */");
    sb_putu64(&sb, total);
    return sb_finish(&sb);
}

/* Skip OWS, "bytes" (any case) and exactly one SP. Returns the position
 * after them, or NULL. */
static const char *
cr_unit(const char *value)
{
    const char *p;

    if (value == NULL)
        return NULL;
    if ((p = match_bytes(skip_ows(value))) == NULL || *p != ' ')
        return NULL;
    return p + 1;
}

/* Is p at the end of the value, allowing trailing OWS? */
static int
cr_end(const char *p)
{
    return *skip_ows(p) == '\0';
}

int
range_parse_content_range(const char *value, struct byte_range *out,
                          uint64_t *total, int *total_known)
{
    const char *p;
    uint64_t first, last, len = 0;
    int known;

    if ((p = cr_unit(value)) == NULL)
        return -1;
    if (digits(&p, &first) == -1 || *p++ != '-')
        return -1;
    if (digits(&p, &last) == -1 || *p++ != '/')
        return -1;
    if (*p == '*') {
        p++;
        known = 0;
    } else {
        if (digits(&p, &len) == -1)
            return -1;
        known = 1;
    }
    if (!cr_end(p))
        return -1;
    if (last < first || (known && last >= len))
        return -1;
    out->br_first = first;
    out->br_last = last;
    *total = len;
    *total_known = known;
    return 0;
}

int
range_parse_content_range_unsat(const char *value, uint64_t *total)
{
    const char *p;
    uint64_t len;

    if ((p = cr_unit(value)) == NULL)
        return -1;
    if (*p++ != '*' || *p++ != '/')
        return -1;
    if (digits(&p, &len) == -1 || !cr_end(p))
        return -1;
    *total = len;
    return 0;
}
