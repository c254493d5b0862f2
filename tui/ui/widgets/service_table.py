"""The service table: one row per service with a sparkline, value, QPS, error ratio, state.

Drawn with the Line API. Every update renders the rows into cells, compares them with what is
on screen and refreshes only the changed spans of the changed lines, so at 50 services and a
1 s refresh the terminal receives a few bytes per row instead of whole rows.

`/` filters the rows (case-insensitive substring of the name or of a `label=value`) with an
editor drawn in the table's own top line, so it needs no extra widget and works in every
theme; the filter is kept across refreshes until Esc clears it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType

from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.core.units import latency as format_latency
from tui.core.units import qps as format_qps
from tui.core.units import ratio as format_ratio
from tui.ui.messages import ServiceSelected
from tui.ui.widgets.sparkline import (
    BAR,
    EMPTY,
    RELEASE_GLYPH,
    SATURATED,
    SPIKE,
    Cell,
    SlicedLines,
    bin_max,
    cell_step,
    release_cells,
    spark_rows,
    spikes_in_window,
    text_cells,
)

# --- formatting -----------------------------------------------------------------------------


# --- the table ------------------------------------------------------------------------------


@dataclass
class RowState:
    """What one row shows, computed from the store (no widget state)."""

    name: str
    t: np.ndarray
    v: np.ndarray
    f: np.ndarray
    value: float | None
    saturated: bool
    qps: float | None
    error_ratio: float | None
    state: str  # "ok", "SLO", "stale", "no data", or the spike detector's state
    level: str  # "ok" | "warn" | "bad" | "" (no SLO) for the value colour
    err_level: str
    spike_times: list[float] = field(default_factory=list)
    releases: list[tuple[float, str]] = field(default_factory=list)  # (t, version): a │
    labels: dict[str, str] = field(default_factory=dict)  # the store's, e.g. version

    def matches(self, needle: str, more_labels: dict[str, str] | None = None) -> bool:
        """`needle` (lower case) in the name or in one `label=value`."""
        if needle in self.name.lower():
            return True
        labels = {**self.labels, **(more_labels or {})}
        return any(needle in f"{k}={v}".lower() for k, v in labels.items())


WINDOWS = (300.0, 900.0, 3600.0, 21600.0)
SIGNALS = ("p50", "p95", "p99")
_SLO_WARN = 0.8  # at 80% of the SLO the value turns to the warning colour


def _level(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return ""
    if value > limit:
        return "bad"
    if value > _SLO_WARN * limit:
        return "warn"
    return "ok"


class ServiceTable(SlicedLines, can_focus=True):
    """All services, one (or, in the wall theme, two) lines each; the cursor selects one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="cursor.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="cursor.down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, id="cursor.pageup"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, id="cursor.pagedown"),
        Binding("home,g", "cursor_to(0)", "First service", show=False, id="cursor.first"),
        Binding("end,G", "cursor_to(-1)", "Last service", show=False, id="cursor.last"),
        Binding("slash", "open_filter", "Filter services", show=False, id="services.filter"),
        Binding(
            "enter", "app.open_routes", "Routes of the service", show=False, id="services.routes"
        ),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "service-table--header",
        "service-table--name",
        "service-table--spark",
        "service-table--spike",
        "service-table--saturated",
        "service-table--ok",
        "service-table--warn",
        "service-table--bad",
        "service-table--muted",
        "service-table--cursor",
        "service-table--value",
        "service-table--release",
    }
    DEFAULT_CSS = """
    ServiceTable { height: 1fr; background: $surface; layout: horizontal; }
    ServiceTable > .service-table--header { color: $text-muted; text-style: bold; background: $panel; }
    ServiceTable > .service-table--name { color: $foreground; }
    ServiceTable > .service-table--value { color: $foreground; }
    ServiceTable > .service-table--spark { color: $spark; }
    ServiceTable > .service-table--spike { color: $error; text-style: bold; }
    ServiceTable > .service-table--saturated { color: $error; text-style: bold reverse; }
    ServiceTable > .service-table--ok { color: $success; }
    ServiceTable > .service-table--warn { color: $warning; text-style: bold; }
    ServiceTable > .service-table--bad { color: $error; text-style: bold reverse; }
    ServiceTable > .service-table--muted { color: $muted; }
    ServiceTable > .service-table--release { color: $accent; text-style: bold; }
    ServiceTable > .service-table--cursor { background: $primary 35%; }
    ServiceTable:focus > .service-table--cursor { background: $primary 55%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(5, id=id)
        self.rows: list[RowState] = []  # the rows shown: all_rows narrowed by the filter
        self.all_rows: list[RowState] = []
        self.filter_text = ""
        self.filter_open = False  # the filter line is taking keys
        self.cursor = 0
        self.top = 0
        self.signal = "p99"
        self.window = 900.0
        self.row_height = 1
        self.scale = "robust"  # the config's spark_scale
        self.now = time.time()

    # data in
    def set_rows(self, rows: list[RowState], now: float) -> None:
        self.all_rows, self.now = rows, now
        self._narrow(to_top=False)

    def _narrow(self, to_top: bool) -> None:
        """Show the rows the filter keeps. The selected service stays selected while it is
        shown; once filtered out, the cursor goes to the best match (the first row) when the
        filter changed, or stays at its place when the data did."""
        selected = self.selected
        needle = self.filter_text.lower()
        rows = self.all_rows
        if needle:
            configured = self._configured_labels()
            rows = [r for r in rows if r.matches(needle, configured.get(r.name, {}))]
        self.rows = rows
        names = [r.name for r in rows]
        if selected is not None and selected in names:
            self.cursor = names.index(selected)
        elif to_top:
            self.cursor = 0
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        if selected != self.selected:
            self.post_message(ServiceSelected(self.selected))
        self.redraw()

    # the filter
    def _configured_labels(self) -> dict[str, dict[str, str]]:
        """The config's labels per service (`labels:`, `namespace:`, `version:`), which the
        filter matches too; none before the table is mounted in an app with a config."""
        cfg = getattr(self.app, "cfg", None) if self.is_mounted else None
        out: dict[str, dict[str, str]] = {}
        for svc in getattr(cfg, "services", None) or ():
            labels = dict(getattr(svc, "labels", None) or {})
            for key in ("namespace", "version"):
                if getattr(svc, key, None):
                    labels[key] = str(getattr(svc, key))
            out[svc.name] = labels
        return out

    @property
    def filter_shown(self) -> bool:
        return self.filter_open or bool(self.filter_text)

    def filter_title(self) -> str:
        """The filter line's text: 'filter: xyz (3 of 50)' and the keys that apply."""
        count = f"({len(self.rows)} of {len(self.all_rows)})"
        if self.filter_open:
            return f" filter: {self.filter_text}▏ {count}  enter: keep  esc: clear"
        return f" filter: {self.filter_text} {count}  /: edit  esc: clear"

    def action_open_filter(self) -> None:
        self.filter_open = True
        self.redraw()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._narrow(to_top=True)

    def clear_filter(self) -> None:
        self.filter_open = False
        self.set_filter("")

    def on_key(self, event: events.Key) -> None:
        """While the filter line is open it takes printable keys, backspace, enter and esc
        (the dashboard's letter keys do not fire); arrows still move the cursor."""
        if not self.filter_open:
            if self.filter_text and event.key == "escape":
                event.stop()
                self.clear_filter()
            return
        key = event.key
        if key == "escape":
            self.clear_filter()
        elif key == "enter":
            self.filter_open = False
            self.redraw()
        elif key == "backspace":
            self.set_filter(self.filter_text[:-1])
        elif key == "ctrl+u":
            self.set_filter("")
        elif event.is_printable and event.character is not None:
            self.set_filter(self.filter_text + event.character)
        else:
            return  # arrows, tab, ctrl+...: their usual meaning
        event.stop()
        event.prevent_default()

    def on_blur(self) -> None:
        if self.filter_open:  # focus moved on: the filter stays, the editing ends
            self.filter_open = False
            self.redraw()

    @property
    def selected(self) -> str | None:
        return self.rows[self.cursor].name if 0 <= self.cursor < len(self.rows) else None

    # navigation
    def _heights(self) -> list[int]:
        """Screen lines of each row: its sparkline, plus a marker row while a spike the
        detector reported is inside the visible window (steady services stay compact)."""
        _, spark_w = self._layout()
        now, window = self.now, self.window
        return [
            self.row_height
            + int(
                spikes_in_window(
                    [*r.spike_times, *(t for t, _ in r.releases)], now, window, spark_w
                )
            )
            for r in self.rows
        ]

    def _avail(self) -> int:
        # the header takes one line, the filter line (while shown) another
        return max(1, self.size.height - 1 - int(self.filter_shown))

    def _fit_count(self, heights: list[int], top: int) -> int:
        """How many whole rows from `top` fit on screen (at least one)."""
        used = count = 0
        for h in heights[top:]:
            if used + h > self._avail() and count:
                break
            used += h
            count += 1
        return max(1, count)

    def _top_for(self, heights: list[int], index: int) -> int:
        """The smallest top row that still shows row `index` whole at the bottom."""
        top, used = index, heights[index] if 0 <= index < len(heights) else 0
        while top > 0 and used + heights[top - 1] <= self._avail():
            top -= 1
            used += heights[top]
        return top

    def _visible_rows(self) -> int:
        return self._fit_count(self._heights(), self.top)

    def _scroll(self, heights: list[int]) -> None:
        """Keep the cursor row on screen and the screen full at the end of the list."""
        if not self.rows:
            self.top = 0
            return
        last_top = self._top_for(heights, len(self.rows) - 1)
        self.top = max(0, min(self.top, last_top, self.cursor))
        self.top = max(self.top, self._top_for(heights, self.cursor))

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_cursor_to(self, index: int) -> None:
        self.move_cursor(len(self.rows) - 1 if index < 0 else index)

    def move_cursor(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.cursor:
            return
        self.cursor = index
        self._scroll(self._heights())
        self.post_message(ServiceSelected(self.selected))
        self.redraw()

    def row_at(self, y: int) -> int | None:
        """The row drawn at screen line `y` of the widget (None for the header or below)."""
        line = 1 + int(self.filter_shown)
        if y < line:
            return None
        heights = self._heights()
        for i in range(self.top, len(self.rows)):
            if line <= y < line + heights[i]:
                return i
            line += heights[i]
        return None

    def on_click(self, event: object) -> None:
        index = self.row_at(getattr(event, "y", 0))
        if index is not None:
            self.move_cursor(index)

    # drawing
    def column_edges(self) -> list[int]:
        """name | sparkline history | newest cell | value qps err | state: the newest cell
        and the numbers change every refresh, so each starts a widget (a chop) of its own."""
        name_w, spark_w = self._layout()
        edges = [0, name_w + 2, name_w + 1 + spark_w, name_w + 2 + spark_w]
        edges.append(edges[-1] + 8 + 8 + 7)
        edges.append(max(edges[-1], self.size.width))
        return edges

    def component_style(self, key: str) -> Style:
        cached = self._style_cache.get(key)
        if cached is not None:
            return cached
        cursor = key.endswith("+c")
        base = key[:-2] if cursor else key
        if base == "blank":
            style = self.rich_style
        else:
            style = self.rich_style + self.get_component_rich_style(f"service-table--{base}")
        if cursor:
            style += Style(bgcolor=self.get_component_rich_style("service-table--cursor").bgcolor)
        self._style_cache[key] = style
        return style

    def _layout(self) -> tuple[int, int]:
        width = self.size.width
        longest = max((len(r.name) for r in self.rows), default=8)
        name_w = max(8, min(longest, 28 if width >= 120 else 16))
        spark_w = max(8, width - name_w - 37)  # the other columns: 37 cells, state 10 of them
        return name_w, spark_w

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        name_w, spark_w = self._layout()
        step = cell_step(self.window, spark_w)
        win = _window_label(self.window)
        header: list[Cell] = []
        header += text_cells(" service", name_w + 1, "header")
        header += [(" ", "header")]
        header += text_cells(
            f"{self.signal.upper()} · {win} · {_window_label(step)}/cell", spark_w, "header"
        )
        header += text_cells(self.signal, 8, "header", ">")
        header += text_cells("qps", 8, "header", ">")
        header += text_cells("err", 7, "header", ">")
        header += text_cells("  state", 11, "header")
        lines = [_fit(header, width, "header")]
        if self.filter_shown:
            lines.insert(0, _fit(text_cells(self.filter_title(), width, "header"), width, "header"))
        heights = self._heights()
        self._scroll(heights)
        for i in range(self.top, self.top + self._fit_count(heights, self.top)):
            if i >= len(self.rows):  # _fit_count is at least 1, rows may be none
                break
            row_lines = self._row_lines(
                self.rows[i], i == self.cursor, name_w, spark_w, width, heights[i] > self.row_height
            )
            lines.extend(row_lines)
        if not self.rows:
            empty = (
                f"  no service matches {self.filter_text!r} (esc clears the filter)"
                if self.all_rows
                else "  waiting for data: no service has reported yet"
            )
            lines.append(_fit(text_cells(empty, width, "muted"), width, "muted"))
        return lines

    def _row_lines(
        self,
        row: RowState,
        selected: bool,
        name_w: int,
        spark_w: int,
        width: int,
        marker_row: bool = False,
    ) -> list[list[Cell]]:
        c = "+c" if selected else ""
        spikes = np.asarray(row.spike_times, dtype=np.float64) if row.spike_times else None
        binned = bin_max(row.t, row.v, row.f, self.now, self.window, spark_w, spikes)
        rows = spark_rows(binned, self.row_height, marker_row=marker_row, scale=self.scale)
        markers = rows.pop() if marker_row else None
        kind_key = {EMPTY: "spark", BAR: "spark", SPIKE: "spike", SATURATED: "saturated"}
        out: list[list[Cell]] = []
        muted = row.state in ("stale", "no data")
        for r, spark in enumerate(rows):
            last = r == len(rows) - 1
            line: list[Cell] = [("›" if selected and last else " ", "name" + c)]
            name_key = ("muted" if muted else "name") + c
            line += text_cells(row.name if last else "", name_w, name_key)
            line += [(" ", "name" + c)]
            spark_key_muted = "muted" if muted else None
            line += [(ch, (spark_key_muted or kind_key[k]) + c) for ch, k in spark]
            if last:
                # Within the SLO the numbers stay in the plain colour ("calm until something
                # is wrong"), so value, qps and err form one segment: one style switch per
                # row when they change, not three.
                vkey = ("muted" if muted else _loud(row.level)) + c
                line += [(" ", "value" + c)]
                line += text_cells(format_latency(row.value, row.saturated), 7, vkey, ">")
                line += [(" ", "value" + c)]
                line += text_cells(format_qps(row.qps), 7, ("muted" if muted else "value") + c, ">")
                line += [(" ", "value" + c)]
                ekey = ("muted" if muted else _loud(row.err_level)) + c
                line += text_cells(format_ratio(row.error_ratio), 6, ekey, ">")
                skey = {"ok": "ok", "stale": "muted", "no data": "muted"}.get(row.state, "bad")
                if row.state in ("WARMING UP", "RECOVERED"):
                    skey = "muted" if row.state == "WARMING UP" else "ok"
                line += [(" ", "value" + c), (" ", "value" + c)]
                line += text_cells(row.state, 10, skey + c)
            out.append(_fit(line, width, "value" + c))
        if markers is not None:
            # ▲ under each cell the detector marked, in the spike colour; the rest blank
            line = [(" ", "name" + c)] * (name_w + 2)
            line += [(ch, ("spike" if k == SPIKE else "spark") + c) for ch, k in markers]
            cells = release_cells(row.releases, self.now, self.window, spark_w, "")
            for i, (ch, _) in enumerate(cells):
                blank = line[name_w + 2 + i][0] == " "  # a ▲ is not written over
                if ch == RELEASE_GLYPH or (ch != " " and blank):
                    line[name_w + 2 + i] = (ch, "release" + c)
            out.append(_fit(line, width, "value" + c))
        return out


def _loud(level: str) -> str:
    """Style key of a number at an SLO level: only warn and bad get a colour."""
    return level if level in ("warn", "bad") else "value"


def _fit(line: list[Cell], width: int, pad_key: str) -> list[Cell]:
    if len(line) >= width:
        return line[:width]
    return line + [(" ", pad_key)] * (width - len(line))


def _window_label(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:.0f}s"


# --- rows from the store --------------------------------------------------------------------


def build_rows(
    store: MetricStore,
    services: Iterable[tuple[str, float | None, float | None]],
    signal: str,
    window: float,
    now: float,
    stale_after: float,
    states: dict[str, str] | None = None,
    spikes: dict[str, list[float]] | None = None,
    releases: dict[str, list[tuple[float, str]]] | None = None,
) -> list[RowState]:
    """One RowState per (name, slo_p99, slo_error_ratio), in the given order."""
    rows = []
    t0 = now - window - 60  # a little extra so the first cell is full
    for name, slo_p99, slo_err in services:
        ring = store.series(name, signal)
        if ring is not None:
            t, v, f = ring.since(t0)
        else:
            t, v, f = np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.uint8)
        last = store.latest(name, signal)
        info = store.services.get(name)
        value = saturated = None
        if last is not None:
            value, saturated = last[1], bool(last[2] & FLAG_SATURATED)
        q = store.latest(name, "qps")
        e = store.latest(name, "error_ratio")
        qps = q[1] if q else None
        err = e[1] if e else None
        updated = info.last_update if info else None
        if last is None:
            state = "no data"
        elif updated is not None and now - updated > stale_after:
            state = "stale"
        elif states and states.get(name) not in (None, "OK"):
            state = states[name]
        elif saturated:
            state = "SATURATED"  # the quantile is only a lower bound: never "ok"
        elif (
            slo_p99 is not None and signal == "p99" and value is not None and value > slo_p99
        ) or (slo_err is not None and err is not None and err > slo_err):
            state = "SLO"
        else:
            state = "ok"
        rows.append(
            RowState(
                name=name,
                t=t,
                v=v,
                f=f,
                value=value,
                saturated=bool(saturated),
                qps=qps,
                error_ratio=err,
                state=state,
                level=_level(value, slo_p99 if signal == "p99" else None),
                err_level=_level(err, slo_err),
                spike_times=(spikes or {}).get(name, []),
                releases=(releases or {}).get(name, []),
                labels=dict(info.labels) if info is not None else {},
            )
        )
    return rows
