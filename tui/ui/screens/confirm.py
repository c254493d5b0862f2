"""ConfirmActionScreen: the last gate before an action runs.

It shows the action, the service and the exact argv or HTTP request (secrets masked), with
Cancel focused so a stray Enter cancels. `confirm: type` actions need the service name typed:
there the name field has the focus from the start (a stray Enter can only say what to type),
so keys typed at once all land in one widget, in order.
Confirmation is debounced: nothing confirms in the first 300 ms, and a confirm key that
arrives within 150 ms of the previous attempt is treated as auto-repeat from a held key and
ignored (terminals send no key-release, so a fresh press is recognised by the gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.core.actions.spec import ResolvedAction

OPEN_DEBOUNCE = 0.3
REPEAT_GAP = 0.15


class ConfirmActionScreen(ModalScreen[bool]):
    """Dismisses with True (run it) or False (cancelled)."""

    DEFAULT_CSS = """
    ConfirmActionScreen { align: center middle; }
    ConfirmActionScreen #dialog {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmActionScreen.-dangerous #dialog { border: thick $error; }
    ConfirmActionScreen #title { text-style: bold; margin-bottom: 1; }
    ConfirmActionScreen #command {
        background: $boost; padding: 0 1; margin-bottom: 1; height: auto;
    }
    ConfirmActionScreen #extra { margin-bottom: 1; height: auto; }
    ConfirmActionScreen #prompt { margin-bottom: 0; height: auto; }
    ConfirmActionScreen #buttons { height: auto; align: right middle; margin-top: 1; }
    ConfirmActionScreen Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
    ]

    def __init__(
        self,
        action: ResolvedAction,
        *,
        extra_lines: Sequence[str] = (),
        debounce: float = OPEN_DEBOUNCE,
        repeat_gap: float = REPEAT_GAP,
        clock: Callable[[], float] = time.monotonic,
        alternative: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        """`alternative`: (button label, what it does) — a second way to answer, e.g. `b`'s
        "use the previous release's baseline"; `p` presses it. It dismisses with False (the
        action itself did not run) after calling its function."""
        super().__init__(classes="-dangerous" if action.dangerous else "")
        self.action_spec = action
        self.extra_lines = list(extra_lines)
        self.alternative = alternative
        self.debounce = debounce
        self.repeat_gap = repeat_gap
        self._clock = clock
        self._opened = clock()
        self._last_attempt: float | None = None
        self._done = False

    @property
    def armed(self) -> bool:
        """The debounce after opening is over: a confirmation now counts."""
        return self._clock() - self._opened >= self.debounce

    @property
    def needs_typing(self) -> bool:
        return self.action_spec.confirm == "type"

    def compose(self) -> ComposeResult:
        a = self.action_spec
        verb = "DANGEROUS: " if a.dangerous else ""
        with Vertical(id="dialog"):
            yield Static(f"{verb}{a.title} {a.service}?", id="title", markup=False)
            if a.description:
                yield Static(a.description, id="description", markup=False)
            yield Static("\n".join(a.command_lines()), id="command", markup=False)
            if self.extra_lines:
                yield Static("\n".join(self.extra_lines), id="extra", markup=False)
            if self.needs_typing:
                yield Static(f"Type {a.service} to confirm:", id="prompt", markup=False)
                yield Input(placeholder="service name", id="typed", select_on_focus=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                if self.alternative is not None:
                    yield Button(self.alternative[0], id="alternative")
                yield Button(
                    f"Run {a.title}",
                    id="confirm",
                    variant="error" if a.dangerous else "primary",
                    disabled=self.needs_typing,
                )

    def on_mount(self) -> None:
        self._opened = self._clock()
        first = "#typed" if self.needs_typing else "#cancel"
        for widget in self.query(first):  # gone if dismissed at once
            self.set_focus(widget)

    # --- confirmation logic --------------------------------------------------------------

    def typed_ok(self) -> bool:
        if not self.needs_typing:
            return True
        return self.query_one("#typed", Input).value == self.action_spec.service

    def attempt_confirm(self) -> bool:
        """Confirm if allowed now; every attempt (even an ignored one) re-arms the repeat gap."""
        now = self._clock()
        previous, self._last_attempt = self._last_attempt, now
        if self._done or not self.typed_ok():
            return False
        if now - self._opened < self.debounce:
            return False
        if previous is not None and now - previous < self.repeat_gap:
            return False  # auto-repeat of a held key
        self._done = True
        self.dismiss(True)
        return True

    def attempt_alternative(self) -> bool:
        """The alternative answer, debounced like a confirmation."""
        now = self._clock()
        previous, self._last_attempt = self._last_attempt, now
        if self._done or self.alternative is None or now - self._opened < self.debounce:
            return False
        if previous is not None and now - previous < self.repeat_gap:
            return False
        self._done = True
        self.alternative[1]()
        self.dismiss(False)
        return True

    def action_cancel(self) -> None:
        if not self._done:
            self._done = True
            self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    @on(Button.Pressed, "#alternative")
    def _alternative_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.attempt_alternative()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.attempt_confirm()

    @on(Input.Changed, "#typed")
    def _typed_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = not self.typed_ok()

    @on(Input.Submitted, "#typed")
    def _typed_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.typed_ok():  # Enter on a wrong name said nothing: say what is expected
            service = self.action_spec.service
            wrong = f"{event.value!r} is not {service!r}: " if event.value else "Nothing typed: "
            self.query_one("#prompt", Static).update(
                f"{wrong}type {service} to confirm, Esc cancels"
            )
            return
        self.attempt_confirm()

    def on_key(self, event: events.Key) -> None:
        """`y`/`n` answer a yes/no dialog; with a name to type, letters go to the input.

        Handled here rather than as bindings so that typing a name containing `n` or `y`
        can never cancel or confirm. A printable key reaching the screen was not the input's
        (it takes every one it gets), so it is inserted even if the focus has moved meanwhile:
        keys already on their way from a button are not lost.
        """
        if not self.needs_typing:
            if event.key in ("y", "n") or (event.key == "p" and self.alternative is not None):
                event.stop()
                if event.key == "y":
                    self.attempt_confirm()
                elif event.key == "p":
                    self.attempt_alternative()
                else:
                    self.action_cancel()
            return
        if not event.is_printable or not event.character:
            return
        typed = self.query_one("#typed", Input)
        event.stop()
        event.prevent_default()
        self.set_focus(typed)  # at once: the next key goes to the input, not via a button
        typed.insert_text_at_cursor(event.character)
