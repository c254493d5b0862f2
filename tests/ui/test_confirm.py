"""ConfirmActionScreen on its own: what it shows, focus, debounce, typed confirmation."""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.widgets import Button, Input, Static

from tui.config import parse_config
from tui.core.actions import resolve_action
from tui.ui.screens.confirm import ConfirmActionScreen

CFG = parse_config(
    """
actions:
  rollback:
    exec: [kubectl, rollout, undo, "deployment/{service}", -n, "{namespace}", "--token=s3cret"]
  deploy_hook:
    key: d
    http:
      url: "https://ci.example/trigger?token=abc12345&ref=main"
      headers: {Authorization: "Bearer zzz999", X-Service: "{service}"}
      json: {service: "{service}", api_key: k123456}
services:
  - name: payments
    namespace: pay
"""
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Host(App[None]):
    def __init__(self, screen: ConfirmActionScreen) -> None:
        super().__init__()
        self.dialog = screen
        self.answers: list[bool | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.answers.append)


def _text(screen, sel):
    return str(screen.query_one(sel, Static).render())


async def test_shows_exact_redacted_command_and_focuses_the_name() -> None:
    a = resolve_action(CFG, "payments", "rollback")
    app = Host(ConfirmActionScreen(a, extra_lines=["replaces baseline v1 (2026-01-01)"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        s = app.screen
        assert _text(s, "#command") == (
            "kubectl rollout undo deployment/payments -n pay '--token=***'"
        )
        assert _text(s, "#title") == "DANGEROUS: rollback payments?"
        assert _text(s, "#prompt") == "Type payments to confirm:"
        assert _text(s, "#extra") == "replaces baseline v1 (2026-01-01)"
        assert app.focused is s.query_one("#typed", Input)  # a name to type: its field
        assert s.query_one("#confirm", Button).disabled
        assert s.has_class("-dangerous")


async def test_yes_no_dialog_focuses_cancel() -> None:
    app = Host(ConfirmActionScreen(resolve_action(CFG, "payments", "deploy_hook")))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.focused is app.screen.query_one("#cancel", Button)


async def test_keys_in_flight_from_a_button_are_not_lost() -> None:
    """Letters typed on a button go to the name: also those the app forwarded to the button
    before the first letter moved the focus, which reach the screen after it moved."""
    clock = Clock()
    screen = ConfirmActionScreen(resolve_action(CFG, "payments", "rollback"), clock=clock)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        cancel = screen.query_one("#cancel", Button)
        screen.set_focus(cancel)  # the user tabbed to Cancel
        await pilot.pause()
        cancel.post_message(events.Key("p", "p"))
        await pilot.pause()  # the first letter moved the focus to the name
        for ch in "ayments":  # forwarded to the button before that, delivered after
            cancel.post_message(events.Key(ch, ch))
        await pilot.pause()
        assert screen.query_one("#typed", Input).value == "payments"
        assert app.focused is screen.query_one("#typed", Input)
        clock.t += 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [True]


async def test_http_request_shown_redacted() -> None:
    a = resolve_action(CFG, "payments", "deploy_hook")
    app = Host(ConfirmActionScreen(a))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        cmd = _text(app.screen, "#command")
        assert cmd.splitlines() == [
            "POST https://ci.example/trigger?token=***&ref=main",
            "Authorization: Bearer ***",
            "X-Service: payments",
            '{"api_key": "***", "service": "payments"}',
        ]


async def test_debounce_open_and_held_key() -> None:
    clock = Clock()
    a = resolve_action(CFG, "payments", "deploy_hook")  # confirm: yes
    screen = ConfirmActionScreen(a, clock=clock)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # within 300 ms of opening: ignored
        clock.t += 0.1
        await pilot.press("y")
        assert app.answers == []
        # a held key: attempts keep arriving 30 ms apart, well past the open debounce
        for _ in range(20):
            clock.t += 0.03
            await pilot.press("y")
        assert app.answers == [] and app.screen is screen
        # released, then a fresh press after a gap: accepted
        clock.t += 0.5
        await pilot.press("y")
        await pilot.pause()
        assert app.answers == [True]


async def test_enter_on_confirm_button_also_debounced() -> None:
    clock = Clock()
    a = resolve_action(CFG, "payments", "deploy_hook")
    screen = ConfirmActionScreen(a, clock=clock)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen.query_one("#confirm", Button).focus()
        await pilot.press("enter")  # at t+0: too soon
        assert app.answers == []
        clock.t += 1.0
        await pilot.pause(0.25)  # Button itself ignores presses during its 0.2 s active effect
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [True]


async def test_n_cancels_yes_dialog() -> None:
    a = resolve_action(CFG, "payments", "deploy_hook")
    app = Host(ConfirmActionScreen(a))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert app.answers == [False]


async def test_typing_name_with_n_and_y_never_answers() -> None:
    clock = Clock()
    a = resolve_action(CFG, "payments", "rollback")
    screen = ConfirmActionScreen(a, clock=clock)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        clock.t += 1
        await pilot.press("y", "n", "backspace", "backspace")
        assert app.answers == [] and screen.query_one("#typed", Input).value == ""
        await pilot.press(*"payments")
        assert not screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [True]


async def test_escape_cancels_and_only_one_answer() -> None:
    a = resolve_action(CFG, "payments", "rollback")
    app = Host(ConfirmActionScreen(a))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape", "escape", "enter")
        await pilot.pause()
        assert app.answers == [False]
