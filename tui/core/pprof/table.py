"""Function table with `go tool pprof -top` semantics, vectorised over unique stacks.

What pprof does (internal/graph.newGraph, Go 1.19 vendored copy) and we reproduce:
- each location expands to one node per Line, innermost first; a sample walks its locations
  root to leaf and each location's lines outermost to innermost;
- samples whose value is 0 are skipped entirely (they create no node and no edge);
- cum: the sample value is added once per distinct node on the stack (recursion counts once);
- flat: added to the last node visited (innermost line of the leaf location);
- an edge parent->node exists when they differ; it is "inline" when the node is not its
  location's outermost line. Only the first occurrence of an edge in a sample counts, and an
  edge stays inline only if every counted occurrence is inline. A node whose incoming edges are
  all inline is marked `(inline)`, a mix gives `(partial-inline)`. With an edge fraction f,
  edges weighing less than f x total (summed once per sample) are dropped first, as pprof's
  `-edgefraction` does (default 0.001 there; 0 here: labels from every edge, exact on any
  profile, = `go tool pprof -top -nodefraction=0 -edgefraction=0`);
- nodes with flat == 0 and cum == 0 are dropped; order: |flat| desc, name asc, |cum| desc;
- the total is sum |v| over samples (over the base samples for a diff).
Granularity "function" keys nodes by function name (file dropped, as pprof's default
`-functions`), "file" by file name, "line" by name and file:line. Address-only locations are
shown as their address in hex (%016x), one node per address.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

from tui.core.pprof.model import CallTree, Profile
from tui.core.pprof.rows import (
    GRANULARITIES,
    PPROF_EDGE_FRACTION,
    FunctionRow,
    address_name,
    line_name,
)

__all__ = ["GRANULARITIES", "PPROF_EDGE_FRACTION", "FunctionRow", "function_table", "line_keys"]


def line_keys(p: Profile, granularity: str) -> tuple[np.ndarray, list[str]]:
    """Node key of every line entry and the printable name of every key."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; use one of {GRANULARITIES}")
    names: dict[str, int] = {}
    out = np.empty(p.line_func.shape[0], dtype=np.int64)
    lf = p.line_func.tolist()
    ln = p.line_no.tolist() if granularity == "line" else None
    line_loc = p.line_loc.tolist()
    cache: dict[tuple[int, int], int] = {}
    for e, f in enumerate(lf):
        lineno = ln[e] if ln is not None else 0
        if f < 0:
            loc = line_loc[e]
            m = int(p.loc_mapping[loc])
            mfile = p.mapping_file[m] if m >= 0 else None
            name = address_name(granularity, int(p.loc_address[loc]), mfile)
            out[e] = names.setdefault(name, len(names))
            continue
        ck = (f, lineno)
        k = cache.get(ck)
        if k is None:
            m = int(p.loc_mapping[line_loc[e]])
            mfile = p.mapping_file[m] if m >= 0 else None
            name = line_name(granularity, p.func_name[f], p.func_file[f], lineno, mfile)
            k = names.setdefault(name, len(names))
            cache[ck] = k
        out[e] = k
    return out, list(names)


def node_values(
    p: Profile, sample_index: int, granularity: str = "function", edge_cutoff: int = 0
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per node key: names, flat, cum, has-inline-in-edge, has-non-inline-in-edge."""
    keys_of_line, names = line_keys(p, granularity)
    k = max(len(names), 1)
    flat = np.zeros(k, dtype=np.int64)
    cum = np.zeros(k, dtype=np.int64)
    inl_in = np.zeros(k, dtype=bool)
    noninl_in = np.zeros(k, dtype=bool)
    if p.n_stacks == 0:
        return names, flat, cum, inl_in, noninl_in
    w, nz = p.stack_weights(sample_index)
    offs, entries = p.stack_lines
    lens = np.diff(offs)
    live = nz & (lens > 0)
    if not live.any():
        return names, flat, cum, inl_in, noninl_in
    stack_of = np.repeat(np.arange(lens.shape[0], dtype=np.int64), lens)
    emask = live[stack_of]
    es = stack_of[emask]
    ek = keys_of_line[entries[emask]]
    einl = ~p.line_outermost[entries[emask]]
    # cum: once per distinct (stack, node)
    pair = es * k + ek
    upair = np.unique(pair)
    np.add.at(cum, upair % k, w[upair // k])
    # flat: the last entry of each live stack (root-first order => leaf last)
    live_idx = np.flatnonzero(live)
    leaf_key = keys_of_line[entries[offs[live_idx + 1] - 1]]
    np.add.at(flat, leaf_key, w[live_idx])
    # edges between consecutive entries of a stack that differ
    if es.shape[0] > 1:
        same = es[1:] == es[:-1]
        src, dst = ek[:-1], ek[1:]
        m = same & (src != dst)
        e_stack, e_src, e_dst, e_inl = es[1:][m], src[m], dst[m], einl[1:][m]
        if e_src.shape[0]:
            ekey = e_src * k + e_dst
            # first occurrence per (stack, edge): np.unique returns first indices
            _, first = np.unique(e_stack * (k * k) + ekey, return_index=True)
            ekey_f, inl_f = ekey[first], e_inl[first]
            uedge, inv = np.unique(ekey_f, return_inverse=True)
            inv = inv.reshape(-1)
            all_inl = np.ones(uedge.shape[0], dtype=bool)
            np.logical_and.at(all_inl, inv, inl_f)
            kept = _heavy_edges(uedge.shape[0], inv, w[e_stack[first]], edge_cutoff)
            dst_node = uedge % k
            inl_in[dst_node[all_inl & kept]] = True
            noninl_in[dst_node[~all_inl & kept]] = True
    return names, flat, cum, inl_in, noninl_in


def _heavy_edges(n_edges: int, edge_of: np.ndarray, weight: np.ndarray, cutoff: int) -> np.ndarray:
    """Which edges pprof keeps: |summed weight| >= cutoff (TrimLowFrequencyEdges)."""
    if cutoff <= 0:
        return np.ones(n_edges, dtype=bool)
    sums = np.zeros(n_edges, dtype=np.int64)
    np.add.at(sums, edge_of, weight)
    return np.abs(sums) >= cutoff


def _nesting(tree: CallTree, key: np.ndarray, cache_name: str) -> np.ndarray:
    """top[n]: node n has no ancestor with the same key (type-independent, cached)."""
    got = tree.cache.get(cache_name)
    if isinstance(got, np.ndarray):
        return got
    n = key.shape[0]
    big = np.int64(n + 1)
    kmin = int(key.min()) if n else 0
    k64 = key.astype(np.int64) - kmin
    # sort by (key, preorder) in one int64 sort: nodes are already numbered in preorder
    comb = np.sort(k64 * big + np.arange(n, dtype=np.int64))
    sk = comb // big
    order = comb - sk * big
    run = np.maximum.accumulate(sk * big + tree.end[order].astype(np.int64))
    prev = np.empty(n, dtype=np.int64)
    if n:
        prev[0] = -1
        prev[1:] = run[:-1]
    first_in_group = np.ones(n, dtype=bool)
    first_in_group[1:] = sk[1:] != sk[:-1]
    top_sorted = first_in_group | (comb >= prev)
    top = np.empty(n, dtype=bool)
    top[order] = top_sorted
    tree.cache[cache_name] = top
    return top


def _function_edges(
    tree: CallTree, key: np.ndarray, top: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(node, caller key, callee key, inlined) of each edge parent function -> node function
    where they differ, type-independent and cached on the tree. An edge repeated on one path
    counts only at its first (rootmost) occurrence; liveness only ever removes whole
    subtrees, so the rootmost occurrence is the same among live nodes."""
    n = len(tree)
    frames = tree.frames
    cached = tree.cache.get("edges:function")
    if cached is None:
        par = tree.parent.astype(np.int64)
        src_key = np.where(par > 0, key[np.maximum(par, 0)], -1)
        emask = (par > 0) & (src_key != key)
        emask[0] = False
        e_nodes = np.flatnonzero(emask)
        e_src, e_dst = src_key[e_nodes], key[e_nodes]
        nested = ~top[e_nodes]
        if nested.any():
            # membership by a mask over function keys (0 <= key < k): no sort, no np.unique
            rec = np.zeros(k, dtype=bool)
            rec[e_dst[nested]] = True
            sub = rec[e_dst]
            ekey_full = np.full(n, -1, dtype=np.int64)
            ekey_full[e_nodes[sub]] = e_src[sub] * k + e_dst[sub]
            # nodes without a candidate edge get unique negative keys so they never nest
            fill = np.flatnonzero(ekey_full < 0)
            ekey_full[fill] = -1 - fill
            first = _nesting(tree, ekey_full, "top:edge")[e_nodes]
            e_nodes, e_src, e_dst = e_nodes[first], e_src[first], e_dst[first]
        e_inl = np.asarray(frames.inlines, dtype=bool)[tree.frame[e_nodes]]
        cached = (e_nodes, e_src, e_dst, e_inl)
        tree.cache["edges:function"] = cached
    return cached  # type: ignore[return-value]


def node_values_tree(
    p: Profile, t: int, edge_cutoff: int = 0
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Function granularity from the call tree: O(nodes) per sample type after one sort.

    Same numbers as node_values: flat = self values grouped by function; cum = totals of the
    topmost node of each function on every path (so recursion counts once per sample); the
    inline marker from tree edges, counting only edges under nonzero samples and only the first
    occurrence of an edge on a path. None when frames lack names (pprof then shows objfiles).
    """
    tree = p.tree
    frames = tree.frames
    if any(not nm for nm in frames.names):
        return None
    n = len(tree)
    # frames are sorted by name: a function key is the rank of the frame's name
    fnames = frames.names
    fkey_l = [0] * len(fnames)
    names: list[str] = []
    for i, nm in enumerate(fnames):
        if not names or names[-1] != nm:
            names.append(nm)
        fkey_l[i] = len(names) - 1
    fkey = np.asarray(fkey_l, dtype=np.int64)
    k = max(len(names), 1)
    key = np.full(n, -1, dtype=np.int64)
    key[1:] = fkey[tree.frame[1:]]
    selfv = tree.self_values[:, t]
    total = tree.total(t)
    flat = np.zeros(k, dtype=np.int64)
    cum = np.zeros(k, dtype=np.int64)
    inl_in = np.zeros(k, dtype=bool)
    noninl_in = np.zeros(k, dtype=bool)
    if n <= 1:
        return names, flat, cum, inl_in, noninl_in
    np.add.at(flat, key[1:], selfv[1:])
    top = _nesting(tree, key, "top:function")
    nodes = np.flatnonzero(top[1:]) + 1
    np.add.at(cum, key[nodes], total[nodes])
    e_nodes, e_src, e_dst, e_inl = _function_edges(tree, key, top, k)
    # only edges under samples with a nonzero value of this type exist in pprof's graph
    col = p.values[:, t]
    nzc = np.zeros(n + 1, dtype=np.int64)
    if tree.row_node.shape[0]:
        nzc[1:] = np.bincount(tree.row_node[col != 0], minlength=n)
    cs = np.cumsum(nzc)
    live = ((cs[tree.end] - cs[:-1]) > 0)[e_nodes]
    e_src, e_dst, e_inl = e_src[live], e_dst[live], e_inl[live]
    if edge_cutoff > 0:
        # an edge's weight: the totals under its first occurrences, summed per (src, dst)
        ek = e_src * k + e_dst
        uek, inv = np.unique(ek, return_inverse=True)
        inv = inv.reshape(-1)
        kept = _heavy_edges(uek.shape[0], inv, total[e_nodes[live]], edge_cutoff)[inv]
        e_src, e_dst, e_inl = e_src[kept], e_dst[kept], e_inl[kept]
    noninl_in[e_dst[~e_inl]] = True
    if e_inl.any():
        bmask = np.zeros(k, dtype=bool)
        bmask[e_dst[e_inl]] = True
        sub = bmask[e_dst]
        ek = e_src[sub] * k + e_dst[sub]
        uek, inv = np.unique(ek, return_inverse=True)
        has_non = np.zeros(uek.shape[0], dtype=bool)
        np.logical_or.at(has_non, inv.reshape(-1), ~e_inl[sub])
        inl_in[(uek % k)[~has_non]] = True
    return names, flat, cum, inl_in, noninl_in


def function_table(
    profile: Profile,
    sample_index: int | None = None,
    granularity: str = "function",
    edge_fraction: float = 0.0,
) -> list[FunctionRow]:
    """Rows as `go tool pprof -top -nodefraction=0` lists them: every node, sorted like pprof;
    inline labels from the edges `-edgefraction=edge_fraction` keeps."""
    t = profile.default_index if sample_index is None else sample_index
    # pprof: |int64(float64(the graph's summed flat) * f)|, signed (a diff's cur - base)
    cutoff = abs(int(float(profile.values[:, t].sum()) * edge_fraction)) if edge_fraction else 0
    got = node_values_tree(profile, t, cutoff) if granularity == "function" else None
    sorted_names = got is not None
    if got is None:
        got = node_values(profile, t, granularity, cutoff)
    names, flat, cum, inl_in, noninl_in = got
    n = len(names)
    flat, cum = flat[:n], cum[:n]
    keep = np.flatnonzero((flat != 0) | (cum != 0))
    if sorted_names:
        # key ids are name ranks: |flat| desc, then name asc is one lexsort
        keep = keep[np.lexsort((keep, -np.abs(flat[keep])))]
    # label code per row: 0 "", 1 "(inline)", 2 "(partial-inline)"
    code = np.where(inl_in[keep], np.where(noninl_in[keep], 2, 1), 0).tolist()
    labels = list(map(("", "(inline)", "(partial-inline)").__getitem__, code))
    fields = zip(
        map(names.__getitem__, keep.tolist()),
        flat[keep].tolist(),
        cum[keep].tolist(),
        [c == 1 for c in code],
        labels,
        strict=True,
    )
    # tuple.__new__ on the NamedTuple class: the same rows without a Python call per row
    rows: list[FunctionRow] = list(map(tuple.__new__, repeat(FunctionRow), fields))
    if not sorted_names:
        rows.sort(key=lambda r: (-abs(r.flat), r.name, -abs(r.cum)))
    return rows
