"""Sparklines drawn with the Line API: the max of each cell, so a one-second spike stays visible.

Cells are aligned to absolute time (cell k covers [k*step, (k+1)*step)), and a line turns a
page (a quarter of its width) at a time instead of shifting one cell per step: the newest
cell stays in the line's last quarter (the cells after it, still to come, are blank), so
between two page turns a refresh redraws the newest cell only, and the cells before it keep
their place on screen. That is what keeps the dashboard inside its terminal output budget:
a line shifted by one cell costs every cell of it, each step, on every row. The line machinery
(cells, diffing, column widgets) is tui/ui/widgets/cell_lines.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.style import Style

from tui.core.metrics.store import FLAG_SATURATED
from tui.ui.widgets.cell_lines import Cell, CellLinesWidget

BARS = " ▁▂▃▄▅▆▇█"
MARKER = "▲"

# Cell kinds, mapped to component classes by the widgets that draw them.
EMPTY, BAR, SATURATED, SPIKE = 0, 1, 2, 3


@dataclass(frozen=True)
class Binned:
    """Per-cell max values (nan where a cell has no point) and per-cell flags/spike marks."""

    values: np.ndarray  # float64[width]
    flags: np.ndarray  # uint8[width], OR of point flags in the cell
    spikes: np.ndarray  # bool[width]


def cell_step(window: float, width: int) -> float:
    """Seconds per cell; whole seconds so cell edges fall on round times."""
    return max(1.0, math.ceil(window / max(1, width)))


PAGES = 4  # a line turns a quarter of its width at a time


def page_cells(width: int) -> int:
    """Cells a line moves on at a page turn; the newest cell is always among the last ones."""
    return max(1, width // PAGES)


SPARK_CHUNKS = 4  # column widgets over a sparkline's last page (see spark_edges)


def spark_edges(x0: int, width: int) -> list[int]:
    """Column-widget edges for a sparkline of `width` cells at `x0`: the cells before the
    last page (they change only at a page turn) in one widget, the last page, where the
    newest cell moves along, in SPARK_CHUNKS widgets of a few cells each, so a change of
    the newest cell resends at most a few cells (a dirty span is resent from its widget's
    left edge). `x0` first, `x0 + width` last; at most SPARK_CHUNKS + 2 edges."""
    head = x0 + width - page_cells(width)
    chunk = max(1, math.ceil((x0 + width - head) / SPARK_CHUNKS))
    edges = [x0] if head == x0 else [x0, head]
    edges += list(range(head + chunk, x0 + width, chunk))
    return [*edges, x0 + width]


def page_first_cell(now: float, step: float, width: int) -> int:
    """The absolute index of a line's first cell: the oldest cell a line of `width` cells
    ending at `now` would show, rounded up to a whole page, so it changes once a page."""
    page = page_cells(width)
    oldest = math.floor(now / step) - width + 1
    return -((-oldest) // page) * page


def newest_index(now: float, window: float, width: int) -> int:
    """The position in the line of the cell holding `now` (width - 1 right after a turn)."""
    step = cell_step(window, width)
    return math.floor(now / step) - page_first_cell(now, step, width)


def drawn_part(now: float, window: float, width: int) -> tuple[float, int]:
    """(window, cells) of the drawn part of a paged line of `width` cells: from its first
    cell to the newest, the same step. The `bin_max`, `spikes_in_window` and
    `release_cells` of that part, padded to `width`, are the paged line's."""
    step = cell_step(window, width)
    cells = newest_index(now, window, width) + 1
    return step * cells, cells


def paged_bins(
    t: np.ndarray,
    v: np.ndarray,
    f: np.ndarray,
    now: float,
    window: float,
    width: int,
    spike_times: np.ndarray | None = None,
) -> Binned:
    """`bin_max` of a paged line: the cells still to come (after the newest) are empty."""
    part, cells = drawn_part(now, window, width)
    b = bin_max(t, v, f, now, part, cells, spike_times)
    pad = width - cells
    return Binned(
        np.concatenate([b.values, np.full(pad, np.nan)]),
        np.concatenate([b.flags, np.zeros(pad, dtype=np.uint8)]),
        np.concatenate([b.spikes, np.zeros(pad, dtype=bool)]),
    )


def paged_spikes_in_window(
    spike_times: Iterable[float], now: float, window: float, width: int
) -> bool:
    """`spikes_in_window` of a paged line (the cells `paged_bins` draws)."""
    part, cells = drawn_part(now, window, width)
    return spikes_in_window(spike_times, now, part, cells)


def bin_max(
    t: np.ndarray,
    v: np.ndarray,
    f: np.ndarray,
    now: float,
    window: float,
    width: int,
    spike_times: np.ndarray | None = None,
) -> Binned:
    """Max of the points in each time-aligned cell; the last cell holds `now`."""
    step = cell_step(window, width)
    last_cell = math.floor(now / step)
    first_cell = last_cell - width + 1
    values = np.full(width, np.nan)
    flags = np.zeros(width, dtype=np.uint8)
    spikes = np.zeros(width, dtype=bool)
    if len(t):
        idx = np.floor(t / step).astype(np.int64) - first_cell
        ok = (idx >= 0) & (idx < width) & np.isfinite(v)
        idx, vv, ff = idx[ok], v[ok], f[ok]
        if len(idx):
            np.fmax.at(values, idx, vv)
            np.bitwise_or.at(flags, idx, ff.astype(np.uint8))
    if spike_times is not None and len(spike_times):
        sidx = np.floor(np.asarray(spike_times) / step).astype(np.int64) - first_cell
        sidx = sidx[(sidx >= 0) & (sidx < width)]
        spikes[sidx] = True
    return Binned(values, flags, spikes)


def spikes_in_window(spike_times: Iterable[float], now: float, window: float, width: int) -> bool:
    """Whether any spike falls in one of the `width` cells `bin_max` would draw (the same
    cell arithmetic), without binning the series: it decides a row's height."""
    step = cell_step(window, width)
    last_cell = math.floor(now / step)
    first_cell = last_cell - width + 1
    return any(first_cell <= math.floor(t / step) <= last_cell for t in spike_times)


SCALES = ("robust", "linear", "log")
CLIP_FACTOR = 1.5  # robust: the scale ends at 1.5x the 90th percentile of the cells
CLIPPED = "↑"  # the top of a cell above the scale: off the chart, not merely full
LOG_SPAN = 1e3  # log: three decades below the top


def scale_top(vals: np.ndarray, scale: str = "robust") -> float:
    """Where the scale ends. `linear`: the max. `robust`: at most CLIP_FACTOR x the 90th
    percentile, so one 6.4 s start-up point cannot flatten a 0.1 -> 0.9 s climb to ▁ for the
    whole window (the cells above are drawn full and topped with CLIPPED) - but never below
    the newest tenth of the cells: a spike happening now is drawn in full contrast, as the
    linear scale draws it."""
    finite = vals[np.isfinite(vals)]
    if not finite.shape[0]:
        return 0.0
    top = float(finite.max())
    if scale == "robust":
        q90 = float(np.percentile(finite, 90))
        recent = float(finite[-max(1, finite.shape[0] // 10) :].max())
        if q90 > 0:
            top = min(top, max(CLIP_FACTOR * q90, recent))
    return top


def spark_rows(
    binned: Binned,
    height: int = 1,
    top: float | None = None,
    marker_row: bool = False,
    scale: str = "robust",
) -> list[list[tuple[str, int]]]:
    """Rows of (character, kind) cells, top row first; from 0 to `top` (default: scale_top),
    or with `scale="log"` over the three decades below it.

    A saturated cell (quantile in the +Inf bucket) is drawn full height as SATURATED; a cell
    the detector marked is SPIKE; with `marker_row` a row of ▲ under spike cells follows.
    """
    # Levels and kinds for the whole row in numpy, then one list comprehension per text row:
    # this runs for every visible service on every refresh (it was the dashboard's top cost).
    vals = binned.values
    finite = np.isfinite(vals)
    if top is None:
        top = scale_top(vals, scale)
    levels = 8 * height
    saturated = (binned.flags & FLAG_SATURATED) != 0
    v = np.where(finite, vals, 0.0)
    clipped = finite & (v > top * (1 + 1e-9)) & ~saturated
    if top <= 0:
        level = np.ones(len(vals), dtype=np.int64)
    else:
        if scale == "log":
            floor = top / LOG_SPAN
            frac = np.log(np.maximum(v, floor) / floor) / math.log(LOG_SPAN)
        else:
            frac = v / top
        scaled = np.rint(frac * levels)  # round half to even
        level = np.clip(scaled, 1, levels).astype(np.int64)
    level[saturated] = levels
    kinds = np.where(binned.spikes, SPIKE, np.where(saturated, SATURATED, BAR)).tolist()
    drawn = finite.tolist()
    rows: list[list[tuple[str, int]]] = []
    for r in range(height):
        # row r (from the top) shows the part of `level` above (height - 1 - r) * 8
        parts = np.clip(level - (height - 1 - r) * 8, 0, 8).tolist()
        row = [
            (BARS[p], k if p > 0 else EMPTY) if d else (" ", EMPTY)
            for p, k, d in zip(parts, kinds, drawn, strict=True)
        ]
        if r == 0 and clipped.any():
            for i in np.flatnonzero(clipped).tolist():
                row[i] = (CLIPPED, row[i][1])
        rows.append(row)
    if marker_row:
        rows.append([(MARKER, SPIKE) if m else (" ", EMPTY) for m in binned.spikes.tolist()])
    return rows


class Sparkline(CellLinesWidget):
    """A standalone sparkline of one series (max per cell); as many rows as it is tall, the
    last one a marker row (▲ under spike cells) when `marker_row` is set."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sparkline--bar",
        "sparkline--spike",
        "sparkline--saturated",
        "sparkline--empty",
    }
    DEFAULT_CSS = """
    Sparkline { height: 1; }
    Sparkline > .sparkline--bar { color: $spark; }
    Sparkline > .sparkline--spike { color: $error; text-style: bold; }
    Sparkline > .sparkline--saturated { color: $error; text-style: bold reverse; }
    """
    _KEYS: ClassVar[dict[int, str]] = {
        EMPTY: "empty",
        BAR: "bar",
        SPIKE: "spike",
        SATURATED: "saturated",
    }

    def __init__(
        self,
        *,
        marker_row: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.marker_row = marker_row
        self.scale = "robust"  # SCALES; the config's spark_scale
        self._data: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, dtype=np.uint8),
        )
        self._spikes: np.ndarray | None = None
        self._now = 0.0
        self._window = 900.0

    def set_data(
        self,
        t: np.ndarray,
        v: np.ndarray,
        f: np.ndarray,
        now: float,
        window: float,
        spike_times: np.ndarray | None = None,
    ) -> None:
        """Replace the series; only the cells that changed are sent to the terminal."""
        self._data, self._now, self._window, self._spikes = (t, v, f), now, window, spike_times
        self.redraw()

    def component_style(self, key: str) -> Style:
        if key == "blank":
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"sparkline--{key}")

    def build_lines(self) -> list[list[Cell]]:
        width = max(1, self.size.width)
        height = max(1, self.size.height - (1 if self.marker_row else 0))
        t, v, f = self._data
        binned = paged_bins(t, v, f, self._now, self._window, width, self._spikes)
        return [
            [(ch, self._KEYS[k]) for ch, k in row]
            for row in spark_rows(binned, height, marker_row=self.marker_row, scale=self.scale)
        ]


RELEASE_GLYPH = "│"  # box drawing: in every terminal font, the Linux console's too


def release_cells(
    releases: Iterable[tuple[float, str]], now: float, window: float, width: int, key: str
) -> list[Cell]:
    """A line under a sparkline: RELEASE_GLYPH in the cell of each release (same cell
    arithmetic as `bin_max`), its label written after it while the next release leaves
    room; [] when no release is in view."""
    step = cell_step(window, width)
    first_cell = math.floor(now / step) - width + 1
    at = sorted(
        (math.floor(t / step) - first_cell, label)
        for t, label in releases
        if 0 <= math.floor(t / step) - first_cell < width
    )
    if not at:
        return []
    cells: list[Cell] = [(" ", "blank")] * width
    for j, (i, label) in enumerate(at):
        cells[i] = (RELEASE_GLYPH, key)
        end = at[j + 1][0] if j + 1 < len(at) else width
        for k, ch in enumerate(label[: max(0, end - i - 1)]):
            cells[i + 1 + k] = (ch, key)
    return cells


def paged_release_cells(
    releases: Iterable[tuple[float, str]], now: float, window: float, width: int, key: str
) -> list[Cell]:
    """`release_cells` of a paged line (the cells `paged_bins` draws), `width` long."""
    part, cells = drawn_part(now, window, width)
    marks = release_cells(releases, now, part, cells, key)
    return marks + [(" ", "blank")] * (width - cells) if marks else []
