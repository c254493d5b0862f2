"""Play a recording into the metric store on a clock that pauses, steps and scrubs.

`ReplayDriver` has the Hub's shape (start, stop, statuses, now, `spikes.states()`) so the
dashboard runs the same code live and in replay; the app disables actions when its source is a
replay. Point lines go into the store; every other line goes to `event_sink` as the typed
event it was recorded from (tui.core.events), in time order, and each move of the clock ends
with a `PointBatch` (redraw). A backward scrub first sends a `Reset` (drop what was shown) and
then every event up to the new position again, so a spike is shown once however often one
scrubs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.core.baseline.route_samples import ROUTE_LINE
from tui.core.events import Alerts, EventSink, PointBatch, Reset, SourceEvent, event_or_line
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording, ReplayedStates
from tui.sources.base import Backoff, RefreshLoop, SourceStatus


class ReplayDriver:
    is_replay = True

    def __init__(
        self,
        recording: Recording,
        store: MetricStore,
        speed: float = 1.0,
        event_sink: EventSink | None = None,
        tick: float = 0.25,
        name: str = "replay",
    ):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.recording = recording
        self.store = store
        self.speed = speed
        self.event_sink = event_sink
        self.tick = tick
        self.paused = False
        self.position = recording.start  # recording time shown on screen
        self.status = SourceStatus(name=name, state="up", detail=Path(name).name)
        self._last_tick = time.monotonic()
        self._loop = RefreshLoop(
            name, self._tick, Backoff.fixed(tick), self.status, wait_first=True
        )
        self.spikes = ReplayedStates()  # the state column, as the Hub's SpikeTracker gives it
        self._undelivered: list[SourceEvent] = []  # events applied before a sink was set
        self._apply(self.recording.until(self.position))

    # --- the clock ---------------------------------------------------------------------

    def now(self) -> float:
        """The replay's present: what 'now' means to every view while replaying."""
        return self.position

    @property
    def finished(self) -> bool:
        return self.position >= self.recording.end

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        self._describe()
        return self.paused

    def step(self, seconds: float) -> None:
        """Move by `seconds` of recording time (negative steps back); pauses the clock."""
        self.paused = True
        self.seek(self.position + seconds)

    def seek(self, t: float) -> None:
        """Jump to recording time `t`; backwards rebuilds the store from the start."""
        t = min(max(t, self.recording.start), self.recording.end)
        if t < self.position:
            self.store.clear()
            self.spikes.reset()
            self._undelivered.clear()
            if self.event_sink:
                self.event_sink(Reset(t))
            self._apply(self.recording.until(t))
        else:
            self._apply(self.recording.between(self.position, t))
        self.position = t
        self._describe()
        if self.event_sink:
            self.event_sink(PointBatch())

    def advance(self, wall_seconds: float) -> None:
        """Advance by `wall_seconds` of real time scaled by `speed` (no-op when paused)."""
        if not self.paused and not self.finished:
            self.seek(self.position + wall_seconds * self.speed)

    def _apply(self, events: list[dict[str, Any]]) -> None:
        self._deliver_held()
        for e in events:
            self.spikes.apply(e)
            if e["type"] == "point":
                self.store.add(
                    e["service"],
                    e["signal"],
                    float(e["t"]),
                    float(e["value"]),
                    int(e.get("flags", 0)),
                    source=e.get("source", "replay"),
                )
            elif e["type"] == ROUTE_LINE:
                continue  # the route rows `record` keeps for baselines: nothing to show
            elif self.event_sink:
                self.event_sink(event_or_line(e))
            else:
                self._undelivered.append(event_or_line(e))

    def _deliver_held(self) -> None:
        """Events applied before anyone listened (the first instant, a seek before start)."""
        if self.event_sink and self._undelivered:
            held, self._undelivered = self._undelivered, []
            for e in held:
                self.event_sink(e)

    def _describe(self) -> None:
        clock = time.strftime("%H:%M:%S", time.localtime(self.position))
        total = self.recording.end - self.recording.start
        done = self.position - self.recording.start
        state = "paused" if self.paused else ("end" if self.finished else f"×{self.speed:g}")
        self.status.detail = f"{clock} {state} {done:.0f}/{total:.0f}s"

    # --- the Hub's shape ---------------------------------------------------------------

    def statuses(self) -> list[SourceStatus]:
        return [self.status]

    async def start(self) -> None:
        self._deliver_held()
        self._describe()
        self._last_tick = time.monotonic()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _tick(self) -> None:
        """Every `tick`: move the clock by the wall time since the last tick."""
        now = time.monotonic()
        self.advance(now - self._last_tick)
        self._last_tick = now


# --- alerts lines ----------------------------------------------------------------------


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


def alert_record(alert: Any) -> dict[str, Any]:
    """An Alertmanager `Alert` as a recording keeps it: the API v2 shape it was read from,
    so replay rebuilds it with the same parser (`Alert.from_api`)."""
    return {
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "status": {
            "state": alert.state,
            "silencedBy": list(alert.silenced_by),
            "inhibitedBy": list(alert.inhibited_by),
        },
        "startsAt": _iso(alert.starts_at),
        "endsAt": _iso(alert.ends_at),
    }


def alerts_of(event: Alerts | Mapping[str, Any]) -> list[Any]:
    """The alerts of an `Alerts` event or its `{"type": "alerts"}` line (read_recording has
    checked its shape), parsed as Alertmanager's answers are."""
    from tui.sources.alertmanager import Alert  # httpx: only when a recording has alerts

    alerts = event.alerts if isinstance(event, Alerts) else event.get("alerts", ())
    return [Alert.from_api(a) for a in alerts]
