"""`warroom snapshot` against the real Prometheus: the JSON contract and exactness."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import LAT_ERRORS, LAT_REQUESTS
from tests.integration.test_prometheus import SELF
from tests.servers import free_port
from tui.cli import main

pytestmark = pytest.mark.integration

KEYS = ["name", "source", "p50", "p95", "p99", "qps", "error_ratio", "p99_saturated"]


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "warroom.yaml"
    path.write_text(f"""
prometheus:
  url: "{url}"
otlp: {{http: "", grpc: ""}}
refresh: 1s
rate_window: 5s
services:
  - name: prom
    prometheus:
      latency_histogram: '{SELF}'
  - name: lat
    prometheus:
      latency_histogram: wr_lat
      qps: sum(rate(wr_requests_total[5s]))
      error_ratio: sum(rate(wr_errors_total[5s])) / sum(rate(wr_requests_total[5s]))
""")
    return path


def instant(url: str, promql: str, t: float) -> float:
    r = httpx.post(f"{url}/api/v1/query", data={"query": promql, "time": f"{t:.3f}"}, timeout=10)
    (item,) = r.json()["data"]["result"]
    return float(item["value"][1])


def run_snapshot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["snapshot", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_equals_prometheus_at_the_same_time(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, prometheus)
    at = round(time.time() - 2, 3)  # a settled instant: every scrape before it is ingested
    code, out, err = run_snapshot(capsys, "-c", str(cfg), "--format", "json", "--at", str(at))
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["time", "services"] and doc["time"] == at
    assert [list(s) for s in doc["services"]] == [KEYS, KEYS]
    prom, lat = doc["services"]
    assert prom["name"] == "prom" and prom["source"] == "prometheus"
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        for svc, sel in ((prom, SELF.replace("{", "_bucket{")), (lat, "wr_lat_bucket")):
            expected = instant(
                prometheus, f"histogram_quantile({q}, sum by (le) (rate({sel}[5s])))", at
            )
            assert svc[key] == expected, (svc["name"], key)  # exact, not approximately
    assert prom["qps"] == instant(prometheus, f"sum(rate({SELF.replace('{', '_count{')}[5s]))", at)
    assert prom["error_ratio"] is None and prom["p99_saturated"] is False
    assert lat["p99"] == 0.2 and lat["p99_saturated"] is True
    assert lat["error_ratio"] == pytest.approx(LAT_ERRORS / LAT_REQUESTS)
    assert lat["qps"] == instant(prometheus, "sum(rate(wr_requests_total[5s]))", at)


def test_now_and_markdown(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, prometheus)
    before = time.time()
    code, out, _ = run_snapshot(capsys, "-c", str(cfg))
    assert code == 0
    doc = json.loads(out)
    assert before - 0.01 <= doc["time"] <= time.time()
    lat = doc["services"][1]
    assert lat["p99"] == 0.2 and lat["p99_saturated"] is True
    prom = doc["services"][0]
    # Prometheus' own query latency: how slow depends on the machine, so only its shape.
    assert 0 < prom["p99"] <= 120 and prom["p99_saturated"] is False

    code, out, _ = run_snapshot(capsys, "-c", str(cfg), "--format", "md")
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == "| service | source | p50 | p95 | p99 | qps | error ratio |"
    (row,) = [line for line in lines if line.startswith("| lat |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "prometheus" and cells[2] == "100.0 ms"
    assert cells[4] == "≥ 200.0 ms"  # saturated: at least the highest finite bound
    assert cells[6] == "2.00%"


def test_unreachable_prometheus_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run_snapshot(capsys, "-c", str(write_config(tmp_path, url)))
    assert code == 2 and out == ""
    assert err.startswith(f"warroom: prometheus {url}: unreachable")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wait", "soon"], "warroom: --wait: 'soon' is not a duration"),
        (["--at", "99999999999"], "warroom: --at: 1e+11 is not a past unix time"),
        (["--at", "nan"], "warroom: --at: nan is not a past unix time"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    code, _, err = run_snapshot(capsys, "-c", str(cfg), *args)
    assert code == 2
    assert err.startswith(message), err


def test_bad_histogram_selector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("""prometheus: {url: "http://127.0.0.1:1"}
otlp: {http: "", grpc: ""}
services:
  - name: api
    prometheus:
      latency_histogram: rate(http_request_duration_seconds_bucket[1m])
""")
    code, _, err = run_snapshot(capsys, "-c", str(path))
    assert code == 2
    assert err.startswith(f"warroom: {path}:6: services[0].prometheus.latency_histogram: ")
    assert "is not a histogram metric name" in err
