"""The flame viewer's left-heavy order (L), speedscope export (e, E) and source lines (v)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tests.waits import until
from tui.ui.screens.help import binding_rows
from tui.ui.screens.profile_viewer import ProfileScreen, ProfileViewerApp, SourceListing
from tui.ui.widgets.flamegraph import FlameGraph


def loaded(scr: ProfileScreen) -> bool:
    busy = [w for w in scr.workers if w.group == "profile-load" and not w.is_finished]
    return scr.loaded is not None and not busy


def text(scr: ProfileScreen, wid: str) -> str:
    return str(scr.query_one(wid).render())


def row_nodes(graph: FlameGraph, r: int) -> list[int]:
    lay = graph.flame_layout
    assert lay is not None
    return [int(n) for n in lay.node[lay.row_slice(r)]]


def siblings_heaviest_first(graph: FlameGraph) -> bool:
    """In every drawn row, the drawn children of each parent go widest first left to right."""
    lay, tree = graph.flame_layout, graph.flame
    assert lay is not None and tree is not None
    for r in range(1, lay.rows):
        nodes = row_nodes(graph, r)
        for p in {int(tree.parent[n]) for n in nodes}:
            widths = [int(tree.total[n]) for n in nodes if int(tree.parent[n]) == p]
            if widths != sorted(widths, reverse=True):
                return False
    return True


def copy_fixture(fixtures_dir: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copy(fixtures_dir / "pprof" / name, dst)
    return dst


async def test_left_heavy_toggles_and_keeps_the_view(fixtures_dir: Path, tmp_path: Path) -> None:
    scr = ProfileScreen(copy_fixture(fixtures_dir, tmp_path, "cpu_regexp.pb.gz"))
    app = ProfileViewerApp(scr, theme="warroom", watch=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: loaded(scr), "the profile")
        g = scr.graph
        assert g.flame is not None
        by_name = row_nodes(g, 2)
        names = [g.flame.name(n) for n in by_name]
        assert names == sorted(names)  # the default stays pprof's alphabetical order
        assert not siblings_heaviest_first(g)  # this profile tells the two orders apart
        assert "left-heavy" not in text(scr, "#title")
        await pilot.press("down", "down")
        sel = g.selected
        await pilot.press("L")
        await until(pilot, lambda: g.flame is not None and g.flame.order == "heavy", "left-heavy")
        assert siblings_heaviest_first(g)
        assert g.selected == sel  # node ids did not change: selection and zoom stay
        assert sorted(row_nodes(g, 2)) == sorted(by_name)
        assert "left-heavy" in text(scr, "#title")
        assert text(scr, "#status").startswith("left-heavy: siblings heaviest first")
        # a reload (another sample type) keeps the order
        await pilot.press("s")
        await until(pilot, lambda: loaded(scr) and scr.sample_type == "samples", "reload")
        assert g.flame.order == "heavy" and siblings_heaviest_first(g)
        # the sandwich's trees too
        await pilot.press("i")
        await until(pilot, lambda: scr.inverted_from is not None, "sandwich")
        low = scr.query_one("#callees", FlameGraph)
        assert low.flame is not None and low.flame.order == "heavy"
        assert siblings_heaviest_first(low)
        await pilot.press("i", "L")
        await until(pilot, lambda: g.flame is not None and g.flame.order == "name", "by name")
        assert row_nodes(g, 2) == by_name
        assert "left-heavy" not in text(scr, "#title")
        # the help screen is generated from the bindings: every new key is in it
        described = {desc for _, desc in binding_rows(scr.active_bindings)}
        assert {
            "left-heavy / by name",
            "speedscope JSON beside the profile",
            "speedscope JSON to a path",
            "source lines of the function",
        } <= described


async def test_export_beside_the_profile_and_to_a_path(fixtures_dir: Path, tmp_path: Path) -> None:
    path = copy_fixture(fixtures_dir, tmp_path, "heap_json.pb.gz")
    scr = ProfileScreen(path)
    app = ProfileViewerApp(scr, theme="warroom", watch=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: loaded(scr), "the profile")
        await pilot.press("e")
        beside = tmp_path / "heap_json.speedscope.json"
        await until(pilot, lambda: text(scr, "#status") == f"wrote {beside}", "the export")
        doc = json.loads(beside.read_text())
        assert [p["endValue"] for p in doc["profiles"]] == [
            scr.loaded.cur.total(t)  # type: ignore[union-attr]
            for t in range(4)
        ]
        assert any(n.message == f"wrote {beside}" for n in app._notifications)
        # E: a chosen path, the box prefilled with the default one
        await pilot.press("E")
        box = scr.query_one("#export-path")
        assert box.has_class("shown") and box.value == str(beside)  # type: ignore[attr-defined]
        box.value = "/proc/warroom-x.json"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: "cannot" in text(scr, "#status"), "the refusal")
        assert scr.query_one("#status").has_class("error")
        assert any(
            n.severity == "error" and n.message.startswith("/proc/warroom-x.json: ")
            for n in app._notifications
        )
        chosen = tmp_path / "chosen.json"
        await pilot.press("E")
        box.value = str(chosen)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, chosen.exists, "the export to a chosen path")
        assert json.loads(chosen.read_text())["profiles"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "chosen.json",
            "heap_json.pb.gz",
            "heap_json.speedscope.json",
        ]


async def test_diff_view_left_heavy_and_export_refused(fixtures_dir: Path, tmp_path: Path) -> None:
    scr = ProfileScreen(
        copy_fixture(fixtures_dir, tmp_path, "cpu_json_gogc5.pb.gz"),
        fixtures_dir / "pprof" / "cpu_json_gogc100.pb.gz",
    )
    app = ProfileViewerApp(scr, theme="warroom", watch=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: loaded(scr), "the profile")
        await pilot.press("L")
        g = scr.graph
        await until(pilot, lambda: g.flame is not None and g.flame.order == "heavy", "left-heavy")
        assert siblings_heaviest_first(g)
        await pilot.press("w")  # another width mode: a new tree, in the same order
        await until(pilot, lambda: scr.width_mode == "base", "the base width")
        assert g.flame is not None and g.flame.order == "heavy" and siblings_heaviest_first(g)
        await pilot.press("e")
        assert text(scr, "#status").startswith("speedscope cannot draw a diff")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cpu_json_gogc5.pb.gz"]


async def test_source_lines_of_the_selected_function(fixtures_dir: Path) -> None:
    scr = ProfileScreen(fixtures_dir / "pprof" / "cpu_regexp.pb.gz", sample_type="cpu")
    app = ProfileViewerApp(scr, theme="warroom", watch=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: loaded(scr), "the profile")
        g = scr.graph
        assert g.flame is not None and g.flame_layout is not None
        want = "regexp.(*Regexp).doExecute"
        nodes = [int(n) for n in g.flame_layout.node if g.flame.name(int(n)) == want]
        g.select(max(nodes, key=lambda n: int(g.flame.total[n])))  # type: ignore[union-attr]
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, SourceListing), "the listing")
        listing = app.screen
        assert isinstance(listing, SourceListing)
        body = listing.text.splitlines()
        assert body[0] == "Total: 33.4s"
        assert body[1].startswith(f"ROUTINE ======================== {want} in /")
        assert body[1].endswith("/src/regexp/exec.go")
        line542 = next(ln for ln in body if " 542:" in ln)
        assert line542.split()[:2] == [".", "16.2s"] and "m.match(i, pos)" in line542
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is scr, "the listing to close")
        # the root has no source
        g.select(0)
        await pilot.press("v")
        assert text(scr, "#status") == "select a function first (the root has no source)"


def test_heavy_offsets_nest_exactly(fixtures_dir: Path) -> None:
    """Pure layout check (tui.core): children widest first inside their parent, no gap or
    overlap, the parent's self last; the layout at any width nests as with name order."""
    from tui.core.pprof import load_profile
    from tui.core.pprof.flamegraph import layout
    from tui.core.pprof.flametree import FlameTree

    for name in ("cpu_regexp.pb.gz", "heap_prometheus.pb.gz"):
        prof = load_profile(fixtures_dir / "pprof" / name)
        tree = FlameTree.from_call_tree(prof.tree, prof.default_index)
        by_name = tree.start.copy()
        tree.set_order("heavy")
        start, total, parent = tree.start, tree.total, tree.parent
        assert start[0] == 0 and not np.array_equal(start, by_name)
        for p in range(len(tree)):
            kids = np.flatnonzero(parent[p + 1 : int(tree.end[p])] == p) + p + 1
            if not kids.shape[0]:
                continue
            ks = kids[np.argsort(start[kids], kind="stable")]
            assert (np.diff(total[ks]) <= 0).all()
            assert start[ks[0]] == start[p]
            assert (start[ks[1:]] == start[ks[:-1]] + total[ks[:-1]]).all()
        for width in (80, 237):
            lay = layout(tree, 0, width)
            for i in range(len(lay.node)):
                p = int(tree.parent[int(lay.node[i])])
                if p < 0:
                    continue
                pc = lay.cells(p)
                assert pc is not None and pc[1] <= lay.x0[i] and lay.x1[i] <= pc[2]
        tree.set_order("name")
        assert np.array_equal(tree.start, by_name)
