"""What the flame graph widget draws: one layout row as a `Strip` of labelled blocks, the
style of a node (package colour or diff class, search match, zoom context, selection), and
the one-line details of the selected node.

Pure functions of the core's FlameTree/FlameLayout and a Palette, so the widget
(tui/ui/widgets/flamegraph.py) is left with state, keys and caching.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui.core.pprof.flamegraph import FlameLayout, format_value
from tui.core.pprof.flametree import FlameTree
from tui.core.pprof.names import fit_label
from tui.ui.widgets.flame_palette import Palette


def render_row(
    lay: FlameLayout, tree: FlameTree, row: int, style_of: Callable[[int], Style], blank: Style
) -> Strip:
    """Layout row `row` (0 = root) as blocks: a name (`~` for an inlined frame, italic) cut
    to the block, the block's last cell dimmed so neighbours stay apart; `style_of(node)`
    gives each block its style."""
    width = lay.width
    s = lay.row_slice(row)
    segs: list[Segment] = []
    x = 0
    for i in range(s.start, s.stop):
        node = int(lay.node[i])
        a, b = int(lay.x0[i]), int(lay.x1[i])
        if a > x:
            segs.append(Segment(" " * (a - x), blank))
        style = style_of(node)
        w = b - a
        frame = int(tree.frame[node])
        inline = frame >= 0 and bool(tree.inline[frame])
        if w >= 3:
            name = tree.name(node)
            label = ("~" if inline else "") + fit_label(name, w - 1 - inline)
            text = label.ljust(w - 1)[: w - 1]
            segs.append(Segment(text, style + Style(italic=inline)))
            segs.append(Segment(" ", style + Style(dim=True)))
        else:
            segs.append(Segment(" " * w, style))
        x = b
    if x < width:
        segs.append(Segment(" " * (width - x), blank))
    return Strip(segs, width)


def node_style(
    node: int,
    pal: Palette,
    package_class: int,
    *,
    diff_class: np.ndarray | None,
    match_nodes: np.ndarray | None,
    zoom_root: int,
    selected: int | None,
) -> Style:
    """The diff class's colour (or the package's), muted unless it matches a search, muted
    above the zoom root, reversed when selected."""
    if diff_class is not None:
        style = pal.diff.get(int(diff_class[node]), pal.muted)
    else:
        style = pal.packages[package_class]
    if match_nodes is not None:
        style = pal.match if match_nodes[node] else pal.muted
    if node < zoom_root:
        style = pal.muted  # context bars above the zoom root
    if node == selected:
        style = style + Style(reverse=True, bold=True)
    return style


def node_details(tree: FlameTree, node: int, zoom_root: int, unit: str) -> str:
    """One line: full name, file:line, self and total with units, % of all and of zoom."""
    total_all = int(tree.total[0]) or 1
    total_zoom = int(tree.total[zoom_root]) or 1
    v = int(tree.total[node])
    sv = tree.self_value(node)
    f = int(tree.frame[node])
    where = ""
    if f >= 0 and len(tree.files) > f and tree.files[f]:
        line = tree.lines[f] if len(tree.lines) > f else 0
        where = f"  {tree.files[f]}" + (f":{line}" if line else "")
    inline = " (inline)" if tree.is_inline(node) else ""
    # numbers before the file: on an 80-column terminal they are what must stay visible
    text = (
        f"{tree.name(node)}{inline}  total {format_value(v, unit)}"
        f"  {100 * v / total_all:.2f}% of all  {100 * v / total_zoom:.2f}% of zoom"
        f"  self {format_value(sv, unit)}"
    )
    if "base" in tree.extra and "cur" in tree.extra:
        b, c = int(tree.extra["base"][node]), int(tree.extra["cur"][node])
        bs, cs = int(tree.extra["base"][0]) or 1, int(tree.extra["cur"][0]) or 1
        text += (
            f"  base {format_value(b, unit)} ({100 * b / bs:.2f}%) -> "
            f"{format_value(c, unit)} ({100 * c / cs:.2f}%)"
        )
    return text + where
