"""RegressionTable widget under Pilot: rows, verdict colours from the theme, sorting."""

from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

from tui.core.baseline.check import FunctionRegression
from tui.core.stats.compare import ComparisonRow, compare_samples, finalize_table
from tui.ui.widgets.regression_table import RegressionTable

BASE = [0.100, 0.101, 0.099, 0.1005, 0.0995, 0.1002, 0.0998, 0.1001]


def rows() -> list[ComparisonRow]:
    return finalize_table(
        [
            compare_samples(BASE, [v * 1.5 for v in BASE], "p99", name="p99"),
            compare_samples(BASE, [v * 1.001 for v in BASE], "p50", name="p50"),
            compare_samples(
                [v * 10000 for v in BASE], [v * 13000 for v in BASE], "qps", name="qps"
            ),
        ]
    )


def _close(style: Style, colour: str | None) -> bool:
    """The cell colour is the theme's colour (Textual may blend it by a unit or two)."""
    assert colour is not None and style.color is not None
    got = style.color.get_truecolor()
    theme_colour = Style.parse(colour).color
    assert theme_colour is not None
    want = theme_colour.get_truecolor()
    return all(abs(a - b) <= 3 for a, b in zip(got, want, strict=True))


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield RegressionTable(id="rt")


async def test_rows_colours_and_sorting() -> None:
    app = Host()
    async with app.run_test(size=(140, 30)) as pilot:
        rt = app.query_one(RegressionTable)
        rt.set_title("api vs baseline X (v1)")
        rt.update_rows(rows())
        await pilot.pause()
        table = rt.query_one("#regression-signals", DataTable)
        assert table.row_count == 3
        # default order: worst verdict first
        assert rt.visible_names() == ["p99", "p50", "qps"]
        verdict_cell = table.get_row_at(0)[1]
        assert str(verdict_cell).startswith("REGRESSION")
        theme = app.current_theme
        assert _close(verdict_cell.style, theme.error)
        improvement = table.get_row_at(2)[1]
        assert str(improvement).startswith("IMPROVEMENT")
        assert _close(improvement.style, theme.success)
        assert str(rt.query_one("#regression-title", Static).render()) == "api vs baseline X (v1)"
        rt.sort_by("metric")
        assert rt.visible_names() == ["p50", "p99", "qps"]
        rt.sort_by("metric")  # again: reversed
        assert rt.visible_names() == ["qps", "p99", "p50"] and rt.sort_state == ("metric", True)
        await pilot.click("#regression-signals", offset=(60, 0))  # a header cell
        await pilot.pause()
        assert rt.sort_state[0] != "metric"


async def test_function_section() -> None:
    app = Host()
    async with app.run_test(size=(140, 30)) as pilot:
        rt = app.query_one(RegressionTable)
        await pilot.pause()
        title = rt.query_one("#regression-functions-title", Static)
        assert "no profile pair" in str(title.render())
        rt.update_functions(
            [FunctionRegression("runtime.gcBgMarkWorker", 4.0, 12.5, 8.5, 1e-9, "both", True)],
            note="cpu profiles",
        )
        await pilot.pause()
        ft = rt.query_one("#regression-functions", DataTable)
        assert ft.row_count == 1 and ft.get_row_at(0)[0] == "runtime.gcBgMarkWorker"
        assert "1 grew" in str(title.render())
        rt.update_functions([], note="no current profile")
        await pilot.pause()
        assert ft.row_count == 0 and "no current profile" in str(title.render())
