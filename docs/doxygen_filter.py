#!/usr/bin/python3
"""Doxygen's INPUT_FILTER for include/convmat/: a header as Doxygen should read it.

The headers document each declaration with plain // comments just above it (STYLE.md), written
as prose, not Doxygen markup. This filter turns those lines into /// comments and escapes the
characters Doxygen would take for commands, HTML tags or links (\\ @ < > # % &), so the text
reaches the reference as written. Line numbers stay the same.
"""

import re
import sys

COMMENT = re.compile(r"^(\s*)//(?!/)(.*)$")
SPECIAL = re.compile(r"([\\@<>#%&$])")
# Not part of the reference, and beyond Sphinx's C++ parser: explicit instantiation declarations
# (extern template ...;) and deduction guides (Name(...) -> Name<...>;, with their template line).
GUIDE = re.compile(r"^\s*(\w+)\(.*\)\s*->\s*\1<.*>;\s*$")

with open(sys.argv[1], encoding="utf-8") as header:
    lines = header.read().split("\n")
skipping = False
for n, line in enumerate(lines):
    if line.lstrip().startswith("extern template"):
        skipping = True
    if skipping:
        skipping = ";" not in line
        lines[n] = ""
    elif GUIDE.match(line):
        lines[n] = ""
        if n > 0 and lines[n - 1].lstrip().startswith("template"):
            lines[n - 1] = ""
    else:
        match = COMMENT.match(line)
        if match:
            text = SPECIAL.sub(lambda c: "\\" + c.group(1), match.group(2))
            lines[n] = match.group(1) + "///" + text
sys.stdout.write("\n".join(lines))
