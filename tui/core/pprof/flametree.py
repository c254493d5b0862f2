"""Flame trees: the preorder call tree a flame graph draws, with one width value per node.

Pure numpy, no terminal. A `FlameTree` is a preorder tree (subtree of i = range(i, end[i]))
with one width value per node. Every node gets an absolute offset once (children left to
right by name, or heaviest first), from which tui.core.pprof.flamegraph maps a zoom root and
a width to cells. The callers/callees view is in flamecallers, the diff tree in flamediff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ROOT_NAME = "root"
# Sibling order: "name" (alphabetical, pprof's flame graph) or "heavy" (widest first,
# speedscope's left heavy view). Only offsets change: node ids, zoom and selection stay.
ORDERS = ("name", "heavy")


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
        return cls.from_preorder(tree, np.asarray(tree.total(sample_index), dtype=np.int64))

    @classmethod
    def from_preorder(
        cls, tree: Any, total: np.ndarray, extra: dict[str, Any] | None = None
    ) -> FlameTree:
        """Any engine tree of preorder arrays (`frame`, `parent`, `depth`, `end`) and `frames`
        (a CallTree, a DiffTree), drawn with widths `total`."""
        fr = tree.frames
        return cls(
            frame=tree.frame,
            parent=tree.parent,
            depth=tree.depth,
            end=tree.end,
            total=total,
            names=fr.names,
            inline=fr.inlines,
            files=fr.files,
            lines=fr.lines,
            extra=extra or {},
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
