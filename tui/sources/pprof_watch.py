"""Watch the profile folder and announce each new or replaced pprof file.

Profiles land in `profiles.dir` from `go test -cpuprofile`, from curl, from `pprof_fetch`, or
from a CI job copying files over SSH. Writers that do not write atomically leave a file that
is briefly truncated: such a file is re-checked until it has stopped growing for `settle`
seconds, and only then announced as broken. A complete file is announced at once.

Completeness is checked cheaply without decoding the profile: the gzip stream must end with
its trailer and CRC, and the protobuf inside must be well formed at the top level (every field
key, varint and length fits inside the buffer). The UI decodes the file in a worker afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tui.core.pprof.catalog import ServicePattern
from tui.core.pprof.inflate import InflateError, inflate_gzip, read_varint
from tui.sources.base import SourceStatus

if TYPE_CHECKING:  # watchfiles (with anyio) takes ~0.1 s to import: only when watching
    from watchfiles import Change

ArrivalKind = Literal["existing", "new", "replaced"]


@dataclass(frozen=True)
class ProfileArrival:
    """One announcement: a profile file appeared or changed. `ok=False` carries the reason."""

    path: Path
    service: str | None
    kind: ArrivalKind
    ok: bool
    error: str | None
    size: int
    mtime: float
    seen_at: float  # time.monotonic() when the change was first noticed (for latency figures)


def check_complete(data: bytes, deep: bool = True) -> str | None:
    """None if `data` is a whole pprof file, else why not (truncated gzip, bad protobuf...).

    A gzip stream that ends with its trailer and a good CRC was finished by its writer; with
    `deep=False` that is enough (the watcher's fast path; decoding reports anything else).
    """
    if not data:
        return "empty file"
    if data[:2] == b"\x1f\x8b":
        # bounded: a gzip bomb in profiles.dir costs at most the cap, and only one slice of
        # memory when not `deep`
        try:
            raw, _rest = inflate_gzip(data, keep=deep)
        except InflateError as exc:
            return str(exc).replace(" (file ends mid-stream)", "")
        if not deep:
            return None if raw else "empty gzip stream"
    else:
        raw = data
    return _wire_error(raw)


def _wire_error(buf: bytes) -> str | None:
    """Walk the top-level protobuf fields; any field running past the end means truncation."""
    n = len(buf)
    pos = 0
    while pos < n:
        key, pos = read_varint(buf, pos)
        if key < 0:
            return "truncated protobuf (field key)"
        wire = key & 7
        if key >> 3 == 0:
            return "not a pprof profile (field number 0)"
        if wire == 0:
            value, pos = read_varint(buf, pos)
            if value < 0:
                return "truncated protobuf (varint)"
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if length < 0:
                return "truncated protobuf (length)"
            pos += length
        elif wire == 5:
            pos += 4
        else:
            return f"not a pprof profile (wire type {wire})"
        if pos > n:
            return "truncated protobuf"
    return None
    return -1, -1


class PprofWatcher:
    """Announce pprof files that appear in or replace files in `directory`.

    `on_profile` is called from the event loop for every arrival (ok or not); the dashboard
    posts it as a Textual message, `warroom record` logs it. Use `latest(service)` to find the
    newest good file of a service.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        on_profile: Callable[[ProfileArrival], None],
        pattern: str = "{service}-*.pb.gz",
        services: Iterable[str] = (),
        debounce: float = 0.05,
        settle: float = 2.0,
        retry: float = 0.1,
    ):
        self.directory = Path(directory).expanduser()
        self.on_profile = on_profile
        self.pattern = ServicePattern(pattern, services)
        self.debounce = debounce
        self.settle = settle
        self.retry = retry
        self.status = SourceStatus("pprof/watch")
        self._latest: dict[str | None, ProfileArrival] = {}
        self._known: dict[Path, tuple[int, float]] = {}
        self._pending: dict[Path, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._ready = asyncio.Event()

    # -- public -----------------------------------------------------------------------------

    def latest(self, service: str | None) -> ProfileArrival | None:
        """The newest good profile of `service` seen so far (by modification time)."""
        return self._latest.get(service)

    def services(self) -> list[str]:
        return sorted(s for s in self._latest if s is not None)

    async def start(self) -> None:
        """Scan what is there, announce it as `existing`, then watch in a background task."""
        if not self.directory.is_dir():
            self.status.failed(f"profiles.dir {self.directory} is not a directory", "error")
            return
        self._stop = asyncio.Event()
        await self._scan()
        self._task = asyncio.create_task(self._watch(), name="pprof-watch")
        await asyncio.wait_for(self._ready.wait(), timeout=5)
        self.status.ok("listening", str(self.directory))

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        for t in list(self._pending.values()):
            t.cancel()
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    # -- internals --------------------------------------------------------------------------

    async def _scan(self) -> None:
        entries = []
        for p in self.directory.iterdir():
            ok, service = self.pattern.match(p.name)
            if ok and p.is_file():
                entries.append((p.stat().st_mtime, p, service))
        for _, p, _service in sorted(entries):
            await self._check(p, "existing", time.monotonic(), wait=False)

    def _filter(self, change: Change, path: str) -> bool:
        return self.pattern.match(os.path.basename(path))[0]

    async def _watch(self) -> None:
        from watchfiles import Change, awatch

        assert self._stop is not None
        gen = awatch(
            self.directory,
            watch_filter=self._filter,
            debounce=max(1, int(self.debounce * 1000)),
            step=20,
            stop_event=self._stop,
            recursive=False,
            yield_on_timeout=True,
            rust_timeout=200,
        )
        try:
            async for changes in gen:
                self._ready.set()
                now = time.monotonic()
                for change, raw in changes:
                    path = Path(raw)
                    if change == Change.deleted and not path.exists():
                        self._known.pop(path, None)
                        task = self._pending.pop(path, None)
                        if task:
                            task.cancel()
                        continue
                    if path in self._pending:
                        continue  # already being checked; it re-reads the file anyway
                    kind: ArrivalKind = "replaced" if path in self._known else "new"
                    self._pending[path] = asyncio.create_task(self._check(path, kind, now))
        except Exception as exc:  # the watcher itself died: show it, do not crash the app
            self.status.failed(f"watch stopped: {exc}", "error")
            self._ready.set()

    async def _check(self, path: Path, kind: ArrivalKind, seen: float, wait: bool = True) -> None:
        """Announce `path` once it is whole, or once it has stopped changing while broken."""
        try:
            last_sig: tuple[int, float] | None = None
            stable_since = time.monotonic()
            while True:
                try:
                    data = await asyncio.to_thread(path.read_bytes)
                    st = path.stat()
                except FileNotFoundError:
                    return  # replaced or removed while we looked: a later event covers it
                if st.st_size != len(data):  # grew between the read and the stat: look again
                    await asyncio.sleep(self.retry)
                    continue
                sig = (st.st_size, st.st_mtime)
                if sig != last_sig:
                    last_sig, stable_since = sig, time.monotonic()
                if sig == self._known.get(path) and kind != "existing":
                    return  # no real change (an event for a file we already announced)
                error = await asyncio.to_thread(check_complete, data, False)
                if error is None or not wait or time.monotonic() - stable_since >= self.settle:
                    break
                await asyncio.sleep(self.retry)
            self._known[path] = sig
            service = self.pattern.match(path.name)[1]
            arrival = ProfileArrival(
                path=path,
                service=service,
                kind=kind,
                ok=error is None,
                error=None if error is None else f"{path.name}: {error}",
                size=sig[0],
                mtime=sig[1],
                seen_at=seen,
            )
            if arrival.ok:
                cur = self._latest.get(service)
                if cur is None or cur.path == path or arrival.mtime >= cur.mtime:
                    self._latest[service] = arrival
                self.status.ok("listening", str(self.directory))
                self.status.counters["profiles"] = self.status.counters.get("profiles", 0) + 1
            else:
                self.status.counters["broken"] = self.status.counters.get("broken", 0) + 1
            self.on_profile(arrival)
        finally:
            if self._pending.get(path) is asyncio.current_task():
                del self._pending[path]
