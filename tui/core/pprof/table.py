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
  all inline is marked `(inline)`, a mix gives `(partial-inline)`;
- nodes with flat == 0 and cum == 0 are dropped; order: |flat| desc, name asc, |cum| desc;
- the total is sum |v| over samples (over the base samples for a diff).
Granularity "function" keys nodes by function name (file dropped, as pprof's default
`-functions`), "file" by file name, "line" by name and file:line. Address-only locations are
shown as their address in hex (%016x), one node per address.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tui.core.pprof.model import Profile

GRANULARITIES = ("function", "file", "line")


@dataclass(frozen=True)
class FunctionRow:
    name: str
    flat: int
    cum: int
    inline: bool
    inline_label: str = ""  # "", "(inline)" or "(partial-inline)"


def _clean(path: str) -> str:
    return os.path.normpath(path) if path else ""


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
            name = f"{int(p.loc_address[loc]):016x}"
            if granularity == "file":
                m = int(p.loc_mapping[loc])
                name = (
                    f"[{os.path.basename(p.mapping_file[m])}]"
                    if m >= 0 and p.mapping_file[m]
                    else name
                )
            out[e] = names.setdefault(name, len(names))
            continue
        ck = (f, lineno)
        k = cache.get(ck)
        if k is None:
            fname = p.func_name[f] if granularity != "file" else ""
            file = _clean(p.func_file[f]) if granularity != "function" else ""
            parts = [fname] if fname else []
            if lineno != 0:
                parts.append(f"{file}:{lineno}")
            elif file:
                parts.append(file)
            elif not fname:
                loc = line_loc[e]
                m = int(p.loc_mapping[loc])
                obj = os.path.basename(p.mapping_file[m]) if m >= 0 else ""
                parts.append(f"[{obj}]" if obj else "<unknown>")
            name = " ".join(parts)
            k = names.setdefault(name, len(names))
            cache[ck] = k
        out[e] = k
    return out, list(names)


def node_values(
    p: Profile, sample_index: int, granularity: str = "function"
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
            all_inl = np.ones(uedge.shape[0], dtype=bool)
            np.logical_and.at(all_inl, inv.reshape(-1), inl_f)
            dst_node = uedge % k
            inl_in[dst_node[all_inl]] = True
            noninl_in[dst_node[~all_inl]] = True
    return names, flat, cum, inl_in, noninl_in


def function_table(
    profile: Profile, sample_index: int | None = None, granularity: str = "function"
) -> list[FunctionRow]:
    """Rows as `go tool pprof -top` lists them: every node, sorted like pprof."""
    t = profile.default_index if sample_index is None else sample_index
    names, flat, cum, inl_in, noninl_in = node_values(profile, t, granularity)
    n = len(names)
    flat, cum = flat[:n], cum[:n]
    keep = np.flatnonzero((flat != 0) | (cum != 0))
    rows = []
    fl, cu, ii, ni = flat.tolist(), cum.tolist(), inl_in.tolist(), noninl_in.tolist()
    for i in keep.tolist():
        label = ("(partial-inline)" if ni[i] else "(inline)") if ii[i] else ""
        rows.append(FunctionRow(names[i], fl[i], cu[i], label == "(inline)", label))
    rows.sort(key=lambda r: (-abs(r.flat), r.name, -abs(r.cum)))
    return rows
