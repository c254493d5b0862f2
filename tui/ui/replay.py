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
from textual.binding import Binding, BindingType
from textual.widgets import Static

from tui.config import Config
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
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
        Binding("right_square_bracket", "replay_step(60)", "+1m", show=False,
                id="replay.forward_minute"),
        Binding("left_square_bracket", "replay_step(-60)", "-1m", show=False,
                id="replay.back_minute"),
        Binding("home", "replay_seek(0)", "Start", show=False, priority=True, id="replay.start"),
        Binding("end", "replay_seek(1)", "End", show=False, priority=True, id="replay.end"),
        Binding("greater_than_sign", "replay_speed(1)", "Faster", show=False,
                id="replay.faster"),
        Binding("less_than_sign", "replay_speed(-1)", "Slower", show=False, id="replay.slower"),
    ]

    def __init__(self, cfg: Config, recording: Recording, speed: float = 1.0,
                 name: str = "replay"):
        disable_actions(cfg)
        per_series = Counter((e.get("service"), e.get("signal")) for e in recording.events
                             if e["type"] == "point")
        capacity = max(64, max(per_series.values(), default=0))
        store = MetricStore(capacity=capacity, max_series=cfg.max_series)
        self.driver = ReplayDriver(recording, store, speed=speed, name=name)
        self.has_alerts = any(e["type"] == "alerts" for e in recording.events)
        super().__init__(cfg, store=store, hub=self.driver, clock=self.driver.now,
                         start_sources=True)
        self.timeline = Timeline(id="timeline")

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._mount_timeline)

    def _make_extra_panes(self) -> list[tuple[str, str, Any]]:
        """Live panes, plus the alerts pane when the recording has alerts lines (the config's
        alertmanager is off in a replay: the pane shows what was recorded, nothing is asked)."""
        panes = super()._make_extra_panes()
        if self.has_alerts and all(pid != "tab-alerts" for _, pid, _ in panes):
            from tui.ui.widgets.alerts_pane import AlertsPane

            at = next((i for i, (_, pid, _) in enumerate(panes) if pid == "tab-actions"),
                      len(panes))
            panes.insert(at, ("Alerts", "tab-alerts", AlertsPane(id="alerts-pane")))
        return panes

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
