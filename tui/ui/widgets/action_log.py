"""ActionLog: the pane where a running action's output streams, then its outcome.

Output comes from ActionRunner's `on_output` callback (same event loop, no threads). Process
output is untrusted text: escape sequences and control characters are stripped before it is
shown, and nothing is parsed as markup.
"""

from __future__ import annotations

import re
import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from tui.core.actions.spec import ResolvedAction
from tui.sources.actions import ActionOutput, ActionResult

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_LINES = 2000


def clean(text: str) -> str:
    """Drop terminal escape sequences and control characters from process output."""
    return _CONTROL.sub("", _ANSI.sub("", text)).replace("\t", "    ")


class ActionLog(Vertical):
    """Status line on top (running / exit status and duration), output lines below."""

    DEFAULT_CSS = """
    ActionLog { height: 12; border-top: solid $primary; }
    ActionLog #action-status { height: 1; text-style: bold; padding: 0 1; }
    ActionLog #action-status.-ok { color: $success; }
    ActionLog #action-status.-bad { color: $error; }
    ActionLog Log { height: 1fr; }
    """

    def __init__(
        self,
        *,
        max_lines: int = MAX_LINES,
        id: str | None = "action-log",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.max_lines = max_lines
        self.status_text = "no action run yet"
        self.last_result: ActionResult | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.status_text, id="action-status", markup=False)
        yield Log(max_lines=self.max_lines, id="action-output")

    @property
    def lines(self) -> list[str]:
        return list(self.query_one("#action-output", Log).lines)

    def _status(self, text: str, outcome: str | None = None) -> None:
        self.status_text = text
        status = self.query_one("#action-status", Static)
        status.update(text)
        status.set_class(outcome == "ok", "-ok")
        status.set_class(outcome == "bad", "-bad")

    def begin(self, action: ResolvedAction) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.query_one("#action-output", Log).write_line(
            f"── {stamp} {action.title} {action.service} ──"
        )
        self._status(f"running: {action.title} {action.service}")

    def write_output(self, out: ActionOutput) -> None:
        """The runner's on_output callback."""
        prefix = {"stdout": "", "stderr": "! ", "info": "» "}[out.stream]
        self.query_one("#action-output", Log).write_line(prefix + clean(out.text))

    def show_result(self, res: ActionResult) -> None:
        self.last_result = res
        parts = [f"{res.action.replace('_', ' ')} {res.service}: {res.status}"]
        if res.exit_code is not None:
            parts.append(f"exit {res.exit_code}")
        if res.http_status is not None:
            parts.append(f"HTTP {res.http_status}")
        if res.duration:
            parts.append(f"{res.duration:.1f}s")
        text = ", ".join(parts)
        if res.status in ("refused", "busy", "cancelled"):
            text += f" — {res.message}"
        self._status(text, "ok" if res.ok else "bad")
