"""The dashboard's view keys: pause, signal, zoom, theme, help, and the screens Enter
(routes), `f`/`d` (flame graphs) and `F` (profile picker) open; plus the palette's view
entries (themes, zoom levels, signals, pause) and, on the dashboard, the action entries."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.config import format_duration
from tui.config_keys import ACTION_PREFIX
from tui.errors import UserError
from tui.ui.operator_actions import OperatorActions
from tui.ui.screens.help import HelpScreen, binding_rows
from tui.ui.theme import THEME_ORDER
from tui.ui.widgets.service_rows import SIGNALS


class ViewKeys(OperatorActions):
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
