"""Snapshots of the dashboard at 80x24 and 160x48 in the default and bastion themes.

Deterministic: a seeded MetricStore, a fixed clock, no sources. Update with
`pytest tests/ui/test_snapshots.py --snapshot-update` after an intended change.
"""

from __future__ import annotations

from typing import Any

import pytest

from .dashboard_data import make_app


@pytest.mark.parametrize("theme", ["warroom", "bastion"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_dashboard_snapshot(snap_compare: Any, theme: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(theme), terminal_size=size)


def test_dashboard_snapshot_wall_selected_row(snap_compare: Any) -> None:
    async def select(pilot: Any) -> None:
        await pilot.press("down", "down")

    assert snap_compare(make_app("wall"), terminal_size=(120, 36), run_before=select)
