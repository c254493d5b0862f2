"""Recordings: JSON-lines event streams, gzip-compressed, bounded in size, readable after a crash.

A recording is what `warroom record` writes and `warroom replay` plays: one JSON object per
line, each with a time `t` and a `type` (point, spike, alerts, action, ...). Writers flush the
gzip stream with Z_SYNC_FLUSH after each batch, so a killed recorder leaves a file whose every
completed batch decompresses; readers stop quietly at a torn tail and say so.
"""

from __future__ import annotations

import bisect
import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tui.core.events import check_line, event_from_record
from tui.core.stats.spikes import GLITCH, OK, RECENT, RECOVERED, SUSTAINED
from tui.errors import UserError

GZIP_SUFFIXES = (".gz", ".gzip")


class RecordingWriter:
    """Append events to a recording; gzip when the name ends in .gz; stop at `max_bytes`.

    When the next batch would push the file past `max_bytes`, one final
    `{"type": "truncated"}` event is written and later events are counted but dropped: a
    recording left running for days cannot fill the disk.
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = 256 * 1024 * 1024):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.dropped = 0
        self.written = 0
        self._full = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Append: recording twice into one file adds to it (a gzip file gets a second
            # member, which every gzip reader, ours included, reads as one stream).
            self._raw = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UserError(f"{self.path}: cannot open for writing: {exc.strerror}") from None
        self._gzip = self.path.suffix in GZIP_SUFFIXES
        self._out: gzip.GzipFile | IO[bytes] = (
            gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0) if self._gzip else self._raw
        )

    def write(self, events: Iterable[dict[str, Any]]) -> None:
        """Write a batch of events and flush it to disk as one recoverable unit."""
        data = b"".join(
            json.dumps(e, separators=(",", ":"), allow_nan=False).encode() + b"\n" for e in events
        )
        if not data:
            return
        n = data.count(b"\n")
        if self._full:
            self.dropped += n
            return
        # Compressed output is at most about the input size; a conservative check keeps the
        # bound without having to compress twice.
        if self._raw.tell() + len(data) // (4 if self._gzip else 1) + 64 > self.max_bytes:
            self._full = True
            self.dropped += n
            data = json.dumps({"t": _last_t(data), "type": "truncated"}).encode() + b"\n"
            n = 0
        try:
            self._out.write(data)
            self._flush()
        except OSError as exc:
            raise UserError(
                f"{self.path}: write failed after {self.written} events: {exc.strerror}"
            ) from None
        self.written += n

    def _flush(self) -> None:
        if isinstance(self._out, gzip.GzipFile):
            self._out.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        os.fsync(self._raw.fileno())

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_t(data: bytes) -> float | None:
    try:
        t = json.loads(data.rstrip(b"\n").rsplit(b"\n", 1)[-1]).get("t")
    except (ValueError, AttributeError):
        return None
    return t if isinstance(t, (int, float)) else None


@dataclass
class Recording:
    events: list[dict[str, Any]]
    problem: str | None = None  # e.g. "torn last line": said once, not fatal
    times: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.events.sort(key=lambda e: e["t"])
        self.times = [float(e["t"]) for e in self.events]

    @property
    def start(self) -> float:
        return self.times[0] if self.times else 0.0

    @property
    def end(self) -> float:
        return self.times[-1] if self.times else 0.0

    def between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        """Events with t0 < t <= t1, in time order (the step of a replay clock)."""
        lo = bisect.bisect_right(self.times, t0)
        hi = bisect.bisect_right(self.times, t1)
        return self.events[lo:hi]

    def until(self, t: float) -> list[dict[str, Any]]:
        """Every event with time <= t: the state a scrub to `t` rebuilds from."""
        return self.events[: bisect.bisect_right(self.times, t)]


class ReplayedStates:
    """The spike detector's per-service state as a recording's spike lines imply it.

    A replay has no detector (its history before the recording is gone), so the service
    table's state column comes from the spike lines instead, with the live tracker's rules:
    SUSTAINED holds until RECOVERED (a GLITCH line during a shift does not change it), and
    GLITCH/RECOVERED fall back to OK after RECENT later p99 points without a new event.
    Same `states()` shape as `SpikeTracker.states()`, so the app reads both alike.
    """

    def __init__(self) -> None:
        self._state: dict[str, str] = {}
        self._quiet: dict[str, int] = {}  # p99 points since the service's last event

    def apply(self, e: Mapping[str, Any]) -> None:
        """Feed one event (in time order); only spike lines and p99 points matter."""
        kind = e.get("type")
        service = str(e.get("service"))
        if kind == "spike":
            state = str(e.get("state"))
            if not (state == GLITCH and self._state.get(service) == SUSTAINED):
                self._state[service] = state
            self._quiet[service] = 0
        elif kind == "point" and e.get("signal") == "p99" and service in self._quiet:
            value = e.get("value")
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                return  # the detector ignores no-traffic points too
            self._quiet[service] += 1
            if self._state[service] in (GLITCH, RECOVERED) and self._quiet[service] >= RECENT:
                self._state[service] = OK

    def states(self) -> dict[str, str]:
        return dict(self._state)

    def layout_warnings(self) -> dict[str, str]:
        """None: a recording keeps no buckets (the live tracker's same-named method)."""
        return {}

    def reset(self) -> None:
        """Forget everything: a backward scrub re-applies the recording from its start."""
        self._state.clear()
        self._quiet.clear()


def _decompressed_lines(path: Path) -> tuple[Iterator[bytes], list[str]]:
    problems: list[str] = []
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return iter(raw.splitlines(keepends=True)), problems
    parts: list[bytes] = []
    rest = raw
    while rest:  # one gzip member per recording session appended to the file
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            parts.append(d.decompress(rest))
        except zlib.error as exc:
            if not parts:
                raise UserError(f"{path}: not a readable gzip recording ({exc})") from None
            problems.append(f"unreadable data after {len(parts)} session(s) skipped ({exc})")
            break
        if not d.eof:
            problems.append("recording ends mid-stream (recorder was stopped); read up to the cut")
            break
        rest = d.unused_data
    return iter(io.BytesIO(b"".join(parts)).readlines()), problems


MAX_PROBLEMS = 10  # damaged lines named in `Recording.problem`
SHOWN_KINDS = ("release", "release_flap", "release_compare", "profiles")


def _damaged(event: dict[str, Any]) -> str | None:
    """Why a line of a kind replay shows but does not check field by field (check_line)
    cannot be read as that kind, or None. The line is kept (a newer warroom may read it)."""
    if event.get("type") not in SHOWN_KINDS:
        return None
    try:
        event_from_record(event)
    except (ValueError, KeyError, TypeError) as exc:
        return str(exc)
    return None


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording (plain or gzip). Malformed lines raise with their line number, except a
    torn final line, which a crash can leave and is reported as a problem instead."""
    p = Path(path)
    try:
        lines, problems = _decompressed_lines(p)
    except FileNotFoundError:
        raise UserError(f"{p}: no such recording") from None
    except IsADirectoryError:
        raise UserError(f"{p}: is a directory, not a recording") from None
    events: list[dict[str, Any]] = []
    all_lines = list(lines)
    for i, line in enumerate(all_lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError("an event needs a numeric 't'")
            check_line(event)
        except ValueError as exc:
            if i == len(all_lines) and not line.endswith(b"\n"):
                problems.append(f"line {i}: torn last line skipped")
                break
            raise UserError(f"{p}:{i}: not a recording event: {exc}") from None
        events.append(event)
        damaged = _damaged(event)
        if damaged and len(problems) < MAX_PROBLEMS:
            problems.append(f"line {i}: {event['type']} line not shown ({damaged})")
    if not events:
        raise UserError(f"{p}: the recording holds no events")
    return Recording(events, "; ".join(problems) or None)
