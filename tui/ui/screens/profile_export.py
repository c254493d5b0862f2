"""What the profile screen writes or opens beside the graph: speedscope JSON and source lines.

A mixin of `ProfileScreen` (`e`/`E` export, `v` source listing) and the listing's modal. The
JSON is written and the listing built in thread workers; neither changes the view.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui.core.pprof.flamegraph import format_value
from tui.errors import UserError
from tui.ui.screens.profile_load import Loaded, ProfileLoading, exact


class ProfileExports(ProfileLoading):
    """speedscope export and the `v` source listing of the selected function."""

    def action_export(self) -> None:
        """`e`: speedscope JSON beside the profile (`E` asks for the path)."""
        from tui.core.pprof.speedscope import default_path

        self._export(default_path(self.profile_path))

    def action_export_to(self) -> None:
        from tui.core.pprof.speedscope import default_path

        box = self.query_one("#export-path", Input)
        box.add_class("shown")
        box.value = str(default_path(self.profile_path))
        box.focus()

    def export_submitted(self, box: Input, value: str) -> None:
        """Enter in the export path box: an empty path is reported and the box stays open."""
        target = value.strip()
        if not target:
            self._status("no path typed", error=True)
            return
        box.remove_class("shown")
        self.graph.focus()
        self._export(Path(target).expanduser())

    def _export(self, target: Path) -> None:
        if self.loaded is None:
            self._status("nothing loaded to export")
            return
        if self.loaded.base is not None:
            self._status(
                "speedscope cannot draw a diff: open the profile alone to export", error=True
            )
            return
        self._status(f"writing {target} ...")
        self._write_speedscope(self.loaded, target)

    @work(thread=True, group="profile-export")
    def _write_speedscope(self, loaded: Loaded, target: Path) -> None:
        from tui.core.pprof.speedscope import to_speedscope, write_speedscope

        try:
            doc = to_speedscope(loaded.cur, None, name=loaded.path.name, active=loaded.sample_index)
            out = write_speedscope(doc, target)
        except (UserError, ValueError) as exc:
            self.app.call_from_thread(self._exported, None, str(exc))
            return
        self.app.call_from_thread(self._exported, out, "")

    def _exported(self, out: Path | None, error: str) -> None:
        if out is None:
            self._status(error, error=True)
            self.app.notify(error, title="speedscope export failed", severity="error")
            return
        self._status(f"wrote {out}")
        self.app.notify(f"wrote {out}", title="speedscope export")

    def action_source(self) -> None:
        """`v`: the selected function's source lines with flat and cum (go tool pprof -list)."""
        graph, tree = self.graph, self.graph.flame
        if self.loaded is None or tree is None or graph.selected is None:
            return
        if int(tree.frame[graph.selected]) < 0:
            self._status("select a function first (the root has no source)")
            return
        self._source(self.loaded, tree.name(graph.selected))

    @work(thread=True, exclusive=True, group="profile-source")
    def _source(self, loaded: Loaded, name: str) -> None:
        from tui.core.pprof.listing import listing_text, source_listing

        listing = source_listing(loaded.cur, loaded.sample_index, exact(name))
        if not listing.names:
            text = f"{name}: no samples of this function in the profile"
        else:
            text = listing_text(listing, loaded.unit, format_value)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_source, name, text)

    def _show_source(self, name: str, text: str) -> None:
        self.app.push_screen(SourceListing(name, text))


class SourceListing(ModalScreen[None]):
    """`v`'s panel: flat and cum per source line of one function, Esc/q/v to close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,v", "dismiss", "close the listing", id="listing.close"),
    ]
    DEFAULT_CSS = """
    SourceListing { align: center middle; }
    SourceListing > ScrollableContainer { width: 95%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    SourceListing #listing { width: auto; }
    """

    def __init__(self, name: str, text: str) -> None:
        super().__init__()
        self.function = name
        self.text = text

    def compose(self) -> ComposeResult:
        with ScrollableContainer() as box:
            box.border_title = f"source of {self.function}"
            yield Static(Text(self.text.expandtabs(4), no_wrap=True), id="listing")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
