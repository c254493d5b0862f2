"""The alerts pane: Alertmanager alerts grouped by service, and the key that silences one.

The pane never fetches: the app hands it `update(alerts, status)` from the Alertmanager
source. Silencing is a request, not an action: `s` posts `AlertsPane.SilenceRequested` and
the app pushes the confirm dialog (tui/ui/screens/silence.py), so nothing is silenced by a
single key press.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.sources.alertmanager import Alert, group_by_service
from tui.sources.base import SourceStatus


def format_age(seconds: float | None) -> str:
    """Compact age: 42s, 7m, 3h05m, 2d04h."""
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


_STATE_STYLE = {"active": "bold red", "suppressed": "dim", "unprocessed": "yellow"}


class AlertsPane(Vertical):
    """Alerts as rows (service shown on the first row of its group); `s` asks to silence."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "silence", "Silence alert", id="alerts.silence"),
    ]
    DEFAULT_CSS = """
    AlertsPane { height: 1fr; }
    AlertsPane > #alerts-status { height: 1; color: $text-muted; }
    AlertsPane > #alerts-status.-bad { color: $error; text-style: bold; }
    AlertsPane > DataTable { height: 1fr; }
    """

    class SilenceRequested(Message):
        """The operator wants to silence `alert`; the app shows the confirm dialog."""

        def __init__(self, alert: Alert) -> None:
            super().__init__()
            self.alert = alert

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[Alert] = []  # one per table row, in display order
        self._early: tuple[list[Alert], SourceStatus | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("alertmanager: no data yet", id="alerts-status")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=False)
        table.add_columns("service", "state", "age", "alert", "summary")
        yield table

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one(DataTable)

    def update(
        self, alerts: Sequence[Alert], status: SourceStatus | None = None, now: float | None = None
    ) -> None:
        """Show `alerts` (the source's last good list) and, if given, the source state."""
        if not self.is_mounted:  # kept and shown on mount
            self._early = (list(alerts), status)
            return
        self._apply(alerts, status, now)

    def _apply(
        self, alerts: Sequence[Alert], status: SourceStatus | None, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        table = self.table
        selected = self.selected
        keep = selected.fingerprint if selected is not None else None
        table.clear()
        self.rows = []
        cursor = 0
        for group in group_by_service(alerts):
            for i, a in enumerate(group.alerts):
                service = Text(group.service, style="bold") if i == 0 else Text("")
                state = Text(a.state, style=_STATE_STYLE.get(a.state, ""))
                table.add_row(service, state, format_age(a.age(now)), a.name, a.summary)
                if a.fingerprint and a.fingerprint == keep:
                    cursor = len(self.rows)
                self.rows.append(a)
        if self.rows:
            table.move_cursor(row=cursor)
        self._show_status(alerts, status)

    def on_mount(self) -> None:
        if self._early is not None:
            alerts, status = self._early
            self._early = None
            self._apply(alerts, status)

    def _show_status(self, alerts: Sequence[Alert], status: SourceStatus | None) -> None:
        label = self.query_one("#alerts-status", Static)
        active = sum(1 for a in alerts if a.state == "active")
        counts = f"{active} active, {len(alerts) - active} suppressed"
        bad = status is not None and status.state in ("down", "error", "stale")
        if bad and status is not None:
            since = ""
            if status.stale_since is not None:
                since = " since " + time.strftime("%H:%M:%S", time.localtime(status.stale_since))
            text = (
                f"alertmanager {status.state}{since}: {status.detail} "
                f"(showing last known: {counts})"
            )
        else:
            text = f"alertmanager: {counts}" if alerts else "alertmanager: no alerts"
        label.update(text)
        label.set_class(bad, "-bad")

    @property
    def selected(self) -> Alert | None:
        if not self.rows:
            return None
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def action_silence(self) -> None:
        alert = self.selected
        if alert is None:
            self.app.bell()
            return
        self.post_message(self.SilenceRequested(alert))
