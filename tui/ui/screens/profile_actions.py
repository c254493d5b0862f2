"""What the profile screen's keys do to the view: search, sandwich, filters, widths, order.

A mixin of `ProfileScreen` (tui/ui/screens/profile_viewer.py, which holds the bindings);
the state it changes is declared on `ProfileLoading`. Work that takes a while on a 400k-node
tree (the sandwich, new sibling offsets) runs in a thread worker and is applied only if the
view is still the one it was computed for.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui.core.pprof.flamecallers import callees_tree, callers_tree
from tui.core.pprof.flamediff import WIDTH_MODES, diff_flame_tree
from tui.core.pprof.flametree import FlameTree
from tui.ui.screens.profile_load import ProfileLoading, exact
from tui.ui.widgets.flamegraph import FlameGraph, compile_search
from tui.ui.widgets.function_table import FunctionTable, RegressionRanking


class ProfileActions(ProfileLoading):
    """The view's actions and the graph's and tables' events."""

    # -- selection between the graph and the tables ------------------------------------------

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

    # -- search -------------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("shown")
        box.value = self.graph.search_pattern
        box.focus()

    def search_submitted(self, box: Input, value: str) -> None:
        """Enter in the search box: a bad regex is reported and the box stays open."""
        pattern = value.strip()
        problem = compile_search(pattern) if pattern else None
        if problem:
            self._status(problem, error=True)
            return
        self.graph.set_search(pattern)
        box.remove_class("shown")
        self.graph.focus()
        if pattern:
            self._search_status()
            self.graph.action_next_match(1)
        else:
            self._status("search cleared")

    # -- what is shown ------------------------------------------------------------------------

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
        self.filters[kind].append(exact(name))
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

    # -- panes and focus ----------------------------------------------------------------------

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

    # -- sibling order ------------------------------------------------------------------------

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
