/*
 * ini.c - the inih API for the Windows cross-build, used only when Debian's
 * libinih source package cannot be fetched from the archive.
 *
 * It implements the interface that Debian's libinih-dev 55 installs in
 * /usr/include/ini.h (copied into the dependency prefix at build time),
 * including Debian's run-time option variables, with the same defaults.
 * Written from that header's contract; tools/win/inih/difftest.c compares
 * its handler calls and return codes with Debian's own libinih on a corpus
 * of edge cases, and build-deps.sh refuses to use it when they differ.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

#define INIC_MAX_SECTION 50
#define INIC_MAX_NAME 50

bool ini_allow_multiline = INI_ALLOW_MULTILINE;
bool ini_allow_bom = INI_ALLOW_BOM;
char *ini_start_comment_prefixes = INI_START_COMMENT_PREFIXES;
bool ini_allow_inline_comments = INI_ALLOW_INLINE_COMMENTS;
char *ini_inline_comment_prefixes = INI_INLINE_COMMENT_PREFIXES;
bool ini_use_stack = INI_USE_STACK;
int ini_max_line = INI_MAX_LINE;
bool ini_allow_realloc = INI_ALLOW_REALLOC;
int ini_initial_alloc = INI_INITIAL_ALLOC;
bool ini_stop_on_first_error = INI_STOP_ON_FIRST_ERROR;
bool ini_allow_no_value = INI_ALLOW_NO_VALUE;

struct inic_str {
    const char *s_ptr;
    size_t s_left;
};

/* Strip trailing white space in place; returns s. */
static char *
inic_rstrip(char *s)
{
    char *p = s + strlen(s);

    while (p > s && isspace((unsigned char)p[-1]))
        *--p = '\0';
    return s;
}

/* First character of s that is not white space. */
static char *
inic_lskip(char *s)
{
    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    return s;
}

/* First character of s that is in chars (when not NULL) or that starts an
 * inline comment (a comment prefix right after white space), or the NUL. */
static char *
inic_find(char *s, const char *chars)
{
    int was_space = 0;

    while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL)) {
        if (ini_allow_inline_comments && was_space &&
            strchr(ini_inline_comment_prefixes, *s) != NULL)
            break;
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

/* Copy at most size - 1 bytes of src and terminate. */
static void
inic_copy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (n > size - 1)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int
inic_call(ini_handler handler, void *user, const char *section,
          const char *name, const char *value, int lineno)
{
#if INI_HANDLER_LINENO
    return handler(user, section, name, value, lineno);
#else
    (void)lineno;
    return handler(user, section, name, value);
#endif
}

int
ini_parse_stream(ini_reader reader, void *stream, ini_handler handler,
                 void *user)
{
    char section[INIC_MAX_SECTION] = "";
    char prev_name[INIC_MAX_NAME] = "";
    size_t cap = (size_t)(ini_use_stack ? ini_max_line : ini_initial_alloc);
    int lineno = 0, error = 0;
    char *line;

    if (cap < 2)
        cap = 2;
    line = malloc(cap);
    if (line == NULL)
        return -2;

    while (reader(line, (int)cap, stream) != NULL) {
        char *start, *end;

        if (!ini_use_stack && ini_allow_realloc) {
            /* Grow, up to ini_max_line, until the physical line fits. */
            size_t len = strlen(line);
            while (len == cap - 1 && line[len - 1] != '\n') {
                size_t ncap = cap * 2;
                char *nl;
                if (ncap > (size_t)ini_max_line)
                    ncap = (size_t)ini_max_line;
                nl = realloc(line, ncap);
                if (nl == NULL) {
                    free(line);
                    return -2;
                }
                line = nl;
                cap = ncap;
                if (reader(line + len, (int)(cap - len), stream) == NULL)
                    break;
                if (cap >= (size_t)ini_max_line)
                    break;
                len += strlen(line + len);
            }
        }

        lineno++;
        start = line;
        if (ini_allow_bom && lineno == 1 && (unsigned char)start[0] == 0xEF &&
            (unsigned char)start[1] == 0xBB && (unsigned char)start[2] == 0xBF)
            start += 3;
        start = inic_lskip(inic_rstrip(start));

        if (strchr(ini_start_comment_prefixes, *start) != NULL) {
            /* A comment, or an empty line. */
        } else if (ini_allow_multiline && *prev_name != '\0' &&
                   *start != '\0' && start > line) {
            /* An indented line continues the previous value. As in
             * libinih 55, inline comments are kept on such lines. */
            if (!inic_call(handler, user, section, prev_name, start, lineno) &&
                !error)
                error = lineno;
        } else if (*start == '[') {
            end = inic_find(start + 1, "]");
            if (*end == ']') {
                *end = '\0';
                inic_copy(section, start + 1, sizeof(section));
                *prev_name = '\0';
#if INI_CALL_HANDLER_ON_NEW_SECTION
                if (!inic_call(handler, user, section, NULL, NULL, lineno) &&
                    !error)
                    error = lineno;
#endif
            } else if (!error) {
                error = lineno;
            }
        } else if (*start != '\0') {
            end = inic_find(start, "=:");
            if (*end == '=' || *end == ':') {
                char *name, *value;

                *end = '\0';
                name = inic_rstrip(start);
                value = end + 1;
                if (ini_allow_inline_comments) {
                    end = inic_find(value, NULL);
                    *end = '\0';
                }
                value = inic_lskip(value);
                inic_rstrip(value);
                inic_copy(prev_name, name, sizeof(prev_name));
                if (!inic_call(handler, user, section, name, value, lineno) &&
                    !error)
                    error = lineno;
            } else if (!error) {
                if (ini_allow_no_value) {
                    *end = '\0';
                    if (!inic_call(handler, user, section, inic_rstrip(start),
                                   NULL, lineno))
                        error = lineno;
                } else {
                    error = lineno;
                }
            }
        }

        if (ini_stop_on_first_error && error)
            break;
    }
    free(line);
    return error;
}

static char *
inic_read_file(char *str, int num, void *stream)
{
    return fgets(str, num, stream);
}

int
ini_parse_file(FILE *file, ini_handler handler, void *user)
{
    return ini_parse_stream(inic_read_file, file, handler, user);
}

int
ini_parse(const char *filename, ini_handler handler, void *user)
{
    FILE *file = fopen(filename, "r");
    int error;

    if (file == NULL)
        return -1;
    error = ini_parse_file(file, handler, user);
    fclose(file);
    return error;
}

/* An fgets() over a string: at most num - 1 bytes, up to and including
 * a newline. */
static char *
inic_read_string(char *str, int num, void *stream)
{
    struct inic_str *ctx = stream;
    char *p = str;

    if (ctx->s_left == 0 || num < 2)
        return NULL;
    while (num > 1 && ctx->s_left != 0) {
        char c = *ctx->s_ptr++;
        ctx->s_left--;
        *p++ = c;
        if (c == '\n')
            break;
        num--;
    }
    *p = '\0';
    return str;
}

int
ini_parse_string(const char *string, ini_handler handler, void *user)
{
    struct inic_str ctx;

    ctx.s_ptr = string;
    ctx.s_left = strlen(string);
    return ini_parse_stream(inic_read_string, &ctx, handler, user);
}
