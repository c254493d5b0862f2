"""Capture profiles from Go `net/http/pprof` endpoints into the profile folder.

Each capture is checked to be a whole pprof file before it is written (a 502 page or a
half-sent body never lands in the folder), then saved atomically as
`{service}-{kind}-{UTC timestamp}.pb.gz` (the `*` of `profiles.pattern`), so the folder
watcher picks it up like any other profile. Captures run on a schedule per endpoint
(`every`, re-armed after each round so a slow server never stacks requests) and on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tui.config import ProfileEndpoint, ProfilesConfig
from tui.core.atomic import write_atomic
from tui.core.events import NewProfile, ProfilesArrived
from tui.core.pprof.catalog import ServicePattern, profile_kind
from tui.sources.base import Backoff, RefreshLoop, SourceStatus
from tui.sources.pprof_watch import PprofWatcher, ProfileArrival, check_complete

KINDS = ("profile", "heap", "allocs", "block", "mutex", "goroutine")
# File-name word per kind: `profile` is the CPU profile.
KIND_WORD = {"profile": "cpu"}
CPU_WINDOWS_KEPT = 72  # CPU capture windows kept per service (6 h at one per 5 min)


@dataclass(frozen=True)
class Capture:
    """The outcome of one capture. `path` is the saved file when `ok`."""

    service: str
    kind: str
    url: str
    ok: bool
    path: Path | None
    error: str | None
    size: int
    started: float  # unix time the request was sent
    duration: float  # seconds


def endpoint_url(base: str, kind: str, seconds: float) -> str:
    """`/debug/pprof/KIND` under the server's base URL (which may already end in it)."""
    base = base.rstrip("/")
    if not base.endswith("/debug/pprof"):
        base += "/debug/pprof"
    if kind == "profile":
        return f"{base}/profile?seconds={max(1, round(seconds))}"
    return f"{base}/{kind}"


def capture_name(pattern: ServicePattern, service: str, kind: str, when: float) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    ms = int((when % 1) * 1000)
    return pattern.filename(service, f"{KIND_WORD.get(kind, kind)}-{stamp}.{ms:03d}Z")


class PprofFetcher:
    """Capture profiles per `profiles.endpoints`, on a schedule and on demand.

    `on_capture(capture)` is called on the event loop after each attempt, ok or not.
    """

    def __init__(
        self,
        endpoints: Iterable[ProfileEndpoint],
        directory: str | os.PathLike[str],
        on_capture: Callable[[Capture], None] | None = None,
        pattern: str = "{service}-*.pb.gz",
        timeout: float = 10.0,
        keep: int = 100,
    ):
        self.endpoints = list(endpoints)
        self.keep = keep
        self.directory = Path(directory).expanduser()
        self.on_capture = on_capture
        self.pattern = ServicePattern(pattern, [e.service for e in self.endpoints])
        self.timeout = timeout
        self.status = SourceStatus("pprof/fetch")
        self._client: httpx.AsyncClient | None = None
        self._loops: list[RefreshLoop] = []
        self._cpu_locks: dict[str, asyncio.Lock] = {}
        # (start, end) of each recent CPU capture per service: the target did extra work then,
        # and its latency may show it (the dashboard marks these on the timeline)
        self.cpu_windows: dict[str, deque[tuple[float, float]]] = {}

    def endpoint(self, service: str) -> ProfileEndpoint | None:
        return next((e for e in self.endpoints if e.service == service), None)

    async def start(self) -> None:
        """Start one re-armed capture loop per endpoint that has `every` set: a capture round
        every `every` seconds after the last one ended, failed or not (a schedule of minutes
        needs no backoff; a bug is said in `status`)."""
        for ep in self.endpoints:
            if ep.every:
                loop = RefreshLoop(
                    f"pprof-{ep.service}",
                    functools.partial(self.capture_service, ep.service),
                    Backoff.fixed(float(ep.every)),
                    self.status,
                )
                self._loops.append(loop)
                loop.start()
        self.status.ok("up", f"{len(self.endpoints)} endpoint(s)")

    async def stop(self) -> None:
        for loop in self._loops:
            await loop.stop()
        self._loops.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def capture_service(self, service: str) -> list[Capture]:
        """Capture every configured kind of `service` (the on-demand key)."""
        ep = self.endpoint(service)
        if ep is None:
            return []
        return [await self.capture(service, kind) for kind in ep.kinds]

    async def capture(self, service: str, kind: str, seconds: float | None = None) -> Capture:
        """Capture one profile; errors are returned (and announced), never raised."""
        ep = self.endpoint(service)
        started = time.time()
        if ep is None or kind not in KINDS:
            what = (
                f"no profiles.endpoints entry for {service!r}"
                if ep is None
                else (f"unknown profile kind {kind!r} (one of {', '.join(KINDS)})")
            )
            return self._done(Capture(service, kind, "", False, None, what, 0, started, 0.0))
        secs = float(seconds if seconds is not None else ep.seconds)
        url = endpoint_url(ep.url, kind, secs)
        t0 = time.monotonic()
        lock = self._cpu_locks.setdefault(service, asyncio.Lock())

        def outcome(path: Path | None, error: str | None, size: int) -> Capture:
            cap = Capture(
                service, kind, url, error is None, path, error, size, started,
                time.monotonic() - t0,
            )  # fmt: skip
            return self._done(cap)

        try:
            if kind == "profile":  # Go refuses two CPU profiles at once
                async with lock:
                    data = await self._get(url, self.timeout + secs)
            else:
                data = await self._get(url, self.timeout)
        except _FetchError as exc:
            return outcome(None, f"{service} {kind}: {exc}", 0)
        problem = await asyncio.to_thread(check_complete, data)
        if problem is not None:
            return outcome(None, f"{service} {kind}: {problem} from {url}", len(data))
        path = self.directory / capture_name(self.pattern, service, kind, started)
        try:
            await asyncio.to_thread(write_atomic, path, data)
        except OSError as exc:
            why = f"{service} {kind}: cannot save {path}: {exc.strerror or exc}"
            return outcome(None, why, len(data))
        if self.keep:
            await asyncio.to_thread(self._prune, service, kind)
        return outcome(path, None, len(data))

    def _prune(self, service: str, kind: str) -> None:
        """Keep the newest `keep` of our own captures of this service and kind, so a wall
        screen capturing every few minutes for weeks does not fill the disk. Only names this
        fetcher writes are candidates (their UTC stamps sort in time order)."""
        own = re.compile(
            re.escape(capture_name(self.pattern, service, kind, 0.0)).replace(
                re.escape("19700101T000000.000Z"), r"\d{8}T\d{6}\.\d{3}Z"
            )
            + r"\Z"
        )
        try:
            names = sorted(n for n in os.listdir(self.directory) if own.match(n))
        except OSError:
            return
        for name in names[: max(0, len(names) - self.keep)]:
            with contextlib.suppress(OSError):
                (self.directory / name).unlink()

    # -- internals --------------------------------------------------------------------------

    def _done(self, cap: Capture) -> Capture:
        if cap.kind == "profile" and cap.duration > 0:
            windows = self.cpu_windows.setdefault(cap.service, deque(maxlen=CPU_WINDOWS_KEPT))
            windows.append((cap.started, cap.started + cap.duration))
        if cap.ok:
            self.status.ok("up", f"{cap.service} {cap.kind} {cap.size} B", cap.duration)
            self.status.counters["captures"] = self.status.counters.get("captures", 0) + 1
        else:
            self.status.failed(cap.error or "capture failed", "error")
            self.status.counters["failed"] = self.status.counters.get("failed", 0) + 1
        if self.on_capture is not None:
            self.on_capture(cap)
        return cap

    async def _get(self, url: str, timeout: float) -> bytes:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=True)
        try:
            r = await self._client.get(url, timeout=timeout)
        except httpx.TimeoutException:
            raise _FetchError(f"timed out after {timeout:g}s at {url}") from None
        except httpx.HTTPError as exc:
            raise _FetchError(f"{type(exc).__name__} at {url}: {exc}") from None
        if r.status_code != 200:
            body = r.text.strip().splitlines()[0][:120] if r.text.strip() else ""
            raise _FetchError(f"HTTP {r.status_code} from {url}" + (f": {body}" if body else ""))
        return r.content


class _FetchError(Exception):
    pass


class ProfileFeed:
    """`profiles.dir` watched and `profiles.endpoints` captured into it, as one source.

    Fresh (new or replaced) profiles reach `on_fresh` as one `ProfilesArrived` event
    (tui.core.events) per `batch` seconds, so one capture round (CPU then heap) is one
    announcement; files already there at start are not
    fresh. A service whose profiles keep coming (a capture every minute, a sampler every
    10 s) is news once, then again only after `quiet` seconds without one: a schedule must
    not bury the dashboard in toasts (the flame screen follows every file regardless).
    Nothing is decoded here: the watcher only checks a file is whole. `status()` is one
    status-bar entry for both halves: a dead folder or a failing endpoint shows as a state,
    never as an exception.
    """

    def __init__(
        self,
        cfg: ProfilesConfig,
        services: Iterable[str],
        on_fresh: Callable[[ProfilesArrived], None],
        batch: float = 0.3,
        fresh_for: float = 60.0,
        quiet: float = 300.0,
    ):
        self.cfg = cfg
        self.services = list(dict.fromkeys([*services, *(e.service for e in cfg.endpoints)]))
        self.on_fresh = on_fresh
        self.batch = batch
        self.fresh_for = fresh_for  # seconds the status bar names the latest news
        self.quiet = quiet
        self.arrivals = 0  # every fresh file, news or not
        self._last_seen: dict[tuple[str | None, str | None, bool], float] = {}
        self.watcher: PprofWatcher | None = None
        self.fetcher: PprofFetcher | None = None
        self.problem: str | None = None
        self.last_fresh: tuple[float, ProfileArrival] | None = None
        self._batch: list[ProfileArrival] = []
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Watch first (so the first scheduled capture is seen), then start the schedule."""
        cfg = self.cfg
        if not cfg.dir:
            if cfg.endpoints:
                self.problem = "profiles.endpoints needs profiles.dir to save captures in"
            return
        d = Path(cfg.dir).expanduser()
        try:
            if cfg.endpoints and not d.is_dir():
                await asyncio.to_thread(d.mkdir, parents=True, exist_ok=True)
            self.watcher = PprofWatcher(
                d, self._arrived, pattern=cfg.pattern, services=self.services
            )
        except OSError as exc:
            self.problem = f"profiles.dir {d}: {exc.strerror or exc}"
            return
        except ValueError as exc:  # a pattern with a folder in it
            self.problem = str(exc)
            return
        try:
            await self.watcher.start()
        except (OSError, TimeoutError) as exc:
            self.watcher.status.failed(f"cannot watch {d}: {exc}", "error")
        if cfg.endpoints:
            self.fetcher = PprofFetcher(
                cfg.endpoints, d, self._captured, pattern=cfg.pattern, keep=cfg.keep
            )
            await self.fetcher.start()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for src in (self.fetcher, self.watcher):
            if src is not None:
                with contextlib.suppress(Exception):
                    await src.stop()

    def status(self, now: float | None = None) -> SourceStatus:
        st = SourceStatus("profiles")
        if self.problem:
            st.failed(self.problem, "error")
            return st
        for src in (self.watcher, self.fetcher):
            if src is not None and src.status.state in ("stale", "down", "error"):
                st.state, st.detail = src.status.state, src.status.detail
                st.stale_since = src.status.stale_since
                return st
        if self.watcher is None or self.watcher.status.state == "starting":
            return st
        now = time.time() if now is None else now
        detail = ""
        if self.last_fresh is not None and now - self.last_fresh[0] < self.fresh_for:
            a = self.last_fresh[1]
            detail = " ".join(x for x in ("new", profile_kind(a.path.name), a.service) if x)
        st.ok("up", detail)
        st.last_ok = self.watcher.status.last_ok
        return st

    def _arrived(self, arrival: ProfileArrival) -> None:
        if arrival.kind == "existing":
            return
        self.arrivals += 1
        now = time.monotonic()
        key = (arrival.service, profile_kind(arrival.path.name), arrival.ok)
        last = self._last_seen.get(key)
        self._last_seen[key] = now
        if last is not None and now - last < self.quiet:
            return  # the same stream of profiles: not news
        if arrival.ok:
            self.last_fresh = (time.time(), arrival)
        self._batch.append(arrival)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.batch, self._flush)

    def _flush(self) -> None:
        self._timer = None
        batch, self._batch = self._batch, []
        if batch:
            # the watcher reports one batch of file events in no set order: announce them in
            # the order they were written (a capture round: CPU, then heap)
            ordered = sorted(batch, key=lambda a: (a.mtime, a.path.name))
            self.on_fresh(
                ProfilesArrived(
                    time.time(),
                    tuple(NewProfile(a.path, a.service, a.ok, a.error) for a in ordered),
                )
            )

    def _captured(self, cap: Capture) -> None:
        """Saved captures are announced by the watcher; only without one, from here."""
        if not cap.ok or cap.path is None:
            return
        w = self.watcher
        if w is not None and w.status.state == "listening":
            return
        self._arrived(
            ProfileArrival(
                cap.path, cap.service, "new", True, None, cap.size, cap.started, time.monotonic()
            )
        )
