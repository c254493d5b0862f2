"""AlertmanagerSource against Debian's real prometheus-alertmanager on a free loopback port.

Alerts are posted as Prometheus would post them, then listed, grouped, filtered and silenced
through the source; a closed port is a dead Alertmanager, a loopback HTTP server that answers
5xx or garbage is a misbehaving one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tests.servers import free_port, stop_process, wait_http
from tests.waits import until
from tui.config import AlertmanagerConfig, ConfigError, Duration, parse_config
from tui.core.actions.audit import read_audit
from tui.core.stats.spikes import GLITCH, RECOVERED, SUSTAINED, SpikeEvent
from tui.errors import UserError
from tui.sources.alertmanager import (
    NO_SERVICE,
    SPIKE_ALERTNAME,
    Alert,
    AlertmanagerConfigError,
    AlertmanagerError,
    AlertmanagerSource,
    group_by_service,
    parse_matcher,
    user_at_host,
)

pytestmark = pytest.mark.integration

AM_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AM_CONFIG = """\
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


@contextlib.contextmanager
def run_alertmanager(tmp: Path, port: int | None = None) -> Iterator[str]:
    """Start a real Alertmanager on 127.0.0.1 (no clustering), yield its URL, stop it."""
    if not Path(AM_BIN).exists():
        pytest.skip("prometheus-alertmanager is not installed (make system-deps)")
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "am.yml").write_text(AM_CONFIG)
    log = (tmp / "am.log").open("wb")
    proc = subprocess.Popen(
        [
            AM_BIN,
            f"--config.file={tmp / 'am.yml'}",
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", timeout=30)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_alertmanager(tmp_path_factory.mktemp("alertmanager")) as url:
        yield url


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=5)
    r.raise_for_status()


def alert(
    name: str, service: str | None, severity: str, summary: str, started: float, **labels: str
) -> dict[str, Any]:
    lab = {"alertname": name, "severity": severity, **labels}
    if service is not None:
        lab["service"] = service
    return {
        "labels": lab,
        "annotations": {"summary": summary},
        "startsAt": iso(started),
        "endsAt": iso(time.time() + 3600),
    }


@pytest.fixture
def uniq(request: pytest.FixtureRequest) -> str:
    """A label value unique to the test, so tests sharing one Alertmanager do not mix."""
    name: str = request.node.name
    return name.replace("[", "_").replace("]", "_")


async def test_alerts_listed_and_grouped_by_service(am_url: str, uniq: str) -> None:
    now = time.time()
    post_alerts(
        am_url,
        [
            alert("HighLatency", "api", "page", "api P99 above SLO", now - 120, test=uniq),
            alert("ErrorRate", "api", "ticket", "api 5xx above 1%", now - 30, test=uniq),
            alert("DiskFull", "db", "page", "db disk 95% full", now - 600, test=uniq),
            alert("Watchdog", None, "none", "always firing", now - 900, test=uniq),
        ],
    )
    updates: list[list[Alert]] = []
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, filters=[f'test="{uniq}"']), on_update=updates.append
    )
    try:
        alerts = await src.refresh_once()
    finally:
        await src.stop()
    assert alerts is not None and updates == [alerts]
    assert src.status.state == "up" and src.status.last_ok is not None
    assert src.status.counters["active"] == 4 and src.status.counters["suppressed"] == 0
    by_name = {a.name: a for a in alerts}
    assert set(by_name) == {"HighLatency", "ErrorRate", "DiskFull", "Watchdog"}
    hl = by_name["HighLatency"]
    assert hl.state == "active" and hl.summary == "api P99 above SLO" and hl.service == "api"
    assert hl.age(now) == pytest.approx(120, abs=2)
    groups = group_by_service(alerts)
    assert [g.service for g in groups] == ["(no service)", "api", "db"]
    assert [a.name for a in groups[1].alerts] == ["ErrorRate", "HighLatency"]  # newest first
    assert by_name["Watchdog"].service == NO_SERVICE


async def test_filters_from_config_reach_alertmanager(am_url: str, uniq: str) -> None:
    now = time.time()
    post_alerts(
        am_url,
        [
            alert("A", "api", "page", "paged", now, test=uniq),
            alert("B", "api", "ticket", "ticketed", now, test=uniq),
            alert("C", "web", "page", "paged too", now, test=uniq),
        ],
    )
    cfg = AlertmanagerConfig(
        url=am_url, filters=[f'test="{uniq}"', 'severity="page"', 'service=~"api|db"']
    )
    src = AlertmanagerSource(cfg)
    try:
        alerts = await src.fetch_alerts()
    finally:
        await src.stop()
    assert [a.name for a in alerts] == ["A"]


async def test_silence_posts_matchers_and_suppresses_the_alert(
    am_url: str, uniq: str, tmp_path: Path
) -> None:
    post_alerts(am_url, [alert("HighLatency", "api", "page", "slow", time.time(), test=uniq)])
    audit = tmp_path / "audit.jsonl"
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, filters=[f'test="{uniq}"']), audit_path=str(audit)
    )
    try:
        (target,) = await src.refresh_once() or []
        res = await src.silence(target, 1800, "rolling back, see #4711", created_by="alice@bastion")
        silences = httpx.get(f"{am_url}/api/v2/silences", timeout=5).json()
        mine = [s for s in silences if s["id"] == res.silence_id]
        assert len(mine) == 1
        s = mine[0]
        assert s["createdBy"] == "alice@bastion"
        assert s["comment"] == "rolling back, see #4711"
        assert s["status"]["state"] == "active"
        # the toast the operator reads: what, how long, which silence (no Python repr)
        assert res.summary() == (
            f"silenced alertname=HighLatency, service=api for 30m (silence {res.silence_id[:8]})"
        )
        assert {
            (m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in s["matchers"]
        } == {
            ("alertname", "HighLatency", False, True),
            ("service", "api", False, True),
            ("severity", "page", False, True),
            ("test", uniq, False, True),
        }
        ends = datetime.fromisoformat(s["endsAt"].replace("Z", "+00:00")).timestamp()
        assert ends - res.starts_at == pytest.approx(1800, abs=2)
        # Alertmanager marks the alert suppressed once it re-evaluates silences
        deadline = time.monotonic() + 10
        while True:
            (after,) = await src.refresh_once() or []
            if after.state == "suppressed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert after.state == "suppressed" and after.silenced_by == (res.silence_id,)
        assert src.status.counters["active"] == 0 and src.status.counters["suppressed"] == 1
    finally:
        await src.stop()
    log = read_audit(audit)
    assert log.bad_lines == []
    started, finished = log.records
    for rec in (started, finished):
        assert rec["action"] == "silence" and rec["service"] == "api"
        assert rec["user"] == "alice@bastion" and rec["duration"] == 1800
        assert rec["matchers"] == target.matchers()
        assert rec["comment"] == "rolling back, see #4711"
        assert isinstance(rec["time"], str) and rec["time"].endswith("Z")
    assert (started["event"], started["status"]) == ("started", "requested")
    assert (finished["event"], finished["status"]) == ("finished", "ok")
    assert finished["silence_id"] == res.silence_id and "silence_id" not in started


async def test_no_audit_trail_no_silence(am_url: str, uniq: str, tmp_path: Path) -> None:
    """An audit log that cannot be written stops the silence before it is sent."""
    post_alerts(am_url, [alert("Y", "api", "page", "y", time.time(), test=uniq)])
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, filters=[f'test="{uniq}"']), audit_path=str(tmp_path)
    )
    try:
        (target,) = await src.fetch_alerts()
        with pytest.raises(UserError, match="is a directory"):
            await src.silence(target, 600, "why", created_by="erin@host")
    finally:
        await src.stop()
    silences = httpx.get(f"{am_url}/api/v2/silences", timeout=5).json()
    assert not [s for s in silences if any(m["value"] == uniq for m in s["matchers"])]


async def test_silence_without_comment_or_duration_is_refused_before_sending(
    am_url: str, uniq: str
) -> None:
    post_alerts(am_url, [alert("X", "api", "page", "x", time.time(), test=uniq)])
    src = AlertmanagerSource(AlertmanagerConfig(url=am_url, filters=[f'test="{uniq}"']))
    try:
        (target,) = await src.fetch_alerts()
        with pytest.raises(AlertmanagerConfigError, match="needs a comment"):
            await src.silence(target, 600, "  ")
        with pytest.raises(AlertmanagerConfigError, match="duration must be positive"):
            await src.silence(target, 0, "why")
    finally:
        await src.stop()
    silences = httpx.get(f"{am_url}/api/v2/silences", timeout=5).json()
    assert not [s for s in silences if any(m["value"] == uniq for m in s["matchers"])]


async def test_spikes_pushed_as_alerts_and_resolved_on_recovery(am_url: str) -> None:
    service = f"svc-{free_port()}"
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, push_spikes=True, filters=[f'service="{service}"'])
    )
    t0 = time.time() - 20
    try:
        src.submit_spike(SpikeEvent(t0, service, "p99", SUSTAINED, 0.3, 0.1, 3.0))
        alerts = await src.refresh_once() or []
        assert [(a.name, a.labels["severity"], a.state) for a in alerts] == [
            (SPIKE_ALERTNAME, "critical", "active")
        ]
        assert alerts[0].summary == (
            f"{service} P99 300.0 ms is 3.00x its baseline 100.0 ms (SUSTAINED)"
        )
        assert alerts[0].starts_at == pytest.approx(t0, abs=0.01)
        # kept alive on every refresh while SUSTAINED
        alerts = await src.refresh_once() or []
        assert len(alerts) == 1 and alerts[0].state == "active"
        src.submit_spike(SpikeEvent(t0 + 5, service, "p99", GLITCH, 0.9, 0.3, 3.0))
        # the hub hands out record lines: those are accepted too (other types ignored)
        src.submit_spike({"t": t0 + 8, "type": "point", "service": service, "value": 1.0})
        src.submit_spike(SpikeEvent(t0 + 9, service, "p99", RECOVERED, 0.1, 0.1, 1.0).to_record())
        alerts = await src.refresh_once() or []
        # the SUSTAINED alert is resolved (gone from the list), the GLITCH one fires alone
        assert [(a.name, a.labels["severity"]) for a in alerts] == [(SPIKE_ALERTNAME, "warning")]
        assert src.status.counters["pushed"] == 4
    finally:
        await src.stop()


async def test_push_spikes_off_pushes_nothing(am_url: str) -> None:
    service = f"svc-{free_port()}"
    src = AlertmanagerSource(AlertmanagerConfig(url=am_url, filters=[f'service="{service}"']))
    try:
        src.submit_spike(SpikeEvent(time.time(), service, "p99", SUSTAINED, 0.3, 0.1, 3.0))
        assert await src.refresh_once() == []
    finally:
        await src.stop()


async def test_dead_alertmanager_is_a_state_then_recovers(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here: connection refused
    cfg = AlertmanagerConfig(
        url=f"http://127.0.0.1:{port}", refresh=Duration(2.0), timeout=Duration(2.0)
    )
    updates: list[tuple[int, str]] = []
    src = AlertmanagerSource(
        cfg,
        audit_path=str(tmp_path / "audit.jsonl"),
        on_update=lambda alerts: updates.append((len(alerts), src.status.state)),
    )
    try:
        assert await src.refresh_once() is None
        assert updates == [(0, "down")]  # the pane hears about the failure too
        assert src.status.state == "down" and "ConnectError" in src.status.detail
        stale = src.status.stale_since
        assert stale is not None
        assert src.next_delay() == 2.0
        assert await src.refresh_once() is None
        assert src.status.stale_since == stale  # stale since the first failure
        assert src.next_delay() == 4.0 and src.status.counters["retry_in"] == 4.0
        # a silence while down fails cleanly and is still audited
        ghost = Alert("f", {"alertname": "X", "service": "api"}, {}, "active", time.time())
        with pytest.raises(AlertmanagerError, match="POST /api/v2/silences"):
            await src.silence(ghost, 60, "test", created_by="bob@host")
        _, rec = read_audit(tmp_path / "audit.jsonl").records
        assert rec["status"].startswith("error: POST /api/v2/silences")
        # now Alertmanager comes up on that port: the next refresh recovers
        with run_alertmanager(tmp_path / "am", port=port):
            alerts = await src.refresh_once()
            assert alerts is not None
            recovered = src.status  # a new name: mypy still holds the "down" asserted above
            assert recovered.state == "up" and recovered.stale_since is None
            assert src.failures == 0 and src.next_delay() == 2.0
    finally:
        await src.stop()


async def test_loop_runs_rearmed_and_stops(am_url: str) -> None:
    seen: list[int] = []
    cfg = AlertmanagerConfig(url=am_url, refresh=Duration(0.2), filters=['service="nobody"'])
    src = AlertmanagerSource(cfg, on_update=lambda alerts: seen.append(len(alerts)))
    await src.start()
    try:
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await src.stop()
    assert seen[:3] == [0, 0, 0]
    assert src.status.state == "up"


async def test_spikes_do_not_defeat_the_backoff_of_a_dead_alertmanager() -> None:
    cfg = AlertmanagerConfig(
        url=f"http://127.0.0.1:{free_port()}", refresh=Duration(0.1), push_spikes=True
    )
    src = AlertmanagerSource(cfg)
    await src.start()
    try:
        for _ in range(30):  # a spike every 50 ms for 1.5 s
            src.submit_spike(SpikeEvent(time.time(), "api", "p99", GLITCH, 0.3, 0.1, 3.0))
            await asyncio.sleep(0.05)
    finally:
        await src.stop()
    # 0.1 + 0.2 + 0.4 + 0.8 s of backoff: about 5 attempts, not one per spike
    assert 3 <= src.failures <= 6
    assert src.status.state == "down"
    assert src.pending_spikes == 30  # nothing lost: pushed once Alertmanager is back


class _Misbehaving(BaseHTTPRequestHandler):
    mode = "500"
    seen_auth: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"bad matcher format: x\n"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        type(self).seen_auth.append(self.headers.get("Authorization"))
        if type(self).mode == "slow":
            time.sleep(1.0)
            body, status = b"[]", 200
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            return
        body, status = {
            "ok": (b"[]", 200),
            "500": (b"internal error\n", 500),
            "garbage": (b"<html>not json", 200),
            "shape": (json.dumps({"data": []}).encode(), 200),
            "partial": (
                json.dumps(
                    [
                        {"labels": "oops"},
                        {
                            "labels": {"alertname": "Ok", "service": "api"},
                            "annotations": {},
                            "status": {"state": "active"},
                            "startsAt": "2026-01-01T00:00:00.123456789Z",
                            "fingerprint": "abc",
                        },
                    ]
                ).encode(),
                200,
            ),
        }[type(self).mode]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("500", "GET /api/v2/alerts: HTTP 500: internal error"),
        ("garbage", "GET /api/v2/alerts: answer is not JSON"),
        ("shape", "GET /api/v2/alerts: expected a JSON list"),
    ],
)
async def test_misbehaving_alertmanager_is_a_state_not_a_crash(
    misbehaving: ThreadingHTTPServer, mode: str, detail: str
) -> None:
    _Misbehaving.mode = mode
    src = AlertmanagerSource(AlertmanagerConfig(url=f"http://127.0.0.1:{misbehaving.server_port}"))
    try:
        assert await src.refresh_once() is None
    finally:
        await src.stop()
    assert src.status.state == "down" and src.status.detail == detail


async def test_malformed_alerts_are_skipped_and_counted(misbehaving: ThreadingHTTPServer) -> None:
    _Misbehaving.mode = "partial"
    src = AlertmanagerSource(AlertmanagerConfig(url=f"http://127.0.0.1:{misbehaving.server_port}"))
    try:
        alerts = await src.refresh_once()
    finally:
        await src.stop()
    assert alerts is not None and [a.name for a in alerts] == ["Ok"]
    assert src.status.counters["malformed"] == 1
    # Go's nanosecond timestamps parse
    assert alerts[0].starts_at == pytest.approx(
        datetime(2026, 1, 1, tzinfo=UTC).timestamp() + 0.123456
    )


async def test_slow_alertmanager_times_out_as_a_state(misbehaving: ThreadingHTTPServer) -> None:
    _Misbehaving.mode = "slow"
    url = f"http://127.0.0.1:{misbehaving.server_port}"
    src = AlertmanagerSource(AlertmanagerConfig(url=url, timeout=Duration(0.2)))
    try:
        t0 = time.monotonic()
        assert await src.refresh_once() is None
        assert time.monotonic() - t0 < 0.9
    finally:
        await src.stop()
    assert src.status.state == "down"
    assert src.status.detail == "GET /api/v2/alerts: timed out"


async def test_bearer_token_is_sent(
    misbehaving: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Misbehaving.mode = "ok"
    _Misbehaving.seen_auth.clear()
    monkeypatch.setenv("WR_AM_TOKEN", "s3cret")
    cfg = parse_config(
        f"alertmanager:\n  url: http://127.0.0.1:{misbehaving.server_port}\n"
        "  bearer_token: {env: WR_AM_TOKEN}\n"
    )
    assert cfg.alertmanager is not None
    src = AlertmanagerSource(cfg.alertmanager)
    try:
        assert await src.refresh_once() == []
    finally:
        await src.stop()
    assert _Misbehaving.seen_auth == ["Bearer s3cret"] * 2  # GET alerts, GET silences


async def test_silence_refused_by_alertmanager_is_reported_and_audited(
    misbehaving: ThreadingHTTPServer, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{misbehaving.server_port}"
    src = AlertmanagerSource(AlertmanagerConfig(url=url), audit_path=str(tmp_path / "a.jsonl"))
    target = Alert("f", {"alertname": "X", "service": "api"}, {}, "active", time.time())
    try:
        with pytest.raises(AlertmanagerError) as exc:
            await src.silence(target, 600, "why", created_by="dave@host")
    finally:
        await src.stop()
    assert str(exc.value) == "POST /api/v2/silences: HTTP 400: bad matcher format: x"
    _, rec = read_audit(tmp_path / "a.jsonl").records
    assert rec["status"] == f"error: {exc.value}" and rec["user"] == "dave@host"


BAD_FILTERS = ["severity", 'sev erity="x"', '="x"', 'a="unclosed']


@pytest.mark.parametrize("bad", BAD_FILTERS)
def test_bad_filter_is_a_clear_user_error(bad: str) -> None:
    """Filters changed after loading are checked again by the source."""
    cfg = AlertmanagerConfig(url="http://127.0.0.1:9")
    cfg.filters = [bad]
    with pytest.raises(UserError) as exc:
        AlertmanagerSource(cfg)
    assert str(exc.value).startswith(f"alertmanager.filters: {bad!r} is not a matcher")


@pytest.mark.parametrize("bad", BAD_FILTERS)
def test_bad_filter_in_the_config_file_names_file_and_line(bad: str) -> None:
    text = f"alertmanager:\n  url: http://127.0.0.1:9093\n  filters: [{json.dumps(bad)}]\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "w.yaml")
    assert str(exc.value).startswith(f"w.yaml:2: alertmanager: {bad!r} is not a matcher")


def test_alertmanager_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match=r"w.yaml:2: alertmanager\.url: must start with http"):
        parse_config("alertmanager:\n  url: 127.0.0.1:9093\n", "w.yaml")


def test_bad_regex_filter_is_a_clear_user_error() -> None:
    with pytest.raises(UserError, match=r"bad regular expression"):
        parse_matcher('service=~"(api"')


def test_parse_matcher_forms() -> None:
    assert parse_matcher('severity="page"') == {
        "name": "severity",
        "value": "page",
        "isRegex": False,
        "isEqual": True,
    }
    assert parse_matcher('service=~"api|web"')["isRegex"] is True
    assert parse_matcher("env!=prod") == {
        "name": "env",
        "value": "prod",
        "isRegex": False,
        "isEqual": False,
    }


def test_created_by_is_user_at_host() -> None:
    who = user_at_host()
    user, _, host = who.partition("@")
    assert user and host


async def test_the_dashboard_pushes_its_spikes(am_url: str, tmp_path: Path) -> None:
    """push_spikes in the dashboard: a spike the sources hand the app reaches Alertmanager
    (README: "warroom's own spikes fire WarroomP99Spike alerts"), and comes back in the list."""
    from tui.core.metrics.store import MetricStore
    from tui.sources.hub import Hub
    from tui.ui.app import WarroomApp

    service = f"svc-{free_port()}"
    cfg = parse_config(
        f"""
otlp: {{http: "", grpc: ""}}
baseline: {{dir: "{tmp_path / "baselines"}"}}
audit: {{path: "{tmp_path / "audit.jsonl"}"}}
alertmanager: {{url: "{am_url}", refresh: 1s, push_spikes: true, filters: ['service="{service}"']}}
services:
  - name: {service}
"""
    )
    store = MetricStore()
    app = WarroomApp(cfg, store=store, hub=Hub(cfg, store, start_otlp=False))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(
            pilot,
            lambda: app.alertmanager is not None and app.alertmanager.status.state == "up",
            "the alertmanager source to start",
        )
        app.post_source_event(SpikeEvent(time.time(), service, "p99", SUSTAINED, 0.3, 0.1, 3.0))
        await until(
            pilot,
            lambda: any(a.name == SPIKE_ALERTNAME for a in app.alerts),
            "the pushed spike in the alerts list",
        )
    assert [(a.labels["service"], a.labels["severity"]) for a in app.alerts] == [
        (service, "critical")
    ]
