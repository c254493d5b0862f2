"""Per route and per release, end to end: a real Prometheus scrapes the real Go service (routes
under a `route` label, version in gosvc_build_info, runtime/metrics histograms) and a loopback
exposition without a route label. `snapshot --by route` equals Prometheus' own answers;
`baseline refresh` keeps the version with its revision, each route's samples exactly as
Prometheus answers them, and the Go runtime; `check --by route` fails on a slowed route and
names it; bad input is one line and exit 2."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli import warroom
from tests.gosvc import GoService, start_gosvc
from tests.servers import ExpositionServer, FaultyPrometheus, start_prometheus, wait_for_scrape
from tests.waits import armed_dialog
from tui.core.baseline import BaselineStore, build_snapshot

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ("/api/cart", "/api/order/create", "/api/pay")
WINDOW = 16  # seconds: the config window of every command here


class Exposition:
    """`wr_plain`: a histogram without any route label; `wr_sat`: /slow's requests all above
    the last finite bound, /fast's below. Each scrape adds 10 requests to every series."""

    def __init__(self) -> None:
        self.n = 0

    def text(self) -> str:
        self.n += 10
        n = self.n
        plain = "".join(f'wr_plain_bucket{{le="{le}"}} {n}\n' for le in ("0.1", "+Inf"))
        sat = "".join(
            f'wr_sat_bucket{{route="{r}",le="{le}"}} {n if r == "/fast" or le == "+Inf" else 0}\n'
            for r in ("/slow", "/fast")
            for le in ("0.1", "+Inf")
        )
        return (
            f"# TYPE wr_plain histogram\n{plain}wr_plain_count {n}\n# TYPE wr_sat histogram\n{sat}"
        )


@dataclass
class Stack:
    svc: GoService
    prom: str
    cfg: Path
    store: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    d = tmp_path_factory.mktemp("check-routes")
    plain = ExpositionServer()
    plain.set(Exposition().text)
    with (
        plain,
        start_gosvc(d, "-load", "200", "-runtime-metrics", "-version", "1.4.2") as svc,
        start_prometheus(d, [svc.target, plain.target]) as prom,
    ):
        cfg = d / "warroom.yaml"
        cfg.write_text(
            f'prometheus: {{url: "{prom}"}}\notlp: {{http: "", grpc: ""}}\n'
            f"refresh: 1s\nrate_window: 2s\nwindow: {WINDOW}s\n"
            f"baseline: {{dir: {d / 'baselines'}}}\naudit: {{path: {d / 'audit.jsonl'}}}\n"
            "services:\n"
            f"  - name: shop\n    prometheus:\n      latency_histogram: "
            f"'http_request_duration_seconds{{instance=\"{svc.target}\"}}'\n"
            "  - name: plain\n    prometheus: {latency_histogram: wr_plain}\n"
            "  - name: sat\n    prometheus: {latency_histogram: wr_sat}\n"
        )
        sel = f'http_request_duration_seconds_count{{instance="{svc.target}",route="/api/pay"}}'
        wait_for_scrape(prom, f"count_over_time({sel}[{WINDOW + 4}s]) >= {WINDOW}", timeout=90)
        wait_for_scrape(prom, "count_over_time(wr_plain_count[5s]) >= 3", timeout=30)
        yield Stack(svc, prom, cfg, d / "baselines")


def query(prom: str, promql: str, t: float) -> dict[str, float]:
    r = httpx.post(f"{prom}/api/v1/query", data={"query": promql, "time": f"{t:.3f}"}, timeout=10)
    r.raise_for_status()
    return {x["metric"].get("route", ""): float(x["value"][1]) for x in r.json()["data"]["result"]}


def query_range(prom: str, promql: str, start: float, end: float) -> list[float]:
    r = httpx.post(
        f"{prom}/api/v1/query_range",
        data={"query": promql, "start": str(start), "end": str(end), "step": "1"},
        timeout=10,
    )
    r.raise_for_status()
    (series,) = r.json()["data"]["result"]
    return [float(v) for _, v in series["values"]]


def bucket(s: Stack, route: str | None = None) -> str:
    extra = f',route="{route}"' if route else ""
    return f'http_request_duration_seconds_bucket{{instance="{s.svc.target}"{extra}}}'


def test_snapshot_by_route_equals_prometheus(stack: Stack) -> None:
    at = round(time.time() - 2, 3)
    r = warroom("snapshot", "-c", str(stack.cfg), "--by", "route", "--at", str(at))
    assert r.returncode == 0, r.stderr
    shop, plain, sat = json.loads(r.stdout)["services"]
    routes = shop["routes"]
    assert routes["label"] == "route" and routes["other"] == 0 and routes["total"] >= 3
    rows = {row["route"]: row for row in routes["rows"]}
    assert set(ROUTES) <= set(rows)
    for sig, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        want = query(
            stack.prom,
            f"histogram_quantile({q}, sum by (le, route) (rate({bucket(stack)}[2s])))",
            at,
        )
        for route in ROUTES:
            assert rows[route][sig] == want[route], (route, sig)
    inf = bucket(stack)[:-1] + ',le="+Inf"}'
    want = query(stack.prom, f"sum by (route) (rate({inf}[2s]))", at)
    assert all(rows[route]["qps"] == want[route] for route in ROUTES)
    assert plain["routes_error"] == (
        "plain: wr_plain has none of the labels route, http_route, handler, path; "
        "set services[].prometheus.route_label"
    )
    # a route whose P99 is in the +Inf bucket: the highest finite bound, marked as a floor
    sat_rows = {row["route"]: row for row in sat["routes"]["rows"]}
    want = query(
        stack.prom, "histogram_quantile(0.99, sum by (le, route) (rate(wr_sat_bucket[2s])))", at
    )
    assert sat_rows["/slow"]["p99"] == want["/slow"] == 0.1 and sat_rows["/slow"]["p99_saturated"]
    assert sat_rows["/fast"]["p99"] == want["/fast"] and not sat_rows["/fast"]["p99_saturated"]
    md = warroom(
        "snapshot", "-c", str(stack.cfg), "--by", "route", "--format", "md", "--at", str(at)
    )
    assert md.returncode == 0, md.stderr
    assert "### shop by route" in md.stdout and "| /api/pay | " in md.stdout
    assert "plain: no routes: plain: wr_plain has none of the labels" in md.stdout
    assert "| /slow | " in md.stdout and "| ≥ 100.0 ms | " in md.stdout


def test_a_saturated_route_says_so_in_the_baseline_and_the_check(
    stack: Stack, tmp_path: Path
) -> None:
    args = ("-c", str(stack.cfg), "--dir", str(tmp_path / "b"))
    r = warroom("baseline", "refresh", "sat", *args, "--no-profile")
    assert r.returncode == 0, r.stderr
    snap = BaselineStore(tmp_path / "b").current("sat")
    assert snap is not None and snap.route_saturated["/slow"]["p99"] == len(
        snap.routes["/slow"]["p99"]
    )
    assert "/fast" not in snap.route_saturated
    r = warroom(
        "check",
        *args,
        "--service",
        "sat",
        "--by",
        "route",
        "--format",
        "json",
        "--independent",
        "0",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)["services"][0]["routes"]["rows"]}
    assert any(n.startswith("saturated (≥ bound): base ") for n in rows["/slow p99"]["notes"])
    assert not any("saturated" in n for n in rows["/fast p99"]["notes"])


def test_baseline_keeps_version_routes_and_runtime_then_check_names_a_slowed_route(
    stack: Stack,
) -> None:
    r = warroom("baseline", "refresh", "shop", "-c", str(stack.cfg), "--no-profile")
    assert r.returncode == 0, r.stderr
    assert "version 1.4.2;" in r.stdout and "version from build_info, revision " in r.stdout
    snap = BaselineStore(stack.store).current("shop")
    assert snap is not None and snap.version == "1.4.2" and snap.version_source == "build_info"
    assert snap.revision and snap.route_label == "route" and set(ROUTES) <= set(snap.routes)
    assert {"go.goroutines", "go.heap_inuse"} <= set(snap.runtime)
    # each route's samples are Prometheus' answers at consecutive steps of the window
    end = math.floor(snap.taken_at)
    theirs = query_range(
        stack.prom,
        f"histogram_quantile(0.99, sum by (le, route) (rate({bucket(stack, '/api/pay')}[2s])))",
        end - WINDOW - 5,
        end + 2,
    )
    mine = snap.routes["/api/pay"]["p99"]
    assert len(mine) >= WINDOW - 2
    assert any(theirs[i : i + len(mine)] == mine for i in range(len(theirs))), (mine, theirs)

    def check_shop(*extra: str) -> subprocess.CompletedProcess[str]:
        return warroom(
            "check", "-c", str(stack.cfg), "--service", "shop", *extra, "--independent", "2"
        )

    stack.svc.control("/api/pay", latency_ms=400)
    try:
        pay = f"histogram_quantile(0.99, sum by (le) (rate({bucket(stack, '/api/pay')}[2s])))"
        wait_for_scrape(stack.prom, f"min_over_time(({pay})[{WINDOW}s:1s]) > 0.3", timeout=60)
        r = check_shop("--by", "route")
        assert r.returncode == 1, r.stdout + r.stderr
        verdict = r.stdout.rstrip().splitlines()[-1]
        assert verdict.startswith("check: REGRESSION (routes: shop /api/pay p"), verdict
        assert "shop /api/pay p99" in verdict
        assert "shop by route" in r.stdout and "shop Go runtime" in r.stdout
        assert "(Go runtime rows explain a change; they do not fail the gate)" in r.stdout
        r = check_shop("--by", "route", "--format", "json")
        doc = json.loads(r.stdout)["services"][0]
        rows = {row["name"]: row for row in doc["routes"]["rows"]}
        assert rows["/api/pay p99"]["verdict"] == "REGRESSION"
        assert rows["/api/pay p99"]["route"] == "/api/pay" and doc["routes"]["regression"]
        assert {f"{route} p99" for route in ROUTES} <= set(rows)
        assert doc["runtime"]["gates"] is False and doc["runtime"]["rows"]
        r = check_shop("--by", "route", "--format", "md")
        assert (
            r.returncode == 1
            and "### shop by route" in r.stdout
            and "### shop Go runtime" in r.stdout
        )
        assert "| /api/pay p99 | " in r.stdout
        # the service level alone is unchanged: no routes key, exit codes as before
        r = check_shop("--format", "json")
        assert "routes" not in json.loads(r.stdout)["services"][0]
    finally:
        stack.svc.control("/api/pay", latency_ms=16)


def test_a_histogram_without_a_route_label(stack: Stack) -> None:
    r = warroom("baseline", "refresh", "plain", "-c", str(stack.cfg), "--no-profile")
    assert r.returncode == 0, r.stderr
    assert "warroom: warning: no per-route baseline: wr_plain has none of the labels" in r.stderr
    r = warroom("check", "-c", str(stack.cfg), "--service", "plain", "--by", "route")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert r.stderr.startswith("warroom: plain: --by route: wr_plain has none of the labels")
    # among several services it is a note, and the others are still gated
    r = warroom("check", "-c", str(stack.cfg), "--by", "route", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    plain = {s["service"]: s for s in json.loads(r.stdout)["services"]}["plain"]
    assert plain["routes"]["notes"][0].startswith("routes not compared: wr_plain has none")


def test_a_baseline_without_routes(stack: Stack, tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "old")
    store.save(
        build_snapshot(
            "shop", {"p99": [0.03] * 10}, step=1, taken_by="t", source="dashboard window"
        )
    )
    r = warroom(
        "check",
        "-c",
        str(stack.cfg),
        "--dir",
        str(tmp_path / "old"),
        "--service",
        "shop",
        "--by",
        "route",
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert "holds no per-route signals (taken from dashboard window); take one with " in r.stderr
    assert "`warroom baseline refresh shop`" in r.stderr


@pytest.mark.parametrize("command", ["check", "snapshot"])
def test_an_unknown_breakdown(stack: Stack, command: str) -> None:
    r = warroom(command, "-c", str(stack.cfg), "--by", "endpoint")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "warroom: --by: 'endpoint' is not one of service, route\n"


def test_check_against_the_previous_release(stack: Stack, tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "rel")
    for i, version in enumerate(("1.4.1", "1.4.2")):
        store.save(
            build_snapshot(
                "shop",
                {"p99": [0.05] * 10},
                step=1,
                taken_by="t",
                version=version,
                taken_at=1e9 + i,
            )
        )
    args = ("-c", str(stack.cfg), "--dir", str(tmp_path / "rel"), "--service", "shop")
    # gosvc runs 1.4.2 (its gosvc_build_info): the release before it is 1.4.1
    r = warroom("check", *args, "--baseline", "previous-release", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["services"][0]["baseline"]["version"] == "1.4.1"
    r = warroom("check", *args, "--format", "json")
    assert json.loads(r.stdout)["services"][0]["baseline"]["version"] == "1.4.2"
    only = BaselineStore(tmp_path / "only")
    only.save(build_snapshot("shop", {"p99": [0.05] * 10}, step=1, taken_by="t", version="1.4.2"))
    r = warroom(
        "check",
        "-c",
        str(stack.cfg),
        "--dir",
        str(tmp_path / "only"),
        "--baseline",
        "previous-release",
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert "shop: no baseline of a release before 1.4.2 in " in r.stderr
    assert "(versions with a baseline: 1.4.2)" in r.stderr
    r = warroom("check", "-c", str(stack.cfg), "--baseline", "last-week")
    assert r.returncode == 2
    assert r.stderr == "warroom: --baseline: 'last-week' is not one of current, previous-release\n"


def test_a_refused_route_query_is_one_line(stack: Stack, tmp_path: Path) -> None:
    """Range queries pass, instant ones (the route label probe) are refused: the route
    breakdown cannot be had, and the gate says so instead of passing on the service level."""
    BaselineStore(tmp_path / "b").save(
        build_snapshot("shop", {"p99": [0.05] * 10}, step=1, taken_by="t")
    )
    with FaultyPrometheus(stack.prom, mode="refuse-instant") as faulty:
        cfg = tmp_path / "w.yaml"
        cfg.write_text(stack.cfg.read_text().replace(stack.prom, faulty.url))
        r = warroom(
            "check",
            "-c",
            str(cfg),
            "--dir",
            str(tmp_path / "b"),
            "--service",
            "shop",
            "--by",
            "route",
        )
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout + r.stderr
        assert r.stderr.startswith(f"warroom: prometheus {faulty.url}: routes: ")
        assert "too many samples" in r.stderr


async def test_b_keeps_the_routes_and_runtime_that_baseline_refresh_keeps(
    stack: Stack, tmp_path: Path
) -> None:
    """The real app on the real Prometheus: `b` on shop saves the route breakdown through the
    same code as `warroom baseline refresh` (each route's samples equal the ones it fetches
    for the same window) and the Go runtime series the dashboard tails."""
    from tests.waits import until
    from tui.commands.live_window import fetch_live_window
    from tui.config import AuditConfig, BaselineConfig, parse_config
    from tui.ui.app import WarroomApp
    from tui.ui.screens.confirm import ConfirmActionScreen

    cfg = parse_config(stack.cfg.read_text())
    cfg.baseline = BaselineConfig(dir=str(tmp_path / "bl"))
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    shown = float(int(time.time()) - 3)  # a window Prometheus holds whole
    app = WarroomApp(cfg, clock=lambda: shown)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.store.series("shop", "go.goroutines"), "runtime series")
        await until(pilot, lambda: app.dashboard.table.selected == "shop", "shop selected")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), "the dialog")
        extra = str(app.screen.query_one("#extra").render())
        assert " routes)" in extra, extra
        await armed_dialog(pilot)
        await pilot.press("y")
        store = BaselineStore(cfg.baseline.dir)
        await until(pilot, lambda: store.current("shop") is not None, "the saved baseline")
    snap = store.current("shop")
    assert snap is not None and snap.taken_at == shown
    assert snap.route_label == "route" and set(ROUTES) <= set(snap.routes)
    assert {"go.goroutines", "go.heap_inuse"} <= set(snap.runtime)
    live = await fetch_live_window(cfg, "shop", WINDOW, shown, routes=True)
    assert live.breakdown is not None and live.breakdown.error is None
    assert snap.routes == live.breakdown.routes
    assert snap.other_routes == live.breakdown.other


def test_snapshot_by_route_when_prometheus_fails_part_way(stack: Stack, tmp_path: Path) -> None:
    """The service's own queries succeed, then the backend fails the route queries (503 on
    every `topk`): one line naming the server and the service, exit 2, no partial document."""
    with FaultyPrometheus(stack.prom, mode="fail-matching", match="topk(") as faulty:
        cfg = tmp_path / "w.yaml"
        cfg.write_text(stack.cfg.read_text().replace(stack.prom, faulty.url))
        r = warroom("snapshot", "-c", str(cfg), "--by", "route", "--wait", "0")
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stdout == "" and r.stderr.count("\n") == 1, r.stdout + r.stderr
        assert r.stderr.startswith(f"warroom: prometheus {faulty.url}: routes of shop: ")
        assert "503" in r.stderr and "Traceback" not in r.stderr
        asked = [f.get("query", [""])[0] for f in faulty.forms]
        assert any("histogram_quantile(0.99" in q and "topk(" not in q for q in asked)
        # the service level alone still answers
        r = warroom("snapshot", "-c", str(cfg), "--wait", "0")
        assert r.returncode == 0, r.stderr


async def test_b_when_the_route_queries_fail_saves_without_routes_and_says_so(
    stack: Stack, tmp_path: Path
) -> None:
    """The backend fails the route queries (503 on `topk`) while the dashboard's own work
    passes: `b`'s dialog says no routes are kept and why; the baseline is taken without."""
    from tests.waits import until
    from tui.config import AuditConfig, BaselineConfig, parse_config
    from tui.ui.app import WarroomApp
    from tui.ui.screens.confirm import ConfirmActionScreen

    with FaultyPrometheus(stack.prom, mode="fail-matching", match="topk(") as faulty:
        cfg = parse_config(stack.cfg.read_text().replace(stack.prom, faulty.url))
        cfg.baseline = BaselineConfig(dir=str(tmp_path / "bl"))
        cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
        app = WarroomApp(cfg)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.store.series("shop", "p99"), "shop's latency")
            await until(pilot, lambda: app.dashboard.table.selected == "shop", "shop selected")
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), "the dialog")
            extra = str(app.screen.query_one("#extra").render())
            assert "routes:        none kept (prometheus: " in extra and "503" in extra, extra
            await armed_dialog(pilot)
            await pilot.press("y")
            store = BaselineStore(cfg.baseline.dir)
            await until(pilot, lambda: store.current("shop") is not None, "the saved baseline")
    snap = store.current("shop")
    assert snap is not None and snap.routes == {} and snap.signals["p99"]
