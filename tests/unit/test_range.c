/*
 * test_range.c - table-driven tests of the Range engine (proxy/range.c):
 * Range parsing, resolution against the entity length (206/416), and
 * Content-Range formatting and parsing. Each vector names the bug class
 * it guards against. Every parse input is also re-fed in variants that
 * must not change the result (see check_parse_variants), and every
 * formatted Content-Range must parse back to the values it came from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "range.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define GiB (1024ull * 1024 * 1024)
#define U64MAX UINT64_MAX

/* Spec constructors, in struct range_spec field order. */
#define CL(a, b)                                                               \
    {                                                                          \
        0, 0, (a), (b)                                                         \
    }
#define OPEN(a)                                                                \
    {                                                                          \
        0, 1, (a), 0                                                           \
    }
#define SUF(n)                                                                 \
    {                                                                          \
        1, 0, 0, (n)                                                           \
    }

/* ------------------------------------------------------------------ */
/* range_parse */

struct parse_vec {
    const char *pv_class;
    const char *pv_in;
    enum range_parse_rc pv_rc;
    size_t pv_n;
    struct range_spec pv_v[RANGE_MAX_SPECS];
};

#define BAD(cls, in)                                                           \
    {                                                                          \
        cls, in, RANGE_INVALID, 0,                                             \
        {                                                                      \
            {                                                                  \
                0, 0, 0, 0                                                     \
            }                                                                  \
        }                                                                      \
    }

static const struct parse_vec parse_vecs[] = {
    /* closed ranges, as BITS walks a file */
    {"closed", "bytes=0-499", RANGE_OK, 1, {CL(0, 499)}},
    {"closed", "bytes=0-0", RANGE_OK, 1, {CL(0, 0)}},
    {"closed bits-walk", "bytes=0-4874", RANGE_OK, 1, {CL(0, 4874)}},
    {"closed bits-walk", "bytes=4875-11546", RANGE_OK, 1, {CL(4875, 11546)}},
    {"closed leading zeros", "bytes=007-010", RANGE_OK, 1, {CL(7, 10)}},
    {"closed first==last", "bytes=42-42", RANGE_OK, 1, {CL(42, 42)}},
    /* open ranges */
    {"open range", "bytes=9500-", RANGE_OK, 1, {OPEN(9500)}},
    {"open range", "bytes=0-", RANGE_OK, 1, {OPEN(0)}},
    /* suffix semantics */
    {"suffix", "bytes=-500", RANGE_OK, 1, {SUF(500)}},
    {"suffix zero parses", "bytes=-0", RANGE_OK, 1, {SUF(0)}},
    {"suffix zero parses", "bytes=-000", RANGE_OK, 1, {SUF(0)}},
    BAD("suffix without digits", "bytes=-"),
    BAD("suffix double dash", "bytes=--1"),
    BAD("suffix then dash", "bytes=-1-2"),
    BAD("suffix signed", "bytes=-+5"),
    BAD("suffix negative", "bytes=--0"),
    /* reversed ranges invalidate the whole header (RFC 9110 §14.1.1) */
    BAD("last<first", "bytes=5-4"),
    BAD("last<first", "bytes=1-0"),
    BAD("last<first in list", "bytes=0-1,5-4"),
    BAD("last<first in list", "bytes=5-4,0-1"),
    BAD("last<first 64-bit", "bytes=4294967296-4294967295"),
    /* multiple ranges, kept in order (coalesced at resolve) */
    {"multi", "bytes=0-0,-1", RANGE_OK, 2, {CL(0, 0), SUF(1)}},
    {"multi adjacent",
     "bytes=500-600,601-999",
     RANGE_OK,
     2,
     {CL(500, 600), CL(601, 999)}},
    {"multi overlapping",
     "bytes=500-700,601-999",
     RANGE_OK,
     2,
     {CL(500, 700), CL(601, 999)}},
    {"multi unordered",
     "bytes=900-999,0-99",
     RANGE_OK,
     2,
     {CL(900, 999), CL(0, 99)}},
    {"multi mixed kinds",
     "bytes=10-,-5,0-1",
     RANGE_OK,
     3,
     {OPEN(10), SUF(5), CL(0, 1)}},
    /* whitespace (OWS) */
    {"ows after comma", "bytes=0-1, 2-3", RANGE_OK, 2, {CL(0, 1), CL(2, 3)}},
    {"ows before comma", "bytes=0-1 ,2-3", RANGE_OK, 2, {CL(0, 1), CL(2, 3)}},
    {"ows tabs", "bytes=\t0-1\t,\t2-3\t", RANGE_OK, 2, {CL(0, 1), CL(2, 3)}},
    {"ows around =", "bytes = 0-1", RANGE_OK, 1, {CL(0, 1)}},
    {"ows after =", "bytes= 0-1", RANGE_OK, 1, {CL(0, 1)}},
    {"ows around value", "  bytes=0-1  ", RANGE_OK, 1, {CL(0, 1)}},
    BAD("space inside number", "bytes=1 0-20"),
    BAD("space before dash", "bytes=0 -1"),
    BAD("space after dash", "bytes=0- 1"),
    BAD("space in suffix", "bytes=- 1"),
    BAD("missing comma", "bytes=0-1 2-3"),
    BAD("space inside unit", "by tes=0-1"),
    BAD("newline", "bytes=0-1\r\n"),
    BAD("vertical tab is not OWS", "bytes=0-1\v"),
    /* unit case */
    {"unit case", "BYTES=0-1", RANGE_OK, 1, {CL(0, 1)}},
    {"unit case", "Bytes=0-1", RANGE_OK, 1, {CL(0, 1)}},
    {"unit case", "bYtEs=0-1", RANGE_OK, 1, {CL(0, 1)}},
    /* empty list elements (RFC 9110 §5.6.1.2) */
    {"empty element leading", "bytes=,0-1", RANGE_OK, 1, {CL(0, 1)}},
    {"empty element trailing", "bytes=0-1,", RANGE_OK, 1, {CL(0, 1)}},
    {"empty element middle",
     "bytes=0-1,,2-3",
     RANGE_OK,
     2,
     {CL(0, 1), CL(2, 3)}},
    {"empty elements with ows", "bytes=, ,0-1 , ,", RANGE_OK, 1, {CL(0, 1)}},
    BAD("only empty elements", "bytes=,"),
    BAD("only empty elements", "bytes= , , "),
    BAD("no specs", "bytes="),
    BAD("no specs", "bytes= "),
    BAD("no =", "bytes"),
    BAD("no =", "bytes0-1"),
    BAD("empty value", ""),
    BAD("only ows", " \t "),
    BAD("no unit", "=0-1"),
    BAD("double =", "bytes==0-1"),
    BAD("colon for =", "bytes:0-1"),
    BAD("semicolon separator", "bytes=0-1;2-3"),
    /* other units */
    BAD("other unit", "items=0-1"),
    BAD("other unit", "none"),
    BAD("unit prefix", "bytesx=0-1"),
    BAD("unit truncated", "byte=0-1"),
    BAD("unit quoted", "\"bytes\"=0-1"),
    /* non-digits and signs */
    BAD("sign", "bytes=+1-2"),
    BAD("sign", "bytes=1-+2"),
    BAD("sign", "bytes=-1-"),
    BAD("three parts", "bytes=1-2-3"),
    BAD("hex", "bytes=0x10-0x20"),
    BAD("decimal point", "bytes=1.5-2"),
    BAD("exponent", "bytes=1e3-"),
    BAD("trailing junk", "bytes=0-1x"),
    BAD("trailing junk", "bytes=0-1,x"),
    BAD("no dash", "bytes=5"),
    BAD("no dash in list", "bytes=0-1,5"),
    BAD("dash only", "bytes=0-1,-"),
    BAD("non-ascii", "bytes=0-1\x80"),
    BAD("non-ascii digit lookalike", "bytes=0-\xd9\xa1"),
    /* 64-bit offsets: content exceeds 4 GiB */
    {">4GiB",
     "bytes=4294967296-4294967395",
     RANGE_OK,
     1,
     {CL(4294967296ull, 4294967395ull)}},
    {">4GiB crossing 2^32",
     "bytes=4294967295-4294967296",
     RANGE_OK,
     1,
     {CL(4294967295ull, 4294967296ull)}},
    {">4GiB open", "bytes=5368709119-", RANGE_OK, 1, {OPEN(5368709119ull)}},
    {">4GiB suffix", "bytes=-4294967297", RANGE_OK, 1, {SUF(4294967297ull)}},
    {"u64 max", "bytes=0-18446744073709551615", RANGE_OK, 1, {CL(0, U64MAX)}},
    {"u64 max",
     "bytes=18446744073709551615-18446744073709551615",
     RANGE_OK,
     1,
     {CL(U64MAX, U64MAX)}},
    {"u64 max open",
     "bytes=18446744073709551615-",
     RANGE_OK,
     1,
     {OPEN(U64MAX)}},
    {"u64 max suffix",
     "bytes=-18446744073709551615",
     RANGE_OK,
     1,
     {SUF(U64MAX)}},
    {"u64 max leading zeros",
     "bytes=0-000018446744073709551615",
     RANGE_OK,
     1,
     {CL(0, U64MAX)}},
    BAD("overflow last", "bytes=0-18446744073709551616"),
    BAD("overflow first", "bytes=18446744073709551616-"),
    BAD("overflow suffix", "bytes=-18446744073709551616"),
    BAD("overflow by digits", "bytes=0-99999999999999999999999"),
    BAD("overflow x10", "bytes=0-184467440737095516150"),
    BAD("overflow in list", "bytes=0-1,-18446744073709551616"),
    /* RANGE_MAX_SPECS */
    {"max specs",
     "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,"
     "11-11,12-12,13-13,14-14,15-15",
     RANGE_OK,
     16,
     {CL(0, 0), CL(1, 1), CL(2, 2), CL(3, 3), CL(4, 4), CL(5, 5), CL(6, 6),
      CL(7, 7), CL(8, 8), CL(9, 9), CL(10, 10), CL(11, 11), CL(12, 12),
      CL(13, 13), CL(14, 14), CL(15, 15)}},
    {"max specs empties not counted",
     "bytes=,0-0,,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,"
     "11-11,12-12,13-13,14-14,15-15,,",
     RANGE_OK,
     16,
     {CL(0, 0), CL(1, 1), CL(2, 2), CL(3, 3), CL(4, 4), CL(5, 5), CL(6, 6),
      CL(7, 7), CL(8, 8), CL(9, 9), CL(10, 10), CL(11, 11), CL(12, 12),
      CL(13, 13), CL(14, 14), CL(15, 15)}},
    BAD("too many specs", "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,"
                          "10-10,11-11,12-12,13-13,14-14,15-15,16-16"),
    BAD("too many specs", "bytes=-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,"
                          "-1,-1,-1"),
};

static void
fail_parse(const struct parse_vec *v, const char *variant, const char *in,
           const char *what)
{
    fail_msg("[%s] \"%s\" (variant %s: \"%s\"): %s", v->pv_class, v->pv_in,
             variant, in, what);
}

/* Parse in and compare with the vector's expectation. */
static void
check_parse_one(const struct parse_vec *v, const char *variant, const char *in)
{
    struct range_set set;
    size_t i;

    memset(&set, 0xa5, sizeof(set)); /* r_n must be written */
    if (range_parse(in, &set) != v->pv_rc)
        fail_parse(v, variant, in, "wrong return code");
    if (set.r_n != v->pv_n)
        fail_parse(v, variant, in, "wrong spec count");
    for (i = 0; i < v->pv_n; i++) {
        const struct range_spec *g = &set.r_v[i], *w = &v->pv_v[i];
        if (g->rs_suffix != w->rs_suffix || g->rs_open != w->rs_open ||
            g->rs_first != w->rs_first || g->rs_last != w->rs_last)
            fail_parse(v, variant, in, "wrong spec");
    }
}

static char *
xmalloc(size_t n)
{
    char *p = malloc(n);

    assert_non_null(p);
    return p;
}

/* pre + s + post in a heap buffer of exactly the right size, so ASan
 * catches a read past the NUL. Caller frees. */
static char *
build(const char *pre, const char *s, const char *post)
{
    size_t a = strlen(pre), b = strlen(s), c = strlen(post);
    char *p = xmalloc(a + b + c + 1);

    memcpy(p, pre, a);
    memcpy(p + a, s, b);
    memcpy(p + a + b, post, c + 1);
    return p;
}

/* s with every "," after the first "=" replaced by " , ". */
static char *
space_commas(const char *s)
{
    const char *eq = strchr(s, '=');
    size_t n = strlen(s), i, o = 0;
    char *p = xmalloc(3 * n + 1);

    for (i = 0; i < n; i++) {
        if (s[i] == ',' && eq != NULL && s + i > eq) {
            memcpy(p + o, " , ", 3);
            o += 3;
        } else
            p[o++] = s[i];
    }
    p[o] = '\0';
    return p;
}

/* s with the unit (after leading OWS) rewritten as unit, if s starts
 * with "bytes" in any case; else NULL. */
static char *
recase_unit(const char *s, const char *unit)
{
    size_t lead = strspn(s, " \t");
    char *p;

    if (strncmp(s + lead, "bytes", 5) != 0 &&
        strncmp(s + lead, "BYTES", 5) != 0 &&
        strncmp(s + lead, "Bytes", 5) != 0)
        return NULL;
    p = build("", s, "");
    memcpy(p + lead, unit, 5);
    return p;
}

/* The result must not depend on how the value was built: where it sits
 * in memory, what follows its NUL, OWS around it, OWS around commas, the
 * case of the unit, or an extra empty list element. */
static void
check_parse_variants(const struct parse_vec *v)
{
    static const char *const ows[] = {" ", "\t", " \t ", "\t\t"};
    char *p, junk[512];
    size_t i, n = strlen(v->pv_in);

    p = build("", v->pv_in, "");
    check_parse_one(v, "exact heap copy", p);
    free(p);

    /* Bytes after the NUL that would extend a valid value. */
    assert_true(n + 1 + 16 < sizeof(junk));
    memset(junk, 0, sizeof(junk));
    memcpy(junk, v->pv_in, n);
    memcpy(junk + n + 1, "9-9,0-1,bytes=1", 16);
    check_parse_one(v, "junk after NUL", junk);

    for (i = 0; i < NELEM(ows); i++) {
        p = build("", v->pv_in, ows[i]);
        check_parse_one(v, "trailing OWS", p);
        free(p);
        p = build(ows[i], v->pv_in, "");
        check_parse_one(v, "leading OWS", p);
        free(p);
        p = build(ows[i], v->pv_in, ows[i]);
        check_parse_one(v, "surrounding OWS", p);
        free(p);
    }

    p = space_commas(v->pv_in);
    check_parse_one(v, "OWS around commas", p);
    free(p);

    if ((p = recase_unit(v->pv_in, "BYTES")) != NULL) {
        check_parse_one(v, "upper-case unit", p);
        free(p);
    }
    if ((p = recase_unit(v->pv_in, "bytes")) != NULL) {
        check_parse_one(v, "lower-case unit", p);
        free(p);
    }

    /* An extra trailing empty element: only where the value has reached
     * the list (contains "="), so "bytes" does not become "bytes,". */
    if (strchr(v->pv_in, '=') != NULL) {
        p = build("", v->pv_in, ",");
        check_parse_one(v, "trailing empty element", p);
        free(p);
        p = build("", v->pv_in, " , ");
        check_parse_one(v, "trailing empty element with OWS", p);
        free(p);
    }
}

static void
test_parse_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(parse_vecs); i++)
        check_parse_variants(&parse_vecs[i]);
}

static void
test_parse_null(void **state)
{
    struct range_set set;

    (void)state;
    set.r_n = 7;
    assert_int_equal(range_parse(NULL, &set), RANGE_INVALID);
    assert_int_equal(set.r_n, 0);
}

/* RANGE_MAX_SPECS exactly and one more, built rather than spelled, so the
 * table above cannot drift from the constant. */
static void
test_parse_max_specs_generated(void **state)
{
    char buf[16 * (RANGE_MAX_SPECS + 1) + 16];
    struct range_set set;
    size_t i, o;

    (void)state;
    o = (size_t)snprintf(buf, sizeof(buf), "bytes=");
    for (i = 0; i < RANGE_MAX_SPECS; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%zu-", i ? "," : "",
                              i * 10);
    assert_int_equal(range_parse(buf, &set), RANGE_OK);
    assert_int_equal(set.r_n, RANGE_MAX_SPECS);
    for (i = 0; i < RANGE_MAX_SPECS; i++) {
        assert_true(set.r_v[i].rs_open);
        assert_int_equal(set.r_v[i].rs_first, i * 10);
    }
    (void)snprintf(buf + o, sizeof(buf) - o, ",-1");
    assert_int_equal(range_parse(buf, &set), RANGE_INVALID);
    assert_int_equal(set.r_n, 0);
}

/* ------------------------------------------------------------------ */
/* range_resolve */

struct resolve_vec {
    const char *xv_class;
    const char *xv_in;
    uint64_t xv_total;
    enum range_resolve_rc xv_rc;
    uint64_t xv_first, xv_last; /* when PARTIAL */
};

#define P RESOLVE_PARTIAL
#define U RESOLVE_UNSATISFIABLE

static const struct resolve_vec resolve_vecs[] = {
    /* closed, clamping */
    {"closed", "bytes=0-499", 10000, P, 0, 499},
    {"closed bits-walk", "bytes=0-4874", 11547, P, 0, 4874},
    {"closed bits-walk", "bytes=4875-11546", 11547, P, 4875, 11546},
    {"closed last byte", "bytes=9999-9999", 10000, P, 9999, 9999},
    {"closed clamp last", "bytes=0-99999", 10000, P, 0, 9999},
    {"closed clamp last", "bytes=9999-20000", 10000, P, 9999, 9999},
    {"closed clamp u64 max", "bytes=0-18446744073709551615", 1, P, 0, 0},
    {"closed whole is partial", "bytes=0-9999", 10000, P, 0, 9999},
    {"416 first==total", "bytes=10000-10000", 10000, U, 0, 0},
    {"416 first>total", "bytes=20000-30000", 10000, U, 0, 0},
    /* open */
    {"open whole is partial", "bytes=0-", 10000, P, 0, 9999},
    {"open", "bytes=9500-", 10000, P, 9500, 9999},
    {"open last byte", "bytes=9999-", 10000, P, 9999, 9999},
    {"416 open at total", "bytes=10000-", 10000, U, 0, 0},
    {"416 open u64 max", "bytes=18446744073709551615-", 10000, U, 0, 0},
    /* suffix semantics */
    {"suffix", "bytes=-500", 10000, P, 9500, 9999},
    {"suffix one", "bytes=-1", 10000, P, 9999, 9999},
    {"suffix == total", "bytes=-10000", 10000, P, 0, 9999},
    {"suffix > total", "bytes=-10001", 10000, P, 0, 9999},
    {"suffix u64 max", "bytes=-18446744073709551615", 5, P, 0, 4},
    {"416 suffix zero", "bytes=-0", 10000, U, 0, 0},
    {"suffix zero dropped", "bytes=-0,0-0", 10000, P, 0, 0},
    {"suffix is not first-pos", "bytes=-100", 100000, P, 99900, 99999},
    /* multi-range coalescing */
    {"coalesce first+last", "bytes=0-0,-1", 10000, P, 0, 9999},
    {"coalesce adjacent", "bytes=500-600,601-999", 10000, P, 500, 999},
    {"coalesce overlapping", "bytes=500-700,601-999", 10000, P, 500, 999},
    {"coalesce unordered", "bytes=900-999,0-99", 10000, P, 0, 999},
    {"coalesce gap", "bytes=0-9,9990-9999", 10000, P, 0, 9999},
    {"coalesce duplicate", "bytes=0-99,0-99", 10000, P, 0, 99},
    {"coalesce nested", "bytes=100-199,0-999", 10000, P, 0, 999},
    {"coalesce suffix+open", "bytes=-100,9000-9500", 10000, P, 9000, 9999},
    {"coalesce three kinds", "bytes=9000-,-100,5-6", 10000, P, 5, 9999},
    {"coalesce drops unsat", "bytes=20000-30000,5-9", 10000, P, 5, 9},
    {"coalesce drops unsat", "bytes=5-9,20000-", 10000, P, 5, 9},
    {"coalesce clamps", "bytes=9000-9100,9900-20000", 10000, P, 9000, 9999},
    {"416 all unsat", "bytes=20000-,-0", 10000, U, 0, 0},
    {"416 all unsat", "bytes=10000-,10001-10002,-0", 10000, U, 0, 0},
    {"coalesce max specs",
     "bytes=15-15,14-14,13-13,12-12,11-11,10-10,9-9,"
     "8-8,7-7,6-6,5-5,4-4,3-3,2-2,1-1,0-0",
     16, P, 0, 15},
    /* empty entity */
    {"416 total 0 open", "bytes=0-", 0, U, 0, 0},
    {"416 total 0 closed", "bytes=0-0", 0, U, 0, 0},
    {"416 total 0 suffix", "bytes=-5", 0, U, 0, 0},
    {"416 total 0 suffix zero", "bytes=-0", 0, U, 0, 0},
    /* one-byte entity */
    {"total 1", "bytes=0-0", 1, P, 0, 0},
    {"total 1", "bytes=-1", 1, P, 0, 0},
    {"total 1", "bytes=-2", 1, P, 0, 0},
    {"total 1", "bytes=0-", 1, P, 0, 0},
    {"416 total 1", "bytes=1-", 1, U, 0, 0},
    /* >4 GiB offsets */
    {">4GiB", "bytes=4294967296-4294967395", 5 * GiB, P, 4294967296ull,
     4294967395ull},
    {">4GiB crossing 2^32", "bytes=4294967295-4294967296", 5 * GiB, P,
     4294967295ull, 4294967296ull},
    {">4GiB 2GiB piece", "bytes=2147483648-4294967295", 5 * GiB, P,
     2147483648ull, 4294967295ull},
    {">4GiB last byte", "bytes=-1", 5 * GiB, P, 5 * GiB - 1, 5 * GiB - 1},
    {">4GiB suffix", "bytes=-4294967297", 5 * GiB, P, GiB - 1, 5 * GiB - 1},
    {">4GiB open", "bytes=5368709119-", 5 * GiB, P, 5 * GiB - 1, 5 * GiB - 1},
    {">4GiB clamp", "bytes=4294967296-9999999999", 5 * GiB, P, 4 * GiB,
     5 * GiB - 1},
    {"416 >4GiB at total", "bytes=5368709120-", 5 * GiB, U, 0, 0},
    {"416 >4GiB beyond 32-bit wrap", "bytes=4294967296-", 4294967296ull, U, 0,
     0},
    {"32-bit truncation", "bytes=4294967296-", 4294967297ull, P, 4 * GiB,
     4 * GiB},
    /* near UINT64_MAX */
    {"u64 max total", "bytes=0-", U64MAX, P, 0, U64MAX - 1},
    {"u64 max total", "bytes=-1", U64MAX, P, U64MAX - 1, U64MAX - 1},
    {"u64 max total", "bytes=0-18446744073709551615", U64MAX, P, 0, U64MAX - 1},
    {"u64 max total", "bytes=18446744073709551614-", U64MAX, P, U64MAX - 1,
     U64MAX - 1},
    {"416 u64 max total", "bytes=18446744073709551615-", U64MAX, U, 0, 0},
    {"u64 max suffix", "bytes=-18446744073709551615", U64MAX, P, 0, U64MAX - 1},
};

#undef P
#undef U

/* A formatted Content-Range must parse back to the same values. */
static void
check_roundtrip(const char *cls, const struct byte_range *r, uint64_t total)
{
    char buf[RANGE_CONTENT_RANGE_LEN];
    struct byte_range back;
    uint64_t t = 0;
    int known = -1;

    if (range_content_range(r, total, buf, sizeof(buf)) != 0)
        fail_msg("[%s] cannot format %llu-%llu/%llu", cls,
                 (unsigned long long)r->br_first,
                 (unsigned long long)r->br_last, (unsigned long long)total);
    if (range_parse_content_range(buf, &back, &t, &known) != 0)
        fail_msg("[%s] \"%s\" does not parse back", cls, buf);
    if (back.br_first != r->br_first || back.br_last != r->br_last ||
        t != total || known != 1)
        fail_msg("[%s] \"%s\" parses back differently", cls, buf);
}

static void
test_resolve_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(resolve_vecs); i++) {
        const struct resolve_vec *v = &resolve_vecs[i];
        struct range_set set;
        struct byte_range br = {0xdead, 0xbeef};
        enum range_resolve_rc rc;

        if (range_parse(v->xv_in, &set) != RANGE_OK)
            fail_msg("[%s] \"%s\": does not parse", v->xv_class, v->xv_in);
        rc = range_resolve(&set, v->xv_total, &br);
        if (rc != v->xv_rc)
            fail_msg("[%s] \"%s\" total %llu: rc %d, want %d", v->xv_class,
                     v->xv_in, (unsigned long long)v->xv_total, (int)rc,
                     (int)v->xv_rc);
        if (rc != RESOLVE_PARTIAL) {
            /* *out is written only on PARTIAL */
            if (br.br_first != 0xdead || br.br_last != 0xbeef)
                fail_msg("[%s] \"%s\": out written", v->xv_class, v->xv_in);
            continue;
        }
        if (br.br_first != v->xv_first || br.br_last != v->xv_last)
            fail_msg("[%s] \"%s\" total %llu: got %llu-%llu, want %llu-%llu",
                     v->xv_class, v->xv_in, (unsigned long long)v->xv_total,
                     (unsigned long long)br.br_first,
                     (unsigned long long)br.br_last,
                     (unsigned long long)v->xv_first,
                     (unsigned long long)v->xv_last);
        if (!(br.br_first <= br.br_last && br.br_last < v->xv_total))
            fail_msg("[%s] \"%s\": not inside the entity", v->xv_class,
                     v->xv_in);
        check_roundtrip(v->xv_class, &br, v->xv_total);
    }
}

/* Sets range_parse() never produces are ignored like an invalid header;
 * no set at all means no Range: serve the whole entity. */
static void
test_resolve_odd_sets(void **state)
{
    struct range_set set;
    struct byte_range br = {1, 2};

    (void)state;
    assert_int_equal(range_resolve(NULL, 100, &br), RESOLVE_FULL);
    memset(&set, 0, sizeof(set));
    assert_int_equal(range_resolve(&set, 100, &br), RESOLVE_FULL);
    assert_int_equal(range_resolve(&set, 0, &br), RESOLVE_FULL);

    set.r_n = RANGE_MAX_SPECS + 1;
    assert_int_equal(range_resolve(&set, 100, &br), RESOLVE_FULL);

    set.r_n = 1; /* closed, last < first */
    set.r_v[0].rs_first = 5;
    set.r_v[0].rs_last = 4;
    assert_int_equal(range_resolve(&set, 100, &br), RESOLVE_FULL);

    set.r_v[0].rs_suffix = 1; /* both flags */
    set.r_v[0].rs_open = 1;
    assert_int_equal(range_resolve(&set, 100, &br), RESOLVE_FULL);

    set.r_v[0].rs_open = 0; /* now a plain suffix of 4 */
    assert_int_equal(range_resolve(&set, 100, &br), RESOLVE_PARTIAL);
    assert_int_equal(br.br_first, 96);
    assert_int_equal(br.br_last, 99);
    assert_int_equal(range_is_full(&br, 100), 0);
}

struct full_vec {
    const char *fv_class;
    struct byte_range fv_r;
    uint64_t fv_total;
    int fv_full;
};

static const struct full_vec full_vecs[] = {
    {"whole", {0, 9999}, 10000, 1},
    {"short at end", {0, 9998}, 10000, 0},
    {"short at start", {1, 9999}, 10000, 0},
    {"one byte entity", {0, 0}, 1, 1},
    {"empty entity", {0, 0}, 0, 0},
    {">4GiB whole", {0, 5 * GiB - 1}, 5 * GiB, 1},
    {"32-bit truncated last", {0, 4294967295ull}, 5 * GiB, 0},
    {"u64 max whole", {0, U64MAX - 1}, U64MAX, 1},
    {"u64 max not whole", {1, U64MAX - 1}, U64MAX, 0},
};

static void
test_is_full_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(full_vecs); i++) {
        const struct full_vec *v = &full_vecs[i];
        if (range_is_full(&v->fv_r, v->fv_total) != v->fv_full)
            fail_msg("[%s] range_is_full wrong", v->fv_class);
    }
}

/* ------------------------------------------------------------------ */
/* Content-Range formatting */

struct fmt_vec {
    const char *fv_class;
    uint64_t fv_first, fv_last, fv_total;
    size_t fv_len; /* buffer size handed over, NUL included */
    int fv_rc;
    const char *fv_want; /* "" on -1 (when fv_len > 0) */
};

#define LONGEST                                                                \
    "bytes 18446744073709551614-18446744073709551614/"                         \
    "18446744073709551615"

static const struct fmt_vec fmt_vecs[] = {
    {"basic", 0, 499, 10000, 64, 0, "bytes 0-499/10000"},
    {"one byte", 0, 0, 1, 64, 0, "bytes 0-0/1"},
    {"bits-walk", 4875, 11546, 11547, 64, 0, "bytes 4875-11546/11547"},
    {">4GiB", 4294967296ull, 4294967395ull, 5 * GiB, 64, 0,
     "bytes 4294967296-4294967395/5368709120"},
    {">4GiB last byte", 5 * GiB - 1, 5 * GiB - 1, 5 * GiB, 64, 0,
     "bytes 5368709119-5368709119/5368709120"},
    {"u64 max total", 0, U64MAX - 1, U64MAX, 69, 0,
     "bytes 0-18446744073709551614/18446744073709551615"},
    {"longest value", U64MAX - 1, U64MAX - 1, U64MAX, RANGE_CONTENT_RANGE_LEN,
     0, LONGEST},
    {"buffer too small by one", U64MAX - 1, U64MAX - 1, U64MAX,
     RANGE_CONTENT_RANGE_LEN - 1, -1, ""},
    {"buffer exact", 0, 499, 10000, sizeof("bytes 0-499/10000"), 0,
     "bytes 0-499/10000"},
    {"buffer too small for NUL", 0, 499, 10000, sizeof("bytes 0-499/10000") - 1,
     -1, ""},
    {"buffer too small in total", 0, 499, 10000, 14, -1, ""},
    {"buffer too small in unit", 0, 499, 10000, 3, -1, ""},
    {"buffer of one", 0, 499, 10000, 1, -1, ""},
    {"buffer of zero", 0, 499, 10000, 0, -1, NULL},
    {"refuse first>last", 5, 4, 10000, 64, -1, ""},
    {"refuse last>=total", 0, 10000, 10000, 64, -1, ""},
    {"refuse total 0", 0, 0, 0, 64, -1, ""},
    {"refuse u64 max last", 0, U64MAX, U64MAX, 69, -1, ""},
};

static void
test_format_table(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(strlen(LONGEST) + 1, RANGE_CONTENT_RANGE_LEN);
    for (i = 0; i < NELEM(fmt_vecs); i++) {
        const struct fmt_vec *v = &fmt_vecs[i];
        struct byte_range r = {v->fv_first, v->fv_last};
        char *buf = xmalloc(v->fv_len + 1); /* exact size (+1 canary) */
        int rc;

        memset(buf, 'Z', v->fv_len + 1);
        rc = range_content_range(&r, v->fv_total, buf, v->fv_len);
        if (rc != v->fv_rc)
            fail_msg("[%s] rc %d, want %d", v->fv_class, rc, v->fv_rc);
        if (buf[v->fv_len] != 'Z')
            fail_msg("[%s] wrote past len", v->fv_class);
        if (v->fv_want == NULL) {
            if (buf[0] != 'Z')
                fail_msg("[%s] wrote into an empty buffer", v->fv_class);
        } else if (strcmp(buf, v->fv_want) != 0)
            fail_msg("[%s] \"%s\", want \"%s\"", v->fv_class, buf, v->fv_want);
        if (rc == 0)
            check_roundtrip(v->fv_class, &r, v->fv_total);
        free(buf);
    }
}

struct unsat_fmt_vec {
    const char *uv_class;
    uint64_t uv_total;
    size_t uv_len;
    int uv_rc;
    const char *uv_want;
};

static const struct unsat_fmt_vec unsat_fmt_vecs[] = {
    {"bytes */total", 10000, 64, 0, "bytes */10000"},
    {"bytes */0", 0, 64, 0, "bytes */0"},
    {"bytes */>4GiB", 5 * GiB, 64, 0, "bytes */5368709120"},
    {"bytes */u64 max", U64MAX, 29, 0, "bytes */18446744073709551615"},
    {"buffer too small by one", U64MAX, 28, -1, ""},
    {"buffer exact", 10000, sizeof("bytes */10000"), 0, "bytes */10000"},
    {"buffer too small for NUL", 10000, sizeof("bytes */10000") - 1, -1, ""},
    {"buffer of one", 10000, 1, -1, ""},
    {"buffer of zero", 10000, 0, -1, NULL},
};

static void
test_format_unsat_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(unsat_fmt_vecs); i++) {
        const struct unsat_fmt_vec *v = &unsat_fmt_vecs[i];
        char *buf = xmalloc(v->uv_len + 1);
        uint64_t back = 1;
        int rc;

        memset(buf, 'Z', v->uv_len + 1);
        rc = range_content_range_unsat(v->uv_total, buf, v->uv_len);
        if (rc != v->uv_rc)
            fail_msg("[%s] rc %d, want %d", v->uv_class, rc, v->uv_rc);
        if (buf[v->uv_len] != 'Z')
            fail_msg("[%s] wrote past len", v->uv_class);
        if (v->uv_want == NULL) {
            if (buf[0] != 'Z')
                fail_msg("[%s] wrote into an empty buffer", v->uv_class);
        } else if (strcmp(buf, v->uv_want) != 0)
            fail_msg("[%s] \"%s\", want \"%s\"", v->uv_class, buf, v->uv_want);
        if (rc == 0) {
            if (range_parse_content_range_unsat(buf, &back) != 0 ||
                back != v->uv_total)
                fail_msg("[%s] \"%s\" does not parse back", v->uv_class, buf);
        }
        free(buf);
    }
}

/* ------------------------------------------------------------------ */
/* Content-Range parsing */

struct crp_vec {
    const char *cv_class;
    const char *cv_in;
    int cv_rc;
    uint64_t cv_first, cv_last, cv_total;
    int cv_known;
};

#define CRBAD(cls, in)                                                         \
    {                                                                          \
        cls, in, -1, 0, 0, 0, 0                                                \
    }

static const struct crp_vec crp_vecs[] = {
    {"basic", "bytes 0-499/10000", 0, 0, 499, 10000, 1},
    {"one byte", "bytes 0-0/1", 0, 0, 0, 1, 1},
    {"last byte", "bytes 9999-9999/10000", 0, 9999, 9999, 10000, 1},
    {"leading zeros", "bytes 007-010/020", 0, 7, 10, 20, 1},
    {"unit case", "BYTES 0-1/2", 0, 0, 1, 2, 1},
    {"unit case", "Bytes 0-1/2", 0, 0, 1, 2, 1},
    {"ows around value", " \tbytes 0-1/2\t ", 0, 0, 1, 2, 1},
    {"unknown total", "bytes 0-499/*", 0, 0, 499, 0, 0},
    {"unknown total u64 max", "bytes 0-18446744073709551615/*", 0, 0, U64MAX, 0,
     0},
    {">4GiB", "bytes 4294967296-4294967395/5368709120", 0, 4294967296ull,
     4294967395ull, 5 * GiB, 1},
    {">4GiB whole", "bytes 0-5368709119/5368709120", 0, 0, 5 * GiB - 1, 5 * GiB,
     1},
    {"u64 max total", "bytes 0-18446744073709551614/18446744073709551615", 0, 0,
     U64MAX - 1, U64MAX, 1},
    {"u64 max longest", LONGEST, 0, U64MAX - 1, U64MAX - 1, U64MAX, 1},
    /* the unsatisfied form belongs to the other function */
    CRBAD("unsatisfied form", "bytes */10000"),
    CRBAD("unsatisfied form", "bytes */*"),
    /* missing parts */
    CRBAD("missing total", "bytes 0-499/"),
    CRBAD("missing slash", "bytes 0-499"),
    CRBAD("missing last", "bytes 0-/10000"),
    CRBAD("missing first", "bytes -499/10000"),
    CRBAD("missing dash", "bytes 0499/10000"),
    CRBAD("missing unit", "0-499/10000"),
    CRBAD("missing range", "bytes /10000"),
    CRBAD("unit only", "bytes"),
    CRBAD("unit and space only", "bytes "),
    CRBAD("empty", ""),
    CRBAD("only ows", "  "),
    /* extra spaces and wrong separators */
    CRBAD("no space after unit", "bytes0-499/10000"),
    CRBAD("two spaces after unit", "bytes  0-499/10000"),
    CRBAD("tab after unit", "bytes\t0-499/10000"),
    CRBAD("space before dash", "bytes 0 -499/10000"),
    CRBAD("space after dash", "bytes 0- 499/10000"),
    CRBAD("space before slash", "bytes 0-499 /10000"),
    CRBAD("space after slash", "bytes 0-499/ 10000"),
    CRBAD("space inside number", "bytes 0-4 99/10000"),
    CRBAD("= for space", "bytes=0-499/10000"),
    CRBAD("other unit", "items 0-1/2"),
    CRBAD("unit prefix", "bytesx 0-1/2"),
    /* inconsistent values */
    CRBAD("last<first", "bytes 500-499/10000"),
    CRBAD("last<first unknown total", "bytes 500-499/*"),
    CRBAD("last==total", "bytes 0-10000/10000"),
    CRBAD("last>total", "bytes 0-20000/10000"),
    CRBAD("total 0", "bytes 0-0/0"),
    CRBAD("last==total 64-bit", "bytes 0-5368709120/5368709120"),
    CRBAD("last==u64 max total", "bytes 0-18446744073709551615/"
                                 "18446744073709551615"),
    /* overflow */
    CRBAD("overflow first",
          "bytes 18446744073709551616-18446744073709551616/*"),
    CRBAD("overflow last", "bytes 0-18446744073709551616/*"),
    CRBAD("overflow total", "bytes 0-1/18446744073709551616"),
    CRBAD("overflow total digits", "bytes 0-1/99999999999999999999999"),
    /* junk */
    CRBAD("trailing junk", "bytes 0-499/10000x"),
    CRBAD("trailing list", "bytes 0-499/10000,0-1"),
    CRBAD("trailing slash", "bytes 0-499/10000/"),
    CRBAD("sign", "bytes +0-499/10000"),
    CRBAD("sign in total", "bytes 0-499/+10000"),
    CRBAD("negative total", "bytes 0-499/-1"),
    CRBAD("double star", "bytes 0-499/**"),
    CRBAD("star then digits", "bytes 0-499/*1"),
    CRBAD("digits then star", "bytes 0-499/1*"),
    CRBAD("two totals", "bytes 1-2/3 4"),
    CRBAD("multipart leftover", "bytes 0-1,4-5/10"),
    CRBAD("hex", "bytes 0x0-0x1/0x2"),
};

static void
check_crp_one(const struct crp_vec *v, const char *variant, const char *in)
{
    struct byte_range r = {0xdead, 0xbeef};
    uint64_t total = 0xfeed;
    int known = 7, rc;

    rc = range_parse_content_range(in, &r, &total, &known);
    if (rc != v->cv_rc)
        fail_msg("[%s] \"%s\" (%s): rc %d, want %d", v->cv_class, v->cv_in,
                 variant, rc, v->cv_rc);
    if (rc != 0) {
        if (r.br_first != 0xdead || r.br_last != 0xbeef || total != 0xfeed ||
            known != 7)
            fail_msg("[%s] \"%s\": outputs written on -1", v->cv_class,
                     v->cv_in);
        return;
    }
    if (r.br_first != v->cv_first || r.br_last != v->cv_last ||
        total != v->cv_total || known != v->cv_known)
        fail_msg("[%s] \"%s\" (%s): wrong values", v->cv_class, v->cv_in,
                 variant);
}

static void
test_parse_content_range_table(void **state)
{
    static const char *const ows[] = {" ", "\t", " \t "};
    size_t i, j;
    char *p;

    (void)state;
    for (i = 0; i < NELEM(crp_vecs); i++) {
        const struct crp_vec *v = &crp_vecs[i];

        p = build("", v->cv_in, "");
        check_crp_one(v, "exact heap copy", p);
        free(p);
        for (j = 0; j < NELEM(ows); j++) {
            p = build("", v->cv_in, ows[j]);
            check_crp_one(v, "trailing OWS", p);
            free(p);
            p = build(ows[j], v->cv_in, "");
            check_crp_one(v, "leading OWS", p);
            free(p);
        }
        if (v->cv_rc == 0 && v->cv_known) {
            struct byte_range r = {v->cv_first, v->cv_last};
            check_roundtrip(v->cv_class, &r, v->cv_total);
        }
    }
    {
        struct byte_range r;
        uint64_t t;
        int k;
        assert_int_equal(range_parse_content_range(NULL, &r, &t, &k), -1);
    }
}

struct cru_vec {
    const char *uv_class;
    const char *uv_in;
    int uv_rc;
    uint64_t uv_total;
};

static const struct cru_vec cru_vecs[] = {
    {"bytes */total", "bytes */10000", 0, 10000},
    {"bytes */0", "bytes */0", 0, 0},
    {"bytes */>4GiB", "bytes */5368709120", 0, 5 * GiB},
    {"bytes */u64 max", "bytes */18446744073709551615", 0, U64MAX},
    {"unit case", "BYTES */5", 0, 5},
    {"ows around value", " bytes */5\t", 0, 5},
    {"satisfied form", "bytes 0-1/10", -1, 0},
    {"unknown total", "bytes */*", -1, 0},
    {"missing total", "bytes */", -1, 0},
    {"missing slash", "bytes *10", -1, 0},
    {"space before slash", "bytes * /10", -1, 0},
    {"space after slash", "bytes */ 10", -1, 0},
    {"two spaces after unit", "bytes  */1", -1, 0},
    {"no space after unit", "bytes*/1", -1, 0},
    {"overflow", "bytes */18446744073709551616", -1, 0},
    {"trailing junk", "bytes */1x", -1, 0},
    {"sign", "bytes */-1", -1, 0},
    {"other unit", "items */1", -1, 0},
    {"empty", "", -1, 0},
};

static void
test_parse_content_range_unsat_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(cru_vecs); i++) {
        const struct cru_vec *v = &cru_vecs[i];
        uint64_t total = 0xfeed;
        char *p = build("", v->uv_in, "");
        int rc = range_parse_content_range_unsat(p, &total);

        if (rc != v->uv_rc)
            fail_msg("[%s] \"%s\": rc %d, want %d", v->uv_class, v->uv_in, rc,
                     v->uv_rc);
        if (rc == 0 && total != v->uv_total)
            fail_msg("[%s] \"%s\": wrong total", v->uv_class, v->uv_in);
        if (rc != 0 && total != 0xfeed)
            fail_msg("[%s] \"%s\": total written on -1", v->uv_class, v->uv_in);
        free(p);
    }
    assert_int_equal(range_parse_content_range_unsat(NULL, NULL), -1);
}

/* ------------------------------------------------------------------ */

static void
test_vector_count(void **state)
{
    (void)state;
    /* %lu, not %zu: cmocka prints through the C library's own printf,
     * which on Windows (msvcrt) may not know %zu. */
    print_message(
        "range vectors: parse %lu, resolve %lu, is_full %lu, "
        "format %lu, format-unsat %lu, parse-cr %lu, "
        "parse-cr-unsat %lu, total %lu\n",
        (unsigned long)NELEM(parse_vecs), (unsigned long)NELEM(resolve_vecs),
        (unsigned long)NELEM(full_vecs), (unsigned long)NELEM(fmt_vecs),
        (unsigned long)NELEM(unsat_fmt_vecs), (unsigned long)NELEM(crp_vecs),
        (unsigned long)NELEM(cru_vecs),
        (unsigned long)(NELEM(parse_vecs) + NELEM(resolve_vecs) +
                        NELEM(full_vecs) + NELEM(fmt_vecs) +
                        NELEM(unsat_fmt_vecs) + NELEM(crp_vecs) +
                        NELEM(cru_vecs)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_parse_max_specs_generated),
        cmocka_unit_test(test_resolve_table),
        cmocka_unit_test(test_resolve_odd_sets),
        cmocka_unit_test(test_is_full_table),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_format_unsat_table),
        cmocka_unit_test(test_parse_content_range_table),
        cmocka_unit_test(test_parse_content_range_unsat_table),
        cmocka_unit_test(test_vector_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
