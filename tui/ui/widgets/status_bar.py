"""One status line: each source's state, the store's dropped-series count, pause state.

Redrawn cell-diff style like the service table, so a points/s counter that ticks costs a few
bytes, not a line. Times are printed as wall-clock ("stale since 05:41:02"), not as ages that
would change every second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style

from tui.sources.base import SourceStatus
from tui.ui.widgets.cell_lines import Cell, SlicedLines, text_cells


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def describe(status: SourceStatus) -> tuple[str, str]:
    """(text, level) for one source in full; level is ok / warn / bad."""
    texts, level = variants(status)
    return texts[0], level


_SHORT = {"prometheus": "prom", "otlp/http": "otlp", "otlp/grpc": "otlp", "alertmanager": "alerts"}


def _short_name(name: str) -> str:
    return _SHORT.get(name, name)


def _port(detail: str) -> str:
    """':4318' from '127.0.0.1:4318' (the port tells the two receivers apart)."""
    return ":" + detail.rsplit(":", 1)[1] if ":" in detail else detail


def variants(status: SourceStatus) -> tuple[list[str], str]:
    """Texts for one source, longest first, and its level (ok / warn / bad).

    A narrow terminal gets a shorter one: the short forms keep what an operator acts on
    (state, stale-since time, rejected count) and drop the addresses and names first.
    """
    name, state = status.name, status.state
    short = _short_name(name)
    c = status.counters
    if name.startswith("otlp"):
        if state in ("listening", "up"):
            rate = f" {c['points_per_s']:.0f}pt/s" if "points_per_s" in c else ""
            rejected = f" {c['rejected']:.0f} rejected" if c.get("rejected") else ""
            full = f"{name} {status.detail or state}{rate}{rejected}"
            port = _port(status.detail)
            level = "warn" if rejected else "ok"
            texts = [full, f"{short} {port} ok{rate}{rejected}", f"{short} {port} ok{rejected}"]
            return texts, level
        return _failing(status, short), "bad"
    if state == "up":
        lat = f" {status.latency * 1000:.0f}ms" if status.latency is not None else ""
        if status.detail:
            full = f"{name} up{lat} {status.detail}"
            return [full, f"{short} up{lat} {status.detail}", f"{short} up {status.detail}"], "warn"
        return [f"{name} up{lat}", f"{short} ok{lat}", f"{short} ok"], "ok"
    if state in ("stale", "down", "error"):
        return _failing(status, short), "bad"
    full = f"{name} {state} {status.detail}".strip()
    return [full, f"{short} {state} {status.detail}".strip(), f"{short} {state}"], "warn"


def _failing(status: SourceStatus, short: str) -> list[str]:
    """A failing source: the state and since when matter most, then the reason."""
    name, state = status.name, status.state
    since = f" stale since {_clock(status.stale_since)}" if status.stale_since else ""
    detail = f" ({status.detail})" if status.detail else ""
    tail = f" since {_clock(status.stale_since)}" if status.stale_since else ""
    texts = [f"{name} {state}{detail}{since}", f"{short} {state}{tail}{detail}"]
    for keep in (32, 16):  # the reason, cut, before no reason at all
        if len(status.detail) > keep + 1:
            texts.append(f"{short} {state}{tail} ({status.detail[:keep].rstrip()}…)")
    return [*texts, f"{short} {state}{tail}"]


@dataclass
class _Part:
    texts: list[str]  # longest first
    level: str
    important: bool  # failing sources, a dropped count, PAUSED: shown first, never dropped
    choice: int = 0
    shown: bool = True
    sep: str = " · "  # what follows it on the line

    @property
    def text(self) -> str:
        return self.texts[self.choice]


def line_length(parts: list[_Part]) -> int:
    shown = [p for p in parts if p.shown]
    return sum(len(p.text) for p in shown) + sum(len(p.sep) for p in shown[:-1])


def fit_parts(parts: list[_Part], width: int) -> list[_Part]:
    """Choose a form for each part, and which healthy parts to leave out, to fit `width`.

    Shortened in this order until the line fits: healthy parts; important ones to the same
    facts in shorter words ("prom" for "prometheus"); the important ones' reasons (a
    receiver's state beats a failure's wording); then healthy parts are left out, from the
    right. Room left goes back as longer forms, important parts first, a step at a time
    across a group so that no part hogs it. Whatever is still too long is cut with "…" by
    the caller.
    """
    healthy = [p for p in parts if not p.important]
    important = [p for p in parts if p.important]
    _shorten(healthy, parts, width)
    _shorten(important, parts, width, 1)  # form 1: the same facts in shorter words
    _shorten(important, parts, width)
    for p in reversed(healthy):
        if line_length(parts) > width:
            p.shown = False
    for p in healthy:  # a later, shorter one may fit where an earlier one did not
        if not p.shown:
            p.shown = True
            if line_length(parts) > width:
                p.shown = False
    for group in (important, healthy):
        _lengthen(group, parts, width)
    return [p for p in parts if p.shown]


def _shorten(group: list[_Part], parts: list[_Part], width: int, limit: int = 99) -> None:
    """Shorter forms for `group`, rightmost part first, until the line fits."""
    for p in reversed(group):
        while line_length(parts) > width and p.choice < min(limit, len(p.texts) - 1):
            p.choice += 1


def _lengthen(group: list[_Part], parts: list[_Part], width: int) -> None:
    """Longer forms for the shown parts of `group` while the line fits: the whole group a
    step at a time while it fits (alike parts, such as the two receivers, look alike), then
    part by part, left first."""
    while True:
        growing = [p for p in group if p.shown and p.choice > 0]
        if not growing:
            return
        for p in growing:
            p.choice -= 1
        if line_length(parts) > width:
            for p in growing:
                p.choice += 1
            break
    grown = True
    while grown:
        grown = False
        for p in group:
            if p.shown and p.choice > 0:
                p.choice -= 1
                if line_length(parts) > width:
                    p.choice += 1
                else:
                    grown = True


STATUS_CHUNKS = 8  # column widgets across the line (see StatusBar.column_edges)
STATUS_CHUNK_W = 20


class StatusBar(SlicedLines):
    """The status line, drawn by eight column widgets (20 cells or more each): a dirty span
    is resent from its widget's left edge, so a points/s counter that ticks resends a few
    cells, not the line up to it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--ok",
        "status-bar--warn",
        "status-bar--bad",
        "status-bar--text",
        "status-bar--paused",
    }
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; layout: horizontal; }
    StatusBar > .status-bar--text { color: $foreground; }
    StatusBar > .status-bar--ok { color: $success; }
    StatusBar > .status-bar--warn { color: $warning; }
    StatusBar > .status-bar--bad { color: $error; text-style: bold; }
    StatusBar > .status-bar--paused { color: $background; background: $warning; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(STATUS_CHUNKS, id=id)
        self.statuses: list[SourceStatus] = []
        self.dropped = 0
        self.paused = False
        self.extra = ""
        self.running: list[tuple[str, str, float]] = []

    def set_state(
        self,
        statuses: list[SourceStatus],
        dropped: int,
        paused: bool,
        extra: str = "",
        running: Sequence[tuple[str, str, float]] = (),
    ) -> None:
        """`running`: (action, service, seconds) of the actions in progress."""
        self.statuses, self.dropped, self.paused, self.extra = statuses, dropped, paused, extra
        self.running = list(running)
        self.redraw()

    def component_style(self, key: str) -> Style:
        if key == "blank":
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"status-bar--{key}")

    def parts(self) -> list[_Part]:
        """The line's parts in order: the dropped count and failing sources first, in
        full; then warnings; healthy sources last."""
        bad: list[_Part] = []
        warn: list[_Part] = []
        healthy: list[_Part] = []
        if self.paused:
            bad.append(_Part([" PAUSED "], "paused", True, sep=" "))
        for action, service, secs in self.running:  # something is changing production
            what = f"▶ {action} {service} {secs:.0f}s"
            bad.append(_Part([f"{what} · ctrl+k stops", f"{what} ^k", f"▶ {action}"], "warn", True))
        if self.dropped:  # short, and a cause of missing rows: never cut
            bad.append(_Part([f"dropped {self.dropped} series"], "bad", True))
        if not self.statuses:
            warn.append(_Part(["no sources"], "warn", True))
        for st in self.statuses:
            texts, level = variants(st)
            {"bad": bad, "warn": warn}.get(level, healthy).append(
                _Part(texts, level, level != "ok")
            )
        if not self.dropped:
            healthy.append(_Part(["dropped 0 series", "0 dropped"], "text", False))
        if self.extra:
            healthy.append(_Part([self.extra], "text", False))
        return bad + warn + healthy

    def column_edges(self) -> list[int]:
        width = self.size.width
        chunk = max(STATUS_CHUNK_W, -(-width // STATUS_CHUNKS))
        return [*range(0, width, chunk), width]

    def build_lines(self) -> list[list[Cell]]:
        width = self.size.width
        line: list[Cell] = []
        shown = fit_parts(self.parts(), width)
        for i, part in enumerate(shown):
            line += text_cells(part.text, len(part.text), part.level)
            if i < len(shown) - 1:
                line += text_cells(part.sep, len(part.sep), "text")
        if len(line) > width:
            line = [*line[: max(0, width - 1)], ("…", line[width - 1][1])] if width else []
        if len(line) < width:
            line += [(" ", "text")] * (width - len(line))
        return [line]
