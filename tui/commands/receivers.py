"""The headless commands' start of a Hub (`record`, `snapshot`, `--listen`): one place that
fails on a receiver that cannot listen and says where each one listens.

The line `warroom: otlp/http: listening on 127.0.0.1:PORT` goes to stderr as soon as the
receiver is bound, before anything is pushed, so a config with port 0 is usable: a script (or
a test) reads the port the OS gave instead of guessing a free one.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from tui.errors import UserError

if TYPE_CHECKING:
    from tui.sources.hub import Hub


async def start_hub(hub: Hub, *, loops: bool = True) -> None:
    """`hub.start(loops)`; UserError (exit 2) naming a receiver that could not start; then
    one stderr line per receiver that listens."""
    await hub.start(loops=loops)
    for problem in hub.receiver_errors():
        raise UserError(problem)
    for line in hub.listening():
        print(f"warroom: {line}", file=sys.stderr, flush=True)
