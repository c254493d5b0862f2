"""One status line: each source's state, the store's dropped-series count, pause state.

Redrawn cell-diff style like the service table, so a points/s counter that ticks costs a few
bytes, not a line. Times are printed as wall-clock ("stale since 05:41:02"), not as ages that
would change every second.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.style import Style

from tui.sources.base import SourceStatus
from tui.ui.widgets.sparkline import Cell, CellLinesWidget, text_cells


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def describe(status: SourceStatus) -> tuple[str, str]:
    """(text, level) for one source; level is ok / warn / bad."""
    name, state = status.name, status.state
    c = status.counters
    if name.startswith("otlp"):
        parts = [name, status.detail or state]
        if state in ("listening", "up"):
            if "points_per_s" in c:
                parts.append(f"{c['points_per_s']:.0f}pt/s")
            if c.get("rejected"):
                parts.append(f"{c['rejected']:.0f} rejected")
            return " ".join(parts), "warn" if c.get("rejected") else "ok"
        return " ".join([name, state, status.detail]).strip(), "bad"
    if state == "up":
        lat = f" {status.latency * 1000:.0f}ms" if status.latency is not None else ""
        warn = f" {status.detail}" if status.detail else ""
        return f"{name} up{lat}{warn}", "warn" if status.detail else "ok"
    if state in ("stale", "down", "error"):
        since = f" stale since {_clock(status.stale_since)}" if status.stale_since else ""
        detail = f" ({status.detail})" if status.detail else ""
        return f"{name} {state}{detail}{since}", "bad"
    return f"{name} {state} {status.detail}".strip(), "warn"


class StatusBar(CellLinesWidget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--ok",
        "status-bar--warn",
        "status-bar--bad",
        "status-bar--text",
        "status-bar--paused",
    }
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    StatusBar > .status-bar--text { color: $foreground; }
    StatusBar > .status-bar--ok { color: $success; }
    StatusBar > .status-bar--warn { color: $warning; }
    StatusBar > .status-bar--bad { color: $error; text-style: bold; }
    StatusBar > .status-bar--paused { color: $background; background: $warning; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.statuses: list[SourceStatus] = []
        self.dropped = 0
        self.paused = False
        self.extra = ""

    def set_state(
        self, statuses: list[SourceStatus], dropped: int, paused: bool, extra: str = ""
    ) -> None:
        self.statuses, self.dropped, self.paused, self.extra = statuses, dropped, paused, extra
        self.redraw()

    def component_style(self, key: str) -> Style:
        if key == "blank":
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"status-bar--{key}")

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        line: list[Cell] = []
        if self.paused:
            line += [*text_cells(" PAUSED ", 8, "paused"), (" ", "text")]
        if not self.statuses:
            line += text_cells("no sources", 10, "warn")
        for i, st in enumerate(self.statuses):
            text, level = describe(st)
            if i:
                line += text_cells(" · ", 3, "text")
            line += text_cells(text, len(text), level)
        line += text_cells(" · ", 3, "text")
        dropped = f"dropped {self.dropped} series"
        line += text_cells(dropped, len(dropped), "bad" if self.dropped else "text")
        if self.extra:
            line += text_cells(f" · {self.extra}", len(self.extra) + 3, "text")
        if len(line) < width:
            line += [(" ", "text")] * (width - len(line))
        return [line[:width]]
