"""PrometheusSource and Hub against the real Prometheus 2.42 (session fixture in conftest)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.conftest import LAT_ERRORS, LAT_REQUESTS
from tests.servers import FaultyPrometheus, start_prometheus, wait_for_scrape
from tui.config import Config, parse_config
from tui.core.events import PointBatch, SourceEvent, record_lines
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.sources.hub import Hub
from tui.sources.prometheus import (
    MAX_POINTS,
    PrometheusSource,
    build_queries,
    choose_step,
    is_saturated,
    split_selector,
)

pytestmark = pytest.mark.integration

SELF = 'prometheus_http_request_duration_seconds{handler="/api/v1/query"}'


def make_config(
    url: str,
    *,
    refresh: str = "1s",
    window: str = "30s",
    rate_window: str = "5s",
    extra: str = "",
    services: str | None = None,
) -> Config:
    services = (
        services
        if services is not None
        else f"""
  - name: prom
    prometheus:
      latency_histogram: '{SELF}'
  - name: lat
    prometheus:
      latency_histogram: wr_lat
      error_ratio: sum(rate(wr_errors_total[{rate_window}])) / sum(rate(wr_requests_total[{rate_window}]))
"""
    )
    return parse_config(f"""
prometheus:
  url: "{url}"
{extra}
otlp: {{http: "", grpc: ""}}
refresh: {refresh}
rate_window: {rate_window}
window: {window}
services:{services}
""")


def query_range(url: str, promql: str, start: float, end: float, step: float) -> dict[float, float]:
    r = httpx.post(
        f"{url}/api/v1/query_range",
        timeout=10,
        data={"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"},
    )
    body = r.json()
    assert body["status"] == "success", body
    (series,) = body["data"]["result"]
    return {float(t): float(v) for t, v in series["values"]}


@pytest.fixture
def proxy(prometheus: str) -> Iterator[FaultyPrometheus]:
    with FaultyPrometheus(prometheus) as server:
        yield server


def test_selector_splitting() -> None:
    assert split_selector(SELF) == (
        "prometheus_http_request_duration_seconds",
        'handler="/api/v1/query"',
    )
    assert split_selector("foo_bucket{a='b',}") == ("foo", "a='b'")
    assert split_selector(" bar ") == ("bar", "")
    for bad in ("{a='b'}", "1abc", "foo{a='b'} extra", "rate(foo[1m])"):
        with pytest.raises(ValueError, match="metric name"):
            split_selector(bad)
    cfg = make_config("http://127.0.0.1:1")
    q = build_queries(cfg.services[0], cfg.rate_window)
    bucket = 'prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query"}'
    assert q.quantiles["p99"] == f"histogram_quantile(0.99, sum by (le) (rate({bucket}[5s])))"
    assert q.total == (
        "sum(rate(prometheus_http_request_duration_seconds_bucket"
        '{handler="/api/v1/query",le="+Inf"}[5s]))'
    )
    assert q.qps == (
        'sum(rate(prometheus_http_request_duration_seconds_count{handler="/api/v1/query"}[5s]))'
    )
    lat = build_queries(cfg.services[1], 90.5)
    debug = 'handler!~"/debug/.*",route!~"/debug/.*",path!~"/debug/.*"'
    assert (
        lat.top_finite == f'max(sum by (le) (rate(wr_lat_bucket{{{debug},le!="+Inf"}}[90500ms])))'
    )


def test_step_keeps_window_under_point_limit() -> None:
    assert choose_step(5, 900) == 5
    assert choose_step(1, 6 * 3600) == 2
    for refresh, window in [(1, 6 * 3600), (0.5, 86400), (1, 11000), (2, 7 * 86400)]:
        step = choose_step(refresh, window)
        assert window / step + 1 <= MAX_POINTS
        assert step >= refresh


async def test_first_window_then_only_new_steps(prometheus: str, proxy: FaultyPrometheus) -> None:
    cfg = make_config(proxy.url, window="20s")
    store = MetricStore()
    src = PrometheusSource(cfg, store)
    p99_query = build_queries(cfg.services[0], 5).quantiles["p99"]
    # A fresh session Prometheus may hold a single rate()-able step so far: wait for three.
    wait_for_scrape(prometheus, f"count_over_time((({p99_query}) > 0)[20s:1s]) >= 3", timeout=30)
    try:
        now = time.time() - 1.5  # every scrape up to `now` is surely ingested
        first = await src.refresh(now)
        assert src.status.state == "up", src.status
        forms = [f for f in proxy.forms if "step" in f]
        starts = {float(f["start"][0]) for f in forms}
        ends = {float(f["end"][0]) for f in forms}
        assert starts == {math.floor((now - 20) / src.step) * src.step}
        assert ends == {math.floor(now / src.step) * src.step}
        assert all(f["step"] == ["1"] for f in forms)
        # Every signal of both services (6 + 7 queries: "prom" has no error ratio), POSTed.
        assert len(forms) == 13
        assert all(h["content-type"] == "application/x-www-form-urlencoded" for h in proxy.headers)
        p99 = [p for p in first if p.service == "prom" and p.signal == "p99"]
        assert len(p99) >= 2  # as much of the window as Prometheus has

        # The same values Prometheus gives for the same range, step by step.
        (end,) = ends
        (start,) = starts
        expected = query_range(prometheus, p99_query, start, end, 1)
        assert {p.t: p.value for p in p99} == {
            t: v for t, v in expected.items() if math.isfinite(v)
        }

        proxy.forms.clear()
        later = now + 2.2
        time.sleep(max(0.0, later - time.time()))
        second = await src.refresh(later)
        forms = [f for f in proxy.forms if "step" in f]
        assert {float(f["start"][0]) for f in forms} == {end + 1}
        assert {float(f["end"][0]) for f in forms} == {math.floor(later)}
        assert second and all(end < p.t <= math.floor(later) for p in second)
        ring = store.series("prom", "p99")
        assert ring is not None
        ts, _, _ = ring.arrays()
        assert list(ts) == sorted(set(ts))  # appended in order, no step twice

        proxy.forms.clear()
        # A moment later but within the same step (never across a whole second): no new
        # step yet, so no request at all.
        same_step = later + min(0.1, (math.floor(later) + 1 - later) / 2)
        assert await src.refresh(same_step) == []
        assert proxy.forms == []
    finally:
        await src.aclose()


async def test_saturation_qps_error_ratio(prometheus: str) -> None:
    cfg = make_config(prometheus)
    store = MetricStore()
    src = PrometheusSource(cfg, store)
    try:
        points = await src.refresh(time.time())
    finally:
        await src.aclose()
    lat = {(p.signal, p.t): p for p in points if p.service == "lat"}
    t = max(t for s, t in lat if s == "p99")
    p50, p95, p99 = lat[("p50", t)], lat[("p95", t)], lat[("p99", t)]
    # 50 of 100 under 0.1s, 97 under 0.2s, 3 above: p99 saturates at the top finite bound.
    assert p50.value == pytest.approx(0.1) and not p50.flags & FLAG_SATURATED
    assert 0.1 < p95.value <= 0.2 and not p95.flags & FLAG_SATURATED
    assert p99.value == 0.2 and p99.flags & FLAG_SATURATED
    assert lat[("error_ratio", t)].value == pytest.approx(LAT_ERRORS / LAT_REQUESTS)
    assert lat[("qps", t)].value > 0
    assert store.latest("lat", "p99") == (t, 0.2, p99.flags)
    info = store.services["lat"]
    assert info.source == "prometheus" and info.observations and info.observations > 0


async def test_long_promql_is_posted(prometheus: str, proxy: FaultyPrometheus) -> None:
    # ~13 KB of PromQL: past the 8 KB request line many proxies and servers accept for a GET.
    long_qps = (
        " + ".join(["sum(rate(wr_requests_total[5s]))"] * 200)
        + " - "
        + " - ".join(["sum(rate(wr_requests_total[5s]))"] * 199)
    )
    assert len(long_qps) > 13_000
    services = f"""
  - name: lat
    prometheus:
      latency_histogram: wr_lat
      qps: '{long_qps}'
"""
    cfg = make_config(proxy.url, services=services)
    src = PrometheusSource(cfg, MetricStore())
    try:
        points = await src.refresh(time.time() - 1.5)
    finally:
        await src.aclose()
    assert src.status.state == "up", src.status.detail
    qps = {p.t: p.value for p in points if p.signal == "qps"}
    assert len(qps) >= 2
    (form,) = [f for f in proxy.forms if f.get("query") == [long_qps]]
    short = query_range(
        prometheus,
        "sum(rate(wr_requests_total[5s]))",
        float(form["start"][0]),
        float(form["end"][0]),
        1,
    )
    # 200 x - 199 x == x, up to float rounding
    assert qps == pytest.approx({t: v for t, v in short.items() if t in qps}, rel=1e-9)


async def test_nan_and_infinities_parse(prometheus: str) -> None:
    services = """
  - name: odd
    prometheus:
      latency_histogram: wr_lat
      qps: vector(0) / 0
      error_ratio: vector(1) / 0
"""
    cfg = make_config(prometheus, services=services)
    src = PrometheusSource(cfg, MetricStore())
    try:
        points = await src.refresh(time.time())
        snap = await src.instant(time.time() - 1)
    finally:
        await src.aclose()
    assert src.status.state == "up"
    # NaN and +Inf parsed fine; they are not numbers to draw, so they are not stored.
    assert not [p for p in points if p.signal in ("qps", "error_ratio")]
    assert snap["odd"]["qps"] == (None, 0) and snap["odd"]["error_ratio"] == (None, 0)
    assert snap["odd"]["p99"] == (0.2, FLAG_SATURATED)


async def test_warnings_are_shown(prometheus: str, proxy: FaultyPrometheus) -> None:
    proxy.mode = "warn"
    src = PrometheusSource(make_config(proxy.url), MetricStore())
    try:
        points = await src.refresh(time.time())
    finally:
        await src.aclose()
    assert points
    assert src.status.state == "up"
    assert src.status.detail == "warning: partial response: store-1 unreachable"


async def test_auth_and_custom_headers(
    prometheus: str, proxy: FaultyPrometheus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WR_TEST_TOKEN", "s3cret-token")
    extra = """  bearer_token: {env: WR_TEST_TOKEN}
  headers: {X-Scope-OrgID: tenant-7}
  timeout: 3s"""
    src = PrometheusSource(make_config(proxy.url, extra=extra), MetricStore())
    try:
        await src.refresh(time.time())
    finally:
        await src.aclose()
    assert src.status.state == "up"
    assert {h["authorization"] for h in proxy.headers} == {"Bearer s3cret-token"}
    assert {h["x-scope-orgid"] for h in proxy.headers} == {"tenant-7"}

    proxy.headers.clear()
    (tmp_path / "pw").write_text("hunter2\n")
    cfg_text = f"""
prometheus:
  url: "{proxy.url}"
  basic_auth: {{username: ops, password: {{file: {tmp_path / "pw"}}}}}
otlp: {{http: "", grpc: ""}}
refresh: 1s
rate_window: 5s
window: 10s
services:
  - name: lat
    prometheus: {{latency_histogram: wr_lat}}
"""
    src = PrometheusSource(parse_config(cfg_text), MetricStore())
    try:
        await src.refresh(time.time())
    finally:
        await src.aclose()
    assert {h["authorization"] for h in proxy.headers} == {"Basic b3BzOmh1bnRlcjI="}


async def test_hub_loop_feeds_store_and_calls_back(prometheus: str) -> None:
    cfg = make_config(prometheus, window="10s")
    store = MetricStore()
    updates: list[float] = []
    events: list[dict[str, Any]] = []

    def sink(e: SourceEvent) -> None:  # record-style lines, and the time of each refresh
        events.extend(record_lines(e))
        if isinstance(e, PointBatch):
            updates.append(time.monotonic())

    hub = Hub(cfg, store, sink, emit_points=True)
    async with hub:
        deadline = time.monotonic() + 10
        while len(updates) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    assert len(updates) >= 3
    # Re-armed after each refresh: about `refresh` apart, never back to back.
    gaps = [b - a for a, b in itertools.pairwise(updates)]
    assert all(g >= 0.9 for g in gaps), gaps
    assert [s.name for s in hub.statuses()] == ["prometheus"]
    assert hub.statuses()[0].state == "up"
    points = [e for e in events if e["type"] == "point"]
    assert {e["signal"] for e in points} == {"p50", "p95", "p99", "qps", "error_ratio"}
    assert all(set(e) == {"t", "type", "service", "signal", "value"} for e in points)
    assert store.latest("prom", "p99") is not None


async def test_discovery_without_services(prometheus: str) -> None:
    cfg = make_config(prometheus, services=" []")
    store = MetricStore()
    src = PrometheusSource(cfg, store)
    try:
        assert src.discover and not src.queries
        points = await src.refresh(time.time() - 1.5)
    finally:
        await src.aclose()
    # The exposition target (job "warroom-test") serves http_server_request_duration_seconds.
    assert list(src.queries) == ["warroom-test"]
    assert src.queries["warroom-test"].quantiles["p99"] == (
        "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket"
        '{job="warroom-test",handler!~"/debug/.*",route!~"/debug/.*",path!~"/debug/.*"}[5s])))'
    )
    assert store.services["warroom-test"].source == "prometheus"
    p99 = [p for p in points if p.signal == "p99"]
    assert p99 and all(p.value == 0.2 and p.flags & FLAG_SATURATED for p in p99)


def test_snapshot_with_only_prometheus_url(
    prometheus: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tui.cli import main

    monkeypatch.chdir(tmp_path)  # no warroom.yaml: built-in defaults + PROMETHEUS_URL
    monkeypatch.setenv("PROMETHEUS_URL", prometheus)
    assert main(["snapshot", "--wait", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (svc,) = doc["services"]
    assert svc["name"] == "warroom-test" and svc["source"] == "prometheus"
    assert svc["p99"] == 0.2 and svc["p99_saturated"] is True and svc["qps"] > 0


@settings(max_examples=300, deadline=None)
@given(
    increments=st.lists(st.integers(0, 50), min_size=1, max_size=8),
    inf_extra=st.integers(0, 50),
    q=st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]),
)
def test_saturation_rule_matches_bucket_quantile(
    increments: list[int], inf_extra: int, q: float
) -> None:
    """The two-aggregate saturation rule agrees with the full bucket algorithm."""
    counts = list(itertools.accumulate(increments))
    total = counts[-1] + inf_extra
    bounds = [0.1 * (i + 1) for i in range(len(counts))] + [math.inf]
    full = bucket_quantile(q, bounds, [*counts, total])
    assert is_saturated(q, float(total), float(max(counts))) == full.saturated


def test_answer_parsing() -> None:
    from tui.sources.prometheus import _parse_data, _parse_value

    assert math.isnan(_parse_value("NaN"))
    assert _parse_value("+Inf") == math.inf and _parse_value("-Inf") == -math.inf
    assert _parse_value("1e-3") == 0.001
    for bad in (True, None, ["1"]):
        with pytest.raises((ValueError, TypeError)):
            _parse_value(bad)
    assert _parse_data({"resultType": "scalar", "result": [10, "2"]}) == [({}, [(10.0, 2.0)])]
    assert _parse_data(
        {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1.5, "NaN"]}]}
    )[0][0] == {"a": "b"}
    for bad_data in (
        {"resultType": "streams", "result": []},
        {"resultType": "matrix", "result": {}},
        {"resultType": "matrix", "result": [{"metric": {}, "values": [[1]]}]},
        {"resultType": "matrix", "result": [{"metric": [], "values": []}]},
        {"resultType": "matrix"},
    ):
        with pytest.raises((KeyError, TypeError, ValueError)):
            _parse_data(bad_data)


BAD_PROMQL = """
  - name: lat
    prometheus: {latency_histogram: wr_lat}
  - name: typo
    prometheus:
      latency_histogram: wr_lat
      error_ratio: sum(rate(wr_errors_total[5s]) / 2
"""


async def test_one_bad_query_does_not_blank_the_others(prometheus: str) -> None:
    store = MetricStore()
    src = PrometheusSource(make_config(prometheus, services=BAD_PROMQL), store)
    try:
        points = await src.refresh(time.time() - 1.5)
    finally:
        await src.aclose()
    assert {p.service for p in points} == {"lat"}
    assert store.series("typo", "p99") is None  # all or nothing per service
    st = src.status
    assert st.state == "up" and src.failures == 0 and st.stale_since is None
    assert st.detail.startswith("warning: typo error_ratio: HTTP 400: bad_data: ")


def test_snapshot_names_the_bad_query(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    path = tmp_path / "w.yaml"
    path.write_text(
        f'prometheus: {{url: "{prometheus}"}}\notlp: {{http: "", grpc: ""}}\nservices:{BAD_PROMQL}'
    )
    assert main(["snapshot", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"warroom: prometheus {prometheus}: HTTP 400: bad_data: ")
    assert err.rstrip().endswith("(typo error_ratio)") and err.count("\n") == 1


async def test_pprof_captures_are_left_out_of_the_p99(tmp_path: Path) -> None:
    """Issue 13 item 6: warroom's own `profile?seconds=N` capture of a Go server is an N
    second request in that server's latency histogram (Prometheus labels it
    handler="/debug/*subpath"): a false spike at low traffic. Left out by default. A Prometheus
    of its own: its only other requests are its scrapes of itself, low traffic."""
    with start_prometheus(tmp_path) as prometheus:
        await _capture_and_compare(prometheus)


async def _capture_and_compare(prometheus: str) -> None:
    port = prometheus.rsplit(":", 1)[1]
    selector = f'prometheus_http_request_duration_seconds{{instance="127.0.0.1:{port}"}}'
    debug = f'{{handler="/debug/*subpath",instance="127.0.0.1:{port}"}}'

    async def debug_requests_scraped(query: str) -> None:
        deadline = time.monotonic() + 30
        while not httpx.get(f"{prometheus}/api/v1/query", params={"query": query}).json()["data"][
            "result"
        ]:
            assert time.monotonic() < deadline, f"never true: {query}"
            await asyncio.sleep(0.2)

    # rate() ignores a series' first sample: a quick /debug/ request makes the series first
    assert httpx.get(f"{prometheus}/debug/pprof/", timeout=10).status_code == 200
    await debug_requests_scraped(f"prometheus_http_request_duration_seconds_count{debug}")
    r = httpx.get(f"{prometheus}/debug/pprof/profile", params={"seconds": "2"}, timeout=30)
    assert r.status_code == 200 and r.content[:2] == b"\x1f\x8b"
    await debug_requests_scraped(
        f"increase(prometheus_http_request_duration_seconds_count{debug}[60s]) > 0.5"
    )

    async def p99(exclude: bool) -> float:
        cfg = make_config(
            prometheus,
            rate_window="60s",
            services=f"""
  - name: prom
    prometheus:
      latency_histogram: '{selector}'
      exclude_debug: {"true" if exclude else "false"}
""",
        )
        src = PrometheusSource(cfg, MetricStore())
        try:
            got = await src.instant(time.time())
        finally:
            await src.aclose()
        value, _flags = got["prom"]["p99"]
        assert value is not None
        return value

    assert await p99(exclude=False) > 1.0  # the 2 s capture is the P99 of all requests
    assert await p99(exclude=True) < 1.0
