"""Flame graph layout: which node covers which terminal cells, and the labels and colours.

Pure numpy, no terminal. A layout for a zoom root and a width maps the tree's absolute
offsets (tui.core.pprof.flametree) to cells with one monotone integer formula, so children
nest exactly inside their parents and siblings share their borders: no lost or doubled cells.

A node narrower than one cell is not drawn, and neither is its subtree. Candidate nodes come
from a per-tree list sorted by width, so a layout touches only nodes wide enough to draw,
not the 400k nodes of a big profile.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tui.core.pprof.flametree import FlameTree
from tui.core.pprof.names import package_of

# ---- layout -----------------------------------------------------------------------------


@dataclass
class FlameLayout:
    """Visible nodes of one zoom root at one width, sorted by (row, x0). Row = depth."""

    root: int
    width: int
    node: np.ndarray
    row: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    row_start: np.ndarray  # nodes of row r: [row_start[r], row_start[r + 1])
    scanned: int = 0  # nodes looked at to build it (for tests of "narrow nodes cost nothing")

    @property
    def rows(self) -> int:
        return int(self.row_start.shape[0]) - 1

    def row_slice(self, r: int) -> slice:
        if r < 0 or r >= self.rows:
            return slice(0, 0)
        return slice(int(self.row_start[r]), int(self.row_start[r + 1]))

    def index_of(self, node: int) -> int | None:
        hits = np.nonzero(self.node == node)[0]
        return int(hits[0]) if hits.shape[0] else None

    def at(self, r: int, x: int) -> int | None:
        """The node drawn at row r, cell x, or None."""
        s = self.row_slice(r)
        if s.start == s.stop:
            return None
        k = int(np.searchsorted(self.x0[s], x, side="right")) - 1
        if k < 0:
            return None
        i = s.start + k
        return int(self.node[i]) if x < int(self.x1[i]) else None

    def cells(self, node: int) -> tuple[int, int, int] | None:
        i = self.index_of(node)
        if i is None:
            return None
        return int(self.row[i]), int(self.x0[i]), int(self.x1[i])

    def neighbour(self, node: int, step: int) -> int | None:
        """The visible node `step` places left (-1) or right (+1) in the same row."""
        i = self.index_of(node)
        if i is None:
            return None
        s = self.row_slice(int(self.row[i]))
        j = i + step
        return int(self.node[j]) if s.start <= j < s.stop else None

    def visible_children(self, tree: FlameTree, node: int) -> list[int]:
        cell = self.cells(node)
        if cell is None:
            return []
        r, a, b = cell
        s = self.row_slice(r + 1)
        out = []
        for i in range(s.start, s.stop):
            if int(self.x0[i]) >= b:
                break
            if int(self.x1[i]) > a and int(tree.parent[int(self.node[i])]) == node:
                out.append(int(self.node[i]))
        return out


def layout(tree: FlameTree, root: int, width: int) -> FlameLayout:
    """Cells for the subtree of `root` across `width` columns, plus root's ancestors.

    Cell borders are floor((start - start[root]) * width / total[root]) of absolute offsets,
    a monotone map, so nesting is exact. A node is drawn when it is at least one cell wide
    (total * width >= total[root]); its subtree is then skipped for free.
    """
    width = max(1, int(width))
    start = tree.start
    t_root = int(tree.total[root])
    lo, hi = root, int(tree.end[root])
    anc = np.array(tree.ancestors(root)[:-1], dtype=np.int64)
    if t_root <= 0:
        nodes = np.array([root], dtype=np.int64)
        scanned = 1
    else:
        need = -(-t_root // width)  # ceil(t_root / width): at least one cell wide
        by_width = tree.by_width
        assert tree._sorted_neg is not None
        k = int(np.searchsorted(tree._sorted_neg, -need, side="right"))
        if k < hi - lo:
            cand = by_width[:k]
            nodes = cand[(cand >= lo) & (cand < hi)]
            scanned = k
        else:
            sub = np.arange(lo, hi, dtype=np.int64)
            nodes = sub[tree.total[lo:hi] >= need]
            scanned = hi - lo
    s0 = int(start[root])
    rel = start[nodes] - s0
    ends = rel + tree.total[nodes]
    if t_root > 0 and t_root * width < (1 << 62):
        x0 = rel * width // t_root
        x1 = ends * width // t_root
    elif t_root > 0:
        x0 = np.floor(rel / t_root * width).astype(np.int64)
        x1 = np.floor(ends / t_root * width).astype(np.int64)
    else:
        x0 = np.zeros(nodes.shape[0], dtype=np.int64)
        x1 = np.full(nodes.shape[0], width, dtype=np.int64)
    np.clip(x0, 0, width, out=x0)
    np.clip(x1, 0, width, out=x1)
    keep = x1 > x0
    nodes, x0, x1 = nodes[keep], x0[keep], x1[keep]
    # ancestors of the zoom root: full-width context bars above it
    nodes = np.concatenate([anc, nodes])
    x0 = np.concatenate([np.zeros(anc.shape[0], dtype=np.int64), x0])
    x1 = np.concatenate([np.full(anc.shape[0], width, dtype=np.int64), x1])
    rows = tree.depth[nodes].astype(np.int64)
    order = np.lexsort((x0, rows))
    nodes, rows, x0, x1 = nodes[order], rows[order], x0[order], x1[order]
    nrows = int(rows[-1]) + 1 if rows.shape[0] else 0
    row_start = np.searchsorted(rows, np.arange(nrows + 1), side="left")
    return FlameLayout(root, width, nodes, rows, x0, x1, row_start, scanned)


# ---- names, labels, colours -------------------------------------------------------------


def color_class(name: str, classes: int) -> int:
    """A stable colour class per package, so one package keeps one colour everywhere."""
    pkg = package_of(name) or name.split("::", 1)[0]
    return zlib.crc32(pkg.encode()) % max(1, classes)


# ---- search -----------------------------------------------------------------------------


def search_frames(names: Sequence[str], pattern: str) -> np.ndarray:
    """Boolean per frame id: does the name match the regex? Raises re.error on bad input."""
    rx = re.compile(pattern)
    return np.fromiter((rx.search(n) is not None for n in names), dtype=bool, count=len(names))


def node_matches(tree: FlameTree, frame_mask: np.ndarray) -> np.ndarray:
    fr = tree.frame.astype(np.int64)
    out = np.zeros(fr.shape[0], dtype=bool)
    ok = fr >= 0
    out[ok] = frame_mask[fr[ok]]
    return out


def matched_share(tree: FlameTree, node_mask: np.ndarray, root: int) -> tuple[int, int]:
    """(value under a matching frame, total) inside the zoom root: matched stacks counted once.

    A match whose ancestor (within the zoom) also matches is already counted by it.
    """
    lo, hi = root, int(tree.end[root])
    hits = np.nonzero(node_mask[lo:hi])[0] + lo
    if hits.shape[0] == 0:
        return 0, int(tree.total[root])
    ends = tree.end[hits].astype(np.int64)
    reach = np.maximum.accumulate(ends)
    covered = np.zeros(hits.shape[0], dtype=bool)
    covered[1:] = reach[:-1] > hits[1:]
    return int(tree.total[hits[~covered]].sum()), int(tree.total[root])


# ---- numbers ----------------------------------------------------------------------------


def format_value(v: float, unit: str) -> str:
    """A value with its pprof unit scaled for reading: 1.53s, 12.4MiB, 3.2k."""
    a = abs(v)
    if unit in ("nanoseconds", "ns"):
        for div, u in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if a >= div:
                return f"{v / div:.3g}{u}"
        return f"{v:.0f}ns"
    if unit in ("bytes", "B"):
        for div, u in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if a >= div:
                return f"{v / div:.3g}{u}"
        return f"{v:.0f}B"
    for div, u in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{u}"
    return f"{v:.0f}"
