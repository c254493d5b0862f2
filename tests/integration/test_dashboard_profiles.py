"""The dashboard's live profiles: profiles.dir watched, profiles.endpoints captured from a real
Go server (Debian's prometheus serves /debug/pprof), fresh files announced, `f`/`c` wired."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_pprof_fetch import prometheus  # noqa: F401  (module fixture)
from tests.servers import free_port
from tests.ui.dashboard_data import NOW, filled_store
from tests.waits import until
from tui.config import (
    AuditConfig,
    BaselineConfig,
    Config,
    Duration,
    OTLPConfig,
    ProfileEndpoint,
    ProfilesConfig,
    ServiceConfig,
)
from tui.core.atomic import write_atomic
from tui.core.metrics.store import MetricStore
from tui.core.pprof.catalog import ServicePattern
from tui.sources.pprof_watch import check_complete
from tui.ui.app import WarroomApp
from tui.ui.screens.profile_viewer import ProfileScreen

pytestmark = pytest.mark.integration


def config(tmp_path: Path, services: list[str], **profiles: Any) -> Config:
    """Only the profile sources run: no OTLP ports, no Prometheus scrape targets."""
    return Config(
        refresh=Duration(1),
        otlp=OTLPConfig(http="", grpc=""),
        services=[ServiceConfig(name=n) for n in services],
        profiles=ProfilesConfig(**profiles),
        baseline=BaselineConfig(dir=str(tmp_path / "baselines")),
        audit=AuditConfig(path=str(tmp_path / "audit.jsonl")),
    )


def toasts(app: WarroomApp) -> list[str]:
    return [n.message for n in app._notifications]


def feed_status(app: WarroomApp) -> Any:
    """The profiles entry the app hands the status bar."""
    return next((s for s in app.dashboard.status_bar.statuses if s.name == "profiles"), None)


def profiles_in(folder: Path) -> list[Path]:
    """Saved files; the next round's atomic-write temp file (`.NAME.xxx.tmp`) may be there."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def watching(app: WarroomApp) -> bool:
    feed = getattr(app, "profile_feed", None)
    return bool(feed and feed.watcher and feed.watcher.status.state == "listening")


async def test_profile_written_into_the_folder_is_announced(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    cpu = (fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes()
    old = folder / "checkout-cpu-1.pb.gz"
    old.write_bytes(cpu)  # there before the start: not news
    cfg = config(tmp_path, ["checkout", "checkout-api"], dir=str(folder))
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW, start_sources=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: watching(app), "the folder watcher")
        # the status bar shows what the last redraw saw: "starting" until one after the watch
        await until(
            pilot,
            lambda: feed_status(app) is not None and feed_status(app).state == "up",
            "the status entry",
        )
        assert feed_status(app).detail == ""
        assert not any("new" in t for t in toasts(app))

        fresh = folder / "checkout-cpu-2.pb.gz"
        write_atomic(fresh, (fixtures_dir / "pprof" / "cpu_json_gogc5.pb.gz").read_bytes())
        want = f"new cpu profile for checkout: {fresh.name} — f to open"
        await until(pilot, lambda: want in toasts(app), f"the toast {want!r}")
        await until(pilot, lambda: feed_status(app).detail == "new cpu checkout", "status")
        assert feed_status(app).state == "up"

        # Another service's profile (a longer name sharing the prefix) says which to select.
        write_atomic(
            folder / "checkout-api-heap-1.pb.gz",
            (fixtures_dir / "pprof" / "heap_json.pb.gz").read_bytes(),
        )
        want2 = (
            "new heap profile for checkout-api: checkout-api-heap-1.pb.gz — select "
            "checkout-api and press f to open"
        )
        await until(pilot, lambda: want2 in toasts(app), f"the toast {want2!r}")

        # A file that stays broken is a warning after the settle time, not a crash.
        write_atomic(folder / "checkout-cpu-3.pb.gz", cpu[: len(cpu) // 2])
        await until(
            pilot,
            lambda: any(
                "profile not usable: checkout-cpu-3.pb.gz: truncated" in t for t in toasts(app)
            ),
            "the broken-file warning",
        )

        # `f` opens the newest good profile of the selected service, following the folder.
        assert app.dashboard.table.selected == "checkout"
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        scr = app.screen
        assert isinstance(scr, ProfileScreen)
        assert scr.profile_path == fresh  # not the broken -3, not checkout-api's
        assert scr.watch_dir == folder and scr.pattern == cfg.profiles.pattern
        await until(pilot, lambda: scr.loaded is not None, "the profile to load")
        assert scr.loaded is not None and scr.loaded.path == fresh
        write_atomic(folder / "checkout-cpu-4.pb.gz", cpu)
        await until(
            pilot,
            lambda: scr.loaded is not None and scr.loaded.path.name == "checkout-cpu-4.pb.gz",
            "the screen to follow",
        )
        await pilot.pause(0.5)  # a toast would come with the same watcher event
        # no "f to open" toast over the open flame screen (older toasts may have timed out)
        assert not any("checkout-cpu-4" in t for t in toasts(app))


async def test_scheduled_capture_lands_in_the_folder_and_is_announced(
    tmp_path: Path,
    prometheus: str,  # noqa: F811
) -> None:
    folder = tmp_path / "profiles"  # created by the app: captures need somewhere to go
    ep = ProfileEndpoint(
        service="prom",
        url=prometheus,
        kinds=["profile", "heap"],
        seconds=Duration(1),
        every=Duration(1),
    )
    cfg = config(
        tmp_path, ["prom"], dir=str(folder), pattern="pp_{service}_*.pprof", endpoints=[ep]
    )
    app = WarroomApp(cfg, store=MetricStore(), start_sources=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await until(
            pilot,
            lambda: any("new" in t and "prom" in t for t in toasts(app)),
            "a capture to be announced",
            timeout=30,
        )
        first = next(t for t in toasts(app) if "new" in t and "prom" in t)
        # One capture round (CPU, then heap) is one toast naming both.
        # (The heap capture, right after the CPU one, usually lands in the same batch.)
        assert (
            first == "2 new profiles: cpu profile for prom, heap profile for prom — f to open"
            or re.fullmatch(
                r"new cpu profile for prom: pp_prom_cpu-\d{8}T\d{6}\.\d{3}Z\.pprof"
                r" — f to open",
                first,
            )
        ), first
        pattern = ServicePattern(cfg.profiles.pattern, ["prom"])
        saved = profiles_in(folder)
        assert saved and all(pattern.match(p.name) == (True, "prom") for p in saved)
        assert all(check_complete(p.read_bytes()) is None for p in saved)
        assert {"cpu", "heap"} <= {p.name.split("_")[2].split("-")[0] for p in saved}
        await until(pilot, lambda: feed_status(app).detail.startswith("new "), "the status")
        assert feed_status(app).state == "up"
        feed = app.profile_feed
        fetcher = feed.fetcher
        assert fetcher is not None and fetcher.status.counters["captures"] >= 2
        # Re-armed: a second round follows the first.
        await until(
            pilot,
            lambda: fetcher.status.counters["captures"] >= 4,
            "a second scheduled round",
            timeout=30,
        )
        assert len(profiles_in(folder)) >= 4
        # The schedule's later rounds are not news: no toast each time, the screen follows.
        await pilot.pause(0.5)
        news = [t for t in toasts(app) if "new" in t and "prom" in t]
        assert 1 <= len(news) <= 2 and feed.arrivals >= 4
        await pilot.press("down", "s")  # the keyboard stays live meanwhile
        assert app.signal == "p50"
    assert fetcher._loops == []  # stopped with the app


async def test_dead_endpoint_is_a_status_not_a_crash(tmp_path: Path) -> None:
    ep = ProfileEndpoint(
        service="gone", url=f"http://127.0.0.1:{free_port()}", kinds=["heap"], every=Duration(1)
    )
    cfg = config(tmp_path, ["gone"], dir=str(tmp_path / "profiles"), endpoints=[ep])
    app = WarroomApp(cfg, store=MetricStore(), start_sources=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await until(
            pilot,
            lambda: feed_status(app) is not None and feed_status(app).state == "error",
            "the error state",
        )
        st = feed_status(app)
        assert st.detail.startswith("gone heap: ConnectError at http://127.0.0.1:")
        assert st.stale_since is not None
        assert not any("new" in t for t in toasts(app))
        await pilot.press("s")
        assert app.signal == "p50" and app.is_running
    assert list((tmp_path / "profiles").iterdir()) == []


async def test_endpoints_without_a_folder_is_a_status(tmp_path: Path) -> None:
    ep = ProfileEndpoint(service="x", url="http://127.0.0.1:1", every=Duration(1))
    app = WarroomApp(
        config(tmp_path, ["x"], endpoints=[ep]), store=MetricStore(), start_sources=True
    )
    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: feed_status(app) is not None, "the status entry")
        st = feed_status(app)
        assert (st.state, st.detail) == (
            "error",
            "profiles.endpoints needs profiles.dir to save captures in",
        )


async def test_c_in_the_dashboard_flame_screen_captures_now(
    tmp_path: Path,
    prometheus: str,  # noqa: F811  (the imported module fixture)
    fixtures_dir: Path,
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    first = folder / "pp_prom_cpu-0.pprof"  # a custom pattern, honoured by screen and capture
    first.write_bytes((fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes())
    ep = ProfileEndpoint(
        service="prom", url=prometheus, kinds=["profile", "heap"], seconds=Duration(1)
    )  # no `every`: on the key only
    cfg = config(
        tmp_path, ["prom"], dir=str(folder), pattern="pp_{service}_*.pprof", endpoints=[ep]
    )
    app = WarroomApp(cfg, store=MetricStore(), start_sources=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.profile_feed.fetcher is not None, "the fetcher")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        scr = app.screen
        assert isinstance(scr, ProfileScreen) and scr.fetcher is app.profile_feed.fetcher
        await until(
            pilot,
            lambda: (
                scr.loaded is not None
                and scr.watcher is not None
                and scr.watcher.status.state == "listening"
            ),
            "the screen to load and watch",
        )
        assert list(folder.iterdir()) == [first]  # nothing scheduled
        await pilot.press("c")
        await until(
            pilot,
            lambda: scr.loaded is not None and scr.loaded.path != first,
            "the captured CPU profile to be drawn",
            timeout=30,
        )
        assert scr.loaded is not None
        assert scr.loaded.path.parent == folder
        assert scr.loaded.path.name.startswith("pp_prom_cpu-")
        assert scr.loaded.path.suffix == ".pprof"
        await until(pilot, lambda: len(profiles_in(folder)) >= 3, "the heap capture too")
        names = [p.name for p in profiles_in(folder)]
        assert any(n.startswith("pp_prom_heap-") for n in names), names


async def test_d_diffs_the_newest_profile_of_the_baselines_kind(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """`d`: the newest CPU profile (the baseline's kind; a newer heap capture is skipped)
    against the baseline's own copy of its profile; the screen says so in its title."""
    import numpy as np

    from tui.core.baseline import BaselineStore, build_snapshot

    folder = tmp_path / "profiles"
    folder.mkdir()
    base_src = folder / "checkout-cpu-1.pb.gz"
    base_src.write_bytes((fixtures_dir / "pprof" / "cpu_json_gogc100.pb.gz").read_bytes())
    cfg = config(tmp_path, ["checkout"], dir=str(folder))
    rng = np.random.default_rng(1)
    BaselineStore(cfg.baseline.dir).save(
        build_snapshot(
            "checkout",
            {"p99": list(0.05 * np.exp(rng.normal(0, 0.1, 60)))},
            step=5.0,
            version="v1",
            taken_by="test@host",
            taken_at=NOW - 3600,
            profile_files=[str(base_src)],
        )
    )
    cur = folder / "checkout-cpu-2.pb.gz"
    write_atomic(cur, (fixtures_dir / "pprof" / "cpu_json_gogc5.pb.gz").read_bytes())
    write_atomic(
        folder / "checkout-heap-3.pb.gz", (fixtures_dir / "pprof" / "heap_json.pb.gz").read_bytes()
    )
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the diff screen")
        scr = app.screen
        assert isinstance(scr, ProfileScreen)
        assert scr.profile_path == cur
        assert scr.base_path is not None and scr.base_path != base_src  # the stored copy
        assert scr.base_path.read_bytes() == base_src.read_bytes()
        await until(pilot, lambda: scr.loaded is not None or scr.load_error, "the diff")
        assert scr.load_error is None and scr.loaded is not None and scr.loaded.diff is not None
        assert f"vs {scr.base_path.name}" in str(scr.query_one("#title").render())
        await pilot.press("q")
        await until(pilot, lambda: app.screen is app.dashboard, "back on the dashboard")
        # A baseline whose profile file went missing is a one-line notice, not a crash.
        scr.base_path.unlink()
        await pilot.press("d")  # looked up in a worker thread
        await until(pilot, lambda: any("is missing" in t for t in toasts(app)), "the notice")
        assert app.screen is app.dashboard
        assert any(t.startswith("baseline profile of checkout is missing: ") for t in toasts(app))


async def test_baseline_keeps_each_kind_and_d_diffs_cpu_with_cpu(
    tmp_path: Path,
    prometheus: str,  # noqa: F811  (the imported module fixture)
) -> None:
    """Issue 13 item 2: with `kinds: [profile, heap]` the heap capture is the newest file; the
    baseline must keep the CPU profile too, and `d` must diff CPU against CPU."""
    from tui.core.baseline import BaselineStore
    from tui.core.baseline.snapshot import baseline_snapshot
    from tui.core.pprof.catalog import by_kind
    from tui.sources.pprof_fetch import PprofFetcher

    folder = tmp_path / "profiles"
    folder.mkdir()
    ep = ProfileEndpoint(
        service="prom", url=prometheus, kinds=["profile", "heap"], seconds=Duration(1)
    )
    cfg = config(tmp_path, ["prom"], dir=str(folder), endpoints=[ep])
    fetcher = PprofFetcher([ep], folder)
    try:
        first = await fetcher.capture_service("prom")  # CPU, then heap (the newest file)
        assert [c.ok for c in first] == [True, True], [c.error for c in first]
        snap = baseline_snapshot(cfg, "prom", {"p99": [0.01] * 10}, 5.0, taken_by="t@h")
        cpu, heap = first[0].path, first[1].path
        assert cpu is not None and heap is not None
        assert {k: p.name for k, p in by_kind(snap.profile_files).items()} == {
            "cpu": cpu.name,
            "heap": heap.name,
        }
        BaselineStore(cfg.baseline.dir).save(snap)
        second = await fetcher.capture_service("prom")
        assert [c.ok for c in second] == [True, True], [c.error for c in second]
    finally:
        await fetcher.stop()
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the diff screen")
        scr = app.screen
        assert isinstance(scr, ProfileScreen)
        assert scr.profile_path == second[0].path  # the newest CPU, not the newer heap
        assert scr.base_path is not None and "-cpu-" in scr.base_path.name
        await until(pilot, lambda: scr.loaded is not None or scr.load_error, "the diff")
        assert scr.load_error is None and scr.loaded is not None
        await pilot.press("q")
        await until(pilot, lambda: app.screen is app.dashboard, "back on the dashboard")
        await pilot.press("f")  # `f` also opens the newest CPU profile
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        flame = app.screen
        assert isinstance(flame, ProfileScreen) and flame.profile_path == second[0].path
