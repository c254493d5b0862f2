"""The hub's view of releases: versions and marks in, record lines out, comparisons when due.

The marks file (`warroom mark`) is an append-only JSON-lines file that the dashboard and
`record` tail by offset, so a mark written by another shell appears at the next refresh. A
line that is not a release is skipped and counted (named in `problems`), never fatal: the
file is shared by hand-written tools too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.core.atomic import append_json_line
from tui.core.metrics.store import MetricStore
from tui.core.releases import (
    FlapNotice,
    Release,
    ReleaseComparison,
    ReleaseLog,
    compare_release,
    due_at,
    release_windows,
)

if TYPE_CHECKING:
    from tui.core.release_breakdown import RouteSeries

MAX_PENDING = 200  # comparisons waiting for their after window
MAX_MARK_BYTES = 1 << 20  # read at most this much of the marks file per refresh


def marks_path(audit_path: str) -> Path:
    """The releases file beside the audit log, in warroom's state directory."""
    return Path(audit_path).expanduser().parent / "releases.jsonl"


def append_mark(path: str | os.PathLike[str], release: Release) -> None:
    append_json_line(path, release.to_record())


@dataclass
class MarksReader:
    """Reads the lines appended to the marks file since the last call."""

    path: Path
    offset: int = 0
    problems: list[str] = field(default_factory=list)
    _inode: int | None = None

    def read_new(self) -> list[Release]:
        try:
            st = self.path.stat()
        except OSError:
            return []
        if st.st_ino != self._inode or st.st_size < self.offset:  # replaced or truncated
            self._inode, self.offset = st.st_ino, 0
        if st.st_size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(MAX_MARK_BYTES)
        cut = data.rfind(b"\n")
        if cut < 0:
            return []  # a line still being written
        self.offset += cut + 1
        out = []
        for i, line in enumerate(data[: cut + 1].splitlines()):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
                out.append(Release.from_record(rec))
            except ValueError as exc:
                if len(self.problems) < 10:
                    self.problems.append(f"{self.path}: line skipped ({exc}) near line {i + 1}")
        return out


class ReleaseTimeline:
    """Feeds a ReleaseLog and schedules each release's before/after comparison."""

    def __init__(
        self,
        store: MetricStore,
        window: float,
        rate_window: float,
        marks: Path | None = None,
        log: ReleaseLog | None = None,
        guard: float = 0.0,
    ) -> None:
        self.store = store
        self.window = window  # seconds on each side of a release
        self.rate_window = rate_window
        self.guard = guard  # seconds left out before a release (see compare_release)
        self.log = log or ReleaseLog()
        self.marks = MarksReader(marks) if marks is not None else None
        self._pending: list[Release] = []
        self.comparisons: dict[tuple[str, float], ReleaseComparison] = {}

    def observe(
        self, versions: dict[str, tuple[str, str]], t: float, source: str
    ) -> list[dict[str, Any]]:
        """{service: (version, revision)} of one refresh from one source -> record lines."""
        out: list[Release | FlapNotice] = []
        for service, (version, revision) in versions.items():
            out += self.log.observe(service, version, revision, t, source)
        return self._records(out)

    def add(self, release: Release) -> list[dict[str, Any]]:
        return self._records(self.log.add(release))

    def read_marks(self) -> list[dict[str, Any]]:
        if self.marks is None:
            return []
        out: list[Release | FlapNotice] = []
        for rel in self.marks.read_new():
            out += self.log.add(rel)
        return self._records(out)

    def _records(self, events: list[Release | FlapNotice]) -> list[dict[str, Any]]:
        for e in events:
            if isinstance(e, Release):
                self._pending.append(e)
                del self._pending[:-MAX_PENDING]
        return [e.to_record() for e in events]

    def add_pending(self, release: Release) -> None:
        """Put back a due release that was not judged yet."""
        self._pending.append(release)

    def tick(
        self, now: float, skip: Callable[[str], bool] = lambda service: False
    ) -> list[dict[str, Any]]:
        """Comparisons whose after window is complete at `now`, as record lines (those of the
        services `skip` names wait: their source judges them with its route breakdown)."""
        return [self.judge(rel) for rel in self.due(now, skip)]

    def due(self, now: float, skip: Callable[[str], bool] = lambda service: False) -> list[Release]:
        """The releases whose after window is complete at `now`, taken off the pending list."""
        due = [
            r
            for r in self._pending
            if due_at(r, self.window, self.rate_window) <= now and not skip(r.service)
        ]
        self._pending = [r for r in self._pending if r not in due]
        return due

    def windows(self, release: Release) -> tuple[tuple[float, float], tuple[float, float]]:
        return release_windows(release, self.window, self.rate_window, self.guard)

    def judge(
        self,
        rel: Release,
        routes: RouteSeries | None = None,
        route_step: float = 0.0,
        route_label: str = "",
        route_note: str = "",
    ) -> dict[str, Any]:
        """The comparison of one due release as its record line; `routes` is the source's
        per-route breakdown over both windows (tui.core.release_breakdown)."""
        cmp = compare_release(
            self.store, rel, self.window, self.rate_window, self.guard, routes, route_step
        )
        cmp.route_label, cmp.route_note = route_label, route_note
        self.comparisons[(rel.service, rel.t)] = cmp
        while len(self.comparisons) > MAX_PENDING:
            self.comparisons.pop(next(iter(self.comparisons)))
        return cmp.to_record()


@dataclass
class ReleaseNote:
    """A release as the Service tab lists it: when, what, and the verdict once known."""

    release: Release
    verdict: str = ""  # the comparison's message, when its after window is done


class ReleaseHistory:
    """The UI's bounded memory of release record lines (live or replayed), per service."""

    def __init__(self, keep: int = 20, max_services: int = 1000) -> None:
        self.keep = keep
        self.max_services = max_services
        self._notes: dict[str, list[ReleaseNote]] = {}
        self.flapping: dict[str, str] = {}  # service -> the flap notice's message

    def apply(self, event: dict[str, Any]) -> bool:
        """Take one record line; True when it was a release line (of any kind)."""
        kind = event.get("type")
        service = str(event.get("service", ""))
        if kind == "release":
            try:
                rel = Release.from_record(event)
            except ValueError:
                return False
            notes = self._notes.setdefault(service, [])
            if len(self._notes) > self.max_services:
                self._notes.pop(next(iter(self._notes)))
            notes.append(ReleaseNote(rel))
            del notes[: -self.keep]
            self.flapping.pop(service, None)
            return True
        if kind == "release_compare":
            for note in self._notes.get(service, []):
                if note.release.t == event.get("release_t"):
                    note.verdict = str(event.get("message", ""))
            return True
        if kind == "release_flap":
            versions = event.get("versions")
            if not isinstance(versions, list):
                return False  # a damaged line (read_recording names it)
            self.flapping[service] = "version flapping: " + " / ".join(map(str, versions))
            return True
        return False

    def of(self, service: str | None) -> list[ReleaseNote]:
        return list(self._notes.get(service or "", []))

    def markers(self) -> dict[str, list[tuple[float, str]]]:
        """{service: [(t, version)]}: what the sparklines mark."""
        return {s: [(n.release.t, n.release.version) for n in ns] for s, ns in self._notes.items()}

    def clear(self) -> None:
        self._notes.clear()
        self.flapping.clear()
