"""The main screen: the service table on top, detail tabs for the selected service below,
the source status line and the key footer.

The screen never fetches: the app hands it the store after each (coalesced) Hub update and it
redraws only what is visible: the table's visible rows and the active detail tab.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane

from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.ui.widgets.runtime_panel import RuntimePanel
from tui.ui.widgets.service_table import (
    ServiceTable,
    format_latency,
    format_qps,
    format_ratio,
)
from tui.ui.widgets.sparkline import Cell, SlicedLines, bin_max, spark_rows, text_cells
from tui.ui.widgets.status_bar import StatusBar


class ServiceDetail(SlicedLines):
    """P50, P95, P99, QPS and error ratio of the selected service, each with its own line;
    its Go runtime signals (RuntimePanel) beside them when the service has any."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "service-detail--label",
        "service-detail--spark",
        "service-detail--spike",
        "service-detail--value",
        "service-detail--muted",
    }
    DEFAULT_CSS = """
    ServiceDetail { height: 1fr; width: 1fr; }
    ServiceDetail > .service-detail--label { color: $text-muted; text-style: bold; }
    ServiceDetail > .service-detail--spark { color: $spark; }
    ServiceDetail > .service-detail--spike { color: $error; text-style: bold; }
    ServiceDetail > .service-detail--value { color: $foreground; }
    ServiceDetail > .service-detail--muted { color: $muted; }
    """
    SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(4, id=id)
        self.store: MetricStore | None = None
        self.service: str | None = None
        self.now = 0.0
        self.window = 900.0
        self.scale = "robust"  # the config's spark_scale
        self.note = ""  # a warning under the lines: why the P99 cannot be trusted

    def show(self, store: MetricStore, service: str | None, now: float, window: float) -> None:
        self.store, self.service, self.now, self.window = store, service, now, window
        self.redraw()

    def component_style(self, key: str) -> Style:
        style = self._style_cache.get(key)
        if style is None:
            style = self.rich_style
            if key != "blank":
                style += self.get_component_rich_style(f"service-detail--{key}")
            self._style_cache[key] = style
        return style

    def _spark_width(self) -> int:
        return max(4, self.size.width - 8 - 10)

    def column_edges(self) -> list[int]:
        """label | sparkline history | newest cell | value."""
        w = self._spark_width()
        return [0, 8, 8 + w - 1, 8 + w, max(8 + w, self.size.width)]

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        if self.store is None or self.service is None:
            return [text_cells(" no service selected", width, "muted")]  # padded by text_cells
        lines = []
        spark_w = self._spark_width()
        for sig in self.SIGNALS:
            ring = self.store.series(self.service, sig)
            line = text_cells(f" {sig.replace('error_ratio', 'err')}", 8, "label")
            if ring is None or not len(ring):
                lines.append(line + text_cells("no data", width - 8, "muted"))
                continue
            t, v, f = ring.since(self.now - self.window - 60)
            binned = bin_max(t, v, f, self.now, self.window, spark_w)
            row = spark_rows(binned, 1, scale=self.scale)[0]
            line += [(ch, "spike" if k >= 2 else "spark") for ch, k in row]
            last = ring.last()
            assert last is not None
            if sig == "qps":
                text = format_qps(last[1])
            elif sig == "error_ratio":
                text = format_ratio(last[1])
            else:
                text = format_latency(last[1], bool(last[2] & FLAG_SATURATED))
            line += text_cells(text, 10, "value", ">")
            lines.append(line[:width])
        if self.note:
            lines.append(text_cells(f" ⚠ {self.note}", width, "spike"))
        return [line + [(" ", "blank")] * (width - len(line)) for line in lines]


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next pane", show=False, id="focus.next"),
        Binding(
            "shift+tab", "app.focus_previous", "Previous pane", show=False, id="focus.previous"
        ),
    ]
    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #services { height: 2fr; min-height: 4; }
    DashboardScreen #detail { height: 1fr; min-height: 5; }
    DashboardScreen #detail.-hidden { display: none; }
    DashboardScreen ContentSwitcher { height: 1fr; }
    DashboardScreen TabPane { padding: 0; }
    DashboardScreen #service-row { height: 1fr; }
    DashboardScreen #runtime { display: none; }
    DashboardScreen #runtime.-shown { display: block; }
    """

    def __init__(self, extra_panes: list[tuple[str, str, Widget]] | None = None) -> None:
        super().__init__()
        self.extra_panes = extra_panes or []

    def compose(self) -> ComposeResult:
        yield ServiceTable(id="services")
        with TabbedContent(id="detail"):
            with TabPane("Service", id="tab-service"), Horizontal(id="service-row"):
                yield ServiceDetail(id="service-detail")
                yield RuntimePanel(id="runtime")
            for title, pane_id, widget in self.extra_panes:
                with TabPane(title, id=pane_id):
                    yield widget
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ServiceTable).focus()

    def on_screen_resume(self) -> None:
        """Back from a modal: catch up with the updates skipped while it was open."""
        redraw = getattr(self.app, "redraw_now", None)
        if redraw is not None:
            self.call_after_refresh(redraw)

    def show_service(
        self,
        store: MetricStore,
        service: str | None,
        now: float,
        window: float,
        scale: str,
        note: str = "",
    ) -> None:
        """Bring the Service tab up to date: latency lines (and `note`, a warning about
        them, under them), and the runtime panel beside them only while the service has
        runtime series."""
        detail = self.query_one(ServiceDetail)
        runtime = self.query_one(RuntimePanel)
        detail.scale = runtime.scale = scale
        detail.note = note
        runtime.set_class(runtime.show(store, service, now, window), "-shown")
        detail.show(store, service, now, window)

    @property
    def table(self) -> ServiceTable:
        return self.query_one(ServiceTable)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def active_tab(self) -> str | None:
        detail = self.query_one(TabbedContent)
        if not detail.display:
            return None
        return detail.active or None

    def pane(self, pane_id: str) -> Any:
        for _, pid, widget in self.extra_panes:
            if pid == pane_id:
                return widget
        return None
