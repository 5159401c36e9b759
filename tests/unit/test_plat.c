/*
 * test_plat.c - the platform layer (proxy/plat.h) behaves the same on
 * POSIX and on Windows (run under Wine). Each test names the behaviour the
 * rest of the shim relies on; several are regression tests for Windows
 * differences found by the Wine tests:
 *
 * - sockets work without any start-up call (Winsock was never started);
 * - a cache file that a client still reads, or that an evbuffer file
 *   segment maps, can be unlinked and replaced by rename, and the reader
 *   keeps its bytes (Windows refused both while the file was open);
 * - 64-bit offsets and lengths, temporary folders made and removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/util.h>

#include "plat.h"

#define GiB (1024ull * 1024 * 1024)

static char tdir[1024];

static int
setup(void **state)
{
    (void)state;
    return plat_mkdtemp("test_plat.", tdir, sizeof(tdir));
}

static int
teardown(void **state)
{
    (void)state;
    return plat_rmtree(tdir);
}

static void
path_in(const char *name, char *buf, size_t len)
{
    assert_true((size_t)snprintf(buf, len, "%s/%s", tdir, name) < len);
}

static void
write_text(const char *path, const char *text)
{
    int fd = plat_open_create(path);

    assert_true(fd != -1);
    assert_int_equal(plat_pwrite_all(fd, text, strlen(text), 0), 0);
    assert_int_equal(plat_close(fd), 0);
}

/* The first n bytes of fd equal text, and fd has no more. */
static void
assert_fd_text(int fd, const char *text)
{
    char buf[64];
    size_t n = strlen(text);
    uint64_t size = 0;

    assert_true(n < sizeof(buf));
    assert_int_equal(plat_fsize(fd, &size), 0);
    assert_int_equal(size, n);
    assert_int_equal(plat_pread(fd, buf, sizeof(buf), 0), (int64_t)n);
    assert_memory_equal(buf, text, n);
}

static void
assert_file_text(const char *path, const char *text)
{
    int fd = plat_open_read(path);

    assert_true(fd != -1);
    assert_fd_text(fd, text);
    plat_close(fd);
}

struct names {
    int nm_n;
    char nm_first[1024];
};

static int
names_fn(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    struct names *nm = arg;

    (void)size;
    (void)mtime;
    if (nm->nm_n++ == 0)
        snprintf(nm->nm_first, sizeof(nm->nm_first), "%s", path);
    return 0;
}

/* The number of regular files in tdir and its subfolders. */
static int
files_in(const char *dir, char *first, size_t len)
{
    struct names nm;

    memset(&nm, 0, sizeof(nm));
    assert_int_equal(plat_walk(dir, names_fn, &nm), 0);
    if (first != NULL)
        snprintf(first, len, "%s", nm.nm_first);
    return nm.nm_n;
}

struct find {
    const char *fd_path;
    int fd_found;
};

static int
find_fn(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    struct find *f = arg;

    (void)size;
    (void)mtime;
    if (strcmp(path, f->fd_path) == 0)
        f->fd_found = 1;
    return 0;
}

/* Whether the walk of tdir lists path. */
static int
listed(const char *path)
{
    struct find f = {path, 0};

    assert_int_equal(plat_walk(tdir, find_fn, &f), 0);
    return f.fd_found;
}

/* Sockets work from the start of main(): no platform start-up call is
 * needed (on Windows, Winsock was not started and every socket call
 * failed with WSANOTINITIALISED). */
/* A connected loopback TCP pair: sv[0] the client, sv[1] the server. */
static void
tcp_pair(evutil_socket_t sv[2])
{
    struct sockaddr_storage ss;
    ev_socklen_t al = sizeof(ss);
    evutil_socket_t l;
    char name[64];
    int sl = 0;

    l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l != (evutil_socket_t)EVUTIL_INVALID_SOCKET);
    assert_int_equal(
        plat_sockaddr_make("127.0.0.1", 0, (struct sockaddr *)&ss, &sl), 0);
    assert_int_equal(bind(l, (struct sockaddr *)&ss, (ev_socklen_t)sl), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &al), 0);
    assert_int_equal(plat_sock_local_str(l, name, sizeof(name)), 0);
    assert_true(strncmp(name, "127.0.0.1:", 10) == 0);
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv[0] != (evutil_socket_t)EVUTIL_INVALID_SOCKET);
    assert_int_equal(connect(sv[0], (struct sockaddr *)&ss, al), 0);
    sv[1] = accept(l, NULL, NULL);
    assert_true(sv[1] != (evutil_socket_t)EVUTIL_INVALID_SOCKET);
    evutil_closesocket(l);
}

/* Read exactly n bytes from a blocking socket. */
static void
recv_all(evutil_socket_t fd, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        int64_t r = plat_recv(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void
test_sockets_work_without_setup(void **state)
{
    evutil_socket_t sv[2];
    char buf[8];

    (void)state;
    tcp_pair(sv);
    assert_int_equal(send(sv[0], "ping", 4, 0), 4);
    recv_all(sv[1], buf, 4);
    assert_memory_equal(buf, "ping", 4);
    plat_shutdown_write(sv[0]);
    assert_int_equal(plat_recv(sv[1], buf, sizeof(buf)), 0);
    assert_int_equal(evutil_make_socket_nonblocking(sv[0]), 0);
    assert_int_equal(plat_recv(sv[0], buf, sizeof(buf)), -2);
    evutil_closesocket(sv[0]);
    evutil_closesocket(sv[1]);
}

/* TCP_NODELAY is accepted on a connected TCP socket, on both ends (a
 * wrong level or option fails with an error), and refused on a socket
 * that is closed. */
static void
test_sock_nodelay(void **state)
{
    evutil_socket_t sv[2];
    char buf[4];

    (void)state;
    tcp_pair(sv);
    assert_int_equal(plat_sock_nodelay(sv[0]), 0);
    assert_int_equal(plat_sock_nodelay(sv[1]), 0);
    assert_int_equal(send(sv[0], "ok", 2, 0), 2);
    recv_all(sv[1], buf, 2);
    assert_memory_equal(buf, "ok", 2);
    evutil_closesocket(sv[0]);
    evutil_closesocket(sv[1]);
    assert_int_equal(plat_sock_nodelay(sv[0]), -1);
}

/* Temporary folders: unique, usable, and removed with what they hold,
 * subfolders included; removing a missing path is fine. */
static void
test_mkdtemp_and_rmtree(void **state)
{
    char a[1024], b[1024], p[1100];

    (void)state;
    assert_int_equal(plat_mkdtemp("test_plat.sub.", a, sizeof(a)), 0);
    assert_int_equal(plat_mkdtemp("test_plat.sub.", b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    snprintf(p, sizeof(p), "%s/x/y", a);
    assert_int_equal(plat_mkdirs(p), 0);
    snprintf(p, sizeof(p), "%s/x/y/f", a);
    write_text(p, "deep");
    snprintf(p, sizeof(p), "%s/x/g", a);
    write_text(p, "g");
    snprintf(p, sizeof(p), "%s/top", a);
    write_text(p, "top");
    assert_int_equal(files_in(a, NULL, 0), 2); /* plat_walk: one level */
    assert_int_equal(plat_rmtree(a), 0);
    assert_int_equal(plat_walk(a, names_fn, &(struct names){0, ""}), -1);
    assert_int_equal(plat_rmtree(a), 0); /* gone already */
    assert_int_equal(plat_rmtree(b), 0);
    assert_int_equal(plat_mkdtemp("", a, 8), -1); /* no room */
}

/* Unlinking a file that is still open frees its name at once: a new file
 * can take the name while the reader keeps reading the old bytes, and
 * nothing is left once the reader closes. */
static void
test_unlink_open_file(void **state)
{
    char path[1100], first[1100];
    int rd;

    (void)state;
    path_in("open.data", path, sizeof(path));
    write_text(path, "old bytes");
    rd = plat_open_read(path);
    assert_true(rd != -1);
    assert_int_equal(plat_unlink(path), 0);
    /* Windows lists a deleted file until its last handle closes: under
     * another name, so the name itself is free. */
    assert_false(listed(path));
    write_text(path, "new");
    assert_fd_text(rd, "old bytes");
    assert_file_text(path, "new");
    assert_int_equal(plat_close(rd), 0);
    assert_int_equal(files_in(tdir, first, sizeof(first)), 1);
    assert_string_equal(first, path);
    assert_int_equal(plat_unlink(path), 0);
    assert_int_equal(files_in(tdir, NULL, 0), 0);
    assert_int_equal(plat_unlink(path), -1); /* missing */
    assert_int_equal(plat_errno(), 2 /* ENOENT */);
}

/* Renaming over a file that is still open replaces it: new opens see the
 * new bytes, the reader keeps the old ones, one file is left. */
static void
test_rename_over_open_file(void **state)
{
    char path[1100], tmp[1100], first[1100];
    int rd, rd2;

    (void)state;
    path_in("entry.data", path, sizeof(path));
    path_in("entry.data.tmp.1", tmp, sizeof(tmp));
    write_text(path, "first copy");
    rd = plat_open_read(path);
    assert_true(rd != -1);
    write_text(tmp, "second copy");
    /* The source may be open too (the cache closes it, others may not). */
    rd2 = plat_open_read(tmp);
    assert_true(rd2 != -1);
    assert_int_equal(plat_rename(tmp, path), 0);
    assert_file_text(path, "second copy");
    assert_fd_text(rd, "first copy");
    assert_fd_text(rd2, "second copy");
    plat_close(rd);
    plat_close(rd2);
    assert_int_equal(files_in(tdir, first, sizeof(first)), 1);
    assert_string_equal(first, path);
    /* A failed rename touches neither side. */
    assert_int_equal(plat_rename(tmp, path), -1);
    assert_file_text(path, "second copy");
    path_in("sub", tmp, sizeof(tmp));
    assert_int_equal(plat_mkdirs(tmp), 0);
    assert_int_equal(plat_rename(path, tmp), -1);
    assert_file_text(path, "second copy");
    assert_int_equal(plat_unlink(tmp), -1); /* a folder is not unlinked */
    assert_int_equal(plat_unlink(path), 0);
}

/* What the shim does with a cache hit: an evbuffer file segment of the
 * file (mapped on Windows) sits in an output buffer while the entry is
 * replaced and then removed; the buffer still holds the old bytes, and
 * nothing is left once the buffer is freed. The buffer drains to a
 * socket, as a bufferevent's output does: libevent 2.1 on Windows maps
 * the file a second time for any other buffer and leaks the first
 * mapping (the shim adds segments only to socket outputs). */
static void
test_replace_and_unlink_mapped_file(void **state)
{
    char path[1100], tmp[1100], buf[32];
    struct evbuffer *out = evbuffer_new();
    struct evbuffer_file_segment *seg;
    evutil_socket_t sv[2];
    int fd;

    (void)state;
    assert_non_null(out);
    assert_int_equal(evbuffer_set_flags(out, EVBUFFER_FLAG_DRAINS_TO_FD), 0);
    path_in("mapped.data", path, sizeof(path));
    path_in("mapped.data.tmp.2", tmp, sizeof(tmp));
    write_text(path, "0123456789abcdef");
    fd = plat_open_read(path);
    assert_true(fd != -1);
    seg = evbuffer_file_segment_new(fd, 0, 16, EVBUF_FS_CLOSE_ON_FREE);
    assert_non_null(seg);
    assert_int_equal(evbuffer_add_file_segment(out, seg, 4, 8), 0);
    evbuffer_file_segment_free(seg);
    write_text(tmp, "replacement");
    assert_int_equal(plat_rename(tmp, path), 0);
    assert_file_text(path, "replacement");
    assert_int_equal(plat_unlink(path), 0);
    assert_false(listed(path));
    assert_int_equal(evbuffer_get_length(out), 8);
    tcp_pair(sv);
    assert_int_equal(evbuffer_write(out, sv[0]), 8);
    recv_all(sv[1], buf, 8);
    assert_memory_equal(buf, "456789ab", 8);
    evutil_closesocket(sv[0]);
    evutil_closesocket(sv[1]);
    assert_int_equal(evbuffer_get_length(out), 0);
    evbuffer_free(out);
    assert_int_equal(files_in(tdir, NULL, 0), 0);
}

/* Offsets and lengths above 4 GiB: a sparse 5 GiB file (grown by path
 * while a descriptor is open, as plat_truncate does it), written and read
 * across the 4 GiB boundary and at its end; its size from the descriptor
 * and from the walk. */
struct sizes {
    uint64_t sz_size;
};

static int
size_fn(void *arg, const char *path, uint64_t size, int64_t mtime)
{
    (void)path;
    (void)mtime;
    ((struct sizes *)arg)->sz_size = size;
    return 0;
}

static void
test_offsets_above_4gib(void **state)
{
    const uint64_t big = 5 * GiB + 3, at = 4 * GiB - 4;
    char path[1100], buf[16];
    struct sizes sz = {0};
    uint64_t size = 0;
    int fd;

    (void)state;
    path_in("sparse.data", path, sizeof(path));
    fd = plat_open_create(path);
    assert_true(fd != -1);
    assert_int_equal(plat_open_create(path), -1); /* exclusive */
    assert_int_equal(plat_truncate(path, big), 0);
    assert_int_equal(plat_fsize(fd, &size), 0);
    assert_int_equal(size, big);
    assert_int_equal(plat_pwrite_all(fd, "<4G|>4G!", 8, at), 0);
    assert_int_equal(plat_pwrite_all(fd, "END", 3, big - 3), 0);
    assert_int_equal(plat_fsync(fd), 0);
    assert_int_equal(plat_pread(fd, buf, 8, at), 8);
    assert_memory_equal(buf, "<4G|>4G!", 8);
    assert_int_equal(plat_pread(fd, buf, sizeof(buf), big - 3), 3);
    assert_memory_equal(buf, "END", 3);
    assert_int_equal(plat_pread(fd, buf, sizeof(buf), big), 0);
    assert_int_equal(plat_pread(fd, buf, 4, 4 * GiB + 4), 4);
    assert_memory_equal(buf, "\0\0\0\0", 4);
    assert_int_equal(plat_close(fd), 0);
    assert_int_equal(plat_walk(tdir, size_fn, &sz), 0);
    assert_int_equal(sz.sz_size, big);
    fd = plat_open_read(path);
    assert_true(fd != -1);
    assert_int_equal(plat_pread(fd, buf, 8, at), 8);
    assert_memory_equal(buf, "<4G|>4G!", 8);
    plat_close(fd);
    assert_int_equal(plat_truncate(path, 4 * GiB + 1), 0);
    fd = plat_open_read(path);
    assert_int_equal(plat_fsize(fd, &size), 0);
    assert_int_equal(size, 4 * GiB + 1);
    plat_close(fd);
    assert_int_equal(plat_unlink(path), 0);
}

/* plat_writeback is a hint: it succeeds on a file being written and
 * changes no byte, whole or in part, before or after the end. */
static void
test_writeback_keeps_bytes(void **state)
{
    const size_t n = (3u << 20) + 11;
    unsigned char *buf = malloc(n), *back = malloc(n);
    char path[1100];
    int fd;

    (void)state;
    assert_non_null(buf);
    assert_non_null(back);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 7 + (i >> 12));
    path_in("wb.bin", path, sizeof(path));
    fd = plat_open_create(path);
    assert_true(fd != -1);
    assert_int_equal(plat_pwrite_all(fd, buf, n / 2, 0), 0);
    assert_int_equal(plat_writeback(fd, 0, n / 2), 0);
    assert_int_equal(plat_pwrite_all(fd, buf + n / 2, n - n / 2, n / 2), 0);
    assert_int_equal(plat_writeback(fd, n / 2, n - n / 2), 0);
    assert_int_equal(plat_writeback(fd, 0, 2 * (uint64_t)n), 0);
    assert_int_equal(plat_fsync(fd), 0);
    for (size_t got = 0; got < n;) {
        int64_t r = plat_pread(fd, back + got, n - got, got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(back, buf, n);
    assert_int_equal(plat_close(fd), 0);
    free(buf);
    free(back);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sockets_work_without_setup),
        cmocka_unit_test(test_sock_nodelay),
        cmocka_unit_test_setup_teardown(test_mkdtemp_and_rmtree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unlink_open_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_over_open_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_unlink_mapped_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_writeback_keeps_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_offsets_above_4gib, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
