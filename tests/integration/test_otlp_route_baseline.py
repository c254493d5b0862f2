"""OTLP services per route, end to end: the real OpenTelemetry SDK pushes latencies by
`http.route` to warroom's real OTLP/HTTP receiver. `snapshot --by route` gives each route's
values exactly as histogram_quantile over that route's buckets; `warroom record` writes the
route rows, `baseline refresh --from-record` keeps them, and `check --from-record --by route`
fails on the route that slowed down and names it (json and md), not on the other one."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from opentelemetry.metrics import Histogram as HistogramInstrument

from tests.cli import Listening, reported_port, warroom
from tests.otel_push import SdkPusher
from tui.commands.snapshot import take_snapshot, to_markdown
from tui.config import parse_config
from tui.core.baseline import BaselineStore
from tui.core.metrics.quantile import bucket_quantile

pytestmark = pytest.mark.integration

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CART = [0.004] * 60 + [0.02] * 39 + [0.3]
PAY = [0.02] * 45 + [0.08] * 4 + [0.2]
SLOW_PAY = [0.2] * 45 + [0.8] * 4 + [2.0]


def p(q: float, values: list[float]) -> float:
    """What histogram_quantile answers for these observations in BOUNDS."""
    bounds = [*BOUNDS, math.inf]
    return bucket_quantile(q, bounds, [float(sum(v <= b for v in values)) for b in bounds]).value


def config_text(port: int, store: Path) -> str:
    return f"""
otlp: {{http: "127.0.0.1:{port}", grpc: ""}}
refresh: 500ms
rate_window: 500ms
window: 30s
baseline: {{dir: "{store}"}}
services:
  - name: shop
    otlp: {{service_name: shop-svc}}
"""


def shop_pusher(port: int, pay: list[float], every: float = 0.2, slow: int = 0) -> SdkPusher:
    """A real SDK app: every `every` seconds, CART on /api/cart and `pay` on /api/pay (every
    fifth /api/pay request fails), pushed with delta temporality."""

    def observe(hist: HistogramInstrument) -> None:
        for v in CART:
            hist.record(v, {"http.route": "/api/cart", "http.response.status_code": 200})
        for i, v in enumerate(pay):
            code = 500 if i % 5 == 0 else 200
            hist.record(v, {"http.route": "/api/pay", "http.response.status_code": code})
        for _ in range(slow):  # all beyond the last finite bound (2.5 s)
            hist.record(4.0, {"http.route": "/api/slow"})

    return SdkPusher(port, "shop-svc", BOUNDS, observe, every)


async def test_snapshot_by_route_of_an_otlp_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = parse_config(config_text(0, tmp_path / "bl"))  # the receiver reports its port
    snapshot = asyncio.create_task(take_snapshot(cfg, wait=2.0, by_route=True))
    with shop_pusher(await reported_port(capsys), PAY, slow=5) as pusher:
        doc = await snapshot
    assert pusher.pushes >= 2
    (svc,) = doc["services"]
    routes = svc["routes"]
    assert (routes["label"], routes["total"], routes["other"]) == ("http.route", 3, 0)
    rows = {r["route"]: r for r in routes["rows"]}
    assert set(rows) == {"/api/cart", "/api/pay", "/api/slow"}
    slow = rows.pop("/api/slow")  # its P99 is in the +Inf bucket: the bound, marked
    assert slow["p99"] == BOUNDS[-1] and slow["p99_saturated"] is True
    for route, values in (("/api/cart", CART), ("/api/pay", PAY)):
        for sig, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            assert rows[route][sig] == p(q, values), (route, sig)
        assert rows[route]["p99_saturated"] is False
    assert rows["/api/pay"]["error_ratio"] == pytest.approx(10 / 50)
    assert rows["/api/cart"]["error_ratio"] == 0
    assert rows["/api/pay"]["qps"] + rows["/api/cart"]["qps"] + slow["qps"] == pytest.approx(
        svc["qps"]
    )
    md = to_markdown(doc)
    assert "### shop by http.route (3 routes)" in md
    slow_line = next(ln for ln in md.splitlines() if ln.startswith("| /api/slow |"))
    assert slow_line.split(" | ")[3] == "≥ 2.500 s", slow_line
    assert f"| /api/pay | {p(0.5, PAY) * 1000:.1f} ms |" in md


def test_snapshot_by_route_without_listening_says_why(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text(config_text(0, tmp_path / "bl"))
    r = warroom("snapshot", "-c", str(cfg), "--by", "route", "--wait", "0")
    assert r.returncode == 0, r.stderr
    (svc,) = json.loads(r.stdout)["services"]
    assert svc["routes_error"] == (
        "shop: no routes: the snapshot did not listen for OTLP pushes (--wait 0)"
    )


def _record(cfg: Path, out: Path, pay: list[float]) -> None:
    with (
        Listening("record", "-c", str(cfg), "--duration", "5s", "--out", str(out)) as run,
        shop_pusher(run.port, pay),
    ):
        r = run.result()
    assert r.returncode == 0, r.stderr


def test_record_baseline_and_check_by_route_of_an_otlp_service(tmp_path: Path) -> None:
    cfg, store = tmp_path / "w.yaml", tmp_path / "bl"
    cfg.write_text(config_text(0, store))  # each record reports the port it got
    calm, slow = tmp_path / "calm.jsonl", tmp_path / "slow.jsonl"
    _record(cfg, calm, PAY)
    lines = [json.loads(x) for x in calm.read_text().splitlines()]
    route_lines = [e for e in lines if e["type"] == "routes"]
    assert len(route_lines) >= 4
    for e in route_lines:
        assert (e["service"], e["label"], e["routes"], e["other"]) == ("shop", "http.route", 2, 0)
        assert e["rows"]["/api/pay"]["p99"] == p(0.99, PAY)
        assert e["rows"]["/api/cart"]["p50"] == p(0.5, CART)

    r = warroom("baseline", "refresh", "shop", "-c", str(cfg), "--from-record", str(calm))
    assert r.returncode == 0, r.stderr
    assert "; 2 routes by http.route" in r.stdout
    snap = BaselineStore(store).current("shop")
    assert snap is not None and snap.route_label == "http.route"
    assert set(snap.routes) == {"/api/cart", "/api/pay"}
    assert snap.routes["/api/pay"]["p99"] == [p(0.99, PAY)] * len(route_lines)
    assert snap.routes["/api/pay"]["error_ratio"] == [pytest.approx(0.2)] * len(route_lines)
    shown = json.loads(
        warroom("baseline", "show", "shop", "-c", str(cfg), "--format", "json").stdout
    )
    assert shown["route_label"] == "http.route"
    assert shown["routes"]["/api/cart"]["p99"]["median"] == p(0.99, CART)

    _record(cfg, slow, SLOW_PAY)
    args = ["check", "-c", str(cfg), "--from-record", str(slow), "--by", "route"]
    r = warroom(*args, "--independent", "0", "--format", "json")
    assert r.returncode == 1, r.stderr
    (svc,) = json.loads(r.stdout)["services"]
    verdicts = {row["name"]: row["verdict"] for row in svc["routes"]["rows"]}
    assert verdicts["/api/pay p99"] == "REGRESSION"
    assert verdicts["/api/cart p99"] != "REGRESSION"
    assert svc["routes"]["label"] == "http.route" and svc["routes"]["regression"] is True
    r = warroom(*args, "--independent", "0", "--format", "md")
    assert r.returncode == 1, r.stderr
    assert "/api/pay p99" in r.stdout.splitlines()[-1]
    # the calm recording against its own baseline: no route regresses
    r = warroom(*args[:4], str(calm), *args[5:], "--independent", "0", "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    (svc,) = json.loads(r.stdout)["services"]
    assert not svc["routes"]["regression"]


def test_baseline_refresh_listening_to_an_otlp_service(tmp_path: Path) -> None:
    """`baseline refresh --listen 3s`: the receivers open, the SDK pushes, the window with its
    routes is the new baseline; bad input is one line, exit 2."""
    cfg, store = tmp_path / "w.yaml", tmp_path / "bl"
    cfg.write_text(config_text(0, store))
    listen = Listening("baseline", "refresh", "shop", "-c", str(cfg), "--listen", "3s")
    with listen, shop_pusher(listen.port, PAY) as pusher:
        r = listen.result()
    assert r.returncode == 0, r.stderr
    assert pusher.pushes >= 2 and "; 2 routes by http.route" in r.stdout, r.stdout
    snap = BaselineStore(store).current("shop")
    assert snap is not None and snap.source == "otlp receivers (3s)" and snap.window == 3
    assert set(snap.signals["p99"]) == {p(0.99, CART + PAY)}
    assert set(snap.routes) == {"/api/cart", "/api/pay"}
    assert snap.routes["/api/pay"]["p99"] and set(snap.routes["/api/pay"]["p99"]) == {p(0.99, PAY)}
    for argv, message in (
        (["--listen", "soon"], "warroom: --listen: "),
        (["--listen", "0s"], "warroom: --listen: '0s' is not a positive duration"),
    ):
        r = warroom("baseline", "refresh", "shop", "-c", str(cfg), *argv)
        assert r.returncode == 2 and r.stderr.startswith(message), r.stderr
        assert r.stderr.count("\n") == 1


def test_check_listening_names_the_route_that_slowed(tmp_path: Path) -> None:
    """A baseline heard live, then `check --listen --by route` while /api/pay is ten times
    slower: exit 1, the verdict names /api/pay; with --from-record too it is exit 2."""
    cfg, store = tmp_path / "w.yaml", tmp_path / "bl"
    cfg.write_text(config_text(0, store))
    listen = Listening("baseline", "refresh", "shop", "-c", str(cfg), "--listen", "4s")
    with listen, shop_pusher(listen.port, PAY):
        r = listen.result()
    assert r.returncode == 0, r.stderr
    args = ["check", "-c", str(cfg), "--by", "route", "--listen", "4s", "--independent", "0"]
    with Listening(*args) as listen, shop_pusher(listen.port, SLOW_PAY):
        r = listen.result()
    assert r.returncode == 1, r.stdout + r.stderr
    verdict = r.stdout.rstrip().splitlines()[-1]
    assert verdict.startswith("check: REGRESSION (routes: shop /api/pay p"), verdict
    assert "/api/cart" not in verdict
    r = warroom(*args, "--from-record", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2 and r.stderr == "warroom: --listen and --from-record: pick one\n"
