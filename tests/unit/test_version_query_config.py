"""`version_query` / `version_label` (global under `prometheus`, and per service): mistakes
that are sure to be refused are config errors at their own line; good ones load."""

from __future__ import annotations

import pytest

from tui.config import ConfigError, parse_config
from tui.sources.releases import configured_query

HEAD = "prometheus:\n  url: http://127.0.0.1:9090\n"
SERVICE = "services:\n  - name: shop\n    prometheus:\n      latency_histogram: h_seconds\n"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('build_info{job="{service}"', "unclosed '{' at character 11"),
        ('max by (version) (build_info{job="x})', "unterminated string starting at character 34"),
        ("max by (version) (build_info))", "unexpected ')' at character 30"),
        ('build_info{job="{svc}"}', "unknown placeholder {svc} (only {service})"),
        ("'  '", "empty (leave it out to use the *_build_info gauges)"),
    ],
)
def test_a_bad_version_query_is_an_error_at_its_line(value: str, why: str) -> None:
    quoted = value if value.startswith("'") else "'" + value.replace("'", "''") + "'"
    for text, line, key in (
        (HEAD + f"  version_query: {quoted}\n" + SERVICE, 3, "prometheus.version_query"),
        (HEAD + SERVICE + f"      version_query: {quoted}\n", 7, "services[0].prometheus"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_config(text, "warroom.yaml")
        msg = str(info.value)
        assert msg.startswith(f"warroom.yaml:{line}: {key}"), msg
        assert "version_query: " in msg and why in msg, msg


def test_a_bad_version_label_is_an_error_at_its_line() -> None:
    text = HEAD + SERVICE + "      version_query: x\n      version_label: 'ver sion'\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "warroom.yaml")
    assert str(info.value).startswith("warroom.yaml:8: services[0].prometheus.version_label: ")


def test_the_service_query_wins_over_the_global_one_and_names_the_service() -> None:
    glob = HEAD + "  version_query: 'app_info{app=\"{service}\"}'\n  version_label: release\n"
    cfg = parse_config(glob + SERVICE + "  - name: pay\n    prometheus:\n"
                       "      latency_histogram: h_seconds\n      version_query: 'pay_info'\n")  # fmt: skip
    assert configured_query(cfg, cfg.service("shop")) == (
        'count by (release) (app_info{app="shop"})',
        "release",
    )
    assert configured_query(cfg, cfg.service("pay")) == ("count by (version) (pay_info)", "version")
    assert (
        configured_query(parse_config(HEAD + SERVICE), parse_config(HEAD + SERVICE).services[0])
        is None
    )
