"""What every part of the dashboard app shares: its state, declared once.

`WarroomApp` (tui/ui/app.py) is assembled from parts, each a class of its own module:
`DetailPanes` (tui/ui/detail_panes.py: the tabs below the table), `OperatorActions`
(tui/ui/operator_actions.py: action keys, confirm and run, the palette's action entries) and
`ViewKeys` (tui/ui/view_keys.py: pause, signal, zoom, theme, help, the screens `f`/`d`/`F`/Enter
open, the palette's view entries). This base declares the attributes they read, which
`WarroomApp.__init__` sets, and the view state as reactive vars (their watchers redraw).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.reactive import var

from tui.config import Config
from tui.core.metrics.store import MetricStore
from tui.core.release_timeline import ReleaseHistory
from tui.core.spike_history import SpikeHistory
from tui.ui.screens.dashboard import DashboardScreen


class WarroomBase(App[int]):
    # What the dashboard shows; each change redraws through its watcher (tui/ui/app.py).
    paused: var[bool] = var(False, init=False)
    signal: var[str] = var("p99", init=False)
    window: var[float] = var(900.0, init=False)  # seconds of the sparklines
    selected_service: var[str | None] = var(None, init=False)  # follows the service table

    cfg: Config
    store: MetricStore
    hub: Any  # tui.sources.hub.Hub, a ReplayDriver, or None until the sources start
    clock: Callable[[], float]
    keymap: dict[str, str]  # binding id -> keys, from the `keys:` section
    themes: dict[str, Any]
    windows: tuple[float, ...]  # the zoom levels
    dashboard: DashboardScreen
    spike_history: SpikeHistory
    release_history: ReleaseHistory
    alerts: list[Any]
    alertmanager: Any
    runner: Any  # tui.sources.actions.ActionRunner once an action ran

    def _selected_service(self) -> str | None:
        return self.dashboard.table.selected if self.dashboard.is_mounted else None

    def _spike_states(self) -> dict[str, str]:
        tracker = getattr(self.hub, "spikes", None)
        return dict(tracker.states()) if tracker is not None else {}
