/*
 * gss_client.c - drives auth.h's Negotiate session against a real parent
 * proxy, before the shim's own connection pool does: the integration test
 * of the mechanism with a real KDC and a real Squid.
 *
 *   gss-client --port P --url URL [--host NAME] [--count N]
 *              [--keytab K --principal P] [--spn S] [--replay]
 *
 * For each of N connections to 127.0.0.1:P: a fresh auth_sess toward
 * NAME (default localhost) and one "GET URL" with its first (and, for
 * Kerberos, only) Proxy-Authorization value. With
 * --replay, the second connection sends the first one's value again (to
 * show that the parent refuses a replayed token).
 *
 * Prints, one line each (never a token):
 *   usable 0|1                       auth_usable() for Negotiate
 *   conn I status S reply R last L body B tokensha T
 *                                    R: 1 when the answer carried a
 *                                    Negotiate token back, else 0;
 *                                    L: auth_sess_sent_last() after
 *                                    the first leg;
 *                                    T: SHA-256 of the value sent, so a
 *                                    test can tell tokens apart
 *   error: <message>                 auth_sess_* failed; exit 2
 * Exits 0 when every connection was answered, 2 on an auth error, 1 on
 * a usage or network error. Every read has a 10 s timeout.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "strparse.h"

#define GC_MAX_RESP (1024 * 1024)

struct gc_opts {
    int go_port;
    const char *go_url;
    const char *go_host;
    int go_count;
    int go_replay;
    struct auth_cred go_cred;
};

/* One exchange on a new connection: send req, read until EOF (the request
 * says Connection: close). Returns the response length or -1. */
static long
gc_exchange(int port, const char *req, char *resp, size_t cap)
{
    struct sockaddr_in sin;
    struct timeval tv = {10, 0};
    size_t used = 0, len = strlen(req);
    ssize_t n;
    int fd;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
        connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
        goto fail;
    while (used < len) {
        if ((n = write(fd, req + used, len - used)) <= 0)
            goto fail;
        used += (size_t)n;
    }
    used = 0;
    while (used < cap - 1 && (n = read(fd, resp + used, cap - 1 - used)) > 0)
        used += (size_t)n;
    if (n == -1)
        goto fail;
    resp[used] = '\0';
    close(fd);
    return (long)used;
fail:
    close(fd);
    return -1;
}

/* The status code of resp, or -1. */
static int
gc_status(const char *resp)
{
    int st;

    if (sscanf(resp, "HTTP/%*d.%*d %d", &st) != 1)
        return -1;
    return st;
}

/* The token of the first "Proxy-Authenticate: Negotiate <tok>" in resp,
 * copied into tok (cap bytes); "" when there is none. */
static void
gc_challenge(const char *resp, char *tok, size_t cap)
{
    const char *p = resp, *end = strstr(resp, "\r\n\r\n");
    static const char key[] = "\r\nProxy-Authenticate: Negotiate ";

    tok[0] = '\0';
    while ((p = strstr(p, key)) != NULL && (end == NULL || p < end)) {
        const char *v = p + sizeof(key) - 1;
        size_t n = strcspn(v, "\r\n");
        if (n > 0 && n < cap) {
            memcpy(tok, v, n);
            tok[n] = '\0';
            return;
        }
        p = v;
    }
}

/* Length of the body (after the head), or -1. */
static long
gc_body_len(const char *resp, long len)
{
    const char *e = strstr(resp, "\r\n\r\n");

    return e == NULL ? -1 : len - (long)(e + 4 - resp);
}

static void
gc_sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
gc_run(const struct gc_opts *o)
{
    char err[512], req[80 * 1024], tok[70 * 1024], sha[65];
    char *resp = NULL, *first = NULL, *value = NULL;
    struct auth_sess *a = NULL;
    int rc = 1;

    printf("usable %d\n",
           (auth_usable(&o->go_cred) & AUTH_BIT(AUTH_NEGOTIATE)) != 0);
    fflush(stdout);
    if ((resp = malloc(GC_MAX_RESP)) == NULL)
        return 1;
    for (int i = 0; i < o->go_count; i++) {
        int reply, st;
        long len = -1;

        if ((a = auth_sess_new(AUTH_NEGOTIATE, &o->go_cred, o->go_host, err,
                               sizeof(err))) == NULL)
            goto autherr;
        if (auth_sess_step(a, NULL, &value, err, sizeof(err)) == -1)
            goto autherr;
        if (i == 0)
            first = strdup(value);
        if (i == 1 && o->go_replay && first != NULL) {
            auth_value_free(value);
            value = strdup(first);
        }
        if (value == NULL)
            goto done;
        gc_sha256_hex(value, sha);
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: origin\r\n"
                 "Proxy-Authorization: %s\r\nConnection: close\r\n\r\n",
                 o->go_url, value);
        auth_value_free(value);
        value = NULL;
        if ((len = gc_exchange(o->go_port, req, resp, GC_MAX_RESP)) < 0) {
            fprintf(stderr, "gss-client: exchange failed\n");
            goto done;
        }
        st = gc_status(resp);
        /* The parent's answer token, if any (a mutual-auth reply on a 200,
         * or a further leg on a 407), only counted here: one leg per
         * connection is what Kerberos needs. */
        gc_challenge(resp, tok, sizeof(tok));
        reply = tok[0] != '\0';
        printf("conn %d status %d reply %d last %d body %ld tokensha %s\n", i,
               st, reply, auth_sess_sent_last(a), gc_body_len(resp, len), sha);
        fflush(stdout);
        auth_sess_free(a);
        a = NULL;
    }
    rc = 0;
    goto done;
autherr:
    printf("error: %s\n", err);
    rc = 2;
done:
    auth_value_free(value);
    auth_value_free(first);
    auth_sess_free(a);
    free(resp);
    return rc;
}

int
main(int argc, char **argv)
{
    struct gc_opts o;

    memset(&o, 0, sizeof(o));
    o.go_host = "localhost";
    o.go_count = 1;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;

        if (strcmp(k, "--replay") == 0) {
            o.go_replay = 1;
            continue;
        }
        if (v == NULL)
            goto usage;
        i++;
        if (strcmp(k, "--port") == 0 && parse_u64_max(v, 65535, &n) == 0)
            o.go_port = (int)n;
        else if (strcmp(k, "--count") == 0 && parse_u64_max(v, 100, &n) == 0)
            o.go_count = (int)n;
        else if (strcmp(k, "--url") == 0)
            o.go_url = v;
        else if (strcmp(k, "--host") == 0)
            o.go_host = v;
        else if (strcmp(k, "--keytab") == 0)
            o.go_cred.ac_keytab = v;
        else if (strcmp(k, "--principal") == 0)
            o.go_cred.ac_principal = v;
        else if (strcmp(k, "--spn") == 0)
            o.go_cred.ac_spn = v;
        else
            goto usage;
    }
    if (o.go_port == 0 || o.go_url == NULL)
        goto usage;
    return gc_run(&o);
usage:
    fprintf(stderr, "usage: gss-client --port P --url URL [--host NAME] "
                    "[--count N] [--keytab K --principal P] [--spn S] "
                    "[--replay]\n");
    return 1;
}
