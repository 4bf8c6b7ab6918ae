"""``python3 -m convmat ARGS`` runs the `convmat` command-line tool: ``convmat ARGS``.

The tool is the compiled program installed with the package as convmat/_bin/convmat (a copy in a
wheel, a link to the installed or built program otherwise); this process is replaced by it, so
its output, exit status and signals are the tool's own.
"""

import os
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent / "_bin" / "convmat"


def main():
    """Replaces this process by the convmat tool with this process's arguments."""
    if not os.access(TOOL, os.X_OK):
        sys.exit(f"convmat: the command-line tool is not installed with this package "
                 f"(expected {TOOL})")
    os.execv(TOOL, ["convmat", *sys.argv[1:]])


if __name__ == "__main__":
    main()
