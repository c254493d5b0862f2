"""Short function names equal pprof's own (its `-dot` labels) on every real fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.go_pprof import go_pprof_dot_names
from tui.core.pprof.names import shorten

PPROF = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "pprof"
FIXTURES = sorted(p for p in PPROF.glob("*") if p.is_file() and p.name != "NOTICE")


def as_dot_label(short: str) -> str:
    """What multilinePrintableName does to a shortened name."""
    return short.replace("::", "\n").replace("[...]", "[…]").replace(".", "\n")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_shorten_equals_pprof_on_every_node(path: Path) -> None:
    pairs = go_pprof_dot_names(path)
    assert pairs
    wrong = [(full, label) for full, label in pairs if as_dot_label(shorten(full)) != label]
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("github.com/prometheus/prometheus/tsdb.(*DB).Compact", "tsdb.(*DB).Compact"),
        ("github.com/x/pkg/v2.(*T).M", "pkg.(*T).M"),
        ("gopkg.in/yaml.v3.(*parser).parse", "yaml.v3.(*parser).parse"),
        ("runtime.mallocgc", "runtime.mallocgc"),
        ("(anonymous namespace)::Foo::bar", "Foo::bar"),
        ("com.example.Foo.bar(int)", "Foo.bar"),
    ],
)
def test_shorten_cases(name: str, short: str) -> None:
    assert shorten(name) == short
