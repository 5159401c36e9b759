/*
 * hashpw.c - "wsus-shim hash-password [-u DOMAIN\user]": reads a password
 * without echo (or the first line of piped input) and prints the conf
 * lines for NTLM with a hash instead of the password. The hash is as
 * good as the password toward an NTLM server (pass-the-hash), so the conf
 * still needs the same protection; it keeps the clear text out of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hashpw.h"
#include "ntlm.h"
#include "plat.h"

/* Longest password read (bytes of UTF-8, without the NUL). */
#define HASHPW_MAX 1024

static int
hashpw_usage(void)
{
    fprintf(stderr, "usage: wsus-shim hash-password [-u DOMAIN\\user]\n"
                    "  reads the password from the terminal (no echo) or "
                    "the first line of standard input\n");
    return 2;
}

int
hashpw_main(int argc, char **argv)
{
    const char *user = NULL;
    char pw[HASHPW_MAX + 1];
    uint8_t h[NTLM_HASH_LEN];
    int n, rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-u") == 0 && i + 1 < argc && user == NULL &&
            argv[i + 1][0] != '\0')
            user = argv[++i];
        else
            return hashpw_usage();
    }
    if (user != NULL) {
        char *u, *d;

        if (ntlm_split_user(user, &u, &d) == -1) {
            fprintf(stderr, "wsus-shim: -u takes DOMAIN\\user, user@REALM "
                            "or user\n");
            return 2;
        }
        free(u);
        free(d);
    }
    n = plat_read_secret("Password: ", pw, sizeof(pw));
    if (n == -1) {
        fprintf(stderr,
                "wsus-shim: no password read (or longer than %d "
                "bytes)\n",
                HASHPW_MAX);
        goto done;
    }
    if (n == 0) {
        fprintf(stderr, "wsus-shim: empty password\n");
        goto done;
    }
    if (ntlm_nt_hash(pw, h) == -1) {
        fprintf(stderr, "wsus-shim: the password is not valid UTF-8\n");
        goto done;
    }
    if (user != NULL)
        printf("user = %s\n", user);
    printf("password_hash = ");
    for (size_t i = 0; i < sizeof(h); i++)
        printf("%02x", h[i]);
    printf("\n");
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    OPENSSL_cleanse(pw, sizeof(pw));
    OPENSSL_cleanse(h, sizeof(h));
    return rc;
}
