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
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType

from tui.ui.messages import ServiceSelected
from tui.ui.widgets.cell_lines import Cell, SlicedLines, text_cells
from tui.ui.widgets.service_lines import RowGeometry, fit, header_line, row_lines
from tui.ui.widgets.service_rows import RowState
from tui.ui.widgets.sparkline import SPARK_CHUNKS, paged_spikes_in_window, spark_edges


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
        super().__init__(SPARK_CHUNKS + 4, id=id)
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
                paged_spikes_in_window(
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
        """name | sparkline (its last page in a few widgets: spark_edges) | value qps err |
        state: the newest cell and the numbers change every refresh, so each is in a
        widget (a chop) of its own."""
        name_w, spark_w = self._layout()
        edges = [0, *spark_edges(name_w + 2, spark_w)]
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
        lines = [header_line(self.signal, self.window, name_w, spark_w, width)]
        if self.filter_shown:
            lines.insert(0, fit(text_cells(self.filter_title(), width, "header"), width, "header"))
        heights = self._heights()
        self._scroll(heights)
        geo = RowGeometry(
            name_w, spark_w, width, self.now, self.window, self.row_height, self.scale
        )
        for i in range(self.top, self.top + self._fit_count(heights, self.top)):
            if i >= len(self.rows):  # _fit_count is at least 1, rows may be none
                break
            marker_row = heights[i] > self.row_height
            lines.extend(row_lines(self.rows[i], i == self.cursor, geo, marker_row))
        if not self.rows:
            empty = (
                f"  no service matches {self.filter_text!r} (esc clears the filter)"
                if self.all_rows
                else "  waiting for data: no service has reported yet"
            )
            lines.append(fit(text_cells(empty, width, "muted"), width, "muted"))
        return lines
