"""The flame graph widget: a ScrollView drawn line by line from a cached layout.

Like toolong's LogLines, `render_line` returns cached `Strip`s; the layout (which node owns
which cells) is computed by tui.core.pprof.flamegraph only when the tree, zoom or width
changes, and a selection change re-renders just the two rows involved. Colours come from
the app's theme variables (tui/ui/widgets/flame_palette.py), so the 16-colour bastion theme
stays within ANSI colours; a row's blocks, a node's style and the details line are drawn by
tui/ui/widgets/flame_render.py.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import numpy as np
from rich.style import Style
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.pprof.flamegraph import (
    FlameLayout,
    color_class,
    layout,
    matched_share,
    node_matches,
    search_frames,
)
from tui.core.pprof.flametree import FlameTree
from tui.ui.widgets.flame_palette import Palette
from tui.ui.widgets.flame_render import node_details, node_style, render_row

Orientation = Literal["icicle", "flame"]
PACKAGE_CLASSES = 8
LINE_CACHE = 1024  # rendered rows kept: more than any terminal shows of a flame graph


class FlameGraph(ScrollView, can_focus=True):
    """An interactive flame graph of a `FlameTree`; posts `Selected` and `Zoomed`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "left", show=False, id="graph.left"),
        Binding("right,l", "move(1)", "right", show=False, id="graph.right"),
        Binding("up,k", "vertical(-1)", "up", show=False, id="graph.up"),
        Binding("down,j", "vertical(1)", "down", show=False, id="graph.down"),
        Binding("enter", "zoom", "zoom", id="graph.zoom"),
        Binding("escape", "zoom_back", "back", id="graph.zoom_back"),
        Binding("home", "zoom_root", "top", show=False, id="graph.zoom_root"),
        Binding("n", "next_match(1)", "next", show=False, id="graph.next_match"),
        Binding("N", "next_match(-1)", "prev", show=False, id="graph.previous_match"),
        Binding("o", "toggle_orientation", "flip", id="graph.flip"),
    ]
    DEFAULT_CSS = """
    FlameGraph { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    class Selected(Message):
        def __init__(self, graph: FlameGraph, node: int | None) -> None:
            super().__init__()
            self.graph = graph
            self.node = node

    class Zoomed(Message):
        def __init__(self, graph: FlameGraph, root: int) -> None:
            super().__init__()
            self.graph = graph
            self.zoom_root = root

    def __init__(
        self,
        *,
        orientation: Orientation = "icicle",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.flame: FlameTree | None = None
        self.sibling_order = "name"  # or "heavy": speedscope's left heavy (FlameTree.set_order)
        self.unit = ""
        self.orientation: Orientation = orientation
        self.zoom_root = 0
        self.history: list[int] = []
        self.selected: int | None = None
        self.diff_class: np.ndarray | None = None
        self.match_nodes: np.ndarray | None = None
        self.search_pattern = ""
        self.flame_layout: FlameLayout | None = None
        self._strips: LRUCache[int, Strip] = LRUCache(LINE_CACHE)  # rendered rows
        self._palette: Palette | None = None
        self._name_class: dict[int, int] = {}

    # -- data ---------------------------------------------------------------------------------

    def set_tree(
        self,
        tree: FlameTree,
        unit: str = "",
        keep_view: bool = True,
        diff_class: np.ndarray | None = None,
    ) -> None:
        """Show `tree`; with keep_view the zoom, history and selection follow call paths."""
        old = self.flame
        paths = None
        if keep_view and old is not None:
            paths = (
                old.path(self.zoom_root),
                [old.path(h) for h in self.history],
                None if self.selected is None else old.path(self.selected),
            )
        self.flame, self.unit, self.diff_class = tree, unit, diff_class
        tree.set_order(self.sibling_order)
        self._name_class = {}
        self.zoom_root, self.history, self.selected = 0, [], 0
        if paths is not None:
            root = tree.find(paths[0])
            self.zoom_root = root if root is not None else 0
            self.history = [h for h in (tree.find(p) for p in paths[1]) if h is not None]
            if paths[2] is not None:
                sel = tree.find(paths[2])
                self.selected = sel if sel is not None else self.zoom_root
        if self.search_pattern:
            self.match_nodes = node_matches(tree, search_frames(tree.names, self.search_pattern))
        self._relayout()
        self.post_message(self.Selected(self, self.selected))

    def set_sibling_order(self, order: str) -> None:
        """Siblings by name or heaviest first; node ids stay, so zoom and selection do too."""
        self.sibling_order = order
        if self.flame is not None:
            self.flame.set_order(order)
            self._relayout()

    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _relayout(self) -> None:
        self._strips.clear()
        if self.flame is None:
            self.flame_layout = None
            self.virtual_size = Size(self._width(), 0)
            self.refresh()
            return
        self.flame_layout = layout(self.flame, self.zoom_root, self._width())
        if self.selected is not None and self.flame_layout.index_of(self.selected) is None:
            self.selected = self.zoom_root
        self.virtual_size = Size(self._width(), self.flame_layout.rows)
        self.refresh()
        self.call_after_refresh(self._scroll_to_selected)

    def on_resize(self, event: Resize) -> None:
        if self.flame is not None and (
            self.flame_layout is None or self.flame_layout.width != self._width()
        ):
            self._relayout()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", lambda *_: self._retheme(), init=False)

    def _retheme(self) -> None:
        self._palette = None
        self._strips.clear()
        self.refresh()

    # -- geometry -----------------------------------------------------------------------------

    def row_to_y(self, row: int) -> int:
        if self.flame_layout is None or self.orientation == "icicle":
            return row
        return self.flame_layout.rows - 1 - row

    def _scroll_to_selected(self) -> None:
        if self.flame_layout is None or self.selected is None:
            return
        cell = self.flame_layout.cells(self.selected)
        if cell is None:
            return
        y = self.row_to_y(cell[0])
        top = self.scroll_offset.y
        h = self.scrollable_content_region.height
        if y < top or y >= top + h:
            self.scroll_to(y=max(0, y - h // 2), animate=False)

    # -- drawing ------------------------------------------------------------------------------

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            theme = self.app.current_theme
            self._palette = Palette.from_variables(
                self.app.get_css_variables(), bool(getattr(theme, "ansi", False))
            )
        return self._palette

    def _class_of(self, frame: int) -> int:
        got = self._name_class.get(frame)
        if got is None:
            assert self.flame is not None
            name = self.flame.names[frame] if frame >= 0 else "root"
            got = self._name_class[frame] = color_class(name, PACKAGE_CLASSES)
        return got

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width or self.size.width
        vy = y + scroll_y
        strip = self._strips.get(vy)
        if strip is None:
            strip = self._render_row(vy)
            self._strips.set(vy, strip)
        return strip.crop(scroll_x, scroll_x + width)

    def _render_row(self, vy: int) -> Strip:
        lay, tree = self.flame_layout, self.flame
        if lay is None or tree is None:
            return Strip.blank(self._width() if lay is None else lay.width)
        row = vy if self.orientation == "icicle" else lay.rows - 1 - vy
        pal = self.palette
        return render_row(lay, tree, row, lambda node: self._style(node, pal), pal.blank)

    def _style(self, node: int, pal: Palette) -> Style:
        assert self.flame is not None
        return node_style(
            node,
            pal,
            self._class_of(int(self.flame.frame[node])),
            diff_class=self.diff_class,
            match_nodes=self.match_nodes,
            zoom_root=self.zoom_root,
            selected=self.selected,
        )

    def _invalidate_node(self, node: int | None) -> None:
        if node is None or self.flame_layout is None:
            return
        cell = self.flame_layout.cells(node)
        if cell is not None:
            y = self.row_to_y(cell[0])
            self._strips.discard(y)
            self.refresh_lines(y)

    # -- selection and zoom -------------------------------------------------------------------

    def select(self, node: int | None) -> None:
        if node == self.selected:
            return
        old, self.selected = self.selected, node
        self._invalidate_node(old)
        self._invalidate_node(node)
        self._scroll_to_selected()
        self.post_message(self.Selected(self, node))

    def zoom(self, node: int) -> None:
        if self.flame is None or node == self.zoom_root:
            return
        self.history.append(self.zoom_root)
        self.zoom_root = node
        self.selected = node
        self._relayout()
        self.post_message(self.Zoomed(self, node))
        self.post_message(self.Selected(self, node))

    def action_zoom(self) -> None:
        if self.selected is not None:
            self.zoom(self.selected)

    def action_zoom_back(self) -> None:
        if not self.history:
            raise SkipAction()  # let the screen use Esc (close search, leave the view)
        prev_root = self.zoom_root
        self.zoom_root = self.history.pop()
        self.selected = prev_root
        self._relayout()
        self.post_message(self.Zoomed(self, self.zoom_root))
        self.post_message(self.Selected(self, self.selected))

    def action_zoom_root(self) -> None:
        if self.zoom_root != 0:
            self.zoom(0)

    def action_move(self, step: int) -> None:
        if self.flame_layout is None or self.selected is None:
            return
        nxt = self.flame_layout.neighbour(self.selected, step)
        if nxt is not None:
            self.select(nxt)

    def action_vertical(self, step: int) -> None:
        """Up/down: towards the root or the leaves, whichever way the graph is drawn."""
        if self.flame_layout is None or self.flame is None or self.selected is None:
            return
        deeper = step > 0 if self.orientation == "icicle" else step < 0
        if deeper:
            kids = self.flame_layout.visible_children(self.flame, self.selected)
            if kids:
                cell = self.flame_layout.cells(self.selected)
                assert cell is not None
                mid = (cell[1] + cell[2]) / 2
                best = min(kids, key=lambda k: abs(sum(self.flame_layout.cells(k)[1:]) / 2 - mid))  # type: ignore[union-attr,index]
                self.select(best)
        else:
            p = int(self.flame.parent[self.selected])
            if p >= 0:
                self.select(p)

    def action_toggle_orientation(self) -> None:
        self.orientation = "flame" if self.orientation == "icicle" else "icicle"
        self._strips.clear()
        self.refresh()
        self.call_after_refresh(self._scroll_to_selected)

    def on_click(self, event: Click) -> None:
        if self.flame_layout is None:
            return
        vy = event.y + self.scroll_offset.y
        row = vy if self.orientation == "icicle" else self.flame_layout.rows - 1 - vy
        node = self.flame_layout.at(row, event.x)
        if node is not None:
            if event.chain >= 2:
                self.zoom(node)
            else:
                self.select(node)

    # -- search -------------------------------------------------------------------------------

    def set_search(self, pattern: str) -> tuple[int, int]:
        """Highlight frames matching `pattern`; returns (matched, total) of the zoom root.

        Raises re.error for a bad pattern (the screen shows it, nothing changes).
        """
        if self.flame is None:
            return 0, 0
        if not pattern:
            self.search_pattern, self.match_nodes = "", None
            self._strips.clear()
            self.refresh()
            return 0, int(self.flame.total[self.zoom_root])
        mask = search_frames(self.flame.names, pattern)
        self.search_pattern = pattern
        self.match_nodes = node_matches(self.flame, mask)
        self._strips.clear()
        self.refresh()
        return self.search_share()

    def search_share(self) -> tuple[int, int]:
        if self.flame is None or self.match_nodes is None:
            return 0, 0
        return matched_share(self.flame, self.match_nodes, self.zoom_root)

    def action_next_match(self, step: int) -> None:
        if self.flame_layout is None or self.match_nodes is None:
            return
        hits = [
            i
            for i in range(len(self.flame_layout.node))
            if self.match_nodes[self.flame_layout.node[i]]
        ]
        if not hits:
            return
        cur = self.flame_layout.index_of(self.selected) if self.selected is not None else None
        if cur is None:
            k = 0 if step > 0 else len(hits) - 1
        elif step > 0:
            k = next((j for j, h in enumerate(hits) if h > cur), 0)
        else:
            k = next((j for j in range(len(hits) - 1, -1, -1) if hits[j] < cur), len(hits) - 1)
        self.select(int(self.flame_layout.node[hits[k]]))

    # -- text ---------------------------------------------------------------------------------

    def details(self, node: int | None = None) -> str:
        """One line: full name, file:line, self and total with units, % of all and of zoom."""
        node = self.selected if node is None else node
        if self.flame is None or node is None:
            return ""
        return node_details(self.flame, node, self.zoom_root, self.unit)


def compile_search(pattern: str) -> str | None:
    """None if the regex compiles, else the error text for the status line."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"bad regex {pattern!r}: {exc}"
    return None
