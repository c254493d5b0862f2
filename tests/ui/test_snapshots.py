"""Snapshots of the dashboard at 80x24 and 160x48 in the default and bastion themes.

Deterministic: a seeded MetricStore, a fixed clock, no sources. Update with
`pytest tests/ui/test_snapshots.py --snapshot-update` after an intended change.
"""

from __future__ import annotations

from typing import Any

import pytest

from tui.core.events import event_from_record

from .dashboard_data import make_app, wait_for_panes


@pytest.mark.parametrize("theme", ["warroom", "bastion"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_dashboard_snapshot(snap_compare: Any, theme: str, size: tuple[int, int]) -> None:
    app = make_app(theme)

    async def ready(pilot: Any) -> None:
        await wait_for_panes(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_dashboard_snapshot_wall_selected_row(snap_compare: Any) -> None:
    app = make_app("wall")

    async def select(pilot: Any) -> None:
        await wait_for_panes(app, pilot)
        await pilot.press("down", "down")

    assert snap_compare(app, terminal_size=(120, 36), run_before=select)


@pytest.mark.parametrize(("theme", "size"), [("bastion", (80, 24)), ("warroom", (160, 48))])
def test_dashboard_snapshot_spike_markers(
    snap_compare: Any, theme: str, size: tuple[int, int]
) -> None:
    """checkout's spike reported by the detector: its cells in the spike colour and a ▲
    marker row under them; the other rows stay one line."""
    from .dashboard_data import NOW

    app = make_app(theme)

    async def spiked(pilot: Any) -> None:
        await wait_for_panes(app, pilot)
        for t in (NOW - 50, NOW - 45, NOW - 40):
            app.on_source_event(
                event_from_record(
                    {
                        "t": t,
                        "type": "spike",
                        "service": "checkout",
                        "signal": "p99",
                        "state": "GLITCH",
                        "value": 0.9,
                        "baseline": 0.1,
                    }
                )
            )
        app.redraw_now()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=spiked)
