"""The sandwich view of one function: its callers (inverted) and its callees, merged.

Each stack through the function counts once, at its outermost occurrence, so recursion does
not double count; both trees are FlameTrees over the same frame names as the source tree.
"""

from __future__ import annotations

import numpy as np

from tui.core.pprof.flametree import FlameTree


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
