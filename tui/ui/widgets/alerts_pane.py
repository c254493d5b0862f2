"""The alerts pane: Alertmanager alerts grouped by service, the selected alert's annotations,
the active silences, and the keys that silence, expire and copy a runbook link.

The pane never fetches: the app hands it `update(alerts, status)` from the Alertmanager
source, and the silences are the source's last list (`source.silences`). Silencing is a
request, not an action: `s` posts `AlertsPane.SilenceRequested` and the app pushes the confirm
dialog (tui/ui/screens/silence.py), so nothing is silenced by a single key press. `e` expires
a silence behind the same kind of dialog; the pane runs that itself through the source
(`source=`, else the app's `alertmanager`), so the request and its failure stay in the pane.
The silences list takes no room while there is none.
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

from tui.sources.alertmanager import (
    Alert,
    AlertmanagerError,
    AlertmanagerSource,
    Silence,
    format_matchers,
    group_by_service,
    user_at_host,
)
from tui.sources.base import SourceStatus

RUNBOOK_KEYS = ("runbook_url", "runbook")  # the first is the Prometheus community convention
_DETAIL_FIRST = ("summary", "description", "runbook_url")


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
        Binding("e", "expire", "Expire silence", id="alerts.expire"),
        Binding("c", "copy_runbook", "Copy runbook URL", id="alerts.copy_runbook"),
    ]
    DEFAULT_CSS = """
    AlertsPane { height: 1fr; }
    AlertsPane > #alerts-status { height: 1; color: $text-muted; }
    AlertsPane > #alerts-status.-bad { color: $error; text-style: bold; }
    AlertsPane > #alerts-table { height: 1fr; min-height: 2; }
    AlertsPane > #alerts-detail { height: auto; max-height: 3; color: $text-muted; }
    AlertsPane > #silences-status { height: 1; color: $text-muted; text-style: bold; }
    AlertsPane > #silences-status.-bad { color: $error; }
    AlertsPane > #silences { height: auto; max-height: 6; overflow-x: hidden; }
    AlertsPane > .-none { display: none; }
    """

    class SilenceRequested(Message):
        """The operator wants to silence `alert`; the app shows the confirm dialog."""

        def __init__(self, alert: Alert) -> None:
            super().__init__()
            self.alert = alert

    def __init__(
        self,
        *,
        source: AlertmanagerSource | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[Alert] = []  # one per table row, in display order
        self.silence_rows: list[Silence] = []  # one per silences row
        self.expire_note = ""  # the last expire's failure, shown until the next success
        self._silences_bad = False  # the silences line shows a failure
        self._source = source
        self._early: tuple[list[Alert], SourceStatus | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("alertmanager: no data yet", id="alerts-status")
        table: DataTable[str | Text] = DataTable(
            cursor_type="row", zebra_stripes=False, id="alerts-table"
        )
        table.add_columns("service", "state", "age", "alert", "summary")
        yield table
        yield Static("", id="alerts-detail", classes="-none", markup=False)
        yield Static("", id="silences-status", classes="-none", markup=False)
        silences: DataTable[str | Text] = DataTable(
            cursor_type="row", zebra_stripes=False, id="silences", classes="-none"
        )
        silences.add_columns("ends in", "state", "matchers", "createdBy", "comment")
        yield silences

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#alerts-table", DataTable)

    @property
    def silences_table(self) -> DataTable[str | Text]:
        return self.query_one("#silences", DataTable)

    @property
    def source(self) -> AlertmanagerSource | None:
        """The source that lists and expires silences: the one given, else the app's."""
        if self._source is not None:
            return self._source
        found = getattr(self.app, "alertmanager", None)
        return found if isinstance(found, AlertmanagerSource) else None

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
        self._show_detail()
        source = self.source
        if source is not None:
            self._show_silences(source.silences, source.silences_error, now)

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

    # --- annotations and runbook -------------------------------------------------------

    def detail_text(self, alert: Alert | None) -> str:
        """The selected alert's annotations: summary, description, runbook first."""
        if alert is None or not alert.annotations:
            return ""
        ann = alert.annotations
        keys = [k for k in _DETAIL_FIRST if ann.get(k)]
        keys += sorted(k for k in ann if k not in _DETAIL_FIRST and ann[k])
        return " · ".join(f"{'runbook' if k == 'runbook_url' else k}: {ann[k]}" for k in keys)

    def _show_detail(self) -> None:
        self.query_one("#alerts-detail", Static).update(self.detail_text(self.selected))
        self._fit_parts()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "alerts-table":
            self._show_detail()

    def action_copy_runbook(self) -> None:
        """Copy the selected alert's runbook URL to the terminal's clipboard (OSC 52)."""
        alert = self.selected
        url = runbook_url(alert) if alert is not None else ""
        if alert is None or not url:
            self.app.bell()
            what = f"{alert.name or 'this alert'} has no" if alert is not None else "no alert, no"
            self.notify(f"{what} runbook_url annotation", severity="warning")
            return
        self.app.copy_to_clipboard(url)
        self.notify(f"copied runbook URL of {alert.name}: {url}", title="clipboard")

    # --- silences ----------------------------------------------------------------------

    def _show_silences(self, silences: Sequence[Silence], error: str, now: float) -> None:
        """The active and pending silences; nothing shown while there are none and all is
        well, so the pane looks as before."""
        table = self.silences_table
        keep = self.selected_silence_in_table()
        keep_id = keep.id if keep is not None else None
        table.clear()
        self.silence_rows = list(silences)
        cursor = 0
        for i, sil in enumerate(self.silence_rows):
            if sil.state == "pending":
                when = "starts " + format_age(
                    None if sil.starts_at is None else sil.starts_at - now
                )
            else:
                when = format_age(sil.remaining(now))
            state = Text(sil.state, style="dim" if sil.state == "pending" else "")
            table.add_row(when, state, format_matchers(sil.matchers), sil.created_by, sil.comment)
            if sil.id == keep_id:
                cursor = i
        if self.silence_rows:
            table.move_cursor(row=cursor)
        label = self.query_one("#silences-status", Static)
        active = sum(1 for s in silences if s.state == "active")
        counts = f"{active} active, {len(silences) - active} pending"
        if self.expire_note:
            text = self.expire_note
        elif error:
            text = f"silences not current: {error} (showing last known: {counts})"
        else:
            text = f"silences: {counts} (e expires the selected one)"
        label.update(text)
        self._silences_bad = bool(self.expire_note or error)
        label.set_class(self._silences_bad, "-bad")
        self._fit_parts()

    # --- room ----------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._fit_parts()

    def _fit_parts(self) -> None:
        """Share a short pane: the alerts rows first (up to half the pane, and all of them
        while they fit in 6 lines), then the annotations line(s), then the silences list;
        what has no room left is hidden rather than squeezing the alerts out of view."""
        height = self.size.height
        if not self.is_mounted or height == 0:
            return
        detail = self.query_one("#alerts-detail", Static)
        label = self.query_one("#silences-status", Static)
        table = self.silences_table
        alerts_want = 2 + len(self.rows)  # status line, header, rows
        rest = height - min(alerts_want, max(6, height // 2))
        text = self.detail_text(self.selected)
        width = max(1, self.size.width)
        detail_lines = min(3, rest, -(-len(text) // width)) if text else 0
        detail.set_class(detail_lines <= 0, "-none")
        detail.styles.max_height = max(1, detail_lines)
        rest -= max(0, detail_lines)
        listed = bool(self.silence_rows) and rest >= 3  # its line, the header, one row
        label.set_class(not (self.silence_rows or self._silences_bad) or rest < 1, "-none")
        table.set_class(not listed, "-none")
        if listed:
            table.styles.max_height = min(rest - 1, len(self.silence_rows) + 1)

    def selected_silence_in_table(self) -> Silence | None:
        if not self.silence_rows:
            return None
        row = self.silences_table.cursor_row
        return self.silence_rows[row] if 0 <= row < len(self.silence_rows) else None

    def silence_to_expire(self) -> Silence | None:
        """The silences list's row when it has the focus, else the silence that mutes the
        selected alert."""
        if self.silences_table.has_focus:
            return self.selected_silence_in_table()
        alert = self.selected
        if alert is not None:
            by_id = {s.id: s for s in self.silence_rows}
            for sid in alert.silenced_by:
                if sid in by_id:
                    return by_id[sid]
        return None

    def action_expire(self) -> None:
        from tui.ui.screens.silence import ExpireSilenceScreen

        silence = self.silence_to_expire()
        if silence is None:
            self.app.bell()
            self.notify(
                "no silence selected: tab into the silences list, or select a silenced alert",
                severity="warning",
            )
            return
        who = user_at_host()

        async def confirm_and_expire() -> None:
            if await self.app.push_screen_wait(ExpireSilenceScreen(silence, who)):
                await self.expire(silence, who)

        self.run_worker(confirm_and_expire(), group="expire", exit_on_error=False)

    async def expire(self, silence: Silence, who: str | None = None) -> bool:
        """Expire through the source; a failure is a line in the pane and a toast."""
        source = self.source
        if source is None:
            self.notify("alertmanager is not configured", severity="warning")
            return False
        try:
            await source.expire(silence, who)
        except AlertmanagerError as exc:
            self.expire_note = f"expire of silence {silence.id[:8]} failed: {exc}"
            self.notify(self.expire_note, severity="error")
            ok = False
        else:
            self.expire_note = ""
            self.notify(
                f"expired silence {silence.id[:8]} ({format_matchers(silence.matchers)})",
                severity="information",
            )
            ok = True
        if self.is_mounted:
            self._show_silences(source.silences, source.silences_error, time.time())
        return ok


def runbook_url(alert: Alert) -> str:
    """The alert's runbook link (`runbook_url`, or `runbook` when that is all it has)."""
    for key in RUNBOOK_KEYS:
        if alert.annotations.get(key, "").strip():
            return alert.annotations[key].strip()
    return ""
