"""The main screen: the service table on top, detail tabs for the selected service below,
the source status line and the key footer.

The screen never fetches: the app hands it the store after each (coalesced) Hub update and it
redraws only what is visible: the table's visible rows and the active detail tab.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane

from tui.core.metrics.exemplars import Exemplar, trace_link
from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.core.release_timeline import ReleaseNote
from tui.core.units import latency as format_latency
from tui.core.units import qps as format_qps
from tui.core.units import ratio as format_ratio
from tui.ui.widgets.cell_lines import Cell, SlicedLines, text_cells
from tui.ui.widgets.runtime_panel import RuntimePanel
from tui.ui.widgets.service_table import ServiceTable
from tui.ui.widgets.sparkline import (
    SPARK_CHUNKS,
    cell_step,
    newest_index,
    page_first_cell,
    paged_bins,
    paged_release_cells,
    spark_edges,
    spark_rows,
)
from tui.ui.widgets.status_bar import StatusBar


class ServiceDetail(SlicedLines):
    """P50, P95, P99, QPS and error ratio of the selected service, each with its own line;
    its Go runtime signals (RuntimePanel) beside them when the service has any.

    A `pprof` line marks the cells in which warroom was capturing the service's CPU profile
    (`profile?seconds=N` makes the target work, and its latency may show it).

    Focused (tab), ←/→ move a crosshair over the lines: its column is drawn reversed and a
    line above them gives that cell's time and every signal's value there (the cell's max,
    as the sparkline draws it). It stays that many cells from the newest one; Esc hides it.

    A `trace` line names the slowest request in the window that the backend kept an exemplar
    of (OTLP pushes carry them; Prometheus is asked while the service spikes): its latency,
    route, trace id and the config's trace_url; `y` copies the trace id.
    """

    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "crosshair(1)", "Crosshair earlier", show=False, id="detail.earlier"),
        Binding("right,l", "crosshair(-1)", "Crosshair later", show=False, id="detail.later"),
        Binding("escape", "hide_crosshair", "Hide crosshair", show=False, id="detail.hide"),
    ]
    COMPONENT_PREFIX = "service-detail"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "service-detail--cursor",
        "service-detail--label",
        "service-detail--spark",
        "service-detail--spike",
        "service-detail--value",
        "service-detail--muted",
        "service-detail--release",
    }
    DEFAULT_CSS = """
    ServiceDetail { height: 1fr; width: 1fr; }
    ServiceDetail > .service-detail--label { color: $text-muted; text-style: bold; }
    ServiceDetail > .service-detail--spark { color: $spark; }
    ServiceDetail > .service-detail--spike { color: $error; text-style: bold; }
    ServiceDetail > .service-detail--value { color: $foreground; }
    ServiceDetail > .service-detail--muted { color: $muted; }
    ServiceDetail > .service-detail--cursor { color: $foreground; text-style: reverse; }
    ServiceDetail > .service-detail--release { color: $accent; text-style: bold; }
    """
    SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SPARK_CHUNKS + 3, id=id)
        self.store: MetricStore | None = None
        self.service: str | None = None
        self.now = 0.0
        self.window = 900.0
        self.scale = "robust"  # the config's spark_scale
        self.note = ""  # a warning under the lines: why the P99 cannot be trusted
        self.crosshair: int | None = None  # cells back from the newest one, None: hidden
        self.captures: list[tuple[float, float]] = []  # (start, end) of recent CPU captures
        self.releases: list[ReleaseNote] = []  # the service's releases, oldest first
        self.release_flap = ""  # the flap notice while its version flaps

    def action_crosshair(self, step: int) -> None:
        last = newest_index(self.now, self.window, self._spark_width())
        at = (0 if step > 0 else last) if self.crosshair is None else self.crosshair + step
        self.crosshair = min(max(at, 0), last)
        self.redraw()

    def _capture_cells(self, width: int) -> list[Cell]:
        """'━' in each cell a CPU capture overlapped; [] when none is in view."""
        step = cell_step(self.window, width)
        first = page_first_cell(self.now, step, width) * step
        seen = [(a, b) for a, b in self.captures if b >= first and a <= self.now]
        if not seen:
            return []
        return [
            ("━" if _overlaps(first + i * step, first + (i + 1) * step, seen) else " ", "muted")
            for i in range(width)
        ]

    def action_hide_crosshair(self) -> None:
        self.crosshair = None
        self.redraw()

    def show(self, store: MetricStore, service: str | None, now: float, window: float) -> None:
        self.store, self.service, self.now, self.window = store, service, now, window
        self.redraw()

    def _spark_width(self) -> int:
        return max(4, self.size.width - 8 - 10)

    def column_edges(self) -> list[int]:
        """label | sparkline (its last page in a few widgets: spark_edges) | value."""
        w = self._spark_width()
        return [0, *spark_edges(8, w), max(8 + w, self.size.width)]

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        if self.store is None or self.service is None:
            return [text_cells(" no service selected", width, "muted")]  # padded by text_cells
        lines = []
        spark_w = self._spark_width()
        newest = newest_index(self.now, self.window, spark_w)
        at = None if self.crosshair is None else newest - min(self.crosshair, newest)
        readout: list[str] = []
        for sig in self.SIGNALS:
            ring = self.store.series(self.service, sig)
            label = sig.replace("error_ratio", "err")
            line = text_cells(f" {label}", 8, "label")
            if ring is None or not len(ring):
                lines.append(line + text_cells("no data", width - 8, "muted"))
                continue
            t, v, f = ring.since(self.now - self.window - 60)
            binned = paged_bins(t, v, f, self.now, self.window, spark_w)
            row = spark_rows(binned, 1, scale=self.scale)[0]
            cells = [(ch, "spike" if k >= 2 else "spark") for ch, k in row]
            if at is not None:
                cells[at] = (cells[at][0], "cursor")
                readout.append(f"{label} {_value_text(sig, binned.values[at], binned.flags[at])}")
            line += cells
            last = ring.last()
            assert last is not None
            line += text_cells(_value_text(sig, last[1], last[2]), 10, "value", ">")
            lines.append(line[:width])
        marks = self._capture_cells(spark_w)
        if marks:
            line = text_cells(" pprof", 8, "label") + marks
            lines.append(line + text_cells("capturing", 10, "muted", ">"))
        lines += self._release_lines(spark_w, width)
        lines += self._trace_lines(width)
        if at is not None:  # first, so that a short pane (80x24) still shows it
            step = cell_step(self.window, spark_w)
            start = (page_first_cell(self.now, step, spark_w) + at) * step
            clock = time.strftime("%H:%M:%S", time.localtime(start))
            ago = _ago(self.now - start)
            text = f" ⌖ {clock} ({ago}): " + "  ".join(readout)
            lines.insert(0, text_cells(text, width, "value"))
        if self.note:
            lines.append(text_cells(f" ⚠ {self.note}", width, "spike"))
        return [line + [(" ", "blank")] * (width - len(line)) for line in lines]

    def slowest(self) -> Exemplar | None:
        """The slowest request with an exemplar in the window, None when there is none."""
        if self.store is None or self.service is None:
            return None
        found = self.store.exemplars.slowest(self.service, self.now - self.window, n=1)
        return found[0] if found else None

    def trace_url(self, ex: Exemplar) -> str:
        cfg = getattr(self.app, "cfg", None)
        return trace_link(getattr(cfg, "trace_url", None), ex, self.service or "")

    def _trace_lines(self, width: int) -> list[list[Cell]]:
        """The slowest request's trace (the line is there only when an exemplar is)."""
        ex = self.slowest()
        if ex is None:
            note = self.store.exemplars.notes.get(self.service or "") if self.store else ""
            return [text_cells(" trace   " + note, width, "muted")] if note else []
        where = f" {ex.route}" if ex.route else ""
        url = self.trace_url(ex)
        text = f" trace   slowest {format_latency(ex.value)}{where} {ex.trace_id} {url}".rstrip()
        return [text_cells(text + " (y copies)", width, "value")]

    def _release_lines(self, spark_w: int, width: int) -> list[list[Cell]]:
        """A `release` line of │ under the sparklines' release cells, then the newest three
        releases with their time and before/after verdict."""
        at = [(n.release.t, n.release.version) for n in self.releases]
        marks = paged_release_cells(at, self.now, self.window, spark_w, "release")
        out = [text_cells(" release", 8, "label") + marks] if marks else []
        for n in self.releases[-3:][::-1]:
            r = n.release
            clock = time.strftime("%H:%M:%S", time.localtime(r.t))
            verdict = n.verdict.split(": ", 1)[-1] if n.verdict else "comparing before/after"
            text = f" │ {clock} ({_ago(self.now - r.t)}) {r.label()} [{r.source}]: {verdict}"
            out.append(text_cells(text, width, "release"))
        if self.release_flap:
            out.append(text_cells(f" ⚠ {self.release_flap}", width, "spike"))
        return out


def _value_text(signal: str, value: float, flags: int) -> str:
    if value != value:  # NaN: no point in that cell
        return "–"
    if signal == "qps":
        return format_qps(value)
    if signal == "error_ratio":
        return format_ratio(value)
    return format_latency(value, bool(int(flags) & FLAG_SATURATED))


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s}s ago" if s < 120 else f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago"


def _overlaps(start: float, end: float, windows: list[tuple[float, float]]) -> bool:
    return any(a < end and b >= start for a, b in windows)


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_trace", "Copy trace id", show=False, id="detail.copy_trace"),
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

    def __init__(
        self,
        extra_panes: list[tuple[str, str, Widget]] | None = None,
        action_bindings: list[Binding] | None = None,
    ) -> None:
        """`action_bindings`: the configured actions' keys, known only from the config, so
        added to this screen's own (the app's keymap applies to them as to any other)."""
        super().__init__()
        self.extra_panes = extra_panes or []
        if action_bindings:
            self._bindings = BindingsMap.merge([self._bindings, BindingsMap(action_bindings)])

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
        captures: list[tuple[float, float]] | tuple[()] = (),
        releases: list[ReleaseNote] | tuple[()] = (),
        release_flap: str = "",
    ) -> None:
        """Bring the Service tab up to date: latency lines (and `note`, a warning about
        them, under them), and the runtime panel beside them only while the service has
        runtime series."""
        detail = self.query_one(ServiceDetail)
        runtime = self.query_one(RuntimePanel)
        detail.scale = runtime.scale = scale
        detail.note = note
        detail.captures = list(captures)
        detail.releases, detail.release_flap = list(releases), release_flap
        runtime.set_class(runtime.show(store, service, now, window), "-shown")
        detail.show(store, service, now, window)

    def action_copy_trace(self) -> None:
        """Copy the selected service's slowest recent trace id to the clipboard (OSC 52)."""
        detail = self.query_one(ServiceDetail)
        ex = detail.slowest()
        if ex is None:
            self.app.bell()
            service = detail.service or "no service"
            note = detail.store.exemplars.notes.get(service) if detail.store else None
            why = note or "no exemplars in the window (the backend kept none)"
            self.notify(f"{service}: no trace id to copy: {why}", severity="warning")
            return
        self.app.copy_to_clipboard(ex.trace_id)
        url = detail.trace_url(ex)
        text = f"copied trace id {ex.trace_id} ({format_latency(ex.value)} on {detail.service})"
        self.notify(text + (f": {url}" if url else ""), title="clipboard")

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
