"""The configured `window` is shown as configured, and stays one of the zoom levels."""

from __future__ import annotations

from tui.config import Duration
from tui.ui.app import WarroomApp

from .dashboard_data import NOW, demo_config, filled_store


async def test_configured_window_is_its_own_zoom_level() -> None:
    cfg = demo_config()
    cfg.window = Duration(1800)
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.window == 1800
        assert "P99 · 30m" in _text(app)
        await pilot.press("minus")  # zoom out: the next level above 30m
        assert app.window == 3600
        await pilot.press("plus")  # and back to the configured one
        assert app.window == 1800
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Zoom: 30m window" in titles and "Zoom: 6h window" in titles


async def test_window_beyond_the_store_is_the_widest_zoom() -> None:
    cfg = demo_config()
    cfg.window = Duration(86_400)  # the store keeps 6 h
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.window == 21_600 and "P99 · 6h" in _text(app)


def _text(app: WarroomApp) -> str:
    """What the terminal shows, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
