# cmake -DIN=file -DOUT=file.c -DFUNC=name -DHEADER=header.h -P embed_text.cmake
# Writes OUT: a C file defining `const char *FUNC(size_t *len)` that
# returns the bytes of IN, NUL-terminated. Used for the status page, so
# the HTML is edited as HTML and still ships inside the executable.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp"
"/* Generated from ${IN} by cmake/embed_text.cmake: do not edit. */
#include <stddef.h>

#include \"${HEADER}\"

static const char text[] = {
${body}0x00};

const char *
${FUNC}(size_t *len)
{
    *len = ${nbytes};
    return text;
}
")
file(RENAME "${OUT}.tmp" "${OUT}")
