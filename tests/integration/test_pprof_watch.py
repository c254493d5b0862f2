"""pprof_watch against a real folder: pieces, atomic replaces, broken files, name patterns."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import time
from pathlib import Path

import pytest

from tui.core.atomic import write_atomic
from tui.core.events import NewProfile
from tui.core.pprof.catalog import ServicePattern
from tui.sources.pprof_watch import PprofWatcher, ProfileArrival, check_complete


@pytest.fixture(scope="module")
def cpu_bytes(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes()


@pytest.fixture(scope="module")
def heap_bytes(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / "pprof" / "heap_json.pb.gz").read_bytes()


class Collector:
    def __init__(self) -> None:
        self.items: list[ProfileArrival] = []
        self.event = asyncio.Event()

    def __call__(self, a: ProfileArrival) -> None:
        self.items.append(a)
        self.event.set()

    async def wait(self, count: int, timeout: float = 5.0) -> list[ProfileArrival]:
        deadline = time.monotonic() + timeout
        while len(self.items) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"expected {count} arrivals, got {self.items}")
            self.event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), left)
        return self.items


def test_pattern_services() -> None:
    p = ServicePattern("{service}-*.pb.gz", services=["api", "api-gateway"])
    assert p.match("api-gateway-cpu-1.pb.gz") == (True, "api-gateway")
    assert p.match("api-cpu-1.pb.gz") == (True, "api")
    assert p.match("other-cpu.pb.gz") == (True, "other")
    assert p.match("api-cpu.pb.gz.tmp") == (False, None)
    assert p.match(".api-cpu.pb.gz.123.tmp") == (False, None)
    assert p.match("notes.txt") == (False, None)
    assert p.filename("api", "heap-20261122T050000Z") == "api-heap-20261122T050000Z.pb.gz"
    q = ServicePattern("prof_{service}_*.pprof")
    assert q.match("prof_checkout_cpu.pprof") == (True, "checkout")
    with pytest.raises(ValueError, match="file name pattern"):
        ServicePattern("dir/{service}-*.pb.gz")


def test_check_complete(cpu_bytes: bytes) -> None:
    assert check_complete(cpu_bytes) is None
    assert check_complete(gzip.decompress(cpu_bytes)) is None  # raw protobuf is fine too
    assert check_complete(cpu_bytes[: len(cpu_bytes) // 2]) == "truncated gzip stream"
    assert check_complete(b"") == "empty file"
    raw = gzip.decompress(cpu_bytes)
    assert check_complete(raw[: len(raw) - 7]) is not None
    assert "corrupt gzip" in (check_complete(b"\x1f\x8b" + b"garbage" * 10) or "")
    assert "not a pprof" in (check_complete(gzip.compress(b"hello world, not protobuf")) or "")


async def test_existing_then_new_and_replaced(
    tmp_path: Path, cpu_bytes: bytes, heap_bytes: bytes
) -> None:
    (tmp_path / "api-cpu-1.pb.gz").write_bytes(cpu_bytes)
    (tmp_path / "README.txt").write_text("not a profile")
    got = Collector()
    w = PprofWatcher(tmp_path, got, services=["api", "db"])
    await w.start()
    try:
        items = await got.wait(1)
        assert items[0].kind == "existing" and items[0].service == "api" and items[0].ok
        assert w.status.state == "listening"

        write_atomic(tmp_path / "db-heap-2.pb.gz", heap_bytes)
        items = await got.wait(2)
        assert items[1].kind == "new" and items[1].service == "db" and items[1].ok
        assert w.latest("db") == items[1]

        write_atomic(tmp_path / "api-cpu-1.pb.gz", heap_bytes)  # atomic replace
        items = await got.wait(3)
        assert items[2].kind == "replaced" and items[2].ok
        assert items[2].size == len(heap_bytes)
        await asyncio.sleep(0.3)
        assert len(got.items) == 3  # the temp file of the atomic writer is never announced
        assert w.services() == ["api", "db"]
    finally:
        await w.stop()


async def test_file_written_in_pieces_is_announced_once_whole(
    tmp_path: Path, cpu_bytes: bytes
) -> None:
    got = Collector()
    w = PprofWatcher(tmp_path, got, settle=1.5)
    await w.start()
    try:
        path = tmp_path / "api-cpu-slow.pb.gz"
        with open(path, "wb") as fh:
            for i in range(0, len(cpu_bytes), 8000):
                fh.write(cpu_bytes[i : i + 8000])
                fh.flush()
                os.fsync(fh.fileno())
                await asyncio.sleep(0.15)
        items = await got.wait(1)
        await asyncio.sleep(0.3)
        assert len(got.items) == 1, got.items
        assert items[0].ok and items[0].size == len(cpu_bytes) and items[0].error is None
    finally:
        await w.stop()


async def test_truncated_and_garbage_files_are_announced_not_fatal(
    tmp_path: Path, cpu_bytes: bytes
) -> None:
    got = Collector()
    w = PprofWatcher(tmp_path, got, settle=0.3)
    await w.start()
    try:
        (tmp_path / "api-cut.pb.gz").write_bytes(cpu_bytes[:5000])
        items = await got.wait(1)
        assert not items[0].ok
        assert items[0].error == "api-cut.pb.gz: truncated gzip stream"
        assert w.latest("api") is None

        (tmp_path / "api-junk.pb.gz").write_bytes(b"<html>502 Bad Gateway</html>")
        items = await got.wait(2)
        assert not items[1].ok and "not a pprof profile" in (items[1].error or "")

        # The watcher is still alive: a good file after the broken ones is announced.
        write_atomic(tmp_path / "api-good.pb.gz", cpu_bytes)
        items = await got.wait(3)
        assert items[2].ok and w.latest("api") == items[2]
        assert w.status.counters["broken"] == 2
    finally:
        await w.stop()


async def test_missing_directory_is_a_status_not_a_crash(tmp_path: Path) -> None:
    got = Collector()
    w = PprofWatcher(tmp_path / "nope", got)
    await w.start()
    assert w.status.state == "error"
    assert "is not a directory" in w.status.detail
    await w.stop()


async def test_feed_announces_a_stream_once_then_after_quiet(
    tmp_path: Path, cpu_bytes: bytes, heap_bytes: bytes
) -> None:
    """ProfileFeed over a real folder: a capture round is one batch; more files of the same
    service and kind are not news until `quiet` passes; another kind is news of its own."""
    from tui.config import ProfilesConfig
    from tui.sources.pprof_fetch import ProfileFeed

    (tmp_path / "api-cpu-0.pb.gz").write_bytes(cpu_bytes)  # there before: never news
    batches: list[list[NewProfile]] = []
    feed = ProfileFeed(
        ProfilesConfig(dir=str(tmp_path)),
        ["api", "db"],
        lambda event: batches.append(list(event.files)),
        batch=0.3,
        quiet=2.0,
    )
    await feed.start()

    async def settle(n: int) -> None:
        deadline = time.monotonic() + 5
        while feed.arrivals < n and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # past the batch window

    try:
        assert feed.status().state == "up" and feed.status().detail == ""
        write_atomic(tmp_path / "api-cpu-1.pb.gz", cpu_bytes)
        write_atomic(tmp_path / "db-heap-1.pb.gz", heap_bytes)
        await settle(2)
        assert [sorted(a.path.name for a in b) for b in batches] == [
            ["api-cpu-1.pb.gz", "db-heap-1.pb.gz"]
        ]
        assert feed.status().detail in ("new cpu api", "new heap db")
        write_atomic(tmp_path / "api-cpu-2.pb.gz", cpu_bytes)  # same stream, within quiet
        await settle(3)
        assert len(batches) == 1
        write_atomic(tmp_path / "api-heap-2.pb.gz", heap_bytes)  # another kind: news
        await settle(4)
        assert [a.path.name for a in batches[-1]] == ["api-heap-2.pb.gz"]
        await asyncio.sleep(2.0)  # the api cpu stream went quiet
        write_atomic(tmp_path / "api-cpu-3.pb.gz", cpu_bytes)
        await settle(5)
        assert [a.path.name for a in batches[-1]] == ["api-cpu-3.pb.gz"]
        assert len(batches) == 3 and feed.status().detail == "new cpu api"
    finally:
        await feed.stop()
