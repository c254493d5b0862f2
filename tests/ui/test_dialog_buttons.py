"""Every dialog puts its buttons the same way: Cancel first, the action last, at the right."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import Button

from tests.ui.test_confirm import CFG
from tui.core.actions import resolve_action
from tui.sources.alertmanager import Alert, Silence
from tui.ui.screens.confirm import ConfirmActionScreen
from tui.ui.screens.silence import ExpireSilenceScreen, SilenceScreen

ALERT = Alert("f1", {"alertname": "HighP99", "service": "payments"}, {}, "active", None)
SILENCE = Silence(
    "0123456789ab",
    ({"name": "service", "value": "payments", "isEqual": True, "isRegex": False},),
    "active",
    None,
    None,
    "carol@wall",
    "deploy",
)


def dialogs() -> list[tuple[str, ModalScreen[Any], str]]:
    return [
        (
            "confirm",
            ConfirmActionScreen(resolve_action(CFG, "payments", "rollback")),
            "Run rollback",
        ),
        ("silence", SilenceScreen(ALERT, created_by="carol@wall"), "Silence"),
        ("expire", ExpireSilenceScreen(SILENCE, who="carol@wall"), "Expire"),
    ]


@pytest.mark.parametrize("index", range(3), ids=[d[0] for d in dialogs()])
async def test_cancel_first_then_the_action(index: int) -> None:
    _, screen, action = dialogs()[index]

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        assert [str(b.label) for b in buttons] == ["Cancel", action]
        assert buttons[0].region.x < buttons[1].region.x  # drawn in that order, left to right
