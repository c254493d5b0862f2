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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from textual.app import App
from textual.filter import Monochrome, NoColor

HANGUP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


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
    """SIGHUP and SIGTERM call `app.exit()` on the app's event loop (must run inside it)."""
    loop = asyncio.get_running_loop()
    for sig in HANGUP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, app.exit)
