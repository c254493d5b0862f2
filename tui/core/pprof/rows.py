"""What a `-top` table is made of, shared by the numpy engine (table.py) and the quick path
(quicktop.py), numpy-free so that the quick path imports nothing heavy: the row, the
granularities, pprof's default edge fraction and the name a line entry is shown under."""

from __future__ import annotations

import os
from typing import NamedTuple

GRANULARITIES = ("function", "file", "line")
PPROF_EDGE_FRACTION = 0.001  # go tool pprof's -edgefraction default: what its labels show


class FunctionRow(NamedTuple):
    name: str
    flat: int
    cum: int
    inline: bool
    inline_label: str = ""  # "", "(inline)" or "(partial-inline)"


def clean_path(path: str) -> str:
    return os.path.normpath(path) if path else ""


def address_name(granularity: str, address: int, mapping_file: str | None) -> str:
    """A location without a function: its address, or with "file" its mapping's object."""
    if granularity == "file" and mapping_file:
        return f"[{os.path.basename(mapping_file)}]"
    return f"{address:016x}"


def line_name(
    granularity: str, fname: str, ffile: str, lineno: int, mapping_file: str | None
) -> str:
    """The node name of a line entry of function (fname, ffile) at `lineno` (0 unless the
    granularity is "line"); `mapping_file` is its location's mapping's file, None without."""
    name = fname if granularity != "file" else ""
    file = clean_path(ffile) if granularity != "function" else ""
    parts = [name] if name else []
    if lineno != 0:
        parts.append(f"{file}:{lineno}")
    elif file:
        parts.append(file)
    elif not name:
        obj = os.path.basename(mapping_file) if mapping_file is not None else ""
        parts.append(f"[{obj}]" if obj else "<unknown>")
    return " ".join(parts)
