/*
 * test_probe_eval.c - the probe's rules, by table: one parent behaviour
 * per row, the finding it must give (level, BITS error, conf line, whether
 * the conf already has it) and the verdict; then auth_cred_from_config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth_conf.h"
#include "config.h"
#include "probe_eval.h"

static void
answer_ok(struct probe_answer *a, int status)
{
    memset(a, 0, sizeof(*a));
    a->pa_tried = 1;
    a->pa_status = status;
    a->pa_minor = 1;
    a->pa_has_length = 1;
    a->pa_length = 5000;
    a->pa_persistent = 1;
    a->pa_body_complete = 1;
}

/* A compliant HTTP/1.1 parent without authentication. */
static void
compliant(struct probe_obs *o)
{
    memset(o, 0, sizeof(*o));
    o->po_resolved = o->po_connected = 1;
    o->po_connect_ms = 2;
    answer_ok(&o->po_first, 200);
    o->po_keep_tested = o->po_kept_alive = 1;
    o->po_usable = AUTH_BIT(AUTH_BASIC);
    answer_ok(&o->po_head, 200);
    answer_ok(&o->po_range, 206);
    o->po_range.pa_length = 100;
    o->po_range.pa_has_cr = o->po_range.pa_cr_valid = 1;
    o->po_range.pa_cr_first = 0;
    o->po_range.pa_cr_last = 99;
    o->po_range.pa_cr_total = 5000;
    o->po_range.pa_body = 100;
    answer_ok(&o->po_get, 200);
    answer_ok(&o->po_post, 405);
    answer_ok(&o->po_tunnel, 200);
}

static void
t_none(struct probe_obs *o)
{
    (void)o;
}
static void
t_unresolved(struct probe_obs *o)
{
    o->po_resolved = o->po_connected = 0;
}
static void
t_refused(struct probe_obs *o)
{
    o->po_connected = 0;
}
static void
t_silent(struct probe_obs *o)
{
    o->po_first.pa_status = 0;
}
static void
t_http10(struct probe_obs *o)
{
    o->po_first.pa_minor = 0;
}
static void
t_closes(struct probe_obs *o)
{
    o->po_keep_tested = o->po_kept_alive = 0;
}
static void
t_basic(struct probe_obs *o)
{
    o->po_first.pa_status = 407;
    o->po_offered = AUTH_BIT(AUTH_BASIC);
    o->po_auth[AUTH_BASIC] = PAR_PASSED;
}
static void
t_basic_refused(struct probe_obs *o)
{
    t_basic(o);
    o->po_auth[AUTH_BASIC] = PAR_REFUSED;
}
static void
t_ntlm_only_no_creds(struct probe_obs *o)
{
    o->po_first.pa_status = 407;
    o->po_offered = AUTH_BIT(AUTH_NTLM);
    o->po_auth[AUTH_NTLM] = PAR_UNUSABLE;
}
static void
t_basic_and_ntlm(struct probe_obs *o)
{
    /* auto takes Basic only when it is all that is offered */
    o->po_first.pa_status = 407;
    o->po_offered = AUTH_BIT(AUTH_BASIC) | AUTH_BIT(AUTH_NTLM);
    o->po_auth[AUTH_BASIC] = PAR_PASSED;
    o->po_auth[AUTH_NTLM] = PAR_UNUSABLE;
}
static void
t_407_unknown(struct probe_obs *o)
{
    o->po_first.pa_status = 407;
    o->po_offered = 0;
}
static void
t_head_nolen(struct probe_obs *o)
{
    o->po_head.pa_has_length = 0;
}
static void
t_head_404(struct probe_obs *o)
{
    o->po_head.pa_status = 404;
}
static void
t_range_dropped(struct probe_obs *o)
{
    answer_ok(&o->po_range, 200);
}
static void
t_range_no_cr(struct probe_obs *o)
{
    o->po_range.pa_has_cr = 0;
    o->po_range.pa_cr_valid = 0;
}
static void
t_range_wrong(struct probe_obs *o)
{
    o->po_range.pa_cr_last = 199;
}
static void
t_range_short(struct probe_obs *o)
{
    o->po_range.pa_body = 50;
}
static void
t_range_small_file(struct probe_obs *o)
{
    o->po_range.pa_cr_last = 39;
    o->po_range.pa_cr_total = 40;
    o->po_range.pa_length = 40;
    o->po_range.pa_body = 40;
}
static void
t_close_delim(struct probe_obs *o)
{
    o->po_get.pa_has_length = 0;
    o->po_get.pa_close_delimited = 1;
}
static void
t_chunked_411(struct probe_obs *o)
{
    o->po_post.pa_status = 411;
}
static void
t_chunked_400(struct probe_obs *o)
{
    o->po_post.pa_status = 400;
}
static void
t_connect_403(struct probe_obs *o)
{
    o->po_tunnel.pa_status = 403;
}
static void
t_connect_407(struct probe_obs *o)
{
    o->po_tunnel.pa_status = 407;
}
static void
t_direct_443_closed(struct probe_obs *o)
{
    o->po_direct = 1;
    o->po_tunnel.pa_status = 0;
}

struct row {
    const char *name;
    void (*tweak)(struct probe_obs *o);
    int mode;  /* enum range_mode */
    int minor; /* [upstream] http_version */
    int want;  /* enum auth_want */
    enum probe_check check;
    enum probe_level level;
    const char *bits; /* prefix of pf_bits; "" = none */
    const char *conf; /* pf_conf; "" = none */
    int conf_set;
    enum probe_verdict verdict;
};

#define C RANGE_MODE_CACHE
#define S RANGE_MODE_SLICE
#define P RANGE_MODE_PASS
#define AUTO AUTH_WANT_AUTO

static const struct row rows[] = {
    {"compliant", t_none, C, 0, AUTO, PC_RANGE, PL_OK, "", "", 1, PV_WORKS},
    {"compliant connect", t_none, C, 0, AUTO, PC_CONNECT, PL_OK, "", "", 1,
     PV_WORKS},
    {"unresolved", t_unresolved, C, 0, AUTO, PC_CONNECT, PL_FAIL, "0x80072EE7",
     "", 1, PV_FAILS},
    {"unresolved skips head", t_unresolved, C, 0, AUTO, PC_HEAD, PL_SKIPPED, "",
     "", 1, PV_FAILS},
    {"refused", t_refused, C, 0, AUTO, PC_CONNECT, PL_FAIL, "0x80072EFD", "", 1,
     PV_FAILS},
    {"no http answer", t_silent, C, 0, AUTO, PC_CONNECT, PL_FAIL, "", "", 1,
     PV_FAILS},
    {"http/1.0, conf 1.0", t_http10, C, 0, AUTO, PC_HTTP, PL_REPAIRED,
     "0x80200012", "[upstream] http_version = 1.0", 1, PV_WORKS},
    {"http/1.0, conf 1.1", t_http10, C, 1, AUTO, PC_HTTP, PL_REPAIRED,
     "0x80200012", "[upstream] http_version = 1.0", 0, PV_NEEDS_CONF},
    {"closes", t_closes, C, 0, AUTO, PC_KEEPALIVE, PL_INFO, "", "", 1,
     PV_WORKS},
    {"basic passes", t_basic, C, 0, AUTO, PC_AUTH, PL_OK, "", "", 1, PV_WORKS},
    {"basic passes, conf basic", t_basic, C, 0, AUTH_WANT_BASIC, PC_AUTH, PL_OK,
     "", "[upstream] auth = basic", 1, PV_WORKS},
    {"basic passes, conf ntlm", t_basic, C, 0, AUTH_WANT_NTLM, PC_AUTH,
     PL_REPAIRED, "0x80190197", "[upstream] auth = basic", 0, PV_NEEDS_CONF},
    {"basic refused", t_basic_refused, C, 0, AUTO, PC_AUTH, PL_FAIL,
     "0x80190197", "", 1, PV_FAILS},
    {"basic refused skips range", t_basic_refused, C, 0, AUTO, PC_RANGE,
     PL_SKIPPED, "", "", 1, PV_FAILS},
    {"ntlm, no creds", t_ntlm_only_no_creds, C, 0, AUTO, PC_AUTH, PL_FAIL,
     "0x80190197", "[upstream] user = DOMAIN\\name + password_hash", 0,
     PV_FAILS},
    {"basic+ntlm auto", t_basic_and_ntlm, C, 0, AUTO, PC_AUTH, PL_REPAIRED,
     "0x80190197", "[upstream] auth = basic", 0, PV_NEEDS_CONF},
    {"407 unknown scheme", t_407_unknown, C, 0, AUTO, PC_AUTH, PL_FAIL,
     "0x80190197", "", 1, PV_FAILS},
    {"head no length, cache", t_head_nolen, C, 0, AUTO, PC_HEAD, PL_REPAIRED,
     "0x80200011", "[range] mode = cache", 1, PV_WORKS},
    {"head no length, slice", t_head_nolen, S, 0, AUTO, PC_HEAD, PL_REPAIRED,
     "0x80200011", "[range] mode = cache", 0, PV_NEEDS_CONF},
    {"head 404", t_head_404, C, 0, AUTO, PC_HEAD, PL_FAIL, "0x80190194", "", 1,
     PV_FAILS},
    {"range dropped, cache", t_range_dropped, C, 0, AUTO, PC_RANGE, PL_REPAIRED,
     "0x80200013", "[range] mode = cache", 1, PV_WORKS},
    {"range dropped, slice", t_range_dropped, S, 0, AUTO, PC_RANGE, PL_REPAIRED,
     "0x80200013", "[range] mode = cache", 1, PV_WORKS},
    {"range dropped, pass", t_range_dropped, P, 0, AUTO, PC_RANGE, PL_REPAIRED,
     "0x80200013", "[range] mode = cache", 0, PV_NEEDS_CONF},
    {"206 without content-range, cache", t_range_no_cr, C, 0, AUTO, PC_RANGE,
     PL_REPAIRED, "0x80200013", "[range] mode = cache", 1, PV_WORKS},
    {"206 without content-range, slice", t_range_no_cr, S, 0, AUTO, PC_RANGE,
     PL_REPAIRED, "0x80200013", "[range] mode = cache", 0, PV_NEEDS_CONF},
    {"206 wrong range", t_range_wrong, P, 0, AUTO, PC_RANGE, PL_REPAIRED,
     "0x80200013", "[range] mode = cache", 0, PV_NEEDS_CONF},
    {"206 short body", t_range_short, C, 0, AUTO, PC_RANGE, PL_REPAIRED,
     "0x80200013", "[range] mode = cache", 1, PV_WORKS},
    {"206 whole small file", t_range_small_file, P, 0, AUTO, PC_RANGE, PL_OK,
     "", "", 1, PV_WORKS},
    {"close-delimited", t_close_delim, P, 0, AUTO, PC_FRAMING, PL_REPAIRED,
     "0x80200011", "", 1, PV_WORKS},
    {"chunked 411", t_chunked_411, C, 0, AUTO, PC_CHUNKED, PL_INFO, "", "", 1,
     PV_WORKS},
    {"chunked 400", t_chunked_400, C, 0, AUTO, PC_CHUNKED, PL_INFO, "", "", 1,
     PV_WORKS},
    {"connect 403", t_connect_403, C, 0, AUTO, PC_TUNNEL, PL_FAIL,
     "0x80190193 BG_E_HTTP_ERROR_403", "", 1, PV_FAILS},
    {"connect 407", t_connect_407, C, 0, AUTO, PC_TUNNEL, PL_FAIL,
     "0x80190197 BG_E_HTTP_ERROR_407", "", 1, PV_FAILS},
    {"direct, 443 closed", t_direct_443_closed, C, 0, AUTO, PC_TUNNEL, PL_FAIL,
     "0x80072EFD", "", 1, PV_FAILS},
};

static void
test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct probe_obs o;
        struct probe_conf c = {r->mode, r->minor, r->want};
        struct probe_finding f[PC_NCHECKS];
        enum probe_verdict v;

        compliant(&o);
        r->tweak(&o);
        v = probe_eval(&o, &c, f);
        const struct probe_finding *x = &f[r->check];
        print_message("row %s: %s %s [%s] [%s] set=%d verdict %s\n", r->name,
                      probe_check_name(x->pf_check),
                      probe_level_name(x->pf_level), x->pf_bits, x->pf_conf,
                      x->pf_conf_set, probe_verdict_name(v));
        assert_int_equal(x->pf_check, r->check);
        assert_int_equal(x->pf_level, r->level);
        assert_true(strncmp(x->pf_bits, r->bits, strlen(r->bits)) == 0);
        if (r->bits[0] == '\0')
            assert_string_equal(x->pf_bits, "");
        assert_string_equal(x->pf_conf, r->conf);
        assert_int_equal(x->pf_conf_set, r->conf_set);
        assert_int_equal(v, r->verdict);
        assert_true(x->pf_text[0] != '\0');
    }
}

/* Every finding of a compliant parent is ok, and the exit code follows
 * the worst verdict. */
static void
test_compliant_and_exit(void **state)
{
    struct probe_obs o;
    struct probe_conf c = {RANGE_MODE_CACHE, 1, AUTH_WANT_AUTO};
    struct probe_finding f[PC_NCHECKS];
    enum probe_verdict v[3] = {PV_WORKS, PV_WORKS, PV_WORKS};

    (void)state;
    compliant(&o);
    assert_int_equal(probe_eval(&o, &c, f), PV_WORKS);
    for (int i = 0; i < PC_NCHECKS; i++) {
        assert_int_equal(f[i].pf_check, i);
        assert_int_equal(f[i].pf_level, PL_OK);
    }
    assert_int_equal(probe_exit_code(v, 3), 0);
    v[2] = PV_NEEDS_CONF;
    assert_int_equal(probe_exit_code(v, 3), 1);
    v[2] = PV_FAILS;
    assert_int_equal(probe_exit_code(v, 3), 1);
    assert_int_equal(probe_exit_code(v, 0), 0);
    assert_string_equal(probe_check_name(PC_TUNNEL), "connect_443");
    assert_string_equal(probe_level_name(PL_REPAIRED), "repaired");
    assert_string_equal(probe_verdict_name(PV_NEEDS_CONF), "needs_conf");
}

/* The scheme the shim would use: the configured choice when it passed,
 * else the strongest that passed. */
static void
test_auth_pick(void **state)
{
    struct probe_obs o;
    struct probe_conf c = {RANGE_MODE_CACHE, 0, AUTH_WANT_AUTO};

    (void)state;
    compliant(&o);
    o.po_offered = AUTH_BIT(AUTH_NTLM) | AUTH_BIT(AUTH_BASIC);
    o.po_usable = AUTH_BIT(AUTH_NTLM) | AUTH_BIT(AUTH_BASIC);
    o.po_auth[AUTH_NTLM] = PAR_PASSED;
    o.po_auth[AUTH_BASIC] = PAR_PASSED;
    assert_int_equal(probe_auth_pick(&o, &c), AUTH_NTLM);
    o.po_auth[AUTH_NTLM] = PAR_REFUSED;
    assert_int_equal(probe_auth_pick(&o, &c), AUTH_BASIC);
    o.po_auth[AUTH_BASIC] = PAR_FAILED;
    assert_int_equal(probe_auth_pick(&o, &c), AUTH_NONE);
}

static void
test_cred_from_config(void **state)
{
    struct shim_config cfg;
    struct auth_cred ac;
    uint8_t h[16];
    static const uint8_t want[16] = {0x88, 0x46, 0xf7, 0xea, 0xee, 0x8f,
                                     0xb1, 0x17, 0xad, 0x06, 0xbd, 0xd8,
                                     0x30, 0xb7, 0x58, 0x6c};

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(auth_cred_from_config(&cfg, &ac, h), 0);
    assert_null(ac.ac_user);
    assert_null(ac.ac_password);
    assert_null(ac.ac_nt_hash);

    cfg.sc_up_user = "CORP\\svc";
    cfg.sc_up_password = "pw";
    cfg.sc_up_keytab = "/k.keytab";
    cfg.sc_up_principal = "svc@CORP";
    cfg.sc_up_spn = "HTTP@proxy.corp";
    cfg.sc_up_password_hash = "8846F7EAEE8FB117AD06BDD830B7586c";
    assert_int_equal(auth_cred_from_config(&cfg, &ac, h), 0);
    assert_string_equal(ac.ac_user, "CORP\\svc");
    assert_string_equal(ac.ac_password, "pw");
    assert_string_equal(ac.ac_keytab, "/k.keytab");
    assert_string_equal(ac.ac_principal, "svc@CORP");
    assert_string_equal(ac.ac_spn, "HTTP@proxy.corp");
    assert_ptr_equal(ac.ac_nt_hash, h);
    assert_memory_equal(h, want, 16);
    assert_true(auth_usable(&ac) & AUTH_BIT(AUTH_BASIC));

    static char bad[][40] = {"8846f7eaee8fb117ad06bdd830b7586",
                             "8846f7eaee8fb117ad06bdd830b7586c0",
                             "8846f7eaee8fb117ad06bdd830b7586g", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.sc_up_password_hash = bad[i];
        assert_int_equal(auth_cred_from_config(&cfg, &ac, h), -1);
        assert_null(ac.ac_user);
        assert_null(ac.ac_nt_hash);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_compliant_and_exit),
        cmocka_unit_test(test_auth_pick),
        cmocka_unit_test(test_cred_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
