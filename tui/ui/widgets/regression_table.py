"""RegressionTable: the selected service's current window against its baseline, per signal,
plus the function-level regressions of its newest profile against the baseline profile.

Rows are `ComparisonRow`s from tui/core/stats (the same rows `warroom check` prints), so the
pane and the CI gate can never disagree. Verdict colours come from component classes styled
with theme variables ($error, $success, $warning, ...), so every theme, including the
16-colour bastion one, decides how a REGRESSION looks. Click a column header (or press s) to
sort by it; again to reverse. The widget never fetches: the app calls `update_rows` and
`update_functions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.core.pprof.names import shorten
from tui.core.stats.compare import (
    EQUIVALENT,
    IMPROVEMENT,
    INCONCLUSIVE,
    LIKELY_IMPROVEMENT,
    LIKELY_REGRESSION,
    REGRESSION,
    TOO_FEW_SAMPLES,
    VERDICTS,
    ComparisonRow,
)
from tui.core.stats.report import fmt_change, fmt_p, fmt_summary

# What answers "is it worse, and by how much" first, so it is on screen at 80 columns; the
# evidence (medians, p, q) and the notes follow.
COLUMNS: list[tuple[str, str]] = [
    ("metric", "signal"),
    ("verdict", "verdict"),
    ("change", "change [95%]"),
    ("base", "base median [95%] n"),
    ("current", "current median [95%] n"),
    ("p", "p"),
    ("q", "q"),
    ("notes", "notes"),
]

_VERDICT_CLASS = {
    REGRESSION: "regression-table--regression",
    LIKELY_REGRESSION: "regression-table--likely-regression",
    IMPROVEMENT: "regression-table--improvement",
    LIKELY_IMPROVEMENT: "regression-table--likely-improvement",
    EQUIVALENT: "regression-table--equivalent",
    INCONCLUSIVE: "regression-table--inconclusive",
    TOO_FEW_SAMPLES: "regression-table--too-few",
}


def _num(v: float) -> float:
    return v if v is not None and not math.isnan(v) else math.inf


# sort keys per column on the raw row (not the formatted text)
SORT_KEYS: dict[str, Callable[[ComparisonRow], Any]] = {
    "metric": lambda r: r.name,
    "base": lambda r: _num(r.base.median),
    "current": lambda r: _num(r.current.median),
    "change": lambda r: _num(r.change.ratio),
    "p": lambda r: _num(r.p),
    "q": lambda r: _num(r.q),
    "verdict": lambda r: VERDICTS.index(r.verdict) if r.verdict in VERDICTS else 99,
    "notes": lambda r: "; ".join(r.notes),
}


class RegressionTable(Vertical):
    """Signals table on top, function regressions below."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_VERDICT_CLASS.values())
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("s", "cycle_sort", "sort", show=False, id="regression.sort"),
    ]

    DEFAULT_CSS = """
    RegressionTable { height: auto; max-height: 24; }
    RegressionTable #regression-title { height: 1; padding: 0 1; text-style: bold; }
    RegressionTable #regression-signals { height: auto; max-height: 10; }
    RegressionTable #regression-functions-title { height: 1; padding: 0 1; color: $text-muted; }
    RegressionTable #regression-functions { height: auto; max-height: 10; }
    RegressionTable > .regression-table--regression { color: $error; text-style: bold; }
    RegressionTable > .regression-table--likely-regression { color: $warning; }
    RegressionTable > .regression-table--improvement { color: $success; text-style: bold; }
    RegressionTable > .regression-table--likely-improvement { color: $success; }
    RegressionTable > .regression-table--equivalent { color: $text; }
    RegressionTable > .regression-table--inconclusive { color: $text-muted; }
    RegressionTable > .regression-table--too-few { color: $text-muted; text-style: italic; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[ComparisonRow] = []
        self._functions: list[Any] | None = None  # None: no profile pair given yet
        self._function_note = ""
        self._sort_column = "verdict"
        self._sort_reverse = False
        self._title = "regressions vs baseline"

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="regression-title", markup=False)
        table: DataTable[Any] = DataTable(
            id="regression-signals", cursor_type="row", zebra_stripes=True
        )
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("functions: no profile pair", id="regression-functions-title", markup=False)
        ftable: DataTable[Any] = DataTable(id="regression-functions", cursor_type="row")
        for key, label in (
            ("function", "function"),
            ("base", "base cum"),
            ("current", "current cum"),
            ("delta", "Δ pp"),
            ("p", "p"),
            ("status", ""),
        ):
            ftable.add_column(label, key=key)
        yield ftable

    # -- data in

    def set_title(self, text: str) -> None:
        """E.g. 'api vs baseline 20261122T0512Z (v1.4.2)'."""
        self._title = text
        if self.is_mounted:
            self.query_one("#regression-title", Static).update(text)

    def update_rows(self, rows: Sequence[ComparisonRow]) -> None:
        """Replace the signal rows (one per signal: p50, p95, p99, qps, error_ratio)."""
        self._rows = list(rows)
        if self.is_mounted:
            self._redraw_rows()

    def update_functions(self, rows: Sequence[Any], note: str = "") -> None:
        """Function regressions: objects with name, base_cum_pct, cur_cum_pct, delta_cum_pp,
        p_value, status (tui.core.baseline.check.FunctionRegression or pprof RegressionRow)."""
        self._functions = list(rows)
        self._function_note = note
        if self.is_mounted:
            self._redraw_functions()

    def on_mount(self) -> None:
        self._redraw_rows()
        self._redraw_functions()

    # -- drawing

    def _style_for(self, verdict: str) -> Any:
        return self.get_component_rich_style(
            _VERDICT_CLASS.get(verdict, "regression-table--inconclusive")
        )

    def _redraw_rows(self) -> None:
        table = self.query_one("#regression-signals", DataTable)
        table.clear()
        key = SORT_KEYS[self._sort_column]
        ordered = sorted(self._rows, key=key, reverse=self._sort_reverse)
        for r in ordered:
            style = self._style_for(r.verdict)
            table.add_row(
                r.name,
                Text(r.verdict, style=style),
                Text(fmt_change(r.change, r.metric), style=style),
                fmt_summary(r.base.median, r.base.lo, r.base.hi, r.base.n, r.metric),
                fmt_summary(r.current.median, r.current.lo, r.current.hi, r.current.n, r.metric),
                fmt_p(r.p),
                fmt_p(r.q),
                "; ".join(r.notes),
                key=r.name,
            )

    def _redraw_functions(self) -> None:
        table = self.query_one("#regression-functions", DataTable)
        title = self.query_one("#regression-functions-title", Static)
        table.clear()
        note = self._function_note
        if self._functions is None:
            title.update("functions: no profile pair")
            return
        if not self._functions:
            title.update(f"functions: {note or 'no significant growth'}")
            return
        title.update(self._functions_title())
        bad = self._style_for(REGRESSION)
        warn = self._style_for(LIKELY_REGRESSION)
        for f in self._functions:
            style = bad if getattr(f, "gate", False) else warn
            table.add_row(
                shorten(f.name),
                f"{f.base_cum_pct:.1f}%",
                f"{f.cur_cum_pct:.1f}%",
                Text(f"{f.delta_cum_pp:+.1f}", style=style),
                f"{f.p_value:.2g}",
                "new" if f.status == "new" else "",
                key=f"{getattr(f, 'kind', '')}:{f.name}",
            )

    def _functions_title(self, full_name: str = "") -> str:
        """The count, the note, and the full name of the highlighted function (rows show
        pprof's short name)."""
        n = len(self._functions or ())
        note = f": {self._function_note}" if self._function_note else ""
        return f"functions ({n} grew){note}" + (f"  ·  {full_name}" if full_name else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "regression-functions" or not self._functions:
            return
        event.stop()
        full = str(event.row_key.value or "").partition(":")[2]
        self.query_one("#regression-functions-title", Static).update(self._functions_title(full))

    # -- sorting

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if column not in SORT_KEYS:
            raise ValueError(f"unknown column {column!r}")
        if reverse is None:
            reverse = not self._sort_reverse if column == self._sort_column else False
        self._sort_column, self._sort_reverse = column, reverse
        if self.is_mounted:
            self._redraw_rows()

    @property
    def sort_state(self) -> tuple[str, bool]:
        return self._sort_column, self._sort_reverse

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table.id == "regression-signals":
            event.stop()
            self.sort_by(str(event.column_key.value))

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in COLUMNS]
        nxt = keys[(keys.index(self._sort_column) + 1) % len(keys)]
        self.sort_by(nxt, reverse=False)

    def visible_names(self) -> list[str]:
        """Signal names in display order (for tests and the status line)."""
        table = self.query_one("#regression-signals", DataTable)
        return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
