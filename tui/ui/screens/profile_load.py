"""Loading for the profile screen: decode, filter, build the flame tree, fill the side table.

The work is `prepare_view` (plain functions, no screen), run in a thread worker so a
1M-sample profile never freezes the keyboard. Each stage is posted as a `LoadProgress`
message, which never waits for a repaint; the finished view is handed over with
`call_from_thread`, so the worker ends only once the graph shows it, and the side table
(23k functions take a while) follows the graph. `warroom profile FILE` runs `prepare_view`
before Textual starts (`ProfileLoading.prepare`) so the flame graph is in the first frame.

`ProfileLoading` is the base of `ProfileScreen` (tui/ui/screens/profile_viewer.py): the
screen's state, the loading, and the title and status lines every other part writes to.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ProgressBar, Static
from textual.worker import get_current_worker

from tui.core.pprof.filters import apply_filters
from tui.core.pprof.filterspec import FilterSpec
from tui.core.pprof.flamediff import diff_flame_tree, vanished_paths
from tui.core.pprof.flamegraph import format_value
from tui.core.pprof.flametree import FlameTree
from tui.core.pprof.load import load_profile
from tui.core.pprof.model import Profile
from tui.errors import UserError
from tui.ui.widgets.flamegraph import FlameGraph
from tui.ui.widgets.function_table import FunctionTable, RegressionRanking

STAGES = ("reading", "filtering", "building call tree", "laying out", "function table")
# Profiles up to this many locations are made ready before the UI starts (a few tens of
# milliseconds); bigger ones load in the worker behind the progress bar.
PREPARE_LOCATIONS = 100_000


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


@dataclass(frozen=True)
class ViewOptions:
    """How the screen shows a profile: what `prepare_view` needs besides the profiles."""

    sample_type: str | None
    filters: dict[str, list[str]]
    normalize: bool
    width_mode: str
    sibling_order: str


class LoadProgress(Message):
    """Stage `stage` of STAGES has begun in the load worker of generation `generation`."""

    def __init__(self, stage: int, generation: int) -> None:
        super().__init__()
        self.stage = stage
        self.generation = generation


def exact(name: str) -> str:
    """A regex matching exactly the function `name` (the F/I/H filters, `v`'s listing)."""
    return "^" + re.escape(name) + "$"


def prepare_view(
    path: Path,
    cur_raw: Profile,
    base_raw: Profile | None,
    view: ViewOptions,
    stage: Callable[[int], None] = lambda k: None,
) -> Loaded:
    """Filter, build the flame (or diff flame) tree and warm its layout arrays.

    Raises UserError, ValueError or re.error on a bad filter or sample type.
    """
    t0 = time.perf_counter()
    t = cur_raw.sample_index(view.sample_type) if view.sample_type else cur_raw.default_index
    stage(1)
    filt = FilterSpec.from_lists(view.filters)
    cur = apply_filters(cur_raw, filt)
    base = apply_filters(base_raw, filt) if base_raw is not None else None
    stage(2)
    unit = cur.sample_types[t][1]
    diff = None
    if base is not None:
        from tui.core.pprof.diff import diff_trees

        diff = diff_trees(base, cur, t, normalize=view.normalize)
        tree = diff_flame_tree(diff, view.width_mode)
    else:
        tree = FlameTree.from_call_tree(cur.tree, t)
    stage(3)
    tree.set_order(view.sibling_order)
    tree.warm()
    stage(4)
    return Loaded(path, cur, base, t, tree, unit, [], None, diff, time.perf_counter() - t0)


def fill_table(loaded: Loaded) -> None:
    """The side table's content: the regression ranking of a diff, else the function table."""
    if loaded.base is not None:
        from tui.core.pprof.diff import rank_regressions

        loaded.report = rank_regressions(loaded.base, loaded.cur, loaded.sample_index)
    else:
        from tui.core.pprof.table import PPROF_EDGE_FRACTION, function_table

        loaded.rows = function_table(
            loaded.cur, loaded.sample_index, edge_fraction=PPROF_EDGE_FRACTION
        )


class ProfileLoading(Screen[None]):
    """The profile screen's state and its loading; set up by ProfileScreen.__init__."""

    profile_path: Path
    base_path: Path | None
    sample_type: str | None
    filters: dict[str, list[str]]
    normalize: bool
    service: str | None
    follow: bool
    width_mode: str
    orientation: str
    sibling_order: str  # `L`: "heavy" lays siblings out widest first
    loaded: Loaded | None
    prepared: Loaded | None  # made before the UI started: shown by on_mount
    inverted_from: FlameTree | None
    pending: Any  # a newer profile announced while frozen
    arrived_at: float | None  # monotonic time of the arrival being loaded
    last_draw_latency: float | None
    load_error: str | None
    _raw: dict[Path, tuple[tuple[int, float], Profile]]
    _generation: int  # of the newest load started; older workers' messages are dropped
    _shown_generation: int

    @property
    def graph(self) -> FlameGraph:
        return self.query_one("#graph", FlameGraph)

    def view_options(self) -> ViewOptions:
        return ViewOptions(
            self.sample_type,
            {k: list(v) for k, v in self.filters.items()},
            self.normalize,
            self.width_mode,
            self.sibling_order,
        )

    # -- before the UI ------------------------------------------------------------------------

    def preload(self, path: Path, prof: Profile) -> None:
        """Hand over a profile already decoded (the CLI checks the file before the UI starts)."""
        st = path.stat()
        self._raw[path] = ((st.st_size, st.st_mtime), prof)

    def prepare(self, max_locations: int = PREPARE_LOCATIONS) -> None:
        """Build the view now, before the UI starts, for profiles of at most `max_locations`
        locations; on_mount then draws it in the first frame. Bigger ones, and any problem,
        are left to the load worker (progress bar, the problem in the status line)."""
        try:
            cur = self._read(self.profile_path)
            base = self._read(self.base_path) if self.base_path is not None else None
            if max(cur.n_locations, base.n_locations if base else 0) > max_locations:
                return
            self.prepared = prepare_view(self.profile_path, cur, base, self.view_options())
        except (UserError, ValueError, re.error):
            self.prepared = None

    def show_prepared(self) -> bool:
        """on_mount: draw the prepared view at once, the side table after the first frame."""
        loaded, self.prepared = self.prepared, None
        if loaded is None:
            return False
        self._generation += 1
        self._shown_generation = self._generation
        self._apply(loaded, keep_view=False)
        self.call_after_refresh(self._fill_table, loaded)
        return True

    @work(thread=True, group="profile-table")
    def _fill_table(self, loaded: Loaded) -> None:
        fill_table(loaded)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._apply_table, loaded)

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
        self._generation += 1
        self._load(keep_view, previous if followed else None, self._generation)

    @work(thread=True, exclusive=True, group="profile-load")
    def _load(self, keep_view: bool, previous: Path | None, generation: int) -> None:
        worker = get_current_worker()
        t0 = time.perf_counter()

        def stage(k: int) -> None:
            if not worker.is_cancelled:
                self.post_message(LoadProgress(k, generation))

        try:
            stage(0)
            cur_raw = self._read(self.profile_path)
            if self._other_kind(cur_raw, previous):
                assert previous is not None
                self.app.call_from_thread(
                    self._skip, self.profile_path, previous, cur_raw, generation
                )
                return
            base_raw = self._read(self.base_path) if self.base_path is not None else None
            loaded = prepare_view(self.profile_path, cur_raw, base_raw, self.view_options(), stage)
        except UserError as exc:
            self.app.call_from_thread(self._failed, str(exc), generation)
            return
        except (ValueError, re.error) as exc:
            message = f"{self.profile_path.name}: {exc}"
            self.app.call_from_thread(self._failed, message, generation)
            return
        if worker.is_cancelled:
            return
        loaded.seconds = time.perf_counter() - t0
        # Draw the graph first; the side table follows (23k functions take a while).
        self.app.call_from_thread(self._apply_generation, loaded, keep_view, generation)
        fill_table(loaded)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_table, loaded)

    def _other_kind(self, prof: Profile, previous: Path | None) -> bool:
        """A followed file whose sample types differ from the shown profile's."""
        shown = self.loaded
        if previous is None or shown is None:
            return False
        return [n for n, _ in prof.sample_types] != [n for n, _ in shown.cur.sample_types]

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

    def _skip(self, path: Path, previous: Path, prof: Profile, generation: int) -> None:
        """A followed file of another kind: keep the current view, say what was skipped."""
        self._shown_generation = generation
        if self.profile_path == path:
            self.profile_path = previous
        self.arrived_at = None
        self.query_one("#progress", ProgressBar).add_class("hidden")
        kinds = ", ".join(n for n, _ in prof.sample_types)
        self._status(f"new {path.name} not shown: another kind of profile ({kinds})")

    def on_load_progress(self, message: LoadProgress) -> None:
        if message.generation != self._generation or self._shown_generation == self._generation:
            return  # an older load's stage, or one that arrived after its result
        self.query_one("#progress", ProgressBar).update(progress=message.stage)
        self._status(f"{STAGES[message.stage]} {self.profile_path.name} ...")

    def _failed(self, message: str, generation: int) -> None:
        self._shown_generation = generation
        self.load_error = message
        self.query_one("#progress", ProgressBar).add_class("hidden")
        self._status(message, error=True)
        self.app.log.warning(message)

    def _apply_generation(self, loaded: Loaded, keep_view: bool, generation: int) -> None:
        self._shown_generation = generation
        self._apply(loaded, keep_view)

    def _apply(self, loaded: Loaded, keep_view: bool) -> None:
        self.loaded = loaded
        self.load_error = None
        self.inverted_from = None
        self.sample_type = loaded.cur.sample_types[loaded.sample_index][0]
        graph = self.graph
        diff_class = loaded.tree.extra.get("class") if loaded.diff is not None else None
        graph.set_tree(loaded.tree, loaded.unit, keep_view=keep_view, diff_class=diff_class)
        self.query_one("#details", Static).update(graph.details())
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
        """One line: on a narrow terminal it is compact (no "profile", no ".pb.gz", names
        shortened from the middle) so the sample type and following/frozen stay in view."""
        cur = self.profile_path.name
        base = self.base_path.name if self.base_path is not None else None
        width = self.app.size.width
        title = self._title(cur, base)
        if len(title) > width:
            cur, base = _stem(cur), None if base is None else _stem(base)
            over = len(self._title(cur, base, " · ")) - width
            cut = max(0, -(-over // (1 if base is None else 2)))
            base = None if base is None else _middle(base, cut)
            title = self._title(_middle(cur, cut), base, " · ")
        self.query_one("#title", Static).update(title)

    def _title(self, cur: str, base: str | None, sep: str = "  ·  ") -> str:
        parts = [f"profile {cur}" if sep == "  ·  " else cur]
        if base is not None:
            parts.append(f"vs {base} (width: {self.width_mode})")
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
        return sep.join(parts)

    def _search_status(self) -> None:
        got, total = self.graph.search_share()
        share = 100 * got / total if total else 0.0
        unit = self.loaded.unit if self.loaded else ""
        self._status(
            f"/{self.graph.search_pattern}/ matches {share:.2f}% of the zoom "
            f"({format_value(got, unit)} of {format_value(total, unit)}); n/N to step"
        )


def _stem(name: str) -> str:
    return name.removesuffix(".gz").removesuffix(".pb")


def _middle(name: str, cut: int) -> str:
    """`name` shorter by `cut` characters (down to 12), an ellipsis in the middle: the start
    says which service, the end which capture (its timestamp)."""
    room = max(12, len(name) - cut)
    if len(name) <= room:
        return name
    head = (room - 1) // 3
    return name[:head] + "…" + name[len(name) - (room - 1 - head) :]
