/*
 * fuzz_range.c - libFuzzer target for the Range engine (proxy/range.c).
 *
 * The input is split into an entity length and a header value. The first
 * byte picks a shift and the next eight a 64-bit number, so totals of
 * every magnitude occur: 0, one byte, around 2^32, near UINT64_MAX. The
 * rest is a NUL-terminated value fed to range_parse + range_resolve and to
 * both Content-Range parsers. Every property below that fails aborts:
 *   - range_parse writes a set range_parse could produce (or r_n == 0),
 *     the same set with trailing OWS, and the same set again when the set
 *     is re-serialized canonically;
 *   - range_resolve agrees with a naive per-spec oracle, and a PARTIAL
 *     range lies inside the entity: first <= last < total;
 *   - every formatted Content-Range fits RANGE_CONTENT_RANGE_LEN, fails
 *     cleanly one byte short, and parses back to the same values;
 *   - a parsed Content-Range is consistent (first <= last, last < total)
 *     and the satisfied and unsatisfied forms never both accept a value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "range.h"

static int
same_set(const struct range_set *a, const struct range_set *b)
{
    size_t i;

    if (a->r_n != b->r_n)
        return 0;
    for (i = 0; i < a->r_n; i++) {
        const struct range_spec *x = &a->r_v[i], *y = &b->r_v[i];
        if (x->rs_suffix != y->rs_suffix || x->rs_open != y->rs_open ||
            x->rs_first != y->rs_first || x->rs_last != y->rs_last)
            return 0;
    }
    return 1;
}

/* s followed by tail, in an exactly sized heap buffer. Caller frees. */
static char *
concat(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    char *p = malloc(a + b + 1);

    if (p == NULL)
        abort();
    memcpy(p, s, a);
    memcpy(p + a, tail, b + 1);
    return p;
}

/* "bytes=" and the specs joined by ",", as a client would write them. */
static void
serialize(const struct range_set *set, char *buf, size_t len)
{
    size_t i, o;

    o = (size_t)snprintf(buf, len, "bytes=");
    for (i = 0; i < set->r_n && o < len; i++) {
        const struct range_spec *rs = &set->r_v[i];
        const char *sep = i ? "," : "";
        unsigned long long f = rs->rs_first, l = rs->rs_last;

        if (rs->rs_suffix)
            o += (size_t)snprintf(buf + o, len - o, "%s-%llu", sep, l);
        else if (rs->rs_open)
            o += (size_t)snprintf(buf + o, len - o, "%s%llu-", sep, f);
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%llu-%llu", sep, f, l);
    }
    CHECK(o < len);
}

/* The naive answer for one spec, written independently of range.c. */
static int
oracle_spec(const struct range_spec *rs, uint64_t total, struct byte_range *br)
{
    if (rs->rs_suffix) {
        if (rs->rs_last == 0 || total == 0)
            return 0;
        br->br_first = total > rs->rs_last ? total - rs->rs_last : 0;
        br->br_last = total - 1;
        return 1;
    }
    if (total == 0 || rs->rs_first > total - 1)
        return 0;
    br->br_first = rs->rs_first;
    br->br_last = total - 1;
    if (!rs->rs_open && rs->rs_last < total - 1)
        br->br_last = rs->rs_last;
    return 1;
}

static void
check_format(const struct byte_range *r, uint64_t total)
{
    char buf[RANGE_CONTENT_RANGE_LEN], small[RANGE_CONTENT_RANGE_LEN];
    struct byte_range back;
    uint64_t t;
    int known;
    size_t n;

    CHECK(range_content_range(r, total, buf, sizeof(buf)) == 0);
    n = strlen(buf);
    CHECK(n + 1 <= sizeof(buf));
    CHECK(range_content_range(r, total, small, n) == -1);
    CHECK(n == 0 || small[0] == '\0');
    CHECK(range_parse_content_range(buf, &back, &t, &known) == 0);
    CHECK(back.br_first == r->br_first && back.br_last == r->br_last);
    CHECK(t == total && known == 1);
    CHECK(range_parse_content_range_unsat(buf, &t) == -1);
}

static void
check_format_unsat(uint64_t total)
{
    char buf[RANGE_CONTENT_RANGE_LEN];
    uint64_t t = 0;

    CHECK(range_content_range_unsat(total, buf, sizeof(buf)) == 0);
    CHECK(range_content_range_unsat(total, buf, strlen(buf)) == -1);
    CHECK(range_content_range_unsat(total, buf, sizeof(buf)) == 0);
    CHECK(range_parse_content_range_unsat(buf, &t) == 0 && t == total);
}

static void
fuzz_range(const char *s, uint64_t total)
{
    struct range_set set, again;
    struct byte_range br, one, lo = {0, 0};
    enum range_parse_rc prc;
    enum range_resolve_rc rrc;
    char canon[RANGE_MAX_SPECS * 44 + 16];
    char *p;
    size_t i;
    int any = 0;

    prc = range_parse(s, &set);
    if (prc != RANGE_OK) {
        CHECK(prc == RANGE_INVALID && set.r_n == 0);
    } else {
        CHECK(set.r_n >= 1 && set.r_n <= RANGE_MAX_SPECS);
        for (i = 0; i < set.r_n; i++) {
            const struct range_spec *rs = &set.r_v[i];
            CHECK(!(rs->rs_suffix && rs->rs_open));
            if (rs->rs_suffix)
                CHECK(rs->rs_first == 0);
            else if (rs->rs_open)
                CHECK(rs->rs_last == 0);
            else
                CHECK(rs->rs_first <= rs->rs_last);
        }
    }

    /* Trailing OWS never changes the answer. */
    p = concat(s, " \t");
    CHECK(range_parse(p, &again) == prc && same_set(&set, &again));
    free(p);

    if (prc != RANGE_OK)
        return;

    serialize(&set, canon, sizeof(canon));
    CHECK(range_parse(canon, &again) == RANGE_OK && same_set(&set, &again));

    for (i = 0; i < set.r_n; i++) {
        if (!oracle_spec(&set.r_v[i], total, &one))
            continue;
        if (!any) {
            lo = one;
            any = 1;
        }
        if (one.br_first < lo.br_first)
            lo.br_first = one.br_first;
        if (one.br_last > lo.br_last)
            lo.br_last = one.br_last;
    }
    rrc = range_resolve(&set, total, &br);
    if (!any) {
        CHECK(rrc == RESOLVE_UNSATISFIABLE);
        check_format_unsat(total);
        return;
    }
    CHECK(rrc == RESOLVE_PARTIAL);
    CHECK(br.br_first <= br.br_last && br.br_last < total);
    CHECK(br.br_first == lo.br_first && br.br_last == lo.br_last);
    CHECK(range_is_full(&br, total) ==
          (br.br_first == 0 && br.br_last == total - 1));
    check_format(&br, total);
}

static void
fuzz_content_range(const char *s)
{
    struct byte_range r;
    uint64_t total = 0, ut;
    int known = -1, ok, uok;

    ok = range_parse_content_range(s, &r, &total, &known) == 0;
    uok = range_parse_content_range_unsat(s, &ut) == 0;
    CHECK(!(ok && uok));
    if (ok) {
        CHECK(r.br_first <= r.br_last);
        CHECK(known == 0 || known == 1);
        if (known)
            check_format(&r, total);
        else
            CHECK(total == 0);
    }
    if (uok)
        check_format_unsat(ut);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t total = size;
    char *s;
    size_t i;

    if (size >= 9) {
        total = 0;
        for (i = 1; i < 9; i++)
            total = total << 8 | data[i];
        total >>= data[0] % 64;
        if (data[0] & 0x80)
            total = UINT64_MAX - total; /* near the top too */
        data += 9;
        size -= 9;
    }
    /* A NUL-terminated copy, exactly sized: an overread is an ASan report.
     * A NUL inside the input just ends the value early. */
    s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    fuzz_range(s, total);
    fuzz_content_range(s);
    free(s);
    return 0;
}
