"""The events pane: spike events and releases, newest first, bounded.

Fed by the app with the sources' typed events (tui.core.events; record lines also do): spikes,
and the release lines of tui.core.releases (a release, a flap notice, the before/after
verdict "1.4.3: P99 +240% [+180%, +310%] (REGRESSION)"). It keeps at most `max_events`, so
a days-long wall-screen session cannot grow it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui.core.events import RELEASE_EVENTS, SourceEvent
from tui.core.stats.spikes import GLITCH, RECOVERED, SUSTAINED, SpikeEvent
from tui.core.units import latency

_STATE_STYLE = {SUSTAINED: "bold red", GLITCH: "yellow", RECOVERED: "green"}
RELEASE_KINDS = ("release", "release_flap", "release_compare")
_NOTE_STYLE = {"RELEASE": "bold cyan", "FLAPPING": "yellow", "REGRESSION": "bold red"}


@dataclass(frozen=True, slots=True)
class NoteRow:
    """A release line: its state word and one text that spans the value columns."""

    t: float
    service: str
    state: str
    text: str

    @classmethod
    def of(cls, ev: Mapping[str, Any]) -> NoteRow:
        t, service, kind = float(ev["t"]), str(ev.get("service", "")), ev.get("type")
        if kind == "release":
            prev = f" (was {ev['previous']})" if ev.get("previous") else ""
            rev = f" {ev['revision']}" if ev.get("revision") else ""
            return cls(t, service, "RELEASE", f"{ev['version']}{rev}{prev} [{ev.get('source')}]")
        if kind == "release_flap":
            versions = " / ".join(str(v) for v in ev.get("versions") or [])
            return cls(t, service, "FLAPPING", f"version flapping: {versions}")
        message = str(ev.get("message", ""))
        verdicts = [r.get("verdict", "") for r in ev.get("rows") or [] if isinstance(r, dict)]
        state = verdicts[0] if verdicts else "RELEASE"
        routes = [r for r in ev.get("routes") or [] if isinstance(r, dict)]
        if any(r.get("verdict") == "REGRESSION" for r in routes):
            state = "REGRESSION"  # "P99 +240% (REGRESSION) on /pay": the service may hide it
        return cls(t, service, state, message.split(" ", 1)[-1])


@dataclass(frozen=True, slots=True)
class EventRow:
    t: float
    service: str
    state: str
    value: float
    baseline: float
    ratio: float
    saturated: bool = False
    low_confidence: bool = False

    @classmethod
    def of(cls, ev: SpikeEvent | Mapping[str, Any]) -> EventRow:
        """From a SpikeEvent or a `{"type": "spike", ...}` record line."""
        if isinstance(ev, SpikeEvent):
            return cls(
                ev.t,
                ev.service,
                ev.state,
                ev.value,
                ev.baseline,
                ev.ratio,
                ev.saturated,
                ev.low_confidence,
            )
        value, baseline = float(ev["value"]), float(ev["baseline"])
        ratio = float(ev.get("ratio", value / baseline if baseline > 0 else float("inf")))
        return cls(
            float(ev["t"]),
            str(ev["service"]),
            str(ev["state"]),
            value,
            baseline,
            ratio,
            bool(ev.get("saturated", False)),
            bool(ev.get("low_confidence", False)),
        )


class EventsPane(DataTable[str | Text]):
    """Columns: time, service, state, value, baseline, ratio."""

    DEFAULT_CSS = """
    EventsPane { height: auto; max-height: 12; }
    """

    def __init__(
        self,
        max_events: int = 200,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", name=name, id=id, classes=classes)
        if max_events <= 0:
            raise ValueError("max_events must be positive")
        self.events: deque[EventRow | NoteRow] = deque(maxlen=max_events)  # oldest first

    def add_event(self, ev: SourceEvent | Mapping[str, Any]) -> None:
        self.add_events([ev])

    def add_events(self, events: Iterable[SourceEvent | Mapping[str, Any]]) -> None:
        """Append events (typed or as record lines; other than spikes and releases they are
        ignored), redraw once."""
        added = False
        for item in events:
            # a typed release event (tui.core.events) is listed from its record line
            ev = item.to_record() if isinstance(item, RELEASE_EVENTS) else item
            if isinstance(ev, Mapping) and ev.get("type") in RELEASE_KINDS:
                try:
                    self.events.append(NoteRow.of(ev))
                except (KeyError, TypeError, ValueError):
                    continue  # a damaged replayed line: not worth a crash
            elif not isinstance(ev, (SpikeEvent, Mapping)) or (
                isinstance(ev, Mapping) and ev.get("type") != "spike"
            ):
                continue
            else:
                self.events.append(EventRow.of(ev))
            added = True
        if added and self.is_mounted:
            self._redraw()

    def on_mount(self) -> None:
        # columns and rows need the running app; events handed over earlier are kept
        self.add_columns("time", "service", "state", "value", "baseline", "ratio")
        if self.events:
            self._redraw()

    def _redraw(self) -> None:
        self.clear()
        for e in reversed(self.events):
            if isinstance(e, NoteRow):
                self.add_row(
                    time.strftime("%H:%M:%S", time.localtime(e.t)),
                    e.service,
                    Text(e.state, style=_NOTE_STYLE.get(e.state, "")),
                    e.text,
                    "",
                    "",
                )
                continue
            value = latency(e.value, e.saturated)
            if e.low_confidence:
                value += " ?"
            self.add_row(
                time.strftime("%H:%M:%S", time.localtime(e.t)),
                e.service,
                Text(e.state, style=_STATE_STYLE.get(e.state, "")),
                value,
                latency(e.baseline),
                f"{e.ratio:.2f}x",
            )
