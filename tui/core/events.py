"""What sources hand the UI: frozen, typed events, one per kind of recording line.

The Hub, the replay driver and the profile feed call one sink (`EventSink`) with these; the
dashboard posts them as Textual messages, `warroom record` writes their `to_record()` lines,
and replay turns each line back into the same type with `event_from_record`. So a replayed
screen is drawn from the very objects the live one was.

- `SpikeEvent` (tui.core.stats.spikes): a change of the spike detector's state.
- `Release`, `FlapNotice` (tui.core.releases), `ReleaseVerdict`: release lines.
- `Alerts`: what Alertmanager answered (API v2 objects, parsed by tui.sources.alertmanager).
- `Point`: one stored observation (replay reads point lines; the Hub sends them batched).
- `PointBatch`: the last event of a refresh: the store took new points (one redraw);
  `points` carries them as record lines when the Hub was asked to emit points.
- `Reset`: a replay scrubbed back; what was shown is forgotten, events up to `t` come again.
- `ProfilesArrived`: new profile files, one batch per capture round.
- `AuditLine`: an operator action from the audit log (recorded; replay lists it).
- `OtherLine`: any other line (`truncated`, kinds a newer warroom writes), kept as it is.
  `routes` lines (an OTLP service's route rows, read by tui.core.baseline.route_samples)
  are skipped by replay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from tui.core.releases import FlapNotice, Release
from tui.core.stats.spikes import SpikeEvent


@dataclass(frozen=True, slots=True)
class Point:
    """One stored observation, as a `{"type": "point"}` line."""

    t: float
    service: str
    signal: str
    value: float
    flags: int = 0  # only hand-written or older lines carry flags and source
    source: str = ""

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "t": self.t,
            "type": "point",
            "service": self.service,
            "signal": self.signal,
            "value": self.value,
        }
        if self.flags:
            rec["flags"] = self.flags
        if self.source:
            rec["source"] = self.source
        return rec

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Point:
        if not (_strings(rec, "service", "signal") and _numbers(rec, "value")):
            raise ValueError(
                "a point event needs 'service' and 'signal' (strings) and a numeric 'value'"
            )
        flags, source = rec.get("flags", 0), rec.get("source", "")
        return cls(
            float(rec["t"]),
            rec["service"],
            rec["signal"],
            float(rec["value"]),
            int(flags) if isinstance(flags, (int, float)) else 0,
            source if isinstance(source, str) else "",
        )


@dataclass(frozen=True, slots=True)
class PointBatch:
    """A refresh is done: its points are in the store. The last event a refresh sends."""

    points: tuple[Point, ...] = ()

    def to_records(self) -> list[dict[str, Any]]:
        return [p.to_record() for p in self.points]


@dataclass(frozen=True, slots=True)
class Reset:
    """A replay scrubbed back to `t`: drop what was shown; events up to `t` are sent again."""

    t: float

    def to_record(self) -> dict[str, Any]:
        return {"t": self.t, "type": "reset"}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Reset:
        return cls(float(rec["t"]))


@dataclass(frozen=True, slots=True)
class Alerts:
    """The alerts Alertmanager listed at `t`, as the API v2 objects they were read from."""

    t: float
    alerts: tuple[Mapping[str, Any], ...]

    def to_record(self) -> dict[str, Any]:
        return {"t": self.t, "type": "alerts", "alerts": [dict(a) for a in self.alerts]}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Alerts:
        alerts = rec.get("alerts")
        if not (
            isinstance(alerts, list)
            and all(
                isinstance(a, dict)
                and isinstance(a.get("labels"), dict)
                and isinstance(a.get("annotations", {}), dict)
                and isinstance(a.get("status", {}), dict)
                for a in alerts
            )
        ):
            raise ValueError(
                "an alerts event needs 'alerts': a list of objects with "
                "'labels' and 'annotations' objects"
            )
        return cls(float(rec["t"]), tuple(alerts))


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One line of the actions audit log, recorded at the time it was written."""

    t: float
    record: Mapping[str, Any]

    def to_record(self) -> dict[str, Any]:
        return {"t": self.t, "type": "action", "record": dict(self.record)}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> AuditLine:
        if not isinstance(rec.get("record"), dict):
            raise ValueError("an action event needs 'record': an audit log record")
        return cls(float(rec["t"]), rec["record"])


@dataclass(frozen=True, slots=True)
class ReleaseVerdict:
    """A release's before/after comparison as its line keeps it (`ReleaseComparison`'s)."""

    t: float
    service: str
    version: str
    release_t: float | None
    rows: tuple[Mapping[str, Any], ...]
    message: str
    # the per-route rows (each with its "route") and the Go runtime rows, when there were any
    routes: tuple[Mapping[str, Any], ...] = ()
    runtime: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # route_label, route_note

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "t": self.t,
            "type": "release_compare",
            "service": self.service,
            "version": self.version,
            "release_t": self.release_t,
            "rows": [dict(r) for r in self.rows],
            "message": self.message,
            **self.extra,
        }
        if self.routes or "route_label" in self.extra:
            rec["routes"] = [dict(r) for r in self.routes]
        if self.runtime:
            rec["runtime"] = [dict(r) for r in self.runtime]
        return rec

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ReleaseVerdict:
        release_t = rec.get("release_t")
        extra = {k: str(rec[k]) for k in ("route_label", "route_note") if k in rec}
        return cls(
            float(rec["t"]),
            str(rec.get("service", "")),
            str(rec.get("version", "")),
            float(release_t) if _number(release_t) else None,
            _objects(rec.get("rows")),
            str(rec.get("message", "")),
            _objects(rec.get("routes")),
            _objects(rec.get("runtime")),
            extra,
        )


def _objects(rows: Any) -> tuple[Mapping[str, Any], ...]:
    """The objects of a list of rows (a damaged line's other items are left out)."""
    return tuple(r for r in rows if isinstance(r, dict)) if isinstance(rows, list) else ()


@dataclass(frozen=True, slots=True)
class NewProfile:
    """A profile file that appeared; `ok=False` carries why it cannot be used."""

    path: Path
    service: str | None
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProfilesArrived:
    """New profile files, announced together (a capture round is one notice)."""

    t: float
    files: tuple[NewProfile, ...]

    def to_record(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "type": "profiles",
            "files": [
                {"path": str(f.path), "service": f.service, "ok": f.ok, "error": f.error}
                for f in self.files
            ],
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ProfilesArrived:
        files = rec.get("files")
        if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str) for f in files
        ):
            raise ValueError("a profiles event needs 'files': a list of objects with a 'path'")
        return cls(
            float(rec["t"]),
            tuple(
                NewProfile(Path(f["path"]), f.get("service"), bool(f.get("ok")), f.get("error"))
                for f in files
            ),
        )


@dataclass(frozen=True, slots=True)
class OtherLine:
    """A line of a kind not listed here (`truncated`, a newer warroom's), passed on as is."""

    t: float
    type: str
    line: Mapping[str, Any]

    def to_record(self) -> dict[str, Any]:
        return dict(self.line)


# what a recording line reads back as (a PointBatch is never written: its points are)
RecordedEvent = (
    Point
    | SpikeEvent
    | Release
    | FlapNotice
    | ReleaseVerdict
    | Alerts
    | AuditLine
    | Reset
    | ProfilesArrived
    | OtherLine
)
SourceEvent = RecordedEvent | PointBatch
EventSink = Callable[[SourceEvent], None]
RELEASE_EVENTS = (Release, FlapNotice, ReleaseVerdict)


def _flap_from_record(rec: Mapping[str, Any]) -> FlapNotice:
    versions = rec.get("versions") or []
    if not isinstance(versions, list):
        raise ValueError("a release_flap event needs 'versions': a list")
    return FlapNotice(
        str(rec.get("service", "")),
        str(rec.get("source", "")),
        float(rec["t"]),
        tuple(str(v) for v in versions),
    )


def _spike_from_record(rec: Mapping[str, Any]) -> SpikeEvent:
    if not (_strings(rec, "service", "state") and _numbers(rec, "value", "baseline")):
        raise ValueError(
            "a spike event needs 'service' and 'state' (strings) and numeric 'value' and 'baseline'"
        )
    return SpikeEvent.from_record(rec)


_READERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "point": Point.from_record,
    "spike": _spike_from_record,
    "alerts": Alerts.from_record,
    "action": AuditLine.from_record,
    "release": Release.from_record,
    "release_flap": _flap_from_record,
    "release_compare": ReleaseVerdict.from_record,
    "reset": Reset.from_record,
    "profiles": ProfilesArrived.from_record,
}


def event_from_record(rec: Mapping[str, Any]) -> RecordedEvent:
    """The typed event of a recording line; ValueError says what the line lacks."""
    t, kind = rec.get("t"), rec.get("type")
    if not _number(t):
        raise ValueError("an event needs a numeric 't'")
    if not isinstance(kind, str):
        raise ValueError("an event needs a string 'type'")
    reader = _READERS.get(kind)
    if reader is None:
        return OtherLine(float(t), kind, rec)
    result: RecordedEvent = reader(rec)
    return result


CHECKED_KINDS = ("point", "spike", "alerts", "action")


def check_line(rec: Mapping[str, Any]) -> None:
    """ValueError when a recording line cannot be replayed: each needs 't' and 'type', and
    the kinds replay reads field by field (CHECKED_KINDS) their fields; a damaged line of
    another kind is passed on and skipped where it would be shown."""
    if rec.get("type") in CHECKED_KINDS or not _number(rec.get("t")):
        event_from_record(rec)
    elif not isinstance(rec.get("type"), str):
        raise ValueError("an event needs a string 'type'")


def event_or_line(rec: Mapping[str, Any]) -> SourceEvent:
    """`event_from_record`, or the line as an `OtherLine` when it does not read as its kind
    (a replayed file is never fatal past `read_recording`'s own checks)."""
    try:
        return event_from_record(rec)
    except (ValueError, KeyError, TypeError):
        t = rec.get("t")
        return OtherLine(float(t) if _number(t) else math.nan, str(rec.get("type")), rec)


def record_lines(event: SourceEvent) -> list[dict[str, Any]]:
    """The recording lines of one event (a PointBatch has one per point, maybe none)."""
    if isinstance(event, PointBatch):
        return event.to_records()
    return [event.to_record()]


class RecordLines:
    """An `EventSink` that keeps record lines in the order `warroom record` writes them.

    A refresh sends its release and spike events before its closing `PointBatch`; the
    batch's points go first, so a spike line follows the point that raised it (replay's
    state column counts p99 points after each spike line). `on_batch` runs after each batch.
    """

    def __init__(self, on_batch: Callable[[], None] | None = None) -> None:
        self.lines: list[dict[str, Any]] = []
        self._held: list[dict[str, Any]] = []
        self.on_batch = on_batch

    def __call__(self, event: SourceEvent) -> None:
        if isinstance(event, PointBatch):
            self.lines += event.to_records()
            self.lines += self._held
            self._held = []
            if self.on_batch is not None:
                self.on_batch()
        else:
            self._held.append(event.to_record())

    def take(self) -> list[dict[str, Any]]:
        """Every line so far (those of an unfinished refresh too), then forget them."""
        out, self.lines = [*self.lines, *self._held], []
        self._held = []
        return out


def _number(x: Any) -> TypeGuard[int | float]:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _strings(rec: Mapping[str, Any], *keys: str) -> bool:
    return all(isinstance(rec.get(k), str) for k in keys)


def _numbers(rec: Mapping[str, Any], *keys: str) -> bool:
    return all(_number(rec.get(k)) for k in keys)
