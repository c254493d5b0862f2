"""The detail tabs below the service table: the visible one is brought up to date on each
redraw (hidden ones wait for activation); the Regression check runs in a thread; the panes
other than Service are imported and added after the first frame."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import TabbedContent, TabPane

from tui.errors import UserError
from tui.ui.app_base import WarroomBase

REGRESSION_EVERY = 5.0  # seconds between regression re-checks of the same service


class DetailPanes(WarroomBase):
    _regression_key: tuple[str, float, int] | None
    _layout_warned: set[str]  # services whose layout warning was toasted
    panes_ready: bool  # the other panes are added after the first frame

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
