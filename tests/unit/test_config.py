"""Config validation: every bad config in tests/data/configs/bad fails with FILE:LINE: key: why.

Each fixture is a real file with one mistake; the table says where the mistake is and what the
message must say. `warroom config check` must print exactly that one line and exit 2 (0 for the
good configs), never a traceback, and never the value of a secret.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.cli import main
from tui.config import (
    ConfigError,
    Secret,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
    parse_size,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "configs"
BAD = DATA / "bad"
GOOD = DATA / "good"

# file -> (line, key path or None for YAML syntax errors, what the message says)
CASES: dict[str, tuple[int, str | None, str]] = {
    "typo_top.yaml": (3, "refersh", "unknown key; did you mean 'refresh'?"),
    "typo_nested.yaml": (
        6,
        "services[0].prometheus.latency_histgram",
        "unknown key; did you mean 'latency_histogram'?",
    ),
    "wrong_type.yaml": (1, "max_series", "expected an integer, got 'lots'"),
    "wrong_type_list.yaml": (1, "services", "expected a list"),
    "bad_bool.yaml": (1, "read_only", "expected true or false, got 'sometimes'"),
    "bad_duration.yaml": (
        2,
        "rate_window",
        "'5 minutes' is not a duration (examples: 5s, 15m, 1h30m, 250ms)",
    ),
    "bad_size.yaml": (2, "otlp.max_body", "'a lot' is not a size"),
    "missing_required.yaml": (3, "services[1]", "missing required key 'name'"),
    "missing_required_nested.yaml": (2, "prometheus", "missing required key 'url'"),
    "bad_yaml.yaml": (5, None, "not valid YAML: expected ',' or '}'"),
    "bad_yaml_indent.yaml": (3, None, "not valid YAML"),
    "literal_secret.yaml": (
        3,
        "prometheus.bearer_token",
        "secrets are not written in the config: use {env: VARIABLE} or {file: PATH}",
    ),
    "literal_password.yaml": (
        5,
        "prometheus.basic_auth.password",
        "secrets are not written in the config",
    ),
    "missing_env_secret.yaml": (
        3,
        "prometheus.bearer_token",
        "environment variable WARROOM_TEST_UNSET_VARIABLE is not set",
    ),
    "missing_secret_file.yaml": (
        3,
        "prometheus.bearer_token",
        f"cannot read secret file {BAD / 'no-such-token.txt'}: No such file or directory",
    ),
    "unreadable_secret_file.yaml": (
        3,
        "prometheus.bearer_token",
        f"cannot read secret file {BAD}: Is a directory",
    ),
    "unknown_secret_source.yaml": (
        3,
        "prometheus.bearer_token",
        "unknown secret source 'vault': use env or file",
    ),
    "bad_url.yaml": (
        2,
        "prometheus.url",
        "must start with http:// or https://, got '127.0.0.1:9090'",
    ),
    "both_auth.yaml": (4, "prometheus.basic_auth", "set bearer_token or basic_auth, not both"),
    "bad_selector.yaml": (
        6,
        "services[0].prometheus.latency_histogram",
        "'rate(http_request_duration_seconds_bucket[1m])' is not a histogram "
        "metric name with an optional {label selector}",
    ),
    "duplicate_service.yaml": (1, "services", "duplicate service name(s): checkout"),
    "rate_window_short.yaml": (2, "rate_window", "must be at least one refresh long (10s)"),
    "bad_otlp_address.yaml": (2, "otlp", "http must be HOST:PORT"),
    "key_twice.yaml": (3, "refresh", "key given twice"),
    # an empty value is "nothing", never a YAML traceback
    "empty_value.yaml": (2, "refresh", "expected a duration like 5s or 15m, got nothing"),
    "empty_name.yaml": (3, "services[1].name", "expected a string, got nothing"),
    "empty_url.yaml": (2, "prometheus.url", "expected a string, got nothing"),
    "empty_theme.yaml": (2, "theme", "expected a string, got nothing"),
    "empty_secret_env.yaml": (
        3,
        "prometheus.bearer_token",
        "{env: ...} needs an environment variable name, got nothing",
    ),
    # values that parse but would fail (or silently misbehave) later
    "blank_name.yaml": (3, "services[1].name", "must not be empty"),
    "otlp_port_range.yaml": (3, "otlp.grpc", "port must be 1-65535, got '127.0.0.1:99999'"),
    "unknown_theme.yaml": (
        2,
        "theme",
        "unknown theme 'bastian'; did you mean 'bastion'? "
        "(available: warroom, bastion, wall, paper)",
    ),
    "max_series_zero.yaml": (1, "max_series", "must be at least 1, got 0"),
    "window_zero.yaml": (2, "window", "must be positive"),
    "refresh_zero.yaml": (1, "refresh", "must be positive"),
    "rate_window_zero.yaml": (2, "rate_window", "must be positive"),
    "url_no_host.yaml": (2, "prometheus.url", "has no host, got 'http:///api/v1'"),
    "url_bad_scheme.yaml": (2, "prometheus.url", "must start with http:// or https://"),
    "url_bad_port.yaml": (2, "prometheus.url", "has a bad port (1-65535)"),
    "min_effect_typo.yaml": (
        5,
        "baseline.min_effect.p9",
        "unknown signal or unit; did you mean 'p99'?",
    ),
    "min_effect_unit_case.yaml": (
        4,
        "baseline.min_effect.b/op",
        "unknown unit; did you mean 'B/op'?",
    ),
    "min_effect_negative.yaml": (
        3,
        "baseline.min_effect.qps",
        "must be a non-negative number, got -0.15",
    ),
}

SECRETS = ("hunter2-literal-token", "hunter2-literal-password", "s3cr3t-from-file", "tok-123")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARROOM_TEST_TOKEN", "tok-123")
    monkeypatch.delenv("WARROOM_TEST_UNSET_VARIABLE", raising=False)
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)


def expected_prefix(name: str) -> str:
    line, key, _ = CASES[name]
    return f"{BAD / name}:{line}: " + (f"{key}: " if key else "")


def test_every_bad_fixture_has_a_case() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_config_names_file_line_and_key(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(BAD / name)
    message = str(info.value)
    assert message.startswith(expected_prefix(name)), message
    assert CASES[name][2] in message
    assert "\n" not in message
    assert not any(s in message for s in SECRETS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_check_exits_2_with_one_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["config", "check", str(BAD / name)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("warroom: " + expected_prefix(name)), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(s in err for s in SECRETS)


@pytest.mark.parametrize("name", ["full.yaml", "minimal.yaml", "empty.yaml"])
def test_good_configs_pass_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["config", "check", str(GOOD / name)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"{GOOD / name}: ok")
    assert not any(s in out + err for s in SECRETS)


def test_full_config_values() -> None:
    cfg = load_config(GOOD / "full.yaml")
    assert cfg.prometheus is not None
    assert cfg.prometheus.url == "https://prometheus.example.internal:9090/prom"
    token = cfg.prometheus.bearer_token
    assert isinstance(token, Secret) and token.reveal() == "tok-123"
    assert "tok-123" not in repr(cfg) and "tok-123" not in str(token)
    assert cfg.prometheus.headers == {"X-Scope-OrgID": "team-payments"}
    assert cfg.prometheus.timeout == 8.0 and cfg.rate_window == 120.0 and cfg.window == 3600.0
    assert cfg.otlp.grpc == "" and cfg.otlp.max_body == 8 * 1024 * 1024
    checkout, cart = cfg.services
    assert checkout.prometheus is not None and checkout.otlp is None
    assert checkout.prometheus.latency_histogram.endswith('route!="/healthz"}')
    assert checkout.prometheus.error_ratio and "\n/\n" in checkout.prometheus.error_ratio
    assert checkout.slo.p99 == 0.25 and checkout.slo.error_ratio == 0.01
    assert cart.otlp is not None and cart.otlp.service_name == "cart-svc"
    assert cfg.alertmanager is not None and cfg.alertmanager.bearer_token is not None
    assert cfg.alertmanager.bearer_token.reveal() == "s3cr3t-from-file"


def test_defaults_and_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = load_config(GOOD / "empty.yaml")
    assert (cfg.refresh, cfg.rate_window, cfg.window) == (5.0, 60.0, 900.0)
    assert cfg.prometheus is None and cfg.otlp.http == "127.0.0.1:4318"
    monkeypatch.chdir(tmp_path)  # no ./warroom.yaml here
    monkeypatch.setenv("PROMETHEUS_URL", "http://127.0.0.1:9090")
    env_cfg = load_config(None)
    assert env_cfg.prometheus is not None and env_cfg.prometheus.url == "http://127.0.0.1:9090"
    monkeypatch.setenv("PROMETHEUS_URL", "127.0.0.1:9090")
    with pytest.raises(ConfigError, match=r"^PROMETHEUS_URL: url: must start with http"):
        load_config(None)
    assert main(["config", "check", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"warroom: {tmp_path / 'nope.yaml'}: no such config file\n"
    assert main(["config", "check", str(tmp_path)]) == 2
    assert "is a directory, not a config file" in capsys.readouterr().err


def test_unreadable_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"services:\n  - name: caf\xe9\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"warroom: {path}: cannot read config: ") and err.count("\n") == 1
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.yaml"
        locked.write_text("refresh: 5s\n")
        locked.chmod(0)
        assert main(["config", "check", str(locked)]) == 2
        assert "Permission denied" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5),
        ("15m", 900),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("1d", 86400),
        ("1w", 604800),
        ("100us", 1e-4),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert parse_config(f"refresh: {text}\nrate_window: 1w\n").refresh == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "services:\n  - name: api\n    slo: {p99: 300}\n",
            "<config>:3: services[0].slo.p99: 300 has no unit: write 300ms (0.3s) or 300s",
        ),
        ("refresh: 2\n", "<config>:1: refresh: 2 has no unit"),
        ("refresh: '1.5'\n", "<config>:1: refresh: 1.5 has no unit"),
    ],
)
def test_a_config_duration_without_a_unit_is_refused(yaml_text: str, message: str) -> None:
    """Issue 13 item 17: `p99: 300` (meant as ms) was five minutes."""
    with pytest.raises(ConfigError) as exc:
        parse_config(yaml_text)
    assert str(exc.value).startswith(message)


def test_the_command_line_keeps_unitless_seconds() -> None:
    assert parse_duration("2") == 2.0  # `--window 300`: a flag whose help says seconds


@pytest.mark.parametrize("text", ["5 s", "m5", "5x", "-5s", "", "5s3", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64MiB", 64 * 1024**2),
        ("512KiB", 512 * 1024),
        ("1MB", 10**6),
        ("1kb", 1000),
        ("4096", 4096),
        ("2GiB", 2 * 1024**3),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_format_duration_round_trips() -> None:
    for s in (0.25, 5, 60, 90, 3600, 5400, 86400):
        assert parse_duration(format_duration(s)) == pytest.approx(s)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("refresh: ~\n", "refresh: expected a duration"),
        ("max_series: null\n", "max_series: expected an integer, got 'null'"),
        ("read_only:\n", "read_only: expected true or false, got nothing"),
        ("otlp:\n  max_body:\n", "otlp.max_body: expected a size like 64MiB, got nothing"),
        ("services:\n", "services: expected a list, got nothing"),
        (
            "services:\n  - name: a\n    labels:\n",
            "services[0].labels: expected a mapping, got nothing",
        ),
        ("actions:\n  x:\n    exec: [a, ~]\n", "actions.x.exec[1]: expected a string, got nothing"),
        (
            "actions:\n  x:\n    http: {url: 'http://h/x', method:}\n",
            "actions.x.http.method: expected one of 'GET'",
        ),
        (
            "baseline:\n  min_effect:\n    p99:\n",
            "baseline.min_effect.p99: expected a number, got nothing",
        ),
    ],
)
def test_empty_values_are_located_errors(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "e.yaml")
    assert str(info.value).startswith("e.yaml:"), info.value
    assert where in str(info.value)


def test_empty_values_where_nothing_is_fine() -> None:
    cfg = parse_config(
        "prometheus:\n  url: http://h:9090\n  tls:\nalertmanager: {url: "
        "'https://am.example'}\nactions:\n  hook:\n    http: {url: 'http://h/x', "
        "json: }\n    confirm:\n",
        "e.yaml",
    )
    assert cfg.prometheus is not None and cfg.prometheus.tls.ca_file is None
    assert cfg.actions["hook"].http is not None and cfg.actions["hook"].http.json is None
    assert cfg.actions["hook"].confirm is None


def test_otlp_port_edges_and_custom_bench_units() -> None:
    assert parse_config("otlp: {http: '127.0.0.1:65535', grpc: '[::1]:1'}\n").otlp.http
    cfg = parse_config(
        "baseline:\n  min_effect: {items/op: 2, MB/s: 0.1, sec/op: 0, error_ratio: 0.02}\n"
    )
    assert cfg.baseline.min_effect == {"items/op": 2, "MB/s": 0.1, "sec/op": 0, "error_ratio": 0.02}
    for bad in (".inf", ".nan"):
        with pytest.raises(ConfigError, match=r"baseline\.min_effect\.p50: must be a non-negative"):
            parse_config(f"baseline:\n  min_effect:\n    p50: {bad}\n")
    with pytest.raises(ConfigError, match=r":2: alertmanager\.url: has no host"):
        parse_config("refresh: 5s\nalertmanager: {url: 'https://'}\n")


def test_known_names_match_the_code_that_uses_them() -> None:
    """config.py keeps copies (it must not import numpy or textual); they must not drift."""
    from tui.config_checks import MIN_EFFECT_SIGNALS, MIN_EFFECT_UNITS, THEME_NAMES, known_themes
    from tui.core.metrics.store import SIGNALS
    from tui.core.stats.compare import DEFAULT_MIN_EFFECTS
    from tui.ui.theme import THEME_ORDER, themes_dir

    assert MIN_EFFECT_SIGNALS == SIGNALS
    assert set(DEFAULT_MIN_EFFECTS) <= {*MIN_EFFECT_SIGNALS, *MIN_EFFECT_UNITS}
    assert THEME_NAMES == THEME_ORDER
    assert sorted(known_themes()) == sorted(p.stem for p in themes_dir().glob("*.yaml"))


def test_profiles_keep() -> None:
    assert parse_config("").profiles.keep == 100
    assert parse_config("profiles: {dir: /tmp/p, keep: 0}\n").profiles.keep == 0
    with pytest.raises(ConfigError) as info:
        parse_config("profiles:\n  dir: /tmp/p\n  keep: -1\n", "e.yaml")
    assert str(info.value).startswith("e.yaml:3: profiles.keep:"), info.value


def test_profile_endpoint_kinds_accept_cpu() -> None:
    cfg = parse_config(
        "services: [{name: api}]\nprofiles:\n  dir: /tmp/p\n"
        "  endpoints: [{service: api, url: 'http://127.0.0.1:6060', kinds: [cpu, heap]}]\n"
    )
    assert cfg.profiles.endpoints[0].kinds == ["profile", "heap"]


def test_profile_endpoint_of_no_configured_service_is_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(
            "services: [{name: checkout}]\nprofiles:\n  dir: /tmp/p\n"
            "  endpoints: [{service: chekout, url: 'http://127.0.0.1:6060'}]\n"
        )
    assert "profiles.endpoints[0].service: 'chekout' is not a configured service (checkout)" in str(
        exc.value
    )
    assert "did you mean 'checkout'?" in str(exc.value)


def test_check_summary_names_every_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13 item 17: the sources summary left out Alertmanager and profile endpoints."""
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        "services: [{name: checkout}]\n"
        "alertmanager: {url: 'http://127.0.0.1:9093'}\n"
        "profiles:\n"
        "  dir: /var/tmp/profiles\n"
        "  endpoints: [{service: checkout, url: 'http://127.0.0.1:6060', kinds: [cpu, heap]}]\n"
    )
    assert main(["config", "check", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "alertmanager http://127.0.0.1:9093" in out
    assert "pprof checkout http://127.0.0.1:6060 (" in out and "heap)" in out
    assert "profiles dir /var/tmp/profiles" in out


def test_an_unknown_spark_scale_is_named_with_the_choices(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text("spark_scale: logarithmic\n")
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert f"{cfg}:1" in str(exc.value) and "'robust', 'linear', 'log'" in str(exc.value)
