/*
 * difftest.c - prints every handler call and return code of the inih API
 * over a corpus of edge cases, under several option settings. Built once
 * against Debian's libinih and once against tools/win/inih/ini.c; the two
 * outputs must be identical (see tools/win/build-deps.sh).
 */
#include <stdio.h>
#include <string.h>

#include <ini.h>

static const char *const corpus[] = {
    "",
    "a=1\n",
    "a = 1 \n b = 2\n",
    "[s]\nk=v\n[t]\nk = w\n",
    "\xEF\xBB\xBF[bom]\nk=v\n",
    "k=v\n\xEF\xBB\xBFx=y\n",
    "; c\n# c\n  ; indented\nk=v ; inline\nk2=v;not\nk3=v\t;tab\n",
    "k:v\nk2 : v2 = x\nk3 = a:b\n",
    "[s\nk=v\n",
    "[s] trailing\nk=v\n",
    "[ spaced ]\nk=v\n",
    "[a;b]\n[c ;d]\nk=v\n",
    "noval\nk=v\nbad line\n",
    "k=v\n  cont1\n\tcont2 ; c\n\n  after blank\n[s]\n  orphan\n",
    "  lead=1\nk=\n=v\n = \n",
    "k=v\r\nk2=v2\r\n[s]\r\n",
    "k=v\nno newline at end",
    "[0123456789012345678901234567890123456789012345678901234567890]\n"
    "k=v\n",
    "n0123456789012345678901234567890123456789012345678901234567890=v\n"
    "  more\n",
    "k=0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "end\nnext=1\n",
    "k=v\nreject=1\nk2=v2\nreject=2\n",
    "a=1\nbad\nb=2\n[x\nc=3\n",
    "k=\"quoted ; not\"\nk2 = v ;; two\nk3=#hash\n",
};

static int
handler(void *user, const char *section, const char *name, const char *value)
{
    (void)user;
    printf("  [%s] %s = %s%s%s\n", section, name ? name : "(null)",
           value ? "<" : "", value ? value : "(null)", value ? ">" : "");
    return !(name != NULL && strcmp(name, "reject") == 0);
}

static void
run_all(const char *label)
{
    printf("== %s\n", label);
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        printf(" case %zu\n", i);
        printf(" rc %d\n", ini_parse_string(corpus[i], handler, NULL));
    }
}

int
main(int argc, char **argv)
{
    run_all("defaults");
    ini_allow_multiline = 0;
    run_all("no multiline");
    ini_allow_multiline = 1;
    ini_allow_inline_comments = 0;
    run_all("no inline comments");
    ini_allow_inline_comments = 1;
    ini_stop_on_first_error = 1;
    run_all("stop on first error");
    ini_stop_on_first_error = 0;
    ini_allow_no_value = 1;
    run_all("no value allowed");
    ini_allow_no_value = 0;
    ini_allow_bom = 0;
    run_all("no bom");
    ini_allow_bom = 1;
    ini_use_stack = 0;
    ini_allow_realloc = 1;
    ini_initial_alloc = 16;
    run_all("heap, growing");
    ini_allow_realloc = 0;
    run_all("heap, fixed 16");
    ini_use_stack = 1;
    for (int i = 1; i < argc; i++)
        printf("file %s rc %d\n", argv[i], ini_parse(argv[i], handler, NULL));
    printf("missing rc %d\n", ini_parse("/nonexistent/x.ini", handler, NULL));
    return 0;
}
