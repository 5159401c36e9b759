/*
 * ntlm_client.c - one NTLM handshake through auth.h against a proxy on
 * loopback, over a blocking socket: the proof that our messages pass a
 * strict acceptor (tests/tools/ntlm_proxy.py, gss-ntlmssp behind it).
 *
 *   ntlm-client PORT USER (-p PASSWORD | -H NTHASH_HEX) [-n REQUESTS]
 *
 * It sends a request without credentials, expects a 407 offering NTLM,
 * lets auth_choose pick the scheme from auth_usable, and runs the legs of
 * an auth_sess on the same connection (the mechanism table's NTLM, as
 * fetch.c uses it). After the final leg it sends REQUESTS - 1 more
 * requests on the connection without credentials (NTLM authenticates
 * the connection). Prints one line per response ("status 407", ...).
 * Exit: 0 every response after the handshake was 200; 1 the proxy
 * refused (407 or 403 after our last leg); 2 any other failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth.h"
#include "headers.h"
#include "strutil.h"

#define CLIENT_MAX_HEAD 16384
#define CLIENT_MAX_BODY 65536

static int
send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Send one GET, with a Proxy-Authorization value when auth is not NULL. */
static int
send_request(int fd, const char *auth)
{
    char head[CLIENT_MAX_HEAD];
    int n = snprintf(head, sizeof(head),
                     "GET http://origin.test/ntlm HTTP/1.1\r\n"
                     "Host: origin.test\r\n%s%s%s\r\n",
                     auth != NULL ? "Proxy-Authorization: " : "",
                     auth != NULL ? auth : "", auth != NULL ? "\r\n" : "");

    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    return send_all(fd, head, (size_t)n);
}

/* Read one response: its status and header fields into h; the body
 * (Content-Length framed) is read and dropped. 0 or -1. */
static int
read_response(int fd, int *status, struct hdr_list *h)
{
    char buf[CLIENT_MAX_HEAD + 1], *eol, *line, *end;
    size_t have = 0;
    unsigned long clen = 0;

    hdr_free(h);
    hdr_init(h);
    /* One byte at a time: the head's end is found without reading into
     * the body or the next response. */
    for (;;) {
        if (have == CLIENT_MAX_HEAD)
            return -1;
        if (recv(fd, buf + have, 1, 0) != 1)
            return -1;
        have++;
        if (have >= 4 && memcmp(buf + have - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    buf[have] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        return -1;
    line = strstr(buf, "\r\n") + 2;
    while ((eol = strstr(line, "\r\n")) != NULL && eol != line) {
        char *colon = memchr(line, ':', (size_t)(eol - line));
        *eol = '\0';
        if (colon == NULL)
            return -1;
        *colon = '\0';
        if (hdr_add(h, line, colon + 1) == -1)
            return -1;
        if (str_ieq(line, "Content-Length")) {
            clen = strtoul(colon + 1, &end, 10);
            if (clen > CLIENT_MAX_BODY)
                return -1;
        }
        line = eol + 2;
    }
    while (clen > 0) {
        char body[4096];
        ssize_t n =
            recv(fd, body, clen < sizeof(body) ? clen : sizeof(body), 0);
        if (n <= 0)
            return -1;
        clen -= (unsigned long)n;
    }
    return 0;
}

static int
parse_hash(const char *hex, uint8_t out[16])
{
    if (strlen(hex) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct auth_cred cred;
    struct auth_sess *sess = NULL;
    struct hdr_list h;
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    uint8_t hash[16];
    char err[256], *value = NULL;
    const char *chal;
    enum auth_scheme s;
    int fd = -1, status = 0, nreq = 1, rc = 2;

    memset(&cred, 0, sizeof(cred));
    hdr_init(&h);
    if (argc < 5)
        goto usage;
    cred.ac_user = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-p") == 0) {
            cred.ac_password = argv[i + 1];
        } else if (strcmp(argv[i], "-H") == 0) {
            if (parse_hash(argv[i + 1], hash) == -1)
                goto usage;
            cred.ac_nt_hash = hash;
        } else if (strcmp(argv[i], "-n") == 0) {
            nreq = atoi(argv[i + 1]);
            if (nreq < 1 || nreq > 100)
                goto usage;
        } else {
            goto usage;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
        perror("ntlm-client: connect");
        goto done;
    }

    /* Without credentials first: the 407 says what the proxy takes. */
    if (send_request(fd, NULL) == -1 || read_response(fd, &status, &h) == -1)
        goto io;
    printf("status %d\n", status);
    if (status != 407)
        goto done;
    s = auth_choose(auth_offered(&h), AUTH_WANT_AUTO, auth_usable(&cred));
    if (s != AUTH_NTLM) {
        fprintf(stderr, "ntlm-client: auth_choose gave %s\n",
                auth_scheme_name(s));
        goto done;
    }
    if ((sess = auth_sess_new(s, &cred, "127.0.0.1", err, sizeof(err))) == NULL)
        goto fail;
    chal = NULL;
    /* NTLM has two legs; the bound guards against a loop. */
    for (int leg = 0; leg < 4; leg++) {
        if (auth_sess_step(sess, chal, &value, err, sizeof(err)) == -1)
            goto fail;
        if (send_request(fd, value) == -1 ||
            read_response(fd, &status, &h) == -1)
            goto io;
        auth_value_free(value);
        value = NULL;
        printf("status %d\n", status);
        if (status != 407 || auth_sess_sent_last(sess))
            break;
        if ((chal = auth_challenge(&h, AUTH_NTLM)) == NULL || *chal == '\0') {
            fprintf(stderr, "ntlm-client: 407 without an NTLM challenge\n");
            goto done;
        }
    }
    if (!auth_sess_sent_last(sess)) {
        fprintf(stderr, "ntlm-client: the handshake did not finish\n");
        goto done;
    }
    if (status == 407 || status == 403) {
        rc = 1;
        goto done;
    }
    if (status != 200)
        goto done;
    /* The connection is authenticated now. */
    for (int i = 1; i < nreq; i++) {
        if (send_request(fd, NULL) == -1 ||
            read_response(fd, &status, &h) == -1)
            goto io;
        printf("status %d\n", status);
        if (status != 200)
            goto done;
    }
    rc = 0;
    goto done;
io:
    fprintf(stderr, "ntlm-client: connection failed or bad response\n");
    goto done;
fail:
    fprintf(stderr, "ntlm-client: %s\n", err);
    goto done;
usage:
    fprintf(stderr, "usage: ntlm-client PORT USER (-p PASSWORD | -H HASH) "
                    "[-n REQUESTS]\n");
done:
    auth_value_free(value);
    auth_sess_free(sess);
    hdr_free(&h);
    if (fd != -1)
        close(fd);
    return rc;
}
