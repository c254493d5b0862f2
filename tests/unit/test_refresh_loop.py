"""`Backoff` and `RefreshLoop` (tui/sources/base.py) on the real asyncio clock.

The tests wait on conditions the loop's body signals, never for a fixed time. Gaps between
runs are only checked from below: a loop must never retry *sooner* than its backoff says.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable

import pytest

from tui.sources.base import Backoff, RefreshLoop, SourceStatus

EARLY = 1e-3  # asyncio may fire a timer up to its clock resolution early


class Recorder:
    """A loop body that records when each run started and can be made to fail or block."""

    def __init__(self, fail: int = 0, look: Callable[[], object] | None = None) -> None:
        self.fail = fail  # raise in the first `fail` runs
        self.look = look  # called as each run starts: what the previous runs left
        self.looked: list[object] = []
        self.starts: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.gate: asyncio.Event | None = None  # when set up: each run waits for it
        self.cancelled = False
        self.changed = asyncio.Event()  # set as each run starts and ends

    async def __call__(self) -> None:
        self.starts.append(time.monotonic())
        if self.look is not None:
            self.looked.append(self.look())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.changed.set()
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)  # a real await, so overlapping runs would show
            if len(self.starts) <= self.fail:
                raise RuntimeError(f"boom {len(self.starts)}")
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.in_flight -= 1
            self.changed.set()

    async def until(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        """Wait until `done()`, looking again each time a run starts or ends."""
        deadline = time.monotonic() + timeout
        while not done():
            self.changed.clear()  # nothing runs between the look and the wait
            await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())


def _started_at_least(body: Recorder, n: int) -> bool:
    return len(body.starts) >= n


def gaps(starts: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(starts)]


# --- Backoff --------------------------------------------------------------------------


def test_backoff_is_the_period_while_nothing_fails() -> None:
    b = Backoff(period=1.0, first=2.0, cap=16.0)
    assert b.delay() == 1.0
    assert b.failed() == 2.0 and b.failures == 1
    b.succeeded()
    assert b.failures == 0 and b.delay() == 1.0


def test_backoff_doubles_from_first_up_to_the_cap() -> None:
    b = Backoff(period=5.0, first=10.0, cap=60.0)
    assert [b.failed() for _ in range(8)] == [10, 20, 40, 60, 60, 60, 60, 60]
    b = Backoff(period=2.0, first=2.0, cap=300.0)  # first retry after one period
    assert [b.failed() for _ in range(3)] == [2.0, 4.0, 8.0]


def test_backoff_never_waits_less_than_the_period() -> None:
    b = Backoff(period=30.0, first=2.0, cap=10.0)  # a cap below the period
    assert [b.failed() for _ in range(5)] == [30.0] * 5


def test_backoff_after_years_of_failures_is_the_cap_not_an_overflow() -> None:
    b = Backoff(period=1.0, first=1.0, cap=300.0, failures=10**6)
    assert b.delay() == 300.0


def test_fixed_backoff_ignores_failures() -> None:
    b = Backoff.fixed(0.5)
    assert [b.failed() for _ in range(4)] == [0.5] * 4


# --- RefreshLoop ----------------------------------------------------------------------


async def test_runs_again_after_each_run_finishes_never_two_at_once() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(0.0))  # period 0: an interval would stack
    loop.start()
    try:
        await body.until(lambda: len(body.starts) >= 20)
    finally:
        await loop.stop()
    assert body.most_in_flight == 1
    assert loop.runs >= 19


async def test_waits_the_period_between_runs() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(0.05))
    loop.start()
    try:
        await body.until(lambda: len(body.starts) >= 4)
    finally:
        await loop.stop()
    assert all(g >= 0.05 - EARLY for g in gaps(body.starts)), gaps(body.starts)


async def test_a_bug_backs_off_says_so_and_the_first_good_run_clears_it() -> None:
    status = SourceStatus("t")
    backoff = Backoff(period=0.01, first=0.04, cap=0.1)
    body = Recorder(fail=3, look=lambda: (backoff.failures, status.detail))
    loop = RefreshLoop("t", body, backoff, status)
    loop.start()
    try:
        await body.until(lambda: len(body.starts) >= 6)
    finally:
        await loop.stop()
    assert body.looked[:5] == [
        (0, ""),
        (1, "internal error: RuntimeError: boom 1"),
        (2, "internal error: RuntimeError: boom 2"),
        (3, "internal error: RuntimeError: boom 3"),
        (0, "internal error: RuntimeError: boom 3"),  # a good run clears the backoff
    ]
    assert status.state == "error" and status.stale_since is not None
    # after 1, 2, 3 failures: 0.04, 0.08, 0.1 (capped); then the period again
    expected = [0.04, 0.08, 0.1, 0.01, 0.01]
    for got, want in zip(gaps(body.starts), expected, strict=False):
        assert got >= want - EARLY, (gaps(body.starts), expected)
    assert backoff.failures == 0


async def test_wait_first_delays_the_first_run() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(0.05), wait_first=True)
    t0 = time.monotonic()
    loop.start()
    try:
        await body.until(lambda: len(body.starts) >= 1)
    finally:
        await loop.stop()
    assert body.starts[0] - t0 >= 0.05 - EARLY


async def test_wake_runs_early_but_not_sooner_than_min_interval() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(3600.0), min_interval=0.05)
    loop.start()
    try:
        await body.until(lambda: len(body.starts) >= 1)
        for n in (2, 3):
            loop.wake()
            await body.until(functools.partial(_started_at_least, body, n))
    finally:
        await loop.stop()
    assert all(g >= 0.05 - EARLY for g in gaps(body.starts)), gaps(body.starts)


async def test_wake_does_not_cut_a_backoff_short() -> None:
    body = Recorder(fail=1)
    loop = RefreshLoop("t", body, Backoff(period=0.05, first=0.3, cap=0.3))

    async def keep_waking() -> None:
        while True:
            loop.wake()
            await asyncio.sleep(0.01)

    loop.start()
    waker = asyncio.create_task(keep_waking())
    try:
        await body.until(lambda: len(body.starts) >= 2)
    finally:
        waker.cancel()
        await loop.stop()
    assert gaps(body.starts)[0] >= 0.3 - EARLY


async def test_stop_cancels_a_run_in_flight_and_is_idempotent() -> None:
    body = Recorder()
    body.gate = asyncio.Event()  # never set: the run blocks until cancelled
    loop = RefreshLoop("t", body, Backoff.fixed(1.0))
    loop.start()
    await body.until(lambda: body.in_flight == 1)
    assert loop.running
    await loop.stop()
    assert body.cancelled and body.in_flight == 0 and not loop.running
    await loop.stop()  # nothing left to stop
    assert loop.runs == 1


async def test_run_inside_a_task_of_the_callers_own() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(0.0))
    worker = asyncio.create_task(loop.run())
    await body.until(lambda: len(body.starts) >= 3)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert body.most_in_flight == 1


async def test_stop_right_as_a_wake_up_lands_still_stops() -> None:
    body = Recorder()
    loop = RefreshLoop("t", body, Backoff.fixed(3600.0))
    for _ in range(20):
        loop.start()
        # the body has returned, so the loop has gone on to wait for its period
        await body.until(lambda: body.in_flight == 0 and len(body.starts) == 1)
        loop.wake()
        await asyncio.wait_for(loop.stop(), 10)
        assert not loop.running
        body.starts.clear()
