"""Every mistake of a config file at once (issue 13 item 17), like a compiler: one located line
each (`FILE:LINE: key.path: why`, in file order), then `N errors in FILE`, exit 2.

A value that cannot be read is reported and the rest of the file is still checked, but what
follows only from that mistake is not reported again (a typo of a required key is not also
"missing", a refresh without a unit does not make rate_window "shorter than a refresh").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.config import (
    Config,
    ConfigError,
    ConfigErrors,
    Duration,
    ProfileEndpoint,
    ProfilesConfig,
    parse_config,
)

WARROOM = Path(sys.executable).parent / "warroom"

MANY = """\
refresh: 2
services:
  - name: checkout
    slo: {p99: 300}
    detector: {window: 2}
  - name: cart
    prometheus: {latency_histgram: x}
profiles:
  endpoints:
    - {service: chekout, url: 'http://127.0.0.1:6060', kinds: [cpu, heapp]}
theme: bastian
"""

MANY_ERRORS = [
    "{f}:1: refresh: 2 has no unit: write 2s, 2ms or 2m",
    "{f}:4: services[0].slo.p99: 300 has no unit: write 300ms (0.3s) or 300s",
    "{f}:5: services[0].detector: window must be at least 5 points",
    "{f}:7: services[1].prometheus.latency_histgram: unknown key; did you mean "
    "'latency_histogram'?",
    "{f}:10: profiles.endpoints[0].kinds[1]: 'heapp' is not one of 'cpu', 'profile', 'heap', "
    "'allocs', 'block', 'mutex', 'goroutine'; did you mean 'heap'?",
    "{f}:10: profiles.endpoints[0].service: 'chekout' is not a configured service "
    "(checkout, cart); did you mean 'checkout'?",
    "{f}:11: theme: unknown theme 'bastian'; did you mean 'bastion'? "
    "(available: warroom, bastion, wall, paper)",
]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WARROOM), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def problems(text: str) -> list[str]:
    """Every error parse_config reports for `text` (file name e.yaml), in order."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "e.yaml")
    return info.value.problems


@pytest.fixture
def many(tmp_path: Path) -> Path:
    p = tmp_path / "many.yaml"
    p.write_text(MANY)
    return p


def expected_stderr(path: Path) -> str:
    lines = [e.format(f=path) for e in MANY_ERRORS]
    return "".join(f"warroom: {line}\n" for line in lines) + (
        f"warroom: {len(lines)} errors in {path}\n"
    )


# --- the command line: real `warroom` processes -------------------------------------------


def test_config_check_reports_every_error_then_the_count(many: Path) -> None:
    r = run(many.parent, "config", "check", str(many))
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == expected_stderr(many)


@pytest.mark.parametrize(
    "command",
    [
        [],  # the dashboard, the default command
        ["dashboard"],
        ["audit"],
        ["baseline", "list"],
        ["check"],
        ["snapshot"],
        ["record", "--out", "rec.jsonl"],
    ],
    ids=lambda c: " ".join(c) or "(none)",
)
def test_every_command_that_loads_the_config_reports_every_error(
    many: Path, command: list[str]
) -> None:
    r = run(many.parent, "-c", str(many), *command)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == expected_stderr(many)
    assert not (many.parent / "rec.jsonl").exists()  # nothing started, nothing written


def test_one_error_stays_one_line(tmp_path: Path) -> None:
    p = tmp_path / "one.yaml"
    p.write_text("services:\n  - name: api\n    slo: {p99: 300}\n")
    r = run(tmp_path, "config", "check", str(p))
    assert r.returncode == 2
    assert r.stderr == (
        f"warroom: {p}:3: services[0].slo.p99: 300 has no unit: write 300ms (0.3s) or 300s\n"
    )


def test_check_summary_says_cpu_for_a_cpu_endpoint(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(
        "services: [{name: api}]\nprofiles:\n  dir: /tmp/p\n  endpoints:\n"
        "    - {service: api, url: 'http://127.0.0.1:6060', kinds: [cpu, heap]}\n"
        "    - {service: api, url: 'http://127.0.0.1:6061', kinds: [profile]}\n"
    )
    r = run(tmp_path, "config", "check", str(p))
    assert r.returncode == 0, r.stderr
    assert "pprof api http://127.0.0.1:6060 (cpu, heap)" in r.stdout
    assert "pprof api http://127.0.0.1:6061 (cpu)" in r.stdout


# --- the parser ---------------------------------------------------------------------------


def test_errors_come_in_file_order_and_are_one_config_error(many: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_config(MANY, str(many))
    err = info.value
    assert isinstance(err, ConfigError) and err.exit_code == 2
    assert err.problems == [e.format(f=many) for e in MANY_ERRORS]
    assert str(err).endswith(f"\nwarroom: 7 errors in {many}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a typo of a required key is not also a missing key
            "prometheus: {ulr: 'http://h:9090'}\n",
            ["e.yaml:1: prometheus.ulr: unknown key; did you mean 'url'?"],
        ),
        (  # a refresh that could not be read says nothing about rate_window
            "refresh: 2\nrate_window: 3s\n",
            ["e.yaml:1: refresh: 2 has no unit: write 2s, 2ms or 2m"],
        ),
        (  # a bad exec is not also "needs exactly one of exec or http"
            "actions:\n  x: {exec: 5}\n",
            ["e.yaml:2: actions.x.exec: expected a list"],
        ),
        (  # an endpoint may be meant for the service whose name was wrong
            "services:\n  - name: [a]\n  - name: b\n"
            "profiles:\n  endpoints: [{service: a, url: 'http://h:6060'}]\n",
            ["e.yaml:2: services[0].name: expected a string"],
        ),
    ],
    ids=["typo-required", "refresh-unit", "exec-type", "service-name"],
)
def test_no_error_that_only_follows_from_another(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "prometheus:\n  url: 127.0.0.1:9090\n  bearer_token: {env: WARROOM_T_TOKEN}\n"
            "  basic_auth: {username: u, password: {env: WARROOM_T_TOKEN}}\n",
            [
                "e.yaml:2: prometheus.url: must start with http:// or https://",
                "e.yaml:4: prometheus.basic_auth: set bearer_token or basic_auth, not both",
            ],
        ),
        (
            "otlp: {http: 'nohost', grpc: '127.0.0.1:99999'}\n",
            ["e.yaml:1: otlp: http must be HOST:PORT", "e.yaml:1: otlp.grpc: port must be 1-65535"],
        ),
        (
            "alertmanager:\n  url: 'https://'\n  filters: ['sev', 'env!=dev', '=x']\n",
            [
                "e.yaml:2: alertmanager.url: has no host",
                "e.yaml:2: alertmanager: 'sev' is not a matcher",
                "e.yaml:2: alertmanager: '=x' is not a matcher",
            ],
        ),
        (
            "detector: {window: 2, z: 0, min_observations: -1}\n",
            [
                "e.yaml:1: detector: window must be at least 5 points",
                "e.yaml:1: detector: z must be > 0",
                "e.yaml:1: detector: min_observations cannot be negative",
            ],
        ),
        (
            "baseline:\n  min_effect:\n    p9: 0.1\n    qps: -1\n",
            [
                "e.yaml:3: baseline.min_effect.p9: unknown signal or unit; did you mean 'p99'?",
                "e.yaml:4: baseline.min_effect.qps: must be a non-negative number, got -1",
            ],
        ),
        (
            "refresh: 0s\nwindow: 0s\nmax_series: 0\n",
            [
                "e.yaml:1: refresh: must be positive",
                "e.yaml:2: window: must be positive",
                "e.yaml:3: max_series: must be at least 1, got 0",
            ],
        ),
    ],
    ids=["prometheus", "otlp", "alertmanager", "detector", "min_effect", "top-level"],
)
def test_every_check_of_one_section_is_reported(
    text: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_T_TOKEN", "t")
    got = problems(text)
    assert len(got) == len(expected), got
    for line, start in zip(got, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_bad_items_of_lists_and_mappings_are_each_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WARROOM_T_UNSET1", raising=False)
    monkeypatch.delenv("WARROOM_T_UNSET2", raising=False)
    got = problems(
        "services: [{name: api}]\n"
        "profiles:\n  endpoints: [{service: api, url: 'http://h:1', kinds: [cpuu, heapp]}]\n"
        "actions:\n  x:\n    exec: [a, ~, ~]\n"
        "  hook:\n    http:\n      url: http://h/x\n"
        "      headers: {A: {env: WARROOM_T_UNSET1}, B: {env: WARROOM_T_UNSET2}}\n"
    )
    assert got == [
        "e.yaml:3: profiles.endpoints[0].kinds[0]: 'cpuu' is not one of 'cpu', 'profile', "
        "'heap', 'allocs', 'block', 'mutex', 'goroutine'; did you mean 'cpu'?",
        "e.yaml:3: profiles.endpoints[0].kinds[1]: 'heapp' is not one of 'cpu', 'profile', "
        "'heap', 'allocs', 'block', 'mutex', 'goroutine'; did you mean 'heap'?",
        "e.yaml:6: actions.x.exec[1]: expected a string, got nothing",
        "e.yaml:6: actions.x.exec[2]: expected a string, got nothing",
        "e.yaml:10: actions.hook.http.headers.A: environment variable WARROOM_T_UNSET1 is not set",
        "e.yaml:10: actions.hook.http.headers.B: environment variable WARROOM_T_UNSET2 is not set",
    ]


def test_unknown_keys_and_a_key_twice_are_each_reported() -> None:
    assert problems("refersh: 5s\nwindw: 15m\nrefresh: 5s\nrefresh: 10s\n") == [
        "e.yaml:1: refersh: unknown key; did you mean 'refresh'?",
        "e.yaml:2: windw: unknown key; did you mean 'window'?",
        "e.yaml:4: refresh: key given twice",
    ]


def test_a_duration_without_a_unit_is_refused_wherever_one_is_read() -> None:
    """`p99: 300` meant 300 ms and was five minutes: every duration key says its unit."""
    got = problems(
        "prometheus: {url: 'http://h:9090', timeout: 10}\n"
        "services:\n  - name: api\n    slo: {p99: 0.3}\n    detector: {min_delta: 5}\n"
        "    actions: {restart: {exec: [true], timeout: 60}}\n"
        "profiles:\n  endpoints: [{service: api, url: 'http://h:1', seconds: 10, every: 300}]\n"
        "alertmanager: {url: 'http://h:9093', refresh: 15}\n"
    )
    assert got == [
        "e.yaml:1: prometheus.timeout: 10 has no unit: write 10s, 10ms or 10m",
        "e.yaml:4: services[0].slo.p99: 0.3 has no unit: write 0.3s (300ms) or 0.3ms",
        "e.yaml:5: services[0].detector.min_delta: 5 has no unit: write 5s (5000ms) or 5ms",
        "e.yaml:6: services[0].actions.restart.timeout: 60 has no unit: write 60s, 60ms or 60m",
        "e.yaml:8: profiles.endpoints[0].seconds: 10 has no unit: write 10s, 10ms or 10m",
        "e.yaml:8: profiles.endpoints[0].every: 300 has no unit: write 300s, 300ms or 300m",
        "e.yaml:9: alertmanager.refresh: 15 has no unit: write 15s, 15ms or 15m",
    ]


def test_durations_with_units_and_a_bare_zero_are_read() -> None:
    cfg = parse_config(
        "services:\n  - name: a\n    slo: {p99: 300ms}\n  - name: b\n    slo: {p99: 0.3s}\n"
        "  - name: c\n    detector: {min_delta: 0}\n"
    )
    assert [s.slo.p99 for s in cfg.services[:2]] == [pytest.approx(0.3), pytest.approx(0.3)]
    assert cfg.services[2].detector is not None and cfg.services[2].detector.min_delta == 0.0


def test_an_endpoint_of_no_configured_service_lists_the_names() -> None:
    got = problems(
        "services: [{name: checkout}, {name: cart}]\nprofiles:\n  endpoints:\n"
        "    - {service: payments, url: 'http://h:1'}\n"
        "    - {service: crat, url: 'http://h:2'}\n"
    )
    assert got == [
        "e.yaml:4: profiles.endpoints[0].service: 'payments' is not a configured service "
        "(checkout, cart)",
        "e.yaml:5: profiles.endpoints[1].service: 'crat' is not a configured service "
        "(checkout, cart); did you mean 'cart'?",
    ]


def test_endpoints_without_configured_services_name_discovered_ones() -> None:
    """With no `services:`, services are discovered (OTLP, PROMETHEUS_URL): any name goes."""
    cfg = parse_config("profiles:\n  endpoints: [{service: api, url: 'http://h:1'}]\n")
    assert cfg.profiles.endpoints[0].service == "api"


def test_cpu_and_profile_are_the_same_kind() -> None:
    cfg = parse_config(
        "services: [{name: api}]\nprofiles:\n  endpoints:\n"
        "    - {service: api, url: 'http://h:1', kinds: [cpu]}\n"
        "    - {service: api, url: 'http://h:2', kinds: [profile, heap]}\n"
    )
    assert [e.kinds for e in cfg.profiles.endpoints] == [["profile"], ["profile", "heap"]]


def test_a_config_built_in_code_names_every_problem() -> None:
    """The UI and tests build Configs directly: one ValueError, every problem in it."""
    endpoints = [ProfileEndpoint(service="nope", url="http://h:1")]
    with pytest.raises(ValueError) as info:
        Config(refresh=Duration(0), max_series=0, profiles=ProfilesConfig(endpoints=endpoints))
    assert str(info.value) == "refresh: must be positive; max_series: must be at least 1, got 0"
    with pytest.raises(ValueError, match="is not a configured service"):
        Config(
            services=parse_config("services: [{name: a}]\n").services,
            profiles=ProfilesConfig(endpoints=endpoints),
        )


def test_a_name_twice_in_a_mapping_of_names_is_refused() -> None:
    """YAML keeps the last of two equal keys: the first action (or header) would be lost."""
    assert problems(
        "actions:\n  rollback: {exec: [a]}\n  rollback: {exec: [b]}\n"
        "services:\n  - name: api\n    labels: {team: a, team: b}\n"
    ) == [
        "e.yaml:3: actions.rollback: key given twice",
        "e.yaml:6: services[0].labels.team: key given twice",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a latency: a large bare number is likely ms, a small one seconds (Prometheus' unit)
        ("slo: {p99: 250}", "slo.p99: 250 has no unit: write 250ms (0.25s) or 250s"),
        ("slo: {p99: 1.5}", "slo.p99: 1.5 has no unit: write 1.5s (1500ms) or 1.5ms"),
        ("detector: {min_delta: 20}", "detector.min_delta: 20 has no unit: write 20ms (0.02s)"),
        # any other duration: every unit
        (
            "actions: {x: {exec: [a], timeout: 30}}",
            "timeout: 30 has no unit: write 30s, 30ms or 30m",
        ),
        ("slo: {p99: -300}", "slo.p99: a duration cannot be negative"),
        ("slo: {p99: .inf}", "slo.p99: '.inf' is not a duration (examples: 5s, 15m"),
        ("slo: {p99: [300ms]}", "slo.p99: expected a duration like 250ms or 1.5s"),
    ],
)
def test_a_bare_number_gets_the_units_it_may_have_meant(text: str, message: str) -> None:
    (got,) = problems(f"services:\n  - name: api\n    {text}\n")
    assert got.startswith("e.yaml:3: services[0].") and message in got, got
