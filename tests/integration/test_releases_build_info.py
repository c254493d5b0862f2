"""How often the hub asks the real Prometheus for `*_build_info` (counted at a proxy).

The probe that matches every metric name runs at start, every 5 minutes, and at once after
a failure clears; each refresh asks only for the gauge it found, by name; a failing source
is sent no version query at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.servers import FaultyPrometheus
from tui.config import parse_config
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.prometheus import LAYOUT_EVERY

pytestmark = pytest.mark.integration

SELF = 'prometheus_http_request_duration_seconds{handler="/api/v1/query"}'


def _config(url: str, audit: Path) -> str:
    return (
        f'prometheus:\n  url: "{url}"\notlp: {{http: "", grpc: ""}}\n'
        f"refresh: 1s\nrate_window: 5s\nwindow: 30s\naudit: {{path: '{audit}'}}\n"
        f"services:\n  - name: prom\n    prometheus:\n      latency_histogram: '{SELF}'\n"
    )


def _asked(proxy: FaultyPrometheus) -> tuple[int, int]:
    """(probes, by-name version queries) the proxy has seen."""
    queries = [f["query"][0] for f in proxy.forms if "query" in f and "step" not in f]
    probes = sum(".+_build_info" in q for q in queries)
    by_name = sum(
        q.startswith("count by (version, revision) (prometheus_build_info ") for q in queries
    )
    return probes, by_name


async def test_build_info_probe_is_throttled_and_versions_asked_by_name(
    prometheus: str, tmp_path: Path
) -> None:
    with FaultyPrometheus(prometheus) as proxy:
        cfg = parse_config(_config(proxy.url, tmp_path / "audit.jsonl"))
        hub = Hub(cfg, MetricStore())
        try:
            t = time.time()
            for i in range(3):
                await hub.refresh_once(t + i)
            assert _asked(proxy) == (1, 3)  # one probe at start, then by name each refresh
            assert hub.releases.timeline.log.current("prom", "build_info")

            proxy.mode = "500"
            await hub.refresh_once(t + 3)
            assert hub.prometheus is not None and hub.prometheus.failures == 1
            assert _asked(proxy) == (1, 3)  # nothing asked of a failing source

            proxy.mode = "ok"
            await hub.refresh_once(t + 4)
            assert hub.prometheus.failures == 0
            assert _asked(proxy) == (2, 4)  # the failure cleared: probed again at once

            await hub.releases.poll_prometheus(t + 4 + LAYOUT_EVERY - 1)
            assert _asked(proxy) == (2, 5)
            await hub.releases.poll_prometheus(t + 4 + LAYOUT_EVERY)
            # five minutes on: probed again (what an instant query that far ahead of the
            # newest scrape finds is Prometheus' lookback, not the point here)
            assert _asked(proxy)[0] == 3
        finally:
            await hub.stop()
