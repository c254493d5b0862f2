"""The on-disk document of one baseline snapshot: the Snapshot model, its JSON and its checks.

Format `warroom-baseline/1` only ever gains optional fields (revision, version_source, routes,
runtime), so a store written by an older warroom loads unchanged and an older warroom still
reads a newer snapshot (it ignores what it does not know).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.errors import UserError

FORMAT = "warroom-baseline/1"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class Snapshot:
    service: str
    version: str | None
    taken_at: float  # unix time
    taken_by: str
    signals: dict[str, list[float]]  # signal -> per-step samples (nan = gap)
    step: float  # seconds between samples
    bench: str | None = None  # path: a source file to copy in on save; the copy after load
    profile_files: list[str] = field(default_factory=list)  # likewise
    id: str | None = None  # set by save / load
    window: float | None = None  # seconds covered
    start: float | None = None  # unix time of the first step
    source: str = ""  # where the samples came from, e.g. "prometheus http://..."
    note: str = ""
    # signal -> how many samples were saturated (quantile in the +Inf bucket: the value is the
    # highest finite bound, a floor, not a measurement)
    saturated: dict[str, int] = field(default_factory=dict)
    revision: str = ""  # the release's revision (commit), when the version came with one
    version_source: str = ""  # where the version came from: cli, config, build_info, mark, ...
    route_label: str = ""  # the histogram label `routes` is keyed by ("": none stored)
    # route -> signal -> samples (same step as `signals`); "other" sums the rest
    routes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    other_routes: int = 0  # how many routes the "other" entry sums
    route_saturated: dict[str, dict[str, int]] = field(default_factory=dict)  # as `saturated`
    runtime: dict[str, list[float]] = field(default_factory=dict)  # go.* signal -> samples


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    service: str
    version: str | None
    taken_at: float
    taken_by: str
    current: bool
    signals: dict[str, int]  # signal -> number of samples (gaps excluded)
    has_bench: bool
    profiles: int
    source: str
    revision: str = ""
    routes: int = 0  # routes with per-route signals (the "other" entry included)


def check_name(kind: str, name: str) -> str:
    """Service names and ids become path components: refuse anything that could escape."""
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        raise UserError(f"{kind} {name!r}: use letters, digits, '.', '_' and '-' only")
    return name


def _floats_out(values: list[float]) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def _floats_in(values: Any, where: str) -> list[float]:
    if not isinstance(values, list):
        raise ValueError(f"{where} is not a list")
    out = []
    for v in values:
        if v is None:
            out.append(math.nan)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
        else:
            raise ValueError(f"{where} holds {v!r}, not a number")
    return out


def snapshot_to_json(s: Snapshot, rel_bench: str | None, rel_profiles: list[str]) -> bytes:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": s.id,
        "service": s.service,
        "version": s.version,
        "taken_at": s.taken_at,
        "taken_by": s.taken_by,
        "step": s.step,
        "window": s.window,
        "start": s.start,
        "source": s.source,
        "note": s.note,
        "signals": {k: _floats_out(list(v)) for k, v in s.signals.items()},
        "bench": rel_bench,
        "profile_files": rel_profiles,
        "saturated": {k: int(v) for k, v in s.saturated.items() if v},
    }
    if s.revision or s.version_source:
        doc["revision"], doc["version_source"] = s.revision, s.version_source
    if s.routes:
        doc["routes"] = {
            "label": s.route_label,
            "other_routes": s.other_routes,
            "saturated": {r: dict(c) for r, c in s.route_saturated.items() if c},
            "signals": {
                r: {k: _floats_out(list(v)) for k, v in sigs.items()}
                for r, sigs in s.routes.items()
            },
        }
    if s.runtime:
        doc["runtime"] = {k: _floats_out(list(v)) for k, v in s.runtime.items()}
    return (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode()


def snapshot_from_json(data: bytes, root: Path) -> Snapshot:
    """Parse and validate; raise ValueError with what is wrong (the caller adds the path)."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document")
    for key, types in (
        ("service", str),
        ("taken_at", (int, float)),
        ("taken_by", str),
        ("step", (int, float)),
        ("signals", dict),
        ("id", str),
    ):
        if not isinstance(doc.get(key), types):
            raise ValueError(f"field {key!r} missing or of the wrong type")
    signals = {str(k): _floats_in(v, f"signals.{k}") for k, v in doc["signals"].items()}
    bench = doc.get("bench")
    profiles = doc.get("profile_files") or []
    if bench is not None and not isinstance(bench, str):
        raise ValueError("field 'bench' is not a string")
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        raise ValueError("field 'profile_files' is not a list of strings")
    saturated = doc.get("saturated") or {}
    if not isinstance(saturated, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in saturated.values()
    ):
        raise ValueError("field 'saturated' is not a map of counts")
    routes = _routes_in(doc.get("routes"))
    runtime = doc.get("runtime")
    runtime = {} if runtime is None else runtime
    if not isinstance(runtime, dict):
        raise ValueError("field 'runtime' is not a map of signals")
    for key in ("revision", "version_source"):
        if not isinstance(doc.get(key) or "", str):
            raise ValueError(f"field {key!r} is not a string")
    return Snapshot(
        service=doc["service"],
        version=doc.get("version"),
        taken_at=float(doc["taken_at"]),
        taken_by=doc["taken_by"],
        signals=signals,
        step=float(doc["step"]),
        bench=str(root / bench) if bench else None,
        profile_files=[str(root / p) for p in profiles],
        id=doc["id"],
        window=doc.get("window"),
        start=doc.get("start"),
        source=doc.get("source") or "",
        note=doc.get("note") or "",
        saturated={str(k): int(v) for k, v in saturated.items()},
        revision=doc.get("revision") or "",
        version_source=doc.get("version_source") or "",
        route_label=routes[0],
        routes=routes[1],
        other_routes=routes[2],
        route_saturated=routes[3],
        runtime={str(k): _floats_in(v, f"runtime.{k}") for k, v in runtime.items()},
    )


def _routes_in(
    doc: Any,
) -> tuple[str, dict[str, dict[str, list[float]]], int, dict[str, dict[str, int]]]:
    """(label, route -> signal -> samples, other count, route -> signal -> saturated count)
    of the optional `routes` field."""
    if doc is None:
        return "", {}, 0, {}
    if not isinstance(doc, dict) or not isinstance(doc.get("signals"), dict):
        raise ValueError("field 'routes' is not a map with 'signals'")
    label, other = doc.get("label"), doc.get("other_routes", 0)
    if not isinstance(label, str) or not label:
        raise ValueError("field 'routes.label' is not a label name")
    if not isinstance(other, int) or isinstance(other, bool) or other < 0:
        raise ValueError("field 'routes.other_routes' is not a count")
    out: dict[str, dict[str, list[float]]] = {}
    for route, sigs in doc["signals"].items():
        if not isinstance(sigs, dict):
            raise ValueError(f"routes.signals.{route} is not a map of signals")
        out[str(route)] = {
            str(k): _floats_in(v, f"routes.signals.{route}.{k}") for k, v in sigs.items()
        }
    saturated = doc.get("saturated", {})
    if not isinstance(saturated, dict) or not all(
        isinstance(c, dict)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in c.values())
        for c in saturated.values()
    ):
        raise ValueError("field 'routes.saturated' is not a map of counts per route")
    return label, out, other, {str(r): dict(c) for r, c in saturated.items()}
