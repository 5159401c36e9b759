/*
 * fuzz_auth.c - libFuzzer target for Proxy-Authenticate parsing
 * (proxy/auth.c): the input, cut at '\n', is a list of field values;
 * auth_challenges_split rewrites them one challenge per field, then
 * auth_offered and auth_challenge read them. Properties:
 *   - other fields are left alone, in place;
 *   - splitting again changes nothing (each field holds one challenge);
 *   - a scheme's token, when found, points into a field of the list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "auth.h"
#include "headers.h"

static int
points_into(const struct hdr_list *h, const char *t)
{
    for (size_t i = 0; i < h->hl_n; i++) {
        const char *v = h->hl_v[i].h_value;
        if (t >= v && t <= v + strlen(v))
            return 1;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hdr_list h, again;
    char *buf = malloc(size + 1);
    size_t start = 0;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    hdr_init(&h);
    hdr_add(&h, "Via", "1.1 p");
    for (size_t i = 0; i <= size; i++) {
        if (i == size || buf[i] == '\n' || buf[i] == '\0') {
            buf[i] = '\0';
            hdr_add(&h, "Proxy-Authenticate", buf + start);
            start = i + 1;
        }
    }
    hdr_add(&h, "X-Last", "z");
    if (auth_challenges_split(&h) == 0) {
        CHECK(strcmp(h.hl_v[0].h_name, "Via") == 0);
        CHECK(strcmp(h.hl_v[0].h_value, "1.1 p") == 0);
        CHECK(strcmp(h.hl_v[h.hl_n - 1].h_name, "X-Last") == 0);
        hdr_init(&again);
        for (size_t i = 0; i < h.hl_n; i++)
            hdr_add(&again, h.hl_v[i].h_name, h.hl_v[i].h_value);
        if (auth_challenges_split(&again) == 0) {
            CHECK(again.hl_n == h.hl_n);
            for (size_t i = 0; i < h.hl_n; i++)
                CHECK(strcmp(again.hl_v[i].h_value, h.hl_v[i].h_value) == 0);
        }
        hdr_free(&again);
        (void)auth_offered(&h);
        for (int s = AUTH_BASIC; s <= AUTH_NEGOTIATE; s++) {
            const char *t = auth_challenge(&h, (enum auth_scheme)s);
            CHECK(t == NULL || t[0] == '\0' || points_into(&h, t));
        }
    }
    hdr_free(&h);
    free(buf);
    return 0;
}
