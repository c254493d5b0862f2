"""The service table's lines as cells: the header, and each service row's sparkline, numbers
and state (plus its marker row of ▲ and release │ while one is in view).

Pure functions of a RowState (tui/ui/widgets/service_rows.py) and the table's geometry, so
the widget (tui/ui/widgets/service_table.py) only decides which rows are on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui.core.units import latency as format_latency
from tui.core.units import qps as format_qps
from tui.core.units import ratio as format_ratio
from tui.ui.widgets.cell_lines import Cell, text_cells
from tui.ui.widgets.service_rows import RowState
from tui.ui.widgets.sparkline import (
    BAR,
    EMPTY,
    RELEASE_GLYPH,
    SATURATED,
    SPIKE,
    cell_step,
    paged_bins,
    paged_release_cells,
    spark_rows,
)

_KIND_KEY = {EMPTY: "spark", BAR: "spark", SPIKE: "spike", SATURATED: "saturated"}


@dataclass(frozen=True)
class RowGeometry:
    """What every row of one redraw shares: widths, the time window and the spark style."""

    name_w: int
    spark_w: int
    width: int
    now: float
    window: float
    row_height: int  # sparkline lines per row (two in the wall theme)
    scale: str  # the config's spark_scale


def header_line(signal: str, window: float, name_w: int, spark_w: int, width: int) -> list[Cell]:
    """`service | P99 · 15m · 5s/cell | p99 qps err | state`."""
    step = cell_step(window, spark_w)
    header: list[Cell] = []
    header += text_cells(" service", name_w + 1, "header")
    header += [(" ", "header")]
    header += text_cells(
        f"{signal.upper()} · {window_label(window)} · {window_label(step)}/cell",
        spark_w,
        "header",
    )
    header += text_cells(signal, 8, "header", ">")
    header += text_cells("qps", 8, "header", ">")
    header += text_cells("err", 7, "header", ">")
    header += text_cells("  state", 11, "header")
    return fit(header, width, "header")


def row_lines(
    row: RowState, selected: bool, geo: RowGeometry, marker_row: bool = False
) -> list[list[Cell]]:
    """One row's lines: its sparkline lines (numbers and state on the last one), then the
    marker line when `marker_row`."""
    c = "+c" if selected else ""
    spikes = np.asarray(row.spike_times, dtype=np.float64) if row.spike_times else None
    binned = paged_bins(row.t, row.v, row.f, geo.now, geo.window, geo.spark_w, spikes)
    rows = spark_rows(binned, geo.row_height, marker_row=marker_row, scale=geo.scale)
    markers = rows.pop() if marker_row else None
    out: list[list[Cell]] = []
    muted = row.state in ("stale", "no data")
    for r, spark in enumerate(rows):
        last = r == len(rows) - 1
        line: list[Cell] = [("›" if selected and last else " ", "name" + c)]
        name_key = ("muted" if muted else "name") + c
        line += text_cells(row.name if last else "", geo.name_w, name_key)
        line += [(" ", "name" + c)]
        spark_key_muted = "muted" if muted else None
        line += [(ch, (spark_key_muted or _KIND_KEY[k]) + c) for ch, k in spark]
        if last:
            line += _number_cells(row, c, muted)
        out.append(fit(line, geo.width, "value" + c))
    if markers is not None:
        out.append(_marker_line(row, markers, c, geo))
    return out


def _number_cells(row: RowState, c: str, muted: bool) -> list[Cell]:
    """Value, QPS, error ratio and state. Within the SLO the numbers stay in the plain colour
    ("calm until something is wrong"), so value, qps and err form one segment: one style
    switch per row when they change, not three."""
    vkey = ("muted" if muted else _loud(row.level)) + c
    line: list[Cell] = [(" ", "value" + c)]
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
    return line


def _marker_line(
    row: RowState, markers: list[tuple[str, int]], c: str, geo: RowGeometry
) -> list[Cell]:
    """▲ under each cell the detector marked, in the spike colour, and │ at each release
    (with its version while there is room); the rest blank."""
    name_w = geo.name_w
    line: list[Cell] = [(" ", "name" + c)] * (name_w + 2)
    line += [(ch, ("spike" if k == SPIKE else "spark") + c) for ch, k in markers]
    cells = paged_release_cells(row.releases, geo.now, geo.window, geo.spark_w, "")
    for i, (ch, _) in enumerate(cells):
        blank = line[name_w + 2 + i][0] == " "  # a ▲ is not written over
        if ch == RELEASE_GLYPH or (ch != " " and blank):
            line[name_w + 2 + i] = (ch, "release" + c)
    return fit(line, geo.width, "value" + c)


def _loud(level: str) -> str:
    """Style key of a number at an SLO level: only warn and bad get a colour."""
    return level if level in ("warn", "bad") else "value"


def fit(line: list[Cell], width: int, pad_key: str) -> list[Cell]:
    """`line` cut or padded (with `pad_key` blanks) to `width` cells."""
    if len(line) >= width:
        return line[:width]
    return line + [(" ", pad_key)] * (width - len(line))


def window_label(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:.0f}s"
