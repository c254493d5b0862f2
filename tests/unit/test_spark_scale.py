"""Sparkline scales (issue 13 item 5): one start-up outlier must not flatten a real climb."""

from __future__ import annotations

import numpy as np

from tui.ui.widgets.sparkline import BARS, CLIPPED, bin_max, spark_rows


def trial_series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trial's case: a 6.4 s point at start-up, then P99 climbing 0.1 -> 0.9 s."""
    t = np.arange(0.0, 900.0, 5.0)
    v = np.linspace(0.1, 0.9, t.shape[0])
    v[20] = 6.4
    return t, v, np.zeros(t.shape[0], dtype=np.uint8)


def drawn(scale: str) -> str:
    t, v, f = trial_series()
    cells = spark_rows(bin_max(t, v, f, 900.0, 900.0, 60), 1, scale=scale)[0]
    return "".join(ch for ch, _ in cells).strip()  # the cell still to come is blank


def split(line: str, mark: str) -> list[int]:
    """The levels of the other cells, after checking the outlier's cell is the one `mark`."""
    assert line.count(mark) == 1
    return [BARS.index(ch) for ch in line.replace(mark, "")]


def test_linear_lets_the_outlier_flatten_the_climb() -> None:
    levels = split(drawn("linear"), "█")
    assert max(levels) <= 2  # the climb is ▁ and ▂: unreadable


def test_robust_shows_the_climb_and_marks_the_clipped_cell() -> None:
    levels = split(drawn("robust"), CLIPPED)  # off the scale, not merely full
    assert levels == sorted(levels) and levels[0] <= 2 and levels[-1] >= 5  # climbing, visible


def test_log_keeps_the_order_of_every_cell() -> None:
    levels = split(drawn("log"), "█")
    assert levels == sorted(levels) and levels[-1] > levels[0]


def test_a_sustained_incident_sets_the_scale_itself() -> None:
    """Half the window at 10x: the 90th percentile is the incident, nothing is clipped."""
    t = np.arange(0.0, 900.0, 5.0)
    v = np.where(t < 450, 0.1, 1.0)
    line = "".join(
        ch
        for ch, _ in spark_rows(
            bin_max(t, v, np.zeros_like(t, dtype=np.uint8), 900.0, 900.0, 60), 1
        )[0]
    )
    assert CLIPPED not in line and line.strip().endswith("█")


def test_a_spike_happening_now_keeps_full_contrast() -> None:
    """The newest cells are never clipped: a 9x P99 in the last minute is drawn as the linear
    scale draws it, quiet cells low and the spike full."""
    t = np.arange(0.0, 900.0, 5.0)
    v = np.where(t >= 840, 0.9, 0.1)
    cells = spark_rows(bin_max(t, v, np.zeros_like(t, dtype=np.uint8), 900.0, 900.0, 60), 1)[0]
    line = "".join(ch for ch, _ in cells).strip()
    assert CLIPPED not in line and line.endswith("███") and set(line[:-4]) == {"▁"}
