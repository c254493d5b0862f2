"""Pilot tests of the dashboard: keys drive it, assertions read what it draws."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from tests.waits import until
from tui.core.events import event_from_record
from tui.core.metrics.store import MetricStore
from tui.core.stats.spikes import SpikeEvent
from tui.core.units import latency as format_latency
from tui.errors import UserError
from tui.ui.app import WarroomApp
from tui.ui.screens.help import HelpScreen
from tui.ui.theme import ThemeError, load_theme_file, load_themes
from tui.ui.widgets.service_table import ServiceTable
from tui.ui.widgets.status_bar import StatusBar

from .dashboard_data import NOW, demo_config, filled_store, make_app, redraw_done


def screen_text(app: WarroomApp) -> str:
    """What the terminal shows, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_rows_values_and_states_are_drawn() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        lines = {ln.split()[0].lstrip("›"): ln for ln in text.splitlines()[1:12] if ln.strip()}
        assert "SLO" in lines["checkout"]
        assert "≥ 2.5s" in lines["auth"]
        assert "no data" in lines["ledger"]
        assert "stale" in lines["legacy"]
        assert "P99 · 15m" in text
        assert "dropped 0 series" in text


async def test_navigation_moves_the_selection() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServiceTable)
        assert table.selected == "checkout"
        await pilot.press("down", "j")
        assert table.selected == "search"
        await pilot.press("k")
        assert table.selected == "payments"
        await pilot.press("end")
        assert table.selected == table.rows[-1].name
        # the cursor row stays visible when the list is longer than the screen
        assert table.top <= table.cursor < table.top + table._visible_rows()
        assert f"›{table.selected}" in screen_text(app)
        await pilot.press("home")
        assert table.selected == "checkout" and table.top == 0


async def test_zoom_and_signal_switch() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("minus")
        assert app.window == 3600 and "P99 · 1h" in screen_text(app)
        await pilot.press("minus", "minus")
        assert app.window == 21600
        await pilot.press("plus", "plus", "plus", "plus")
        assert app.window == 300 and "P99 · 5m" in screen_text(app)
        await pilot.press("1")
        assert app.signal == "p50" and "P50 · 5m" in screen_text(app)
        await pilot.press("s")
        assert app.signal == "p95"
        await pilot.press("w")
        assert app.window == 900


async def test_pause_freezes_the_table() -> None:
    store = filled_store()
    app = WarroomApp(demo_config(), store=store, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        assert app.paused and "PAUSED" in screen_text(app)
        before = screen_text(app)
        store.add("checkout", "p99", NOW, 9.0)
        store.add("brand-new", "p99", NOW, 0.1)
        app.notify_store_updated()
        await redraw_done(app, pilot)
        assert "brand-new" not in screen_text(app)
        assert screen_text(app) == before
        await pilot.press("p")
        await until(pilot, lambda: "brand-new" in screen_text(app), "the table after the pause")
        assert not app.paused and "brand-new" in screen_text(app)
        assert "9s" in screen_text(app)


async def test_no_redraw_under_a_modal() -> None:
    store = filled_store()
    app = WarroomApp(demo_config(), store=store, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        redraws = app.redraws
        store.add("checkout", "p99", NOW, 9.0)
        app.notify_store_updated()
        await redraw_done(app, pilot)
        assert app.redraws == redraws
        await pilot.press("escape")
        await until(pilot, lambda: app.redraws > redraws, "a redraw after the modal")
        assert app.redraws > redraws


async def test_theme_cycle_and_row_height() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        seen = [app.theme]
        for _ in range(4):
            await pilot.press("t")
            seen.append(app.theme)
            if app.theme == "wall":
                assert app.screen.query_one(ServiceTable).row_height == 2
        assert seen == ["warroom", "bastion", "wall", "paper", "warroom"]
        assert app.screen.query_one(ServiceTable).row_height == 1


async def test_wall_theme_from_the_start_draws_two_line_rows() -> None:
    app = make_app("wall")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert app.screen.query_one(ServiceTable).row_height == 2
        # the name sits on the second line of its row; the first holds the sparkline's top
        assert lines[2].startswith("›checkout") and lines[4].startswith(" payments")


async def test_help_lists_every_binding() -> None:
    app = make_app()
    async with app.run_test(size=(120, 48)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        described = {desc for _, desc in help_screen.rows}
        for binding in [*WarroomApp.BINDINGS, *ServiceTable.BINDINGS]:
            assert binding.description in described, binding  # type: ignore[union-attr]
        drawn = screen_text(app)
        assert "warroom keys" in drawn and "Zoom out" in drawn and "First service" in drawn
        keys = " ".join(k for k, _ in help_screen.rows)
        for key in ("q", "?", "p", "+", "-", "t", "f", "d", "↑", "j"):
            assert key in keys.split() or key in keys


async def test_command_palette_has_theme_zoom_and_pause() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Theme: bastion", "Zoom: 1h window", "Pause", "Signal: P95"):
            assert title in titles
        titles["Zoom: 1h window"].callback()
        titles["Theme: paper"].callback()
        await pilot.pause()
        assert app.window == 3600 and app.theme == "paper"
        titles["Pause"].callback()
        assert app.paused


async def test_status_bar_shows_sources() -> None:
    from tui.sources.base import SourceStatus

    app = make_app()
    prom = SourceStatus("prometheus")
    prom.ok(latency=0.012)
    otlp = SourceStatus(
        "otlp/http", "listening", "127.0.0.1:4318", counters={"points_per_s": 35.0, "rejected": 2.0}
    )
    app.extra_statuses = [prom, otlp]
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        text = "".join(ch for ch, _ in bar._lines[0])
        assert "prometheus up 12ms" in text
        assert "otlp/http 127.0.0.1:4318 35pt/s 2 rejected" in text
        prom.failed("HTTP 503")
        app.redraw_now()
        text = "".join(ch for ch, _ in bar._lines[0])
        assert "prometheus down (HTTP 503) stale since" in text


async def test_quit_key_exits() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


def test_unknown_theme_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"unknown theme 'neon'.*warroom, bastion, wall, paper"):
        WarroomApp(demo_config(theme="neon"), store=MetricStore())


def test_themes_load_and_bastion_is_ansi_only() -> None:
    themes = load_themes()
    assert list(themes)[:4] == ["warroom", "bastion", "wall", "paper"]
    bastion = themes["bastion"]
    assert bastion.ansi
    colors = [
        bastion.primary,
        bastion.secondary,
        bastion.error,
        bastion.warning,
        bastion.success,
        bastion.foreground,
        bastion.background,
    ]
    colors += [
        v
        for k, v in bastion.variables.items()
        if k not in ("spark-height", "input-cursor-text-style")
    ]
    assert all(c is not None and c.startswith("ansi_") for c in colors)
    assert not themes["paper"].dark
    assert themes["wall"].variables["spark-height"] == "2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nprimry: '#fff'\n", "primry: unknown theme key"),
        ("name: x\nprimary: '#ggg'\n", "primary: '#ggg' is not a colour"),
        ("name: x\nansi: true\nprimary: '#ffffff'\n", "ansi theme takes ansi_\\* colours only"),
        ("primary: '#ffffff'\n", "name: required"),
        ("name: [x\n", "not valid YAML"),
    ],
)
def test_bad_theme_files_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ThemeError, match=message) as info:
        load_theme_file(path)
    assert str(path) in str(info.value)


def test_no_color_strips_every_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: Textual's NoColor filter (terminal default colours, bold/reverse kept), not
    its grey Monochrome one, which draws the ANSI theme black on black."""
    from rich.segment import Segment
    from rich.style import Style
    from textual.color import Color
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    for theme in ("bastion", "warroom"):
        app = WarroomApp(demo_config(theme), store=MetricStore())
        assert any(isinstance(f, NoColor) for f in app._filters)
        assert not any(isinstance(f, Monochrome) for f in app._filters)
        styled = [Segment("x", Style(color="red", bgcolor="blue", bold=True))]
        for f in app._filters:
            styled = f.apply(styled, Color(0, 0, 0))
        style = styled[0].style
        assert style is not None and style.bold
        assert style.color is not None and style.color.is_default
        assert style.bgcolor is not None and style.bgcolor.is_default


def _glitch(service: str, t: float) -> dict[str, object]:
    return {
        "t": t,
        "type": "spike",
        "service": service,
        "signal": "p99",
        "state": "GLITCH",
        "value": 0.9,
        "baseline": 0.1,
    }


def _row_block(lines: list[str], name: str) -> list[str]:
    """The screen lines of one service's row: its line and, if there, the marker line."""
    i = next(k for k, ln in enumerate(lines) if ln.lstrip(" ›").startswith(name + " "))
    block = [lines[i]]
    if i + 1 < len(lines) and lines[i + 1].strip().strip("▲") == "" and "▲" in lines[i + 1]:
        block.append(lines[i + 1])
    return block


async def test_spike_marker_row_only_under_a_service_with_a_spike_in_view() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        before = screen_text(app).splitlines()
        assert "▲" not in "\n".join(before)
        app.on_source_event(event_from_record(_glitch("checkout", NOW - 40)))
        # outside the 15m window
        app.on_source_event(event_from_record(_glitch("payments", NOW - 2000)))
        app.redraw_now()
        await pilot.pause()
        lines = screen_text(app).splitlines()
        checkout = _row_block(lines, "checkout")
        assert len(checkout) == 2, checkout
        table = app.screen.query_one(ServiceTable)
        name_w, spark_w = table._layout()
        # the ▲ sits under the one marked cell, and that cell is drawn in the spike colour
        marks = [x for x, ch in enumerate(checkout[1]) if ch == "▲"]
        assert len(marks) == 1 and name_w + 2 <= marks[0] < name_w + 2 + spark_w
        keys = [k for sl in table._slices for k in (c[1] for c in sl._lines[1])]
        assert "spike+c" in keys  # the cursor row's marked cell
        assert len(_row_block(lines, "payments")) == 1
        # every row below moved down by exactly the one marker line
        assert lines.index(_row_block(lines, "search")[0]) == 4
        assert before.index(_row_block(before, "search")[0]) == 3
        # once the spike has left the window, the row is one line again
        await pilot.press("plus")  # 5m window: NOW - 40 still in view
        assert len(_row_block(screen_text(app).splitlines(), "checkout")) == 2
        app.spike_history.forget_times("checkout")
        app.on_source_event(event_from_record(_glitch("checkout", NOW - 600)))  # in 15m, not in 5m
        app.redraw_now()
        await pilot.pause()
        assert "▲" not in screen_text(app)


async def test_a_recovery_is_listed_but_marks_no_cell() -> None:
    """RECOVERED is the value coming back: the events pane lists it, the sparkline keeps the
    spike colour and the ▲ for the spikes themselves."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        recovered = {**_glitch("checkout", NOW - 40), "state": "RECOVERED", "value": 0.1}
        app.on_source_event(event_from_record(recovered))
        app.redraw_now()
        await pilot.pause()
        assert "▲" not in screen_text(app)
        (event,) = app.spike_history.events
        assert isinstance(event, SpikeEvent) and event.to_record() == recovered


async def test_marker_rows_keep_the_cursor_on_screen_when_scrolling() -> None:
    """At 80x24 the list is longer than the screen; marker rows change how many fit, and the
    cursor row (with its marker line) must stay whole on screen at both ends."""
    store = filled_store(extra=40)
    app = WarroomApp(demo_config(), store=store, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServiceTable)
        plain = table._visible_rows()
        names = [r.name for r in table.rows]
        for name in names[-6:] + names[:3]:
            app.on_source_event(event_from_record(_glitch(name, NOW - 30)))
        app.redraw_now()
        await pilot.pause()
        assert table._visible_rows() < plain
        await pilot.press("end")
        text = screen_text(app)
        lines = text.splitlines()
        assert table.selected == names[-1] and f"›{names[-1]}" in text
        last = _row_block(lines, names[-1])
        assert len(last) == 2  # its marker line is on screen too, not cut off
        assert table.top <= table.cursor < table.top + table._visible_rows()
        # the table fills the screen down to the last row (no gap left by the clamp)
        bottom = lines.index(last[0]) + 1  # marker lines look alike: find the row's own
        assert bottom == table.region.bottom - 1
        for _ in range(len(names)):
            await pilot.press("up")
            assert table.top <= table.cursor < table.top + table._visible_rows()
            assert f"›{table.selected} " in screen_text(app)
        assert table.top == 0 and table.selected == names[0]
        # a click on a marker line selects that line's service
        first = _row_block(screen_text(app).splitlines(), names[1])
        y = screen_text(app).splitlines().index(first[0])
        await pilot.click(ServiceTable, offset=(2, y - table.region.y + 1))
        assert table.selected == names[1]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_longest_state_is_not_truncated(size: tuple[int, int]) -> None:
    """WARMING UP is the widest state (10 cells): the last cell of a row must not cut it."""
    from dataclasses import replace

    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("p")  # paused: the 1 s redraw must not put the real states back
        assert app.paused
        table = app.screen.query_one(ServiceTable)
        rows = [replace(r, state="WARMING UP") for r in table.rows]
        table.set_rows(rows, NOW)
        await pilot.pause()
        text = screen_text(app)
        assert text.count("WARMING UP") >= min(len(rows), 3), text


async def test_an_80_column_footer_keeps_flame_and_diff() -> None:
    """Issue 13 item 19: at 80 columns the footer dropped f and d, the keys of an incident."""
    from textual.widgets import Footer

    from .dashboard_data import NOW, demo_config, filled_store

    app = WarroomApp(demo_config("bastion"), store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = {k.key_display: k.region for k in app.screen.query_one(Footer).query(FooterKey)}
        palette = keys.pop("^p")
        shown = [k for k, r in keys.items() if r.right <= palette.x]
        assert {"q", "?", "f", "d"} <= set(shown)


async def test_crosshair_reads_time_and_every_value_at_a_cell() -> None:
    """Issue 13, also wanted: a crosshair on the Service tab's sparklines."""
    import numpy as np

    from tui.ui.screens.dashboard import ServiceDetail
    from tui.ui.widgets.sparkline import bin_max

    from .dashboard_data import NOW, demo_config, filled_store

    store = filled_store()
    app = WarroomApp(demo_config(), store=store, clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        detail = app.screen.query_one(ServiceDetail)
        detail.focus()
        await pilot.pause()
        assert not any("⌖" in "".join(c for c, _ in ln) for ln in detail.build_lines())
        await pilot.press("left", "left", "left")  # the newest cell, then two back
        lines = ["".join(c for c, _ in ln) for ln in detail.build_lines()]
        readout = next(ln for ln in lines if "⌖" in ln)
        w = detail._spark_width()
        ring = store.series("checkout", "p99")
        assert ring is not None
        t, v, f = ring.since(NOW - app.window - 60)
        cell = bin_max(t, v, f, NOW, app.window, w)
        expected = format_latency(float(cell.values[w - 3]))
        assert f"p99 {expected}" in readout and "ago)" in readout
        keys = [k for ln in detail.build_lines() for _, k in ln]
        assert keys.count("cursor") == 5  # one cell on each of the five lines
        assert np.isfinite(cell.values[w - 3])
        await pilot.press("escape")
        assert not any("⌖" in "".join(c for c, _ in ln) for ln in detail.build_lines())


async def test_the_crosshair_readout_is_on_screen_at_80x24() -> None:
    """The readout comes before the lines: below them it fell off the short 80x24 pane."""
    from tui.ui.screens.dashboard import ServiceDetail

    from .dashboard_data import NOW, demo_config, filled_store

    app = WarroomApp(demo_config("bastion"), store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        detail = app.screen.query_one(ServiceDetail)
        detail.captures = [(NOW - 300, NOW - 240)]  # a `pprof` line under the five
        detail.focus()
        await pilot.press("left", "left")
        await pilot.pause()
        assert "⌖" in screen_text(app) and " err " in screen_text(app)


async def test_cpu_captures_are_marked_under_the_lines() -> None:
    """Issue 13 item 6: warroom's own CPU captures make the target work; mark when."""
    from tui.ui.screens.dashboard import ServiceDetail
    from tui.ui.widgets.sparkline import cell_step, newest_index

    from .dashboard_data import NOW, demo_config, filled_store

    app = WarroomApp(demo_config(), store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        detail = app.screen.query_one(ServiceDetail)
        assert not any("pprof" in "".join(c for c, _ in ln) for ln in detail.build_lines())
        w = detail._spark_width()
        step = cell_step(detail.window, w)
        start = (int(NOW // step) - 10) * step  # the 11th cell from the newest, for 2 cells
        detail.captures = [(start + 1, start + 2 * step - 1), (NOW - 90_000, NOW - 89_990)]
        line = next(
            "".join(c for c, _ in ln)
            for ln in detail.build_lines()
            if "".join(c for c, _ in ln).startswith(" pprof")
        )
        marks = line[8 : 8 + w]
        newest = newest_index(NOW, detail.window, w)  # a line turns a page at a time
        assert marks.count("━") == 2 and marks.index("━") == newest - 10  # the old one is not drawn


async def test_source_events_from_another_thread_arrive_in_order_and_coalesce() -> None:
    """The sources' sink may be called from any thread: each event is a message, and a burst
    of refreshes (StoreUpdated) becomes a handful of redraws, not one each."""
    import threading

    from tui.core.events import PointBatch

    from .dashboard_data import delivered, wait_for_panes

    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_panes(app, pilot)
        before = app.redraws
        spikes = [
            SpikeEvent(NOW - 60 + i, "checkout", "p99", "GLITCH", 0.9, 0.1, 9.0) for i in range(5)
        ]

        def burst() -> None:
            for i in range(500):
                app.post_source_event(PointBatch())
                if i % 100 == 0:
                    app.post_source_event(spikes[i // 100])

        thread = threading.Thread(target=burst)
        thread.start()
        thread.join()
        await delivered(app)
        assert app.spike_history.times_of("checkout") == [s.t for s in spikes]
        await until(pilot, lambda: app.redraws > before, "a redraw")
        assert app.redraws - before < 50
