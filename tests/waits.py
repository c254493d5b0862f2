"""Waiting in tests: on a condition, never on the clock.

A fixed `pilot.pause(0.2)` or `asyncio.sleep(0.5)` before an assertion passes on an idle
laptop and fails on a loaded CI machine; these poll the condition instead and, when it never
holds, fail naming what they waited for. `until` runs a Textual app (Pilot) between looks,
`eventually` any asyncio code. (Outside an event loop, `tests.terminal_harness.wait_until`
does the same.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from tui.ui.screens.confirm import ConfirmActionScreen


async def until(
    pilot: Pilot[Any],
    cond: Callable[[], object],
    what: str = "the condition",
    timeout: float = 15.0,
) -> None:
    """Let the app run until `cond()` is truthy; AssertionError after `timeout` seconds."""
    await _poll(cond, what, timeout, lambda: pilot.pause(0.02))


async def eventually(
    cond: Callable[[], object], what: str = "the condition", timeout: float = 15.0
) -> None:
    """Let the event loop run until `cond()` is truthy; AssertionError after `timeout` s."""
    await _poll(cond, what, timeout, lambda: asyncio.sleep(0.02))


async def _poll(
    cond: Callable[[], object],
    what: str,
    timeout: float,
    step: Callable[[], Awaitable[object]],
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await step()


async def armed_dialog(pilot: Pilot[Any], timeout: float = 15.0) -> ConfirmActionScreen:
    """The confirmation dialog on top, past its opening debounce: a key pressed now counts
    (instead of a pause that outlasts the debounce on an idle machine only)."""
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, ConfirmActionScreen) and pilot.app.screen.armed,
        "the confirmation dialog, past its debounce",
        timeout,
    )
    dialog = pilot.app.screen
    assert isinstance(dialog, ConfirmActionScreen)
    return dialog
