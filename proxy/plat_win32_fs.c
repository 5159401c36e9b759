/*
 * plat_win32_fs.c - files and folders on Windows (plat.h).
 *
 * Descriptors are CRT file descriptors (what evbuffer_add_file takes);
 * positional I/O goes to the underlying HANDLE with OVERLAPPED offsets.
 *
 * Differences from POSIX, by design of the OS:
 * - pwrite/pread move the file position (Windows has no positional I/O
 *   that leaves it alone); nothing here relies on the position.
 * - "mode 0600/0700" is the folder's inherited ACL; the service installer
 *   owns the cache folder's ACL.
 * - an open file cannot be deleted or replaced unless every opener allowed
 *   it, and even then its name stays until the last handle closes, and
 *   nothing can be renamed over it. POSIX lets the cache remove or replace
 *   an entry that a client still reads (the reader keeps the old inode), so
 *   plat_open_* share delete, plat_unlink first moves the file to a free
 *   name ("PATH.tmp.<16 hex>") and deletes it there, and plat_rename moves
 *   an open target out of the way the same way before it moves in.
 */
#include <winsock2.h>
#include <windows.h>
#include <shlobj.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plat.h"
#include "plat_win32.h"

/* Every share mode, delete included: see the top of the file. */
#define PLAT_SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/* CreateFileA with PLAT_SHARE_ALL (not inheritable), wrapped in a CRT
 * descriptor with crtflags; -1 with errno set. The descriptor owns the
 * handle. */
static int
plat_open_crt(const char *path, DWORD access, DWORD disposition, int crtflags)
{
    HANDLE h = CreateFileA(path, access, PLAT_SHARE_ALL, NULL, disposition,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    int fd;

    if (h == INVALID_HANDLE_VALUE) {
        plat_set_errno(GetLastError());
        return -1;
    }
    fd = _open_osfhandle((intptr_t)h, crtflags | _O_BINARY);
    if (fd == -1) {
        CloseHandle(h);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

int
plat_open_read(const char *path)
{
    return plat_open_crt(path, GENERIC_READ, OPEN_EXISTING, _O_RDONLY);
}

int
plat_open_create(const char *path)
{
    return plat_open_crt(path, GENERIC_READ | GENERIC_WRITE, CREATE_NEW,
                         _O_RDWR);
}

int
plat_close(int fd)
{
    return _close(fd);
}

int
plat_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    HANDLE h = plat_handle(fd);
    const char *p = buf;

    if (h == NULL)
        return -1;
    while (len > 0) {
        OVERLAPPED ov;
        DWORD want = len > PLAT_IO_CHUNK ? PLAT_IO_CHUNK : (DWORD)len;
        DWORD n = 0;

        memset(&ov, 0, sizeof(ov));
        ov.Offset = (DWORD)off;
        ov.OffsetHigh = (DWORD)(off >> 32);
        if (!WriteFile(h, p, want, &n, &ov)) {
            plat_set_errno(GetLastError());
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= n;
        off += n;
    }
    return 0;
}

int64_t
plat_pread(int fd, void *buf, size_t len, uint64_t off)
{
    HANDLE h = plat_handle(fd);
    OVERLAPPED ov;
    DWORD want = len > PLAT_IO_CHUNK ? PLAT_IO_CHUNK : (DWORD)len;
    DWORD n = 0;

    if (h == NULL)
        return -1;
    memset(&ov, 0, sizeof(ov));
    ov.Offset = (DWORD)off;
    ov.OffsetHigh = (DWORD)(off >> 32);
    if (!ReadFile(h, buf, want, &n, &ov)) {
        DWORD err = GetLastError();
        if (err == ERROR_HANDLE_EOF)
            return 0;
        plat_set_errno(err);
        return -1;
    }
    return (int64_t)n;
}

int
plat_fsync(int fd)
{
    HANDLE h = plat_handle(fd);

    if (h == NULL)
        return -1;
    if (!FlushFileBuffers(h)) {
        plat_set_errno(GetLastError());
        return -1;
    }
    return 0;
}

int
plat_writeback(int fd, uint64_t off, uint64_t len)
{
    (void)fd;
    (void)off;
    (void)len;
    return 0;
}

int
plat_dup_for_send(int fd)
{
    (void)fd;
    errno = ENOSYS;
    return -1;
}

int
plat_fsize(int fd, uint64_t *size)
{
    HANDLE h = plat_handle(fd);
    LARGE_INTEGER li;

    if (h == NULL)
        return -1;
    if (!GetFileSizeEx(h, &li)) {
        plat_set_errno(GetLastError());
        return -1;
    }
    *size = (uint64_t)li.QuadPart;
    return 0;
}

/* Whether path names a file this process could delete or rename now:
 * no other opener denies FILE_SHARE_DELETE. */
static int
plat_can_delete(const char *path)
{
    HANDLE h = CreateFileA(path, DELETE, PLAT_SHARE_ALL, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);

    if (h == INVALID_HANDLE_VALUE)
        return 0;
    CloseHandle(h);
    return 1;
}

static int
plat_is_plain_file(const char *path)
{
    DWORD a = GetFileAttributesA(path);

    return a != INVALID_FILE_ATTRIBUTES &&
           (a & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) == 0;
}

/*
 * Windows refuses to replace a file that is open anywhere, even when every
 * opener shares delete. Then the target is unlinked the POSIX way (moved
 * aside and deleted once its readers are gone) and the move is tried
 * again. Only in that case is the replace not atomic: for a moment the
 * target name does not exist, and if the second move fails the old
 * target is gone.
 */
int
plat_rename(const char *from, const char *to)
{
    const DWORD flags = MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH;
    DWORD err;

    if (MoveFileExA(from, to, flags))
        return 0;
    err = GetLastError();
    if ((err == ERROR_ACCESS_DENIED || err == ERROR_SHARING_VIOLATION) &&
        plat_is_plain_file(to) && plat_can_delete(from) &&
        plat_unlink(to) == 0) {
        if (MoveFileExA(from, to, flags))
            return 0;
        err = GetLastError();
    }
    plat_set_errno(err);
    return -1;
}

/*
 * POSIX unlink: the name is free at once, and whoever has the file open
 * keeps reading it. DeleteFile alone leaves the name in place ("delete
 * pending") until the last handle closes, so that nothing can be created
 * or renamed to it. The file is therefore first renamed to
 * "PATH.tmp.<16 hex>" in its folder (the cache's scan removes such names
 * should a crash leave one), then deleted there; Windows removes it when
 * the last reader closes it.
 */
int
plat_unlink(const char *path)
{
    char aside[PLAT_PATH_MAX];
    unsigned char rnd[8];

    if (!plat_is_plain_file(path)) {
        /* Missing, or a folder: DeleteFile gives the right error. */
        if (!DeleteFileA(path)) {
            plat_set_errno(GetLastError());
            return -1;
        }
        return 0;
    }
    plat_random(rnd, sizeof(rnd));
    if ((size_t)snprintf(aside, sizeof(aside),
                         "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path,
                         rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
                         rnd[7]) >= sizeof(aside) ||
        !MoveFileExA(path, aside, 0)) {
        /* No room for the longer name, or the move was refused: a plain
         * delete, whose name may linger while the file is open. */
        if (!DeleteFileA(path)) {
            plat_set_errno(GetLastError());
            return -1;
        }
        return 0;
    }
    if (!DeleteFileA(aside)) {
        DWORD err = GetLastError();
        /* Put it back rather than leave a stray file under a new name. */
        (void)MoveFileExA(aside, path, 0);
        plat_set_errno(err);
        return -1;
    }
    return 0;
}

/* NTFS orders directory updates itself; plat_rename writes through. */
int
plat_fsync_dir(const char *dir)
{
    (void)dir;
    return 0;
}

/* A handle on an existing file at path for the given access, or
 * INVALID_HANDLE_VALUE with errno set. */
static HANDLE
plat_open_existing(const char *path, DWORD access)
{
    HANDLE h = CreateFileA(
        path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
        NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);

    if (h == INVALID_HANDLE_VALUE)
        plat_set_errno(GetLastError());
    return h;
}

int
plat_is_dir(const char *path)
{
    DWORD a = GetFileAttributesA(path);

    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int
plat_truncate(const char *path, uint64_t size)
{
    HANDLE h;
    LARGE_INTEGER cur, want;
    DWORD ret;
    int rc = -1;

    if (size > (uint64_t)INT64_MAX) {
        errno = EFBIG;
        return -1;
    }
    h = plat_open_existing(path, GENERIC_READ | GENERIC_WRITE);
    if (h == INVALID_HANDLE_VALUE)
        return -1;
    want.QuadPart = (LONGLONG)size;
    /* Growing: mark the file sparse first so the gap takes no space
     * (ignored where the file system has no sparse files). */
    if (GetFileSizeEx(h, &cur) && want.QuadPart > cur.QuadPart)
        (void)DeviceIoControl(h, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &ret,
                              NULL);
    if (!SetFilePointerEx(h, want, NULL, FILE_BEGIN) || !SetEndOfFile(h)) {
        plat_set_errno(GetLastError());
        goto out;
    }
    rc = 0;
out:
    CloseHandle(h);
    return rc;
}

int
plat_touch(const char *path)
{
    HANDLE h = plat_open_existing(path, FILE_WRITE_ATTRIBUTES);
    FILETIME now;
    int rc = 0;

    if (h == INVALID_HANDLE_VALUE)
        return -1;
    GetSystemTimeAsFileTime(&now);
    if (!SetFileTime(h, NULL, NULL, &now)) {
        plat_set_errno(GetLastError());
        rc = -1;
    }
    CloseHandle(h);
    return rc;
}

/* mkdir that treats an existing folder (or file, as POSIX does) as done. */
static int
plat_mkdir1(const char *path)
{
    DWORD err;

    if (CreateDirectoryA(path, NULL))
        return 0;
    err = GetLastError();
    if (err == ERROR_ALREADY_EXISTS)
        return 0;
    /* "C:" or "\\server\share" components: fine if they exist. */
    if ((err == ERROR_ACCESS_DENIED || err == ERROR_INVALID_NAME ||
         err == ERROR_BAD_NETPATH || err == ERROR_BAD_NET_NAME) &&
        GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES)
        return 0;
    plat_set_errno(err);
    return -1;
}

int
plat_mkdirs(const char *path)
{
    char buf[PLAT_PATH_MAX];
    size_t len = strlen(path);
    char *p;

    if (len == 0 || len >= sizeof(buf)) {
        errno = len == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    p = buf + 1;
    /* Skip a drive ("C:\") or a UNC root ("\\server\share\"). */
    if (len >= 2 && buf[1] == ':')
        p = buf + 2;
    else if (len >= 2 && (buf[0] == '\\' || buf[0] == '/') &&
             (buf[1] == '\\' || buf[1] == '/')) {
        int seps = 0;
        for (p = buf + 2; *p != '\0' && seps < 2; p++)
            if (*p == '\\' || *p == '/')
                seps++;
        if (*p == '\0')
            return 0;
    }
    for (; *p != '\0'; p++) {
        char c = *p;
        if (c != '/' && c != '\\')
            continue;
        if (p > buf && (p[-1] == '/' || p[-1] == '\\' || p[-1] == ':'))
            continue;
        *p = '\0';
        if (plat_mkdir1(buf) == -1)
            return -1;
        *p = c;
    }
    return plat_mkdir1(buf);
}

/*
 * A fresh file "wsus-shim-<random>.tmp" created exclusively with
 * FILE_FLAG_DELETE_ON_CLOSE: the system removes it when the last handle
 * goes, even if the process dies.
 */
/* %ProgramData%\wsus-shim\<leaf> into buf (C:\ProgramData when the
 * shell cannot say). */
static const char *
plat_data_path(char *buf, size_t len, const char *leaf)
{
    char root[MAX_PATH + 1];

    /* The known folder, not the variable: services may see another
     * environment. */
    if (SHGetFolderPathA(NULL, CSIDL_COMMON_APPDATA, NULL, SHGFP_TYPE_CURRENT,
                         root) != S_OK)
        snprintf(root, sizeof(root), "C:\\ProgramData");
    snprintf(buf, len, "%s\\wsus-shim%s%s", root, *leaf ? "\\" : "", leaf);
    return buf;
}

const char *
plat_default_conf(void)
{
    static char buf[PLAT_PATH_MAX];
    return plat_data_path(buf, sizeof(buf), "wsus-shim.conf");
}

const char *
plat_default_cache_dir(void)
{
    static char buf[PLAT_PATH_MAX];
    return plat_data_path(buf, sizeof(buf), "cache");
}

const char *
plat_default_log_dir(void)
{
    static char buf[PLAT_PATH_MAX];
    return plat_data_path(buf, sizeof(buf), "logs");
}

int
plat_tmpfile(const char *dir)
{
    char tmpdir[MAX_PATH + 1];
    char path[PLAT_PATH_MAX];

    if (dir == NULL || *dir == '\0') {
        DWORD n = GetTempPathA(sizeof(tmpdir), tmpdir);
        if (n == 0 || n > sizeof(tmpdir) - 1) {
            errno = ENOENT;
            return -1;
        }
        dir = tmpdir;
    }
    for (int tries = 0; tries < 16; tries++) {
        unsigned char rnd[8];
        HANDLE h;
        int fd;
        size_t dl = strlen(dir);
        const char *sep =
            (dl > 0 && (dir[dl - 1] == '\\' || dir[dl - 1] == '/')) ? "" : "\\";

        plat_random(rnd, sizeof(rnd));
        if ((size_t)snprintf(path, sizeof(path),
                             "%s%swsus-shim-%02x%02x%02x%02x%02x%02x%02x"
                             "%02x.tmp",
                             dir, sep, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                             rnd[5], rnd[6], rnd[7]) >= sizeof(path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                        NULL, CREATE_NEW,
                        FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE,
                        NULL);
        if (h == INVALID_HANDLE_VALUE) {
            DWORD err = GetLastError();
            if (err == ERROR_FILE_EXISTS)
                continue;
            plat_set_errno(err);
            return -1;
        }
        fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
        if (fd == -1) {
            CloseHandle(h);
            return -1;
        }
        return fd;
    }
    errno = EEXIST;
    return -1;
}

int
plat_mkdtemp(const char *prefix, char *buf, size_t len)
{
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof(base), base);

    if (n == 0 || n > sizeof(base) - 1) {
        errno = ENOENT;
        return -1;
    }
    for (int tries = 0; tries < 16; tries++) {
        unsigned char rnd[4];

        plat_random(rnd, sizeof(rnd));
        /* GetTempPath ends with a backslash. */
        if ((size_t)snprintf(buf, len, "%s%s%02x%02x%02x%02x", base, prefix,
                             rnd[0], rnd[1], rnd[2], rnd[3]) >= len) {
            errno = ENAMETOOLONG;
            return -1;
        }
        /* The folder inherits the ACL of the user's temporary folder. */
        if (CreateDirectoryA(buf, NULL))
            return 0;
        if (GetLastError() != ERROR_ALREADY_EXISTS) {
            plat_set_errno(GetLastError());
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

/* Folders nested deeper than this are not descended. */
#define PLAT_RMTREE_DEPTH 32

static int
plat_rmtree_at(const char *path, int depth)
{
    WIN32_FIND_DATAA de;
    DWORD a = GetFileAttributesA(path), err = 0;
    HANDLE d;
    int rc = 0;

    if (a == INVALID_FILE_ATTRIBUTES) {
        err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            return 0;
        plat_set_errno(err);
        return -1;
    }
    if (a & FILE_ATTRIBUTE_READONLY)
        (void)SetFileAttributesA(path, a & ~(DWORD)FILE_ATTRIBUTE_READONLY);
    if (!(a & FILE_ATTRIBUTE_DIRECTORY)) {
        if (!DeleteFileA(path)) {
            plat_set_errno(GetLastError());
            return -1;
        }
        return 0;
    }
    /* A junction or folder symlink: remove the link, not what it names. */
    if (!(a & FILE_ATTRIBUTE_REPARSE_POINT)) {
        char pat[PLAT_PATH_MAX];

        if (depth >= PLAT_RMTREE_DEPTH) {
            errno = ELOOP;
            return -1;
        }
        if ((size_t)snprintf(pat, sizeof(pat), "%s\\*", path) >= sizeof(pat)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        d = FindFirstFileA(pat, &de);
        if (d != INVALID_HANDLE_VALUE) {
            do {
                if (strcmp(de.cFileName, ".") == 0 ||
                    strcmp(de.cFileName, "..") == 0)
                    continue;
                char sub[PLAT_PATH_MAX];

                if ((size_t)snprintf(sub, sizeof(sub), "%s\\%s", path,
                                     de.cFileName) >= sizeof(sub)) {
                    rc = -1;
                    errno = ENAMETOOLONG;
                    continue;
                }
                if (plat_rmtree_at(sub, depth + 1) == -1)
                    rc = -1;
            } while (FindNextFileA(d, &de));
            FindClose(d);
        }
    }
    if (!RemoveDirectoryA(path)) {
        int e = errno;
        plat_set_errno(GetLastError());
        if (rc == -1)
            errno = e;
        return -1;
    }
    return rc;
}

int
plat_rmtree(const char *path)
{
    return plat_rmtree_at(path, 0);
}

/* Unix time of a FILETIME. */
static int64_t
plat_unix_time(const FILETIME *ft)
{
    return ((int64_t)plat_filetime(ft) - (int64_t)PLAT_EPOCH_DIFF) / 10000000;
}

static uint64_t
plat_find_size(const WIN32_FIND_DATAA *fd)
{
    return ((uint64_t)fd->nFileSizeHigh << 32) | fd->nFileSizeLow;
}

/* Regular file: not a folder, device or reparse point. */
static int
plat_find_is_file(const WIN32_FIND_DATAA *fd)
{
    return (fd->dwFileAttributes &
            (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE |
             FILE_ATTRIBUTE_REPARSE_POINT)) == 0;
}

/* Opens a search over dir's entries; INVALID_HANDLE_VALUE with errno. */
static HANDLE
plat_find_open(const char *dir, WIN32_FIND_DATAA *fd)
{
    char pat[PLAT_PATH_MAX];
    HANDLE h;

    if ((size_t)snprintf(pat, sizeof(pat), "%s/*", dir) >= sizeof(pat)) {
        errno = ENAMETOOLONG;
        return INVALID_HANDLE_VALUE;
    }
    h = FindFirstFileA(pat, fd);
    if (h == INVALID_HANDLE_VALUE)
        plat_set_errno(GetLastError());
    return h;
}

/*
 * Paths passed to fn are "dir/name" and "dir/sub/name", '/'-separated as
 * on POSIX; Windows accepts them everywhere.
 */
int
plat_walk(const char *dir, plat_walk_fn fn, void *arg)
{
    WIN32_FIND_DATAA de;
    char path[PLAT_PATH_MAX];
    HANDLE d = plat_find_open(dir, &de);
    int stop = 0;

    if (d == INVALID_HANDLE_VALUE)
        return -1;
    do {
        if (de.cFileName[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de.cFileName) >=
            sizeof(path))
            continue;
        if (de.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
            continue;
        if (de.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
            WIN32_FIND_DATAA se;
            char sub[PLAT_PATH_MAX];
            HANDLE sd = plat_find_open(path, &se);
            if (sd == INVALID_HANDLE_VALUE)
                continue;
            do {
                if (se.cFileName[0] == '.' || !plat_find_is_file(&se))
                    continue;
                if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
                                     se.cFileName) >= sizeof(sub))
                    continue;
                if (fn(arg, sub, plat_find_size(&se),
                       plat_unix_time(&se.ftLastWriteTime)) != 0) {
                    stop = 1;
                    break;
                }
            } while (FindNextFileA(sd, &se));
            FindClose(sd);
        } else if (plat_find_is_file(&de)) {
            if (fn(arg, path, plat_find_size(&de),
                   plat_unix_time(&de.ftLastWriteTime)) != 0)
                stop = 1;
        }
    } while (!stop && FindNextFileA(d, &de));
    FindClose(d);
    return 0;
}

int
plat_disk_free(const char *path, uint64_t *bytes)
{
    ULARGE_INTEGER avail;

    if (!GetDiskFreeSpaceExA(path, &avail, NULL, NULL)) {
        errno = EIO;
        return -1;
    }
    *bytes = (uint64_t)avail.QuadPart;
    return 0;
}

int
plat_disk_size(const char *path, uint64_t *bytes)
{
    ULARGE_INTEGER total;

    if (!GetDiskFreeSpaceExA(path, NULL, &total, NULL)) {
        errno = EIO;
        return -1;
    }
    *bytes = (uint64_t)total.QuadPart;
    return 0;
}
