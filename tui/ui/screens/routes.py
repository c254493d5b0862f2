"""Enter on a service: its routes, one row each, sorted by contribution to the regression.

Each row has P50/P95/P99 sparklines over the window (the dashboard's binning and glyphs, one
scale per column so routes compare at a glance), the P99 now, QPS, error ratio and the P99
change since the window's start (see tui.core.metrics.routes.rank). The busiest routes get a
row; the rest are one "other" row that says how many routes it sums. The screen polls only
this service (tui.sources.routes.RoutesPoller) and stops when it closes; Esc goes back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from tui.core.metrics.routes import OTHER, RouteRow
from tui.core.units import latency, qps, ratio
from tui.sources.base import RefreshLoop
from tui.sources.routes import RoutesPoller, RouteView
from tui.ui.widgets.sparkline import (
    BAR,
    EMPTY,
    Cell,
    CellLinesWidget,
    bin_max,
    scale_top,
    spark_rows,
    text_cells,
)

SPARK_SIGNALS = ("p50", "p95", "p99")
VALUE_W = 7  # P99 now, QPS, error ratio, change


def change_text(change: float | None) -> str:
    if change is None or not math.isfinite(change):
        return "–"
    return f"{change * 100:+.0f}%"


class RouteTable(CellLinesWidget):
    """The route rows, drawn with the Line API (only changed cells are resent)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "route-table--title",
        "route-table--header",
        "route-table--name",
        "route-table--spark",
        "route-table--spike",
        "route-table--value",
        "route-table--muted",
        "route-table--bad",
    }
    DEFAULT_CSS = """
    RouteTable { height: 1fr; background: $surface; }
    RouteTable > .route-table--title { color: $foreground; text-style: bold; }
    RouteTable > .route-table--header { color: $text-muted; text-style: bold; background: $panel; }
    RouteTable > .route-table--name { color: $foreground; }
    RouteTable > .route-table--spark { color: $spark; }
    RouteTable > .route-table--spike { color: $error; text-style: bold; }
    RouteTable > .route-table--value { color: $foreground; }
    RouteTable > .route-table--muted { color: $text-muted; }
    RouteTable > .route-table--bad { color: $error; text-style: bold; }
    """

    def __init__(self, service: str, window: float, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.service = service
        self.window = window
        self.view: RouteView | None = None
        self.status = "loading…"

    def show(self, view: RouteView | None, status: str = "") -> None:
        self.view, self.status = view, status
        self.redraw()

    def component_style(self, key: str) -> Style:
        if key == "blank":
            return self.get_component_rich_style("route-table--value")
        return self.get_component_rich_style(f"route-table--{key}")

    def columns(self) -> tuple[int, int]:
        """(route name width, sparkline width) for the widget's width."""
        width = max(40, self.size.width)
        name_w = max(12, min(28, width // 4))
        fixed = name_w + 4 * VALUE_W + 7  # one space before each of the 7 columns after it
        return name_w, max(4, (width - fixed) // 3)

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        view = self.view
        name_w, spark_w = self.columns()
        title = f"Routes of {self.service}"
        if view is not None and view.label:
            title += f" by {view.label}: {view.routes} routes"
            if view.other:
                title += f", the busiest {len(view.rows) - 1} shown, {view.other} in other"
            title += " · change: P99 now vs the window's start"
        lines = [text_cells(title, width, "title")]
        if view is not None and view.error:
            lines.append(text_cells(f"warroom: {view.error}", width, "bad"))
            return lines
        if self.status:
            lines.append(text_cells(self.status, width, "muted"))
        if view is None or not view.rows:
            if view is not None and view.label:
                lines.append(text_cells("no requests in the window", width, "muted"))
            return lines
        header = text_cells("route", name_w, "header")
        for sig in SPARK_SIGNALS:
            header += text_cells(" " + sig.upper(), spark_w + 1, "header")
        for h in ("P99", "QPS", "err", "Δ P99"):
            header += text_cells(h, VALUE_W + 1, "header", ">")
        lines.append(header + text_cells("", width - len(header), "header"))
        tops = {
            sig: max((scale_top(_values(r, sig)) for r in view.rows), default=0.0)
            for sig in SPARK_SIGNALS
        }
        room = max(0, self.size.height - len(lines))
        shown = view.rows if len(view.rows) <= room else view.rows[: max(0, room - 1)]
        for row in shown:
            label = f"{OTHER} ({row.routes} routes)" if row.route == OTHER else row.route
            line = text_cells(label, name_w, "muted" if row.route == OTHER else "name")
            for sig in SPARK_SIGNALS:
                line.append((" ", "blank"))
                line += self._spark(row, sig, view.t, spark_w, tops[sig])
            grew = row.change is not None and row.change > 0.5
            values = (
                (latency(row.last("p99")), "bad" if grew else "value"),
                (qps(row.last("qps")), "value"),
                (ratio(row.last("error_ratio")), "value"),
                (change_text(row.change), "bad" if grew else "value"),
            )
            for text, key in values:
                line += text_cells(text, VALUE_W + 1, key, ">")
            lines.append(line)
        if len(shown) < len(view.rows):
            lines.append(text_cells(f"… {len(view.rows) - len(shown)} more rows", width, "muted"))
        return lines

    def _spark(self, row: RouteRow, signal: str, now: float, width: int, top: float) -> list[Cell]:
        pts = row.series.get(signal, [])
        t = np.array([p[0] for p in pts], dtype=np.float64)
        v = np.array([p[1] for p in pts], dtype=np.float64)
        binned = bin_max(t, v, np.zeros(len(pts), dtype=np.uint8), now, self.window, width)
        (cells,) = spark_rows(binned, 1, top=top if top > 0 else None)
        kinds = {EMPTY: "blank", BAR: "spark"}
        return [(ch, kinds.get(kind, "spike")) for ch, kind in cells]


def _values(row: RouteRow, signal: str) -> np.ndarray:
    return np.array([v for _, v in row.series.get(signal, [])], dtype=np.float64)


class RoutesScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="routes.back"),
    ]

    def __init__(
        self,
        poller: RoutesPoller,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.poller = poller
        self.clock = clock
        self.table = RouteTable(poller.service, window, id="routes")
        self.refreshes = 0

    def compose(self) -> ComposeResult:
        yield self.table
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._poll(), group="routes", exclusive=True, exit_on_error=False)

    async def _poll(self) -> None:
        """Refresh, draw, wait the poller's backoff; the worker ends with the screen."""
        name = self.poller.status.name
        await RefreshLoop(name, self._refresh, self.poller.backoff, self.poller.status).run()

    async def _refresh(self) -> None:
        view = await self.poller.refresh(self.clock())
        status = self.poller.status
        note = "" if status.state == "up" else f"{status.state}: {status.detail}"
        self.refreshes += 1
        self.table.show(view, note)
