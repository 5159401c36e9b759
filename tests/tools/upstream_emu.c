/*
 * upstream_emu.c - the test suite's own upstream peer for wsus-shim.
 *
 * By default it is a correct HTTP/1.1 origin serving the files under --root:
 * keep-alive, pipelining answered in order, Content-Length, constant
 * Last-Modified and ETag, single byte ranges (206/416), HEAD. Files are sent
 * with sendfile (evbuffer file segments) and every length and offset is
 * 64-bit, so sparse files above 4 GiB work. Flags turn it into the legacy
 * HTTP/1.0 proxies of DESIGN.md section 2, one misbehaviour each, so that a
 * test names exactly the fault it exercises. Run with --help for the list.
 *
 * The request target may be origin-form or absolute-form; the host of an
 * absolute-form target is ignored, so tests can use the real Windows Update
 * host names while everything stays on loopback.
 *
 * Two paths are special and are not touched by the content flags:
 *   /__stats  JSON counters (not counted, not logged, never needs auth);
 *   /echo...  JSON description of the request exactly as received.
 *
 * Every connection is one struct conn with an explicit state. Requests are
 * handled one at a time; the next pipelined request is parsed only when the
 * previous response has been queued. Body bytes are queued at most
 * EMU_OUT_HIGH ahead of the socket (the pump runs from the write callback),
 * input is bounded by a read high watermark, so memory per connection is
 * bounded whatever the file size.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/evp.h>

#include "emu_util.h"

#define EMU_MAX_HEAD (64 * 1024)   /* request head, bytes */
#define EMU_MAX_HDRS 128           /* request header fields */
#define EMU_MAX_LINE 4096          /* chunk-size and trailer lines */
#define EMU_OUT_HIGH (1024 * 1024) /* queue body while output < this */
#define EMU_OUT_LOW (512 * 1024)   /* write callback when below this */
#define EMU_IN_HIGH (1024 * 1024)  /* stop reading input above this */
#define EMU_CHUNK (1024 * 1024)    /* one body piece */
#define EMU_RST_WAIT_MS 2000       /* bound on waiting for the send queue */
#define EMU_LINGER_MS 2000         /* bound on the lingering close */

struct emu_opts {
    const char *o_root;
    const char *o_listen;
    const char *o_port_file;
    const char *o_log;
    uint64_t o_port;
    uint64_t o_lifetime;
    int o_http10;
    int o_no_range;
    int o_close_delimit;
    int o_head_no_length;
    uint64_t o_head_short; /* HEAD Content-Length this much too small */
    int o_no_validators;
    int o_unstable_validators;
    int o_no_content_range;
    int o_chunked;
    int o_please_wait;
    int o_head_please_wait;
    int o_corrupt;
    int o_refuse_chunked;
    int o_require_absolute;
    int o_connect;
    int o_nodelay;         /* TCP_NODELAY on accepted sockets */
    char *o_auth_b64;      /* expected Basic credentials, owned */
    int64_t o_reset_after; /* -1: off */
    uint64_t o_slow_ms;
    uint64_t o_rate; /* bytes per second, 0: unlimited */
    uint64_t o_drop;
    uint64_t o_per_conn; /* answer this many requests a connection, 0: all */
};

struct path_stat {
    struct path_stat *ps_next;
    char *ps_path; /* owned */
    uint64_t ps_get, ps_head, ps_other, ps_bytes;
};

struct conn;

struct emu {
    struct emu_opts e_o;
    struct event_base *e_base;
    struct evconnlistener *e_lis;
    struct event *e_sigterm, *e_sigint, *e_life;
    FILE *e_log;
    struct conn *e_conns;
    struct path_stat *e_paths;
    uint64_t e_next_id, e_requests, e_connections, e_dropped;
    uint64_t e_unanswered; /* --requests-per-conn closes */
};

enum conn_state {
    CONN_READ_HEAD = 0,
    CONN_READ_BODY,
    CONN_WAIT,       /* --slow-ms before the response head */
    CONN_SEND,       /* pumping a file body */
    CONN_RESETTING,  /* --reset-after reached: drain, then RST */
    CONN_CLOSING,    /* drain the output, then linger */
    CONN_LINGER,     /* write side shut, discarding input */
    CONN_CONNECTING, /* CONNECT: dialing the target */
    CONN_TUNNEL,
    CONN_TUNNEL_DRAIN /* one side ended: flush the other, then free */
};

enum body_mode { BODY_NONE = 0, BODY_LENGTH, BODY_CHUNKED };
enum chunk_state { CH_SIZE = 0, CH_DATA, CH_DATA_END, CH_TRAILER };
enum step_rc { STEP_MORE = 0, STEP_DONE = 1, STEP_BAD = -1, STEP_FREED = -2 };

struct hdr {
    const char *h_name; /* both point into c_reqbuf */
    const char *h_value;
};

struct conn {
    struct emu *c_emu;
    struct conn *c_next, *c_prev;
    uint64_t c_id;
    enum conn_state c_state;
    struct bufferevent *c_bev; /* client side, owned */
    struct bufferevent *c_up;  /* CONNECT target, owned */
    struct event *c_timer;     /* meaning depends on c_state */
    int c_eof;                 /* client finished sending */
    uint64_t c_answered;       /* requests answered on this connection */

    /* The request being handled; names and values point into c_reqbuf. */
    char *c_reqbuf;
    const char *c_method, *c_target, *c_version;
    int c_minor;
    struct hdr c_h[EMU_MAX_HDRS];
    int c_nh;
    const char *c_range;
    int c_keepalive;
    enum body_mode c_bmode;
    enum chunk_state c_chs;
    uint64_t c_bleft, c_blen;
    EVP_MD_CTX *c_sha;

    /* The response. */
    struct evbuffer *c_head;             /* status line and fields */
    struct evbuffer *c_mem;              /* small in-memory body */
    struct evbuffer_file_segment *c_seg; /* whole file, we hold a ref */
    int c_fd;                            /* owned by c_seg */
    int64_t c_pos;                       /* next file offset to queue */
    int64_t c_left;                      /* file bytes still to queue */
    int64_t c_mid; /* --corrupt: file offset to flip, -1 */
    int c_reset;   /* RST once c_left reaches 0 */
    int c_close_after;
    int c_chunked;
    int c_status;
    int c_active;      /* a response not yet logged */
    uint64_t c_sent;   /* body bytes queued */
    uint64_t c_tokens; /* --rate budget */
    struct timeval c_tick;
    struct timeval c_since; /* start of RESETTING or LINGER */
    struct path_stat *c_ps;
    char c_path[4096]; /* decoded path, for stats and files */
};

static int conn_process(struct conn *);
static int conn_pump(struct conn *);
static void conn_free(struct conn *, const char *);
static int conn_finish(struct conn *);

/* ---- small helpers ---------------------------------------------------- */

/* JSON string; bytes >= 0x80 become \u00XX (read them back as latin-1). */
static void
json_str(struct evbuffer *b, const char *s)
{
    const unsigned char *p;

    if (s == NULL) {
        evbuffer_add(b, "null", 4);
        return;
    }
    evbuffer_add(b, "\"", 1);
    for (p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            evbuffer_add_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            evbuffer_add_printf(b, "\\u%04x", *p);
        else
            evbuffer_add(b, p, 1);
    }
    evbuffer_add(b, "\"", 1);
}

static const char *
conn_header(const struct conn *c, const char *name)
{
    int i;

    for (i = 0; i < c->c_nh; i++)
        if (strcasecmp(c->c_h[i].h_name, name) == 0)
            return c->c_h[i].h_value;
    return NULL;
}

/* Does a comma-separated header list (any instance of name) hold token? */
static int
conn_has_token(const struct conn *c, const char *name, const char *token)
{
    size_t tl = strlen(token);
    int i;

    for (i = 0; i < c->c_nh; i++) {
        const char *p = c->c_h[i].h_value;

        if (strcasecmp(c->c_h[i].h_name, name) != 0)
            continue;
        while (*p) {
            size_t n;

            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            n = strcspn(p, ", \t");
            if (n == tl && strncasecmp(p, token, tl) == 0)
                return 1;
            p += n;
            while (*p && *p != ',')
                p++;
        }
    }
    return 0;
}

static struct path_stat *
emu_path_stat(struct emu *e, const char *path)
{
    struct path_stat *ps, **tail = &e->e_paths;

    for (ps = e->e_paths; ps; ps = ps->ps_next) {
        if (strcmp(ps->ps_path, path) == 0)
            return ps;
        tail = &ps->ps_next;
    }
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL || (ps->ps_path = strdup(path)) == NULL) {
        free(ps);
        return NULL;
    }
    *tail = ps;
    return ps;
}

/* ---- teardown ----------------------------------------------------------- */

/* One log line and the byte counter for the response in progress. */
static void
conn_log(struct conn *c)
{
    struct emu *e = c->c_emu;
    struct evbuffer *b;

    if (!c->c_active)
        return;
    c->c_active = 0;
    if (c->c_ps)
        c->c_ps->ps_bytes += c->c_sent;
    if (e->e_log == NULL)
        return;
    if ((b = evbuffer_new()) == NULL)
        return;
    evbuffer_add_printf(b, "{\"method\":");
    json_str(b, c->c_method);
    evbuffer_add_printf(b, ",\"target\":");
    json_str(b, c->c_target);
    evbuffer_add_printf(b, ",\"version\":");
    json_str(b, c->c_version);
    evbuffer_add_printf(b, ",\"path\":");
    json_str(b, c->c_path);
    evbuffer_add_printf(b, ",\"range\":");
    json_str(b, c->c_range);
    evbuffer_add_printf(b,
                        ",\"status\":%d,\"body_bytes_sent\":%" PRIu64
                        ",\"conn_id\":%" PRIu64 "}\n",
                        c->c_status, c->c_sent, c->c_id);
    evbuffer_write(b, fileno(e->e_log));
    evbuffer_free(b);
}

/* Drop the response state (file reference, buffers) but not the request. */
static void
conn_resp_reset(struct conn *c)
{
    if (c->c_seg) {
        evbuffer_file_segment_free(c->c_seg); /* closes c_fd at last ref */
        c->c_seg = NULL;
    } else if (c->c_fd != -1) {
        close(c->c_fd);
    }
    c->c_fd = -1;
    evbuffer_drain(c->c_head, evbuffer_get_length(c->c_head));
    evbuffer_drain(c->c_mem, evbuffer_get_length(c->c_mem));
    c->c_left = 0;
    c->c_mid = -1;
    c->c_reset = c->c_chunked = c->c_close_after = 0;
    c->c_sent = 0;
    c->c_status = 0;
    c->c_ps = NULL;
}

/* The one teardown. With abort set the socket is reset (SO_LINGER 0). */
static void
conn_teardown(struct conn *c, const char *reason, int abort_rst)
{
    struct emu *e = c->c_emu;

    (void)reason;
    if (c->c_active) {
        size_t unsent = evbuffer_get_length(bufferevent_get_output(c->c_bev));

        c->c_sent = c->c_sent > unsent ? c->c_sent - unsent : 0;
        conn_log(c);
    }
    if (abort_rst) {
        struct linger lg = {1, 0};
        evutil_socket_t fd = bufferevent_getfd(c->c_bev);

        if (fd != -1)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, (void *)&lg, sizeof(lg));
    }
    conn_resp_reset(c);
    if (c->c_timer)
        event_free(c->c_timer);
    if (c->c_up)
        bufferevent_free(c->c_up);
    bufferevent_free(c->c_bev);
    evbuffer_free(c->c_head);
    evbuffer_free(c->c_mem);
    if (c->c_sha)
        EVP_MD_CTX_free(c->c_sha);
    free(c->c_reqbuf);
    if (c->c_prev)
        c->c_prev->c_next = c->c_next;
    else
        e->e_conns = c->c_next;
    if (c->c_next)
        c->c_next->c_prev = c->c_prev;
    free(c);
}

static void
conn_free(struct conn *c, const char *reason)
{
    conn_teardown(c, reason, 0);
}

static void
conn_arm(struct conn *c, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->c_timer, &tv);
}

static long
ms_since(const struct conn *c)
{
    struct timeval now;

    evutil_gettimeofday(&now, NULL);
    return (now.tv_sec - c->c_since.tv_sec) * 1000 +
           (now.tv_usec - c->c_since.tv_usec) / 1000;
}

/* Output drained: shut our side and discard input until EOF, then free.
 * A plain close with unread input would send an RST that can destroy the
 * tail of the response at the client. Returns STEP_FREED or STEP_MORE. */
static int
conn_linger(struct conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->c_bev);

    if (c->c_eof || fd == -1 || shutdown(fd, SHUT_WR) == -1) {
        conn_free(c, "closed");
        return STEP_FREED;
    }
    c->c_state = CONN_LINGER;
    evutil_gettimeofday(&c->c_since, NULL);
    evbuffer_drain(bufferevent_get_input(c->c_bev),
                   evbuffer_get_length(bufferevent_get_input(c->c_bev)));
    bufferevent_enable(c->c_bev, EV_READ);
    conn_arm(c, EMU_LINGER_MS);
    return STEP_MORE;
}

/* Close after what is queued has been sent. */
static int
conn_finish(struct conn *c)
{
    c->c_state = CONN_CLOSING;
    bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
    bufferevent_disable(c->c_bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0)
        return conn_linger(c);
    return STEP_MORE;
}

/* RST once the kernel has sent what we queued, so the client sees exactly
 * the promised bytes first (bounded wait). */
static int
conn_reset_poll(struct conn *c)
{
#ifdef SIOCOUTQ
    int queued = 0;
    evutil_socket_t fd = bufferevent_getfd(c->c_bev);

    if (fd != -1 && ioctl(fd, SIOCOUTQ, &queued) != -1 && queued > 0 &&
        ms_since(c) < EMU_RST_WAIT_MS) {
        conn_arm(c, 5);
        return STEP_MORE;
    }
#endif
    conn_teardown(c, "reset-after", 1);
    return STEP_FREED;
}

/* ---- responses ---------------------------------------------------------- */

/* Status line and the fields every response has. */
static void
resp_begin(struct conn *c, int status, const char *reason)
{
    char date[64];

    c->c_status = status;
    emu_http_date(time(NULL), date, sizeof(date));
    evbuffer_add_printf(c->c_head,
                        "HTTP/1.%d %d %s\r\nServer: upstream-emu\r\n"
                        "Date: %s\r\n",
                        c->c_emu->e_o.o_http10 ? 0 : 1, status, reason, date);
}

static int
is_get(const struct conn *c)
{
    return strcmp(c->c_method, "GET") == 0;
}

static int
is_head(const struct conn *c)
{
    return strcmp(c->c_method, "HEAD") == 0;
}

/* Framing fields and the blank line. len is the body length a GET would
 * get; for HEAD no body follows. file says the body comes from c_seg. */
static void
resp_end(struct conn *c, uint64_t len, int file)
{
    const struct emu_opts *o = &c->c_emu->e_o;

    if (is_head(c)) {
        if (!o->o_head_no_length)
            evbuffer_add_printf(c->c_head, "Content-Length: %" PRIu64 "\r\n",
                                len > o->o_head_short ? len - o->o_head_short
                                                      : 0);
    } else if (is_get(c) && o->o_close_delimit) {
        c->c_close_after = 1;
    } else if (file && is_get(c) && o->o_chunked && !o->o_http10 &&
               c->c_minor == 1) {
        c->c_chunked = 1;
        evbuffer_add_printf(c->c_head, "Transfer-Encoding: chunked\r\n");
    } else {
        evbuffer_add_printf(c->c_head, "Content-Length: %" PRIu64 "\r\n", len);
    }
    if (o->o_http10 || !c->c_keepalive)
        c->c_close_after = 1;
    if (c->c_close_after)
        evbuffer_add_printf(c->c_head, "Connection: close\r\n");
    else if (c->c_minor == 0)
        evbuffer_add_printf(c->c_head, "Connection: keep-alive\r\n");
    evbuffer_add(c->c_head, "\r\n", 2);
}

/* A response whose body is in c_mem (dropped for HEAD). */
static void
resp_simple(struct conn *c, int status, const char *reason, const char *ctype,
            const char *extra)
{
    resp_begin(c, status, reason);
    evbuffer_add_printf(c->c_head, "Content-Type: %s\r\n", ctype);
    if (extra)
        evbuffer_add_printf(c->c_head, "%s", extra);
    resp_end(c, evbuffer_get_length(c->c_mem), 0);
    if (is_head(c))
        evbuffer_drain(c->c_mem, evbuffer_get_length(c->c_mem));
}

static void
resp_error(struct conn *c, int status, const char *reason, const char *extra)
{
    evbuffer_add_printf(
        c->c_mem,
        "<html><head><title>%d %s</title></head>"
        "<body><h1>%d %s</h1><p>upstream-emu</p></body></html>\n",
        status, reason, status, reason);
    resp_simple(c, status, reason, "text/html", extra);
}

static void
resp_echo(struct conn *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    int h;

    EVP_DigestFinal_ex(c->c_sha, md, &mdlen);
    evbuffer_add_printf(c->c_mem, "{\"method\":");
    json_str(c->c_mem, c->c_method);
    evbuffer_add_printf(c->c_mem, ",\"target\":");
    json_str(c->c_mem, c->c_target);
    evbuffer_add_printf(c->c_mem, ",\"version\":");
    json_str(c->c_mem, c->c_version);
    evbuffer_add_printf(c->c_mem, ",\"headers\":[");
    for (h = 0; h < c->c_nh; h++) {
        evbuffer_add_printf(c->c_mem, "%s[", h ? "," : "");
        json_str(c->c_mem, c->c_h[h].h_name);
        evbuffer_add(c->c_mem, ",", 1);
        json_str(c->c_mem, c->c_h[h].h_value);
        evbuffer_add(c->c_mem, "]", 1);
    }
    evbuffer_add_printf(c->c_mem, "],\"body_len\":%" PRIu64 ",\"body_sha1\":\"",
                        c->c_blen);
    for (i = 0; i < mdlen; i++)
        evbuffer_add_printf(c->c_mem, "%02x", md[i]);
    evbuffer_add_printf(c->c_mem, "\"}\n");
    resp_simple(c, 200, "OK", "application/json", NULL);
}

static void
resp_stats(struct conn *c)
{
    struct emu *e = c->c_emu;
    struct path_stat *ps;

    evbuffer_add_printf(
        c->c_mem,
        "{\"requests\":%" PRIu64 ",\"connections\":%" PRIu64
        ",\"dropped\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"by_path\":{",
        e->e_requests, e->e_connections, e->e_dropped, e->e_unanswered);
    for (ps = e->e_paths; ps; ps = ps->ps_next) {
        json_str(c->c_mem, ps->ps_path);
        evbuffer_add_printf(c->c_mem,
                            ":{\"get\":%" PRIu64 ",\"head\":%" PRIu64
                            ",\"other\":%" PRIu64 ",\"bytes\":%" PRIu64 "}%s",
                            ps->ps_get, ps->ps_head, ps->ps_other, ps->ps_bytes,
                            ps->ps_next ? "," : "");
    }
    evbuffer_add_printf(c->c_mem, "}}\n");
    /* Always a plain length-delimited answer, whatever the flags. */
    c->c_status = 200;
    evbuffer_add_printf(
        c->c_head,
        "HTTP/1.1 200 OK\r\nServer: upstream-emu\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n"
        "Connection: close\r\n\r\n",
        evbuffer_get_length(c->c_mem));
    c->c_close_after = 1;
}

/* A file response: open, validators, range decision. */
static void
resp_file(struct conn *c)
{
    const struct emu_opts *o = &c->c_emu->e_o;
    char full[8192], date[64];
    struct stat st;
    uint64_t size, first = 0, last = 0, len;
    time_t mtime;
    int fd, rr = 0;

    if ((size_t)snprintf(full, sizeof(full), "%s%s", o->o_root, c->c_path) >=
            sizeof(full) ||
        (fd = open(full, O_RDONLY | O_CLOEXEC)) == -1) {
        resp_error(c, 404, "Not Found", NULL);
        return;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        resp_error(c, 404, "Not Found", NULL);
        return;
    }
    size = (uint64_t)st.st_size;
    mtime = st.st_mtime;
    if (o->o_unstable_validators)
        mtime += (time_t)c->c_emu->e_requests;
    if (!o->o_no_range)
        rr = emu_range_parse(c->c_range, size, &first, &last);
    if (rr == -1) {
        close(fd);
        evbuffer_add_printf(c->c_mem, "<html><body>416</body></html>\n");
        resp_begin(c, 416, "Range Not Satisfiable");
        evbuffer_add_printf(c->c_head,
                            "Content-Type: text/html\r\n"
                            "Content-Range: bytes */%" PRIu64 "\r\n",
                            size);
        resp_end(c, evbuffer_get_length(c->c_mem), 0);
        if (is_head(c))
            evbuffer_drain(c->c_mem, evbuffer_get_length(c->c_mem));
        return;
    }
    if (rr == 1) {
        resp_begin(c, 206, "Partial Content");
        if (!o->o_no_content_range)
            evbuffer_add_printf(c->c_head,
                                "Content-Range: bytes %" PRIu64 "-%" PRIu64
                                "/%" PRIu64 "\r\n",
                                first, last, size);
        len = last - first + 1;
    } else {
        resp_begin(c, 200, "OK");
        first = 0;
        len = size;
    }
    evbuffer_add_printf(c->c_head,
                        "Content-Type: application/octet-stream\r\n");
    if (!o->o_no_range)
        evbuffer_add_printf(c->c_head, "Accept-Ranges: bytes\r\n");
    if (!o->o_no_validators) {
        emu_http_date(mtime, date, sizeof(date));
        evbuffer_add_printf(c->c_head,
                            "Last-Modified: %s\r\nETag: \"%" PRIx64 "-%" PRIx64
                            "\"\r\n",
                            date, size, (uint64_t)mtime);
    }
    resp_end(c, len, 1);
    if (is_head(c) || len == 0) {
        close(fd);
        return;
    }
    c->c_seg = evbuffer_file_segment_new(fd, 0, (ev_off_t)size,
                                         EVBUF_FS_CLOSE_ON_FREE);
    if (c->c_seg == NULL) {
        close(fd);
        c->c_close_after = 1; /* head promised a body we cannot send */
        return;
    }
    c->c_fd = fd;
    c->c_pos = (int64_t)first;
    c->c_left = (int64_t)len;
    if (o->o_corrupt)
        c->c_mid = (int64_t)(first + len / 2);
    if (o->o_reset_after >= 0 && (uint64_t)o->o_reset_after < len) {
        c->c_left = o->o_reset_after;
        c->c_reset = 1;
    }
}

static void
resp_please_wait(struct conn *c)
{
    evbuffer_add_printf(
        c->c_mem,
        "<html><head><title>Please wait</title>"
        "<meta http-equiv=\"refresh\" content=\"5\"></head><body>"
        "<h1>Please wait</h1><p>Your download is being scanned for viruses."
        "</p></body></html>\n");
    resp_simple(c, 200, "OK", "text/html", NULL);
}

/* ---- sending ------------------------------------------------------------ */

/* Everything of the response is queued: log it and go on. */
static int
conn_body_done(struct conn *c)
{
    conn_log(c);
    if (c->c_seg) {
        evbuffer_file_segment_free(c->c_seg);
        c->c_seg = NULL;
        c->c_fd = -1;
    }
    if (c->c_reset) {
        c->c_state = CONN_RESETTING;
        bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
        bufferevent_disable(c->c_bev, EV_READ);
        evutil_gettimeofday(&c->c_since, NULL);
        if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0)
            return conn_reset_poll(c);
        return STEP_MORE;
    }
    if (c->c_close_after)
        return conn_finish(c);
    conn_resp_reset(c);
    c->c_state = CONN_READ_HEAD;
    bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
    return STEP_MORE;
}

static void
rate_refill(struct conn *c)
{
    uint64_t rate = c->c_emu->e_o.o_rate, cap = rate / 10 + 1;
    struct timeval now;
    int64_t us;

    evutil_gettimeofday(&now, NULL);
    us = (int64_t)(now.tv_sec - c->c_tick.tv_sec) * 1000000 +
         (now.tv_usec - c->c_tick.tv_usec);
    if (us <= 0)
        return;
    c->c_tokens += rate * (uint64_t)us / 1000000;
    if (c->c_tokens > cap)
        c->c_tokens = cap;
    c->c_tick = now;
}

/* Queue file body pieces while the output is below EMU_OUT_HIGH. */
static int
conn_pump(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->c_bev);
    uint64_t rate = c->c_emu->e_o.o_rate;

    while (c->c_left > 0 && evbuffer_get_length(out) < EMU_OUT_HIGH) {
        int64_t n = c->c_left < EMU_CHUNK ? c->c_left : EMU_CHUNK;
        int flip = 0;

        if (rate) {
            rate_refill(c);
            if (c->c_tokens == 0) {
                conn_arm(c, 10);
                return STEP_MORE;
            }
            if ((uint64_t)n > c->c_tokens)
                n = (int64_t)c->c_tokens;
            c->c_tokens -= (uint64_t)n;
        }
        if (c->c_mid >= c->c_pos && c->c_mid < c->c_pos + n) {
            if (c->c_mid == c->c_pos) {
                n = 1;
                flip = 1;
            } else {
                n = c->c_mid - c->c_pos;
            }
        }
        if (c->c_chunked)
            evbuffer_add_printf(out, "%" PRIx64 "\r\n", (uint64_t)n);
        if (flip) {
            unsigned char byte = 0;

            if (pread(c->c_fd, &byte, 1, (off_t)c->c_pos) != 1)
                byte = 0;
            byte ^= 0x55;
            evbuffer_add(out, &byte, 1);
            c->c_mid = -1;
        } else if (evbuffer_add_file_segment(out, c->c_seg, c->c_pos, n) ==
                   -1) {
            conn_free(c, "cannot queue file");
            return STEP_FREED;
        }
        if (c->c_chunked)
            evbuffer_add(out, "\r\n", 2);
        c->c_pos += n;
        c->c_left -= n;
        c->c_sent += (uint64_t)n;
    }
    if (c->c_left > 0)
        return STEP_MORE;
    if (c->c_chunked && !c->c_reset)
        evbuffer_add(out, "0\r\n\r\n", 5);
    return conn_body_done(c);
}

/* Send the head (and any memory body) and start the file pump. */
static int
conn_send(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->c_bev);

    evbuffer_add_buffer(out, c->c_head);
    c->c_sent += evbuffer_get_length(c->c_mem);
    evbuffer_add_buffer(out, c->c_mem);
    c->c_state = CONN_SEND;
    evutil_gettimeofday(&c->c_tick, NULL);
    c->c_tokens = 0;
    bufferevent_setwatermark(c->c_bev, EV_WRITE, EMU_OUT_LOW, 0);
    return conn_pump(c);
}

/* ---- CONNECT ------------------------------------------------------------ */

static void
tunnel_move(struct conn *c, struct bufferevent *from, struct bufferevent *to)
{
    struct evbuffer *out = bufferevent_get_output(to);

    evbuffer_add_buffer(out, bufferevent_get_input(from));
    if (evbuffer_get_length(out) >= EMU_OUT_HIGH) {
        bufferevent_disable(from, EV_READ);
        bufferevent_setwatermark(to, EV_WRITE, EMU_OUT_HIGH / 2, 0);
    }
    (void)c;
}

static void
tunnel_drain_check(struct conn *c)
{
    if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->c_up)) == 0)
        conn_free(c, "tunnel closed");
}

/* One side ended: flush what the other side still has to send, then free. */
static void
tunnel_end(struct conn *c, struct bufferevent *ended)
{
    struct bufferevent *other = ended == c->c_bev ? c->c_up : c->c_bev;

    evbuffer_add_buffer(bufferevent_get_output(other),
                        bufferevent_get_input(ended));
    c->c_state = CONN_TUNNEL_DRAIN;
    bufferevent_disable(c->c_bev, EV_READ);
    bufferevent_disable(c->c_up, EV_READ);
    evbuffer_drain(bufferevent_get_output(ended),
                   evbuffer_get_length(bufferevent_get_output(ended)));
    bufferevent_setwatermark(other, EV_WRITE, 0, 0);
    tunnel_drain_check(c);
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    if (c->c_state == CONN_TUNNEL)
        tunnel_move(c, bev, c->c_bev);
}

static void
up_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    if (c->c_state == CONN_TUNNEL) {
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(c->c_bev, EV_READ);
    } else if (c->c_state == CONN_TUNNEL_DRAIN) {
        tunnel_drain_check(c);
    }
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    if (c->c_state == CONN_CONNECTING) {
        if (what & BEV_EVENT_CONNECTED) {
            struct evbuffer *out = bufferevent_get_output(c->c_bev);

            c->c_status = 200;
            conn_log(c);
            evbuffer_add_printf(out,
                                "HTTP/1.%d 200 Connection established"
                                "\r\n\r\n",
                                c->c_emu->e_o.o_http10 ? 0 : 1);
            c->c_state = CONN_TUNNEL;
            bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
            bufferevent_enable(bev, EV_READ | EV_WRITE);
            bufferevent_enable(c->c_bev, EV_READ);
            tunnel_move(c, c->c_bev, bev);
            return;
        }
        bufferevent_free(c->c_up);
        c->c_up = NULL;
        c->c_close_after = 1;
        resp_error(c, 502, "Bad Gateway", NULL);
        conn_send(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (c->c_state == CONN_TUNNEL)
            tunnel_end(c, bev);
        else
            conn_free(c, "tunnel target error");
    }
}

/* CONNECT host:port, loopback only: start dialing (CONN_CONNECTING) or
 * prepare an error response (400, 403, 502). */
static void
conn_connect(struct conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char auth[300];
    const char *t = c->c_target;

    if (strncmp(t, "localhost:", 10) == 0) {
        if ((size_t)snprintf(auth, sizeof(auth), "127.0.0.1:%s", t + 10) >=
            sizeof(auth))
            auth[0] = '\0';
    } else if ((size_t)snprintf(auth, sizeof(auth), "%s", t) >= sizeof(auth)) {
        auth[0] = '\0';
    }
    memset(&ss, 0, sizeof(ss));
    if (strchr(auth, ':') == NULL ||
        evutil_parse_sockaddr_port(auth, (struct sockaddr *)&ss, &sl) == -1) {
        resp_error(c, 400, "Bad Request", NULL);
        return;
    }
    if (!((strncmp(auth, "127.0.0.1:", 10) == 0 ||
           strncmp(auth, "[::1]:", 6) == 0))) {
        resp_error(c, 403, "Forbidden", NULL);
        return;
    }
    c->c_up =
        bufferevent_socket_new(c->c_emu->e_base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->c_up == NULL) {
        resp_error(c, 502, "Bad Gateway", NULL);
        return;
    }
    bufferevent_setcb(c->c_up, up_read_cb, up_write_cb, up_event_cb, c);
    bufferevent_setwatermark(c->c_up, EV_READ, 0, EMU_IN_HIGH);
    c->c_state = CONN_CONNECTING;
    if (bufferevent_socket_connect(c->c_up, (struct sockaddr *)&ss, sl) == -1) {
        /* The event callback runs with an error, or we answer now. */
        if (c->c_up != NULL && c->c_state == CONN_CONNECTING) {
            bufferevent_free(c->c_up);
            c->c_up = NULL;
            c->c_state = CONN_READ_BODY;
            resp_error(c, 502, "Bad Gateway", NULL);
        }
    }
}

/* ---- requests ----------------------------------------------------------- */

/* Parse one request head from the input. STEP_MORE, STEP_DONE, STEP_BAD
 * (with c_status set to 400 or 431). */
static int
conn_read_head(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->c_bev);
    size_t len, i, hl = 0, scan;
    unsigned char *p;
    char *line, *next, *sp1, *sp2;

    /* Empty lines before a request line are allowed. */
    while ((len = evbuffer_get_length(in)) > 0) {
        unsigned char ch;

        evbuffer_copyout(in, &ch, 1);
        if (ch != '\r' && ch != '\n')
            break;
        evbuffer_drain(in, 1);
    }
    if (len == 0)
        return STEP_MORE;
    scan = len < EMU_MAX_HEAD ? len : EMU_MAX_HEAD;
    if ((p = evbuffer_pullup(in, (ev_ssize_t)scan)) == NULL)
        return STEP_BAD;
    for (i = 0; i < scan && hl == 0; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < scan && p[i + 1] == '\n')
            hl = i + 2;
        else if (i + 2 < scan && p[i + 1] == '\r' && p[i + 2] == '\n')
            hl = i + 3;
    }
    if (hl == 0) {
        if (len >= EMU_MAX_HEAD) {
            c->c_status = 431;
            return STEP_BAD;
        }
        return STEP_MORE;
    }
    free(c->c_reqbuf);
    if ((c->c_reqbuf = malloc(hl + 1)) == NULL)
        return STEP_BAD;
    evbuffer_remove(in, c->c_reqbuf, hl);
    c->c_reqbuf[hl] = '\0';
    c->c_method = c->c_target = c->c_version = c->c_range = NULL;
    c->c_nh = 0;
    c->c_status = 400;

    line = c->c_reqbuf;
    next = strchr(line, '\n');
    *next++ = '\0';
    if (next - line >= 2 && next[-2] == '\r')
        next[-2] = '\0';
    if ((sp1 = strchr(line, ' ')) == NULL ||
        (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ') != NULL)
        return STEP_BAD;
    *sp1 = *sp2 = '\0';
    c->c_method = line;
    c->c_target = sp1 + 1;
    c->c_version = sp2 + 1;
    if (strcmp(c->c_version, "HTTP/1.1") == 0)
        c->c_minor = 1;
    else if (strcmp(c->c_version, "HTTP/1.0") == 0)
        c->c_minor = 0;
    else
        return STEP_BAD;
    if (*c->c_method == '\0' || *c->c_target == '\0')
        return STEP_BAD;

    for (line = next; *line != '\0'; line = next) {
        char *colon, *v, *e;

        next = strchr(line, '\n');
        *next++ = '\0';
        if (next - line >= 2 && next[-2] == '\r')
            next[-2] = '\0';
        if (*line == '\0')
            break;
        if (*line == ' ' || *line == '\t')
            return STEP_BAD; /* obs-fold */
        if ((colon = strchr(line, ':')) == NULL || colon == line ||
            colon[-1] == ' ' || colon[-1] == '\t')
            return STEP_BAD;
        if (c->c_nh == EMU_MAX_HDRS) {
            c->c_status = 431;
            return STEP_BAD;
        }
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
            ;
        *e = '\0';
        c->c_h[c->c_nh].h_name = line;
        c->c_h[c->c_nh].h_value = v;
        c->c_nh++;
    }
    c->c_status = 0;
    return STEP_DONE;
}

/* Decide the body framing of the request just parsed. STEP_DONE or
 * STEP_BAD with c_status set (400, 411, 417). */
static int
conn_frame(struct conn *c)
{
    const struct emu_opts *o = &c->c_emu->e_o;
    const char *te = NULL, *cl = NULL, *expect;
    uint64_t v;
    int i;

    c->c_bmode = BODY_NONE;
    c->c_bleft = c->c_blen = 0;
    c->c_chs = CH_SIZE;
    for (i = 0; i < c->c_nh; i++) {
        if (strcasecmp(c->c_h[i].h_name, "Transfer-Encoding") == 0)
            te = c->c_h[i].h_value;
        else if (strcasecmp(c->c_h[i].h_name, "Content-Length") == 0) {
            if (emu_parse_dec(c->c_h[i].h_value, &v) == -1 ||
                (cl != NULL && c->c_bleft != v)) {
                c->c_status = 400;
                return STEP_BAD;
            }
            cl = c->c_h[i].h_value;
            c->c_bleft = v;
        }
    }
    expect = conn_header(c, "Expect");
    if (te != NULL && o->o_refuse_chunked) {
        c->c_status = 411;
        return STEP_BAD;
    }
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        o->o_refuse_chunked) {
        c->c_status = 417;
        return STEP_BAD;
    }
    if (te != NULL) {
        size_t n = strlen(te);

        if (cl != NULL || n < 7 || strcasecmp(te + n - 7, "chunked") != 0 ||
            (n > 7 && te[n - 8] != ' ' && te[n - 8] != ',')) {
            c->c_status = 400;
            return STEP_BAD;
        }
        c->c_bmode = BODY_CHUNKED;
    } else if (cl != NULL && c->c_bleft > 0) {
        c->c_bmode = BODY_LENGTH;
    }
    if (c->c_minor == 1)
        c->c_keepalive = !conn_has_token(c, "Connection", "close");
    else
        c->c_keepalive = conn_has_token(c, "Connection", "keep-alive") ||
                         conn_has_token(c, "Proxy-Connection", "keep-alive");
    if (c->c_bmode != BODY_NONE && expect != NULL && c->c_minor == 1 &&
        !o->o_http10 && strcasecmp(expect, "100-continue") == 0)
        evbuffer_add_printf(bufferevent_get_output(c->c_bev),
                            "HTTP/1.1 100 Continue\r\n\r\n");
    EVP_DigestInit_ex(c->c_sha, EVP_sha1(), NULL);
    return STEP_DONE;
}

static void
body_consume(struct conn *c, uint64_t n)
{
    struct evbuffer *in = bufferevent_get_input(c->c_bev);
    struct evbuffer_iovec v[16];
    int k, i;
    uint64_t left = n;

    k = evbuffer_peek(in, (ev_ssize_t)n, NULL, v, 16);
    for (i = 0; i < k && i < 16 && left > 0; i++) {
        size_t m = v[i].iov_len < left ? v[i].iov_len : (size_t)left;

        EVP_DigestUpdate(c->c_sha, v[i].iov_base, m);
        left -= m;
    }
    n -= left; /* more than 16 pieces: the rest on the next round */
    evbuffer_drain(in, n);
    c->c_blen += n;
    c->c_bleft -= n;
}

/* Read (hash and discard) the request body. STEP_MORE, STEP_DONE, STEP_BAD. */
static int
conn_read_body(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->c_bev);
    char *line;
    size_t n;

    for (;;) {
        size_t avail = evbuffer_get_length(in);

        switch (c->c_bmode) {
        case BODY_NONE:
            return STEP_DONE;
        case BODY_LENGTH:
            if (c->c_bleft == 0)
                return STEP_DONE;
            if (avail == 0)
                return STEP_MORE;
            body_consume(c, c->c_bleft < avail ? c->c_bleft : avail);
            continue;
        case BODY_CHUNKED:
            break;
        }
        if (c->c_chs == CH_DATA) {
            if (c->c_bleft == 0) {
                c->c_chs = CH_DATA_END;
                continue;
            }
            if (avail == 0)
                return STEP_MORE;
            body_consume(c, c->c_bleft < avail ? c->c_bleft : avail);
            continue;
        }
        line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
        if (line == NULL) {
            if (avail > EMU_MAX_LINE)
                return STEP_BAD;
            return STEP_MORE;
        }
        if (c->c_chs == CH_SIZE) {
            uint64_t sz;
            size_t hn = strcspn(line, "; \t");

            if (emu_parse_hex(line, hn, &sz) == -1) {
                free(line);
                return STEP_BAD;
            }
            c->c_bleft = sz;
            c->c_chs = sz == 0 ? CH_TRAILER : CH_DATA;
        } else if (c->c_chs == CH_DATA_END) {
            if (n != 0) {
                free(line);
                return STEP_BAD;
            }
            c->c_chs = CH_SIZE;
        } else if (n == 0) { /* CH_TRAILER: blank line ends */
            free(line);
            c->c_bmode = BODY_NONE;
            return STEP_DONE;
        }
        free(line);
    }
}

static int
conn_authorized(const struct conn *c)
{
    const char *a = c->c_emu->e_o.o_auth_b64, *h;

    if (a == NULL)
        return 1;
    h = conn_header(c, "Proxy-Authorization");
    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
        return 0;
    for (h += 6; *h == ' '; h++)
        ;
    return strcmp(h, a) == 0;
}

/* The request has been read whole: plan the response and start it. */
static int
conn_respond(struct conn *c)
{
    struct emu *e = c->c_emu;
    const struct emu_opts *o = &e->e_o;
    int absolute = 0, bad;

    c->c_range = conn_header(c, "Range");
    c->c_active = 1;
    c->c_sent = 0;
    if (strcmp(c->c_method, "CONNECT") == 0) {
        snprintf(c->c_path, sizeof(c->c_path), "%s", c->c_target);
        bad = 0;
    } else {
        bad = emu_decode_path(c->c_target, c->c_path, sizeof(c->c_path),
                              &absolute);
        if (bad)
            snprintf(c->c_path, sizeof(c->c_path), "%s", "(bad)");
    }
    if (!bad && strcmp(c->c_path, "/__stats") == 0) {
        c->c_active = 0; /* not counted, not logged */
        resp_stats(c);
        return conn_send(c);
    }
    if (o->o_per_conn > 0 && c->c_answered >= o->o_per_conn) {
        /* A server whose idle timer fired as the request arrived: the
         * whole request was read, the answer never starts (FIN). */
        c->c_active = 0;
        e->e_unanswered++;
        conn_free(c, "requests-per-conn");
        return STEP_FREED;
    }
    c->c_answered++;
    e->e_requests++;
    if ((c->c_ps = emu_path_stat(e, c->c_path)) != NULL) {
        if (is_get(c))
            c->c_ps->ps_get++;
        else if (is_head(c))
            c->c_ps->ps_head++;
        else
            c->c_ps->ps_other++;
    }
    if (bad) {
        c->c_close_after = 1;
        resp_error(c, 400, "Bad Request", NULL);
    } else if (!conn_authorized(c)) {
        resp_error(c, 407, "Proxy Authentication Required",
                   "Proxy-Authenticate: Basic realm=\"emu\"\r\n");
    } else if (strcmp(c->c_method, "CONNECT") == 0) {
        if (!o->o_connect) {
            resp_error(c, 405, "Method Not Allowed", NULL);
        } else {
            conn_connect(c);
            if (c->c_state == CONN_CONNECTING)
                return STEP_MORE;
        }
    } else if (o->o_require_absolute && !absolute) {
        resp_error(c, 400, "Bad Request", NULL);
    } else if (strncmp(c->c_path, "/echo", 5) == 0) {
        resp_echo(c);
    } else if (!is_get(c) && !is_head(c)) {
        resp_error(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
    } else if ((o->o_please_wait && is_get(c)) ||
               (o->o_head_please_wait && is_head(c))) {
        resp_please_wait(c);
    } else {
        resp_file(c);
    }
    if (o->o_slow_ms > 0) {
        c->c_state = CONN_WAIT;
        conn_arm(c, (long)o->o_slow_ms);
        return STEP_MORE;
    }
    return conn_send(c);
}

/* A request we refuse before reading its body (parse errors, 411, 417):
 * answer and close. */
static int
conn_refuse(struct conn *c)
{
    int st = c->c_status ? c->c_status : 400;
    const char *why = st == 411   ? "Length Required"
                      : st == 417 ? "Expectation Failed"
                      : st == 431 ? "Request Header Fields Too Large"
                                  : "Bad Request";

    if (c->c_method == NULL || c->c_version == NULL) {
        c->c_method = "-";
        c->c_minor = 0;
    }
    c->c_active = 1;
    c->c_sent = 0;
    c->c_keepalive = 0;
    c->c_close_after = 1;
    c->c_emu->e_requests++;
    snprintf(c->c_path, sizeof(c->c_path), "%s", "(refused)");
    resp_error(c, st, why, NULL);
    bufferevent_disable(c->c_bev, EV_READ);
    return conn_send(c);
}

/* Parse and answer requests while there is input for them. Returns
 * STEP_FREED when c is gone. */
static int
conn_process(struct conn *c)
{
    int rc;

    for (;;) {
        if (c->c_state == CONN_READ_HEAD) {
            rc = conn_read_head(c);
            if (rc == STEP_MORE) {
                if (c->c_eof)
                    return conn_finish(c);
                return STEP_MORE;
            }
            if (rc == STEP_BAD)
                return conn_refuse(c);
            if (conn_frame(c) == STEP_BAD)
                return conn_refuse(c);
            c->c_state = CONN_READ_BODY;
        }
        if (c->c_state != CONN_READ_BODY)
            return STEP_MORE;
        rc = conn_read_body(c);
        if (rc == STEP_MORE) {
            if (c->c_eof) {
                conn_free(c, "eof in request body");
                return STEP_FREED;
            }
            return STEP_MORE;
        }
        if (rc == STEP_BAD) {
            c->c_status = 400;
            return conn_refuse(c);
        }
        if (conn_respond(c) == STEP_FREED)
            return STEP_FREED;
        if (c->c_state != CONN_READ_HEAD)
            return STEP_MORE;
    }
}

/* ---- client callbacks --------------------------------------------------- */

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    switch (c->c_state) {
    case CONN_WAIT:
        if (conn_send(c) != STEP_FREED && c->c_state == CONN_READ_HEAD)
            conn_process(c);
        break;
    case CONN_SEND:
        if (conn_pump(c) != STEP_FREED && c->c_state == CONN_READ_HEAD)
            conn_process(c);
        break;
    case CONN_RESETTING:
        conn_reset_poll(c);
        break;
    case CONN_LINGER:
        conn_free(c, "linger timeout");
        break;
    default:
        break;
    }
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    switch (c->c_state) {
    case CONN_READ_HEAD:
    case CONN_READ_BODY:
        conn_process(c);
        break;
    case CONN_LINGER:
        evbuffer_drain(in, evbuffer_get_length(in));
        break;
    case CONN_TUNNEL:
        tunnel_move(c, bev, c->c_up);
        break;
    default:
        break; /* pipelined input waits (read high watermark) */
    }
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));

    switch (c->c_state) {
    case CONN_SEND:
        if (c->c_emu->e_o.o_rate && evtimer_pending(c->c_timer, NULL))
            break;
        if (conn_pump(c) != STEP_FREED && c->c_state == CONN_READ_HEAD)
            conn_process(c);
        break;
    case CONN_RESETTING:
        if (left == 0)
            conn_reset_poll(c);
        break;
    case CONN_CLOSING:
        if (left == 0)
            conn_linger(c);
        break;
    case CONN_TUNNEL:
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(c->c_up, EV_READ);
        break;
    case CONN_TUNNEL_DRAIN:
        tunnel_drain_check(c);
        break;
    default:
        break;
    }
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    if (c->c_state == CONN_TUNNEL) {
        tunnel_end(c, bev);
        return;
    }
    if (what & BEV_EVENT_ERROR || c->c_state == CONN_LINGER ||
        c->c_state == CONN_TUNNEL_DRAIN || c->c_state == CONN_CLOSING) {
        conn_free(c, "client gone");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->c_eof = 1;
        if (c->c_state == CONN_READ_HEAD || c->c_state == CONN_READ_BODY)
            conn_process(c);
    }
}

static void
emu_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
              struct sockaddr *sa, int salen, void *arg)
{
    struct emu *e = arg;
    struct conn *c;

    (void)lis;
    (void)sa;
    (void)salen;
    if (e->e_dropped < e->e_o.o_drop) {
        e->e_dropped++;
        evutil_closesocket(fd);
        return;
    }
    e->e_connections++;
    if (e->e_o.o_nodelay) {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (void *)&one, sizeof(one));
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->c_emu = e;
    c->c_id = ++e->e_next_id;
    c->c_fd = -1;
    c->c_mid = -1;
    c->c_bev = bufferevent_socket_new(e->e_base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->c_timer = evtimer_new(e->e_base, conn_timer_cb, c);
    c->c_head = evbuffer_new();
    c->c_mem = evbuffer_new();
    c->c_sha = EVP_MD_CTX_new();
    c->c_next = e->e_conns;
    if (e->e_conns)
        e->e_conns->c_prev = c;
    e->e_conns = c;
    if (c->c_bev == NULL) {
        evutil_closesocket(fd);
        c->c_bev = bufferevent_socket_new(e->e_base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (c->c_bev == NULL || c->c_timer == NULL || c->c_head == NULL ||
        c->c_mem == NULL || c->c_sha == NULL) {
        fprintf(stderr, "upstream-emu: out of memory\n");
        if (c->c_bev == NULL)
            abort();
        conn_free(c, "no memory");
        return;
    }
    bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_setwatermark(c->c_bev, EV_READ, 0, EMU_IN_HIGH);
    bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
}

static void
emu_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct emu *e = arg;

    (void)fd;
    (void)what;
    event_base_loopexit(e->e_base, NULL);
}

/* ---- command line ------------------------------------------------------- */

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: upstream-emu --root DIR [--listen ADDR] [--port N] "
        "[--port-file F]\n"
        "                    [--log F] [--lifetime SECONDS] [legacy flags]\n"
        "A correct HTTP/1.1 origin by default. Legacy-proxy flags:\n"
        "  --http10               HTTP/1.0 status line, Connection: close\n"
        "  --no-range             ignore Range: 200 with the whole body\n"
        "  --close-delimit        GET responses carry no Content-Length\n"
        "  --head-no-length       HEAD answered without Content-Length\n"
        "  --head-short N         HEAD Content-Length N bytes too small\n"
        "  --no-validators        no ETag / Last-Modified\n"
        "  --unstable-validators  ETag / Last-Modified change with every "
        "request\n"
        "  --no-content-range     206 without Content-Range\n"
        "  --chunked              file GET bodies chunked (HTTP/1.1 clients)\n"
        "  --auth USER:PASS       require Proxy-Authorization Basic, else 407\n"
        "  --reset-after N        TCP RST after N body bytes of a file "
        "response\n"
        "  --please-wait          every GET gets a 200 text/html 'please "
        "wait'\n"
        "  --head-please-wait     every HEAD gets the head of that page\n"
        "  --corrupt              flip the middle byte of file bodies\n"
        "  --refuse-chunked       411 for Transfer-Encoding, 417 for Expect\n"
        "  --slow-ms N            wait N ms before each response head\n"
        "  --rate BYTES/S         throttle file bodies\n"
        "  --require-absolute     400 for origin-form targets\n"
        "  --connect              CONNECT to 127.0.0.1 / ::1 / localhost only\n"
        "  --drop-connections N   close the first N connections at once\n"
        "  --requests-per-conn N  answer N requests a connection; the next "
        "one is read\n"
        "                         and the connection closed unanswered "
        "(a stale\n"
        "                         keep-alive connection; /__stats "
        "\"unanswered\")\n"
        "Other flags:\n"
        "  --nodelay              TCP_NODELAY on accepted connections: a "
        "file's head\n"
        "                         and its sendfile body (two writes) no "
        "longer wait for\n"
        "                         the peer's delayed ACK (off by default)\n"
        "Special paths: /__stats (JSON counters; exempt from every flag and "
        "not\n"
        "counted) and /echo* (JSON of the request line, headers as received, "
        "body\n"
        "length and SHA-1, for any method). Framing flags (--http10,\n"
        "--close-delimit, --head-no-length), --auth, --slow-ms and\n"
        "--require-absolute apply to every response; the other flags only to\n"
        "files. --drop-connections counts every connection, /__stats ones "
        "too.\n");
}

static int
parse_args(int argc, char **argv, struct emu_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->o_listen = "127.0.0.1";
    o->o_lifetime = 600;
    o->o_reset_after = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;

#define FLAG(name, field)                                                      \
    if (strcmp(a, name) == 0) {                                                \
        o->field = 1;                                                          \
        continue;                                                              \
    }
        FLAG("--http10", o_http10)
        FLAG("--no-range", o_no_range)
        FLAG("--close-delimit", o_close_delimit)
        FLAG("--head-no-length", o_head_no_length)
        FLAG("--no-validators", o_no_validators)
        FLAG("--unstable-validators", o_unstable_validators)
        FLAG("--no-content-range", o_no_content_range)
        FLAG("--chunked", o_chunked)
        FLAG("--please-wait", o_please_wait)
        FLAG("--head-please-wait", o_head_please_wait)
        FLAG("--corrupt", o_corrupt)
        FLAG("--refuse-chunked", o_refuse_chunked)
        FLAG("--require-absolute", o_require_absolute)
        FLAG("--connect", o_connect)
        FLAG("--nodelay", o_nodelay)
#undef FLAG
        if (strcmp(a, "--echo") == 0)
            continue; /* /echo* always echoes; kept for scripts */
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL)
            goto bad;
        if (strcmp(a, "--root") == 0)
            o->o_root = v;
        else if (strcmp(a, "--listen") == 0)
            o->o_listen = v;
        else if (strcmp(a, "--port-file") == 0)
            o->o_port_file = v;
        else if (strcmp(a, "--log") == 0)
            o->o_log = v;
        else if (strcmp(a, "--auth") == 0) {
            if (strchr(v, ':') == NULL)
                goto bad;
            free(o->o_auth_b64);
            if ((o->o_auth_b64 = emu_base64(v)) == NULL)
                goto bad;
        } else if (emu_parse_dec(v, &n) == -1) {
            goto bad;
        } else if (strcmp(a, "--port") == 0 && n <= 65535)
            o->o_port = n;
        else if (strcmp(a, "--lifetime") == 0 && n > 0 && n <= 86400)
            o->o_lifetime = n;
        else if (strcmp(a, "--reset-after") == 0 && n <= INT64_MAX)
            o->o_reset_after = (int64_t)n;
        else if (strcmp(a, "--slow-ms") == 0 && n <= 3600000)
            o->o_slow_ms = n;
        else if (strcmp(a, "--rate") == 0 && n > 0 && n <= UINT32_MAX)
            o->o_rate = n;
        else if (strcmp(a, "--head-short") == 0)
            o->o_head_short = n;
        else if (strcmp(a, "--drop-connections") == 0)
            o->o_drop = n;
        else if (strcmp(a, "--requests-per-conn") == 0 && n > 0)
            o->o_per_conn = n;
        else
            goto bad;
        i++;
        continue;
    bad:
        fprintf(stderr, "upstream-emu: bad argument: %s%s%s\n", a, v ? " " : "",
                v ? v : "");
        usage(stderr);
        return -1;
    }
    if (o->o_root == NULL) {
        fprintf(stderr, "upstream-emu: --root is required\n");
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct emu e;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int len = sizeof(ss), rc = 1;
    char addr[300];
    struct timeval life;
    unsigned port = 0;

    memset(&e, 0, sizeof(e));
    if (parse_args(argc, argv, &e.e_o) == -1)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* Parsed without a port: libevent refuses port 0, we set it after. */
    snprintf(addr, sizeof(addr), "%s", e.e_o.o_listen);
    memset(&ss, 0, sizeof(ss));
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) == -1) {
        fprintf(stderr, "upstream-emu: bad listen address %s\n", addr);
        goto out;
    }
    if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)e.e_o.o_port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)e.e_o.o_port);
    if (e.e_o.o_log && (e.e_log = fopen(e.e_o.o_log, "a")) == NULL) {
        fprintf(stderr, "upstream-emu: %s: %s\n", e.e_o.o_log, strerror(errno));
        goto out;
    }
    if ((e.e_base = event_base_new()) == NULL)
        goto out;
    e.e_lis = evconnlistener_new_bind(
        e.e_base, emu_accept_cb, &e,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
        (struct sockaddr *)&ss, len);
    if (e.e_lis == NULL) {
        fprintf(stderr, "upstream-emu: cannot listen on %s: %s\n", addr,
                strerror(errno));
        goto out;
    }
    if (getsockname(evconnlistener_get_fd(e.e_lis), (struct sockaddr *)&ss,
                    &sl) == -1)
        goto out;
    port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    e.e_sigterm = evsignal_new(e.e_base, SIGTERM, emu_stop_cb, &e);
    e.e_sigint = evsignal_new(e.e_base, SIGINT, emu_stop_cb, &e);
    e.e_life = evtimer_new(e.e_base, emu_stop_cb, &e);
    if (e.e_sigterm == NULL || e.e_sigint == NULL || e.e_life == NULL)
        goto out;
    life.tv_sec = (time_t)e.e_o.o_lifetime;
    life.tv_usec = 0;
    evsignal_add(e.e_sigterm, NULL);
    evsignal_add(e.e_sigint, NULL);
    evtimer_add(e.e_life, &life);
    if (e.e_o.o_port_file) {
        FILE *pf = fopen(e.e_o.o_port_file, "w");

        if (pf == NULL || fprintf(pf, "%u\n", port) < 0 || fclose(pf) != 0) {
            fprintf(stderr, "upstream-emu: cannot write %s\n",
                    e.e_o.o_port_file);
            goto out;
        }
    }
    printf("upstream-emu listening on %s%s%s:%u\n",
           ss.ss_family == AF_INET6 ? "[" : "", e.e_o.o_listen,
           ss.ss_family == AF_INET6 ? "]" : "", port);
    fflush(stdout);
    event_base_dispatch(e.e_base);
    rc = 0;
out:
    while (e.e_conns)
        conn_free(e.e_conns, "shutdown");
    while (e.e_paths) {
        struct path_stat *ps = e.e_paths;

        e.e_paths = ps->ps_next;
        free(ps->ps_path);
        free(ps);
    }
    if (e.e_lis)
        evconnlistener_free(e.e_lis);
    if (e.e_sigterm)
        event_free(e.e_sigterm);
    if (e.e_sigint)
        event_free(e.e_sigint);
    if (e.e_life)
        event_free(e.e_life);
    if (e.e_base)
        event_base_free(e.e_base);
    if (e.e_log)
        fclose(e.e_log);
    free(e.e_o.o_auth_b64);
    return rc;
}
