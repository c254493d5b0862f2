"""Versioned baseline store on disk: one directory per service, history kept, crash-safe.

Layout under `baseline.dir`:

    <service>/snapshots/<id>.json   one snapshot each, never rewritten once written
    <service>/files/<id>/<name>     copies of its benchmark output and profile files
    <service>/current.json          {"id": ...}: the pointer to the current baseline

Every file is written with `write_atomic` (temp file, fsync, rename, fsync dir), in the order
files -> snapshot -> pointer, so a crash at any point leaves either the previous state or the
new snapshot fully there; a reader never sees half a file (temp files start with "." and are
never read). A corrupt file is reported in `problems` and skipped, never fatal, and never
written over: a corrupt pointer is moved aside before a new one is written.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.atomic import write_atomic
from tui.errors import UserError

FORMAT = "warroom-baseline/1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


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


def check_name(kind: str, name: str) -> str:
    """Service names and ids become path components: refuse anything that could escape."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
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
    doc = {
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
    )


class BaselineStore:
    """See the module docstring. Methods never raise for a corrupt file; they report it in
    `problems` (one line each, with the path) and carry on with what is readable."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.dir = Path(directory).expanduser()
        self.problems: list[str] = []

    # -- paths

    def _svc(self, service: str) -> Path:
        return self.dir / check_name("service", service)

    def _snap_path(self, service: str, sid: str) -> Path:
        return self._svc(service) / "snapshots" / f"{check_name('baseline id', sid)}.json"

    def _pointer(self, service: str) -> Path:
        return self._svc(service) / "current.json"

    def _problem(self, msg: str) -> None:
        if msg not in self.problems:
            self.problems.append(msg)

    # -- reading

    def services(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.dir.iterdir()
            if p.is_dir() and _NAME_RE.match(p.name) and (p / "snapshots").is_dir()
        )

    def _read(self, service: str, sid: str) -> Snapshot | None:
        path = self._snap_path(service, sid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._problem(f"{path}: unreadable ({exc.strerror}); skipped")
            return None
        try:
            snap = snapshot_from_json(data, self._svc(service))
        except ValueError as exc:
            self._problem(f"{path}: corrupt baseline snapshot: {exc}; skipped")
            return None
        if snap.service != service or snap.id != sid:
            self._problem(f"{path}: belongs to {snap.service}/{snap.id}; skipped")
            return None
        return snap

    def _ids(self, service: str) -> list[str]:
        d = self._svc(service) / "snapshots"
        if not d.is_dir():
            return []
        return [
            p.stem
            for p in d.iterdir()
            if p.suffix == ".json" and not p.name.startswith(".") and _NAME_RE.match(p.stem)
        ]

    def _snapshots(self, service: str) -> list[Snapshot]:
        """Every readable snapshot, newest first (taken_at, then id)."""
        snaps = [s for s in (self._read(service, i) for i in self._ids(service)) if s]
        snaps.sort(key=lambda s: (s.taken_at, s.id or ""), reverse=True)
        return snaps

    def _pointer_id(self, service: str) -> str | None:
        path = self._pointer(service)
        try:
            doc = json.loads(path.read_bytes())
            sid = doc["id"]
            check_name("baseline id", sid)
            return str(sid)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, UserError) as exc:
            self._problem(f"{path}: corrupt current pointer ({exc}); using the newest snapshot")
            return None

    def current(self, service: str) -> Snapshot | None:
        """The snapshot the pointer names; the newest readable one when the pointer is
        missing, corrupt or names a corrupt snapshot (reported); None when there is none."""
        sid = self._pointer_id(service)
        if sid is not None:
            snap = self._read(service, sid)
            if snap is not None:
                return snap
            self._problem(
                f"{self._pointer(service)}: points to {sid}, which is missing or "
                "corrupt; using the newest snapshot"
            )
        snaps = self._snapshots(service)
        return snaps[0] if snaps else None

    def load(self, service: str, sid: str) -> Snapshot:
        snap = self._read(service, sid)
        if snap is None:
            path = self._snap_path(service, sid)
            known = ", ".join(s.id or "" for s in self._snapshots(service)[:5]) or "none"
            raise UserError(f"{path}: no usable baseline {sid!r} for {service} (recent: {known})")
        return snap

    def history(self, service: str) -> list[SnapshotInfo]:
        cur = self.current(service)
        out = []
        for s in self._snapshots(service):
            out.append(
                SnapshotInfo(
                    id=s.id or "",
                    service=s.service,
                    version=s.version,
                    taken_at=s.taken_at,
                    taken_by=s.taken_by,
                    current=cur is not None and s.id == cur.id,
                    signals={
                        k: sum(1 for v in vals if not math.isnan(v))
                        for k, vals in s.signals.items()
                    },
                    has_bench=s.bench is not None,
                    profiles=len(s.profile_files),
                    source=s.source,
                )
            )
        return out

    # -- writing

    def _new_id(self, service: str, taken_at: float) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(taken_at))
        while True:
            sid = f"{stamp}-{secrets.token_hex(3)}"
            if not self._snap_path(service, sid).exists():
                return sid

    def _copy_in(self, src: str, dest_dir: Path, used: set[str]) -> str:
        path = Path(src).expanduser()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"{path}: no such file to copy into the baseline") from None
        except OSError as exc:
            raise UserError(f"{path}: cannot read: {exc.strerror}") from None
        name = path.name if _NAME_RE.match(path.name) else "file"
        base, n = name, 1
        while name in used:
            n += 1
            name = f"{n}-{base}"
        used.add(name)
        write_atomic(dest_dir / name, data)
        return name

    def _set_pointer(self, service: str, sid: str) -> None:
        path = self._pointer(service)
        if path.exists() and self._pointer_id(service) is None:
            # never overwrite a corrupt file: keep it beside for whoever investigates
            aside = path.with_name(f"current.json.corrupt-{int(time.time() * 1000)}")
            os.replace(path, aside)
            self._problem(f"{path}: corrupt pointer kept as {aside.name}")
        write_atomic(path, (json.dumps({"id": sid}) + "\n").encode())

    def save(self, snapshot: Snapshot, make_current: bool = True) -> str:
        """Copy the snapshot's files in, write it, point `current` at it; return its id."""
        service = check_name("service", snapshot.service)
        sid = self._new_id(service, snapshot.taken_at)
        files = self._svc(service) / "files" / sid
        used: set[str] = set()
        rel_bench = None
        if snapshot.bench:
            rel_bench = f"files/{sid}/{self._copy_in(snapshot.bench, files, used)}"
        rel_profiles = [
            f"files/{sid}/{self._copy_in(p, files, used)}" for p in snapshot.profile_files
        ]
        snapshot.id = sid
        path = self._snap_path(service, sid)
        write_atomic(path, snapshot_to_json(snapshot, rel_bench, rel_profiles))
        if make_current:
            self._set_pointer(service, sid)
        snapshot.bench = str(self._svc(service) / rel_bench) if rel_bench else None
        snapshot.profile_files = [str(self._svc(service) / p) for p in rel_profiles]
        return sid

    def restore(self, service: str, sid: str) -> Snapshot:
        """Make an older snapshot current again (it must be readable)."""
        snap = self.load(service, sid)
        self._set_pointer(service, sid)
        return snap
