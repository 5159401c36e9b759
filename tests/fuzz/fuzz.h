/*
 * fuzz.h - what every libFuzzer target shares: the entry point's
 * prototype and CHECK(), an invariant that aborts (so libFuzzer reports
 * it and keeps the input) with the file, line and expression.
 */
#ifndef WSUS_FUZZ_H
#define WSUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #x);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
