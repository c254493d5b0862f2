"""The Service tab shows the Go runtime signals beside the latency lines, only for a service that
has them (a service without runtime series keeps the tab exactly as before)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tui.core.metrics import go_runtime
from tui.core.metrics.store import MetricStore
from tui.ui.widgets.runtime_panel import RuntimePanel

from .dashboard_data import NOW, filled_store, make_app, wait_for_panes
from .test_dashboard import screen_text

# the newest value of each signal, and how the panel writes it
NEWEST = {
    "go.gc_p99": (85.1e-6, "85.1µs"),
    "go.sched_p99": (0.0021, "2.10ms"),
    "go.goroutines": (35.0, "35"),
    "go.heap_inuse": (3.5 * 2**20, "3.5MiB"),
    "go.gc_life": (0.0052, "0.52%"),
}


def runtime_store() -> MetricStore:
    store = filled_store()
    for key, (last, _) in NEWEST.items():
        for i, t in enumerate(np.arange(NOW - 900, NOW - 4, 5.0)):
            store.add("checkout", key, float(t), last * (1 + 0.1 * np.sin(i / 7)), 0, "prometheus")
        store.add("checkout", key, NOW, last, 0, "prometheus")
    return store


async def test_service_tab_shows_runtime_signals_of_a_go_service() -> None:
    app = make_app(store=runtime_store())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_panes(app, pilot)
        app.redraw_now()
        await pilot.pause()
        assert app.dashboard.table.selected == "checkout"
        panel = app.dashboard.query_one(RuntimePanel)
        assert panel.display and panel.size.width > 0
        lines = screen_text(app).splitlines()
        for key, (_, text) in NEWEST.items():
            label = go_runtime.BY_KEY[key].label
            drawn = [ln for ln in lines if f" {label} " in ln and ln.rstrip().endswith(text)]
            assert drawn, (key, label, text)
        # the latency lines are still there, on the left of the same rows
        p50 = next(ln for ln in lines if ln.startswith(" p50 "))
        assert " gc p99 " in p50

        await pilot.press("down")  # payments: no runtime series
        await pilot.pause()
        assert app.dashboard.table.selected == "payments"
        assert not panel.display
        text = screen_text(app)
        assert all(f" {d.label} " not in text for d in go_runtime.DEFINITIONS)
        assert " p50 " in text


def test_runtime_panel_snapshot_bastion_80x24(snap_compare: Any) -> None:
    """The two columns at the smallest supported size, in the SSH theme."""
    app = make_app("bastion", store=runtime_store())

    async def ready(pilot: Any) -> None:
        await wait_for_panes(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)
