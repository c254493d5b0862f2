"""The Textual app: owns the store and the Hub, coalesces updates, redraws what is visible.

Data flows one way: the Hub's sources write into the MetricStore and hand their typed events
(tui.core.events) to `post_source_event`, which posts them as Textual messages (thread-safe).
A refresh's closing `PointBatch` becomes a `StoreUpdated` message; those are coalesced into
one redraw, skipped while paused or while a modal screen covers the dashboard. Spike history
lives in tui.core.spike_history; profile and baseline look-ups on disk in
tui.sources.profile_lookup, called in worker threads. Widgets never fetch.

This module is the app's data path (lifecycle, source events, redraw); the rest lives in
its parts: tui/ui/app_base.py (shared state), detail_panes.py, operator_actions.py and
view_keys.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import TabbedContent

from tui.config import Config
from tui.core.events import (
    RELEASE_EVENTS,
    Alerts,
    PointBatch,
    ProfilesArrived,
    ReleaseVerdict,
    Reset,
    SourceEvent,
)
from tui.core.metrics.store import MetricStore, retention_capacity
from tui.core.release_timeline import ReleaseHistory
from tui.core.spike_history import SpikeHistory
from tui.core.stats.spikes import SpikeEvent
from tui.errors import UserError
from tui.sources.base import SourceStatus
from tui.ui.detail_panes import DetailPanes
from tui.ui.messages import ServiceSelected, SourceEventPosted, StoreUpdated
from tui.ui.palette import ServiceCommands
from tui.ui.screens.dashboard import DashboardScreen
from tui.ui.terminal import prepare_terminal, require_terminal
from tui.ui.theme import load_themes, spark_height
from tui.ui.view_keys import ViewKeys
from tui.ui.widgets.service_rows import WINDOWS, build_rows
from tui.ui.widgets.status_bar import StatusBar

COALESCE = 0.05  # seconds: Hub updates closer than this become one redraw


class WarroomApp(ViewKeys, DetailPanes):
    TITLE = "warroom"
    # Absolute: Textual resolves a relative CSS_PATH beside the module of the class it runs,
    # and the demo's and replay's apps subclass this one from other folders.
    CSS_PATH = str(Path(__file__).with_name("warroom.tcss"))
    COMMANDS = App.COMMANDS | {ServiceCommands}  # per-service palette entries, by name
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        # f and d before the view keys: an 80-column footer has room for six keys
        Binding("f", "profile(False)", "Flame", id="app.flame"),
        Binding("d", "profile(True)", "Diff flame", id="app.diff_flame"),
        Binding("p,space", "toggle_pause", "Pause", id="app.pause"),
        Binding("s", "cycle_signal", "P50/P95/P99", id="app.signal"),
        Binding("1", "signal('p50')", "Show P50", show=False, id="app.signal.p50"),
        Binding("2", "signal('p95')", "Show P95", show=False, id="app.signal.p95"),
        Binding("3", "signal('p99')", "Show P99", show=False, id="app.signal.p99"),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in", id="app.zoom_in"),
        Binding("minus", "zoom(1)", "Zoom out", id="app.zoom_out"),
        Binding("w", "cycle_window", "Window", show=False, id="app.window"),
        Binding("t", "cycle_theme", "Theme", id="app.theme"),
        Binding("x", "toggle_detail", "Detail pane", show=False, id="app.detail"),
        Binding("F", "pick_profiles", "Choose profiles", show=False, id="app.pick_profiles"),
        Binding("ctrl+k", "stop_action", "Stop action", show=False, id="app.stop_action"),
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",  # Textual's own binding's words: the footer ends with "^p palette"
            show=False,
            priority=True,
            id="app.command_palette",
        ),
    ]

    def __init__(
        self,
        cfg: Config,
        store: MetricStore | None = None,
        hub: Any = None,
        *,
        clock: Callable[[], float] = time.time,
        start_sources: bool | None = None,
    ):
        """`store`/`hub` None: the app makes its own (the Hub is imported after the first
        frame so start-up stays fast). Tests pass a filled store and a fixed `clock`."""
        super().__init__()
        self.keymap = dict(cfg.keys)  # binding id -> keys, from the `keys:` section
        self.set_keymap(self.keymap)
        prepare_terminal(self)  # NO_COLOR, no animations, SIGHUP/SIGCONT-safe exit
        self.cfg = cfg
        self.store = (
            store
            if store is not None
            else MetricStore(
                capacity=retention_capacity(float(cfg.refresh)), max_series=cfg.max_series
            )
        )
        self.hub = hub
        self.clock = clock
        self.start_sources = (
            (store is None and hub is None) if start_sources is None else start_sources
        )
        self.themes = load_themes()
        if cfg.theme not in self.themes:
            where = f"{cfg.source}: theme: " if cfg.source else ""
            raise UserError(
                f"{where}unknown theme {cfg.theme!r} (available: {', '.join(self.themes)})"
            )
        for theme in self.themes.values():
            self.register_theme(theme)
        self.theme = cfg.theme
        # The configured window is a zoom level of its own (up to the store's 6 h), so a
        # `window: 30m` shows 30m, the span Prometheus is asked for.
        self.set_reactive(WarroomApp.window, min(float(cfg.window), max(WINDOWS)))
        self.windows = tuple(sorted({*WINDOWS, self.window}))
        self.spike_history = SpikeHistory()  # the events pane's list, the spike markers
        self._layout_warned: set[str] = set()  # services whose layout warning was toasted
        self.release_history = ReleaseHistory()
        self._regression_key: tuple[str, float, int] | None = None
        self.extra_statuses: list[SourceStatus] = []
        self.redraws = 0
        self._redraw_scheduled = False
        self._sources_started = False
        self.alerts: list[Any] = []
        self.alertmanager: Any = None
        self.runner: Any = None
        self.panes_ready = False  # the other panes are added after the first frame
        self.dashboard = DashboardScreen(action_bindings=self._action_bindings())

    # --- lifecycle ---------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self.theme_changed_signal.subscribe(self, lambda _theme: self._apply_theme())
        self._apply_theme()
        self.set_interval(min(1.0, float(self.cfg.refresh)), self.redraw_now)
        self.call_after_refresh(self.redraw_now)

    def on_ready(self) -> None:
        """After the first frame is on screen: add the detail panes and start the sources.
        Importing them (DataTables, statistics, httpx, aiohttp, grpc) takes a while and
        would otherwise delay that first frame."""
        self.run_worker(self._add_extra_panes(), name="panes", exit_on_error=False)
        if (self.hub is not None or self.start_sources) and not self._sources_started:
            self._sources_started = True
            self.run_worker(self._start_sources(), name="sources", exit_on_error=False)

    async def _start_sources(self) -> None:
        profiles = self.cfg.profiles
        if (profiles.dir or profiles.endpoints) and getattr(self, "profile_feed", None) is None:
            from tui.sources.pprof_fetch import ProfileFeed

            # Its own worker: scanning a big folder or a dead endpoint never delays the Hub.
            self.profile_feed = ProfileFeed(
                profiles, [s.name for s in self.cfg.services], self.post_source_event
            )
            self.run_worker(self.profile_feed.start(), name="profiles", exit_on_error=False)
        if self.hub is None:
            module = await asyncio.to_thread(importlib.import_module, "tui.sources.hub")
            self.hub = module.Hub(self.cfg, self.store, self.post_source_event, go_runtime=True)
        if self.hub.event_sink is None:  # a Hub or replay made by the caller
            self.hub.event_sink = self.post_source_event
        await self.hub.start()
        if self.cfg.alertmanager is not None and self.alertmanager is None:
            from tui.sources.alertmanager import AlertmanagerSource

            self.alertmanager = AlertmanagerSource(
                self.cfg.alertmanager,
                on_update=self._alerts_updated,
                audit_path=self.cfg.audit.path,
            )
            await self.alertmanager.start()
        self.notify_store_updated()

    def _profiles_arrived(self, event: ProfilesArrived) -> None:
        """New profiles: one toast per batch (a capture round is one notice). Only on the
        dashboard: an open flame screen follows the folder itself."""
        if self.screen is not self.dashboard:
            return
        from tui.core.pprof.catalog import profile_kind

        for bad in [a for a in event.files if not a.ok]:
            self.notify(f"profile not usable: {bad.error}", severity="warning", timeout=8)
        good = [a for a in event.files if a.ok]
        if not good:
            return

        def what(a: Any) -> str:
            kind = profile_kind(a.path.name) or "pprof"
            return f"{kind} profile for {a.service}" if a.service else f"{kind} profile"

        services = sorted({a.service for a in good if a.service})
        selected = self.dashboard.table.selected if self.dashboard.is_mounted else None
        if len(good) == 1:
            text = f"new {what(good[0])}: {good[0].path.name}"
        else:
            text = f"{len(good)} new profiles: " + ", ".join(what(a) for a in good[:4])
        key = self.key_display("app.flame")
        hint = (
            f"{key} to open"
            if not services or selected in services
            else (f"select {services[0]} and press {key} to open")
        )
        self.notify(f"{text} — {hint}", title="profile", timeout=8)
        self.notify_store_updated()  # the status bar names it too

    async def on_unmount(self) -> None:
        if self.runner is not None:  # a command still running is stopped and audited
            await self.runner.shutdown()
        feed = getattr(self, "profile_feed", None)
        for source in (feed, self.alertmanager, self.hub):
            if source is not None:
                with contextlib.suppress(Exception):
                    await source.stop()

    # --- data in -------------------------------------------------------------------------

    def post_source_event(self, event: SourceEvent) -> None:
        """The sources' sink, from any thread: each event becomes a message (post_message is
        thread-safe); a refresh's closing PointBatch becomes a coalescing StoreUpdated."""
        if isinstance(event, PointBatch):
            self.post_message(StoreUpdated())
        else:
            self.post_message(SourceEventPosted(event))

    def notify_store_updated(self) -> None:
        """Schedule one coalesced redraw (from any thread)."""
        self.post_message(StoreUpdated())

    def on_store_updated(self, message: StoreUpdated) -> None:
        if not self._redraw_scheduled:
            self._redraw_scheduled = True
            self.set_timer(COALESCE, self.redraw_now)

    def on_source_event_posted(self, message: SourceEventPosted) -> None:
        self.on_source_event(message.event)

    def on_source_event(self, event: SourceEvent) -> None:
        """One source event: spikes mark sparklines and may ring, releases mark the Service
        tab, both are listed in the events pane."""
        if isinstance(event, Reset):  # a replay scrubbed back: events up to t come again
            self.reset_events()
            return
        if isinstance(event, Alerts):  # a recording's alerts: what Alertmanager said at t
            from tui.sources.replay import alerts_of

            self._alerts_updated(alerts_of(event))
            return
        if isinstance(event, ProfilesArrived):
            self._profiles_arrived(event)
            return
        if isinstance(event, PointBatch):
            self.notify_store_updated()
            return
        if self.spike_history.add(event):  # the first SUSTAINED since the last notice
            self.set_timer(1.0, self._announce_sustained)
        if isinstance(event, RELEASE_EVENTS):
            self.release_history.apply(event.to_record())
            self._release_event(event)
        elif isinstance(event, SpikeEvent):
            self._list_event(event)
            if self.alertmanager is not None:  # with push_spikes, fired as an alert too
                self.alertmanager.submit_spike(event)

    def _list_event(self, event: SourceEvent) -> None:
        events_pane = self.dashboard.pane("tab-events") if self.dashboard.is_mounted else None
        if events_pane is not None and hasattr(events_pane, "add_event"):
            events_pane.add_event(event)

    def _release_event(self, event: SourceEvent) -> None:
        """A release, flap notice or before/after verdict: the events pane lists it, the
        Service tab marks it."""
        if isinstance(event, ReleaseVerdict) and "REGRESSION" in event.message:
            self.notify(event.message, title="release", severity="warning", timeout=10)
        self._list_event(event)
        self.notify_store_updated()

    def reset_events(self) -> None:
        """Forget the spikes and alerts shown so far, so re-sent ones are not shown twice."""
        self.spike_history.clear()
        self.release_history.clear()
        self.alerts = []
        events_pane = self.dashboard.pane("tab-events") if self.dashboard.is_mounted else None
        if events_pane is not None and hasattr(events_pane, "events"):
            events_pane.events.clear()
            if events_pane.is_mounted:
                events_pane.clear()

    def _announce_sustained(self) -> None:
        """One bell and one toast per second for however many services went SUSTAINED, so
        a shared cause (a bad deploy across 50 services) is one notice, not fifty."""
        names = self.spike_history.take_sustained()
        if not names:
            return
        bells = []
        for name in names:
            svc = self.cfg.service(name)
            det = (
                svc.detector if svc is not None and svc.detector is not None else self.cfg.detector
            )
            bells.append(det.bell)
        if any(bells):
            self.bell()
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        self.notify(f"P99 SUSTAINED spike: {shown}", severity="error", timeout=10)

    def service_list(self) -> list[tuple[str, float | None, float | None]]:
        """Configured services first, in config order, then any others that reported."""
        out: list[tuple[str, float | None, float | None]] = [
            (s.name, s.slo.p99, s.slo.error_ratio) for s in self.cfg.services
        ]
        known = {s.name for s in self.cfg.services}
        out += [(n, None, None) for n in self.store.names() if n not in known]
        return out

    def statuses(self) -> list[SourceStatus]:
        out = list(self.hub.statuses()) if self.hub is not None else []
        if self.alertmanager is not None:
            out.append(self.alertmanager.status)
        feed = getattr(self, "profile_feed", None)
        if feed is not None:
            out.append(feed.status())
        return out + self.extra_statuses

    # --- drawing -------------------------------------------------------------------------

    def redraw_now(self) -> None:
        """Redraw visible widgets from the store: skipped while paused or under a modal."""
        self._redraw_scheduled = False
        if not self.dashboard.is_mounted or not self.screen_stack:
            return  # a timer that fires after the screens are gone
        if self.screen is not self.dashboard:
            return
        if not self.dashboard.query(StatusBar):
            return  # still composing, or already tearing down
        status = self.dashboard.status_bar
        running = self.runner.running_for() if self.runner is not None else ()
        status.set_state(self.statuses(), self.store.dropped, self.paused, running=running)
        if self.paused:
            return
        now = self.clock()
        table = self.dashboard.table
        table.signal, table.window, table.scale = self.signal, self.window, self.cfg.spark_scale
        height = spark_height(self.current_theme)
        if table.row_height != height:  # the wall theme draws two-line sparklines
            table.row_height = height
            table.reset()
        rows = build_rows(
            self.store,
            self.service_list(),
            self.signal,
            self.window,
            now,
            stale_after=max(3 * float(self.cfg.refresh), 10.0),
            states=self._spike_states(),
            spikes=self.spike_history.times(),
            releases=self.release_history.markers(),
        )
        table.set_rows(rows, now)
        # the rows may have moved the cursor (a filter, a service gone): the detail follows
        # below, so without the watcher's own refresh
        self.set_reactive(WarroomApp.selected_service, table.selected)
        self._refresh_detail(now)
        self.redraws += 1

    def on_service_selected(self, message: ServiceSelected) -> None:
        self.selected_service = message.service

    def watch_selected_service(self) -> None:
        if self.dashboard.is_mounted and not self.paused:
            self._refresh_detail(self.clock())

    def watch_paused(self) -> None:
        self.redraw_now()

    def watch_signal(self) -> None:
        self.redraw_now()

    def watch_window(self) -> None:
        self.redraw_now()

    def on_tabbed_content_tab_activated(self) -> None:
        if not self.paused:
            self._refresh_detail(self.clock())

    def _apply_theme(self) -> None:
        self.redraw_now()

    # --- actions -------------------------------------------------------------------------

    def action_toggle_detail(self) -> None:
        detail = self.dashboard.query_one(TabbedContent)
        detail.display = not detail.display
        self.redraw_now()


def run_dashboard(cfg: Config) -> int:
    """Run the dashboard until the user quits; the terminal is restored on every exit path."""
    require_terminal("for output to a pipe use `warroom snapshot` or `warroom record`")
    app = WarroomApp(cfg)
    app.run()
    return int(app.return_code or 0)
