"""The Textual app: owns the store and the Hub, coalesces updates, redraws what is visible.

Data flows one way: the Hub's sources write into the MetricStore and hand their typed events
(tui.core.events) to `post_source_event`, which posts them as Textual messages (thread-safe).
A refresh's closing `PointBatch` becomes a `StoreUpdated` message; those are coalesced into
one redraw, skipped while paused or while a modal screen covers the dashboard. Spike history
lives in tui.core.spike_history; profile and baseline look-ups on disk in
tui.sources.profile_lookup, called in worker threads. Widgets never fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.actions import SkipAction
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.keys import format_key
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from tui.config import Config, format_duration
from tui.config_keys import ACTION_PREFIX, normalize
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
from tui.ui.messages import ServiceSelected, SourceEventPosted, StoreUpdated
from tui.ui.palette import ServiceCommands, action_title
from tui.ui.screens.dashboard import DashboardScreen
from tui.ui.screens.help import HelpScreen, binding_rows
from tui.ui.terminal import prepare_terminal, require_terminal
from tui.ui.theme import THEME_ORDER, load_themes, spark_height
from tui.ui.widgets.service_table import SIGNALS, WINDOWS, build_rows
from tui.ui.widgets.status_bar import StatusBar

COALESCE = 0.05  # seconds: Hub updates closer than this become one redraw
REGRESSION_EVERY = 5.0  # seconds between regression re-checks of the same service


class WarroomApp(App[int]):
    TITLE = "warroom"
    # What the dashboard shows; each change redraws through its watcher.
    paused: var[bool] = var(False, init=False)
    signal: var[str] = var("p99", init=False)
    window: var[float] = var(900.0, init=False)  # seconds of the sparklines
    selected_service: var[str | None] = var(None, init=False)  # follows the service table
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

    def _running_version(self, service: str) -> tuple[str, str] | None:
        """(version, source) the release detection sees for `service` (a replay: the newest
        recorded release), for `b`'s new baseline and its "previous release" offer. None while
        the version flaps: a baseline must not be keyed by whichever flip came last."""
        if service in self.release_history.flapping:
            return None
        releases = getattr(self.hub, "releases", None)
        log = getattr(getattr(releases, "timeline", None), "log", None)
        for source in ("build_info", "otlp"):
            version = log.current(service, source) if log is not None else None
            if version:
                return version, source
        notes = self.release_history.of(service)
        return (notes[-1].release.version, notes[-1].release.source) if notes else None

    def _baseline_warning(self, action: Any) -> str | None:
        """A refresh taken during a SUSTAINED spike would make the incident the baseline."""
        from tui.core.actions import REFRESH_BASELINE

        if action.name != REFRESH_BASELINE or self._spike_states().get(action.service) != (
            "SUSTAINED"
        ):
            return None
        return (
            f"{action.service} is in a SUSTAINED P99 spike: this window would make the "
            "incident its baseline"
        )

    def _spike_states(self) -> dict[str, str]:
        tracker = getattr(self.hub, "spikes", None)
        return dict(tracker.states()) if tracker is not None else {}

    def _capture_windows(self, service: str | None) -> list[tuple[float, float]]:
        """When warroom captured `service`'s CPU profile lately (its latency may show it)."""
        feed = getattr(self, "profile_feed", None)
        fetcher = feed.fetcher if feed is not None else None
        if fetcher is None or service is None:
            return []
        return list(fetcher.cpu_windows.get(service, ()))

    def _layout_warnings(self) -> dict[str, str]:
        """Services whose P99 cannot move (it sits in the first histogram bucket); each is
        said once in a toast, and stays on the Service tab while it holds."""
        tracker = getattr(self.hub, "spikes", None)
        warnings = dict(tracker.layout_warnings()) if tracker is not None else {}
        for service in warnings.keys() - self._layout_warned:
            self.notify(f"{service}: {warnings[service]}", severity="warning", timeout=15)
        self._layout_warned = set(warnings)
        return warnings

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

    def _refresh_detail(self, now: float) -> None:
        """Only the visible tab is brought up to date; hidden ones wait for activation."""
        tab = self.dashboard.active_tab()
        warnings = self._layout_warnings()
        if tab == "tab-service":
            selected = self.dashboard.table.selected
            self.dashboard.show_service(
                self.store,
                selected,
                now,
                self.window,
                self.cfg.spark_scale,
                note=warnings.get(selected or "", ""),
                captures=self._capture_windows(selected),
                releases=self.release_history.of(selected),
                release_flap=self.release_history.flapping.get(selected or "", ""),
            )
        elif tab == "tab-regression":
            self._refresh_regression(self.dashboard.table.selected, now)
        elif tab == "tab-alerts":
            pane = self.dashboard.pane("tab-alerts")
            if pane is not None and pane.is_mounted:
                status = self.alertmanager.status if self.alertmanager is not None else None
                pane.update(self.alerts, status, now)

    def _refresh_regression(self, service: str | None, now: float) -> None:
        """Selected service's window vs its baseline, in a thread (statistics and profile
        parsing take a while); at most every REGRESSION_EVERY seconds per service."""
        pane = self.dashboard.pane("tab-regression")
        if pane is None or service is None:
            return
        key = (service, self.window, int(now // REGRESSION_EVERY))
        if key == self._regression_key:
            return
        self._regression_key = key
        cfg, store, window = self.cfg, self.store, self.window

        def work() -> Any:
            from tui.core.baseline.check import check_from_store
            from tui.sources.profile_lookup import regression_inputs

            baseline, profiles = regression_inputs(cfg, service)
            return check_from_store(
                store,
                service,
                baseline,
                window,
                now,
                dict(cfg.baseline.min_effect) or None,
                profiles,
                spacing=float(cfg.rate_window),
            )

        async def go() -> None:
            try:
                result = await asyncio.to_thread(work)
            except Exception as exc:  # a corrupt baseline or profile must not kill the app
                pane.set_title(f"{service}: regression check failed: {exc}")
                return
            b = result.baseline
            pane.set_title(
                f"{service} vs baseline {b.id} ({b.version or 'no version'})"
                if b is not None
                else f"{service}: no baseline yet (take one with the baseline action)"
            )
            pane.update_rows(result.table.rows if result.table is not None else [])
            pane.update_functions(result.functions, result.profile_note)

        self.run_worker(go(), group="regression", exclusive=True, exit_on_error=False)

    async def _add_extra_panes(self) -> None:
        if self.panes_ready:
            return
        try:
            panes = self._make_extra_panes()
            detail = self.dashboard.query_one("#detail", TabbedContent)
            for title, pane_id, widget in panes:
                await detail.add_pane(TabPane(title, widget, id=pane_id))
                self.dashboard.extra_panes.append((title, pane_id, widget))
                if pane_id == "tab-events":  # spikes that arrived before the pane existed
                    widget.add_events(list(self.spike_history.events))
        finally:
            self.panes_ready = True

    def _make_extra_panes(self) -> list[tuple[str, str, Any]]:
        """The panes imported after the first frame: regression table, events, alerts (with
        Alertmanager), action log."""
        from tui.ui.widgets.action_log import ActionLog
        from tui.ui.widgets.events_pane import EventsPane
        from tui.ui.widgets.regression_table import RegressionTable

        panes: list[tuple[str, str, Any]] = [
            ("Regression", "tab-regression", RegressionTable(id="regression")),
            ("Events", "tab-events", EventsPane(id="events-pane")),
        ]
        if self.cfg.alertmanager is not None:
            from tui.ui.widgets.alerts_pane import AlertsPane

            panes.append(("Alerts", "tab-alerts", AlertsPane(id="alerts-pane")))
        panes.append(("Actions", "tab-actions", ActionLog(id="action-log")))
        return panes

    def _alerts_updated(self, alerts: list[Any]) -> None:
        self.alerts = list(alerts)
        if self.dashboard.is_mounted and self.dashboard.active_tab() == "tab-alerts":
            self._refresh_detail(self.clock())

    def on_alerts_pane_silence_requested(self, message: Any) -> None:
        from tui.ui.screens.silence import SilenceScreen

        source = self.alertmanager
        if source is None:
            self.notify("alertmanager is not configured", severity="warning")
            return

        async def ask_and_silence() -> None:
            from tui.sources.alertmanager import AlertmanagerError

            req = await self.push_screen_wait(SilenceScreen(message.alert))
            if req is None:
                return
            try:
                res = await source.silence(req.alert, req.duration, req.comment, req.created_by)
            except (AlertmanagerError, UserError) as exc:
                self.notify(f"silence failed: {exc}", severity="error")
                return
            self.notify(res.summary(), severity="information")

        self.run_worker(ask_and_silence(), group="silence", exit_on_error=False)

    # --- operator actions (issue 7) ------------------------------------------------------

    def _declared_bindings(self) -> list[Binding]:
        """The app's own bindings (its class and the classes it extends) and the service
        table's, as declared: the keys an action's key must not take."""
        from tui.ui.widgets.service_table import ServiceTable

        classes = [*type(self).__mro__, ServiceTable]
        found = [b for cls in classes for b in cls.__dict__.get("BINDINGS", ())]
        return [b for b in found if isinstance(b, Binding)]

    def _keys_of(self, binding: Binding) -> list[str]:
        """A binding's keys under the keymap (`keys:`), as Textual names them."""
        keys = self.keymap.get(binding.id, binding.key) if binding.id else binding.key
        return normalize(keys)

    def key_display(self, binding_id: str) -> str:
        """How the footer shows the first key of one of the app's bindings (after `keys:`)."""
        binding = next(b for b in self._declared_bindings() if b.id == binding_id)
        return self.get_key_display(Binding(self._keys_of(binding)[0], binding.action))

    def _reserved_keys(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for b in self._declared_bindings():
            for key in self._keys_of(b):  # both spellings: an action's key may be `?` or `plus`
                out[key] = out[format_key(key)] = b.description or b.action
        return out

    def _action_bindings(self) -> list[Binding]:
        """One dashboard binding per configured action key (rollback `r`, baseline refresh
        `b`, ...): the selected service decides what it runs (`action_service_action`).
        A key the dashboard keeps (`keys:` may have moved one onto it) gets none."""
        from tui.core.actions.spec import configured_keys

        reserved = self._reserved_keys()
        return [
            Binding(
                key,
                f"app.service_action({name!r}, {key!r})",
                name.replace("_", " "),
                show=False,
                id=f"{ACTION_PREFIX}{name}",
            )
            for name, key in configured_keys(self.cfg)
            if key not in reserved
        ]

    def service_actions(self, service: str) -> list[tuple[Any, bool, str | None]]:
        """(action, bindable, reason) for `service`, [] when its actions cannot be resolved."""
        from tui.core.actions.spec import bindable_actions

        info = self.store.services.get(service)
        labels = dict(info.labels) if info is not None else {}
        try:
            return bindable_actions(self.cfg, service, labels, reserved=self._reserved_keys())
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return []

    def _action_refusal(
        self, service: str, action: Any, ok: bool, reason: str | None
    ) -> str | None:
        """Why `action` must not run at all (read-only, broken config), else None.

        A key clash only leaves the key unbound: the action still runs from the palette.
        """
        if ok:
            return None
        from tui.core.actions.spec import find_service, is_read_only

        read_only, _ = is_read_only(self.cfg, find_service(self.cfg, service))
        return reason if action.config_error or (action.dangerous and read_only) else None

    def _selected_service(self) -> str | None:
        return self.dashboard.table.selected if self.dashboard.is_mounted else None

    def action_service_action(self, name: str, key: str) -> None:
        """An action key on the dashboard: the selected service's action `name` when its key
        is `key`; a disabled one keeps its key to say why. Otherwise the key is let by."""
        service = self._selected_service()
        for action, ok, reason in self.service_actions(service) if service else []:
            if action.name != name or action.key != key:
                continue
            refusal = self._action_refusal(action.service, action, ok, reason)
            if ok or refusal:
                self.run_service_action(action, refusal)
                return
            # the key belongs to a dashboard binding or an earlier action: leave it there
        raise SkipAction()

    def run_service_action(self, action: Any, disabled: str | None = None) -> None:
        from tui.sources.actions import ActionRunner
        from tui.ui.action_flow import request_action, request_builtin

        app: Any = self  # App[int]: the helpers take App[object]
        log = self.dashboard.pane("tab-actions")
        if self.runner is None:
            self.runner = ActionRunner(
                self.cfg.audit.path,
                on_output=lambda out: log.write_output(out) if log is not None else None,
            )
        if log is not None:
            with contextlib.suppress(Exception):
                self.dashboard.query_one("#detail", TabbedContent).active = "tab-actions"
        if action.kind == "builtin":
            from tui.core.baseline import BaselineStore

            request_builtin(
                app,
                action,
                self.runner,
                log,
                cfg=self.cfg,
                metric_store=self.store,
                baseline_store=BaselineStore(self.cfg.baseline.dir),
                now=self.clock(),  # the window the dashboard shows, not wall time
                disabled=disabled,
                warning=self._baseline_warning(action),
                running=self._running_version(action.service),
            )
        else:
            request_action(app, action, self.runner, log, disabled=disabled)

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

    def action_stop_action(self) -> None:
        """ctrl+k: stop the running command (the selected service's, else the oldest): TERM to
        its process group, KILL after the grace time; audited as cancelled by the operator."""
        running = self.runner.running() if self.runner is not None else []
        if not running:
            self.notify("no action is running")
            return
        service = self._selected_service()
        name, svc = next(((a, s) for a, s in running if s == service), running[0])
        if not self.runner.stoppable(name, svc):
            self.notify(f"{name} for {svc} cannot be stopped: it ends at its timeout")
            return
        self.notify(f"stopping {name} for {svc}: TERM, then KILL after {self.runner.grace:g}s")
        self.run_worker(self.runner.stop(name, svc), group="action-stop", exit_on_error=False)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def action_signal(self, signal_name: str) -> None:
        if signal_name in SIGNALS:
            self.signal = signal_name

    def action_cycle_signal(self) -> None:
        self.action_signal(SIGNALS[(SIGNALS.index(self.signal) + 1) % len(SIGNALS)])

    def set_window(self, seconds: float) -> None:
        self.window = seconds

    def action_zoom(self, direction: int) -> None:
        i = self.windows.index(self.window) if self.window in self.windows else 1
        self.set_window(self.windows[max(0, min(len(self.windows) - 1, i + direction))])

    def action_cycle_window(self) -> None:
        i = self.windows.index(self.window) if self.window in self.windows else 0
        self.set_window(self.windows[(i + 1) % len(self.windows)])

    def action_cycle_theme(self) -> None:
        order = [n for n in THEME_ORDER if n in self.themes] + [
            n for n in self.themes if n not in THEME_ORDER
        ]
        i = order.index(self.theme) if self.theme in order else -1
        self.theme = order[(i + 1) % len(order)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_toggle_detail(self) -> None:
        detail = self.dashboard.query_one(TabbedContent)
        detail.display = not detail.display
        self.redraw_now()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        on_dashboard = self.screen is self.dashboard
        # another screen (the flame viewer) lists its own keys, not the dashboard's
        # action keys are listed below with what they do for the selected service
        bindings = {
            k: b
            for k, b in self.screen.active_bindings.items()
            if (on_dashboard or b.node is not self or b.binding.action in ("quit", "help"))
            and not (b.binding.id or "").startswith(ACTION_PREFIX)
        }
        rows = binding_rows(bindings)
        if not on_dashboard:
            self.push_screen(HelpScreen(rows))
            return
        rows.append(("tab, then ← →", "switch the detail tabs: Service, Regression, Alerts, ..."))
        shown = {desc for _, desc in rows}
        for pane in self.dashboard.query("#alerts-pane"):  # its keys work once it has focus
            for b in type(pane).BINDINGS:
                if isinstance(b, Binding) and b.show and b.description not in shown:
                    rows.append((b.key, f"{b.description} (Alerts tab)"))
        service = self.dashboard.table.selected if self.dashboard.is_mounted else None
        for action, ok, reason in self.service_actions(service) if service else []:
            if action.key:
                rows.append(
                    (
                        action.key,
                        f"{action.title} ({action.confirm} confirm)"
                        if ok
                        else f"{action.title}: disabled, {reason}",
                    )
                )
        self.push_screen(HelpScreen(rows))

    def action_open_routes(self, service: str | None = None) -> None:
        """Enter on a service (or the palette naming one): its routes, polled while open."""
        service = service or self._selected_service()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        from tui.ui.screens.routes import routes_screen

        screen = routes_screen(self.hub, self.cfg, service, self.clock)
        if isinstance(screen, str):
            self.notify(screen, severity="warning")
            return
        self.push_screen(screen)

    def action_profile(self, diff: bool, service: str | None = None) -> None:
        """`f`/`d`: the flame graph of the newest profile (`d`: against the baseline's),
        looked up in a thread (tui.sources.profile_lookup) so a slow disk never blocks."""
        service = service or self._selected_service()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        from tui.sources.profile_lookup import profile_to_open
        from tui.ui.screens.profile_viewer import ProfileScreen

        cfg, feed = self.cfg, getattr(self, "profile_feed", None)

        async def go() -> None:
            try:
                choice = await asyncio.to_thread(profile_to_open, cfg, service, diff)
                screen = ProfileScreen(  # with the fetcher, `c` in it captures this service
                    choice.path,
                    base=choice.base,
                    service=service,
                    fetcher=feed.fetcher if feed is not None else None,
                    watch_dir=cfg.profiles.dir,
                    pattern=cfg.profiles.pattern,
                )
            except UserError as exc:
                self.notify(str(exc), severity="warning", timeout=6)
                return
            self.push_screen(screen)

        self.run_worker(go(), group="profile", exclusive=True, exit_on_error=False)

    def action_pick_profiles(self) -> None:
        """`F`: the selected service's profiles and its baseline's, to choose from; listed
        in a thread (a folder on a slow disk must not freeze the dashboard)."""
        service = self.dashboard.table.selected if self.dashboard.is_mounted else None
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        cfg = self.cfg
        feed = getattr(self, "profile_feed", None)

        def work() -> Any:
            from tui.sources.profile_lookup import picker_sources
            from tui.ui.screens.profile_picker import picker_rows

            found = picker_sources(cfg, service)
            if found.problem is not None:
                self.call_from_thread(self.notify, found.problem, severity="warning", timeout=6)
            return picker_rows(found.files, found.baseline, found.baseline_id)

        def chosen(choice: Any) -> None:
            if choice is None:
                return
            from tui.ui.screens.profile_viewer import ProfileScreen

            self.push_screen(
                ProfileScreen(
                    choice.current,
                    base=choice.base,
                    service=service,
                    fetcher=feed.fetcher if feed is not None else None,
                )
            )

        async def go() -> None:
            from tui.ui.screens.profile_picker import ProfilePickerScreen

            rows = await asyncio.to_thread(work)
            self.push_screen(ProfilePickerScreen(service, rows), chosen)

        self.run_worker(go(), group="picker", exclusive=True, exit_on_error=False)

    # --- command palette -----------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name in self.themes:
            yield SystemCommand(
                f"Theme: {name}",
                f"Switch to the {name} theme",
                lambda n=name: setattr(self, "theme", n),
            )
        for w in self.windows:
            label = format_duration(w)
            yield SystemCommand(
                f"Zoom: {label} window", f"Show the last {label}", lambda w=w: self.set_window(w)
            )
        for sig in SIGNALS:
            yield SystemCommand(
                f"Signal: {sig.upper()}",
                f"Sparklines show {sig.upper()}",
                lambda s=sig: self.action_signal(s),
            )
        yield SystemCommand(
            "Resume" if self.paused else "Pause",
            "Freeze or resume the live view",
            self.action_toggle_pause,
        )
        if screen is self.dashboard:
            yield from self._action_commands()

    def _action_commands(self) -> Iterable[SystemCommand]:
        """Every action of the selected service, through the same confirm and refusal as
        its key: the only way to actions without a key (restore previous baseline), and a
        disabled one says why (choosing it is refused and audited, as its key is)."""
        service = self._selected_service()
        for title, help_text, run in self.action_entries(service) if service else []:
            yield SystemCommand(title, help_text, run)

    def action_entries(self, service: str) -> Iterator[tuple[str, str, Callable[[], None]]]:
        """(palette title, help, run) of each of `service`'s actions, resolved now."""
        for action, ok, reason in self.service_actions(service):
            refusal = self._action_refusal(service, action, ok, reason)
            title = action_title(action.name, action.service)
            if refusal:
                title, help_text = f"{title} (disabled)", f"disabled: {refusal}"
            else:
                what = action.description if action.kind == "builtin" else action.command_lines()[0]
                notes = [
                    f"key {action.key}" if ok and action.key else "",
                    f"{action.confirm} confirm",
                ]
                help_text = " · ".join([what, *[n for n in notes if n]])
            yield title, help_text, partial(self.run_service_action, action, refusal)


def run_dashboard(cfg: Config) -> int:
    """Run the dashboard until the user quits; the terminal is restored on every exit path."""
    require_terminal("for output to a pipe use `warroom snapshot` or `warroom record`")
    app = WarroomApp(cfg)
    app.run()
    return int(app.return_code or 0)
