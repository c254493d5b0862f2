"""Versioned baseline store on disk: one directory per service, history kept, crash-safe.

Layout under `baseline.dir`:

    <service>/snapshots/<id>.json   one snapshot each, never rewritten once written
    <service>/files/<id>/<name>     copies of its benchmark output and profile files
    <service>/current.json          {"id": ...}: the pointer to the current baseline

The snapshot document itself (fields, JSON, compatibility) is tui.core.baseline.document.

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
import secrets
import time
from pathlib import Path

from tui.core.atomic import write_atomic
from tui.core.baseline.document import (
    FORMAT,
    NAME_RE,
    Snapshot,
    SnapshotInfo,
    check_name,
    snapshot_from_json,
    snapshot_to_json,
)
from tui.errors import UserError

__all__ = ["FORMAT", "BaselineStore", "Snapshot", "SnapshotInfo", "check_name"]


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
            if p.is_dir() and NAME_RE.match(p.name) and (p / "snapshots").is_dir()
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
            if p.suffix == ".json" and not p.name.startswith(".") and NAME_RE.match(p.stem)
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

    def of_version(self, service: str, version: str) -> Snapshot | None:
        """The newest readable baseline taken while `version` ran, or None."""
        return next((s for s in self._snapshots(service) if s.version == version), None)

    def previous_release(self, service: str, running: str | None = None) -> Snapshot | None:
        """The baseline of the release before `running` (default: the current baseline's
        version): the newest readable baseline taken on any other known version.

        Recency, not version order: after a rollback from 1.5.0 to 1.4.3 the release before
        1.5.0 is whichever ran last, and version strings have no order every team shares.
        None when the reference version is unknown or no other version has a baseline.
        """
        if running is None:
            cur = self.current(service)
            running = cur.version if cur is not None else None
        if not running:
            return None
        return next(
            (s for s in self._snapshots(service) if s.version and s.version != running), None
        )

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
                    revision=s.revision,
                    routes=len(s.routes),
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
        name = path.name if NAME_RE.match(path.name) else "file"
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
