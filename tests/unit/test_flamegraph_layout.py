"""Flame graph layout: exact nesting, no lost cells, narrow nodes skipped, names, search, diff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.pprof.flamecallers import callees_tree, callers_tree
from tui.core.pprof.flamediff import (
    DIFF_NEW,
    DIFF_VANISHED,
    diff_classes,
    diff_flame_tree,
    vanished_paths,
)
from tui.core.pprof.flamegraph import (
    FlameLayout,
    color_class,
    format_value,
    layout,
    matched_share,
    node_matches,
    search_frames,
)
from tui.core.pprof.flametree import FlameTree, absolute_offsets, function_rows
from tui.core.pprof.load import load_profile
from tui.core.pprof.names import fit_label, package_of, short_names


def make_tree(parents: list[int], selfs: list[int], frames: list[int] | None = None) -> FlameTree:
    """A FlameTree from a preorder parent list and self values."""
    n = len(parents)
    depth = np.zeros(n, dtype=np.int32)
    for i in range(1, n):
        depth[i] = depth[parents[i]] + 1
    size = np.ones(n, dtype=np.int64)
    for i in range(n - 1, 0, -1):
        size[parents[i]] += size[i]
    total = np.array(selfs, dtype=np.int64)
    for i in range(n - 1, 0, -1):
        total[parents[i]] += total[i]
    fr = frames if frames is not None else [-1, *range(n - 1)]
    names = [f"pkg{i % 3}.f{i}" for i in range(max(n, 1))]
    return FlameTree(
        frame=np.array(fr, dtype=np.int32),
        parent=np.array(parents, dtype=np.int32),
        depth=depth,
        end=(np.arange(n) + size).astype(np.int32),
        total=total,
        names=names,
        inline=[i % 5 == 4 for i in range(len(names))],
    )


@pytest.fixture(scope="module")
def large(fixtures_dir: Path) -> FlameTree:
    p = load_profile(fixtures_dir / "pprof" / "large.cpu")
    return FlameTree.from_call_tree(p.tree, p.default_index)


@pytest.fixture(scope="module")
def regexp_tree(fixtures_dir: Path) -> FlameTree:
    p = load_profile(fixtures_dir / "pprof" / "cpu_regexp.pb.gz")
    return FlameTree.from_call_tree(p.tree, p.default_index)


def check_nesting(tree: FlameTree, lay: FlameLayout) -> None:
    pos = {int(n): i for i, n in enumerate(lay.node)}
    for i, n in enumerate(lay.node.tolist()):
        assert lay.x1[i] > lay.x0[i]
        assert lay.row[i] == tree.depth[n]
        if n == 0:
            continue
        p = int(tree.parent[n])
        assert p in pos, "a visible node's parent is visible"
        j = pos[p]
        assert lay.x0[j] <= lay.x0[i] and lay.x1[i] <= lay.x1[j]
    for r in range(lay.rows):
        s = lay.row_slice(r)
        assert np.all(lay.x1[s][:-1] <= lay.x0[s][1:]), "siblings never overlap"


def test_offsets_small() -> None:
    # root(0) -> a(1){self 2} -> b(2){self 3}; root -> c(3){self 5}; root self 10
    t = make_tree([-1, 0, 1, 0], [10, 2, 3, 5])
    assert t.total.tolist() == [20, 5, 3, 5]
    assert absolute_offsets(t.parent, t.end, t.total).tolist() == [0, 0, 0, 5]


def test_children_exactly_fill_parent_without_self() -> None:
    # root has no self: 3 children of 1/3 each over 10 cells must fill 10 cells exactly
    t = make_tree([-1, 0, 0, 0], [0, 1, 1, 1])
    lay = layout(t, 0, 10)
    row1 = lay.row_slice(1)
    assert lay.x0[row1].tolist() == [0, 3, 6]
    assert lay.x1[row1].tolist() == [3, 6, 10]
    assert int((lay.x1[row1] - lay.x0[row1]).sum()) == 10


def test_narrow_nodes_not_drawn_and_not_scanned() -> None:
    # one wide child and 1000 tiny ones: at width 10 only the wide one is drawn
    t = make_tree([-1, 0] + [0] * 1000, [0, 100_000] + [1] * 1000)
    lay = layout(t, 0, 10)
    assert lay.node.tolist() == [0, 1]
    assert lay.scanned <= 2


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_trees_nest_exactly(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 60))
    parents = [-1]
    for i in range(1, n):
        # preorder: the parent is a node on the current path (the previous node or an ancestor)
        chain = [i - 1]
        while chain[-1] > 0:
            chain.append(parents[chain[-1]])
        parents.append(data.draw(st.sampled_from(chain)))
    selfs = data.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    t = make_tree(parents, selfs)
    width = data.draw(st.integers(1, 250))
    root = data.draw(st.integers(0, n - 1))
    lay = layout(t, root, width)
    check_nesting(t, lay)
    # nodes drawn are exactly those at least one cell wide within the zoom
    sub = range(root, int(t.end[root]))
    tr = int(t.total[root])
    want = {i for i in sub if tr > 0 and t.total[i] * width >= tr} | set(t.ancestors(root))
    if tr == 0:
        want = set(t.ancestors(root))
    assert set(lay.node.tolist()) == want
    # a parent with no self whose children are all drawn is covered exactly, no lost cells
    for i, node in enumerate(lay.node.tolist()):
        kids = [k for k in range(node + 1, int(t.end[node])) if t.parent[k] == node]
        if node >= root and kids and t.self_value(node) == 0 and all(k in want for k in kids):
            cells = sum(
                int(lay.x1[j] - lay.x0[j]) for j in range(len(lay.node)) if lay.node[j] in kids
            )
            assert cells == lay.x1[i] - lay.x0[i]


def test_large_profile_layout_and_zoom(large: FlameTree) -> None:
    lay = layout(large, 0, 200)
    check_nesting(large, lay)
    assert lay.scanned < 2000 < len(large)  # 425k nodes, only the wide ones touched
    assert lay.x0[0] == 0 and lay.x1[0] == 200
    # zoom into the widest grandchild: it becomes full width, ancestors stay as context
    child = int(lay.node[lay.row_slice(2)][np.argmax((lay.x1 - lay.x0)[lay.row_slice(2)])])
    z = layout(large, child, 200)
    assert z.cells(child) == (2, 0, 200)
    assert z.cells(0) == (0, 0, 200)
    assert z.at(2, 199) == child
    assert z.neighbour(child, 1) is None
    kids = z.visible_children(large, child)
    assert kids and all(int(large.parent[k]) == child for k in kids)


def test_short_names_and_labels() -> None:
    n = "github.com/x/pkg.(*T).M"
    assert short_names(n) == [n, "pkg.(*T).M", "M"]
    assert fit_label(n, 40) == n
    assert fit_label(n, 12) == "pkg.(*T).M"
    assert fit_label(n, 3) == "M"
    assert fit_label("github.com/x/pkg.LongFunctionName", 6) == "LongF…"
    assert fit_label(n, 0) == ""
    assert short_names("runtime.mallocgc") == ["runtime.mallocgc", "mallocgc"]
    assert short_names("encoding/json.(*decodeState).object")[1:] == [
        "json.(*decodeState).object",
        "object",
    ]
    assert short_names("gopkg.in/yaml.v3.(*parser).parse")[1] == "yaml.v3.(*parser).parse"
    assert package_of("encoding/json.Unmarshal") == "encoding/json"
    assert package_of("github.com/a/b.F[go.shape.int]") == "github.com/a/b"
    assert short_names("std::vector<int>::push_back") == [
        "std::vector<int>::push_back",
        "push_back",
    ]
    assert package_of("0000000000456789") == ""
    assert color_class("runtime.a", 8) == color_class("runtime.b", 8)


def test_search_and_matched_share_against_pprof_cum(regexp_tree: FlameTree) -> None:
    # go tool pprof -top: regexp.(*machine).match cum 16160000000ns, backtrack 9250000000ns
    mask = search_frames(regexp_tree.names, r"^regexp\.\(\*machine\)\.match$")
    got, total = matched_share(regexp_tree, node_matches(regexp_tree, mask), 0)
    assert (got, total) == (16_160_000_000, 33_370_000_000)
    mask = search_frames(regexp_tree.names, r"\(\*Regexp\)\.backtrack$")
    assert matched_share(regexp_tree, node_matches(regexp_tree, mask), 0)[0] == 9_250_000_000
    with pytest.raises(Exception, match="missing"):
        search_frames(regexp_tree.names, "(unclosed")


def test_matched_share_counts_recursion_once() -> None:
    # f -> f -> g: matching f must count f's outer total once
    t = make_tree([-1, 0, 1, 2], [0, 1, 1, 4], frames=[-1, 0, 0, 1])
    got = matched_share(t, node_matches(t, np.array([True, False])), 0)
    assert got == (6, 6)
    assert matched_share(t, node_matches(t, np.array([False, True])), 1) == (4, 6)


def test_callers_tree_matches_pprof_cum(regexp_tree: FlameTree) -> None:
    f = list(regexp_tree.names).index("regexp.(*Regexp).backtrack")
    c = callers_tree(regexp_tree, f)
    assert c.name(0) == "regexp.(*Regexp).backtrack"
    assert int(c.total[0]) == 9_250_000_000
    # children are the callers; their totals add up to the function's total
    kids = [i for i in range(len(c)) if c.parent[i] == 0]
    assert kids and int(c.total[kids].sum()) == int(c.total[0])
    assert "regexp.(*Regexp).doExecute" in {c.name(k) for k in kids}
    check_nesting(c, layout(c, 0, 120))


def test_diff_classes() -> None:
    base = np.array([1000, 500, 100, 0, 50, 300, 200])
    cur = np.array([1000, 505, 300, 40, 0, 100, 210])
    cls = diff_classes(base, cur, 1000, 1000)
    assert cls.tolist() == [0, 0, 3, DIFF_NEW, DIFF_VANISHED, -2, 0]
    # same change under a bigger total is a smaller share: shares, not raw values, are compared
    cls2 = diff_classes(np.array([100]), np.array([200]), 1000, 2000)
    assert cls2.tolist() == [0]


def _pprof_top(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (flat, cum) from `go tool pprof -top` output (ns or B units)."""
    import re

    out = {}
    for line in path.read_text().splitlines()[6:]:
        m = re.match(r"\s*(\d+)(?:ns|B)?\s+\S+\s+\S+\s+(\d+)(?:ns|B)?\s+\S+\s+(.*)$", line)
        if m:
            out[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return out


@pytest.mark.parametrize(
    "name,expected", [("cpu_regexp.pb.gz", "cpu_regexp"), ("large.cpu", "large")]
)
def test_function_rows_match_pprof_top(fixtures_dir: Path, name: str, expected: str) -> None:
    p = load_profile(fixtures_dir / "pprof" / name)
    t = FlameTree.from_call_tree(p.tree, p.default_index)
    ids, flat, cum = function_rows(t)
    got = {
        t.names[i] + (" (inline)" if t.inline[i] else ""): (int(f), int(c))
        for i, f, c in zip(ids.tolist(), flat.tolist(), cum.tolist(), strict=True)
    }
    want = _pprof_top(fixtures_dir / "pprof" / "expected" / f"{expected}.top.txt")
    assert len(want) > 100
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    assert not bad


def test_format_value() -> None:
    assert format_value(33_370_000_000, "nanoseconds") == "33.4s"
    assert format_value(1_500_000, "nanoseconds") == "1.5ms"
    assert format_value(999, "nanoseconds") == "999ns"
    assert format_value(7063729902, "bytes") == "6.58GiB"
    assert format_value(512, "bytes") == "512B"
    assert format_value(23070443, "count") == "23.1M"
    assert format_value(12, "count") == "12"


def test_diff_tree_width_modes_and_vanished(fixtures_dir: Path) -> None:
    from tui.core.pprof import diff_trees

    base = load_profile(fixtures_dir / "pprof" / "cpu_json_gogc100.pb.gz")
    cur = load_profile(fixtures_dir / "pprof" / "cpu_json_gogc5.pb.gz")
    d = diff_trees(base, cur, cur.default_index)
    now = diff_flame_tree(d, "current")
    was = diff_flame_tree(d, "base")
    both = diff_flame_tree(d, "both")
    assert int(now.total[0]) == cur.total(cur.default_index)
    assert int(was.total[0]) == base.total(base.default_index)
    assert int(both.total[0]) == int(now.total[0]) + int(was.total[0])
    for tree in (now, was, both):
        check_nesting(tree, layout(tree, 0, 200))
    gone = vanished_paths(now)
    assert gone and all(int(now.extra["cur"][n]) == 0 and v > 0 for n, v in gone)
    assert [v for _, v in gone] == sorted((v for _, v in gone), reverse=True)
    # a vanished path is listed once, at its outermost node
    nodes = [n for n, _ in gone]
    for n in nodes:
        assert int(now.extra["cur"][int(now.parent[n])]) > 0
    with pytest.raises(ValueError, match="width mode"):
        diff_flame_tree(d, "sideways")


def test_callees_tree_merges_call_sites(regexp_tree: FlameTree) -> None:
    f = list(regexp_tree.names).index("regexp.(*Regexp).backtrack")
    c = callees_tree(regexp_tree, f)
    assert c.name(0) == "regexp.(*Regexp).backtrack"
    assert int(c.total[0]) == 9_250_000_000  # the same total as its callers view
    check_nesting(c, layout(c, 0, 120))
    # children totals never exceed the parent's; the function's self is what is left
    kids = [i for i in range(len(c)) if c.parent[i] == 0]
    assert int(c.total[kids].sum()) <= int(c.total[0])
    assert "regexp.(*Regexp).tryBacktrack" in {c.name(k) for k in kids}
    # merging by path: each child frame appears once under the root
    assert len({int(c.frame[k]) for k in kids}) == len(kids)


def test_callees_single_site_is_the_subtree() -> None:
    t = make_tree([-1, 0, 1, 2, 1], [0, 1, 2, 3, 4], frames=[-1, 0, 1, 2, 3])
    c = callees_tree(t, 0)
    assert c.total.tolist() == t.total[1:].tolist()
    assert c.parent.tolist() == [-1, 0, 1, 0] and c.depth.tolist() == [0, 1, 2, 1]
    assert c.end.tolist() == [4, 3, 3, 4]
