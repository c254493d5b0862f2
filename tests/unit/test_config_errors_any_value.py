"""Whatever value is wrong, wherever, and however many: a located ConfigError, never another
exception. A value that cannot be read leaves its schema object incomplete while the rest of
the file is still checked; this walks every value of a config using every section and puts
wrong ones in its place (each alone, then in random pairs, then each key left out).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from tui.config import Config, ConfigError, parse_config
from tui.config_yaml import read_dataclass

RICH = """\
prometheus:
  url: http://127.0.0.1:9090
  bearer_token: {env: WARROOM_T_TOKEN}
  headers: {X-Scope-OrgID: team-a}
  tls: {ca_file: ca.pem, insecure_skip_verify: false}
  timeout: 8s
otlp: {http: '127.0.0.1:4318', grpc: '', max_body: 8MiB, queue_size: 10}
rate_window: 2m
refresh: 5s
window: 1h
read_only: false
theme: paper
spark_scale: log
max_series: 100
services:
  - name: checkout
    prometheus:
      latency_histogram: http_request_duration_seconds{job="checkout"}
      qps: sum(rate(x[1m]))
      exclude_debug: true
    slo: {p99: 250ms, error_ratio: 0.01}
    labels: {team: pay}
    detector: {window: 30, z: 3.5, min_delta: 5ms}
    actions:
      restart: {exec: [systemctl, restart, checkout], timeout: 30s, confirm: type}
  - name: cart
    otlp: {service_name: cart-svc}
profiles:
  dir: /tmp/p
  keep: 5
  endpoints:
    - {service: checkout, url: 'http://127.0.0.1:6060', kinds: [cpu, heap], seconds: 5s, every: 5m}
baseline: {dir: /tmp/b, min_effect: {p99: 0.1, ns/op: 0.05}}
actions:
  hook:
    http: {url: 'http://127.0.0.1:1/x', method: PUT, headers: {A: {env: WARROOM_T_TOKEN}}}
audit: {path: /tmp/a.jsonl}
alertmanager: {url: 'http://127.0.0.1:9093', filters: ['severity="page"'], refresh: 15s}
"""

# wrong in shape or in value for nearly every key
WRONG = [yaml.compose(t) for t in ("~", "[1, 2]", "{a: 1}", "''", "-3", "x y", "300")]

Path = tuple[int, ...]


def value_paths(node: yaml.Node, path: Path = ()) -> Iterator[Path]:
    """The position of every value: i-th pair's value of a mapping, i-th item of a list."""
    if isinstance(node, yaml.MappingNode):
        for i, (_, v) in enumerate(node.value):
            yield (*path, i)
            yield from value_paths(v, (*path, i))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield (*path, i)
            yield from value_paths(item, (*path, i))


@contextmanager
def changed(tree: yaml.Node, path: Path, new: yaml.Node | None) -> Iterator[None]:
    """`new` at `path` (None: that key or item left out) while in the block."""
    parent = tree
    for i in path[:-1]:
        child = parent.value[i]
        parent = child[1] if isinstance(parent, yaml.MappingNode) else child
    i, before = path[-1], list(parent.value)
    if new is None:
        del parent.value[i]
    elif isinstance(parent, yaml.MappingNode):
        parent.value[i] = (parent.value[i][0], new)
    else:
        parent.value[i] = new
    try:
        yield
    finally:
        parent.value[:] = before


def check(tree: yaml.Node) -> None:
    """The schema reader on a node tree (parse_config less the text): what it reports is
    located, and it raises nothing."""
    errors: list[ConfigError] = []
    read_dataclass(tree, Config, "f.yaml", errors)
    for problem in (p for e in errors for p in e.problems):
        head = problem.split(": ", 1)[0]
        assert head.startswith("f.yaml:") and head[7:].isdigit(), problem  # a line for each


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARROOM_T_TOKEN", "t")


@pytest.fixture
def tree() -> yaml.Node:
    node = yaml.compose(RICH)
    assert node is not None
    return node


def test_the_rich_config_is_valid() -> None:
    cfg = parse_config(RICH, "f.yaml")
    assert len(cfg.services) == 2 and cfg.profiles.endpoints[0].kinds == ["profile", "heap"]
    assert cfg.actions["hook"].http is not None and cfg.alertmanager is not None


def test_one_wrong_value_anywhere(tree: yaml.Node) -> None:
    paths = list(value_paths(tree))
    assert len(paths) > 80
    for path in paths:
        for wrong in WRONG:
            with changed(tree, path, wrong):
                check(tree)


def test_two_wrong_values_anywhere(tree: yaml.Node) -> None:
    paths = list(value_paths(tree))
    rng = random.Random(13)
    for _ in range(300):
        a, b = rng.sample(paths, 2)
        if a[: len(b)] == b or b[: len(a)] == a:  # one inside the other
            continue
        with changed(tree, a, rng.choice(WRONG)), changed(tree, b, rng.choice(WRONG)):
            check(tree)


def test_any_key_or_item_left_out(tree: yaml.Node) -> None:
    for path in value_paths(tree):
        with changed(tree, path, None):
            check(tree)
