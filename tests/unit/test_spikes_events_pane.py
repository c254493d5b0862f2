"""EventsPane: spike events newest first, bounded, from SpikeEvents or hub record lines."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

from tui.core.stats.spikes import GLITCH, RECOVERED, SUSTAINED, SpikeEvent
from tui.core.units import latency
from tui.ui.widgets.events_pane import EventRow, EventsPane


class PaneApp(App[None]):
    def __init__(self, max_events: int = 200) -> None:
        super().__init__()
        self.max_events = max_events

    def compose(self) -> ComposeResult:
        yield EventsPane(self.max_events, id="events")


def cells(pane: EventsPane, row: int) -> list[str]:
    return [str(c) for c in pane.get_row_at(row)]


async def test_events_newest_first_with_value_baseline_ratio() -> None:
    t0 = time.mktime((2026, 11, 22, 5, 41, 2, 0, 0, -1))
    app = PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(EventsPane)
        assert pane.row_count == 0
        pane.add_event(SpikeEvent(t0, "api", "p99", GLITCH, 0.3124, 0.1, 3.124))
        pane.add_events(
            [
                {"t": t0 + 60, "type": "point", "service": "api", "signal": "p99", "value": 1.0},
                {
                    "t": t0 + 61,
                    "type": "spike",
                    "service": "web",
                    "signal": "p99",
                    "state": SUSTAINED,
                    "value": 0.0425,
                    "baseline": 0.0170,
                },
            ]
        )
        pane.add_event(
            SpikeEvent(
                t0 + 90, "db", "p99", RECOVERED, 2.5, 2.5, 1.0, saturated=True, low_confidence=True
            )
        )
        await pilot.pause()
        assert pane.row_count == 3  # the point record is not a spike
        assert cells(pane, 0) == ["05:42:32", "db", RECOVERED, "≥ 2.5s ?", "2.5s", "1.00x"]
        assert cells(pane, 1) == ["05:42:03", "web", SUSTAINED, "42.5ms", "17.0ms", "2.50x"]
        assert cells(pane, 2) == ["05:41:02", "api", GLITCH, "312ms", "100ms", "3.12x"]


async def test_events_are_bounded() -> None:
    app = PaneApp(max_events=5)
    async with app.run_test() as pilot:
        pane = app.query_one(EventsPane)
        pane.add_events(
            SpikeEvent(float(i), f"s{i}", "p99", GLITCH, 0.3, 0.1, 3.0) for i in range(50)
        )
        await pilot.pause()
        assert pane.row_count == 5
        assert [cells(pane, r)[1] for r in range(5)] == ["s49", "s48", "s47", "s46", "s45"]


async def test_events_given_before_the_pane_is_mounted_are_shown() -> None:
    pane = EventsPane()
    pane.add_event(SpikeEvent(1.0, "early", "p99", GLITCH, 0.3, 0.1, 3.0))

    class Late(App[None]):
        def compose(self) -> ComposeResult:
            yield pane

    async with Late().run_test() as pilot:
        await pilot.pause()
        assert pane.row_count == 1 and cells(pane, 0)[1] == "early"


def test_record_line_round_trips_through_the_row() -> None:
    ev = SpikeEvent(1.0, "api", "p99", SUSTAINED, 0.3, 0.1, 0.3 / 0.1)  # as the tracker does
    assert EventRow.of(ev.to_record()) == EventRow.of(ev)


def test_bad_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_events must be positive"):
        EventsPane(0)


def test_events_say_latency_as_the_table_does() -> None:
    """Issue 13 item 14: events said `6800 ms` where the table said `6.8s`."""
    assert (latency(0.0123), latency(0.25), latency(6.8)) == ("12.3ms", "250ms", "6.8s")
