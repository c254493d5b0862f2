"""What every source shares: a status the UI shows, and one refresh loop re-armed after it ends.

Sources are plain asyncio objects; they know nothing of Textual. The UI runs them in workers
and reads `status`; `warroom record` runs them headless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

State = Literal["starting", "up", "listening", "stale", "down", "error"]


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
