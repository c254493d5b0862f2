"""Confirm a silence, or expiring one: shows exactly what will be sent, Cancel has the focus.

The dialog returns a `SilenceRequest` (or None when cancelled); the app then calls
`AlertmanagerSource.silence(...)`. Enter in a field moves on instead of confirming, so a
stray Enter never silences anything. `ExpireSilenceScreen` returns True to expire.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.config import format_duration, parse_duration
from tui.sources.alertmanager import Alert, Silence, format_matchers, user_at_host


@dataclass(frozen=True)
class SilenceRequest:
    alert: Alert
    duration: float  # seconds
    comment: str
    created_by: str


def matcher_text(alert: Alert) -> str:
    return ", ".join(f'{m["name"]}="{m["value"]}"' for m in alert.matchers())


class SilenceScreen(ModalScreen[SilenceRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="silence.cancel"),
    ]
    DEFAULT_CSS = """
    SilenceScreen { align: center middle; }
    SilenceScreen > Vertical { width: 80%; max-width: 100; height: auto;
        border: thick $warning; background: $surface; padding: 0 1; }
    SilenceScreen #silence-title { text-style: bold; }
    SilenceScreen #silence-error { color: $error; height: auto; }
    SilenceScreen Horizontal { height: auto; align-horizontal: right; }
    SilenceScreen Button { margin: 0 1; }
    """

    def __init__(
        self,
        alert: Alert,
        duration: float = 3600.0,
        comment: str = "",
        created_by: str | None = None,
    ) -> None:
        super().__init__()
        self.alert = alert
        self.default_duration = duration
        self.default_comment = comment
        self.created_by = created_by or user_at_host()

    def compose(self) -> ComposeResult:
        a = self.alert
        with Vertical():
            yield Label(f"Silence {a.name or 'alert'} on {a.service}?", id="silence-title")
            yield Static(f"matchers:   {matcher_text(a)}", id="silence-matchers")
            yield Static(f"createdBy:  {self.created_by}", id="silence-created-by")
            yield Label("duration (e.g. 30m, 2h):")
            yield Input(format_duration(self.default_duration), id="silence-duration")
            yield Label("comment (required):")
            yield Input(
                self.default_comment, placeholder="why, and a ticket link", id="silence-comment"
            )
            yield Static("", id="silence-error")
            with Horizontal():
                yield Button("Cancel", id="silence-cancel")  # as in every dialog: Cancel first
                yield Button("Silence", variant="warning", id="silence-confirm")

    def on_mount(self) -> None:
        self.query_one("#silence-cancel", Button).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "silence-cancel":
            self.dismiss(None)
            return
        request = self._request()
        if request is not None:
            self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _request(self) -> SilenceRequest | None:
        """The validated request, or None with the reason shown in the dialog."""
        error = self.query_one("#silence-error", Static)
        raw = self.query_one("#silence-duration", Input).value
        try:
            duration = float(parse_duration(raw))
        except ValueError as exc:
            error.update(f"duration: {exc}")
            return None
        if duration <= 0:
            error.update("duration: must be longer than 0s")
            return None
        comment = self.query_one("#silence-comment", Input).value.strip()
        if not comment:
            error.update("comment: Alertmanager requires one (say why)")
            self.query_one("#silence-comment", Input).focus()
            return None
        return SilenceRequest(self.alert, duration, comment, self.created_by)


def _clock_time(t: float | None) -> str:
    return "?" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


class ExpireSilenceScreen(ModalScreen[bool]):
    """Expire a silence: what it matches, who made it and why; True to expire."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="expire.cancel"),
    ]
    DEFAULT_CSS = """
    ExpireSilenceScreen { align: center middle; }
    ExpireSilenceScreen > Vertical { width: 80%; max-width: 100; height: auto;
        border: thick $warning; background: $surface; padding: 0 1; }
    ExpireSilenceScreen #expire-title { text-style: bold; }
    ExpireSilenceScreen Horizontal { height: auto; align-horizontal: right; }
    ExpireSilenceScreen Button { margin: 0 1; }
    """

    def __init__(self, silence: Silence, who: str | None = None) -> None:
        super().__init__()
        self.silence = silence
        self.who = who or user_at_host()

    def compose(self) -> ComposeResult:
        s = self.silence
        with Vertical():
            yield Label(
                f"Expire silence {s.id[:8]} now? Its alerts notify again.",
                id="expire-title",
                markup=False,
            )
            yield Static(f"matchers:   {format_matchers(s.matchers)}", markup=False)
            yield Static(
                f"{s.state + ':':<12}{_clock_time(s.starts_at)} to {_clock_time(s.ends_at)}",
                markup=False,
            )
            yield Static(f"createdBy:  {s.created_by}", markup=False)
            yield Static(f"comment:    {s.comment}", markup=False)
            yield Static(f"expired by: {self.who}", id="expire-who", markup=False)
            with Horizontal():
                yield Button("Cancel", id="expire-cancel")
                yield Button("Expire", variant="warning", id="expire-confirm")

    def on_mount(self) -> None:
        self.query_one("#expire-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "expire-confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)
