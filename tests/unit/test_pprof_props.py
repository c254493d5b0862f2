"""Property tests: call tree invariants on random stacks (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.pprof import Profile, function_table, parse_folded

frames = st.sampled_from(["a", "b", "c", "d", "e"])
stacks = st.lists(
    st.tuples(st.lists(frames, min_size=1, max_size=7), st.integers(-50, 1000)),
    min_size=1,
    max_size=40,
)


def _profile(data: list[tuple[list[str], int]]) -> Profile:
    return parse_folded("".join(f"{';'.join(s)} {v}\n" for s, v in data))


@settings(max_examples=150, deadline=None)
@given(stacks)
def test_tree_invariants(data: list[tuple[list[str], int]]) -> None:
    prof = _profile(data)
    tree = prof.tree
    n = len(tree)
    total = tree.total(0)
    # node total = self + children's totals; subtree ranges nest; depth = parent depth + 1
    child_sum = np.zeros(n, dtype=np.int64)
    np.add.at(child_sum, tree.parent[1:], total[1:])
    assert np.array_equal(total, tree.self_values[:, 0] + child_sum)
    assert total[0] == sum(v for _, v in data)
    for i in range(1, n):
        p = tree.parent[i]
        assert p < i < tree.end[i] <= tree.end[p]
        assert tree.depth[i] == tree.depth[p] + 1
        assert tree.find(tree.path(i)) == i
    # sum of flat over the function table = sum of all values
    rows = function_table(prof, 0)
    assert sum(r.flat for r in rows) == sum(v for _, v in data)
    # cum counted once per sample: cum of f = sum of values of stacks containing f
    for r in rows:
        assert r.cum == sum(v for s, v in data if r.name in s)
