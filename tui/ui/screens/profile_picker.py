"""`p`: choose which profiles to look at, instead of "the newest file".

Every profile of the selected service (kind × time, newest first) and its baseline's, one row
each. Enter opens the highlighted profile's flame graph; `b` marks the highlighted one as the
base, after which Enter opens the diff of the highlighted one against it (a base of another
kind is refused: a heap diffed against CPU means nothing). The picker only chooses: it
dismisses with a `ProfileChoice` and the app opens the viewer, so no file is read here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.core.pprof.catalog import ProfileFile
from tui.core.units import size as format_size


@dataclass(frozen=True, slots=True)
class PickerRow:
    """A profile the picker offers: a file of profiles.dir, or one of the baseline's."""

    path: Path
    kind: str
    mtime: float
    size: int
    baseline: str = ""  # the baseline's id when the file belongs to the current baseline


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    current: Path
    base: Path | None = None


def picker_rows(
    files: list[ProfileFile], baseline: dict[str, Path], baseline_id: str
) -> list[PickerRow]:
    """The baseline's profiles first (CPU first), then profiles.dir newest first; a file in
    both is listed once, as the baseline's. Reads only file metadata (call it off the UI)."""
    rows: list[PickerRow] = []
    seen: set[Path] = set()
    for kind, path in baseline.items():
        try:
            st = path.stat()
        except OSError:
            continue
        rows.append(PickerRow(path, kind, st.st_mtime, st.st_size, baseline_id or "baseline"))
        seen.add(path.resolve())
    for f in files:
        if f.path.resolve() not in seen:
            rows.append(PickerRow(f.path, f.kind, f.mtime, f.size))
    return rows


def _age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m ago"
    return f"{s // 86400}d ago"


class ProfilePickerScreen(ModalScreen[ProfileChoice | None]):
    """Dismisses with the chosen profile (and base), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="picker.open", priority=True),
        Binding("b", "mark_base", "Mark as base", id="picker.base"),
        Binding("x", "clear_base", "Clear base", id="picker.clear"),
        Binding("escape,q", "cancel", "Cancel", id="picker.cancel"),
    ]
    DEFAULT_CSS = """
    ProfilePickerScreen { align: center middle; }
    ProfilePickerScreen > Vertical {
        width: 110; max-width: 98%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ProfilePickerScreen #picker-title { text-style: bold; height: 1; }
    ProfilePickerScreen #picker-table { height: auto; max-height: 30; }
    ProfilePickerScreen #picker-hint { height: auto; color: $text-muted; }
    """

    def __init__(self, service: str, rows: list[PickerRow], now: float | None = None) -> None:
        super().__init__()
        self.service = service
        self.rows = rows
        self.now = time.time() if now is None else now
        self.base: PickerRow | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Profiles of {self.service}", id="picker-title", markup=False)
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=False)
            yield Static("", id="picker-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#picker-table", DataTable)
        table.add_columns("", "kind", "taken", "size", "file")
        self._fill()
        table.focus()
        self._hint()

    def _fill(self) -> None:
        table = self.query_one("#picker-table", DataTable)
        row = table.cursor_row
        table.clear()
        for i, r in enumerate(self.rows):
            mark = "base" if self.base is r else ""
            file = r.path.name + (f"  (baseline {r.baseline})" if r.baseline else "")
            table.add_row(
                Text(mark, style="bold"),
                r.kind,
                _age(self.now - r.mtime),
                format_size(r.size),
                file,
                key=str(i),
            )
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))

    def _hint(self, problem: str = "") -> None:
        if not self.rows:
            text = f"no profiles of {self.service} (profiles.dir, or a baseline with profiles)"
        elif self.base is None:
            text = "enter: flame graph · b: mark as base for a diff · esc: cancel"
        else:
            text = (
                f"base: {self.base.path.name} ({self.base.kind}) · enter: diff the highlighted "
                "one against it · x: clear the base · esc: cancel"
            )
        self.query_one("#picker-hint", Static).update(f"{problem}\n{text}" if problem else text)

    def highlighted(self) -> PickerRow | None:
        table = self.query_one("#picker-table", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_mark_base(self) -> None:
        self.base = self.highlighted()
        self._fill()
        self._hint()

    def action_clear_base(self) -> None:
        self.base = None
        self._fill()
        self._hint()

    def action_open(self) -> None:
        row = self.highlighted()
        if row is None:
            self.app.bell()
            return
        if self.base is None:
            self.dismiss(ProfileChoice(row.path))
            return
        if self.base is row:
            self.app.bell()
            self._hint("the base and the current profile are the same file: highlight another")
            return
        if self.base.kind != row.kind:
            self.app.bell()
            self._hint(f"the base is {self.base.kind}, this is {row.kind}: a diff needs one kind")
            return
        self.dismiss(ProfileChoice(row.path, self.base.path))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
