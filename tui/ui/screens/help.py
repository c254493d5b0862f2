"""`?`: every key that works here, generated from the live bindings so it cannot go stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(app_bindings: dict) -> list[tuple[str, str]]:
    """(keys, description) per action, keys of one action joined: 'up / k  Up'."""
    by_action: dict[tuple[str, str], list[str]] = {}
    for key, active in app_bindings.items():
        b = active.binding
        desc = b.description or b.action
        if b.action in ("command_palette",):
            desc = desc or "Command palette"
        by_action.setdefault((desc, b.action), []).append(
            active.node.app.get_key_display(Binding(key, b.action, b.description))
        )
    return [(" / ".join(keys), desc) for (desc, _), keys in by_action.items()]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen #help-table { width: 100%; height: auto; }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(title="warroom keys", box=None, show_header=False, pad_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what")
        for keys, desc in self.rows:
            table.add_row(keys, desc)
        table.add_row("", "")
        table.add_row("esc / q / ?", "close this help")
        with VerticalScroll():
            yield Static(table, id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
