"""The profile screen: a flame graph (or a diff flame graph) with its side table.

The same screen serves `warroom profile FILE [--base B]` (full size, in its own app) and the
dashboard (`f`/`d` push it). It is put together from one module per concern:
- tui/ui/screens/profile_load.py: the state, decoding and building in a thread worker (its
  stages as messages, the progress bar), the title and status lines;
- tui/ui/screens/profile_actions.py: search, sandwich, filters, width modes, sibling order;
- tui/ui/screens/profile_export.py: speedscope export and the `v` source listing;
- tui/ui/screens/profile_follow.py: the folder watch, `c` capture, follow or freeze (`z`).
This module holds the bindings, the layout, the keys that close things, and the standalone
viewer, which prepares the view before Textual starts so the graph is in the first frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, ProgressBar, Static

from tui.errors import UserError
from tui.ui.screens.profile_actions import ProfileActions
from tui.ui.screens.profile_export import ProfileExports, SourceListing
from tui.ui.screens.profile_follow import ProfileArrived, ProfileFollow
from tui.ui.screens.profile_load import STAGES, Loaded
from tui.ui.widgets.flamegraph import FlameGraph, compile_search
from tui.ui.widgets.function_table import FunctionTable, RegressionRanking

__all__ = [
    "STAGES",
    "Loaded",
    "ProfileArrived",
    "ProfileScreen",
    "ProfileViewerApp",
    "SourceListing",
    "run_profile_viewer",
    "screen_from_args",
]

# pprof's filters, as `warroom profile` names them (show_from is --show-from). The regex ones
# collect several values (F/I/H add alternatives); tagfocus/tagignore take one `key=value`.
REGEX_FILTERS = ("focus", "ignore", "hide", "show", "show_from", "prune_from")
TAG_FILTERS = ("tagfocus", "tagignore")


class ProfileScreen(ProfileActions, ProfileExports, ProfileFollow):
    """Flame graph of `profile_path`, diffed against `base_path` when given."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "search", id="flame.search"),
        Binding("s", "sample_type", "sample type", id="flame.sample_type"),
        Binding("i", "invert", "sandwich", id="flame.sandwich"),
        Binding("F", "filter('focus')", "focus", id="flame.focus"),
        Binding("I", "filter('ignore')", "ignore", id="flame.ignore"),
        Binding("H", "filter('hide')", "hide", id="flame.hide"),
        Binding("r", "reset_filters", "reset", show=False, id="flame.reset"),
        Binding("w", "width_mode", "width", show=False, id="flame.width"),
        Binding("t", "toggle_table", "table", id="flame.table"),
        Binding("tab", "switch_focus", "graph/table", show=False, id="flame.switch_focus"),
        Binding("z", "toggle_follow", "follow", id="flame.follow"),
        Binding("L", "left_heavy", "left-heavy / by name", show=False, id="flame.left_heavy"),
        Binding("v", "source", "source lines of the function", show=False, id="flame.source"),
        Binding("e", "export", "speedscope JSON beside the profile", show=False, id="flame.export"),
        Binding("E", "export_to", "speedscope JSON to a path", show=False, id="flame.export_to"),
        Binding("c", "capture", "capture", show=False, id="flame.capture"),
        Binding("escape", "back", "back", show=False, id="flame.back"),
        Binding("q", "close", "close", id="flame.close"),
    ]
    DEFAULT_CSS = """
    ProfileScreen { layout: vertical; }
    ProfileScreen #title { height: 1; background: $panel; color: $foreground; }
    ProfileScreen #main { height: 1fr; }
    ProfileScreen #callees { border-top: solid $primary; }
    ProfileScreen #callees.hidden { display: none; }
    ProfileScreen #side { width: 42%; max-width: 80; border-left: solid $primary; }
    ProfileScreen #side.hidden { display: none; }
    ProfileScreen #vanished { height: auto; max-height: 8; color: $text-muted; }
    ProfileScreen #details { height: 1; color: $foreground; background: $panel; }
    ProfileScreen #status { height: 1; color: $text-muted; }
    ProfileScreen #status.error { color: $error; }
    ProfileScreen #progress { height: 1; }
    ProfileScreen #progress.hidden { display: none; }
    ProfileScreen #search { height: 1; border: none; padding: 0 1; display: none; }
    ProfileScreen #search.shown { display: block; }
    ProfileScreen #export-path { height: 1; border: none; padding: 0 1; display: none; }
    ProfileScreen #export-path.shown { display: block; }
    ProfileScreen FunctionTable, ProfileScreen RegressionRanking { height: 1fr; }
    """

    def __init__(
        self,
        profile_path: str | Path,
        base_path: str | Path | None = None,
        *,
        base: str | Path | None = None,
        sample_type: str | None = None,
        focus: str | None = None,
        ignore: str | None = None,
        hide: str | None = None,
        show: str | None = None,
        show_from: str | None = None,
        prune_from: str | None = None,
        tagfocus: str | None = None,
        tagignore: str | None = None,
        normalize: bool = False,
        service: str | None = None,
        follow: bool = True,
        width_mode: str = "current",
        orientation: str = "icicle",
        watch: bool = True,
        watch_dir: str | Path | None = None,
        pattern: str | None = None,
        fetcher: Any = None,
    ) -> None:
        super().__init__()
        self.profile_path = Path(profile_path)
        b = base_path if base_path is not None else base
        self.base_path = Path(b) if b is not None else None
        self.sample_type = sample_type
        given = {
            "focus": focus,
            "ignore": ignore,
            "hide": hide,
            "show": show,
            "show_from": show_from,
            "prune_from": prune_from,
            "tagfocus": tagfocus,
            "tagignore": tagignore,
        }
        self.filters = {k: [v] if v else [] for k, v in given.items()}
        self.normalize = normalize
        self.service = service
        self.follow = follow
        self.width_mode = width_mode
        self.orientation = orientation
        self.loaded = None
        self.prepared = None
        self.inverted_from = None
        self.pending: Any = None  # a newer profile announced while frozen
        self.arrived_at: float | None = None  # monotonic time of the arrival being loaded
        self.last_draw_latency: float | None = None
        self.load_error: str | None = None
        self._raw = {}
        self._generation = self._shown_generation = 0
        self.watch_folder = watch
        self.watch_dir = Path(watch_dir).expanduser() if watch_dir is not None else None
        self.pattern = pattern
        self.fetcher = fetcher  # a tui.sources.pprof_fetch.PprofFetcher, for `c`
        self.watcher = None
        self.sibling_order = "name"  # `L`: "heavy" lays siblings out widest first

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="main"):
            with Vertical(id="graphs"):
                yield FlameGraph(
                    id="graph", orientation="flame" if self.orientation == "flame" else "icicle"
                )
                yield FlameGraph(id="callees", classes="hidden")
            with Vertical(id="side"):
                if self.base_path is not None:
                    yield RegressionRanking(id="ranking")
                    yield Static(id="vanished")
                else:
                    yield FunctionTable(id="functions")
        yield Static(id="details")
        yield Input(placeholder="regex, Enter to search, Esc to close", id="search")
        yield Input(
            placeholder="speedscope JSON path, Enter to write, Esc to close", id="export-path"
        )
        yield ProgressBar(total=len(STAGES), show_eta=False, id="progress")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        if self.app.size.width < 100:  # an 80-column SSH session: the graph gets the width
            self.query_one("#side").add_class("hidden")
        self.graph.focus()
        self._set_title()
        if not self.show_prepared():
            self.reload()
        self.start_watch()

    def on_resize(self) -> None:
        self._set_title()  # the names are shortened to the width

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "export-path":
            self.export_submitted(event.input, event.value)
        elif event.input.id == "search":
            self.search_submitted(event.input, event.value)

    def action_back(self) -> None:
        """Esc: close an open box, else leave the sandwich, else clear the search, else close."""
        for box in self.query("#search, #export-path").results(Input):
            if box.has_class("shown"):
                box.remove_class("shown")
                self.graph.focus()
                return
        if self.inverted_from is not None:
            self.action_invert()
            return
        if self.graph.search_pattern:
            self.graph.set_search("")
            self._status("search cleared")
            return
        self.action_close()

    def action_close(self) -> None:
        if not (isinstance(self.app, ProfileViewerApp) and self.app.profile_screen is self):
            self.app.pop_screen()
        else:
            self.app.exit(0)


# ---- the standalone viewer -------------------------------------------------------------


class ProfileViewerApp(App[int]):
    """`warroom profile FILE`: the profile screen full size (it watches its own folder)."""

    def __init__(self, screen: ProfileScreen, theme: str = "warroom", watch: bool = True) -> None:
        super().__init__()
        from tui.ui.theme import load_themes

        self.themes = load_themes()
        if theme not in self.themes:
            raise UserError(f"unknown theme {theme!r} (available: {', '.join(self.themes)})")
        for t in self.themes.values():
            self.register_theme(t)
        self.theme = theme
        self.profile_screen = screen
        screen.watch_folder = screen.watch_folder and watch
        from tui.ui.terminal import prepare_terminal

        prepare_terminal(self)  # no animations, NO_COLOR honoured, clean exit on SIGHUP

    def get_default_screen(self) -> ProfileScreen:
        """The profile screen is the first screen: no blank default screen is composed and
        painted before it."""
        return self.profile_screen


def screen_from_args(args: argparse.Namespace) -> ProfileScreen:
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    base = getattr(args, "base", None)
    if base is not None and not Path(base).is_file():
        raise UserError(f"{base}: no such file")
    return ProfileScreen(
        path,
        base,
        sample_type=getattr(args, "sample_type", None),
        focus=getattr(args, "focus", None),
        ignore=getattr(args, "ignore", None),
        hide=getattr(args, "hide", None),
        show=getattr(args, "show", None),
        show_from=getattr(args, "show_from", None),
        prune_from=getattr(args, "prune_from", None),
        tagfocus=getattr(args, "tagfocus", None),
        tagignore=getattr(args, "tagignore", None),
        normalize=bool(getattr(args, "normalize", False)),
    )


def run_profile_viewer(args: argparse.Namespace) -> int:
    """Open the viewer full size; bad files fail before the terminal is taken over."""
    path = Path(args.file)
    screen = screen_from_args(args)
    from tui.core.pprof import load_profile
    from tui.core.pprof.tagfilter import tag_predicate  # raises UserError on a bad filter

    # Decode up front: a wrong path or a corrupt file is one line and exit 2, not a blank UI.
    prof = load_profile(path)
    if getattr(args, "sample_type", None):
        prof.sample_index(args.sample_type)
    for name in REGEX_FILTERS:
        value = getattr(args, name, None)
        if value and compile_search(value):
            raise UserError(f"--{name.replace('_', '-')}: {compile_search(value)}")
    for name in TAG_FILTERS:
        value = getattr(args, name, None)
        if value:
            tag_predicate(name, value)
    screen.preload(path, prof)
    from tui.ui.terminal import require_terminal

    require_terminal("for output to a pipe use --top, --regressions or --folded")
    screen.prepare()  # the graph in the first frame, not after a worker's round trip
    app = ProfileViewerApp(screen, theme=getattr(args, "theme", None) or "warroom")
    app.run()
    return int(app.return_code or 0)
