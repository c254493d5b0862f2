"""`warroom check` as a real process against the real Prometheus (session fixture), a record
file and real pprof profiles: exit 0 when the live window matches the baseline, 1 on a
REGRESSION, 2 when the source is unreachable or the input is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import warroom
from tests.servers import free_port, wait_for_scrape
from tui.core.baseline import BaselineStore, build_snapshot

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PPROF = ROOT.parent / "shared" / "fixtures" / "pprof"


def write_config(tmp: Path, url: str) -> Path:
    cfg = tmp / "warroom.yaml"
    cfg.write_text(f"""
prometheus:
  url: "{url}"
otlp: {{http: "", grpc: ""}}
refresh: 1s
rate_window: 5s
window: 20s
baseline:
  dir: {tmp / "baselines"}
services:
  - name: lat
    version: v7
    prometheus:
      latency_histogram: wr_lat
      error_ratio: sum(rate(wr_errors_total[5s])) / sum(rate(wr_requests_total[5s]))
""")
    return cfg


def test_live_window_against_prometheus_baseline(prometheus: str, tmp_path: Path) -> None:
    # at least 15 s of scrapes so the 20 s window holds enough steps on both sides
    wait_for_scrape(prometheus, "count_over_time(wr_lat_count[20s]) >= 15", timeout=30)
    cfg = write_config(tmp_path, prometheus)
    r = warroom("baseline", "refresh", "lat", "-c", str(cfg), "--no-profile")
    assert r.returncode == 0, r.stderr
    assert "version v7" in r.stdout
    # one sample per 2 s (the default, one per 5 s rate window, leaves too few in 20 s)
    r = warroom("check", "-c", str(cfg), "--format", "json", "--independent", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    (svc,) = doc["services"]
    assert svc["notes"] == [
        "samples thinned to one per 2s (the rate window) so that neighbours share no data"
    ]
    rows = {row["name"]: row for row in svc["rows"]}
    assert set(rows) >= {"p50", "p95", "p99", "qps", "error_ratio"}
    assert rows["p99"]["verdict"] == "EQUIVALENT"  # saturated at 0.2 on both sides
    assert rows["p99"]["base"]["median"] == pytest.approx(0.2)
    # ... and says so: two floors being equal says nothing about the true tail
    assert any(n.startswith("saturated (≥ bound): base ") for n in rows["p99"]["notes"])
    assert not any("saturated" in n for n in rows["p50"]["notes"])
    assert 5 <= rows["p99"]["current"]["n"] <= 11
    assert doc["regression"] is False


def test_live_regression_exits_1(prometheus: str, tmp_path: Path) -> None:
    # the live window needs enough steps for a verdict, whichever test ran before this one
    wait_for_scrape(prometheus, "count_over_time(wr_lat_count[20s]) >= 15", timeout=30)
    cfg = write_config(tmp_path, prometheus)
    # a baseline from a faster past: p99 0.1 s with a little noise; live p99 is 0.2 s
    base = build_snapshot(
        "lat",
        {
            "p99": [0.1 + 0.001 * (i % 5) for i in range(30)],
            "qps": [100.0 + (i % 3) for i in range(30)],
        },
        step=1,
        version="v6",
        taken_by="test",
    )
    BaselineStore(tmp_path / "baselines").save(base)
    r = warroom("check", "-c", str(cfg), "--service", "lat")
    assert r.returncode == 1, r.stdout + r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("p99"))
    assert "REGRESSION" in line and "+9" in line  # about +95%
    assert r.stdout.rstrip().endswith("check: REGRESSION")
    md = warroom("check", "-c", str(cfg), "--format", "md")
    assert md.returncode == 1 and "| p99 |" in md.stdout


def test_unreachable_prometheus_exits_2(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    base = build_snapshot("lat", {"p99": [0.1] * 10}, step=1, taken_by="t")
    BaselineStore(tmp_path / "baselines").save(base)
    r = warroom("check", "-c", str(cfg))
    assert r.returncode == 2
    assert r.stderr.startswith("warroom: prometheus http://127.0.0.1:")
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def _record(path: Path, service: str, p99: float) -> None:
    with path.open("w") as f:
        for i in range(40):
            for sig, v in (("p99", p99 * (1 + 0.01 * (i % 4))), ("qps", 200.0 + i % 3)):
                f.write(
                    json.dumps(
                        {
                            "t": 5000 + i,
                            "type": "point",
                            "service": service,
                            "signal": sig,
                            "value": v,
                        }
                    )
                    + "\n"
                )


def test_from_record_and_function_regressions(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        f"refresh: 1s\nrate_window: 1s\nservices:\n  - name: api\nbaseline:\n"
        f"  dir: {tmp_path / 'b'}\n  min_effect:\n    p99: 0.5\n"
    )
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    _record(old, "api", 0.1)
    _record(new, "api", 0.13)  # +30%: beyond the default 8%, inside the configured 50%
    r = warroom(
        "baseline",
        "refresh",
        "api",
        "-c",
        str(cfg),
        "--from-record",
        str(old),
        "--profile",
        str(PPROF / "cpu_json_gogc100.pb.gz"),
    )
    assert r.returncode == 0, r.stderr
    r = warroom("check", "-c", str(cfg), "--from-record", str(new), "--format", "json")
    assert r.returncode == 0, r.stdout  # the config's min effect says +30% does not matter
    row = json.loads(r.stdout)["services"][0]["rows"][0]
    assert row["name"] == "p99" and row["verdict"] == "EQUIVALENT"  # [+28%, +32%] in ±50%
    # the current profile: GOGC=5, much more GC work -> function-level regressions
    r = warroom(
        "check",
        "-c",
        str(cfg),
        "--from-record",
        str(new),
        "--format",
        "json",
        "--profile",
        str(PPROF / "cpu_json_gogc5.pb.gz"),
    )
    assert r.returncode == 1, r.stdout + r.stderr
    funcs = json.loads(r.stdout)["services"][0]["functions"]
    assert funcs and all(f["delta_cum_pp"] > 0 for f in funcs)
    assert any(f["gate"] for f in funcs)
    assert {f["kind"] for f in funcs} == {"cpu"}
    # a profile of another kind is not compared with the CPU baseline: said, not fatal
    r = warroom(
        "check",
        "-c",
        str(cfg),
        "--from-record",
        str(new),
        "--profile",
        str(PPROF / "heap_json.pb.gz"),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "profile: cpu: no current profile; heap: baseline holds no heap profile" in r.stdout


def test_no_baseline_and_bad_input(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"services:\n  - name: api\nbaseline:\n  dir: {tmp_path / 'b'}\n")
    rec = tmp_path / "r.jsonl"
    _record(rec, "api", 0.1)
    # nothing could be compared: a gate must not pass (this used to exit 0)
    r = warroom("check", "-c", str(cfg), "--from-record", str(rec))
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr == (
        f"warroom: check: no baseline for api in {tmp_path / 'b'} (no such "
        "directory) (take one with `warroom baseline refresh api`, or pass "
        "--allow-missing)\n"
    )
    r = warroom("check", "-c", str(cfg), "--from-record", str(rec), "--allow-missing")
    assert r.returncode == 0 and "api: no baseline" in r.stdout
    assert r.stdout.rstrip().endswith("check: nothing compared (no baseline: api)")
    r = warroom("check", "-c", str(cfg), "--service", "web", "--from-record", str(rec))
    assert r.returncode == 2 and "unknown service 'web'" in r.stderr
    missing = tmp_path / "gone-cpu.pb.gz"
    r = warroom("check", "-c", str(cfg), "--from-record", str(rec), "--profile", str(missing))
    assert r.returncode == 2 and r.stderr == f"warroom: --profile: {missing}: no such file\n"
    r = warroom("check", "-c", str(cfg), "--window", "later", "--from-record", str(rec))
    assert r.returncode == 2 and "--window" in r.stderr


def test_version_label_taken_from_the_series(tmp_path: Path) -> None:
    """No version in config: the `version` label of the live series names the baseline."""
    from tests.servers import ExpositionServer, start_prometheus

    n = {"scrape": 0}

    def text() -> str:
        n["scrape"] += 1
        k = n["scrape"]
        return (
            "# TYPE wr_ver histogram\n"
            f'wr_ver_bucket{{version="v9",le="0.1"}} {50 * k}\n'
            f'wr_ver_bucket{{version="v9",le="+Inf"}} {100 * k}\n'
            f'wr_ver_sum{{version="v9"}} {10 * k}\nwr_ver_count{{version="v9"}} {100 * k}\n'
        )

    expo = ExpositionServer()
    expo.set(text)
    (tmp_path / "prom").mkdir()
    with expo, start_prometheus(tmp_path / "prom", [expo.target]) as url:
        wait_for_scrape(url, "count_over_time(wr_ver_count[20s]) >= 6", timeout=40)
        cfg = tmp_path / "w.yaml"
        cfg.write_text(
            f'prometheus: {{url: "{url}"}}\notlp: {{http: "", grpc: ""}}\n'
            f"refresh: 1s\nrate_window: 3s\nwindow: 10s\n"
            f"baseline: {{dir: {tmp_path / 'b'}}}\n"
            "services:\n  - name: ver\n    prometheus: {latency_histogram: wr_ver}\n"
        )
        r = warroom("baseline", "refresh", "ver", "-c", str(cfg), "--no-profile")
        assert r.returncode == 0, r.stderr
        assert "version v9" in r.stdout
        r = warroom("check", "-c", str(cfg), "--format", "json")
        assert r.returncode == 0, r.stdout + r.stderr
        doc = json.loads(r.stdout)["services"][0]
        assert doc["baseline"]["version"] == "v9"
        assert {row["name"] for row in doc["rows"]} >= {"p50", "p99", "qps"}


def test_otlp_only_service_without_record(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"services:\n  - name: api\n  - name: web\nbaseline:\n  dir: {tmp_path / 'b'}\n")
    store = BaselineStore(tmp_path / "b")
    store.save(build_snapshot("api", {"p99": [0.1] * 10}, step=1, taken_by="t"))
    r = warroom("check", "-c", str(cfg))
    assert r.returncode == 0 and "no Prometheus queries for this service" in r.stdout
    r = warroom("check", "-c", str(cfg), "--service", "api")
    assert r.returncode == 2 and "api: no Prometheus queries" in r.stderr


def test_missing_baselines_are_visible_and_a_wrong_dir_fails(tmp_path: Path) -> None:
    """One service with a baseline, one without: compared as before, the other listed as
    "no baseline" in text, md and json. A wrong --dir finds none: exit 2 naming the dir."""
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        f"refresh: 1s\nrate_window: 1s\nservices:\n  - name: api\n  - name: web\n"
        f"baseline:\n  dir: {tmp_path / 'b'}\n"
    )
    rec, web = tmp_path / "r.jsonl", tmp_path / "web.jsonl"
    _record(rec, "api", 0.1)
    _record(web, "web", 0.1)
    rec.write_text(rec.read_text() + web.read_text())
    r = warroom("baseline", "refresh", "api", "-c", str(cfg), "--from-record", str(rec))
    assert r.returncode == 0, r.stderr
    r = warroom("check", "-c", str(cfg), "--from-record", str(rec), "--independent", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "web: no baseline" in r.stdout and "api: baseline " in r.stdout
    assert r.stdout.rstrip().endswith("check: no regression (no baseline: web)")
    md = warroom("check", "-c", str(cfg), "--from-record", str(rec), "--format", "md")
    assert md.returncode == 0 and "## web: no baseline" in md.stdout
    assert md.stdout.rstrip().endswith("(no baseline: web)")
    js = warroom(
        "check", "-c", str(cfg), "--from-record", str(rec), "--format", "json", "--independent", "0"
    )
    assert js.returncode == 0, js.stderr
    doc = json.loads(js.stdout)
    status = {s["service"]: s["status"] for s in doc["services"]}
    assert status == {"api": "ok", "web": "no baseline"}
    assert doc["missing_baseline"] == ["web"] and doc["regression"] is False
    # the CI gate pointed at the wrong directory: nothing compared, exit 2, where it looked
    wrong = tmp_path / "baselines-typo"
    r = warroom("check", "-c", str(cfg), "--from-record", str(rec), "--dir", str(wrong))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(
        f"warroom: check: no baseline for api, web in {wrong} (no such "
        "directory) (take one with `warroom baseline refresh SERVICE`"
    )
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    # an existing but empty directory is said as such, and --allow-missing lists both
    wrong.mkdir()
    r = warroom(
        "check", "-c", str(cfg), "--from-record", str(rec), "--dir", str(wrong), "--service", "web"
    )
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"warroom: check: no baseline for web in {wrong} (take one with "
        "`warroom baseline refresh web`"
    )
    js = warroom(
        "check",
        "-c",
        str(cfg),
        "--from-record",
        str(rec),
        "--dir",
        str(wrong),
        "--format",
        "json",
        "--allow-missing",
    )
    assert js.returncode == 0, js.stderr
    doc = json.loads(js.stdout)
    assert [s["status"] for s in doc["services"]] == ["no baseline", "no baseline"]
    assert doc["missing_baseline"] == ["api", "web"]
