"""The YAML the demo runs with: also a worked example of a config.

`warroom demo` writes it into the run's directory; the tests that run the demo's services
write it too, so the two never drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def demo_config_text(
    port: int,
    names: list[str],
    refresh: str,
    profiles: Path,
    baselines: Path,
    theme: str | None,
    *,
    rate_window: str = "30s",
    window: str = "15m",
    state: Path | None = None,
    detector_window: int | None = None,
    go_service: str = "",
    prometheus_url: str = "",
    pprof_url: str = "",
    capture: tuple[str, str] = ("5s", "10s"),
) -> str:
    """The YAML the demo runs with (also a worked example of a config). With `state`, the
    rollback action runs the demo's real rollback command, audited in that directory; with
    `detector_window`, the detector is tuned for the incident's short rate windows. With
    `go_service`, that service is read from Prometheus at `prometheus_url` and profiled from
    `pprof_url` (`capture`: CPU profile seconds, and how often), the others come over OTLP."""
    lines = [
        "# written by `warroom demo`",
        f"refresh: {refresh}",
        f"rate_window: {rate_window}",
        f"window: {window}",
    ]
    if go_service:
        lines += ["prometheus:", f'  url: "{prometheus_url}"']
    lines += [
        "otlp:",
        f'  http: "127.0.0.1:{port}"',
        '  grpc: ""',
        "profiles:",
        f'  dir: "{profiles}"',
    ]
    if go_service and pprof_url:
        lines += [
            "  endpoints:",
            f"    - service: {go_service}",
            f'      url: "{pprof_url}"',
            "      kinds: [profile, heap]",
            f"      seconds: {capture[0]}",
            f"      every: {capture[1]}",
        ]
    lines += ["baseline:", f'  dir: "{baselines}"']
    if state is not None:
        lines += _rollback_lines(state)
    if detector_window is not None:
        lines += [
            "detector:",
            f"  window: {detector_window}",
            "  min_ratio: 2  # the release is 4x slower; P99 sampling noise stays under 2x",
        ]
    if theme:
        lines.append(f"theme: {theme}")
    lines.append("services:")
    for i, n in enumerate(names):
        lines.append(f"  - name: {n}")
        if n == go_service:
            lines += _go_service_lines(rate_window)
            continue
        slo_ms = 250 + 50 * (i % 5)  # about twice the demo's normal P99
        lines += ["    slo:", f"      p99: {slo_ms}ms", "      error_ratio: 0.02"]
    return "\n".join(lines) + "\n"


def _rollback_lines(state: Path) -> list[str]:
    """The audit log and the rollback action: the demo's real rollback command."""
    argv = [sys.executable, "-m", "tui.demo.rollback", "--state", str(state)]
    return [
        "audit:",
        f"  path: {json.dumps(str(state / 'audit.jsonl'))}",
        "actions:",
        "  rollback:",
        f"    exec: {json.dumps([*argv, '--service', '{service}'])}",
        "    timeout: 30s",
        '    description: "demo: put the previous release back, wait for the service"',
    ]


def _go_service_lines(rate_window: str) -> list[str]:
    """The Go service's entry: read from Prometheus, every route but pprof's (left out by
    exclude_debug), the error ratio the 5xx share of the same requests."""
    from tui.demo.prometheus import JOB  # httpx: only when the demo runs the Go service

    sel = f'job="{JOB}",route!~"/debug/.*"'
    errors = (
        f'(sum(rate(http_requests_total{{{sel},code=~"5.."}}[{rate_window}])) '
        f"or vector(0)) / sum(rate(http_requests_total{{{sel}}}[{rate_window}]))"
    )
    return [
        "    prometheus:",
        f"      latency_histogram: 'http_request_duration_seconds{{job=\"{JOB}\"}}'",
        f"      error_ratio: '{errors}'",
        "    slo:",
        "      p99: 120ms  # about twice the P99 of gosvc 1.4.2",
        "      error_ratio: 0.02",
    ]
