"""The profile screen: a flame graph (or a diff flame graph) with its side table.

Decoding, filtering, tree building and layout warm-up run in a thread worker, with the
stage shown in a progress bar, so a 1M-sample profile never freezes the keyboard. The same
screen serves `warroom profile FILE [--base B]` (full size, in its own app) and the
dashboard (`f`/`d` push it). A newer profile of the same service is offered through
`offer(arrival)`: shown at once when following, announced when frozen (`z` toggles).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, ProgressBar, Static
from textual.worker import get_current_worker

from tui.core.pprof import (
    FilterSpec,
    Profile,
    apply_filters,
    diff_trees,
    function_table,
    load_profile,
    rank_regressions,
)
from tui.core.pprof.catalog import profile_kind
from tui.core.pprof.flamecallers import callees_tree, callers_tree
from tui.core.pprof.flamediff import WIDTH_MODES, diff_flame_tree, vanished_paths
from tui.core.pprof.flamegraph import format_value
from tui.core.pprof.flametree import FlameTree
from tui.core.pprof.table import PPROF_EDGE_FRACTION
from tui.errors import UserError
from tui.ui.widgets.flamegraph import FlameGraph, compile_search
from tui.ui.widgets.function_table import FunctionTable, RegressionRanking

STAGES = ("reading", "filtering", "building call tree", "laying out", "function table")
# pprof's filters, as `warroom profile` names them (show_from is --show-from). The regex ones
# collect several values (F/I/H add alternatives); tagfocus/tagignore take one `key=value`.
REGEX_FILTERS = ("focus", "ignore", "hide", "show", "show_from", "prune_from")
TAG_FILTERS = ("tagfocus", "tagignore")


@dataclass
class Loaded:
    """What a load worker hands to the UI thread."""

    path: Path
    cur: Profile
    base: Profile | None
    sample_index: int
    tree: FlameTree
    unit: str
    rows: list[Any]
    report: Any = None
    diff: Any = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


_kind_word = profile_kind  # the name says the kind: a heap capture is skipped undecoded


def _exact(name: str) -> str:
    return "^" + re.escape(name) + "$"


class ProfileArrived(Message):
    """A pprof_watch ProfileArrival or pprof_fetch Capture for a ProfileScreen.

    `screen.post_message(ProfileArrived(arrival))` is safe from any thread or task; the
    screen handles it like `offer(arrival)`.
    """

    def __init__(self, arrival: Any) -> None:
        super().__init__()
        self.arrival = arrival


class ProfileScreen(Screen[None]):
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
        self.filters: dict[str, list[str]] = {k: [v] if v else [] for k, v in given.items()}
        self.normalize = normalize
        self.service = service
        self.follow = follow
        self.width_mode = width_mode
        self.orientation = orientation
        self.loaded: Loaded | None = None
        self.inverted_from: FlameTree | None = None
        self.pending: Any = None  # a newer profile announced while frozen
        self.arrived_at: float | None = None  # monotonic time of the arrival being loaded
        self.last_draw_latency: float | None = None
        self.load_error: str | None = None
        self._raw: dict[Path, tuple[tuple[int, float], Profile]] = {}
        self.watch_folder = watch
        self.watch_dir = Path(watch_dir).expanduser() if watch_dir is not None else None
        self.pattern = pattern
        self.fetcher = fetcher  # a tui.sources.pprof_fetch.PprofFetcher, for `c`
        self.watcher: Any = None
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

    @property
    def graph(self) -> FlameGraph:
        return self.query_one("#graph", FlameGraph)

    def on_mount(self) -> None:
        if self.app.size.width < 100:  # an 80-column SSH session: the graph gets the width
            self.query_one("#side").add_class("hidden")
        self.graph.focus()
        self._set_title()
        self.reload()
        if self.watch_folder:
            self.run_worker(self._watch(), exclusive=True, group="profile-watch")

    # -- loading ------------------------------------------------------------------------------

    def reload(
        self, path: Path | None = None, keep_view: bool = True, followed: bool = False
    ) -> None:
        """Load (or re-derive) in a worker; the current graph stays usable meanwhile.

        `followed`: a newly arrived file; one of another kind (heap while showing CPU) is
        skipped and the current view kept.
        """
        previous = self.profile_path
        if path is not None:
            self.profile_path = path
        bar = self.query_one("#progress", ProgressBar)
        bar.remove_class("hidden")
        bar.update(progress=0)
        self._status(f"loading {self.profile_path.name} ...")
        self._load(keep_view, previous if followed else None)

    @work(thread=True, exclusive=True, group="profile-load")
    def _load(self, keep_view: bool, previous: Path | None = None) -> None:
        worker = get_current_worker()
        t0 = time.perf_counter()

        def stage(k: int) -> None:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._progress, k)

        try:
            stage(0)
            cur_raw = self._read(self.profile_path)
            shown = self.loaded
            if (
                previous is not None
                and shown is not None
                and ([n for n, _ in cur_raw.sample_types] != [n for n, _ in shown.cur.sample_types])
            ):
                self.app.call_from_thread(self._skip, self.profile_path, previous, cur_raw)
                return
            base_raw = self._read(self.base_path) if self.base_path is not None else None
            t = (
                cur_raw.sample_index(self.sample_type)
                if self.sample_type
                else (cur_raw.default_index)
            )
            stage(1)
            filt = FilterSpec.from_lists(self.filters)
            cur = apply_filters(cur_raw, filt)
            base = apply_filters(base_raw, filt) if base_raw is not None else None
            stage(2)
            unit = cur.sample_types[t][1]
            diff = None
            if base is not None:
                diff = diff_trees(base, cur, t, normalize=self.normalize)
                tree = diff_flame_tree(diff, self.width_mode)
            else:
                tree = FlameTree.from_call_tree(cur.tree, t)
            stage(3)
            tree.set_order(self.sibling_order)
            tree.warm()
            stage(4)
        except UserError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except (ValueError, re.error) as exc:
            self.app.call_from_thread(self._failed, f"{self.profile_path.name}: {exc}")
            return
        if worker.is_cancelled:
            return
        loaded = Loaded(
            self.profile_path, cur, base, t, tree, unit, [], None, diff, time.perf_counter() - t0
        )
        # Draw the graph first; the side table follows (23k functions take a while).
        self.app.call_from_thread(self._apply, loaded, keep_view)
        if base is not None:
            loaded.report = rank_regressions(base, cur, t)
        else:
            loaded.rows = function_table(cur, t, edge_fraction=PPROF_EDGE_FRACTION)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_table, loaded)

    def _read(self, path: Path) -> Profile:
        """Decode once per file version (sample-type switches and filters reuse it)."""
        try:
            st = path.stat()
        except OSError as exc:
            raise UserError(f"{path}: {exc.strerror or exc}") from None
        sig = (st.st_size, st.st_mtime)
        got = self._raw.get(path)
        if got is not None and got[0] == sig:
            return got[1]
        prof = load_profile(path)
        self._raw[path] = (sig, prof)
        # Following a folder for days must not pile up decoded profiles: keep what is shown.
        for old in list(self._raw):
            if old not in (path, self.profile_path, self.base_path):
                self._raw.pop(old, None)
        return prof

    def preload(self, path: Path, prof: Profile) -> None:
        """Hand over a profile already decoded (the CLI checks the file before the UI starts)."""
        st = path.stat()
        self._raw[path] = ((st.st_size, st.st_mtime), prof)

    def _skip(self, path: Path, previous: Path, prof: Profile) -> None:
        """A followed file of another kind: keep the current view, say what was skipped."""
        if self.profile_path == path:
            self.profile_path = previous
        self.arrived_at = None
        self.query_one("#progress", ProgressBar).add_class("hidden")
        kinds = ", ".join(n for n, _ in prof.sample_types)
        self._status(f"new {path.name} not shown: another kind of profile ({kinds})")

    def _progress(self, k: int) -> None:
        self.query_one("#progress", ProgressBar).update(progress=k)
        self._status(f"{STAGES[k]} {self.profile_path.name} ...")

    def _failed(self, message: str) -> None:
        self.load_error = message
        self.query_one("#progress", ProgressBar).add_class("hidden")
        self._status(message, error=True)
        self.app.log.warning(message)

    def _apply(self, loaded: Loaded, keep_view: bool) -> None:
        self.loaded = loaded
        self.load_error = None
        self.inverted_from = None
        self.sample_type = loaded.cur.sample_types[loaded.sample_index][0]
        graph = self.graph
        diff_class = loaded.tree.extra.get("class") if loaded.diff is not None else None
        graph.set_tree(loaded.tree, loaded.unit, keep_view=keep_view, diff_class=diff_class)
        if loaded.diff is not None:
            self._show_vanished(loaded.tree)
        self.query_one("#progress", ProgressBar).add_class("hidden")
        self._set_title()
        if self.arrived_at is not None:
            self.last_draw_latency = time.monotonic() - self.arrived_at
            self.arrived_at = None
        total = format_value(int(loaded.tree.total[0]), loaded.unit)
        self._status(f"{loaded.path.name}: {len(loaded.tree)} nodes, total {total}")
        if graph.search_pattern:
            self._search_status()

    def _apply_table(self, loaded: Loaded) -> None:
        if loaded is not self.loaded:
            return  # a newer load already replaced it
        if loaded.report is not None:
            self.query_one("#ranking", RegressionRanking).set_report(loaded.report)
        else:
            self.query_one("#functions", FunctionTable).set_rows(
                loaded.rows, int(loaded.tree.total[0]), loaded.unit
            )
        graph = self.graph
        if graph.flame is not None and graph.selected is not None:
            name = graph.flame.name(graph.selected)
            for table in self.query(FunctionTable):
                table.show_function(name)

    def _show_vanished(self, tree: FlameTree) -> None:
        gone = vanished_paths(tree, limit=6)
        unit = self.loaded.unit if self.loaded else ""
        lines = ["vanished paths (base only):" if gone else "vanished paths: none"]
        for node, v in gone:
            path = " > ".join(tree.names[f].rsplit(".", 1)[-1] for f in tree.path(node)[-3:])
            lines.append(f"  {format_value(v, unit):>8}  {path}")
        self.query_one("#vanished", Static).update("\n".join(lines))

    # -- text lines ---------------------------------------------------------------------------

    def _status(self, text: str, error: bool = False) -> None:
        st = self.query_one("#status", Static)
        st.update(text)
        st.set_class(error, "error")

    def _set_title(self) -> None:
        parts = [f"profile {self.profile_path.name}"]
        if self.base_path is not None:
            parts.append(f"vs {self.base_path.name} (width: {self.width_mode})")
        if self.loaded is not None:
            name, unit = self.loaded.cur.sample_types[self.loaded.sample_index]
            parts.append(f"{name} ({unit})")
        for k, vs in self.filters.items():
            if vs:
                parts.append(f"{k}={'|'.join(vs)}")
        if self.sibling_order == "heavy":
            parts.append("left-heavy")
        if self.inverted_from is not None and self.graph.flame is not None:
            parts.append("sandwich of " + self.graph.flame.name(0))
        parts.append("following" if self.follow else "frozen")
        if self.pending is not None:
            parts.append(f"newer: {Path(self.pending.path).name} (z)")
        self.query_one("#title", Static).update("  ·  ".join(parts))

    def on_flame_graph_selected(self, event: FlameGraph.Selected) -> None:
        self.query_one("#details", Static).update(event.graph.details())
        tree = event.graph.flame
        if tree is None or event.node is None:
            return
        name = tree.name(event.node)
        for table in self.query(FunctionTable):
            table.show_function(name)
        for ranking in self.query(RegressionRanking):
            ranking.show_function(name)

    def on_flame_graph_zoomed(self, event: FlameGraph.Zoomed) -> None:
        if self.graph.search_pattern:
            self._search_status()

    def on_function_table_function_chosen(self, event: FunctionTable.FunctionChosen) -> None:
        """A row chosen in the table selects that function's widest frame in the graph (whose
        details line then names it in full); with no frame drawn, the line names it anyway."""
        graph, tree = self.graph, self.graph.flame
        if tree is None or graph.flame_layout is None:
            return
        if graph.selected is not None and tree.name(graph.selected) == event.name:
            return
        names = list(tree.names)
        f = names.index(event.name) if event.name in names else -1
        cands = [int(n) for n in graph.flame_layout.node if int(tree.frame[int(n)]) == f]
        if cands:
            graph.select(max(cands, key=lambda n: int(tree.total[n])))
        else:
            self.query_one("#details", Static).update(f"{event.name}  (no frame in this view)")

    def on_regression_ranking_function_chosen(
        self, event: RegressionRanking.FunctionChosen
    ) -> None:
        self.on_function_table_function_chosen(event)

    # -- actions ------------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("shown")
        box.value = self.graph.search_pattern
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "export-path":
            target = event.value.strip()
            if not target:
                self._status("no path typed", error=True)
                return
            event.input.remove_class("shown")
            self.graph.focus()
            self._export(Path(target).expanduser())
            return
        if event.input.id != "search":
            return
        pattern = event.value.strip()
        problem = compile_search(pattern) if pattern else None
        if problem:
            self._status(problem, error=True)
            return
        self.graph.set_search(pattern)
        event.input.remove_class("shown")
        self.graph.focus()
        if pattern:
            self._search_status()
            self.graph.action_next_match(1)
        else:
            self._status("search cleared")

    def _search_status(self) -> None:
        got, total = self.graph.search_share()
        share = 100 * got / total if total else 0.0
        unit = self.loaded.unit if self.loaded else ""
        self._status(
            f"/{self.graph.search_pattern}/ matches {share:.2f}% of the zoom "
            f"({format_value(got, unit)} of {format_value(total, unit)}); n/N to step"
        )

    def action_sample_type(self) -> None:
        if self.loaded is None:
            return
        types = self.loaded.cur.sample_types
        nxt = (self.loaded.sample_index + 1) % len(types)
        self.sample_type = types[nxt][0]
        self.reload()

    def action_invert(self) -> None:
        """`i`: sandwich of the selected function: callers above it, callees below it."""
        graph = self.graph
        if self.inverted_from is not None:
            back, self.inverted_from = self.inverted_from, None
            self.query_one("#callees", FlameGraph).add_class("hidden")
            graph.orientation = "flame" if self.orientation == "flame" else "icicle"
            graph.set_tree(back, graph.unit, keep_view=False, diff_class=back.extra.get("class"))
            graph.focus()
            self._set_title()
            return
        tree = graph.flame
        if tree is None or graph.selected is None or int(tree.frame[graph.selected]) < 0:
            self._status("select a function first (the root has no callers)")
            return
        self._status(f"finding callers and callees of {tree.name(graph.selected)} ...")
        self._sandwich(tree, int(tree.frame[graph.selected]))

    @work(thread=True, exclusive=True, group="profile-sandwich")
    def _sandwich(self, tree: FlameTree, frame_id: int) -> None:
        callers = callers_tree(tree, frame_id)
        callees = callees_tree(tree, frame_id)
        callers.set_order(self.sibling_order)
        callees.set_order(self.sibling_order)
        callers.warm()
        callees.warm()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_sandwich, tree, callers, callees)

    def _show_sandwich(self, tree: FlameTree, callers: FlameTree, callees: FlameTree) -> None:
        graph = self.graph
        if graph.flame is not tree:
            return  # the view changed meanwhile
        self.inverted_from = tree
        graph.orientation = "flame"  # callers stacked above the function
        graph.set_tree(callers, graph.unit, keep_view=False)
        low = self.query_one("#callees", FlameGraph)
        low.remove_class("hidden")
        low.set_tree(callees, graph.unit, keep_view=False)
        graph.focus()
        self._set_title()
        self._status(
            f"callers (above) and callees (below) of {callers.name(0)}: tab to switch, i to go back"
        )

    def action_filter(self, kind: str) -> None:
        graph = self.graph
        if graph.flame is None or graph.selected is None or graph.selected == 0:
            self._status(f"select a frame to {kind}")
            return
        name = graph.flame.name(graph.selected)
        self.filters[kind].append(_exact(name))
        self._status(f"{kind} {name}")
        self.reload(keep_view=kind != "focus")

    def action_reset_filters(self) -> None:
        if any(self.filters.values()):
            self.filters = {k: [] for k in self.filters}
            self.reload()

    def action_width_mode(self) -> None:
        if self.loaded is None or self.loaded.diff is None:
            return
        i = WIDTH_MODES.index(self.width_mode)
        self.width_mode = WIDTH_MODES[(i + 1) % len(WIDTH_MODES)]
        tree = diff_flame_tree(self.loaded.diff, self.width_mode)
        tree.set_order(self.sibling_order)
        tree.warm()
        self.loaded.tree = tree
        self.graph.set_tree(tree, self.loaded.unit, diff_class=tree.extra["class"])
        self._set_title()

    def action_toggle_table(self) -> None:
        self.query_one("#side").toggle_class("hidden")
        self.call_after_refresh(self.graph._relayout)

    def action_switch_focus(self) -> None:
        """Tab: graph -> callees (in a sandwich) -> side table -> graph."""
        side = self.query_one("#side")
        low = self.query_one("#callees", FlameGraph)
        if self.graph.has_focus and not low.has_class("hidden"):
            low.focus()
            return
        if (self.graph.has_focus or low.has_focus) and not side.has_class("hidden"):
            for t in self.query("#functions, #ranking"):
                t.focus()
                return
        self.graph.focus()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow and self.pending is not None:
            arrival, self.pending = self.pending, None
            self.offer(arrival)
        self._set_title()

    def action_back(self) -> None:
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
        if len(self.app.screen_stack) > 2 or not isinstance(self.app, ProfileViewerApp):
            self.app.pop_screen()
        else:
            self.app.exit(0)

    def action_left_heavy(self) -> None:
        """`L`: siblings heaviest first (speedscope's left heavy) or by name (pprof's)."""
        order = "name" if self.sibling_order == "heavy" else "heavy"
        self.sibling_order = order
        graphs = list(self.query(FlameGraph))
        trees = [g.flame for g in graphs] + [self.inverted_from]
        if self.loaded is not None:
            trees.append(self.loaded.tree)
        unique = list({id(t): t for t in trees if t is not None}.values())
        self._reorder(unique, order)

    @work(thread=True, exclusive=True, group="profile-order")
    def _reorder(self, trees: list[FlameTree], order: str) -> None:
        """The new offsets in a thread (a 400k-node tree takes a tenth of a second)."""
        starts = [(t, t.offsets(order)) for t in trees]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._apply_order, starts, order)

    def _apply_order(self, starts: list[tuple[FlameTree, Any]], order: str) -> None:
        if order != self.sibling_order:
            return  # toggled again meanwhile
        for tree, start in starts:
            tree.set_order(order, start)
        for g in self.query(FlameGraph):
            g.set_sibling_order(order)
        self._set_title()
        self._status(
            "left-heavy: siblings heaviest first (L: by name)"
            if order == "heavy"
            else "siblings by name (L: left-heavy)"
        )

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

        listing = source_listing(loaded.cur, loaded.sample_index, _exact(name))
        if not listing.names:
            text = f"{name}: no samples of this function in the profile"
        else:
            text = listing_text(listing, loaded.unit, format_value)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_source, name, text)

    def _show_source(self, name: str, text: str) -> None:
        self.app.push_screen(SourceListing(name, text))

    # -- live profiles ------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Watch the profile folder while the screen is up; arrivals go to `offer`.

        The folder is `watch_dir` (the dashboard passes profiles.dir) or the file's own
        folder; the service comes from the pattern (`{service}-*.pb.gz` by default). A file
        whose name does not fit the pattern is followed by name: replaced in place.
        """
        from tui.core.pprof.catalog import ServicePattern
        from tui.sources.pprof_watch import PprofWatcher

        path = self.profile_path.resolve()
        folder = self.watch_dir or path.parent
        pattern = self.pattern or "{service}-*.pb.gz"
        services = [self.service] if self.service else []
        ok, service = ServicePattern(pattern, services).match(path.name)
        if not ok:
            pattern = path.name
        elif self.service is None:
            self.service = service

        def on_profile(arrival: Any) -> None:
            if arrival.kind != "existing":
                self.offer(arrival)

        self.watcher = PprofWatcher(folder, on_profile, pattern=pattern, services=services)
        await self.watcher.start()
        if self.watcher.status.state == "error":
            self._status(self.watcher.status.detail, error=True)
            return
        try:
            await asyncio.Event().wait()
        finally:
            await self.watcher.stop()

    def action_capture(self) -> None:
        """`c`: capture this service's profiles now (profiles.endpoints); the watcher shows them."""
        if self.fetcher is None or self.service is None:
            self._status("no profiles.endpoints entry to capture from")
            return
        self._status(f"capturing {self.service} ...")
        self.run_worker(self._capture(), group="profile-capture")

    async def _capture(self) -> None:
        assert self.fetcher is not None and self.service is not None
        caps = await self.fetcher.capture_service(self.service)
        bad = [c.error for c in caps if not c.ok]
        if bad:
            self._status("; ".join(str(b) for b in bad), error=True)
        elif caps:
            self._status(f"captured {', '.join(c.kind for c in caps)} for {self.service}")
            cpu = next((c for c in caps if c.kind == "profile"), caps[0])
            watched = self.watcher is not None and self.watcher.status.state == "listening"
            if not (
                watched
                and cpu.path is not None
                and cpu.path.parent.resolve() == self.watcher.directory.resolve()
            ):
                self.offer(cpu)  # the watcher announces files saved in its own folder
        else:
            self._status(f"no profiles.endpoints entry for {self.service}")

    def on_profile_arrived(self, message: ProfileArrived) -> None:
        self.offer(message.arrival)

    def offer(self, arrival: Any) -> None:
        """A new profile arrived (a pprof_watch ProfileArrival or a pprof_fetch Capture).

        Broken files are reported in the status line; a profile of another service is
        ignored; with follow on it replaces the view (zoom kept by call path).
        """
        path = getattr(arrival, "path", None)
        if path is None or not getattr(arrival, "ok", True):
            err = getattr(arrival, "error", None) or "unreadable profile"
            self._status(f"new profile not loaded: {err}", error=True)
            return
        svc = getattr(arrival, "service", None)
        if self.service is not None and svc is not None and svc != self.service:
            return
        if not self.follow:
            self.pending = arrival
            self._set_title()
            self._status(f"newer profile {Path(path).name}: z to follow")
            return
        mine, theirs = _kind_word(self.profile_path.name), _kind_word(Path(path).name)
        if mine and theirs and mine != theirs:
            return  # a heap capture while showing CPU: the name says it, no need to decode
        self.arrived_at = getattr(arrival, "seen_at", None) or time.monotonic()
        self.reload(Path(path), followed=True)


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

    def on_mount(self) -> None:
        self.push_screen(self.profile_screen)


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
    app = ProfileViewerApp(screen, theme=getattr(args, "theme", None) or "warroom")
    app.run()
    return int(app.return_code or 0)
