/*
 * printf_like.h - PRINTF_LIKE(fmt, first): printf-style format checking
 * for our own variadic functions.
 *
 * mingw-w64 builds link mingw's C99 printf (__USE_MINGW_ANSI_STDIO, set
 * by CMakeLists.txt) and name its archetype __MINGW_PRINTF_FORMAT
 * (gnu_printf); plain "printf" there would check against msvcrt's, which
 * lacks %zu and %lld.
 */
#ifndef WSUS_PRINTF_LIKE_H
#define WSUS_PRINTF_LIKE_H

#include <stdio.h>

#if defined(__GNUC__) && defined(__MINGW_PRINTF_FORMAT)
#define PRINTF_LIKE(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#endif
