/*
 * test_config.c - the conf file loader. Every conf is written by the test
 * into a private temporary folder, so the suite is self-contained.
 *
 * Covered: defaults from an empty file; every key parsed; relative paths
 * taken from the conf file's folder; every kind of error with its exact
 * "FILE:LINE: message"; duplicate and unknown keys and sections; lines
 * inih would split; the password never printed or echoed in errors; and
 * config_print's output loading back to the same config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* chdir, getcwd: mingw-w64 has them too */

#include <cmocka.h>

#include "auth.h"
#include "config.h"
#include "shim_limits.h"
#include "log.h"
#include "plat.h"

#define PATH_LEN 256
#define ERR_LEN 512

static char tdir[128]; /* short, so paths below always fit */
static char *created[32];
static size_t ncreated;

/* Write len bytes of data to tdir/name; the full path goes to path. */
static void
put_n(const char *name, const char *data, size_t len, char *path)
{
    FILE *fp;
    size_t i;

    snprintf(path, PATH_LEN, "%s/%s", tdir, name);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    for (i = 0; i < ncreated; i++) {
        if (strcmp(created[i], path) == 0)
            return;
    }
    assert_true(ncreated < sizeof(created) / sizeof(created[0]));
    created[ncreated] = strdup(path);
    assert_non_null(created[ncreated]);
    ncreated++;
}

static void
put(const char *name, const char *data, char *path)
{
    put_n(name, data, strlen(data), path);
}

static int
setup(void **state)
{
    (void)state;
    return plat_mkdtemp("wsus-test-config-", tdir, sizeof(tdir));
}

/* plat_walk callback: any file counts as a leftover. */
static int
count_file(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    (void)size;
    (void)mtime;
    fprintf(stderr, "left behind: %s\n", path);
    (*(int *)arg)++;
    return 0;
}

/* Each file put() made is removed, then the folder, which must then be
 * empty: the loader leaves nothing behind. */
static int
teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < ncreated; i++) {
        (void)plat_unlink(created[i]);
        free(created[i]);
    }
    ncreated = 0;
    int left = 0;
    if (plat_walk(tdir, count_file, &left) == -1)
        return -1;
    return plat_rmtree(tdir) == 0 && left == 0 ? 0 : -1;
}

static int
is_zero(const struct shim_config *c)
{
    static const struct shim_config zero;

    return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* Print cfg into a malloc'ed string. */
static char *
print_str(const struct shim_config *cfg)
{
    FILE *fp = tmpfile();
    long n;
    char *s;

    assert_non_null(fp);
    config_print(cfg, fp);
    n = ftell(fp);
    assert_true(n > 0);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    rewind(fp);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

static void
test_defaults(void **state)
{
    static const char *const ms[] = {
        "windowsupdate.microsoft.com",  "*.windowsupdate.microsoft.com",
        "*.update.microsoft.com",       "*.windowsupdate.com",
        "download.windowsupdate.com",   "*.download.windowsupdate.com",
        "download.microsoft.com",       "wustat.windows.com",
        "ntservicepack.microsoft.com",  "go.microsoft.com",
        "dl.delivery.mp.microsoft.com",
    };
    struct shim_config c, d;
    char path[PATH_LEN], err[ERR_LEN];
    const char *w[CONFIG_WARN_MAX];

    (void)state;
    put("empty.conf", "", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(c.sc_path, path);

    assert_string_equal(c.sc_listen_addr, "127.0.0.1");
    assert_int_equal(c.sc_listen_port, 8181);
    assert_int_equal(c.sc_allow.cl_n, 2);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "127.0.0.1"), 1);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "127.0.0.2"), 0);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "::1"), 1);
    assert_int_equal(c.sc_max_conns, DEF_MAX_CONNECTIONS);

    assert_int_equal(c.sc_nproxies, 0);
    assert_null(c.sc_proxies);
    assert_int_equal(c.sc_up_minor, 0);
    assert_null(c.sc_up_user);
    assert_null(c.sc_up_password);
    assert_null(c.sc_up_password_file);
    assert_int_equal(c.sc_no_proxy_hosts.pl_n, 0);
    assert_int_equal(c.sc_no_proxy_nets.cl_n, 0);
    assert_int_equal(c.sc_pass_client_auth, 0);
    assert_int_equal(c.sc_hold_down_ms, DEF_HOLD_DOWN_MS);

    assert_int_equal(c.sc_allow_hosts.pl_n, sizeof(ms) / sizeof(ms[0]));
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
        assert_string_equal(c.sc_allow_hosts.pl_v[i], ms[i]);
    assert_int_equal(c.sc_nconnect_ports, 1);
    assert_int_equal(c.sc_connect_ports[0], 443);

    assert_int_equal(c.sc_max_header_bytes, DEF_MAX_HEADER_BYTES);
    assert_int_equal(c.sc_max_headers, DEF_MAX_HEADERS);
    assert_int_equal(c.sc_max_uri, DEF_MAX_URI);
    assert_int_equal(c.sc_max_body, DEF_MAX_BODY);
    assert_int_equal(c.sc_body_memory, DEF_BODY_MEMORY);
    assert_int_equal(c.sc_header_timeout_ms, DEF_HEADER_TIMEOUT_MS);
    assert_int_equal(c.sc_idle_timeout_ms, DEF_IDLE_TIMEOUT_MS);
    assert_int_equal(c.sc_connect_timeout_ms, DEF_CONNECT_TIMEOUT_MS);
    assert_int_equal(c.sc_first_byte_ms, DEF_FIRST_BYTE_MS);
    assert_int_equal(c.sc_body_timeout_ms, DEF_BODY_TIMEOUT_MS);
    assert_int_equal(c.sc_drain_timeout_ms, DEF_DRAIN_TIMEOUT_MS);

    assert_null(c.sc_log_file);
    assert_int_equal(c.sc_log_level, LOG_LVL_INFO);
    assert_string_equal(c.sc_access_log, "-");
    assert_true(c.sc_log_rotate_size == 0);
    assert_int_equal(c.sc_log_rotate_keep, 5);

    assert_int_equal(c.sc_range_mode, RANGE_MODE_CACHE);
    assert_true(c.sc_slice_max_discard == 64ull << 20);
    /* /var/cache/wsus-shim; %ProgramData%\wsus-shim\cache on Windows. */
    assert_string_equal(c.sc_cache_dir, plat_default_cache_dir());
    assert_true(c.sc_cache_max == 20ull << 30);
    assert_int_equal(c.sc_verify_sha1, 1);
    assert_int_equal(c.sc_status_enabled, 1);

    assert_int_equal(config_warnings(&c, w, CONFIG_WARN_MAX), 0);

    /* config_defaults() is the same config, only without a path. */
    assert_int_equal(config_defaults(&d), 0);
    assert_null(d.sc_path);
    char *a = print_str(&c), *b = print_str(&d);
    assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
    free(a);
    free(b);
    config_free(&d);
    config_free(&c);
    assert_true(is_zero(&c));

    /* Comments, blank lines, a BOM, CRLF and an empty section change
     * nothing. */
    put("comments.conf",
        "\xEF\xBB\xBF; comment\r\n# another\r\n\r\n[listen]\r\n"
        "   ; indented comment\r\n[cache]\r\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.sc_listen_port, 8181);
    config_free(&c);
}

static void
test_every_key(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], pw[PATH_LEN], want[PATH_LEN], err[ERR_LEN];

    (void)state;
    put("pw", "s3cret\r\n", pw);
    put("every.conf",
        "; every key, none at its default\n"
        "[listen]\n"
        "address = ::1\n"
        "port = 3128 ; inline comment\n"
        "allow = 10.0.0.0/8, 2001:db8::/32,\n"
        "    192.168.1.7\n"
        "max_connections = 50\n"
        "\n"
        "[upstream]\n"
        "proxy = proxy1.example:8080, [2001:db8::5]:3128, 10.0.0.1:80\n"
        "http_version = 1.1\n"
        "user = alice\n"
        "password_file = pw\n"
        "no_proxy = *.corp.example, 10.0.0.0/8, intranet, ::1\n"
        "pass_client_auth = no\n"
        "hold_down = 45s\n"
        "auth = ntlm\n"
        "keytab = krb/client.keytab\n"
        "principal = svc-wsus@CORP.EXAMPLE\n"
        "spn = HTTP@proxy.corp.example\n"
        "idle_timeout = 10s\n"
        "max_idle = 4\n"
        "\n"
        "[policy]\n"
        "allow_hosts = *.example.com,\n"
        "\tDownload.Example.ORG.\n"
        "connect_ports = 443, 8443\n"
        "\n"
        "[Limits]\n"
        "max_header_bytes = 16K\n"
        "max_headers = 50\n"
        "Max_URI = 4096\n"
        "max_body = 1G\n"
        "body_memory = 1M\n"
        "header_timeout = 10s\n"
        "idle_timeout = 2m\n"
        "connect_timeout = 5000ms\n"
        "first_byte_timeout = 90\n"
        "body_timeout = 1h\n"
        "drain_timeout = 0\n"
        "\n"
        "[log]\n"
        "level = debug\n"
        "file = logs/shim.log\n"
        "access_log = /var/log/wsus-shim/access.log\n"
        "rotate_size = 64M\n"
        "rotate_keep = 9\n"
        "\n"
        "[range]\n"
        "mode = slice\n"
        "slice_max_discard = 128M\n"
        "\n"
        "[cache]\n"
        "dir = cache\n"
        "max_size = 100G\n"
        "verify_sha1 = off\n"
        "\n"
        "[status]\n"
        "enabled = no\n",
        path);
    if (config_load(path, &c, err, sizeof(err)) == -1)
        fail_msg("%s", err);

    assert_string_equal(c.sc_listen_addr, "::1");
    assert_int_equal(c.sc_listen_port, 3128);
    assert_int_equal(c.sc_allow.cl_n, 3);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "10.9.9.9"), 1);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "2001:db8::77"), 1);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "192.168.1.7"), 1);
    assert_int_equal(cidr_list_match_str(&c.sc_allow, "127.0.0.1"), 0);
    assert_int_equal(c.sc_max_conns, 50);

    assert_int_equal(c.sc_nproxies, 3);
    assert_string_equal(c.sc_proxies[0].ua_host, "proxy1.example");
    assert_int_equal(c.sc_proxies[0].ua_port, 8080);
    assert_string_equal(c.sc_proxies[1].ua_host, "2001:db8::5");
    assert_int_equal(c.sc_proxies[1].ua_port, 3128);
    assert_string_equal(c.sc_proxies[2].ua_host, "10.0.0.1");
    assert_int_equal(c.sc_proxies[2].ua_port, 80);
    assert_int_equal(c.sc_up_minor, 1);
    assert_string_equal(c.sc_up_user, "alice");
    assert_string_equal(c.sc_up_password, "s3cret");
    assert_string_equal(c.sc_up_password_file, pw);
    assert_int_equal(c.sc_no_proxy_hosts.pl_n, 2);
    assert_string_equal(c.sc_no_proxy_hosts.pl_v[0], "*.corp.example");
    assert_string_equal(c.sc_no_proxy_hosts.pl_v[1], "intranet");
    assert_int_equal(c.sc_no_proxy_nets.cl_n, 2);
    assert_int_equal(cidr_list_match_str(&c.sc_no_proxy_nets, "10.1.1.1"), 1);
    assert_int_equal(cidr_list_match_str(&c.sc_no_proxy_nets, "::1"), 1);
    assert_int_equal(c.sc_pass_client_auth, 0);
    assert_int_equal(c.sc_hold_down_ms, 45000);
    assert_int_equal(c.sc_up_auth, AUTH_WANT_NTLM);
    assert_non_null(strstr(c.sc_up_keytab, "/krb/client.keytab"));
    assert_string_equal(c.sc_up_principal, "svc-wsus@CORP.EXAMPLE");
    assert_string_equal(c.sc_up_spn, "HTTP@proxy.corp.example");
    assert_int_equal(c.sc_up_idle_ms, 10000);
    assert_int_equal(c.sc_up_max_idle, 4);
    assert_null(c.sc_up_password_hash);

    assert_int_equal(c.sc_allow_hosts.pl_n, 2);
    assert_string_equal(c.sc_allow_hosts.pl_v[0], "*.example.com");
    assert_string_equal(c.sc_allow_hosts.pl_v[1], "download.example.org");
    assert_int_equal(c.sc_nconnect_ports, 2);
    assert_int_equal(c.sc_connect_ports[0], 443);
    assert_int_equal(c.sc_connect_ports[1], 8443);

    assert_int_equal(c.sc_max_header_bytes, 16384);
    assert_int_equal(c.sc_max_headers, 50);
    assert_int_equal(c.sc_max_uri, 4096);
    assert_true(c.sc_max_body == 1ull << 30);
    assert_true(c.sc_body_memory == 1ull << 20);
    assert_int_equal(c.sc_header_timeout_ms, 10000);
    assert_int_equal(c.sc_idle_timeout_ms, 120000);
    assert_int_equal(c.sc_connect_timeout_ms, 5000);
    assert_int_equal(c.sc_first_byte_ms, 90000);
    assert_int_equal(c.sc_body_timeout_ms, 3600000);
    assert_int_equal(c.sc_drain_timeout_ms, 0);

    assert_int_equal(c.sc_log_level, LOG_LVL_DEBUG);
    snprintf(want, sizeof(want), "%s/logs/shim.log", tdir);
    assert_string_equal(c.sc_log_file, want);
    assert_string_equal(c.sc_access_log, "/var/log/wsus-shim/access.log");
    assert_true(c.sc_log_rotate_size == 64ull << 20);
    assert_int_equal(c.sc_log_rotate_keep, 9);

    assert_int_equal(c.sc_range_mode, RANGE_MODE_SLICE);
    assert_true(c.sc_slice_max_discard == 128ull << 20);
    snprintf(want, sizeof(want), "%s/cache", tdir);
    assert_string_equal(c.sc_cache_dir, want);
    assert_true(c.sc_cache_max == 100ull << 30);
    assert_int_equal(c.sc_verify_sha1, 0);
    assert_int_equal(c.sc_status_enabled, 0);
    config_free(&c);
}

/* Special values of the string keys, and the remaining enum values. */
static void
test_special_values(void **state)
{
    static const struct {
        const char *conf;
        const char *log_file, *access_log; /* "" = NULL */
        enum range_mode mode;
        int level;
    } v[] = {
        {"[log]\nfile = stderr\naccess_log = off\n", "", "", RANGE_MODE_CACHE,
         LOG_LVL_INFO},
        {"[log]\nfile =\naccess_log =\n", "", "", RANGE_MODE_CACHE,
         LOG_LVL_INFO},
        {"[log]\nfile = syslog\naccess_log = stdout\nlevel = error\n"
         "[range]\nmode = pass\n",
         "syslog", "-", RANGE_MODE_PASS, LOG_LVL_ERR},
        {"[log]\nfile = /abs/x.log\naccess_log = -\nlevel = warn\n"
         "[range]\nmode = cache\n",
         "/abs/x.log", "-", RANGE_MODE_CACHE, LOG_LVL_WARN},
        {"[log]\nlevel = warning\n[range]\nmode = SLICE\n", "", "-",
         RANGE_MODE_SLICE, LOG_LVL_WARN},
    };
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        put("special.conf", v[i].conf, path);
        if (config_load(path, &c, err, sizeof(err)) == -1)
            fail_msg("vector %zu: %s", i, err);
        if (*v[i].log_file == '\0')
            assert_null(c.sc_log_file);
        else
            assert_string_equal(c.sc_log_file, v[i].log_file);
        if (*v[i].access_log == '\0')
            assert_null(c.sc_access_log);
        else
            assert_string_equal(c.sc_access_log, v[i].access_log);
        assert_int_equal(c.sc_range_mode, v[i].mode);
        assert_int_equal(c.sc_log_level, v[i].level);
        config_free(&c);
    }

    /* Empty list values: direct mode, no CONNECT ports, no no_proxy. */
    put("special.conf",
        "[upstream]\nproxy =\nno_proxy =\n[policy]\nconnect_ports =\n"
        "[listen]\nallow = ::/0\nport = 0\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.sc_nproxies, 0);
    assert_int_equal(c.sc_nconnect_ports, 0);
    assert_int_equal(c.sc_listen_port, 0);
    config_free(&c);

    /* One comma may end a line; pass_client_auth without a user. */
    put("special.conf",
        "[policy]\nconnect_ports = 443,\n[upstream]\npass_client_auth = yes\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.sc_nconnect_ports, 1);
    assert_int_equal(c.sc_pass_client_auth, 1);
    config_free(&c);
}

struct err_vec {
    const char *conf;
    const char *msg; /* what follows the file name */
};

static void
test_errors(void **state)
{
    static const struct err_vec v[] = {
        /* numbers */
        {"[listen]\nport = 99999\n",
         ":2: port: '99999' is not a number from 0 to 65535"},
        {"[listen]\nport = -1\n",
         ":2: port: '-1' is not a number from 0 to 65535"},
        {"[listen]\nport = 80x\n",
         ":2: port: '80x' is not a number from 0 to 65535"},
        {"[listen]\nport =\n", ":2: port: '' is not a number from 0 to 65535"},
        {"[listen]\nport = 18446744073709551617\n",
         ":2: port: '18446744073709551617' is not a number from 0 to 65535"},
        {"[listen]\nmax_connections = 0\n",
         ":2: max_connections: '0' is not a number from 1 to 1000000"},
        /* sizes and durations */
        {"[limits]\nmax_body = 1.5G\n",
         ":2: max_body: '1.5G' is not a size from 0 to 1T (bytes, or with a "
         "K, M, G or T suffix)"},
        {"[limits]\nmax_header_bytes = 512\n",
         ":2: max_header_bytes: '512' is not a size from 1K to 1M (bytes, or "
         "with a K, M, G or T suffix)"},
        {"[limits]\nmax_uri = 4G\n",
         ":2: max_uri: '4G' is not a size from 256 to 1M (bytes, or with a "
         "K, M, G or T suffix)"},
        {"[log]\nfile = x.log\nrotate_size = 1K\n",
         ":3: rotate_size: at least 16K, or 0 for never"},
        {"[log]\nrotate_keep = 0\n",
         ":2: rotate_keep: '0' is not a number from 1 to 99"},
        {"[limits]\nidle_timeout = 5x\n",
         ":2: idle_timeout: '5x' is not a duration from 100ms to 24h (like "
         "250ms, 30s, 5m, 1h)"},
        {"[limits]\nheader_timeout = 50ms\n",
         ":2: header_timeout: '50ms' is not a duration from 100ms to 24h "
         "(like 250ms, 30s, 5m, 1h)"},
        {"[upstream]\nhold_down = 2h\n",
         ":2: hold_down: '2h' is not a duration from 0s to 1h (like 250ms, "
         "30s, 5m, 1h)"},
        /* booleans and enums */
        {"[cache]\nverify_sha1 = maybe\n",
         ":2: verify_sha1: 'maybe' is not yes or no"},
        {"[status]\n\nenabled = sometimes\n",
         ":3: enabled: 'sometimes' is not yes or no"},
        {"[status]\nport = 9\n", ":2: unknown key 'port' in [status]"},
        {"[range]\nmode = fast\n",
         ":2: mode: 'fast' is not one of cache, slice, pass"},
        {"[upstream]\nhttp_version = 2\n",
         ":2: http_version: '2' is not 1.0 or 1.1"},
        {"[upstream]\nhttp_version = 1.10\n",
         ":2: http_version: '1.10' is not 1.0 or 1.1"},
        {"[log]\nlevel = loud\n",
         ":2: level: 'loud' is not one of error, warn, info, debug"},
        /* lists */
        {"[listen]\nallow = 10.0.0.1/8\n",
         ":2: allow: '10.0.0.1/8' is not an address or CIDR (like "
         "10.0.0.0/8; host bits must be zero)"},
        {"[listen]\nallow = 10.0.0.0/8,,::1\n",
         ":2: allow: empty item in the list (check the commas)"},
        {"[listen]\nallow = ,10.0.0.0/8\n",
         ":2: allow: empty item in the list (check the commas)"},
        {"[policy]\nconnect_ports = ,\n",
         ":2: connect_ports: empty item in the list (check the commas)"},
        {"[policy]\nconnect_ports = 443,,\n",
         ":2: connect_ports: empty item in the list (check the commas)"},
        {"[policy]\nconnect_ports = 443, 0\n",
         ":2: connect_ports: '0' is not a port from 1 to 65535"},
        {"[policy]\nconnect_ports = 443 8443\n",
         ":2: connect_ports: '443 8443' is not a port from 1 to 65535"},
        {"[policy]\nallow_hosts = a*b.com\n",
         ":2: allow_hosts: 'a*b.com' is not a host name or pattern (like "
         "download.example.com, *.example.com or *)"},
        {"[policy]\nallow_hosts = a.com,\n  evil*.com\n",
         ":3: allow_hosts: 'evil*.com' is not a host name or pattern (like "
         "download.example.com, *.example.com or *)"},
        {"[upstream]\nno_proxy = 10.0.0.1/8\n",
         ":2: no_proxy: '10.0.0.1/8' is neither a CIDR nor a host name or "
         "pattern"},
        {"[upstream]\nproxy = proxy.example\n",
         ":2: proxy: 'proxy.example' is not host:port (like "
         "proxy.example:8080 or [2001:db8::1]:3128)"},
        {"[upstream]\nproxy = p.example:0\n",
         ":2: proxy: 'p.example:0' is not host:port (like "
         "proxy.example:8080 or [2001:db8::1]:3128)"},
        {"[upstream]\nproxy = p.example:\n",
         ":2: proxy: 'p.example:' is not host:port (like "
         "proxy.example:8080 or [2001:db8::1]:3128)"},
        {"[upstream]\nproxy = ::1:8080\n",
         ":2: proxy: '::1:8080' is not host:port (like proxy.example:8080 "
         "or [2001:db8::1]:3128)"},
        {"[upstream]\nproxy = [::1]\n",
         ":2: proxy: '[::1]' is not host:port (like proxy.example:8080 or "
         "[2001:db8::1]:3128)"},
        {"[upstream]\nproxy = [proxy.example]:80\n",
         ":2: proxy: '[proxy.example]:80' is not host:port (like "
         "proxy.example:8080 or [2001:db8::1]:3128)"},
        {"[upstream]\nproxy = http://p.example:80\n",
         ":2: proxy: 'http://p.example:80' is not host:port (like "
         "proxy.example:8080 or [2001:db8::1]:3128)"},
        /* structure */
        {"[listen]\nfoo = 1\n", ":2: unknown key 'foo' in [listen]"},
        {"[listen]\nmax_body = 1\n", ":2: unknown key 'max_body' in [listen]"},
        {"[bogus]\nx = 1\n", ":1: unknown section [bogus]"},
        {"[listen]\nport = 1\n[bogus]\n", ":3: unknown section [bogus]"},
        {"  [bogus]\n", ":1: unknown section [bogus]"},
        {"port = 1\n", ":1: key 'port' is outside any [section]"},
        {"[listen]\nport = 1\n\n; c\nport = 2\n",
         ":5: duplicate key 'port' in [listen] (first set on line 2)"},
        {"[listen]\nport = 1\n[cache]\ndir = /x\n[listen]\nport = 2\n",
         ":6: duplicate key 'port' in [listen] (first set on line 2)"},
        {"[listen]\nport = 1\nPORT = 2\n",
         ":3: duplicate key 'port' in [listen] (first set on line 2)"},
        {"[listen]\nallow = ::1\nallow = 127.0.0.1\n",
         ":3: duplicate key 'allow' in [listen] (first set on line 2)"},
        {"[listen]\nport = 1\n  2\n",
         ":3: port: only lists may continue on an indented line (is this "
         "line indented by mistake?)"},
        {"[listen]\nport 8181\n", ":2: expected 'key = value' or '[section]'"},
        {"[listen\nport = 1\n", ":1: expected 'key = value' or '[section]'"},
        {"[listen]\nbad line\nfoo = 1\n",
         ":2: expected 'key = value' or '[section]'"},
        /* whole-config rules */
        {"[listen]\naddress = localhost\n",
         ":2: address: 'localhost' is not an IP address (like 127.0.0.1 or "
         "::1)"},
        {"[listen]\naddress = 127.0.0.1:8181\n",
         ":2: address: '127.0.0.1:8181' is not an IP address (like "
         "127.0.0.1 or ::1)"},
        {"[listen]\naddress =\n",
         ":2: address: '' is not an IP address (like 127.0.0.1 or ::1)"},
        {"[listen]\nallow =\n",
         ":2: allow: the list is empty, so no client could connect"},
        {"[policy]\nallow_hosts =\n",
         ":2: allow_hosts: the list is empty, so every request would be "
         "refused"},
        {"[upstream]\nproxy = p.example:8080\nuser = u\n",
         ":3: user: set without password, password_file or password_hash"},
        {"[upstream]\nuser = a:b\npassword = x\n",
         ":2: user: must not contain ':' (Basic authentication)"},
        {"[upstream]\nuser = u\npassword = x\npass_client_auth = yes\n",
         ":4: pass_client_auth: cannot forward the client's "
         "Proxy-Authorization when user is set"},
        {"[upstream]\nuser = u\npassword = p\npassword_file = pw\n",
         ":4: password_file: password is already set on line 3; use only "
         "one of them"},
        {"[upstream]\nuser = u\npassword = p\n"
         "password_hash = 8846f7eaee8fb117ad06bdd830b7586c\n",
         ":4: password_hash: password is already set on line 3; use only "
         "one of them"},
        {"[upstream]\nuser = u\npassword_hash = 8846f7eaee8fb117ad06bdd8\n",
         ":3: password_hash: not an NT hash (32 hex digits, as wsus-shim "
         "hash-password prints it)"},
        {"[upstream]\npassword_hash = 8846f7eaee8fb117ad06bdd830b7586c\n",
         ":2: password: set without user"},
        {"[upstream]\nauth = kerberos\n",
         ":2: auth: 'kerberos' is not one of auto, none, basic, ntlm, "
         "negotiate"},
        {"[upstream]\nauth = basic\nuser = u\n"
         "password_hash = 8846f7eaee8fb117ad06bdd830b7586c\n",
         ":2: auth: basic sends the password itself: set password or "
         "password_file, not password_hash"},
        {"[upstream]\nkeytab = /k.keytab\n",
         ":2: keytab: keytab and principal go together"},
        {"[upstream]\nmax_idle = 1001\n",
         ":2: max_idle: '1001' is not a number from 0 to 1000"},
        {"[limits]\nmax_body = 1M\nbody_memory = 2M\n",
         ":3: body_memory: must not exceed max_body"},
        {"[limits]\nmax_body = 1K\n",
         ":2: body_memory: must not exceed max_body"},
        {"[cache]\nmax_size = 0\n",
         ":2: max_size: range mode 'cache' needs a cache larger than 0"},
        {"[cache]\ndir =\n", ":2: dir: must not be empty"},
    };
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN], want[ERR_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        put("err.conf", v[i].conf, path);
        memset(&c, 0x5a, sizeof(c));
        if (config_load(path, &c, err, sizeof(err)) != -1)
            fail_msg("vector %zu loaded: %s", i, v[i].conf);
        snprintf(want, sizeof(want), "%s%s", path, v[i].msg);
        if (strcmp(err, want) != 0)
            fail_msg("vector %zu:\n got: %s\nwant: %s", i, err, want);
        assert_true(is_zero(&c));
    }
}

/* auth = ntlm without a user: the service's own logon on Windows, an
 * error elsewhere. */
static void
test_ntlm_without_user(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN], want[ERR_LEN];
    int loaded;

    (void)state;
    put("ntlm.conf", "[upstream]\nauth = ntlm\n", path);
    loaded = config_load(path, &c, err, sizeof(err)) == 0;
    assert_int_equal(loaded, WSUS_EXPECT_NTLM_LOGON);
    if (loaded) {
        assert_int_equal(c.sc_up_auth, AUTH_WANT_NTLM);
        assert_null(c.sc_up_user);
        config_free(&c);
        return;
    }
    snprintf(want, sizeof(want),
             "%s:2: auth: ntlm needs user and a password or password_hash "
             "(only on Windows is no user the service's own logon)",
             path);
    assert_string_equal(err, want);
}

/* Errors that need the file system or exact bytes. */
static void
test_errors_files(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN], want[ERR_LEN + PATH_LEN];
    char line[300];
    int n;

    (void)state;
    /* A missing file. */
    snprintf(path, sizeof(path), "%s/missing.conf", tdir);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
             path);
    assert_string_equal(err, want);
    assert_true(is_zero(&c));

    /* A folder instead of a file. */
    assert_int_equal(config_load(tdir, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: is a folder, not a file", tdir);
    assert_string_equal(err, want);

    /* A NUL byte (not in "nul.conf": NUL is a device on Windows). */
    put_n("nulbyte.conf", "[listen]\nport = 1\0\n", 19, path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: NUL byte in the line", path);
    assert_string_equal(err, want);

    /* 197 characters is the longest line; inih would split a longer one
     * into two lines. */
    n = snprintf(line, sizeof(line),
                 "[policy]\nallow_hosts = %.60s.%.60s.%.59s",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    assert_int_equal(n - 9, 14 + 181);
    strcat(line, "dd\n"); /* the second line is now 197 characters */
    put("long.conf", line, path);
    if (config_load(path, &c, err, sizeof(err)) == -1)
        fail_msg("%s", err);
    config_free(&c);
    strcpy(line + strlen(line) - 1, "d\n"); /* 198 */
    put("long.conf", line, path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:2: line is longer than 197 characters (a list may continue "
             "on indented lines)",
             path);
    assert_string_equal(err, want);
    assert_true(is_zero(&c));

    /* A small error buffer is truncated, never overrun. */
    put("small.conf", "[listen]\nport = 99999\n", path);
    assert_int_equal(config_load(path, &c, err, 8), -1);
    assert_int_equal(strlen(err), 7);
}

static void
test_secrets(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], pw[PATH_LEN], err[ERR_LEN], want[ERR_LEN + PATH_LEN];
    char *out;

    (void)state;
    /* An inline password: shown as "(set)", never as itself. */
    put("secret.conf",
        "[upstream]\nproxy = p.example:8080\nuser = bob\n"
        "password = hunter2-Secret\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_string_equal(c.sc_up_password, "hunter2-Secret");
    assert_null(c.sc_up_password_file);
    out = print_str(&c);
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "\npassword = (set)\n"));
    assert_non_null(strstr(out, "\nuser = bob\n"));
    free(out);
    config_free(&c);

    /* An NT hash is a secret too: "(set)", never the hex, and a bad one
     * is refused without echoing it. */
    put("secret.conf",
        "[upstream]\nproxy = p.example:8080\nuser = CORP\\bob\n"
        "password_hash = 8846f7eaee8fb117ad06bdd830b7586c\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    out = print_str(&c);
    assert_null(strstr(out, "8846f7ea"));
    assert_non_null(strstr(out, "\npassword_hash = (set)\n"));
    free(out);
    config_free(&c);
    put("secret.conf", "[upstream]\nuser = bob\npassword_hash = 8846f7eaZZ\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_null(strstr(err, "8846f7ea"));

    /* password_file, relative to the conf folder: the path is shown. */
    put("pw", "hunter2-Secret\n", pw);
    put("secret.conf",
        "[upstream]\nproxy = p.example:8080\nuser = bob\n"
        "password_file = pw\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_string_equal(c.sc_up_password, "hunter2-Secret");
    assert_string_equal(c.sc_up_password_file, pw);
    out = print_str(&c);
    assert_null(strstr(out, "hunter2"));
    snprintf(want, sizeof(want), "\npassword_file = %s\n", pw);
    assert_non_null(strstr(out, want));
    free(out);
    config_free(&c);

    /* Errors never echo the password. */
    put("secret.conf", "[upstream]\npassword = hunter2-Secret\n", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: password: set without user", path);
    assert_string_equal(err, want);
    put("secret.conf",
        "[upstream]\nuser = u\npassword = hunter2-Secret\n  more\n", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, ":4: password: only lists may continue"));

    /* password_file first, then password. */
    put("secret.conf",
        "[upstream]\nuser = u\npassword_file = pw\npassword = x\n", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:4: password: password_file is already set on line 3; use "
             "only one of them",
             path);
    assert_string_equal(err, want);
    assert_true(is_zero(&c));

    /* An empty password key is the same as none. */
    put("secret.conf", "[upstream]\nuser = u\npassword =\npassword_file = pw\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_string_equal(c.sc_up_password, "hunter2-Secret");
    config_free(&c);

    /* Unreadable, empty and multi-line password files. */
    put("secret.conf", "[upstream]\nuser = u\npassword_file = nope\n", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:3: password_file: cannot read '%s/nope': No such file or "
             "directory",
             path, tdir);
    assert_string_equal(err, want);

    put("pw-empty", "\n", pw);
    put("secret.conf", "[upstream]\nuser = u\npassword_file = pw-empty\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3: password_file: '%s' is empty", path,
             pw);
    assert_string_equal(err, want);

    put("pw-two", "hunter2\nsecond\n", pw);
    put("secret.conf", "[upstream]\nuser = u\npassword_file = pw-two\n", path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:3: password_file: '%s' must hold the password on one line",
             path, pw);
    assert_string_equal(err, want);
    assert_null(strstr(err, "hunter2"));
}

/* A conf path without a folder: relative paths stay relative to the
 * current folder, which is the conf file's folder. */
static void
test_relative_conf_path(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN], cwd[PATH_LEN];

    (void)state;
    put("pw", "pass\n", path);
    put("rel.conf",
        "[upstream]\nuser = u\npassword_file = pw\n[cache]\ndir = c\n", path);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tdir), 0);
    int rc = config_load("rel.conf", &c, err, sizeof(err));
    assert_int_equal(chdir(cwd), 0);
    if (rc == -1)
        fail_msg("%s", err);
    assert_string_equal(c.sc_up_password_file, "pw");
    assert_string_equal(c.sc_up_password, "pass");
    assert_string_equal(c.sc_cache_dir, "c");
    config_free(&c);
}

static void
test_warnings(void **state)
{
    struct shim_config c;
    char path[PATH_LEN], err[ERR_LEN];
    const char *w[CONFIG_WARN_MAX];
    char *out;

    (void)state;
    put("warn.conf",
        "[listen]\naddress = 0.0.0.0\nallow = 0.0.0.0/0\n"
        "[policy]\nallow_hosts = *\n"
        "[upstream]\nuser = u\npassword = p\n",
        path);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(config_warnings(&c, w, CONFIG_WARN_MAX), 4);
    assert_non_null(strstr(w[0], "not a loopback address"));
    assert_non_null(strstr(w[1], "every client address"));
    assert_non_null(strstr(w[2], "open proxy"));
    assert_non_null(strstr(w[3], "never used"));
    assert_int_equal(config_warnings(&c, w, 1), 4); /* count beyond max */
    out = print_str(&c);
    assert_non_null(strstr(out, "; warning: policy.allow_hosts contains '*'"));
    free(out);
    config_free(&c);

    /* Loopback in any spelling: no warning. */
    static const char *const lo[] = {"127.0.0.1", "127.1.2.3", "::1",
                                     "::ffff:127.0.0.1"};
    char conf[128];
    for (size_t i = 0; i < sizeof(lo) / sizeof(lo[0]); i++) {
        snprintf(conf, sizeof(conf), "[listen]\naddress = %s\n", lo[i]);
        put("warn.conf", conf, path);
        assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
        assert_int_equal(config_warnings(&c, w, CONFIG_WARN_MAX), 0);
        config_free(&c);
    }
}

/* config_print writes conf syntax that loads back to the same config. */
static void
test_print_round_trip(void **state)
{
    struct shim_config c, d;
    char path[PATH_LEN], path2[PATH_LEN], err[ERR_LEN];
    char *a, *b;

    (void)state;
    put("rt.conf",
        "[listen]\naddress = ::1\nport = 3128\nallow = 10.0.0.0/8, ::1\n"
        "[upstream]\nproxy = p1.example:8080, [2001:db8::5]:3128\n"
        "http_version = 1.1\nno_proxy = *.corp.example, 10.0.0.0/8\n"
        "hold_down = 1500ms\n"
        "[policy]\nconnect_ports = 443, 8443\n"
        "[limits]\nmax_body = 1000\nbody_memory = 1000\n"
        "[log]\nlevel = debug\nfile = syslog\naccess_log = off\n"
        "[range]\nmode = pass\n"
        "[cache]\ndir = /srv/cache\nmax_size = 3T\nverify_sha1 = no\n"
        "[status]\nenabled = no\n",
        path);
    if (config_load(path, &c, err, sizeof(err)) == -1)
        fail_msg("%s", err);
    a = print_str(&c);
    put("rt2.conf", a, path2);
    if (config_load(path2, &d, err, sizeof(err)) == -1)
        fail_msg("%s\n%s", err, a);
    b = print_str(&d);
    /* Equal except the first line, which names the file. */
    assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
    assert_non_null(
        strstr(a, "\nproxy = p1.example:8080,\n    [2001:db8::5]:3128\n"));
    assert_non_null(strstr(a, "\nhold_down = 1500ms\n"));
    assert_non_null(strstr(a, "\nmax_size = 3T\n"));
    assert_non_null(strstr(a, "\nmax_body = 1000\n"));
    assert_non_null(strstr(a, "\n[status]\nenabled = no\n"));
    free(a);
    free(b);
    config_free(&c);
    config_free(&d);

    /* The defaults round-trip too (allow_hosts spans lines). */
    assert_int_equal(config_defaults(&c), 0);
    a = print_str(&c);
    put("rt2.conf", a, path2);
    if (config_load(path2, &d, err, sizeof(err)) == -1)
        fail_msg("%s\n%s", err, a);
    b = print_str(&d);
    assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
    assert_non_null(strstr(a, "; upstream: direct"));
    free(a);
    free(b);
    config_free(&c);
    config_free(&d);
}

/* Every line of s is at most max characters. */
static int
lines_fit(const char *s, size_t max)
{
    while (*s != '\0') {
        const char *e = strchr(s, '\n');
        size_t n = e != NULL ? (size_t)(e - s) : strlen(s);

        if (n > max) {
            fprintf(stderr, "line of %zu: %.60s...\n", n, s);
            return 0;
        }
        s += n + (e != NULL);
    }
    return 1;
}

/* The printout of a conf loaded through a relative path (its folder
 * relative to the current one) loads back from the same folder to the
 * same config: relative file, access_log and cache dir print as written,
 * and long lists continue on indented lines, none past the reader's 197
 * characters. */
static void
test_print_round_trip_relative(void **state)
{
    struct shim_config c, d;
    char path[PATH_LEN], cwd[PATH_LEN], err[ERR_LEN], rel[PATH_LEN];
    char rel2[PATH_LEN], want[PATH_LEN], conf[8192];
    const char *base = strrchr(tdir, '/'), *bs = strrchr(tdir, '\\');
    size_t n;
    char *a, *b;
    int rc;

    (void)state;
    if (bs != NULL && (base == NULL || bs > base))
        base = bs; /* Windows: the folder is "C:\\...\\Temp\\x" */
    assert_non_null(base);
    n = (size_t)snprintf(conf, sizeof(conf), "[upstream]\nno_proxy = ");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(conf + n, sizeof(conf) - n,
                              "%shost-%02d.a-rather-long-domain.example",
                              i == 0 ? "" : ",\n    ", i);
    snprintf(conf + n, sizeof(conf) - n,
             ", 10.0.0.0/8\n[log]\nfile = shim.log\n"
             "access_log = logs/access.log\n[cache]\ndir = c\n");
    put("rtrel.conf", conf, path);
    snprintf(rel, sizeof(rel), "%s/rtrel.conf", base + 1);
    snprintf(rel2, sizeof(rel2), "%s/rtrel2.conf", base + 1);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_true((size_t)(base - tdir) < sizeof(want));
    memcpy(want, tdir, (size_t)(base - tdir));
    want[base - tdir] = '\0';
    assert_int_equal(chdir(base == tdir ? "/" : want), 0);
    rc = config_load(rel, &c, err, sizeof(err));
    if (rc == -1) {
        assert_int_equal(chdir(cwd), 0);
        fail_msg("%s", err);
    }
    snprintf(want, sizeof(want), "%s/shim.log", base + 1);
    assert_string_equal(c.sc_log_file, want);
    a = print_str(&c);
    put("rtrel2.conf", a, path);
    rc = config_load(rel2, &d, err, sizeof(err));
    assert_int_equal(chdir(cwd), 0);
    if (rc == -1)
        fail_msg("%s\n%s", err, a);
    b = print_str(&d);
    assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
    assert_string_equal(c.sc_log_file, d.sc_log_file);
    assert_string_equal(c.sc_access_log, d.sc_access_log);
    assert_string_equal(c.sc_cache_dir, d.sc_cache_dir);
    assert_non_null(strstr(a, "\nfile = shim.log\n"));
    assert_non_null(strstr(a, "\naccess_log = logs/access.log\n"));
    assert_non_null(strstr(a, "\ndir = c\n"));
    assert_true(lines_fit(a, 197));
    free(a);
    free(b);
    config_free(&c);
    config_free(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_errors_files),
        cmocka_unit_test(test_ntlm_without_user),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_relative_conf_path),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_print_round_trip_relative),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
