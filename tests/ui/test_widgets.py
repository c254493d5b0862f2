"""Formatting, binning and cell diffing: the pieces the dashboard's correctness rests on."""

from __future__ import annotations

import numpy as np

from tui.core.metrics.store import FLAG_SATURATED
from tui.core.units import latency as format_latency
from tui.core.units import qps as format_qps
from tui.core.units import ratio as format_ratio
from tui.ui.widgets.cell_lines import diff_spans
from tui.ui.widgets.service_rows import build_rows
from tui.ui.widgets.sparkline import BAR, CLIPPED, SATURATED, bin_max, spark_rows, spikes_in_window

from .dashboard_data import NOW, filled_store


def test_latency_units_and_saturation() -> None:
    assert format_latency(0.000850) == "850µs"
    assert format_latency(0.00123) == "1.23ms"
    assert format_latency(0.0456) == "45.6ms"
    assert format_latency(0.123) == "123ms"
    assert format_latency(1.5) == "1.5s"
    assert format_latency(2.5, saturated=True) == "≥ 2.5s"
    assert format_latency(None) == "–"
    assert format_latency(float("nan")) == "–"


def test_qps_and_ratio() -> None:
    assert format_qps(0.0) == "0/s"
    assert format_qps(0.05) == "0.05/s"
    assert format_qps(0.5) == "0.5/s"
    assert format_qps(9.73) == "9.7/s"
    assert format_qps(42.4) == "42/s"
    assert format_qps(970.2) == "970/s"
    assert format_qps(1234.0) == "1.2k/s"
    assert format_qps(56000.0) == "56k/s"
    assert format_qps(2.5e6) == "2.5M/s"
    assert format_ratio(0.0) == "0%"
    assert format_ratio(0.0012) == "0.12%"
    assert format_ratio(0.034) == "3.4%"
    assert format_ratio(0.5) == "50%"


def test_max_per_cell_keeps_a_one_point_spike() -> None:
    t = np.arange(1000.0, 1600.0)
    v = np.full(600, 0.1)
    v[333] = 5.0  # one second out of 600
    f = np.zeros(600, dtype=np.uint8)
    binned = bin_max(t, v, f, now=1599.0, window=600, width=20)  # 30 s per cell
    assert binned.values.max() == 5.0
    row = spark_rows(binned, scale="linear")[0]
    assert [ch for ch, _ in row].count("█") == 1
    assert row[int(np.argmax(binned.values))] == ("█", BAR)
    # the robust scale (the default) keeps it too, marked as off the scale
    row = spark_rows(binned)[0]
    assert [ch for ch, _ in row].count(CLIPPED) == 1
    assert row[int(np.argmax(binned.values))] == (CLIPPED, BAR)


def test_cells_are_aligned_to_absolute_time() -> None:
    """Between cell boundaries only the newest cell can change (what keeps redraws small)."""
    t = np.arange(0.0, 1000.0)
    v = np.sin(t / 30) + 2
    f = np.zeros(len(t), dtype=np.uint8)
    a = bin_max(t[:990], v[:990], f[:990], now=989.0, window=900, width=90)
    b = bin_max(t[:991], v[:991], f[:991], now=990.0 - 0.5, window=900, width=90)
    assert np.array_equal(a.values[:-1], b.values[:-1])


def test_saturated_cell_is_full_height_and_marked() -> None:
    t = np.array([10.0, 20.0])
    binned = bin_max(
        t,
        np.array([0.1, 2.5]),
        np.array([0, FLAG_SATURATED], dtype=np.uint8),
        now=29.0,
        window=20,
        width=2,
    )
    rows = spark_rows(binned, height=2)
    assert rows[0][1] == ("█", SATURATED) and rows[1][1] == ("█", SATURATED)


def test_diff_spans_merge_close_changes() -> None:
    old = [(c, "k") for c in "abcdefghij"]
    new = [(c, "k") for c in "abXdefghYj"]
    assert diff_spans(old, new, gap=3) == [(2, 1), (8, 1)]
    assert diff_spans(old, new, gap=6) == [(2, 7)]
    assert diff_spans(old, old) == []
    assert diff_spans(None, new) == [(0, 10)]


def test_rows_states_from_the_store() -> None:
    store = filled_store()
    services = [
        ("checkout", 0.3, 0.01),
        ("ledger", None, None),
        ("legacy", None, None),
        ("auth", None, None),
        ("payments", 0.2, None),
    ]
    rows = {r.name: r for r in build_rows(store, services, "p99", 900, NOW, stale_after=10)}
    assert rows["checkout"].state == "SLO" and rows["checkout"].level == "bad"
    assert rows["checkout"].err_level == "bad"
    assert rows["ledger"].state == "no data" and rows["ledger"].value is None
    assert rows["legacy"].state == "stale"
    assert rows["auth"].saturated and rows["auth"].value == 2.5
    assert rows["auth"].state == "SATURATED"
    assert rows["payments"].state == "ok" and rows["payments"].level in ("ok", "warn")


def test_spikes_in_window_agrees_with_the_binned_marks() -> None:
    """A row's height (marker row or not) and its drawn marks use the same cell arithmetic:
    a spike just outside the first cell adds no empty marker row, one inside always shows."""
    rng = np.random.default_rng(3)
    now, empty = 1_767_000_000.5, np.zeros(0)
    for window, width in ((300.0, 28), (900.0, 44), (3600.0, 107), (21600.0, 9)):
        for t in now - rng.uniform(-5, window * 1.2, 400):
            binned = bin_max(
                empty, empty, empty.astype(np.uint8), now, window, width, np.array([t])
            )
            assert spikes_in_window([t], now, window, width) == bool(binned.spikes.any()), t
    assert not spikes_in_window([], now, 900.0, 44)
