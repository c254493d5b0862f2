"""Export to speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

One "sampled" profile per sample type (or only the chosen one), all sharing one frame table:
a frame per (function name, file), with the function's start line when the profile has one.
A sample is a unique call stack, root first, weighted by the sum of its samples' values,
so each profile's weights add up to the same total `go tool pprof -top` prints. Samples
with a zero value are left out (speedscope would draw nothing for them), as are types whose
values are negative (a diff): speedscope has no way to draw less.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tui.core.pprof.model import Profile

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
# pprof units speedscope knows; any other (count, or a unit pprof has no name for) is "none"
UNITS = {
    "nanoseconds": "nanoseconds",
    "microseconds": "microseconds",
    "milliseconds": "milliseconds",
    "seconds": "seconds",
    "bytes": "bytes",
}


def speedscope_unit(unit: str) -> str:
    return UNITS.get(unit, "none")


def to_speedscope(
    profile: Profile,
    sample_indices: list[int] | None = None,
    name: str = "",
    active: int | None = None,
) -> dict[str, Any]:
    """The speedscope file as a dict. `sample_indices`: which types (default: all).

    Raises ValueError when a chosen type has negative values (a diff profile).
    """
    types = list(range(profile.n_types)) if sample_indices is None else list(sample_indices)
    offs, entries = profile.stack_lines
    s = profile.n_stacks
    # shared frames: one per (name, file); address-only entries are named by their address
    nent = profile.line_func.shape[0]
    fr_of_entry = np.zeros(nent, dtype=np.int64)
    frames: list[dict[str, Any]] = []
    index: dict[tuple[str, str], int] = {}
    used = np.zeros(nent, dtype=bool)
    used[entries] = True
    for e in np.flatnonzero(used).tolist():
        f = int(profile.line_func[e])
        if f >= 0:
            key = (profile.func_name[f], profile.func_file[f])
            line = int(profile.func_start_line[f])
        else:
            key = (profile.line_entry_name(e), "")
            line = 0
        got = index.get(key)
        if got is None:
            got = index[key] = len(frames)
            frame: dict[str, Any] = {"name": key[0] or "?"}
            if key[1]:
                frame["file"] = key[1]
            if line > 0:
                frame["line"] = line
            frames.append(frame)
        fr_of_entry[e] = got
    stack_frames = fr_of_entry[entries].tolist()
    bounds = offs.tolist()
    profiles: list[dict[str, Any]] = []
    label = name or Path(profile.source).name or "profile"
    for t in types:
        stype, unit = profile.sample_types[t]
        w = np.zeros(s, dtype=np.int64)
        np.add.at(w, profile.row_stack, profile.values[:, t])
        if (w < 0).any():
            raise ValueError(
                f"sample type {stype} has negative values (a diff?): speedscope cannot show them"
            )
        keep = np.flatnonzero(w > 0).tolist()
        weights = w[keep].tolist()
        samples = [stack_frames[bounds[k] : bounds[k + 1]] for k in keep]
        total = int(sum(weights))
        profiles.append(
            {
                "type": "sampled",
                "name": f"{label} {stype}",
                "unit": speedscope_unit(unit),
                "startValue": 0,
                "endValue": total,
                "samples": samples,
                "weights": weights,
            }
        )
    out: dict[str, Any] = {
        "$schema": SCHEMA,
        "shared": {"frames": frames},
        "profiles": profiles,
        "name": label,
        "exporter": "warroom",
    }
    if active is not None and active in types:
        out["activeProfileIndex"] = types.index(active)
    return out


def write_speedscope(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file beside it, then rename): never a partial file.

    Raises UserError, one line naming the path, when it cannot be written.
    """
    from tui.core.atomic import write_atomic
    from tui.errors import UserError

    target = Path(path).expanduser()
    if target.is_dir():
        raise UserError(f"{target}: is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise UserError(f"{target}: no such directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{target}: permission denied (cannot write in {parent})")
    data = json.dumps(doc, separators=(",", ":")).encode()
    try:
        write_atomic(target, data)
        # the temp file was private (0600); an export is for sharing: the umask's usual mode
        os.chmod(target, 0o666 & ~_umask())
    except OSError as exc:
        raise UserError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target


def _umask() -> int:
    """The process umask, read without os.umask's set-and-restore (not thread-safe: the
    viewer writes from a worker thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def default_path(profile_path: str | os.PathLike[str]) -> Path:
    """Beside the profile: `cpu-1.pb.gz` -> `cpu-1.speedscope.json`."""
    p = Path(profile_path)
    stem = p.name
    for suffix in (".gz", ".pb", ".pprof", ".prof"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
    return p.with_name(stem + ".speedscope.json")
