"""pprof_fetch against a real Go server (Debian's prometheus) and real misbehaving servers."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_http
from tests.waits import until
from tui.config import Duration, ProfileEndpoint
from tui.core.events import ProfilesArrived
from tui.core.pprof.catalog import ServicePattern
from tui.sources.pprof_fetch import Capture, PprofFetcher, endpoint_url
from tui.sources.pprof_watch import check_complete

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(PROMETHEUS).exists():
        pytest.fail("prometheus binary not installed (apt-get install prometheus)")
    d = tmp_path_factory.mktemp("prom")
    (d / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


class _Bad(http.server.BaseHTTPRequestHandler):
    """A real misbehaving pprof server: each path answers wrongly in its own way."""

    good: bytes = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/debug/pprof/heap"):  # 500 with Go's error text
            self._send(500, b"Could not enable CPU profiling: cpu profiling already in use\n")
        elif self.path.startswith("/debug/pprof/allocs"):  # 200 with an HTML page
            self._send(200, b"<html><body>proxy error</body></html>")
        elif self.path.startswith("/debug/pprof/block"):  # 200 with a truncated gzip body
            self._send(200, self.good[: len(self.good) // 3])
        elif self.path.startswith("/debug/pprof/mutex"):  # too slow
            time.sleep(3)
            self._send(200, self.good)
        else:
            self._send(404, b"404 page not found\n")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # the slow answer arrives after the client gave up


@pytest.fixture(scope="module")
def bad_server(fixtures_dir: Path) -> Iterator[str]:
    _Bad.good = (fixtures_dir / "pprof" / "heap_json.pb.gz").read_bytes()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Bad)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_endpoint_url() -> None:
    assert endpoint_url("http://h:1", "profile", 10) == "http://h:1/debug/pprof/profile?seconds=10"
    assert endpoint_url("http://h:1/debug/pprof/", "heap", 10) == "http://h:1/debug/pprof/heap"


async def test_capture_cpu_and_heap_from_prometheus(prometheus: str, tmp_path: Path) -> None:
    got: list[Capture] = []
    ep = ProfileEndpoint(
        service="prom", url=prometheus, kinds=["profile", "heap", "goroutine"], seconds=Duration(1)
    )
    f = PprofFetcher([ep], tmp_path, got.append)
    try:
        caps = await f.capture_service("prom")
    finally:
        await f.stop()
    assert [c.kind for c in caps] == ["profile", "heap", "goroutine"]
    assert all(c.ok for c in caps), [c.error for c in caps]
    assert got == caps
    assert 0.9 < caps[0].duration < 10  # a 1 s CPU profile
    pattern = ServicePattern("{service}-*.pb.gz", ["prom"])
    for c in caps:
        assert c.path is not None and c.path.parent == tmp_path
        assert pattern.match(c.path.name) == (True, "prom")
        data = c.path.read_bytes()
        assert check_complete(data) is None and len(data) == c.size
        assert data[:2] == b"\x1f\x8b"  # gzip, as Go serves it
    assert caps[0].path is not None and "-cpu-" in caps[0].path.name
    assert caps[1].path is not None and "-heap-" in caps[1].path.name
    # Only the three profiles: no temp files left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(c.path.name for c in caps if c.path)
    heap = gzip.decompress(caps[1].path.read_bytes())
    assert b"inuse_space" in heap and b"alloc_space" in heap


async def test_scheduled_captures_rearm(prometheus: str, tmp_path: Path) -> None:
    got: list[Capture] = []
    ep = ProfileEndpoint(service="prom", url=prometheus, kinds=["heap"], every=Duration(0.2))
    f = PprofFetcher([ep], tmp_path, got.append)
    await f.start()
    try:
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            await _sleep(0.05)
    finally:
        await f.stop()
    assert len(got) >= 2 and all(c.ok for c in got)
    assert len({c.path for c in got}) == len(got)  # each capture its own file
    assert f.status.counters["captures"] >= 2


async def test_old_captures_pruned_others_files_kept(prometheus: str, tmp_path: Path) -> None:
    """`profiles.keep`: the newest N captures per service and kind stay; files warroom did not
    write (a hand-copied profile, another kind, another service) are never touched."""
    ep = ProfileEndpoint(service="prom", url=prometheus, kinds=["heap", "goroutine"])
    foreign = ["prom-heap-before-the-incident.pb.gz", "promx-heap-20200101T000000.000Z.pb.gz"]
    for name in foreign:
        (tmp_path / name).write_bytes(b"not ours")
    f = PprofFetcher([ep], tmp_path, keep=2)
    try:
        goroutine = await f.capture("prom", "goroutine")
        heaps = [await f.capture("prom", "heap") for _ in range(4)]
    finally:
        await f.stop()
    assert goroutine.ok and all(c.ok for c in heaps)
    left = sorted(p.name for p in tmp_path.iterdir())
    expected = [c.path.name for c in (goroutine, *heaps[-2:]) if c.path is not None]
    assert left == sorted(foreign + expected)


async def test_misbehaving_servers_report_and_write_nothing(
    bad_server: str, tmp_path: Path
) -> None:
    got: list[Capture] = []
    ep = ProfileEndpoint(
        service="bad", url=bad_server, kinds=["heap", "allocs", "block", "mutex", "goroutine"]
    )
    f = PprofFetcher([ep], tmp_path, got.append, timeout=0.5)
    try:
        caps = await f.capture_service("bad")
        unknown = await f.capture("nosuch", "heap")
        wrong_kind = await f.capture("bad", "trace")
    finally:
        await f.stop()
    errors = [c.error or "" for c in caps]
    assert not any(c.ok for c in caps)
    assert errors[0].startswith("bad heap: HTTP 500 from ") and "cpu profiling already" in errors[0]
    assert errors[1].startswith("bad allocs: not a pprof profile")
    assert errors[2].startswith("bad block: truncated gzip stream from ")
    assert errors[3].startswith("bad mutex: timed out after 0.5s")
    assert errors[4].startswith("bad goroutine: HTTP 404")
    assert unknown.error == "no profiles.endpoints entry for 'nosuch'"
    assert "unknown profile kind 'trace'" in (wrong_kind.error or "")
    assert list(tmp_path.iterdir()) == []  # nothing half-written lands in the folder
    assert f.status.state == "error" and f.status.counters["failed"] == 7


async def test_unreachable_server(tmp_path: Path) -> None:
    ep = ProfileEndpoint(service="gone", url=f"http://127.0.0.1:{free_port()}", kinds=["heap"])
    f = PprofFetcher([ep], tmp_path)
    try:
        cap = await f.capture("gone", "heap")
    finally:
        await f.stop()
    assert not cap.ok and cap.error is not None and "ConnectError" in cap.error


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


async def test_capture_key_in_the_profile_screen(
    prometheus: str, tmp_path: Path, fixtures_dir: Path
) -> None:
    """`c` in the profile screen captures from the service's endpoint; the folder watcher
    announces the saved CPU profile and the screen (following) draws it."""
    from tui.ui.screens.profile_viewer import ProfileScreen, ProfileViewerApp

    first = tmp_path / "prom-cpu-0.pb.gz"
    first.write_bytes((fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes())
    ep = ProfileEndpoint(
        service="prom", url=prometheus, kinds=["profile", "heap"], seconds=Duration(1)
    )
    fetcher = PprofFetcher([ep], tmp_path)
    scr = ProfileScreen(first, service="prom", fetcher=fetcher)
    app = ProfileViewerApp(scr, theme="bastion")
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            with contextlib.suppress(AssertionError):  # pressing c anyway says more below
                await until(
                    pilot,
                    lambda: (
                        scr.loaded is not None
                        and scr.watcher is not None
                        and scr.watcher.status.state == "listening"
                    ),
                    "the profile and its folder watcher",
                    timeout=10,
                )
            await pilot.press("c")
            with contextlib.suppress(AssertionError):  # the asserts below show the status
                await until(
                    pilot,
                    lambda: scr.loaded is not None and scr.loaded.path != first,
                    "the captured profile on screen",
                    timeout=30,
                )
            status = str(scr.query_one("#status").render())
            assert scr.loaded is not None and scr.loaded.path != first, status
            assert scr.loaded.path.name.startswith("prom-")
            assert scr.loaded.path.parent == tmp_path
            saved = sorted(p.name for p in tmp_path.glob("prom-*.pb.gz"))
            assert any("-cpu-" in n for n in saved[1:]) and any("-heap-" in n for n in saved)
    finally:
        await fetcher.stop()


async def test_profile_feed_setup_problems_are_states(tmp_path: Path) -> None:
    """A pattern with a folder in it, a profiles.dir that cannot be made, a missing folder:
    each is the feed's status-bar state with the reason, never an exception."""
    from tui.config import ProfilesConfig
    from tui.sources.pprof_fetch import ProfileFeed

    def fresh(event: ProfilesArrived) -> None:
        raise AssertionError(f"nothing should arrive: {event}")

    (tmp_path / "afile").write_text("x")
    ep = ProfileEndpoint(service="s", url="http://127.0.0.1:1", every=Duration(1))
    cases = [
        (
            ProfilesConfig(dir=str(tmp_path), pattern="sub/{service}-*.pb.gz"),
            "profiles.pattern must be a file name pattern, got 'sub/{service}-*.pb.gz'",
        ),
        (
            ProfilesConfig(dir=str(tmp_path / "afile" / "p"), endpoints=[ep]),
            f"profiles.dir {tmp_path / 'afile' / 'p'}: Not a directory",
        ),
        (
            ProfilesConfig(dir=str(tmp_path / "missing")),
            f"profiles.dir {tmp_path / 'missing'} is not a directory",
        ),
    ]
    for cfg, detail in cases:
        feed = ProfileFeed(cfg, ["s"], fresh)
        try:
            await feed.start()
            st = feed.status()
        finally:
            await feed.stop()
        assert (st.name, st.state, st.detail) == ("profiles", "error", detail)
        assert feed.fetcher is None
