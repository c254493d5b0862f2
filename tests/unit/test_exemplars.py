"""Exemplars in core: trace id checks, the bounded per-slot log, trace_url templates (and their
config errors with FILE:LINE), the per-route spike detector's bounds."""

from __future__ import annotations

import math

import pytest

from tui.config import ConfigError, DetectorConfig, parse_config
from tui.core.metrics.exemplars import (
    Exemplar,
    ExemplarLog,
    normalize_span_id,
    normalize_trace_id,
    trace_link,
)
from tui.core.metrics.routes import RouteRow
from tui.core.stats.route_spikes import RouteSpikes

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_trace_ids_are_checked() -> None:
    assert normalize_trace_id(TRACE.upper()) == TRACE
    assert normalize_trace_id(bytes.fromhex(TRACE)) == TRACE
    assert normalize_trace_id("00f067aa0ba902b7") == "00f067aa0ba902b7"  # 64-bit (Jaeger)
    for bad in ("", "abc", "0" * 32, bytes(16), b"\x01\x02\x03", "g" * 32, TRACE + "00"):
        assert normalize_trace_id(bad) is None, bad
    assert normalize_span_id(b"\x01" * 8) == "01" * 8
    assert normalize_span_id(b"\x01") == ""


def test_the_log_keeps_the_slowest_per_slot_and_refuses_bad_ids() -> None:
    log = ExemplarLog(slot_seconds=10, slots=3, per_slot=2)
    for i in range(10):  # one slot, each slower than the last: each is kept, two stay
        assert log.add_raw("svc", 100.0 + i * 0.1, 0.01 * (i + 1), f"{i + 1:032x}")
    assert [e.value for e in log.slowest("svc", 0, n=5)] == [0.1, 0.09]
    assert not log.add_raw("svc", 100.95, 0.001, f"{99:032x}")  # faster than both: dropped
    assert not log.add_raw("svc", 100.9, 0.1, f"{10:032x}")  # the same one again
    assert not log.add_raw("svc", 101.0, 0.5, "0" * 32)
    assert not log.add_raw("svc", 101.0, math.nan, TRACE)
    assert log.rejected == 2
    for slot in range(5):  # only the newest three slots stay
        log.add_raw("svc", 200.0 + slot * 10, 1.0 + slot, TRACE)
    assert log.count("svc") <= 3 * 2
    assert [e.value for e in log.slowest("svc", 0, n=10)] == [5.0, 4.0, 3.0]
    assert log.slowest("svc", 230.0, n=10, keep=lambda e: e.value > 4.5)[0].value == 5.0
    assert not log.add_raw("svc", 150.0, 9.0, TRACE)  # older than every slot kept


def test_trace_link_fills_the_template() -> None:
    ex = Exemplar(1.0, 0.5, TRACE, "00f067aa0ba902b7", "/pay")
    url = "https://tempo.example/trace/{trace_id}?span={span_id}&svc={service}"
    assert trace_link(url, ex, "shop a/b") == (
        f"https://tempo.example/trace/{TRACE}?span=00f067aa0ba902b7&svc=shop%20a%2Fb"
    )
    assert trace_link(None, ex, "shop") == ""


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("https://tempo.example/trace/{traceid}", "unknown field {traceid}"),
        ("https://tempo.example/trace/", "must contain {trace_id}"),
        ("tempo.example/{trace_id}", "must start with http:// or https://"),
        ("https://tempo.example/{trace_id", "is not a valid template"),
        ("https://tempo.example/{trace_id!r}", "no format spec or conversion"),
    ],
)
def test_a_bad_trace_url_is_a_config_error_with_its_line(value: str, why: str) -> None:
    text = f"refresh: 2s\ntrace_url: '{value}'\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "warroom.yaml")
    assert str(info.value).startswith("warroom.yaml:2: trace_url: "), str(info.value)
    assert why in str(info.value)


def test_a_good_trace_url_loads() -> None:
    cfg = parse_config("trace_url: 'http://jaeger:16686/trace/{trace_id}'\n")
    assert cfg.trace_url == "http://jaeger:16686/trace/{trace_id}"


def _row(route: str, p99: list[float], t0: float = 0.0) -> RouteRow:
    pts = [(t0 + i, v) for i, v in enumerate(p99)]
    qps = [(t, 100.0) for t, _ in pts]
    return RouteRow(route, {"p99": pts, "p95": [(t, v * 0.8) for t, v in pts], "qps": qps})


def test_route_spikes_judge_each_point_once_and_stay_bounded() -> None:
    spikes = RouteSpikes(DetectorConfig(min_observations=1), rate_window=60, keep=3)
    calm, slow = [0.05] * 12, [0.5] * 4
    rows = [_row("/pay", calm + slow), _row("/cart", calm + calm[:4])]
    spikes.observe(rows)
    assert [r.state for r in rows] == ["SUSTAINED", "OK"]
    # the same window again: no point is judged twice, nothing changes
    assert spikes.observe(rows) == [] and rows[0].state == "SUSTAINED"
    for i in range(5):  # more routes than `keep`: the one gone longest is forgotten
        spikes.observe([_row(f"/r{i}", calm)])
    assert spikes.state("/pay") == "WARMING UP"
    assert len(spikes._seen) == 3
