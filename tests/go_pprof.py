"""The reference: `go tool pprof -top` on a file, every row, in its default unit or a forced one."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path


def _go_pprof_top(path: Path, *flags: str) -> list[str]:
    """The lines `go tool pprof -top -nodefraction=0 FLAGS path` prints."""
    return subprocess.run(
        ["go", "tool", "pprof", "-top", "-nodefraction=0", *flags, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()


def go_pprof_top(
    path: Path, unit: str | None = None, args: Sequence[str] = (), edgefraction: str = "0.001"
) -> list[str]:
    """The table rows (below the `flat flat% ...` header) of `go tool pprof -top`, every node,
    with pprof's default unit ("minimum") and edge fraction (which decides the (inline)
    labels) unless told."""
    out = _go_pprof_top(
        path,
        "-nodecount=1000000",
        f"-edgefraction={edgefraction}",
        *([f"-unit={unit}"] if unit else []),
        *args,
    )
    return out[next(i for i, ln in enumerate(out) if ln.strip().startswith("flat")) + 1 :]


def go_pprof_total_line(path: Path, sample_index: str) -> str:
    """`Showing nodes accounting for X, P% of T total` of `go tool pprof -top` (every node)."""
    out = _go_pprof_top(path, f"-sample_index={sample_index}")
    return next(ln for ln in out if ln.startswith("Showing nodes"))


def go_pprof_dot_names(path: Path) -> list[tuple[str, str]]:
    """(full name, label name) of every node of `go tool pprof -dot`: the label is pprof's
    ShortenFunctionName with `::` and `.` turned into line breaks (multilinePrintableName)."""
    out = subprocess.run(
        ["go", "tool", "pprof", "-dot", "-nodecount=1000000", "-nodefraction=0", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    value = re.compile(r"^(?:-?[\d.]+(?:[a-zA-Zµ]+)?|0) (?:\(|of )")
    pairs = []
    for m in re.finditer(r'^N\d+ \[label="(.*?)" id=.*? tooltip="(.*?) \([^()]*\)"', out, re.M):
        parts = m.group(1).split("\\n")
        cut = next(i for i, p in enumerate(parts) if value.match(p))
        pairs.append((m.group(2), "\n".join(parts[:cut])))
    return pairs
