"""The call tree's arrays and how they are built: frames, the preorder tree, numpy helpers.

`Frames` interns one frame per (function name, file, inlined-into-caller flag); an
address-only location becomes a frame named by its address in hex, like pprof -addresses.
`CallTree` is preorder arrays: the subtree of node i is range(i, end[i]) and totals are one
cumsum per sample type, so switching sample type never rebuilds it. `expand_stacks`,
`bfs_levels` and `preorder` build it from the unique stacks a level at a time with numpy;
`tui.core.pprof.model.build_tree` feeds them a `Profile`. The bottom of the pprof engine:
it imports nothing of the package.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np


class Frames:
    """Interned frames, sorted by (name, file, inline) so that sibling order is by name."""

    def __init__(self, names: list[str], files: list[str], lines: list[int], inlines: list[bool]):
        self.names = names
        self.files = files
        self.lines = lines
        self.inlines = inlines

    def __len__(self) -> int:
        return len(self.names)

    def name(self, i: int) -> str:
        return self.names[i]

    def file(self, i: int) -> str:
        return self.files[i]

    def line(self, i: int) -> int:
        """The function's start line (0 when unknown): frames are function-granular."""
        return self.lines[i]

    def inline(self, i: int) -> bool:
        """True when this frame was inlined into its caller (not the location's outermost line)."""
        return self.inlines[i]

    @cached_property
    def index(self) -> dict[tuple[str, str, bool], int]:
        return {
            (n, f, b): i
            for i, (n, f, b) in enumerate(zip(self.names, self.files, self.inlines, strict=True))
        }

    def find(self, name: str, file: str = "", inline: bool = False) -> int | None:
        return self.index.get((name, file, inline))


class CallTree:
    """Preorder call tree: subtree of i is range(i, end[i]); node 0 is a synthetic root."""

    def __init__(
        self,
        frames: Frames,
        frame: np.ndarray,
        parent: np.ndarray,
        depth: np.ndarray,
        end: np.ndarray,
        self_values: np.ndarray,
    ):
        self.frames = frames
        self.frame = frame
        self.parent = parent
        self.depth = depth
        self.end = end
        self.self_values = self_values
        self._totals: dict[int, np.ndarray] = {}
        self._child_index: dict[tuple[int, int], int] | None = None
        # node of each aggregated row of the profile (its stack's leaf); -1 when unknown
        self.row_node: np.ndarray = np.zeros(0, dtype=np.int64)
        # per-analysis caches keyed by name (e.g. the function table's nesting pass)
        self.cache: dict[str, object] = {}

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def n(self) -> int:
        return len(self)

    def total(self, t: int) -> np.ndarray:
        """Inclusive value of every node for sample type t (one cumsum, cached)."""
        got = self._totals.get(t)
        if got is None:
            col = self.self_values[:, t]
            cs = np.zeros(col.shape[0] + 1, dtype=np.int64)
            np.cumsum(col, out=cs[1:])
            got = cs[self.end] - cs[:-1]
            self._totals[t] = got
        return got

    def children(self, i: int) -> np.ndarray:
        """Direct children of node i, in sibling (name) order."""
        lo, hi = i + 1, int(self.end[i])
        if lo >= hi:
            return np.zeros(0, dtype=np.int32)
        sub = np.arange(lo, hi, dtype=np.int32)
        return sub[self.parent[lo:hi] == i]

    def path(self, i: int) -> tuple[int, ...]:
        """Frame ids from the root's child down to node i (the root's path is ())."""
        out: list[int] = []
        parent = self.parent
        frame = self.frame
        while i > 0:
            out.append(int(frame[i]))
            i = int(parent[i])
        out.reverse()
        return tuple(out)

    def path_names(self, i: int) -> tuple[str, ...]:
        return tuple(self.frames.name(f) for f in self.path(i))

    def find(self, path: tuple[int, ...] | list[int]) -> int | None:
        """Node for a call path of frame ids, or None when this tree has no such path."""
        if self._child_index is None:
            self._child_index = dict(
                zip(
                    zip(self.parent.tolist(), self.frame.tolist(), strict=True),
                    range(len(self)),
                    strict=True,
                )
            )
        node = 0
        idx = self._child_index
        for f in path:
            nxt = idx.get((node, int(f)))
            if nxt is None:
                return None
            node = nxt
        return node


# ---- construction helpers ----------------------------------------------------------------


def unique_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True) with an unstable (faster) sort; same result."""
    if key.shape[0] == 0:
        return key.copy(), np.zeros(0, dtype=np.int64)
    order = np.argsort(key)
    sk = key[order]
    new = np.empty(sk.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    grp = np.cumsum(new) - 1
    inv = np.empty(key.shape[0], dtype=np.int64)
    inv[order] = grp
    return sk[new], inv


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique(x) for a 1-D integer array, without np.unique's first-call import of numpy.ma
    (about 40 ms in a fresh process)."""
    if x.shape[0] == 0:
        return x.copy()
    sx = np.sort(x)
    keep = np.empty(sx.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(sx[1:], sx[:-1], out=keep[1:])
    return sx[keep]


def expand_stacks(
    stack_start: np.ndarray, stack_locs: np.ndarray, loc_line_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each stack's line entries root first: reverse the locations, then each location's lines
    outermost first (the proto lists them innermost first)."""
    nloc_el = stack_locs.shape[0]
    lens = np.diff(stack_start)
    # int32 positions when they fit: half the memory traffic on large profiles
    nent = int(loc_line_start[-1]) if loc_line_start.shape[0] else 0
    it = np.int32 if max(nloc_el, nent) < 2**30 else np.int64
    # reverse within each stack: element p of stack [a, b) comes from a + b - 1 - p
    ends = np.repeat((stack_start[:-1] + stack_start[1:] - 1).astype(it), lens)
    ends -= np.arange(nloc_el, dtype=it)
    rev_locs = stack_locs[ends]
    del ends
    first = loc_line_start[:-1].astype(it)
    nlines = np.diff(loc_line_start).astype(it)
    if nloc_el == 0 or bool((nlines == 1).all()):
        offs = stack_start.astype(np.int64, copy=True)
        return offs, first[rev_locs].astype(np.int32)
    per = nlines[rev_locs]
    elem_off = np.zeros(nloc_el + 1, dtype=np.int64)
    np.cumsum(per, out=elem_off[1:])
    total = int(elem_off[-1])
    if total >= 2**30:
        it = np.int64
    # line k of an element (outermost first) is entry last - k of its location
    base = first[rev_locs].astype(it)
    base += per - 1
    base += elem_off[:-1].astype(it)
    entries = np.repeat(base, per)
    entries -= np.arange(total, dtype=it)
    return elem_off[stack_start.astype(np.int64)], entries.astype(np.int32, copy=False)


def bfs_levels(
    line_frame: np.ndarray, offs: np.ndarray, entries: np.ndarray, nframes: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per depth: each new node's parent, frame and id (node 0 the root); and each stack's
    leaf node (the root when empty). The stacks are CSR line entries root first (`offs`,
    `entries`, from `expand_stacks`), `line_frame` the frame of each entry."""
    s = offs.shape[0] - 1
    nframes = max(nframes, 1)
    paths = line_frame[entries].astype(np.int64) if entries.shape[0] else np.zeros(0, np.int64)
    lens = np.diff(offs)
    parent_bfs: list[np.ndarray] = [np.array([-1], dtype=np.int64)]
    frame_bfs: list[np.ndarray] = [np.array([-1], dtype=np.int64)]
    level_of: list[np.ndarray] = [np.array([0], dtype=np.int64)]
    leaf = np.zeros(s, dtype=np.int64)
    nonempty = lens > 0
    cur_a = np.zeros(int(nonempty.sum()), dtype=np.int64)
    len_a = lens[nonempty]
    start_a = offs[:-1][nonempty]  # distinct per non-empty stack: identifies it
    next_id = 1
    depth_max = int(lens.max()) if s else 0
    leaf_at = np.zeros(paths.shape[0] + 1, dtype=np.int64)
    for d in range(depth_max):
        if d:
            m = len_a > d
            cur_a, len_a, start_a = cur_a[m], len_a[m], start_a[m]
        key = cur_a * nframes + paths[start_a + d]
        # rows stay grouped by parent from level to level, so the keys arrive nearly sorted
        # and a stable (run-detecting) sort is much cheaper than a fresh quicksort
        order = np.argsort(key, kind="stable")
        len_a, start_a = len_a[order], start_a[order]
        sk = key[order]
        new = np.empty(sk.shape[0], dtype=bool)
        new[0] = True
        np.not_equal(sk[1:], sk[:-1], out=new[1:])
        uniq = sk[new]
        cur_a = next_id + np.cumsum(new) - 1
        ids = np.arange(next_id, next_id + uniq.shape[0], dtype=np.int64)
        parent_bfs.append(uniq // nframes)
        frame_bfs.append(uniq % nframes)
        level_of.append(ids)
        ending = len_a == d + 1
        # a stack's first entry identifies it: record its leaf there (no search per level)
        leaf_at[start_a[ending]] = cur_a[ending]
        next_id += uniq.shape[0]
    if s:
        leaf[nonempty] = leaf_at[offs[:-1][nonempty]]
    return parent_bfs, frame_bfs, level_of, leaf


def preorder(
    level_of: list[np.ndarray], parent_bfs: list[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(preorder position, subtree size, depth) of each BFS node id."""
    size = np.ones(n, dtype=np.int64)
    for ids, par in zip(reversed(level_of[1:]), reversed(parent_bfs[1:]), strict=True):
        # parents of one level are the previous level's contiguous id range
        lo = int(par.min())
        add = np.bincount(par - lo, weights=size[ids]).astype(np.int64)
        size[lo : lo + add.shape[0]] += add
    pos = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    for lvl, (ids, par) in enumerate(zip(level_of[1:], parent_bfs[1:], strict=True), start=1):
        # ids are sorted by (parent, frame): siblings are contiguous and in frame order
        sz = size[ids]
        cs = np.cumsum(sz)
        first = np.ones(ids.shape[0], dtype=bool)
        first[1:] = par[1:] != par[:-1]
        grp_start = np.maximum.accumulate(np.where(first, np.arange(ids.shape[0]), 0))
        before = cs - sz - (cs[grp_start] - sz[grp_start])
        pos[ids] = pos[par] + 1 + before
        depth[ids] = lvl
    return pos, size, depth
