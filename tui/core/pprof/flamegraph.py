"""Flame graph layout: which node covers which terminal cells, and the labels and colours.

Pure numpy, no terminal. A `FlameTree` is a preorder tree (subtree of i = range(i, end[i]))
with one width value per node. Every node gets an absolute offset once; a layout for a zoom
root and a width maps offsets to cells with one monotone integer formula, so children nest
exactly inside their parents and siblings share their borders: no lost or doubled cells.

A node narrower than one cell is not drawn, and neither is its subtree. Candidate nodes come
from a per-tree list sorted by width, so a layout touches only nodes wide enough to draw,
not the 400k nodes of a big profile.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.pprof.names import package_of

ROOT_NAME = "root"
# Sibling order: "name" (alphabetical, pprof's flame graph) or "heavy" (widest first,
# speedscope's left heavy view). Only offsets change: node ids, zoom and selection stay.
ORDERS = ("name", "heavy")

# ---- trees ------------------------------------------------------------------------------


@dataclass
class FlameTree:
    """Preorder arrays plus the width value of each node (a sample type, or a diff mode).

    `frame[i]` indexes `names`/`inline` (-1: the synthetic root). `extra` carries per-node
    arrays for diffs (`base`, `cur`, `status`).
    """

    frame: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    end: np.ndarray
    total: np.ndarray  # int64 inclusive width value
    names: Sequence[str]
    inline: Sequence[bool]
    files: Sequence[str] = ()
    lines: Sequence[int] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    order: str = "name"
    _start: np.ndarray | None = None
    _by_width: np.ndarray | None = None
    _sorted_neg: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @classmethod
    def from_call_tree(cls, tree: Any, sample_index: int) -> FlameTree:
        """Adapter for the engine's `CallTree` (tui.core.pprof.model)."""
        fr = tree.frames
        return cls(
            frame=tree.frame,
            parent=tree.parent,
            depth=tree.depth,
            end=tree.end,
            total=np.asarray(tree.total(sample_index), dtype=np.int64),
            names=fr.names,
            inline=fr.inlines,
            files=fr.files,
            lines=fr.lines,
        )

    def name(self, node: int) -> str:
        f = int(self.frame[node])
        return ROOT_NAME if f < 0 else self.names[f]

    def is_inline(self, node: int) -> bool:
        f = int(self.frame[node])
        return f >= 0 and bool(self.inline[f])

    def self_value(self, node: int) -> int:
        lo, hi = node + 1, int(self.end[node])
        kids = np.nonzero(self.parent[lo:hi] == node)[0] + lo
        return int(self.total[node] - self.total[kids].sum())

    def path(self, node: int) -> tuple[int, ...]:
        """Frame ids from the top down to node (the node's identity across trees)."""
        out = []
        while node > 0:
            out.append(int(self.frame[node]))
            node = int(self.parent[node])
        return tuple(reversed(out))

    def find(self, path: Sequence[int]) -> int | None:
        """The node for a frame-id path, or None: used to keep the zoom across reloads."""
        node = 0
        for f in path:
            lo, hi = node + 1, int(self.end[node])
            kids = np.nonzero((self.parent[lo:hi] == node) & (self.frame[lo:hi] == f))[0]
            if kids.shape[0] == 0:
                return None
            node = int(kids[0]) + lo
        return node

    def ancestors(self, node: int) -> list[int]:
        out = []
        while node >= 0:
            out.append(node)
            node = int(self.parent[node])
        return list(reversed(out))

    @property
    def start(self) -> np.ndarray:
        """Absolute offset of every node: children left to right, the parent's self last."""
        if self._start is None:
            self._start = self.offsets(self.order)
        return self._start

    def set_order(self, order: str, start: np.ndarray | None = None) -> None:
        """Lay siblings out by name or heaviest first: `start` from `offsets(order)` computed
        in a worker thread, else recomputed when next needed."""
        if order not in ORDERS:
            raise ValueError(f"sibling order must be one of {', '.join(ORDERS)}, got {order!r}")
        if order != self.order or start is not None:
            self.order = order
            self._start = start

    def offsets(self, order: str) -> np.ndarray:
        """The offsets of `order` without touching this tree's cached ones."""
        if order == "heavy":
            return heavy_offsets(self.parent, self.end, self.total)
        return absolute_offsets(self.parent, self.end, self.total)

    @property
    def by_width(self) -> np.ndarray:
        """Node ids sorted by width, widest first (computed once per tree)."""
        if self._by_width is None:
            self._by_width = np.argsort(-self.total, kind="stable").astype(np.int64)
            self._sorted_neg = -self.total[self._by_width]
        return self._by_width

    def warm(self) -> None:
        """Compute the cached arrays now (call from a worker thread, not the UI thread)."""
        _ = self.start, self.by_width


def absolute_offsets(parent: np.ndarray, end: np.ndarray, total: np.ndarray) -> np.ndarray:
    """start[i] = (self of every node before i in preorder) - (self of i's ancestors).

    Nodes before i are its ancestors plus whole subtrees to its left; the latter add exactly
    the offset of i. Ancestors' selves are summed with a difference array over subtree ranges.
    """
    n = total.shape[0]
    total = total.astype(np.int64, copy=False)
    child_sum = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.add.at(child_sum, parent[1:].astype(np.int64), total[1:])
    self_ = total - child_sum
    before = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(self_, out=before[1:])
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, np.arange(1, n + 1), self_)
    np.subtract.at(diff, end.astype(np.int64), self_)
    anc = np.cumsum(diff)[:n]
    return before[:n] - anc


def heavy_offsets(parent: np.ndarray, end: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Offsets with each node's children widest first (ties by name: preorder), self last.

    A child's place inside its parent is the sum of its heavier siblings; a node's absolute
    offset sums those places along its path, added over subtree ranges with a difference array.
    """
    n = total.shape[0]
    total = total.astype(np.int64, copy=False)
    rel = np.zeros(n, dtype=np.int64)
    if n > 1:
        kids = np.arange(1, n, dtype=np.int64)
        par = parent[1:].astype(np.int64)
        order = np.lexsort((kids, -total[1:], par))
        k, p, w = kids[order], par[order], total[1:][order]
        cs = np.cumsum(w)
        first = np.ones(k.shape[0], dtype=bool)
        first[1:] = p[1:] != p[:-1]
        grp = np.maximum.accumulate(np.where(first, np.arange(k.shape[0]), 0))
        rel[k] = cs - w - (cs[grp] - w[grp])
    diff = np.zeros(n + 1, dtype=np.int64)
    diff[:n] += rel
    np.subtract.at(diff, end.astype(np.int64), rel)
    return np.cumsum(diff)[:n]


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


# ---- diff -------------------------------------------------------------------------------

# Classes of a diff node: -3..-1 less share (better), 0 neutral, 1..3 more share (worse).
DIFF_NEW = 4
DIFF_VANISHED = -4


def diff_classes(
    base: np.ndarray,
    cur: np.ndarray,
    base_sum: int,
    cur_sum: int,
    noise: float = 0.10,
    floor: float = 0.001,
    steps: tuple[float, float] = (0.25, 1.0),
) -> np.ndarray:
    """Colour class per node from the change in share of the whole profile.

    Neutral when the relative change of the node's share is under `noise` (10%) or the
    absolute change is under `floor` (0.1 percentage point of the profile): sampling noise
    must not paint the graph. Then 1-3 steps by relative change: < 25%, < 100%, more.
    """
    b = base.astype(np.float64) / max(1, base_sum)
    c = cur.astype(np.float64) / max(1, cur_sum)
    delta = c - b
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(b > 0, np.abs(delta) / np.where(b > 0, b, 1), np.inf)
    level = np.where(rel < steps[0], 1, np.where(rel < steps[1], 2, 3))
    out = np.sign(delta).astype(np.int8) * level.astype(np.int8)
    out[(rel < noise) | (np.abs(delta) < floor)] = 0
    out[(base == 0) & (cur > 0)] = DIFF_NEW
    out[(cur == 0) & (base > 0)] = DIFF_VANISHED
    return out


# ---- callers (invert / sandwich) --------------------------------------------------------


def _outermost(tree: FlameTree, frame_id: int) -> list[int]:
    """Occurrences of the frame not nested in another one (recursion counted once)."""
    occ = np.nonzero(tree.frame == frame_id)[0]
    tops = []
    reach = -1
    for i in occ.tolist():  # preorder: an occurrence inside an earlier one is recursion
        if i >= reach:
            tops.append(i)
            reach = int(tree.end[i])
    return tops


class _Trie:
    """Merge call paths into a tree; node 0 is the pivot function."""

    def __init__(self, frame_id: int) -> None:
        self.kids: list[dict[int, int]] = [{}]
        self.frames = [frame_id]
        self.values = [0]
        self.parent = [-1]

    def child(self, node: int, f: int) -> int:
        nxt = self.kids[node].get(f)
        if nxt is None:
            nxt = len(self.frames)
            self.kids[node][f] = nxt
            self.kids.append({})
            self.frames.append(f)
            self.values.append(0)
            self.parent.append(node)
        return nxt

    def to_tree(self, like: FlameTree) -> FlameTree:
        """Preorder arrays, siblings in frame-id (name) order like the engine's trees."""
        n = len(self.frames)
        order: list[int] = []
        stack = [0]
        frames, kids = self.frames, self.kids
        while stack:
            x = stack.pop()
            order.append(x)
            stack.extend(sorted(kids[x].values(), key=lambda k: frames[k], reverse=True))
        o = np.array(order, dtype=np.int64)
        pos = np.empty(n, dtype=np.int64)
        pos[o] = np.arange(n)
        par_raw = np.array(self.parent, dtype=np.int64)[o]
        parent = np.where(par_raw >= 0, pos[np.maximum(par_raw, 0)], -1).astype(np.int32)
        depth = np.zeros(n, dtype=np.int32)
        for k in range(1, n):
            depth[k] = depth[parent[k]] + 1
        size = np.ones(n, dtype=np.int64)
        for k in range(n - 1, 0, -1):
            size[parent[k]] += size[k]
        return FlameTree(
            frame=np.array(frames, dtype=np.int32)[o],
            parent=parent,
            depth=depth,
            end=(np.arange(n) + size).astype(np.int32),
            total=np.array(self.values, dtype=np.int64)[o],
            names=like.names,
            inline=like.inline,
            files=like.files,
            lines=like.lines,
        )


def callers_tree(tree: FlameTree, frame_id: int) -> FlameTree:
    """Inverted tree of `frame_id`: its callers, their callers, ... up to the root.

    Each stack through the function counts once, at its outermost occurrence (recursion
    does not double count). Node 0 is the function itself with its total.
    """
    trie = _Trie(frame_id)
    for i in _outermost(tree, frame_id):
        v = int(tree.total[i])
        trie.values[0] += v
        node = 0
        p = int(tree.parent[i])
        while p > 0:  # stop below the synthetic root
            node = trie.child(node, int(tree.frame[p]))
            trie.values[node] += v
            p = int(tree.parent[p])
    return trie.to_tree(tree)


def callees_tree(tree: FlameTree, frame_id: int) -> FlameTree:
    """Everything `frame_id` calls, merged over all its outermost call sites.

    The lower half of a sandwich view; node 0 is the function with the same total as in
    `callers_tree`.
    """
    tops = _outermost(tree, frame_id)
    if len(tops) == 1:  # one call site: the subtree itself, sliced without a Python loop
        i = tops[0]
        sl = slice(i, int(tree.end[i]))
        par = tree.parent[sl].astype(np.int64) - i
        par[0] = -1
        return FlameTree(
            frame=tree.frame[sl],
            parent=par.astype(np.int32),
            depth=(tree.depth[sl] - tree.depth[i]).astype(np.int32),
            end=(tree.end[sl].astype(np.int64) - i).astype(np.int32),
            total=tree.total[sl],
            names=tree.names,
            inline=tree.inline,
            files=tree.files,
            lines=tree.lines,
        )
    trie = _Trie(frame_id)
    parent, frame, total = tree.parent, tree.frame, tree.total
    for i in tops:
        trie.values[0] += int(total[i])
        lo, hi = i + 1, int(tree.end[i])
        where = {i: 0}
        par = parent[lo:hi].tolist()
        fr = frame[lo:hi].tolist()
        tot = total[lo:hi].tolist()
        for k in range(hi - lo):
            node = trie.child(where[par[k]], fr[k])
            trie.values[node] += tot[k]
            where[lo + k] = node
    return trie.to_tree(tree)


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


def function_rows(tree: FlameTree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame ids, flat, cum) for every frame in the tree, as `pprof -top` counts them.

    flat sums node self values; cum sums the node totals of each frame's outermost
    occurrences only, so recursion is counted once per stack.
    """
    n = len(tree)
    fr = tree.frame.astype(np.int64)
    child_sum = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.add.at(child_sum, tree.parent[1:].astype(np.int64), tree.total[1:])
    self_ = tree.total - child_sum
    real = np.nonzero(fr >= 0)[0]
    order = real[np.lexsort((real, fr[real]))]  # grouped by frame, preorder inside a group
    g = fr[order]
    key = g * (n + 1) + tree.end[order].astype(np.int64)
    reach = np.maximum.accumulate(key) if key.shape[0] else key
    covered = np.zeros(order.shape[0], dtype=bool)
    if order.shape[0] > 1:
        same = g[1:] == g[:-1]
        covered[1:] = same & (reach[:-1] - g[1:] * (n + 1) > order[1:])
    nf = int(fr.max()) + 1 if fr.shape[0] and fr.max() >= 0 else 0
    flat = np.zeros(nf, dtype=np.int64)
    cum = np.zeros(nf, dtype=np.int64)
    np.add.at(flat, fr[real], self_[real])
    top = order[~covered]
    np.add.at(cum, fr[top], tree.total[top])
    ids = np.nonzero((flat != 0) | (cum != 0))[0]
    return ids, flat[ids], cum[ids]


# ---- diff trees -------------------------------------------------------------------------

WIDTH_MODES = ("current", "base", "both")


def diff_flame_tree(diff: Any, mode: str = "current") -> FlameTree:
    """A FlameTree over the engine's DiffTree; width from the current, base or both values.

    `extra` keeps `base`, `cur` (totals), `class` (diff_classes) for colours and details.
    """
    if mode not in WIDTH_MODES:
        raise ValueError(f"width mode must be one of {', '.join(WIDTH_MODES)}, got {mode!r}")
    base = np.asarray(diff.base_total, dtype=np.int64)
    cur = np.asarray(diff.cur_total, dtype=np.int64)
    width = {"current": cur, "base": base, "both": base + cur}[mode]
    fr = diff.frames
    return FlameTree(
        frame=diff.frame,
        parent=diff.parent,
        depth=diff.depth,
        end=diff.end,
        total=width,
        names=fr.names,
        inline=fr.inlines,
        files=fr.files,
        lines=fr.lines,
        extra={
            "base": base,
            "cur": cur,
            "class": diff_classes(base, cur, int(base[0]), int(cur[0])),
        },
    )


def vanished_paths(tree: FlameTree, limit: int = 50) -> list[tuple[int, int]]:
    """(node, base value) of call paths present only in the base, outermost first by size."""
    base, cur = tree.extra["base"], tree.extra["cur"]
    gone = np.nonzero((cur == 0) & (base > 0))[0]
    out: list[tuple[int, int]] = []
    reach = -1
    for i in gone.tolist():  # preorder: skip those inside an already listed vanished path
        if i >= reach:
            out.append((i, int(base[i])))
            reach = int(tree.end[i])
    out.sort(key=lambda t: -t[1])
    return out[:limit]
