"""The reference: `go tool pprof -top` on a file, every row, in a forced unit."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def go_pprof_top(path: Path, unit: str, args: Sequence[str] = ()) -> list[str]:
    """The table rows (below the `flat flat% ...` header) of `go tool pprof -top`."""
    out = subprocess.run(
        [
            "go",
            "tool",
            "pprof",
            "-top",
            "-nodecount=1000000",
            "-nodefraction=0",
            "-edgefraction=0",
            f"-unit={unit}",
            *args,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    return out[next(i for i, ln in enumerate(out) if ln.strip().startswith("flat")) + 1 :]


def without_byte_units(rows: list[str]) -> list[str]:
    """go prints counts with a forced B unit; compare the numbers, whitespace-normalised."""
    return [" ".join(ln.replace("B ", " ").split()) for ln in rows]
