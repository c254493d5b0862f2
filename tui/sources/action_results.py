"""What an action run hands back: its output lines and its result (tui.sources.actions runs it).

Its own module so the runner (actions.py) and the webhook call (webhook.py) share the types
without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "failed", "timeout", "refused", "busy", "cancelled", "error"]


@dataclass(frozen=True)
class ActionOutput:
    """One line for the action-log pane; stream is stdout, stderr or info (our own notes)."""

    action: str
    service: str
    stream: Literal["stdout", "stderr", "info"]
    text: str


@dataclass
class ActionResult:
    action: str
    service: str
    status: Status
    message: str
    exit_code: int | None = None
    http_status: int | None = None
    duration: float = 0.0
    output_tail: list[str] = field(default_factory=list)
    body_excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


OutputCallback = Callable[[ActionOutput], None]
