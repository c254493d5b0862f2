"""The dashboard driven by a recording: same screens, a timeline, actions off.

`ReplayApp` is `WarroomApp` with a `ReplayDriver` in place of the Hub and the replay's clock in
place of wall time, so a replayed screen at time T is drawn by the same code as the live screen
was at T. Space plays/pauses, arrows step, [ ] jump a minute, Home/End scrub to the ends.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ScreenStackError
from textual.binding import Binding, BindingType
from textual.widgets import Static

from tui.config import Config
from tui.core.events import AuditLine, Reset, SourceEvent
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
from tui.core.stats.spikes import SpikeEvent
from tui.sources.replay import ReplayDriver
from tui.ui.app import WarroomApp

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


class Timeline(Static):
    DEFAULT_CSS = """
    Timeline { height: 1; background: $panel; color: $foreground; }
    """

    def show(self, driver: ReplayDriver) -> None:
        rec = driver.recording
        span = max(rec.end - rec.start, 1e-9)
        frac = (driver.position - rec.start) / span
        clock = time.strftime("%H:%M:%S", time.localtime(driver.position))
        state = "paused" if driver.paused else ("end" if driver.finished else "playing")
        label = f" REPLAY {clock} {state} ×{driver.speed:g} "
        width = max(10, self.size.width - len(label) - 2)
        done = round(frac * width)
        bar = "━" * done + "●" + "─" * max(0, width - done - 1)
        self.update(Text.assemble((label, "bold reverse"), " ", bar))


def action_line(rec: dict[str, Any]) -> str:
    """One audit record as the actions pane lists it: when, who, what, to which service,
    and how it ended (text from the log is untrusted: control characters are dropped)."""
    from tui.ui.widgets.action_log import clean

    ts = rec.get("ts")
    clock = time.strftime("%H:%M:%S", time.localtime(float(ts))) if ts is not None else "?"
    parts = [
        clock,
        str(rec.get("user", "?")),
        str(rec.get("action", "?")),
        str(rec.get("service", "?")),
        str(rec.get("event", "?")),
    ]
    status = rec.get("status")
    if status is not None:
        parts.append(f"({status})")
    return clean(" ".join(parts))


def disable_actions(cfg: Config) -> None:
    """A replay never acts on the world: no actions are configured, everything read-only."""
    cfg.read_only = True
    cfg.actions = {}
    cfg.alertmanager = None
    for svc in cfg.services:
        svc.actions = {}
        svc.read_only = True


class ReplayApp(WarroomApp):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "replay_pause", "Play/pause", id="replay.pause"),
        Binding("right", "replay_step(10)", "+10s", id="replay.forward"),
        Binding("left", "replay_step(-10)", "-10s", id="replay.back"),
        Binding(
            "right_square_bracket", "replay_step(60)", "+1m", show=False, id="replay.forward_minute"
        ),
        Binding(
            "left_square_bracket", "replay_step(-60)", "-1m", show=False, id="replay.back_minute"
        ),
        Binding("home", "replay_seek(0)", "Start", show=False, priority=True, id="replay.start"),
        Binding("end", "replay_seek(1)", "End", show=False, priority=True, id="replay.end"),
        Binding("greater_than_sign", "replay_speed(1)", "Faster", show=False, id="replay.faster"),
        Binding("less_than_sign", "replay_speed(-1)", "Slower", show=False, id="replay.slower"),
    ]

    def __init__(self, cfg: Config, recording: Recording, speed: float = 1.0, name: str = "replay"):
        disable_actions(cfg)
        per_series = Counter(
            (e.get("service"), e.get("signal")) for e in recording.events if e["type"] == "point"
        )
        capacity = max(64, max(per_series.values(), default=0))
        store = MetricStore(capacity=capacity, max_series=cfg.max_series)
        self.driver = ReplayDriver(recording, store, speed=speed, name=name)
        self.has_alerts = any(e["type"] == "alerts" for e in recording.events)
        super().__init__(
            cfg, store=store, hub=self.driver, clock=self.driver.now, start_sources=True
        )
        self.timeline = Timeline(id="timeline")
        self.replayed_actions: list[str] = []  # the actions pane's lines up to the position
        self._rung: set[tuple[Any, Any, Any]] = set()  # spikes already announced

    def on_mount(self) -> None:
        # No super().on_mount(): Textual runs WarroomApp.on_mount itself (handlers run for
        # every class in the MRO); calling it too pushed the dashboard twice, and closing
        # the app then "resumed" it under an empty screen stack (a crash 1 run in 3).
        self.call_after_refresh(self._mount_timeline)

    def _make_extra_panes(self) -> list[tuple[str, str, Any]]:
        """Live panes, plus the alerts pane when the recording has alerts lines (the config's
        alertmanager is off in a replay: the pane shows what was recorded, nothing is asked)."""
        panes = super()._make_extra_panes()
        if self.has_alerts and all(pid != "tab-alerts" for _, pid, _ in panes):
            from tui.ui.widgets.alerts_pane import AlertsPane

            at = next(
                (i for i, (_, pid, _) in enumerate(panes) if pid == "tab-actions"), len(panes)
            )
            panes.insert(at, ("Alerts", "tab-alerts", AlertsPane(id="alerts-pane")))
        return panes

    # --- recorded operator actions (audit lines): listed in the actions pane, never run ----

    def on_source_event(self, event: SourceEvent) -> None:
        if isinstance(event, AuditLine):
            line = action_line(dict(event.record))
            self.replayed_actions.append(line)
            self._action_output(lambda log: log.write_line(line))
            return
        if isinstance(event, Reset):  # scrubbed back: the actions up to t are sent again
            self.replayed_actions.clear()
            self._action_output(lambda log: log.clear())
        super().on_source_event(event)
        if isinstance(event, SpikeEvent):
            key = (event.t, event.service, event.state)
            if key in self._rung:  # shown again after a scrub back: marked, not rung again
                self.spike_history.forget_sustained(event.service)
            self._rung.add(key)

    def _action_output(self, do: Any) -> None:
        from textual.widgets import Log

        pane = self.dashboard.pane("tab-actions") if self.dashboard.is_mounted else None
        if pane is not None and pane.is_mounted:
            for log in pane.query("#action-output").results(Log):
                do(log)

    async def _add_extra_panes(self) -> None:
        await super()._add_extra_panes()
        lines = list(self.replayed_actions)  # actions that came before the pane existed
        self._action_output(lambda log: log.write_lines(lines))

    # --- actions: none in a replay ---------------------------------------------------------

    def service_actions(self, service: str) -> list[tuple[Any, bool, str | None]]:
        """No action in a replay, built-in ones included (a baseline refresh would snapshot
        replayed data as the live baseline): no keys, no palette entries, no help lines."""
        return []

    def run_service_action(self, action: Any, disabled: str | None = None) -> None:
        self.notify("actions are disabled in a replay", severity="warning")

    def redraw_now(self) -> None:
        # A redraw timer can fire while the app closes, after the screens are gone; the
        # replay's clock ticks often enough to hit that (ScreenStackError on exit).
        try:
            self.screen  # noqa: B018 - raises once the screen stack is empty
        except ScreenStackError:
            return
        super().redraw_now()

    def _mount_timeline(self) -> None:
        self.dashboard.mount(self.timeline, before=self.dashboard.status_bar)
        self.set_interval(0.25, self._show_timeline)

    def _show_timeline(self) -> None:
        if self.timeline.is_mounted:
            self.timeline.show(self.driver)

    def action_replay_pause(self) -> None:
        self.driver.toggle_pause()
        self._show_timeline()

    def action_replay_step(self, seconds: float) -> None:
        self.driver.step(seconds)
        self._show_timeline()

    def action_replay_seek(self, fraction: float) -> None:
        rec = self.driver.recording
        self.driver.seek(rec.start + fraction * (rec.end - rec.start))
        self._show_timeline()

    def action_replay_speed(self, direction: int) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.driver.speed))
        self.driver.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + direction))]
        self._show_timeline()
