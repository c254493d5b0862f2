"""Snapshots of the profile screen: 80x24 in the 16-colour bastion theme, 200x60 default.

Update after an intended change with `pytest tests/ui/test_flame_snapshots.py --snapshot-update`
and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.waits import until
from tui.ui.screens.profile_viewer import ProfileScreen, ProfileViewerApp

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"


async def _wait_loaded(pilot: Pilot[Any]) -> None:
    """Loaded, and the side table filled and measured: a DataTable sizes its columns when
    idle, so on a busy machine a snapshot could catch the rows in header-wide columns."""
    app = pilot.app
    assert isinstance(app, ProfileViewerApp)
    scr = app.profile_screen

    def settled() -> bool:
        busy = [w for w in scr.workers if w.group == "profile-load" and not w.is_finished]
        tables = [t for t in scr.query(DataTable) if t.display]
        return (
            scr.loaded is not None
            and not busy
            and all(t.row_count and not t._require_update_dimensions for t in tables)
        )

    await until(pilot, settled, "the profile screen to settle", timeout=20)
    await pilot.pause()


def test_flame_80x24_bastion(snap_compare: Callable[..., bool]) -> None:
    app = ProfileViewerApp(ProfileScreen(FIX / "cpu_regexp.pb.gz"), theme="bastion", watch=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_loaded(pilot)
        await pilot.press("down", "down", "down")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_flame_search_200x60(snap_compare: Callable[..., bool]) -> None:
    app = ProfileViewerApp(ProfileScreen(FIX / "cpu_regexp.pb.gz"), theme="warroom", watch=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_loaded(pilot)
        await pilot.press("slash", *"machine", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(200, 60), run_before=run_before)


def test_diff_flame_200x60(snap_compare: Callable[..., bool]) -> None:
    scr = ProfileScreen(FIX / "cpu_json_gogc5.pb.gz", FIX / "cpu_json_gogc100.pb.gz")
    app = ProfileViewerApp(scr, theme="warroom", watch=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_loaded(pilot)

    assert snap_compare(app, terminal_size=(200, 60), run_before=run_before)


def test_diff_flame_80x24_bastion(snap_compare: Callable[..., bool]) -> None:
    scr = ProfileScreen(
        FIX / "cpu_json_gogc5.pb.gz", FIX / "cpu_json_gogc100.pb.gz", orientation="flame"
    )
    app = ProfileViewerApp(scr, theme="bastion", watch=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_loaded(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
