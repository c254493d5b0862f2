"""Pilot tests of the profile screen: keys in, drawn rows and lines out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pytest
from rich.color import ColorType
from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.waits import until
from tui.core.pprof.flamediff import DIFF_NEW
from tui.core.pprof.names import shorten
from tui.errors import UserError
from tui.sources.pprof_watch import ProfileArrival
from tui.ui.screens.profile_viewer import (
    ProfileArrived,
    ProfileScreen,
    ProfileViewerApp,
    run_profile_viewer,
)
from tui.ui.widgets.flamegraph import FlameGraph
from tui.ui.widgets.function_table import FunctionTable, RegressionRanking


def P(fixtures_dir: Path, name: str) -> Path:
    return fixtures_dir / "pprof" / name


async def loaded(pilot: Pilot[Any], scr: ProfileScreen, timeout: float = 20.0) -> None:
    """Wait until the screen's load worker is done (the folder watcher runs on)."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while time.monotonic() < deadline:
        busy = [w for w in scr.workers if w.group == "profile-load" and not w.is_finished]
        if not busy and (scr.loaded is not None or scr.load_error):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("profile did not load")


def rows(graph: FlameGraph, n: int) -> list[str]:
    return [graph.render_line(y).text for y in range(n)]


def text(scr: ProfileScreen, wid: str) -> str:
    return str(scr.query_one(wid).render())


def segment_styles(graph: FlameGraph, node: int) -> list[Style]:
    """Styles of the segments drawn for `node` in its row."""
    assert graph.flame_layout is not None
    row, a, b = graph.flame_layout.cells(node)  # type: ignore[misc]
    strip = graph.render_line(graph.row_to_y(row) - graph.scroll_offset.y)
    out, x = [], 0
    for seg in strip:
        w = len(seg.text)
        if x < b and x + w > a and seg.style is not None:
            out.append(seg.style)
        x += w
    return out


def app_for(scr: ProfileScreen, theme: str = "bastion") -> ProfileViewerApp:
    return ProfileViewerApp(scr, theme=theme, watch=False)


async def test_zoom_and_back(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        before = rows(g, 8)
        assert before[0].startswith("root")
        await pilot.press("down", "down", "down")
        sel = g.selected
        assert sel is not None and g.flame is not None and g.flame.depth[sel] == 3
        name = g.flame.name(sel)
        assert name in text(scr, "#details")
        await pilot.press("enter")
        await pilot.pause()
        assert g.zoom_root == sel
        # the zoomed frame now spans the whole width on its own row
        assert g.flame_layout is not None and g.flame_layout.cells(sel) == (
            3,
            0,
            g.flame_layout.width,
        )
        assert rows(g, 4)[3].startswith(name)
        assert "100.00% of zoom" in text(scr, "#details")
        await pilot.press("escape")
        await pilot.pause()
        assert g.zoom_root == 0 and g.selected == sel
        assert rows(g, 8) == before


async def test_search_highlight_share_and_step(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        await pilot.press("slash", *r"^regexp\.\(\*machine\)\.match$", "enter")
        await pilot.pause()
        # go tool pprof -top: cum 16160000000ns of 33370000000ns = 48.43%
        assert "matches 48.43% of the zoom (16.2s of 33.4s)" in text(scr, "#status")
        assert g.flame is not None and g.selected is not None
        assert g.flame.name(g.selected) == "regexp.(*machine).match"
        first = g.selected
        match_bg = g.palette.match.bgcolor
        muted_bg = g.palette.muted.bgcolor
        assert all(s.bgcolor == match_bg for s in segment_styles(g, first))
        assert all(s.bgcolor == muted_bg for s in segment_styles(g, 0))
        await pilot.press("n")
        assert g.selected != first and g.flame.name(g.selected) == "regexp.(*machine).match"
        await pilot.press("N")
        assert g.selected == first
        # a bad regex is reported and changes nothing
        await pilot.press("slash", "ctrl+u", *"(oops", "enter")
        await pilot.pause()
        assert "bad regex '(oops'" in text(scr, "#status")
        assert g.search_pattern.endswith("match$")


async def test_diff_colours_and_width_modes(fixtures_dir: Path) -> None:
    scr = ProfileScreen(
        P(fixtures_dir, "cpu_json_gogc5.pb.gz"), P(fixtures_dir, "cpu_json_gogc100.pb.gz")
    )
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        tree = g.flame
        assert tree is not None and g.diff_class is not None
        names = list(tree.names)
        gc = tree.find((names.index("runtime.gcBgMarkWorker"),))
        assert gc is not None
        # GOGC=5 spends more of the profile in GC: an orange ("worse") class
        assert g.diff_class[gc] > 0
        pal = g.palette
        worse = {pal.diff[k].bgcolor for k in (1, 2, 3)}
        better = {pal.diff[k].bgcolor for k in (-1, -2, -3)}
        assert worse.isdisjoint(better)
        assert {s.bgcolor for s in segment_styles(g, gc)} <= worse
        # bastion: only the terminal's own 16 ANSI colours are used
        assert all(
            s.bgcolor is not None and s.bgcolor.type == ColorType.STANDARD
            for s in segment_styles(g, gc)
        )
        # every drawn node is coloured by its class
        lay = g.flame_layout
        assert lay is not None
        for node in lay.node.tolist()[:50]:
            want = pal.diff[int(g.diff_class[node])].bgcolor
            if node != g.selected:
                assert {s.bgcolor for s in segment_styles(g, node)} == {want}
        assert "vs cpu_json_gogc100.pb.gz (width: current)" in text(scr, "#title")
        assert text(scr, "#vanished").startswith("vanished paths")
        assert scr.query_one("#ranking", DataTable).row_count > 10
        await pilot.press("w")
        assert "(width: base)" in text(scr, "#title")
        assert g.flame is not None and int(g.flame.total[0]) == int(g.flame.extra["base"][0])
        await pilot.press("w")
        assert "(width: both)" in text(scr, "#title")
        classes = set(g.diff_class.tolist())
        assert DIFF_NEW in classes and 0 in classes and -1 in classes  # new, neutral, better


async def test_ranking_row_selects_its_function_in_the_diff_graph(fixtures_dir: Path) -> None:
    scr = ProfileScreen(
        P(fixtures_dir, "cpu_json_gogc5.pb.gz"), P(fixtures_dir, "cpu_json_gogc100.pb.gz")
    )
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        g, ranking = scr.graph, scr.query_one(RegressionRanking)
        ranking.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        key = ranking.coordinate_to_cell_key(ranking.cursor_coordinate).row_key.value
        assert g.flame is not None and g.selected is not None
        assert g.flame.name(g.selected) == key


async def test_sample_type_switch(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "heap_json.pb.gz"))
    async with app_for(scr).run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        assert "alloc_space (bytes)" in text(scr, "#title")
        assert g.flame is not None and int(g.flame.total[0]) == 7063729902  # pprof -top total
        assert "6.58GiB" in text(scr, "#details")
        before = rows(g, 6)
        await pilot.press("s")
        await loaded(pilot, scr)
        assert "inuse_objects (count)" in text(scr, "#title")
        assert int(g.flame.total[0]) == 23070443
        assert "23.1M" in text(scr, "#details")
        assert rows(g, 6) != before


async def test_invert_shows_callers_and_callees(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(120, 40)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        await pilot.press("slash", *r"\(\*Regexp\)\.backtrack$", "enter", "i")
        low = scr.query_one("#callees", FlameGraph)
        await until(pilot, lambda: scr.inverted_from is not None, "the inverted view", 10)
        await pilot.pause()
        assert g.flame is not None and low.flame is not None
        assert g.flame.name(0) == low.flame.name(0) == "regexp.(*Regexp).backtrack"
        assert int(g.flame.total[0]) == int(low.flame.total[0]) == 9_250_000_000  # pprof cum
        assert "sandwich of regexp.(*Regexp).backtrack" in text(scr, "#title")
        # callers are drawn flame-style: the function on the bottom line, its caller above
        h = g.scrollable_content_region.height
        bottom = [line for line in rows(g, h) if line.strip()]
        assert bottom[-1].startswith("regexp.(*Regexp).backtrack")
        assert "doExecute" in bottom[-2]
        # callees icicle-style below: the function on top, what it calls underneath
        assert not low.has_class("hidden")
        below = rows(low, 3)
        assert below[0].startswith("regexp.(*Regexp).backtrack")
        assert "tryBacktrack" in below[1]
        await pilot.press("tab")
        assert low.has_focus
        await pilot.press("down")
        assert low.selected is not None and "callees" not in text(scr, "#details")
        assert text(scr, "#details").startswith(low.flame.name(low.selected))
        await pilot.press("i")
        assert g.flame.name(0) == "root" and low.has_class("hidden")
        assert g.orientation == "icicle"


async def test_focus_ignore_from_selected_frame(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        await pilot.press("slash", *r"\(\*Regexp\)\.backtrack$", "enter", "F")
        await loaded(pilot, scr)
        assert "focus=^regexp\\.\\(\\*Regexp\\)\\.backtrack$" in text(scr, "#title")
        assert g.flame is not None and int(g.flame.total[0]) == 9_250_000_000
        await pilot.press("r")
        await loaded(pilot, scr)
        assert int(g.flame.total[0]) == 33_370_000_000
        await pilot.press("n")  # the search is still on: step to the match again
        assert g.selected is not None and g.flame.name(g.selected) == "regexp.(*Regexp).backtrack"
        await pilot.press("I")
        await loaded(pilot, scr)
        assert int(g.flame.total[0]) == 33_370_000_000 - 9_250_000_000


async def test_table_linked_to_graph(fixtures_dir: Path) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        table = scr.query_one(FunctionTable)
        # graph -> table
        await pilot.press("down", "down")
        assert g.flame is not None and g.selected is not None
        assert table.current_name() == g.flame.name(g.selected)
        # table -> graph, and sorting by cum puts the heaviest function first
        await pilot.press("tab")
        assert table.has_focus
        await pilot.press("c")
        await pilot.press("home")
        await pilot.pause()
        assert table.current_name() == "testing.(*B).runN"  # highest cum in pprof -top
        await pilot.press("down")
        await pilot.pause()
        name = table.current_name()
        assert name is not None and g.flame.name(g.selected) == name


async def test_table_shows_short_names_and_the_details_line_the_full_one(
    fixtures_dir: Path,
) -> None:
    """Issue 13 item 9: a Prometheus heap profile's import paths (`github.com/prometheus/...`)
    filled the column; rows show pprof's short name, selecting one names it in full."""
    scr = ProfileScreen(P(fixtures_dir, "heap_prometheus.pb.gz"))
    async with app_for(scr).run_test(size=(120, 40)) as pilot:
        await loaded(pilot, scr)
        table = scr.query_one(FunctionTable)
        await pilot.press("tab")
        assert table.has_focus
        names = [str(k.value) for k in table.rows]
        row = next(i for i, n in enumerate(names) if n.startswith("github.com/prometheus/"))
        table.move_cursor(row=row)
        await pilot.pause()
        full = table.current_name()
        assert full is not None and full.startswith("github.com/prometheus/")
        shown = str(table.get_row_at(table.cursor_row)[-1])
        assert shown == shorten(full) and "/" not in shown.split(".")[0]
        assert text(scr, "#details").startswith(full)


async def test_truncated_profile_is_reported_not_fatal(fixtures_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "svc-cpu.pb.gz"
    bad.write_bytes(P(fixtures_dir, "cpu_regexp.pb.gz").read_bytes()[:3000])
    scr = ProfileScreen(bad)
    async with app_for(scr).run_test(size=(100, 24)) as pilot:
        await loaded(pilot, scr)
        assert scr.loaded is None
        assert "truncated" in text(scr, "#status")
        # the screen keeps working: a good file offered afterwards is drawn
        good = tmp_path / "svc-cpu2.pb.gz"
        good.write_bytes(P(fixtures_dir, "cpu_regexp.pb.gz").read_bytes())
        scr.offer(ProfileArrival(good, "svc", "new", True, None, 1, 0.0, time.monotonic()))
        await loaded(pilot, scr)
        assert scr.loaded is not None and rows(scr.graph, 1)[0].startswith("root")


async def test_follow_and_frozen(fixtures_dir: Path, tmp_path: Path) -> None:
    first = P(fixtures_dir, "cpu_json_gogc100.pb.gz")
    scr = ProfileScreen(first, service="json")
    async with app_for(scr).run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        newer = P(fixtures_dir, "cpu_json_gogc5.pb.gz")
        other = ProfileArrival(
            P(fixtures_dir, "heap_json.pb.gz"), "other", "new", True, None, 1, 0.0, time.monotonic()
        )
        scr.offer(other)  # another service: ignored
        await loaded(pilot, scr)
        assert scr.profile_path == first
        await pilot.press("z")
        assert "frozen" in text(scr, "#title")
        arrival = ProfileArrival(newer, "json", "new", True, None, 1, 0.0, time.monotonic())
        scr.post_message(ProfileArrived(arrival))  # what the dashboard's watcher callback posts
        await pilot.pause()
        assert scr.profile_path == first and "newer: cpu_json_gogc5.pb.gz (z)" in text(
            scr, "#title"
        )
        broken = ProfileArrival(
            tmp_path / "json-x.pb.gz",
            "json",
            "new",
            False,
            "json-x.pb.gz: truncated gzip stream",
            1,
            0.0,
            0.0,
        )
        scr.offer(broken)
        await pilot.pause()
        assert "json-x.pb.gz: truncated gzip stream" in text(scr, "#status")
        await pilot.press("z")
        await loaded(pilot, scr)
        assert scr.profile_path == newer and "following" in text(scr, "#title")
        assert scr.loaded is not None and scr.loaded.path == newer
        assert scr.last_draw_latency is not None


def test_run_profile_viewer_bad_input(tmp_path: Path) -> None:
    args = argparse.Namespace(
        file=str(tmp_path / "nope.pb.gz"),
        base=None,
        sample_type=None,
        focus=None,
        ignore=None,
        hide=None,
        normalize=False,
    )
    with pytest.raises(UserError, match="no such file"):
        run_profile_viewer(args)
    junk = tmp_path / "junk.pb.gz"
    junk.write_bytes(b"\x1f\x8b\x08\x00garbage")
    args.file = str(junk)
    with pytest.raises(UserError, match=r"junk\.pb\.gz"):
        run_profile_viewer(args)
    args.file = str(
        P(Path(__file__).resolve().parents[2].parent / "shared" / "fixtures", "cpu_regexp.pb.gz")
    )
    args.focus = "(unclosed"
    with pytest.raises(UserError, match=r"--focus: bad regex '\(unclosed'"):
        run_profile_viewer(args)
    args.focus, args.sample_type = None, "inuse_space"
    with pytest.raises(UserError, match="unknown sample type 'inuse_space'"):
        run_profile_viewer(args)
    args.sample_type, args.base = None, str(tmp_path / "missing-base.pb.gz")
    with pytest.raises(UserError, match=r"missing-base\.pb\.gz: no such file"):
        run_profile_viewer(args)


async def test_ui_stays_responsive_while_a_big_profile_loads(fixtures_dir: Path) -> None:
    """Decoding and building large.cpu (425k nodes) runs in a thread: the event loop keeps
    turning while the worker runs and the progress bar shows the stage."""
    import asyncio

    scr = ProfileScreen(P(fixtures_dir, "large.cpu"))
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        first = scr.loaded
        bar = scr.query_one("#progress")
        scr._raw.clear()  # decode again, as for a newly arrived file
        scr.filters["focus"].append("runtime")
        scr.reload()
        assert not bar.has_class("hidden")
        lags, stages = [], set()
        while scr.loaded is first:
            t0 = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - t0 - 0.01)
            stages.add(text(scr, "#status").split(" ")[0])
        # The loop kept turning while the worker ran (how long each turn took is a figure of
        # benchmarks/bench_flame.py, not a test: it depends on the machine's load).
        assert len(lags) >= 5, "the load took several event-loop turns"
        assert {"reading", "building"} & stages
        await loaded(pilot, scr)
        assert bar.has_class("hidden") and "focus=runtime" in text(scr, "#title")


async def test_inlined_frames_marked_and_dashboard_kwargs(fixtures_dir: Path) -> None:
    # the dashboard opens the screen as ProfileScreen(path) or ProfileScreen(path, base=BASE)
    scr = ProfileScreen(
        P(fixtures_dir, "cpu_regexp.pb.gz"), base=P(fixtures_dir, "cpu_regexp.pb.gz")
    )
    assert scr.base_path == P(fixtures_dir, "cpu_regexp.pb.gz")
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        lay = g.flame_layout
        assert g.flame is not None and lay is not None
        wide_inline = [
            int(n)
            for i, n in enumerate(lay.node)
            if g.flame.is_inline(int(n)) and lay.x1[i] - lay.x0[i] >= 12
        ]
        assert wide_inline
        node = wide_inline[0]
        g.select(node)
        await pilot.pause()
        row, a, _b = lay.cells(node)  # type: ignore[misc]
        line = g.render_line(g.row_to_y(row) - g.scroll_offset.y)
        assert line.text[a] == "~"  # the inline marker leads the label
        assert segment_styles(g, node)[0].italic
        assert "(inline)" in text(scr, "#details")


async def test_screen_follows_new_files_in_its_folder(fixtures_dir: Path, tmp_path: Path) -> None:
    from tui.core.atomic import write_atomic

    data = P(fixtures_dir, "cpu_regexp.pb.gz").read_bytes()
    first = tmp_path / "svc-cpu-1.pb.gz"
    first.write_bytes(data)
    scr = ProfileScreen(first)
    async with ProfileViewerApp(scr, theme="bastion").run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        await until(
            pilot,
            lambda: scr.watcher is not None and scr.watcher.status.state == "listening",
            "the folder watcher",
            timeout=5,
        )
        assert scr.service == "svc"
        write_atomic(tmp_path / "db-cpu-2.pb.gz", data)  # another service: not followed
        newer = tmp_path / "svc-cpu-3.pb.gz"
        write_atomic(newer, P(fixtures_dir, "cpu_json_gogc5.pb.gz").read_bytes())
        await until(
            pilot,
            lambda: scr.loaded is not None and scr.loaded.path == newer,
            "the newer profile followed",
            timeout=10,
        )
        assert scr.loaded is not None and scr.loaded.path == newer
        assert "cpu_json" not in text(scr, "#title") and "svc-cpu-3.pb.gz" in text(scr, "#title")
        assert scr.last_draw_latency is not None and scr.last_draw_latency < 5
        # a heap profile of the same service (its name does not say so) is not followed
        write_atomic(tmp_path / "svc-x-4.pb.gz", P(fixtures_dir, "heap_json.pb.gz").read_bytes())
        await until(pilot, lambda: "not shown" in text(scr, "#status"), "the status", 10)
        assert "svc-x-4.pb.gz not shown: another kind of profile (alloc_objects" in text(
            scr, "#status"
        )
        assert scr.loaded.path == newer and scr.profile_path == newer


async def test_theme_switch_recolours_and_memory_stays_bounded(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    scr = ProfileScreen(P(fixtures_dir, "cpu_regexp.pb.gz"))
    app = app_for(scr, theme="bastion")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, scr)
        g = scr.graph
        ansi = segment_styles(g, 0)[0].bgcolor
        assert ansi is not None and ansi.type == ColorType.STANDARD
        app.theme = "warroom"
        await pilot.pause()
        true = segment_styles(g, 0)[0].bgcolor
        assert true is not None and true.type == ColorType.TRUECOLOR
        # following five new files keeps one decoded profile, not six
        data = P(fixtures_dir, "cpu_regexp.pb.gz").read_bytes()
        for i in range(5):
            f = tmp_path / f"svc-cpu-{i}.pb.gz"
            f.write_bytes(data)
            scr.offer(ProfileArrival(f, None, "new", True, None, len(data), 0.0, time.monotonic()))
            await loaded(pilot, scr)
        assert scr.loaded is not None and scr.loaded.path == tmp_path / "svc-cpu-4.pb.gz"
        assert len(scr._raw) == 1


async def test_cli_filters_reach_the_viewer(fixtures_dir: Path) -> None:
    """`warroom profile FILE --show ... --tagfocus ...` opens the viewer with every pprof
    filter applied, the same profile the headless --top computes from them."""
    from tui.cli import build_parser
    from tui.core.pprof import FilterSpec, apply_filters, function_table, load_profile
    from tui.ui.screens.profile_viewer import screen_from_args

    path = P(fixtures_dir, "heap_json.pb.gz")
    filters = {
        "show": "encoding/json|reflect",
        "show_from": "typeFields|Marshal",
        "prune_from": "reflect\\.",
        "tagfocus": "bytes=64kb:",
        "tagignore": "bytes=1mb:",
    }
    args = build_parser().parse_args(
        [
            "profile",
            str(path),
            "--sample-type",
            "inuse_space",
            "--show",
            filters["show"],
            "--show-from",
            filters["show_from"],
            "--prune-from",
            filters["prune_from"],
            "--tagfocus",
            filters["tagfocus"],
            "--tagignore",
            filters["tagignore"],
        ]
    )
    scr = screen_from_args(args)
    raw = load_profile(path)
    want = apply_filters(raw, FilterSpec(**filters))
    t = raw.sample_index("inuse_space")
    assert function_table(want, t) != function_table(raw, t)  # the filters do bite
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        assert scr.loaded is not None and scr.load_error is None
        assert function_table(scr.loaded.cur, t) == function_table(want, t)
        title = text(scr, "#title")
        for k, v in filters.items():
            assert f"{k}={v}" in title
        filtered = scr.loaded.cur
        await pilot.press("r")  # reset drops them all: a new load
        await until(
            pilot,
            lambda: scr.loaded is not None and scr.loaded.cur is not filtered,
            "the profile loaded again without the filters",
            timeout=20,
        )
        await loaded(pilot, scr)
        assert scr.loaded is not None
        assert function_table(scr.loaded.cur, t) == function_table(raw, t)


def test_run_profile_viewer_bad_filters(fixtures_dir: Path, tmp_path: Path) -> None:
    from tui.cli import build_parser

    path = str(P(fixtures_dir, "cpu_regexp.pb.gz"))
    for opt, value, msg in (
        ("--show-from", "(", r"--show-from: bad regex"),
        ("--prune-from", "[", r"--prune-from: bad regex"),
        ("--tagfocus", "k=(", r"--tagfocus: bad regular expression"),
    ):
        args = build_parser().parse_args(["profile", path, opt, value])
        with pytest.raises(UserError, match=msg):
            run_profile_viewer(args)
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"hello\x08\x01garbage")
    args = build_parser().parse_args(["profile", str(junk)])
    with pytest.raises(UserError, match=r"junk\.pb: not a pprof profile \(") as info:
        run_profile_viewer(args)
    assert "FastProfile" not in str(info.value)


async def test_prepared_view_is_the_first_one_drawn(fixtures_dir: Path) -> None:
    """`warroom profile FILE` builds the view before Textual starts (`prepare`): the screen
    shows that very view when it mounts, with the graph, its details line and the status,
    and no load worker; the side table follows, the same rows as the worker fills."""
    from tui.core.pprof import function_table, load_profile
    from tui.core.pprof.table import PPROF_EDGE_FRACTION

    path = P(fixtures_dir, "cpu_regexp.pb.gz")
    for base in (None, P(fixtures_dir, "cpu_json_gogc5.pb.gz")):
        scr = ProfileScreen(path, base)
        scr.preload(path, load_profile(path))
        scr.prepare()
        prepared = scr.prepared
        assert prepared is not None
        async with app_for(scr).run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: scr.loaded is not None, "the prepared view")  # noqa: B023
            assert scr.loaded is prepared and scr.prepared is None
            assert scr._generation == 1  # no reload was started
            assert rows(scr.graph, 1)[0].startswith("root")
            assert "% of all" in text(scr, "#details")
            assert "nodes, total" in text(scr, "#status")
            if base is None:
                table = scr.query_one(FunctionTable)
                await until(pilot, lambda: table.row_count > 0, "the side table")  # noqa: B023
                t = prepared.sample_index
                assert prepared.rows == function_table(
                    prepared.cur, t, edge_fraction=PPROF_EDGE_FRACTION
                )
            else:
                await until(pilot, lambda: prepared.report is not None, "the ranking")  # noqa: B023


async def test_profile_over_the_prepare_limit_loads_in_the_worker(fixtures_dir: Path) -> None:
    """Over `max_locations` nothing is built before the UI: the worker loads it as the
    dashboard's screens do, behind the progress bar."""
    path = P(fixtures_dir, "cpu_regexp.pb.gz")
    scr = ProfileScreen(path)
    scr.prepare(max_locations=10)
    assert scr.prepared is None
    async with app_for(scr).run_test(size=(160, 40)) as pilot:
        await loaded(pilot, scr)
        assert scr._generation == 1 and scr.loaded is not None
        assert rows(scr.graph, 1)[0].startswith("root")


async def test_title_fits_an_80_column_terminal(fixtures_dir: Path, tmp_path: Path) -> None:
    """Capture names are long: at 80 columns they are shortened from the middle so the sample
    type and following/frozen stay on the one title line; wider, the names are whole."""
    cur = tmp_path / "checkout-cpu-20261208T021908.193Z.pb.gz"
    base = tmp_path / "checkout-cpu-20261208T021835.040Z.pb.gz"
    cur.write_bytes(P(fixtures_dir, "cpu_json_gogc5.pb.gz").read_bytes())
    base.write_bytes(P(fixtures_dir, "cpu_json_gogc100.pb.gz").read_bytes())
    scr = ProfileScreen(cur, base)
    async with app_for(scr).run_test(size=(80, 24)) as pilot:
        await loaded(pilot, scr)
        title = text(scr, "#title")
        assert len(title) <= 80, title
        assert "(width: current)" in title and "cpu (nanoseconds)" in title
        assert title.endswith(("following", "frozen")), title
        # each name keeps its start and its capture's time, an ellipsis between
        assert title.count("…") == 2 and title.startswith("che"), title
        assert ".193Z · vs che" in title and ".040Z (width" in title, title
        await pilot.resize_terminal(200, 40)
        await until(pilot, lambda: cur.name in text(scr, "#title"))
        assert f"vs {base.name} (width: current)" in text(scr, "#title")
