"""Enter on a service: its routes, one row each, sorted by contribution to the regression.

Each row has P50/P95/P99 sparklines over the window (the dashboard's binning and glyphs, one
scale per column so routes compare at a glance), the P99 now, QPS, error ratio and the P99
change since the window's start (see tui.core.metrics.routes.rank). The busiest routes get a
row; the rest are one "other" row that says how many routes it sums. Each row's own P99 spike
detector marks the end of its name (▲ SUSTAINED, ! GLITCH, ↓ RECOVERED). Under the rows, the selected
row (↑/↓) says its state and lists its slowest recent requests' trace ids (exemplars, when the
backend has them), with the config's trace_url; `y` copies the slowest one's trace id (OSC 52,
so it works over SSH) and `o` opens its trace_url. The screen polls only this service
(tui.sources.routes.RoutesPoller for Prometheus, tui.sources.otlp_routes.OTLPRoutesPoller for
OTLP) and stops when it closes; Esc goes back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from tui.config import Config
from tui.core.metrics.exemplars import Exemplar, trace_link
from tui.core.metrics.routes import OTHER, RouteRow
from tui.core.units import latency, qps, ratio
from tui.sources.base import RefreshLoop
from tui.sources.otlp_routes import OTLPRoutesPoller
from tui.sources.routes import RoutesPoller, RouteView
from tui.ui.widgets.cell_lines import Cell, SlicedLines, text_cells
from tui.ui.widgets.sparkline import (
    BAR,
    EMPTY,
    SPARK_CHUNKS,
    cell_step,
    page_first_cell,
    paged_bins,
    scale_top,
    spark_edges,
    spark_rows,
)

SPARK_SIGNALS = ("p50", "p95", "p99")
VALUE_W = 7  # P99 now, QPS, error ratio, change
STATE_MARK = {"SUSTAINED": "▲", "GLITCH": "!", "RECOVERED": "↓"}  # after the route's name
DETAIL_LINES = 4  # under the rows: the selected row's state, then its slowest requests


def change_text(change: float | None) -> str:
    if change is None or not math.isfinite(change):
        return "–"
    return f"{change * 100:+.0f}%"


class RouteTable(SlicedLines):
    """The route rows, drawn with the Line API by column widgets (only changed cells are
    resent, from the left edge of their widget: see column_edges)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "route-table--title",
        "route-table--header",
        "route-table--name",
        "route-table--spark",
        "route-table--spike",
        "route-table--value",
        "route-table--muted",
        "route-table--bad",
        "route-table--cursor",
    }
    DEFAULT_CSS = """
    RouteTable { height: 1fr; background: $surface; layout: horizontal; }
    RouteTable > .route-table--title { color: $foreground; text-style: bold; }
    RouteTable > .route-table--header { color: $text-muted; text-style: bold; background: $panel; }
    RouteTable > .route-table--name { color: $foreground; }
    RouteTable > .route-table--spark { color: $spark; }
    RouteTable > .route-table--spike { color: $error; text-style: bold; }
    RouteTable > .route-table--value { color: $foreground; }
    RouteTable > .route-table--muted { color: $text-muted; }
    RouteTable > .route-table--bad { color: $error; text-style: bold; }
    RouteTable > .route-table--cursor { color: $foreground; text-style: reverse; }
    """

    def __init__(self, service: str, window: float, *, id: str | None = None) -> None:
        super().__init__(len(SPARK_SIGNALS) * (SPARK_CHUNKS + 1) + 5, id=id)
        self.service = service
        self.window = window
        self.view: RouteView | None = None
        self.status = "loading…"
        self.cursor = 0  # the selected row
        self.trace_url: str | None = None

    def show(self, view: RouteView | None, status: str = "") -> None:
        self.view, self.status = view, status
        self.move(0)

    def move(self, step: int) -> None:
        rows = len(self.view.rows) if self.view is not None else 0
        self.cursor = min(max(self.cursor + step, 0), max(rows - 1, 0))
        self.redraw()

    @property
    def selected(self) -> RouteRow | None:
        view = self.view
        if view is None or view.error or not view.rows:
            return None
        return view.rows[min(self.cursor, len(view.rows) - 1)]

    def slowest(self) -> list[Exemplar]:
        row = self.selected
        return self.view.slowest.get(row.route, []) if row is not None and self.view else []

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

    def column_edges(self) -> list[int]:
        """route | each sparkline (its last page in a few widgets: spark_edges) | each
        number: what changes on a refresh is the newest cells and the numbers."""
        name_w, spark_w = self.columns()
        edges, x = [0], name_w
        for _ in SPARK_SIGNALS:  # the space before a sparkline ends the widget before it
            edges += spark_edges(x + 1, spark_w)[:-1]
            x += spark_w + 1
        edges += [x + k * (VALUE_W + 1) for k in range(4)]
        return [*edges, max(x + 4 * (VALUE_W + 1), self.size.width)]

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
        step = cell_step(self.window, spark_w)
        since = page_first_cell(view.t, step, spark_w) * step
        tops = {
            sig: max((scale_top(_values(r, sig, since)) for r in view.rows), default=0.0)
            for sig in SPARK_SIGNALS
        }
        detail = self._detail_lines(width)
        room = max(0, self.size.height - len(lines) - len(detail))
        shown = view.rows if len(view.rows) <= room else view.rows[: max(0, room - 1)]
        chosen = self.selected
        for row in shown:
            label = f"{OTHER} ({row.routes} routes)" if row.route == OTHER else row.route
            mark = STATE_MARK.get(row.state, " ")
            key = "muted" if row.route == OTHER else "name"
            line = text_cells(label, name_w - 2, "cursor" if row is chosen else key)
            line += text_cells(mark, 2, "bad" if mark != " " else key, ">")
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
        return lines + detail

    def _detail_lines(self, width: int) -> list[list[Cell]]:
        """The selected row's spike state and its slowest recent requests (exemplars)."""
        row, view = self.selected, self.view
        if row is None or view is None:
            return []
        name = f"{OTHER} ({row.routes} routes)" if row.route == OTHER else row.route
        state = row.state or "WARMING UP"
        spiking = state in ("SUSTAINED", "GLITCH")
        slow = self.slowest()
        head = f"▸ {name}: P99 {state}"
        if slow:
            head += " · slowest requests (y copies" + (", o opens)" if self.trace_url else ")")
        lines = [text_cells(head, width, "bad" if spiking else "value")]
        for ex in slow[: DETAIL_LINES - 2]:
            text = f"  {latency(ex.value):>7}  trace {ex.trace_id}"
            lines.append(text_cells(text, width, "value"))
        url = trace_link(self.trace_url, slow[0], view.service) if slow else ""
        if url:
            lines.append(text_cells(f"  {url}", width, "value"))
        if not slow:
            why = view.exemplar_note or "no exemplars for this row in the window"
            lines.append(text_cells(f"  trace ids: {why}", width, "muted"))
        return lines

    def _spark(self, row: RouteRow, signal: str, now: float, width: int, top: float) -> list[Cell]:
        pts = row.series.get(signal, [])
        t = np.array([p[0] for p in pts], dtype=np.float64)
        v = np.array([p[1] for p in pts], dtype=np.float64)
        binned = paged_bins(t, v, np.zeros(len(pts), dtype=np.uint8), now, self.window, width)
        (cells,) = spark_rows(binned, 1, top=top if top > 0 else None)
        kinds = {EMPTY: "blank", BAR: "spark"}
        return [(ch, kinds.get(kind, "spike")) for ch, kind in cells]


def _values(row: RouteRow, signal: str, since: float) -> np.ndarray:
    """The row's values from `since` (the first drawn cell's start) on: a point on a page
    already turned sets no scale."""
    return np.array([v for t, v in row.series.get(signal, []) if t >= since], dtype=np.float64)


class RoutesScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="routes.back"),
        Binding("y", "copy_trace", "Copy trace id", id="routes.copy_trace"),
        Binding("o", "open_trace", "Open trace", show=False, id="routes.open_trace"),
        Binding("down,j", "move(1)", "Next route", show=False, id="routes.down"),
        Binding("up,k", "move(-1)", "Previous route", show=False, id="routes.up"),
    ]

    def __init__(
        self,
        poller: RoutesPoller | OTLPRoutesPoller,
        window: float,
        clock: Callable[[], float] = time.time,
        trace_url: str | None = None,
    ) -> None:
        super().__init__()
        self.poller = poller
        self.clock = clock
        self.table = RouteTable(poller.service, window, id="routes")
        self.table.trace_url = trace_url
        self.refreshes = 0

    def action_move(self, step: int) -> None:
        self.table.move(step)

    def action_copy_trace(self) -> None:
        """Copy the selected row's slowest recent trace id to the clipboard (OSC 52)."""
        slow, row = self.table.slowest(), self.table.selected
        if not slow or row is None:
            self.app.bell()
            view = self.table.view
            why = (view.exemplar_note if view is not None else "") or "no exemplars for this row"
            self.notify(f"no trace id to copy: {why}", severity="warning")
            return
        ex = slow[0]
        self.app.copy_to_clipboard(ex.trace_id)
        url = trace_link(self.table.trace_url, ex, self.poller.service)
        where = "other routes" if row.route == OTHER else row.route
        text = f"copied trace id {ex.trace_id} ({latency(ex.value)} on {where})"
        self.notify(text + (f": {url}" if url else ""), title="clipboard")

    def action_open_trace(self) -> None:
        """Open the selected row's slowest trace in the tracing UI (the trace_url template)."""
        slow = self.table.slowest()
        if not self.table.trace_url or not slow:
            self.app.bell()
            why = "set trace_url in the config" if not self.table.trace_url else "no exemplars"
            self.notify(f"no trace to open: {why}", severity="warning")
            return
        url = trace_link(self.table.trace_url, slow[0], self.poller.service)
        self.app.open_url(url)
        self.notify(f"opened {url}", title="trace")

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


def routes_screen(
    hub: Any, cfg: Config, service: str, clock: Callable[[], float] = time.time
) -> RoutesScreen | str:
    """The route view of `service` from the Hub's sources, or why there is none."""
    source = getattr(hub, "prometheus", None)
    poller: RoutesPoller | OTLPRoutesPoller
    if source is not None and source.service_config(service) is not None:
        poller = RoutesPoller(source, service)
    else:
        sink = getattr(hub, "sink", None)
        info = sink.store.services.get(service) if sink is not None else None
        if info is None or info.source != "otlp":
            return f"{service}: routes need a Prometheus histogram or OTLP pushes"
        poller = OTLPRoutesPoller(sink, service)
    # the window Prometheus is asked for (the zoom levels beyond it would be empty)
    return RoutesScreen(poller, float(cfg.window), clock, cfg.trace_url)
