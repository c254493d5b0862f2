"""Headless output: one writer for every command's tables, JSON and folded stacks.

A single `write` of a large string into a pipe whose reader has gone (`warroom profile F
--folded | head -c 100`) ends with a short write that CPython's buffered stdout does not
report, so the command exited 0 as if all went out. Slices of at most a pipe buffer each make
the next write fail with EPIPE, which `tui.cli.main` turns into the shell's 141.
"""

from __future__ import annotations

import sys

SLICE = 1 << 16  # Linux's default pipe buffer


def write_out(text: str) -> None:
    out = sys.stdout
    for i in range(0, len(text), SLICE):
        out.write(text[i : i + SLICE])
