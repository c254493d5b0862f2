"""Waiting in Pilot tests: on a condition, never on the clock.

A fixed `pilot.pause(0.2)` before an assertion passes on an idle laptop and fails on a loaded
CI machine; `until` polls the condition instead and, when it never holds, fails naming what
it waited for. (Outside an app, `tests.terminal_harness.wait_until` does the same.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def until(
    pilot: Any, cond: Callable[[], object], what: str = "the condition", timeout: float = 15.0
) -> None:
    """Let the app run until `cond()` is truthy; AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.02)
