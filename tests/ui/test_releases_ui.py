"""Releases in the dashboard: a │ under the Service tab's sparklines at the release's cell,
the releases listed with their time and verdict, and the lines in the events pane."""

from __future__ import annotations

from typing import Any

import pytest

from tui.core.events import event_from_record
from tui.core.releases import Release
from tui.ui.app import WarroomApp
from tui.ui.screens.dashboard import ServiceDetail
from tui.ui.widgets.events_pane import EventsPane, NoteRow
from tui.ui.widgets.service_table import ServiceTable
from tui.ui.widgets.sparkline import RELEASE_GLYPH, cell_step, newest_index, release_cells

from .dashboard_data import NOW, make_app, wait_for_panes


def screen_text(app: WarroomApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


COMPARE = {
    "t": NOW - 10,
    "type": "release_compare",
    "service": "checkout",
    "version": "1.4.3",
    "release_t": NOW - 120,
    "rows": [{"name": "p99", "verdict": "REGRESSION"}, {"name": "p95", "verdict": "REGRESSION"}],
    "message": "checkout 1.4.3: P99 +240% [+180%, +310%] (REGRESSION), P95 +120% [+90%, "
    "+150%] (REGRESSION)",
}


@pytest.mark.parametrize("theme", ["warroom", "bastion"])
async def test_release_marker_list_and_events(theme: str) -> None:
    app = make_app(theme)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_for_panes(app, pilot)
        assert app.dashboard.table.selected == "checkout"  # the first row
        rel = Release("checkout", "1.4.3", "9b7d013", NOW - 120, "build_info", "1.4.2")
        app.on_source_event(rel)
        app.on_source_event(event_from_record(COMPARE))
        app.on_source_event(
            event_from_record(
                {"t": NOW, "type": "release_flap", "service": "search", "versions": ["2", "3"]}
            )
        )
        app.redraw_now()
        await pilot.pause()
        detail = app.screen.query_one(ServiceDetail)
        text = screen_text(app)
        line = next(x for x in text.splitlines() if x.lstrip().startswith("release"))
        # the glyph sits in the cell of NOW - 120, counted back from the newest cell (a line
        # turns a page at a time, so the newest is not always the last): the sparkline's own
        # cell arithmetic
        spark_w = detail._spark_width()
        step = cell_step(app.window, spark_w)
        cell = newest_index(NOW, app.window, spark_w) - (
            int(NOW // step) - int((NOW - 120) // step)
        )
        start = line.index("release") - 1  # the label column is 8 wide from here
        assert line[start + 8 + cell] == RELEASE_GLYPH and line.count(RELEASE_GLYPH) == 1
        assert line[start + 8 + cell + 1 :].startswith("1.4.3")
        listed = next(x for x in text.splitlines() if "1.4.3 (9b7d013) [build_info]" in x)
        assert "(2m ago)" in listed and "P99 +240% [+180%, +310%] (REGRESSION)" in listed
        # the service table: a marker line under checkout's row, │ at the same cell, styled
        table = app.screen.query_one(ServiceTable)
        name_w, table_w = table._layout()
        tstep = cell_step(app.window, table_w)
        tcell = newest_index(NOW, app.window, table_w) - (
            int(NOW // tstep) - int((NOW - 120) // tstep)
        )
        lines = table.build_lines()
        joined = ["".join(ch for ch, _ in line) for line in lines]
        row = next(i for i, x in enumerate(joined) if x[1:].startswith("checkout "))
        marker = lines[row + 1]
        assert marker[name_w + 2 + tcell][0] == RELEASE_GLYPH
        assert marker[name_w + 2 + tcell][1].startswith("release")
        assert joined[row + 1][name_w + 3 + tcell :].startswith("1.4.3")
        assert sum(x.count(RELEASE_GLYPH) for x in joined) == 1
        pane = app.screen.query_one(EventsPane)
        notes = [e for e in pane.events if isinstance(e, NoteRow)]
        assert [(n.service, n.state) for n in notes] == [
            ("checkout", "RELEASE"),
            ("checkout", "REGRESSION"),
            ("search", "FLAPPING"),
        ]
        assert notes[1].text.startswith("1.4.3: P99 +240%")
        assert any("P99 +240%" in n.message for n in app._notifications)


def test_release_cells_bounds_and_labels() -> None:
    cells = release_cells([(100.0, "v1"), (103.0, "v2"), (5000.0, "later")], 110.0, 20.0, 20, "r")
    text = "".join(ch for ch, _ in cells)
    assert text.count(RELEASE_GLYPH) == 2 and "│v1│v2" in text  # v1's label cut at v2
    assert release_cells([(0.0, "old")], 1000.0, 20.0, 20, "r") == []


async def test_replayed_release_lines_mark_the_row_and_survive_a_scrub_back() -> None:
    """`record` writes release lines; `replay` shows them as live does, and a scrub back
    before the release takes the marker away (it comes again when the release is re-sent)."""
    from tui.config import parse_config
    from tui.core.recording import Recording
    from tui.ui.replay import ReplayApp

    t0 = 1_800_000_000.0
    events: list[dict[str, Any]] = [
        {"t": t0 + i, "type": "point", "service": "checkout", "signal": "p99", "value": 0.1}
        for i in range(200)
    ]
    events.append(Release("checkout", "2.0.0", "", t0 + 100, "mark", "1.9.0").to_record())
    events.sort(key=lambda e: e["t"])
    app = ReplayApp(parse_config("services:\n  - name: checkout\n"), Recording(events))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_panes(app, pilot)
        app.driver.paused = True
        app.driver.seek(t0 + 150)
        await pilot.pause()
        app.redraw_now()
        await pilot.pause()
        text = ["".join(ch for ch, _ in line) for line in app.dashboard.table.build_lines()]
        assert sum(x.count(RELEASE_GLYPH) for x in text) == 1 and any("│2." in x for x in text)
        app.driver.seek(t0 + 50)
        await pilot.pause()
        app.redraw_now()
        await pilot.pause()
        text = ["".join(ch for ch, _ in line) for line in app.dashboard.table.build_lines()]
        assert not any(RELEASE_GLYPH in x for x in text)


def test_a_route_regression_makes_the_release_line_a_regression() -> None:
    """The service's own P99 may hide a slow route (a small share of the traffic): the
    events pane's state follows the worst of the service and route rows, and names the route."""
    line = {
        **COMPARE,
        "rows": [{"name": "p99", "verdict": "EQUIVALENT"}],
        "routes": [
            {"name": "/pay p99", "route": "/pay", "verdict": "REGRESSION"},
            {"name": "/cart p99", "route": "/cart", "verdict": "EQUIVALENT"},
        ],
        "route_label": "route",
        "message": "checkout 1.4.3: P99 +2% [-1%, +4%] (EQUIVALENT); P99 +240% (REGRESSION) on /pay",
    }
    note = NoteRow.of(event_from_record(line).to_record())
    assert note.state == "REGRESSION" and note.text.endswith("(REGRESSION) on /pay")
    quiet = {**line, "routes": [{"name": "/cart p99", "route": "/cart", "verdict": "EQUIVALENT"}]}
    assert NoteRow.of(quiet).state == "EQUIVALENT"
