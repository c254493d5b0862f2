"""The Go runtime beside a service's latency: GC pause, scheduler latency, goroutines, heap and
GC CPU, one sparkline each, read from the store's `go.*` series (tui.core.metrics.go_runtime).

Hidden while the selected service has no runtime series (a non-Go backend, or a Go service
whose metrics are not scraped), so the Service tab then looks exactly as it did without it.
"""

from __future__ import annotations

from typing import ClassVar

from tui.core.metrics import go_runtime
from tui.core.metrics.store import MetricStore
from tui.ui.widgets.cell_lines import Cell, SlicedLines, text_cells
from tui.ui.widgets.sparkline import SPARK_CHUNKS, paged_bins, spark_edges, spark_rows

LABEL_W = 9  # " sch p99 "
VALUE_W = 10


class RuntimePanel(SlicedLines):
    """One line per runtime signal the service has, in go_runtime's display order."""

    COMPONENT_PREFIX = "runtime-panel"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "runtime-panel--label",
        "runtime-panel--spark",
        "runtime-panel--value",
    }
    DEFAULT_CSS = """
    RuntimePanel { height: 1fr; width: 1fr; }
    RuntimePanel > .runtime-panel--label { color: $text-muted; text-style: bold; }
    RuntimePanel > .runtime-panel--spark { color: $spark; }
    RuntimePanel > .runtime-panel--value { color: $foreground; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SPARK_CHUNKS + 3, id=id)
        self.store: MetricStore | None = None
        self.service: str | None = None
        self.now = 0.0
        self.window = 900.0
        self.scale = "robust"

    def keys(self) -> list[str]:
        """The runtime signals the current service has points for."""
        if self.store is None or self.service is None:
            return []
        return [k for k in go_runtime.KEYS if len(self.store.series(self.service, k) or ())]

    def show(self, store: MetricStore, service: str | None, now: float, window: float) -> bool:
        """Take the new data; True when there is something to show (the caller shows us)."""
        self.store, self.service, self.now, self.window = store, service, now, window
        has = bool(self.keys())
        if has and self.display:
            self.redraw()
        return has

    def on_show(self) -> None:
        self.redraw()

    def _spark_width(self) -> int:
        return max(4, self.size.width - LABEL_W - VALUE_W)

    def column_edges(self) -> list[int]:
        """label | sparkline (its last page in a few widgets: spark_edges) | value."""
        w = self._spark_width()
        return [0, *spark_edges(LABEL_W, w), max(LABEL_W + w, self.size.width)]

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        lines: list[list[Cell]] = []
        spark_w = self._spark_width()
        for key in self.keys():
            assert self.store is not None and self.service is not None
            ring = self.store.series(self.service, key)
            assert ring is not None
            line = text_cells(f" {go_runtime.BY_KEY[key].label}", LABEL_W, "label")
            t, v, f = ring.since(self.now - self.window - 60)
            binned = paged_bins(t, v, f, self.now, self.window, spark_w)
            row = spark_rows(binned, 1, scale=self.scale)[0]
            line += [(ch, "spark") for ch, _ in row]
            last = ring.last()
            assert last is not None
            line += text_cells(go_runtime.format_value(key, last[1]), VALUE_W, "value", ">")
            lines.append(line[:width])
        return [line + [(" ", "blank")] * (width - len(line)) for line in lines]
