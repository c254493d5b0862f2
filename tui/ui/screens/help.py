"""`?`: every key that works here, generated from the live bindings so it cannot go stale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.binding import ActiveBinding

WIDE = 110  # columns from which the keys are drawn side by side in two columns


def binding_rows(app_bindings: Mapping[str, ActiveBinding]) -> list[tuple[str, str]]:
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


def keys_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what")
    for keys, desc in rows:
        table.add_row(keys, desc)
    return table


class HelpScreen(ModalScreen[None]):
    """The keys in one column, or two side by side once the terminal is wide enough to hold
    them, so a 40-row screen shows every key without scrolling."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
        border-title-align: center; border-subtitle-align: center; }
    HelpScreen.-wide > VerticalScroll { width: 124; }
    HelpScreen #help-columns { height: auto; }
    HelpScreen .help-column { width: 100%; height: auto; }
    HelpScreen.-wide #help-columns { layout: horizontal; }
    HelpScreen.-wide .help-column { width: 1fr; }
    HelpScreen.-wide #help-right { padding-left: 2; }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
        self.rows = rows

    def compose(self) -> ComposeResult:
        half = (len(self.rows) + 1) // 2
        with VerticalScroll() as scroll:
            scroll.border_title = "warroom keys"
            with Container(id="help-columns"):
                yield Static(keys_table(self.rows[:half]), classes="help-column", id="help-left")
                yield Static(keys_table(self.rows[half:]), classes="help-column", id="help-right")

    def on_mount(self) -> None:
        """The close keys as they are bound now (`keys:` may have remapped help.close)."""
        close = [
            self.app.get_key_display(Binding(key, b.binding.action))
            for key, b in self.active_bindings.items()
            if b.binding.id == "help.close"
        ]
        self.query_one(VerticalScroll).border_subtitle = f"{' / '.join(close)} close this help"

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
