#!/usr/bin/env python3
"""List the C functions of proxy/, fixer/ and common/ longer than a limit
(default 80 lines, the architecture rule) and whether the comment above
each says why it is long. Run from the top of the tree:

    tools/fnsize.py [LIMIT]

Exits 1 when a long function has no such comment. A definition is a line
that starts with the function's name and "(" at column 0, as the tree's
style writes them; the count runs from that line to the closing "}" at
column 0."""

import glob
import re
import sys

WHY = ("80 lines", "long on purpose", "why it", "which is why", "is long",
       "longer than", "scanner", "runs past")


def functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^([a-z_][a-z0-9_]*)\(", lines[i])
        if m:
            j = i
            while j < len(lines) and lines[j] != "{" and \
                    not lines[j].endswith(";"):
                j += 1
            if j < len(lines) and lines[j] == "{":
                k = j
                while k < len(lines) and lines[k] != "}":
                    k += 1
                above, t = [], i - 1
                while t >= 0 and not lines[t].startswith("/*") and \
                        t > i - 14:
                    above.append(lines[t])
                    t -= 1
                if t >= 0:
                    above.append(lines[t])
                text = " ".join(above).lower()
                yield m.group(1), k - i + 1, any(w in text for w in WHY)
                i = k
        i += 1


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    bad = 0
    for path in sorted(glob.glob("proxy/*.c") + glob.glob("fixer/*.c") +
                       glob.glob("common/*.c")):
        for name, n, why in functions(path):
            if n > limit:
                print("%4d %s %s %s" % (n, path, name,
                                        "why" if why else "NO WHY"))
                bad += not why
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
