"""Deterministic dashboard data: a MetricStore filled from a seeded generator, a fixed clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from tui.config import Config, Duration, Latency, ServiceConfig, SLOConfig
from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.ui.app import WarroomApp

NOW = 1_767_000_000.0  # fixed clock for every UI test


def demo_config(theme: str = "warroom") -> Config:
    return Config(
        refresh=Duration(1),
        theme=theme,
        services=[
            ServiceConfig(name="checkout", slo=SLOConfig(p99=Latency(0.3), error_ratio=0.01)),
            ServiceConfig(name="payments", slo=SLOConfig(p99=Latency(0.2))),
            ServiceConfig(name="search", slo=SLOConfig(p99=Latency(0.5))),
            ServiceConfig(name="ledger"),  # configured, never reported: "no data"
        ],
    )


def filled_store(extra: int = 6) -> MetricStore:
    """checkout breaches its SLO after a spike, auth is saturated, legacy went stale."""
    store = MetricStore()
    rng = np.random.default_rng(7)
    names = ["checkout", "payments", "search", "auth", "legacy"] + [
        f"svc-{i:02d}" for i in range(extra)
    ]
    for k, name in enumerate(names):
        end = NOW - 300 if name == "legacy" else NOW
        for t in np.arange(NOW - 900, end, 5.0):
            v = (0.04 + 0.015 * k) * float(np.exp(rng.normal(0, 0.12)))
            if name == "checkout" and NOW - t < 60:
                v *= 9
            flags = FLAG_SATURATED if name == "auth" and NOW - t < 30 else 0
            if flags:
                v = 2.5
            store.add(name, "p99", t, v, flags)
            store.add(name, "p95", t, v * 0.7)
            store.add(name, "p50", t, v * 0.3)
            store.add(name, "qps", t, 40.0 + 7 * k)
            store.add(name, "error_ratio", t, 0.02 if name == "checkout" else 0.001 * k)
    return store


def make_app(theme: str = "warroom", store: MetricStore | None = None) -> WarroomApp:
    return WarroomApp(demo_config(theme), store=store or filled_store(), clock=lambda: NOW)


async def wait_for_panes(app: WarroomApp, pilot: object) -> None:
    """The detail panes are added after the first frame; wait for them."""
    for _ in range(100):
        if app.panes_ready:
            break
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    assert app.panes_ready
    await pilot.pause()  # type: ignore[attr-defined]


async def until(pilot: object, cond: Callable[[], object], what: str, timeout: float = 15) -> None:
    """Wait on a condition (a worker's result, a toast), with a generous deadline."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def delivered(app: WarroomApp) -> None:
    """Every message posted to the app so far has been handled: the sources' events reach
    the app as messages, and a callback queued behind them runs after them (one loop turn
    first: a post from another thread is queued by a callback the loop has yet to run)."""
    await asyncio.sleep(0)
    done = asyncio.Event()
    app.call_later(done.set)
    await asyncio.wait_for(done.wait(), timeout=15)
