/*
 * test_upstream.c - parent selection: order, failover, hold-down, the
 * fallback when every parent is held down, no_proxy, and the Basic
 * credentials built once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "upstream.h"

static struct upstream_set *
make_set(struct shim_config *cfg, size_t n)
{
    static struct upstream_addr addrs[3] = {{"p0.corp.example", 8080},
                                            {"p1.corp.example", 8080},
                                            {"10.0.0.9", 3128}};
    struct cidr c;

    assert_int_equal(config_defaults(cfg), 0);
    cfg->sc_proxies = addrs;
    cfg->sc_nproxies = n;
    cfg->sc_hold_down_ms = 30000;
    assert_int_equal(
        pattern_list_add(&cfg->sc_no_proxy_hosts, "*.corp.example"), 0);
    assert_int_equal(cidr_parse("192.168.0.0/16", &c), 0);
    assert_int_equal(cidr_list_add(&cfg->sc_no_proxy_nets, &c), 0);
    struct upstream_set *us = upstream_set_new(cfg);
    assert_non_null(us);
    return us;
}

static void
release(struct shim_config *cfg, struct upstream_set *us)
{
    upstream_set_free(us);
    cfg->sc_proxies = NULL;
    cfg->sc_nproxies = 0;
    config_free(cfg);
}

static void
test_order_and_failover(void **state)
{
    struct shim_config cfg;
    struct upstream_set *us = make_set(&cfg, 3);

    (void)state;
    assert_int_equal(upstream_next(us, -1, 1000), 0);
    assert_int_equal(upstream_next(us, 0, 1000), 1);
    assert_int_equal(upstream_next(us, 2, 1000), -1);
    upstream_failed(us, 0, 1000, NULL);
    /* Held down: skipped by the next request. */
    assert_int_equal(upstream_next(us, -1, 2000), 1);
    /* The hold-down ends. */
    assert_int_equal(upstream_next(us, -1, 31000), 0);
    upstream_failed(us, 0, 40000, NULL);
    upstream_succeeded(us, 0);
    assert_int_equal(upstream_next(us, -1, 40001), 0);
    assert_string_equal(upstream_label(us, 2), "10.0.0.9:3128");
    assert_string_equal(upstream_label(us, -1), "direct");
    release(&cfg, us);
}

static void
test_all_held_down_falls_back_to_least_recent(void **state)
{
    struct shim_config cfg;
    struct upstream_set *us = make_set(&cfg, 3);

    (void)state;
    upstream_failed(us, 0, 5000, NULL);
    upstream_failed(us, 1, 3000, NULL);
    upstream_failed(us, 2, 4000, NULL);
    /* A fresh request still tries the one that failed longest ago. */
    assert_int_equal(upstream_next(us, -1, 6000), 1);
    /* A request that already failed over gives up instead. */
    assert_int_equal(upstream_next(us, 1, 6000), -1);
    release(&cfg, us);
}

static void
test_no_proxy(void **state)
{
    struct shim_config cfg;
    struct upstream_set *us = make_set(&cfg, 2);

    (void)state;
    assert_int_equal(upstream_is_direct(us, "wsus.corp.example"), 1);
    assert_int_equal(upstream_is_direct(us, "192.168.4.5"), 1);
    assert_int_equal(upstream_is_direct(us, "au.download.windowsupdate.com"),
                     0);
    assert_int_equal(upstream_is_direct(us, "192.169.0.1"), 0);
    assert_int_equal(upstream_is_direct(us, "corp.example"), 0);
    release(&cfg, us);
    us = make_set(&cfg, 0);
    assert_int_equal(upstream_is_direct(us, "anything.example"), 1);
    release(&cfg, us);
}

static void
test_basic_credentials(void **state)
{
    struct shim_config cfg;
    struct upstream_set *us;

    (void)state;
    assert_int_equal(config_defaults(&cfg), 0);
    static struct upstream_addr a = {"p0", 8080};
    cfg.sc_proxies = &a;
    cfg.sc_nproxies = 1;
    cfg.sc_up_user = (char *)"Aladdin";
    cfg.sc_up_password = (char *)"open sesame";
    us = upstream_set_new(&cfg);
    assert_non_null(us);
    /* RFC 7617's example. */
    assert_string_equal(upstream_auth(us),
                        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    upstream_set_free(us);
    cfg.sc_up_user = cfg.sc_up_password = NULL;
    cfg.sc_proxies = NULL;
    cfg.sc_nproxies = 0;
    config_free(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_failover),
        cmocka_unit_test(test_all_held_down_falls_back_to_least_recent),
        cmocka_unit_test(test_no_proxy),
        cmocka_unit_test(test_basic_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
