/*
 * test_status.c - the pure parts of the operator's view: the BITS error
 * table, the ring of recent errors, the request counters, and the JSON
 * and Prometheus renderings of a hand-built snapshot (values, escaping
 * of file names and reasons, no field beyond what the snapshot holds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bitserr.h"
#include "errring.h"
#include "metrics.h"
#include "status_snap.h"

/* ---- the BITS error table ---- */

static const struct {
    enum bitserr_kind k;
    int status;
    int rc;
    uint32_t code;
    const char *name;
} bits_cases[] = {
    {BITSERR_STATUS, 407, 0, 0x80190197u, "BG_E_HTTP_ERROR_407"},
    {BITSERR_STATUS, 502, 0, 0x801901F6u, "BG_E_HTTP_ERROR_502"},
    {BITSERR_STATUS, 504, 0, 0x801901F8u, "BG_E_HTTP_ERROR_504"},
    {BITSERR_STATUS, 400, 0, 0x80190190u, "BG_E_HTTP_ERROR_400"},
    {BITSERR_STATUS, 403, 0, 0x80190193u, "BG_E_HTTP_ERROR_403"},
    {BITSERR_STATUS, 404, 0, 0x80190194u, "BG_E_HTTP_ERROR_404"},
    {BITSERR_STATUS, 414, 0, 0x8019019Eu, "BG_E_HTTP_ERROR_414"},
    {BITSERR_STATUS, 503, 0, 0x801901F7u, "BG_E_HTTP_ERROR_503"},
    {BITSERR_STATUS, 431, 0, 0x801901AFu, "BG_E_HTTP_ERROR"},
    {BITSERR_STATUS, 599, 0, 0x80190257u, "BG_E_HTTP_ERROR"},
    {BITSERR_STATUS, 200, -1, 0, NULL},
    {BITSERR_STATUS, 304, -1, 0, NULL},
    {BITSERR_STATUS, 600, -1, 0, NULL},
    {BITSERR_STATUS, 0, -1, 0, NULL},
    {BITSERR_RANGE_IGNORED, 200, 0, 0x80200013u,
     "BG_E_INSUFFICIENT_RANGE_SUPPORT"},
    {BITSERR_NO_LENGTH, 200, 0, 0x80200011u, "BG_E_MISSING_FILE_SIZE"},
};

static void
test_bitserr_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bits_cases) / sizeof(bits_cases[0]); i++) {
        struct bitserr be = {0, NULL};
        int rc = bitserr_lookup(bits_cases[i].k, bits_cases[i].status, &be);
        if (rc != bits_cases[i].rc)
            fail_msg("case %zu (status %d): rc %d", i, bits_cases[i].status,
                     rc);
        if (rc != 0)
            continue;
        if (be.be_code != bits_cases[i].code)
            fail_msg("case %zu: 0x%08X, want 0x%08X", i, (unsigned)be.be_code,
                     (unsigned)bits_cases[i].code);
        assert_string_equal(be.be_name, bits_cases[i].name);
    }
}

/* ---- the ring ---- */

static void
test_errring_order_and_wrap(void **state)
{
    struct errring *r = calloc(1, sizeof(*r));
    char id[16];

    (void)state;
    assert_non_null(r);
    assert_null(errring_get(r, 0));
    for (int i = 0; i < ERRRING_MAX + 7; i++) {
        snprintf(id, sizeof(id), "id%d", i);
        errring_add(r, 1000 + i, i % 2 ? 502 : 504, id, "127.0.0.1:5", "GET",
                    "http://h/f.cab", i % 2 ? "p1:8080" : "p2:8080", "reason");
    }
    assert_int_equal(r->rg_n, ERRRING_MAX);
    assert_int_equal(r->rg_total, ERRRING_MAX + 7);
    /* Newest first; the 7 oldest are gone. */
    snprintf(id, sizeof(id), "id%d", ERRRING_MAX + 6);
    assert_string_equal(errring_get(r, 0)->er_reqid, id);
    assert_string_equal(errring_get(r, ERRRING_MAX - 1)->er_reqid, "id7");
    assert_null(errring_get(r, ERRRING_MAX));
    assert_int_equal(errring_get(r, 0)->er_time, 1000 + ERRRING_MAX + 6);
    /* The BITS code comes with each record. */
    assert_int_equal(errring_get(r, 0)->er_status, 504);
    assert_int_equal(errring_get(r, 0)->er_bits, 0x801901F8u);
    assert_string_equal(errring_get(r, 0)->er_bits_name, "BG_E_HTTP_ERROR_504");
    /* The last error of a hop, also when listed with others. */
    assert_string_equal(errring_last_for(r, "p1:8080")->er_reqid, "id55");
    errring_add(r, 5000, 502, "both", NULL, NULL, NULL, "p2:8080, p3:3128",
                "no upstream proxy could be reached");
    assert_string_equal(errring_last_for(r, "p3:3128")->er_reqid, "both");
    assert_string_equal(errring_last_for(r, "p2:8080")->er_reqid, "both");
    assert_null(errring_last_for(r, "p3:312"));
    assert_null(errring_last_for(r, "p9:1"));
    /* NULL texts are empty; long ones are cut, never overrun. */
    assert_string_equal(errring_get(r, 0)->er_client, "");
    char longurl[2000];
    memset(longurl, 'a', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    errring_add(r, 1, 400, "x", "c", "GET", longurl, "", "r");
    assert_int_equal(strlen(errring_get(r, 0)->er_url),
                     sizeof(errring_get(r, 0)->er_url) - 1);
    /* A status that fails no job has no BITS code. */
    errring_add(r, 1, 304, "y", "c", "GET", "u", "", "r");
    assert_int_equal(errring_get(r, 0)->er_bits, 0);
    free(r);
}

/* ---- the counters ---- */

static void
test_metrics_counts(void **state)
{
    struct metrics *m = calloc(1, sizeof(*m));
    char plan[16];

    (void)state;
    assert_non_null(m);
    for (int i = 0; i < 5; i++)
        metrics_request(m, "cache-hit", 206, 100, 1000);
    metrics_request(m, "cache-hit", 200, 1, 2);
    metrics_request(m, NULL, 400, 0, 0);
    assert_int_equal(m->mt_nreq, 3);
    assert_string_equal(m->mt_req[0].mr_plan, "cache-hit");
    assert_int_equal(m->mt_req[0].mr_status, 206);
    assert_int_equal(m->mt_req[0].mr_n, 5);
    assert_int_equal(m->mt_req[1].mr_n, 1);
    assert_string_equal(m->mt_req[2].mr_plan, "-");
    assert_int_equal(m->mt_bytes_in, 501);
    assert_int_equal(m->mt_bytes_out, 5002);
    /* Past the table, everything lands in one "other" row. */
    for (int i = 0; i < 200; i++) {
        snprintf(plan, sizeof(plan), "p%d", i);
        metrics_request(m, plan, 200, 0, 0);
    }
    assert_int_equal(m->mt_nreq, METRICS_MAX_REQ);
    assert_string_equal(m->mt_req[METRICS_MAX_REQ - 1].mr_plan, "other");
    uint64_t sum = 0;
    for (size_t i = 0; i < m->mt_nreq; i++)
        sum += m->mt_req[i].mr_n;
    assert_int_equal(sum, 207);

    metrics_upstream_failure(m, "p1:8080");
    metrics_upstream_failure(m, "p1:8080");
    metrics_upstream_failure(m, NULL);
    assert_int_equal(m->mt_nup, 2);
    assert_int_equal(m->mt_up[0].mu_failures, 2);
    assert_string_equal(m->mt_up[1].mu_label, "-");
    free(m);
}

/* ---- rendering ---- */

static struct errring ring;
static struct metrics mets;

static void
make_snap(struct status_snap *s)
{
    memset(s, 0, sizeof(*s));
    memset(&ring, 0, sizeof(ring));
    memset(&mets, 0, sizeof(mets));
    s->ss_version = "1.2.3";
    s->ss_now = 1700000100;
    s->ss_started = 1700000000;
    s->ss_uptime_ms = 100500;
    s->ss_conf = "C:\\ProgramData\\wsus-shim\\wsus-shim.conf";
    s->ss_listen = "127.0.0.1:8181";
    s->ss_range_mode = "cache";
    s->ss_connections = 3;
    s->ss_requests = 42;
    s->ss_errors = 2;
    s->ss_bytes_out = 123456;
    s->ss_cache_on = 1;
    s->ss_cache_state = "enabled";
    s->ss_cache.cs_entries = 7;
    s->ss_cache.cs_bytes = 5000;
    s->ss_cache.cs_hits = 3;
    s->ss_cache.cs_misses = 1;
    s->ss_cache.cs_evictions = 2;
    s->ss_cache_max = 10000;
    s->ss_free_known = 1;
    s->ss_cache_free = 987654321;
    s->ss_evict_time = 1700000050;
    s->ss_evict_last = 2;
    s->ss_pool_opened = 4;
    s->ss_pool_reused = 9;
    s->ss_active_xfers = 1;

    errring_add(&ring, 1700000090, 502, "abc123def456", "127.0.0.1:5000", "GET",
                "http://h/x.cab", "proxy1:8080",
                "parent \"reset\" <b>early</b>");
    s->ss_errs = &ring;
    metrics_request(&mets, "cache-fill", 200, 10, 20);
    metrics_upstream_failure(&mets, "proxy1:8080");
    s->ss_metrics = &mets;

    s->ss_nparents = 1;
    s->ss_parents[0].sp_label = "proxy1:8080";
    s->ss_parents[0].sp_down = 1;
    s->ss_parents[0].sp_down_ms = 25000;
    s->ss_parents[0].sp_down_until = 1700000125;
    s->ss_parents[0].sp_http = "1.0";
    s->ss_parents[0].sp_keep_alive = "yes";
    s->ss_parents[0].sp_scheme = "NTLM";
    s->ss_parents[0].sp_idle = 2;
    s->ss_parents[0].sp_failures = 1;
    s->ss_parents[0].sp_last_err = errring_get(&ring, 0);

    s->ss_nxfers = 1;
    s->ss_xfers[0].sx_url = "http://au.download.windowsupdate.com/c/msdownload/"
                            "<img src=x onerror=alert(1)>_x.cab?a=\"b\"&c";
    s->ss_xfers[0].sx_client = "127.0.0.1:5001";
    s->ss_xfers[0].sx_plan = "cache-fill";
    s->ss_xfers[0].sx_reqid = "0123456789ab";
    s->ss_xfers[0].sx_upstream = "proxy1:8080";
    s->ss_xfers[0].sx_done = 250;
    s->ss_xfers[0].sx_total_known = 1;
    s->ss_xfers[0].sx_total = 1000;
    s->ss_xfers[0].sx_ms = 2000;
    s->ss_xfers[0].sx_clients = 2;
}

static void
has(const char *doc, const char *want)
{
    if (strstr(doc, want) == NULL)
        fail_msg("missing %s in:\n%s", want, doc);
}

static void
test_json_render(void **state)
{
    struct status_snap *s = calloc(1, sizeof(*s));
    size_t len = 0;

    (void)state;
    assert_non_null(s);
    make_snap(s);
    char *j = status_render_json(s, &len);
    assert_non_null(j);
    assert_int_equal(strlen(j), len);
    assert_int_equal(j[len - 1], '\n');
    /* The first /status's fields, in their old order, come first. */
    assert_true(strncmp(j,
                        "{\"version\":\"1.2.3\",\"connections\":3,"
                        "\"requests\":42,\"errors\":2,\"tunnels\":0,"
                        "\"bytes_out\":123456,\"bytes_upstream\":0,"
                        "\"refused\":0,\"cache\":{\"enabled\":true,"
                        "\"entries\":7,\"bytes\":5000,\"hits\":3,"
                        "\"misses\":1,\"fills\":0,\"rejected\":0,"
                        "\"evictions\":2,\"corrupt\":0,",
                        strlen("{\"version\":\"1.2.3\",\"connections\":3,"
                               "\"requests\":42,\"errors\":2,\"tunnels\":0,"
                               "\"bytes_out\":123456,\"bytes_upstream\":0,"
                               "\"refused\":0,\"cache\":{\"enabled\":true,"
                               "\"entries\":7,\"bytes\":5000,\"hits\":3,"
                               "\"misses\":1,\"fills\":0,\"rejected\":0,"
                               "\"evictions\":2,\"corrupt\":0,")) == 0);
    has(j, "\"max_bytes\":10000,\"free_bytes\":987654321,"
           "\"hit_ratio\":0.750,"
           "\"last_eviction\":{\"time\":1700000050,\"count\":2},"
           "\"state\":\"enabled\",\"reason\":null}");
    has(j, "\"uptime_s\":100,");
    has(j, "\"conf\":\"C:\\\\ProgramData\\\\wsus-shim\\\\wsus-shim.conf\"");
    has(j, "\"listen\":\"127.0.0.1:8181\",\"range_mode\":\"cache\"");
    has(j, "\"pool\":{\"idle\":0,\"opened\":4,\"reused\":9,\"retried\":0}");
    /* The parent, held down, with why. */
    has(j, "{\"label\":\"proxy1:8080\",\"state\":\"down\","
           "\"down_until\":1700000125,\"down_for_ms\":25000,"
           "\"why\":\"parent \\\"reset\\\" \\u003cb\\u003eearly"
           "\\u003c/b\\u003e\",\"http_version\":\"1.0\","
           "\"keep_alive\":\"yes\",\"auth\":\"NTLM\",\"idle\":2,"
           "\"failures\":1,\"last_error\":{\"time\":1700000090,"
           "\"status\":502,");
    /* The transfer: file name cut from the URL, markup escaped. */
    has(j, "\"file\":\"\\u003cimg src=x onerror=alert(1)\\u003e_x.cab\"");
    has(j, "?a=\\\"b\\\"\\u0026c\"");
    has(j, "\"done\":250,\"total\":1000,\"percent\":25.0,"
           "\"elapsed_ms\":2000,\"rate_bps\":125,\"clients\":2}");
    /* The error with its BITS code. */
    has(j, "\"recent_errors\":[{\"time\":1700000090,\"status\":502,"
           "\"reqid\":\"abc123def456\"");
    has(j, "\"bits\":\"0x801901F6\",\"bits_name\":\"BG_E_HTTP_ERROR_502\"}]");
    /* No raw markup anywhere. */
    assert_null(strchr(j, '<'));
    assert_null(strchr(j, '>'));
    assert_null(strchr(j, '&'));
    free(j);

    /* Unknown sizes and an empty cache are null, not zero. */
    s->ss_xfers[0].sx_total_known = 0;
    s->ss_cache.cs_hits = s->ss_cache.cs_misses = 0;
    s->ss_free_known = 0;
    s->ss_evict_time = 0;
    s->ss_nparents = 0;
    s->ss_errs = NULL;
    j = status_render_json(s, &len);
    assert_non_null(j);
    has(j, "\"total\":null,\"percent\":null");
    has(j, "\"free_bytes\":null,\"hit_ratio\":null,\"last_eviction\":null");
    has(j, "\"parents\":[],");
    has(j, "\"recent_errors\":[]}\n");
    free(j);
    free(s);
}

static void
test_json_str(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(status_json_str(buf, sizeof(buf), "a\"\\\n\x01</"),
                     strlen("\"a\\\"\\\\\\n\\u0001\\u003c/\""));
    assert_string_equal(buf, "\"a\\\"\\\\\\n\\u0001\\u003c/\"");
    /* Too small: cut, NUL-terminated, the needed length returned. */
    assert_int_equal(status_json_str(buf, 4, "abcdef"), 8);
    assert_string_equal(buf, "\"ab");
    assert_int_equal(status_json_str(NULL, 0, NULL), 2);
}

static void
test_metrics_render(void **state)
{
    struct status_snap *s = calloc(1, sizeof(*s));
    size_t len = 0;

    (void)state;
    assert_non_null(s);
    make_snap(s);
    metrics_upstream_failure(&mets, "we\"ird\\\nname");
    char *t = status_render_metrics(s, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    has(t, "# TYPE wsus_shim_requests_total counter\n");
    has(t,
        "\nwsus_shim_requests_total{plan=\"cache-fill\",status=\"200\"} 1\n");
    has(t, "\nwsus_shim_client_bytes_total{direction=\"in\"} 10\n");
    has(t, "\nwsus_shim_client_bytes_total{direction=\"out\"} 20\n");
    has(t, "\nwsus_shim_upstream_failures_total{parent=\"proxy1:8080\"} 1\n");
    has(t, "\nwsus_shim_upstream_failures_total"
           "{parent=\"we\\\"ird\\\\\\nname\"} 1\n");
    has(t, "\nwsus_shim_parent_up{parent=\"proxy1:8080\"} 0\n");
    has(t, "\nwsus_shim_cache_bytes 5000\n");
    has(t, "\nwsus_shim_cache_max_bytes 10000\n");
    has(t, "\nwsus_shim_cache_free_bytes 987654321\n");
    has(t, "\nwsus_shim_cache_hits_total 3\n");
    has(t, "\nwsus_shim_cache_evictions_total 2\n");
    has(t, "\nwsus_shim_active_connections 3\n");
    has(t, "\nwsus_shim_active_transfers 1\n");
    has(t, "\nwsus_shim_pool_connections_opened_total 4\n");
    has(t, "\nwsus_shim_pool_connections_reused_total 9\n");
    has(t, "\nwsus_shim_uptime_seconds 100\n");
    /* Every sample line is a wsus_shim_ name; every line ends. */
    assert_int_equal(t[len - 1], '\n');
    for (const char *p = t; *p != '\0'; p = strchr(p, '\n') + 1) {
        if (*p == '#')
            assert_true(strncmp(p, "# HELP wsus_shim_", 17) == 0 ||
                        strncmp(p, "# TYPE wsus_shim_", 17) == 0);
        else
            assert_true(strncmp(p, "wsus_shim_", 10) == 0);
    }
    free(t);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitserr_table),
        cmocka_unit_test(test_errring_order_and_wrap),
        cmocka_unit_test(test_metrics_counts),
        cmocka_unit_test(test_json_render),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_metrics_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
