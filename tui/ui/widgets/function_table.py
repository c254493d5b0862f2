"""Side tables of the flame graph: functions (flat, cum, sortable) and the diff ranking.

Both are DataTables keyed by the full function name, so the profile screen can move the cursor
to the function selected in the graph, and select the function's widest frame in the graph
when the cursor moves here (`FunctionChosen`). Rows show pprof's short name (no import path);
the details line above the graph shows the full one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from tui.core.pprof.flamegraph import format_value
from tui.core.pprof.names import shorten

SORTS = ("flat", "cum", "name")


def _pct(v: int, total: int) -> str:
    return f"{100 * v / total:.2f}%" if total else "-"


def refill(
    table: DataTable[Any], columns: Sequence[tuple[str, str]], rows: Sequence[tuple[list[Any], str]]
) -> None:
    """Replace columns and rows, each column as wide as its widest cell. DataTable measures
    auto-width columns only when idle and keeps cells it drew before at the old widths, so on
    a busy machine a ranking could stay drawn in header-wide columns (`+12.4 26.2 38.`)."""
    table.clear(columns=True)
    for label, key in columns:
        i = len(table.columns)
        width = max([len(label), *(len(str(cells[i])) for cells, _ in rows)])
        table.add_column(label, key=key, width=width)
    for cells, key in rows:
        table.add_row(*cells, key=key)


class _Chosen(Message):
    """The cursor moved to a function in a side table: select its widest frame in the graph."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class _FunctionRows(DataTable[Any]):
    """A table whose rows are keyed by function name and whose cursor follows the graph.

    Moving the cursor from the graph (`show_function`) or refilling must not announce the
    function back: `_echo` swallows the one highlight event the move causes, `_quiet` the
    events of a refill.
    """

    COLUMNS: ClassVar[list[tuple[str, str]]] = []
    chosen: ClassVar[type[_Chosen]]  # each table posts its own (handler names differ)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._quiet = False
        self._echo: str | None = None

    def on_mount(self) -> None:
        refill(self, self.COLUMNS, [])

    def _refill(self, rows: Sequence[tuple[list[Any], str]]) -> None:
        self._quiet = True
        refill(self, self.COLUMNS, rows)
        self._quiet = False

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        echo, self._echo = self._echo, None
        if self._quiet or not self.has_focus or key is None or key == echo:
            return
        self.post_message(self.chosen(str(key).removesuffix("#inl")))


class FunctionTable(_FunctionRows):
    """Functions of the profile with flat and cum; `f`/`c`/`a` sort by flat, cum, name.

    Shows the first `limit` rows of the current order (a big profile has 23k functions and
    a DataTable row costs real time); the function selected in the graph is always added.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "sort('flat')", "by flat", show=False, id="functions.by_flat"),
        Binding("c", "sort('cum')", "by cum", show=False, id="functions.by_cum"),
        Binding("a", "sort('name')", "by name", show=False, id="functions.by_name"),
    ]

    class FunctionChosen(_Chosen):
        pass

    chosen = FunctionChosen

    def __init__(self, limit: int = 400, **kwargs: Any) -> None:
        super().__init__(zebra_stripes=False, **kwargs)
        self.limit = limit
        self.rows_data: list[tuple[str, int, int, str]] = []
        self.total = 0
        self.unit = ""
        self.sort_by = "flat"

    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("flat", "flat"),
        ("flat%", "flatp"),
        ("cum", "cum"),
        ("cum%", "cump"),
        ("function", "name"),
    ]

    def set_rows(self, rows: Sequence[Any], total: int, unit: str) -> None:
        """`rows`: engine FunctionRow(name, flat, cum, inline, inline_label)."""
        self.rows_data = [
            (r.name, int(r.flat), int(r.cum), getattr(r, "inline_label", "")) for r in rows
        ]
        self.total, self.unit = total, unit
        self._fill()

    def _fill(self, also: str | None = None) -> None:
        key = {
            "flat": lambda r: (-abs(r[1]), r[0]),
            "cum": lambda r: (-abs(r[2]), r[0]),
            "name": lambda r: (r[0], 0),
        }[self.sort_by]
        ordered = sorted(self.rows_data, key=key)
        shown = ordered[: self.limit]
        if also is not None and all(r[0] != also for r in shown):
            shown += [r for r in ordered[self.limit :] if r[0] == also]
        rows: list[tuple[list[Any], str]] = []
        keys: set[str] = set()
        for name, flat, cum, label in shown:
            title = f"{shorten(name)} {label}" if label else shorten(name)
            row_key = name if label != "(inline)" or name not in keys else f"{name}#inl"
            keys.add(row_key)
            cells = [
                Text(format_value(flat, self.unit), justify="right"),
                Text(_pct(flat, self.total), justify="right"),
                Text(format_value(cum, self.unit), justify="right"),
                Text(_pct(cum, self.total), justify="right"),
                title,
            ]
            rows.append((cells, row_key))
        self._refill(rows)

    def _has(self, key: str) -> bool:
        try:
            self.get_row_index(key)
        except Exception:
            return False
        return True

    def action_sort(self, column: str) -> None:
        self.sort_by = column
        current = self.current_name()
        self._fill()
        if current:
            self.show_function(current)

    def current_name(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return None if key is None else str(key).removesuffix("#inl")

    def show_function(self, name: str) -> bool:
        """Move the cursor to `name` without announcing it back to the graph."""
        if not self._has(name) and not self._has(f"{name}#inl"):
            if not any(r[0] == name for r in self.rows_data):
                return False
            self._fill(also=name)
        for key in (name, f"{name}#inl"):
            if self._has(key):
                self._echo = key  # the highlight event arrives later: do not echo it back
                self.move_cursor(row=self.get_row_index(key), animate=False)
                return True
        return False


class RegressionRanking(_FunctionRows):
    """The engine's regression ranking (share of cum, base -> current) beside a diff graph."""

    class FunctionChosen(FunctionTable.FunctionChosen):
        pass

    chosen = FunctionChosen

    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("Δ cum", "delta"),
        ("base", "base"),
        ("now", "cur"),
        ("p", "p"),
        ("function", "name"),
    ]

    def set_report(self, report: Any, limit: int = 200) -> None:
        """`report`: engine RegressionReport; regressions first, then improvements. The tooltip
        says what the p-values tested (e.g. inuse_space's sampled allocations); "-" is no test
        (goroutine and contention profiles)."""
        self.tooltip = getattr(report, "method", "") or None
        rows: list[tuple[list[Any], str]] = []
        for r in sorted(report.rows + report.new, key=lambda r: -r.delta_cum_pp)[:limit]:
            mark = "new " if r.status == "new" else ""
            style = "bold" if r.significant else ""
            cells = [
                Text(f"{r.delta_cum_pp:+.2f}pp", justify="right", style=style or "dim"),
                Text(f"{r.base_cum_pct:.2f}%", justify="right"),
                Text(f"{r.cur_cum_pct:.2f}%", justify="right"),
                Text("-" if r.p_value != r.p_value else f"{r.p_value:.2g}", justify="right"),
                Text(mark + shorten(r.name), style=style),
            ]
            rows.append((cells, r.name))
        self._refill(rows)

    def show_function(self, name: str) -> bool:
        try:
            idx = self.get_row_index(name)
        except Exception:
            return False
        self._echo = name
        self.move_cursor(row=idx, animate=False)
        return True
