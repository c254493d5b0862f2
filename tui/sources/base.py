"""What every source shares: a status the UI shows, one backoff formula, one refresh loop.

Sources are plain asyncio objects; they know nothing of Textual. The UI runs them in workers
and reads `status`; `warroom record` runs them headless.

- `SourceStatus`: one status-bar entry (state, detail, since when stale, counters).
- `Backoff`: seconds until the next attempt — the period while things work, a capped
  exponential delay after consecutive failures. The source counts its own failures on it.
- `RefreshLoop`: runs a coroutine, then waits `backoff.delay()` and runs it again. The wait
  starts when a run *finishes* (a one-shot re-arm, never an interval), so a slow server
  never has two of our requests in flight. A bug in the coroutine is logged, counted as a
  failure and shown in `status`; it never ends the loop. `stop()` cancels it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["starting", "up", "listening", "stale", "down", "error"]

log = logging.getLogger(__name__)


@dataclass
class SourceStatus:
    name: str  # e.g. "prometheus", "otlp/http", "alertmanager"
    state: State = "starting"
    detail: str = ""  # one line for the status bar: "127.0.0.1:4318", "HTTP 503", warnings
    last_ok: float | None = None  # unix time of the last good answer
    latency: float | None = None  # seconds taken by the last query
    stale_since: float | None = None  # unix time since which answers failed
    counters: dict[str, float] = field(default_factory=dict)  # points_per_s, rejected, ...

    def ok(self, state: State = "up", detail: str = "", latency: float | None = None) -> None:
        self.state, self.detail, self.latency = state, detail, latency
        self.last_ok = time.time()
        self.stale_since = None

    def failed(self, detail: str, state: State = "down") -> None:
        self.state, self.detail = state, detail
        if self.stale_since is None:
            self.stale_since = time.time()


MAX_DOUBLINGS = 30  # 2**30 periods is decades: past it the cap rules, and floats never overflow


@dataclass
class Backoff:
    """`delay()`: `period` while nothing fails; after n consecutive failures
    `first * 2**(n-1)`, never more than `cap` and never less than `period`.

    `failed()` after each failed attempt, `succeeded()` after a good one (it clears the
    backoff at once, no restart). `Backoff.fixed(p)` always waits `p` (a schedule that must
    not slow down, e.g. profile captures every few minutes).
    """

    period: float
    first: float  # the delay after the first failure
    cap: float
    failures: int = 0  # consecutive failed attempts

    @classmethod
    def fixed(cls, period: float) -> Backoff:
        return cls(period, period, period)

    def delay(self) -> float:
        if self.failures <= 0:
            return float(self.period)
        grown = self.first * 2.0 ** min(self.failures - 1, MAX_DOUBLINGS)
        return float(max(self.period, min(grown, self.cap)))

    def failed(self) -> float:
        """Count a failure; returns the delay until the next attempt."""
        self.failures += 1
        return self.delay()

    def succeeded(self) -> None:
        self.failures = 0


class RefreshLoop:
    """Run `body()` now (or after one delay with `wait_first`), then again `backoff.delay()`
    seconds after each run ends, until `stop()`.

    `body` reports its own faults on `backoff` (and its status); an exception out of it is a
    bug: logged, `backoff.failed()`, and `status.failed("internal error: ...", "error")` when
    a status is given. The next run that returns without counting a failure itself clears
    that (the source's own `status.ok` says it is up again). `wake()` runs the body early — at most once per `min_interval` seconds
    after the previous run started, and never while backing off from a failure. Use `start()`
    for a task of its own, or `await run()` inside a worker that already is one.
    """

    def __init__(
        self,
        name: str,
        body: Callable[[], Awaitable[object]],
        backoff: Backoff,
        status: SourceStatus | None = None,
        *,
        wait_first: bool = False,
        min_interval: float = 0.0,
    ) -> None:
        self.name = name
        self.body = body
        self.backoff = backoff
        self.status = status
        self.wait_first = wait_first
        self.min_interval = min_interval
        self.runs = 0  # bodies finished, ok or not
        self._bug = False  # the last run raised (its failure was counted here)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the loop in its own task (once; a second call does nothing)."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop, a run in flight included, and wait until it has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Run the body early (see the class docstring for the limits)."""
        self._wake.set()

    async def run(self) -> None:
        """The loop itself; returns only by cancellation."""
        if self.wait_first:
            await asyncio.sleep(self.backoff.delay())
        while True:
            started = time.monotonic()
            self._wake.clear()  # a wake-up during the run asks for one more run
            await self._run_once()
            delay = self.backoff.delay()
            if self.backoff.failures:
                await asyncio.sleep(delay)
                continue
            # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancel that lands
            # as the wake-up does, and stop() would then wait forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            rest = min(self.min_interval, delay) - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    async def _run_once(self) -> None:
        before = self.backoff.failures
        try:
            await self.body()
        except Exception as exc:  # a bug must not end the loop silently
            log.exception("%s refresh failed", self.name)
            self.backoff.failed()
            self._bug = True
            if self.status is not None:
                self.status.failed(f"internal error: {type(exc).__name__}: {exc}", "error")
        else:
            if self._bug and self.backoff.failures == before:
                self.backoff.succeeded()  # the body counted nothing itself: the bug is over
            self._bug = False
        finally:
            self.runs += 1
