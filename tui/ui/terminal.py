"""Terminal manners every warroom app shares: quiet by default, colourless under NO_COLOR, and
a clean exit when the terminal goes away.

One call, `prepare_terminal(app)`, at the end of an App's `__init__`:

- `TEXTUAL_ANIMATIONS` unset means no animations: over SSH every animation frame is bytes on
  a slow link, and on a war-room wall it is motion nobody asked for.
- `NO_COLOR` set means no colour at all (https://no-color.org). Textual's own answer for a
  truecolor theme is a greyscale filter that still writes `38;2;r;g;b` sequences, and it
  raises on segments without a style (the flame graph draws some), so the filter is replaced by
  Textual's `NoColor`, which maps every colour to the terminal default and keeps bold/reverse.
- SIGHUP (the SSH link or the terminal window dropped) and SIGTERM end the app through
  `App.exit`, so Textual's driver writes its restore sequences (mouse tracking off, alternate
  screen left, cursor shown) instead of the process dying mid-frame.
- A SIGCONT that comes with a hang-up is ignored. The kernel sends a session leader (warroom
  under `ssh host warroom`, or on its own pty) SIGHUP *and* SIGCONT when its terminal goes;
  Textual's driver answers SIGCONT by restarting application mode on the dead terminal (its
  `isatty` check is false there, so it goes ahead) with a fresh output thread that dies on
  EIO, and the next writes block forever on that thread's full queue: warroom hung on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from types import FrameType
from typing import Any

from textual.app import App
from textual.filter import Monochrome, NoColor

HANGUP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


def require_terminal(instead: str) -> None:
    """A full-screen app into a pipe or a file writes escape codes nobody reads and waits for
    keys that never come (`warroom profile F --format json | jq` hung): refuse, say what to use."""
    try:
        ok = os.isatty(sys.stdout.fileno()) and os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        ok = False
    if not ok:
        from tui.errors import UserError

        raise UserError(
            f"this is a full-screen terminal app and stdin/stdout is not a terminal; {instead}"
        )


def prepare_terminal(app: App[Any]) -> None:
    """Apply warroom's terminal defaults to `app` (call once, from its `__init__`)."""
    if "TEXTUAL_ANIMATIONS" not in os.environ:
        app.animation_level = "none"
    if app.no_color:
        use_plain_no_color(app)
    # Queued before the app runs; handled as the first message once its loop exists.
    app.call_later(install_hangup_handler, app)


def use_plain_no_color(app: App[Any]) -> None:
    """Replace Textual's greyscale NO_COLOR filter with one that writes no colour at all."""
    filters = app._filters  # Textual keeps its line filters here; there is no public setter
    for i, line_filter in enumerate(filters):
        if isinstance(line_filter, Monochrome):
            filters[i] = NoColor()
    if not any(isinstance(f, NoColor) for f in filters):
        filters.append(NoColor())


def install_hangup_handler(app: App[Any]) -> None:
    """SIGHUP and SIGTERM call `app.exit()` on the app's event loop, and the driver's SIGCONT
    handler is skipped once the terminal has hung up (must run inside the app's loop, after
    the driver has started: it wraps the driver's handler)."""
    loop = asyncio.get_running_loop()
    for sig in HANGUP_SIGNALS:
        # add_signal_handler raises NotImplementedError on loops without signal support
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, app.exit)
    with contextlib.suppress(ValueError):  # not the main thread: nothing to wrap
        guard_sigcont(terminal_fd())


def terminal_fd() -> int:
    """The descriptor Textual's Linux driver writes to (stderr, else stdout)."""
    for stream in (sys.__stderr__, sys.__stdout__):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if stream is not None:
                return stream.fileno()
    return 2


def guard_sigcont(fd: int) -> None:
    """Pass SIGCONT on to the current handler only while `fd` is still a live terminal."""
    previous = signal.getsignal(signal.SIGCONT)
    if not callable(previous) or getattr(previous, "_warroom_guard", False):
        return

    def on_sigcont(signum: int, frame: FrameType | None) -> None:
        if not os.isatty(fd):  # hung up: ioctls fail with EIO, so isatty is False
            return
        previous(signum, frame)

    on_sigcont._warroom_guard = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGCONT, on_sigcont)
