/*
 * fuzz_cache_meta.c - libFuzzer target for the cache meta-file reader
 * (cache_meta_parse in proxy/cache_meta.c), which reads files a crash or
 * another process may have left half written.
 *
 * Input: byte 0 holds flags (bit 0: append the check line the text
 * needs, so the fuzzer gets past the SHA-1 and into the fields), then the
 * url up to the first LF, then the meta text. Properties, each an abort:
 *   - a refusal says why (non-empty err);
 *   - the reader is canonical: a text it takes is exactly what
 *     cache_meta_format writes for the url and the fields it read, byte
 *     for byte, so two texts never mean the same entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "fuzz.h"
#include "cache.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl;
    char *url, *text, *back = NULL;
    size_t ulen, tlen, blen = 0;
    struct cache_meta m;
    char err[256];

    if (size < 1 || (nl = memchr(data + 1, '\n', size - 1)) == NULL)
        return 0;
    ulen = (size_t)(nl - (const char *)data - 1);
    url = malloc(ulen + 1);
    tlen = size - 1 - ulen - 1;
    text = malloc(tlen + 48);
    CHECK(url != NULL && text != NULL);
    memcpy(url, data + 1, ulen);
    url[ulen] = '\0';
    memcpy(text, nl + 1, tlen);
    if (data[0] & 1) {
        unsigned char md[SHA_DIGEST_LENGTH];

        SHA1((const unsigned char *)text, tlen, md);
        memcpy(text + tlen, "check ", 6);
        tlen += 6;
        for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++, tlen += 2)
            snprintf(text + tlen, 3, "%02x", md[i]);
        text[tlen++] = '\n';
    }
    err[0] = '\0';
    if (strlen(url) == ulen &&
        cache_meta_parse(text, tlen, url, &m, err, sizeof(err)) == 0) {
        if (cache_meta_format(url, &m, &back, &blen, err, sizeof(err)) != 0) {
            fprintf(stderr, "read but not writable: %s\n", err);
            abort();
        }
        CHECK(blen == tlen && memcmp(back, text, tlen) == 0);
        free(back);
    } else if (strlen(url) == ulen) {
        CHECK(err[0] != '\0');
    }
    free(url);
    free(text);
    return 0;
}
