"""The profile picker on real Go profiles in a real folder: what it lists, what it returns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Static

from tests.conftest import FIXTURES
from tui.core.pprof.catalog import list_profiles
from tui.core.units import size
from tui.ui.screens.profile_picker import ProfileChoice, ProfilePickerScreen, picker_rows

PPROF = FIXTURES / "pprof"
NOW = 1_800_000_000.0


def folder(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """profiles.dir with two CPU and one heap capture of checkout (oldest first), plus a
    baseline folder holding an older CPU profile."""
    d = tmp_path / "profiles"
    d.mkdir()
    files = [
        ("checkout-cpu-20260101T000000Z.pb.gz", "cpu_json_gogc100.pb.gz", 600),
        ("checkout-heap-20260101T000100Z.pb.gz", "heap_json.pb.gz", 300),
        ("checkout-cpu-20260101T000200Z.pb.gz", "cpu_json_gogc5.pb.gz", 30),
        ("payments-cpu-20260101T000300Z.pb.gz", "cpu_regexp.pb.gz", 10),
    ]
    for name, fixture, age in files:
        shutil.copy(PPROF / fixture, d / name)
        os.utime(d / name, (NOW - age, NOW - age))
    base = tmp_path / "baseline-v3-cpu.pb.gz"
    shutil.copy(PPROF / "cpu_regexp.pb.gz", base)
    os.utime(base, (NOW - 7200, NOW - 7200))
    return d, {"cpu": base}


class Host(App[None]):
    def __init__(self, screen: ProfilePickerScreen) -> None:
        super().__init__()
        self.picker = screen
        self.answers: list[ProfileChoice | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.answers.append)


def picker(tmp_path: Path) -> tuple[Host, Path, dict[str, Path]]:
    d, baseline = folder(tmp_path)
    files = list_profiles(d, "{service}-*.pb.gz", "checkout", ["payments"])
    rows = picker_rows(files, baseline, "v3")
    return Host(ProfilePickerScreen("checkout", rows, now=NOW)), d, baseline


def cells(app: Host) -> list[list[str]]:
    table = app.screen.query_one("#picker-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_lists_the_baseline_then_the_folder_newest_first_and_enter_opens_one(
    tmp_path: Path,
) -> None:
    app, d, baseline = picker(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        cpu_new, heap, cpu_old = (
            d / f"checkout-{k}-20260101T{t}Z.pb.gz"
            for k, t in (("cpu", "000200"), ("heap", "000100"), ("cpu", "000000"))
        )
        assert cells(app) == [
            [
                "",
                "cpu",
                "2h00m ago",
                size(baseline["cpu"].stat().st_size),
                "baseline-v3-cpu.pb.gz  (baseline v3)",
            ],
            ["", "cpu", "30s ago", size(cpu_new.stat().st_size), cpu_new.name],
            ["", "heap", "5m ago", size(heap.stat().st_size), heap.name],
            ["", "cpu", "10m ago", size(cpu_old.stat().st_size), cpu_old.name],
        ]  # payments' capture is not checkout's
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.answers == [ProfileChoice(d / "checkout-cpu-20260101T000200Z.pb.gz")]


async def test_b_marks_the_base_and_enter_diffs_against_it(tmp_path: Path) -> None:
    app, d, baseline = picker(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("b")  # the baseline's CPU profile
        assert cells(app)[0][0] == "base"
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.answers == [
        ProfileChoice(d / "checkout-cpu-20260101T000200Z.pb.gz", baseline["cpu"])
    ]


async def test_a_base_of_another_kind_or_the_same_file_is_refused_and_said(tmp_path: Path) -> None:
    app, d, _ = picker(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("b", "enter")  # the base itself
        hint = str(app.screen.query_one("#picker-hint", Static).render())
        assert "the same file" in hint
        await pilot.press("down", "down", "enter")  # heap against a CPU base
        await pilot.pause()
        hint = str(app.screen.query_one("#picker-hint", Static).render())
        assert "the base is cpu, this is heap" in hint and app.answers == []
        await pilot.press("x", "enter")  # base cleared: the heap profile's flame graph
        await pilot.pause()
    assert app.answers == [ProfileChoice(d / "checkout-heap-20260101T000100Z.pb.gz")]


async def test_escape_cancels_and_an_empty_picker_says_where_it_looked(tmp_path: Path) -> None:
    app = Host(ProfilePickerScreen("checkout", [], now=NOW))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        hint = str(app.screen.query_one("#picker-hint", Static).render())
        assert hint.startswith("no profiles of checkout")
        await pilot.press("enter", "escape")
        await pilot.pause()
    assert app.answers == [None]
