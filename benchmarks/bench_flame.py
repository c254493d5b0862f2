"""Flame graph figures: full redraw and zoom at 200x60, and new file -> drawn latency.

Runs the real widget inside a headless Textual app (App.run_test), so the timed code is the
code the terminal runs: `render_line` for every visible row with the strip cache empty (full
redraw), and `zoom()` = layout of the zoomed subtree + every visible row rendered. The
latency figure writes large.cpu atomically into a folder watched by PprofWatcher and stops
the clock when the profile screen has drawn the new profile. The stall figure is the longest
event-loop turn while the viewer re-decodes large.cpu in its worker. Medians of 7 runs.

    python benchmarks/bench_flame.py          # readable report
    python benchmarks/bench_flame.py --json   # rows for run_all.py on the last line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual._compositor import CompositorUpdate  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from tui.core.atomic import write_atomic  # noqa: E402
from tui.core.pprof import load_profile  # noqa: E402
from tui.core.pprof.flametree import FlameTree  # noqa: E402
from tui.ui.screens.profile_viewer import ProfileScreen, ProfileViewerApp  # noqa: E402
from tui.ui.widgets.flamegraph import FlameGraph  # noqa: E402

LARGE = ROOT.parent / "shared" / "fixtures" / "pprof" / "large.cpu"
BIG = ROOT / ".bench" / "big.pb.gz"
RUNS = 7


class _GraphApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FlameGraph()


def _zoom_targets(tree: FlameTree, graph: FlameGraph, count: int) -> list[int]:
    """Wide frames a few levels down: what a user zooms into first."""
    lay = graph.flame_layout
    assert lay is not None
    cands = [int(n) for n in lay.node if 2 <= int(tree.depth[int(n)]) <= 6]
    cands.sort(key=lambda n: -int(tree.total[n]))
    return (cands * count)[:count] if cands else [0] * count


async def _graph_figures(path: Path) -> tuple[float, float, int, float]:
    prof = load_profile(path)
    tree = FlameTree.from_call_tree(prof.tree, prof.default_index)
    tree.warm()
    app = _GraphApp()
    async with app.run_test(size=(200, 60)) as pilot:
        graph = app.query_one(FlameGraph)
        graph.set_tree(tree, prof.sample_types[prof.default_index][1])
        await pilot.pause()
        height = graph.scrollable_content_region.height
        redraw = []
        for _ in range(RUNS):
            graph._strips.clear()
            t0 = time.perf_counter()
            for y in range(height):
                graph.render_line(y)
            redraw.append(time.perf_counter() - t0)
        zoom = []
        for node in _zoom_targets(tree, graph, RUNS):
            graph.zoom_root = 0
            graph.history.clear()
            t0 = time.perf_counter()
            graph.zoom(node)
            for y in range(height):
                graph.render_line(y)
            zoom.append(time.perf_counter() - t0)
            await pilot.pause()
        repaint: list[float] = []
        compositor = app.screen._compositor
        for _ in range(RUNS):  # through Textual: compositor + the terminal bytes it writes
            graph._strips.clear()
            graph.refresh()  # marks every line dirty in Textual's own line cache
            graph._styles_cache.clear()
            t0 = time.perf_counter()
            update = compositor.render_update(full=True)
            assert isinstance(update, CompositorUpdate)
            out = update.render_segments(app.console)
            repaint.append(time.perf_counter() - t0)
            assert len(out) > 200 * 10
        return (
            statistics.median(redraw) * 1e3,
            statistics.median(zoom) * 1e3,
            len(tree),
            statistics.median(repaint) * 1e3,
        )


async def _arrival_latency() -> float:
    """Seconds from a new large.cpu landing in the watched folder to it being drawn."""
    data = LARGE.read_bytes()
    times = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        first = folder / "svc-cpu-000.pb.gz"
        write_atomic(first, data)
        scr = ProfileScreen(first)
        app = ProfileViewerApp(scr, watch=True)
        async with app.run_test(size=(200, 60)) as pilot:
            while scr.loaded is None:
                await pilot.pause(0.02)
            while scr.watcher is None or scr.watcher.status.state != "listening":
                await pilot.pause(0.02)
            for i in range(1, RUNS + 1):
                target = folder / f"svc-cpu-{i:03d}.pb.gz"
                t0 = time.monotonic()
                write_atomic(target, data)
                while scr.loaded is None or scr.loaded.path != target:
                    await asyncio.sleep(0.005)
                graph = scr.graph
                for y in range(graph.scrollable_content_region.height):
                    graph.render_line(y)
                times.append(time.monotonic() - t0)
                await pilot.pause(0.1)
    return statistics.median(times)


async def _reload_lag() -> float:
    """Worst event-loop stall (s) while the viewer re-decodes large.cpu in its worker: the
    UI must keep answering keys while a big profile loads."""
    scr = ProfileScreen(LARGE)
    app = ProfileViewerApp(scr)
    worst = []
    async with app.run_test(size=(200, 60)) as pilot:
        while scr.loaded is None:
            await pilot.pause(0.02)
        for _ in range(RUNS):
            first = scr.loaded
            scr._raw.clear()  # decode again, as for a newly arrived file
            scr.reload()
            lag = 0.0
            while scr.loaded is first:
                t0 = time.monotonic()
                await asyncio.sleep(0.01)
                lag = max(lag, time.monotonic() - t0 - 0.01)
            worst.append(lag)
    return statistics.median(worst)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not BIG.exists():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import gen_big_profile

        BIG.parent.mkdir(exist_ok=True)
        gen_big_profile.generate(1_000_000, BIG)
    rows: list[dict[str, Any]] = []
    for label, path, lim_redraw, lim_zoom in (
        ("large.cpu", LARGE, 15, 50),
        ("1M samples", BIG, 30, 100),
    ):
        redraw, zoom, nodes, repaint = asyncio.run(_graph_figures(path))
        rows.append(
            {
                "figure": f"flame full redraw 200x60, {label} ({nodes} nodes)",
                "value": round(redraw, 3),
                "unit": "ms",
                "limit": f"<= {lim_redraw} ms",
                "reference": None,
            }
        )
        rows.append(
            {
                "figure": f"flame full repaint through Textual 200x60, {label}",
                "value": round(repaint, 3),
                "unit": "ms",
                "limit": f"<= {lim_redraw} ms",
                "reference": None,
            }
        )
        rows.append(
            {
                "figure": f"flame zoom into a frame 200x60, {label}",
                "value": round(zoom, 3),
                "unit": "ms",
                "limit": f"<= {lim_zoom} ms",
                "reference": None,
            }
        )
    latency = asyncio.run(_arrival_latency())
    rows.append(
        {
            "figure": "new large.cpu in watched folder -> drawn",
            "value": round(latency, 3),
            "unit": "s",
            "limit": "<= 1 s",
            "reference": None,
        }
    )
    rows.append(
        {
            "figure": "worst event-loop stall while large.cpu re-decodes in the viewer",
            "value": round(asyncio.run(_reload_lag()) * 1000, 1),
            "unit": "ms",
            "limit": "<= 500 ms",
            "reference": None,
        }
    )
    if args.json:
        print(json.dumps(rows))
    else:
        w = max(len(r["figure"]) for r in rows)
        print(f"median of {RUNS} runs each")
        for r in rows:
            print(f"{r['figure']:<{w}}  {r['value']:>9.3f} {r['unit']:<3} ({r['limit']})")
    shutil.rmtree(ROOT / ".bench" / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
