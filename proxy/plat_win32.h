/*
 * plat_win32.h - what plat_win32.c and plat_win32_fs.c share. Nothing
 * else includes this header.
 */
#ifndef WSUS_PLAT_WIN32_H
#define WSUS_PLAT_WIN32_H

#include <winsock2.h>
#include <windows.h>

#include <stdint.h>

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define PLAT_EPOCH_DIFF 116444736000000000ULL
/* Largest single ReadFile/WriteFile request. */
#define PLAT_IO_CHUNK (1u << 30)
#define PLAT_PATH_MAX 4096

/* Set errno from a Win32 error code. */
void plat_set_errno(DWORD err);

/* The HANDLE behind a CRT descriptor, or NULL with errno = EBADF. */
HANDLE plat_handle(int fd);

/* A FILETIME as one 64-bit count of 100 ns intervals. */
uint64_t plat_filetime(const FILETIME *ft);

#endif
