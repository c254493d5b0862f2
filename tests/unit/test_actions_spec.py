"""Action resolution: defaults, templates, the safe-value check, read-only binding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.config import Config, parse_config
from tui.core.actions import SAFE_VALUE, bindable_actions, resolve_action

CFG = """
actions:
  rollback:
    exec: [kubectl, rollout, undo, "deployment/{service}", -n, "{namespace}"]
  notify:
    http:
      url: "https://ci.example/hooks/{service}?token=s3cr3tvalue"
      headers: {Authorization: "Bearer abcdef123", X-Trace: "{user}"}
      json: {service: "{service}", to: "{baseline_version}", password: hunter22}
    key: n
services:
  - name: checkout
    namespace: shop
    version: v1.4.2
  - name: payments
    read_only: true
    namespace: pay
    actions:
      rollback:
        exec: [helm, rollback, "{service}", "{revision}"]
        timeout: 30s
"""


@pytest.fixture
def cfg() -> Config:
    return parse_config(CFG, "test.yaml")


def test_rollback_defaults_and_substitution(cfg: Config) -> None:
    a = resolve_action(cfg, "checkout", "rollback", user="alice")
    assert a.kind == "exec"
    assert a.argv == ("kubectl", "rollout", "undo", "deployment/checkout", "-n", "shop")
    assert (a.key, a.confirm, a.dangerous, a.timeout) == ("r", "type", True, 120.0)
    assert a.refusal is None and a.config_error is None
    assert a.command_lines() == ["kubectl rollout undo deployment/checkout -n shop"]
    assert a.values == {"service": "checkout", "namespace": "shop"}


def test_builtin_refresh_baseline_always_present(cfg: Config) -> None:
    a = resolve_action(cfg, "checkout", "refresh_baseline")
    assert (a.kind, a.key, a.dangerous, a.confirm) == ("builtin", "b", False, "yes")
    assert a.command_lines() == ["built-in: refresh baseline for checkout"]


def test_service_action_replaces_default(cfg: Config) -> None:
    a = resolve_action(cfg, "payments", "rollback", {"revision": "41"})
    assert a.argv == ("helm", "rollback", "payments", "41")
    assert a.timeout == 30.0


def test_missing_value_refuses_and_names_it(cfg: Config) -> None:
    a = resolve_action(cfg, "payments", "rollback")
    assert a.refusal is not None
    assert "{revision}" in a.refusal and "payments" in a.refusal


@pytest.mark.parametrize(
    "label",
    ["a; rm -rf /", "$(reboot)", "x`id`", "a b", "a\nb", "abc\n", "a" * 254, "ünïcode", "--x|y"],
)
def test_injection_from_series_label_refused(cfg: Config, label: str) -> None:
    # a label fills {revision}: payments' config gives none
    a = resolve_action(cfg, "payments", "rollback", {"revision": label})
    assert a.refusal is not None
    assert repr(label) in a.refusal
    assert "unsafe value for {revision}" in a.refusal
    # the unsubstituted template is kept; the bad value never reaches argv
    assert a.argv == ("helm", "rollback", "{service}", "{revision}")
    # a discovered service is named by its series: the same check applies to its name
    d = resolve_action(cfg, label, "rollback")
    assert d.refusal is not None and "unsafe value for {service}" in d.refusal
    assert repr(label) in d.refusal and d.argv[3] == "deployment/{service}"


def test_labels_never_retarget_a_configured_service(cfg: Config) -> None:
    """The config names the target; a series label (anyone who can write a metric) cannot
    turn `deployment/{service} -n {namespace}` into another deployment or namespace."""
    labels = {"service": "payments", "namespace": "pay", "version": "v9.9.9", "revision": "7"}
    a = resolve_action(cfg, "checkout", "rollback", labels)
    assert a.argv == ("kubectl", "rollout", "undo", "deployment/checkout", "-n", "shop")
    assert a.service == "checkout" and a.version == "v1.4.2"  # config's version wins too
    assert a.values == {"service": "checkout", "namespace": "shop"}
    assert resolve_action(cfg, "checkout", "rollback", {"service": ""}).argv[3] == (
        "deployment/checkout"
    )
    hook = resolve_action(
        cfg, "checkout", "notify", {"service": "payments"}, baseline_version="v1.4.1"
    )
    assert hook.refusal is None
    assert hook.url == "https://ci.example/hooks/checkout?token=s3cr3tvalue"
    assert hook.json["service"] == "checkout"
    # an unsafe service label is simply not used: nothing to refuse
    assert resolve_action(cfg, "checkout", "rollback", {"service": "a; rm -rf /"}).refusal is None


def test_labels_fill_only_what_the_config_leaves_out(cfg: Config) -> None:
    # payments gives a namespace but no revision: the label fills {revision} only
    a = resolve_action(cfg, "payments", "rollback", {"revision": "41", "service": "checkout"})
    assert a.argv == ("helm", "rollback", "payments", "41")
    # an explicit revision argument (the operator's choice) wins over the label
    b = resolve_action(cfg, "payments", "rollback", {"revision": "41"}, revision="40")
    assert b.argv[-1] == "40"
    # a discovered service has no config: its labels give namespace and version
    d = resolve_action(
        cfg, "search", "rollback", {"namespace": "web", "version": "v2", "service": "checkout"}
    )
    assert d.argv[3:] == ("deployment/search", "-n", "web") and d.version == "v2"


def test_safe_value_pattern_edges() -> None:
    for ok in ["checkout", "v1.2.3+build.7", "registry.io/app:1.0", "a@b", "a" * 253, "-x"]:
        assert SAFE_VALUE.fullmatch(ok)
    for bad in ["a b", "a;b", "a" * 254, "a\n", "", "a$b", "a&b", "a'b", 'a"b', "a\\b"]:
        assert not SAFE_VALUE.fullmatch(bad)


def test_http_substitution_and_redaction(cfg: Config) -> None:
    a = resolve_action(cfg, "checkout", "notify", user="bob", baseline_version="v1.4.1")
    assert a.kind == "http" and a.key == "n" and a.confirm == "yes" and not a.dangerous
    assert a.url == "https://ci.example/hooks/checkout?token=s3cr3tvalue"
    assert a.headers["X-Trace"] == "bob"
    assert a.json == {"service": "checkout", "to": "v1.4.1", "password": "hunter22"}
    shown = "\n".join(a.command_lines())
    assert "s3cr3tvalue" not in shown and "abcdef123" not in shown and "hunter22" not in shown
    assert "POST https://ci.example/hooks/checkout?token=***" in shown
    assert "Authorization: Bearer ***" in shown
    assert a.audit_fields() == {
        "kind": "http",
        "method": "POST",
        "url": "https://ci.example/hooks/checkout?token=***",
    }
    assert {"s3cr3tvalue", "abcdef123"} <= set(a.secret_values())


def test_unknown_placeholder_is_a_disabled_config_error() -> None:
    cfg = parse_config("actions:\n  rollback:\n    exec: [x, '{srvice}']\n")
    a = resolve_action(cfg, "svc", "rollback")
    assert a.config_error and "{srvice}" in a.config_error
    rows = {r[0].name: r for r in bindable_actions(cfg, "svc")}
    assert rows["rollback"][1] is False
    assert "unknown placeholder" in (rows["rollback"][2] or "")


def test_format_spec_in_placeholder_rejected() -> None:
    cfg = parse_config("actions:\n  rollback:\n    exec: [x, '{service!r}']\n")
    assert "takes no format" in (resolve_action(cfg, "svc", "rollback").config_error or "")


def test_unknown_action_name_raises_keyerror(cfg: Config) -> None:
    with pytest.raises(KeyError):
        resolve_action(cfg, "checkout", "nope")


def test_bindable_normal_mode(cfg: Config) -> None:
    rows = bindable_actions(cfg, "checkout")
    assert [(a.name, a.key, ok, why) for a, ok, why in rows] == [
        ("rollback", "r", True, None),
        ("refresh_baseline", "b", True, None),
        ("restore_baseline", None, True, None),  # no key: a command-palette entry
        ("notify", "n", True, None),
    ]


def test_bindable_global_read_only(cfg: Config) -> None:
    cfg.read_only = True
    rows = {a.name: (ok, why) for a, ok, why in bindable_actions(cfg, "checkout")}
    assert rows["rollback"] == (False, "read-only mode: rollback is dangerous")
    assert rows["refresh_baseline"] == (True, None)
    assert rows["notify"] == (True, None)


def test_bindable_per_service_read_only(cfg: Config) -> None:
    rows = {a.name: (ok, why) for a, ok, why in bindable_actions(cfg, "payments")}
    assert rows["rollback"][0] is False
    assert "payments is read-only" in (rows["rollback"][1] or "")
    other = {a.name: ok for a, ok, _ in bindable_actions(cfg, "checkout")}
    assert other["rollback"] is True


def test_write_flag_semantics_via_config_fields(cfg: Config) -> None:
    # `--write` (tui/commands/dashboard.py) clears cfg.read_only and each service's read_only
    cfg.read_only = False
    for s in cfg.services:
        s.read_only = False
    rows = {a.name: (ok, why) for a, ok, why in bindable_actions(cfg, "payments")}
    assert rows["rollback"] == (True, None)


def test_key_conflict_disables_the_later_action() -> None:
    cfg = parse_config("actions:\n  rollback:\n    exec: [a]\n  zap:\n    exec: [b]\n    key: r\n")
    rows = {a.name: (ok, why) for a, ok, why in bindable_actions(cfg, "svc")}
    assert rows["rollback"] == (True, None)
    assert rows["zap"] == (False, "key 'r' is already bound to rollback")


def test_discovered_service_uses_defaults(cfg: Config) -> None:
    a = resolve_action(cfg, "search", "rollback", {"namespace": "web"})
    assert a.argv[-3:] == ("deployment/search", "-n", "web")


def test_env_templates_checked(cfg: Config) -> None:
    cfg2 = parse_config(
        "actions:\n  rollback:\n    exec: [x]\n    env: {TARGET: '{service}', API_TOKEN: abcd1234}\n"
    )
    a = resolve_action(cfg2, "svc", "rollback")
    assert a.env == {"TARGET": "svc", "API_TOKEN": "abcd1234"}
    assert a.command_lines() == ["x", "env TARGET=svc", "env API_TOKEN=***"]
    bad = resolve_action(cfg2, "a b", "rollback")  # a discovered service with an unsafe name
    assert bad.refusal and "'a b'" in bad.refusal


def test_secrets_from_env_are_used_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_TEST_TOKEN", "tok-very-secret")
    cfg = parse_config(
        "actions:\n"
        "  rollback:\n"
        "    exec: [deploy, {env: WR_TEST_TOKEN}, '{service}']\n"
        "    env: {CI_TOKEN: {env: WR_TEST_TOKEN}, TARGET: '{service}'}\n"
        "  hook:\n"
        "    http:\n"
        "      url: https://ci.example/x\n"
        "      headers: {X-Custom: {env: WR_TEST_TOKEN}}\n"
    )
    a = resolve_action(cfg, "svc", "rollback")
    assert a.argv == ("deploy", "tok-very-secret", "svc")
    assert a.env == {"CI_TOKEN": "tok-very-secret", "TARGET": "svc"}
    assert a.command_lines() == ["deploy '***' svc", "env CI_TOKEN=***", "env TARGET=svc"]
    assert a.audit_fields()["argv"] == ["deploy", "***", "svc"]
    assert "tok-very-secret" in a.secret_values()
    h = resolve_action(cfg, "svc", "hook")
    assert h.headers == {"X-Custom": "tok-very-secret"}
    assert h.command_lines() == ["POST https://ci.example/x", "X-Custom: ***"]
    refused = resolve_action(cfg, "a b", "rollback")
    assert refused.refusal and "tok-very-secret" not in repr(refused.argv)


def test_missing_secret_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.config import ConfigError

    monkeypatch.delenv("WR_TEST_NOPE", raising=False)
    with pytest.raises(ConfigError, match=r"actions\.rollback\.exec\[1\]"):
        parse_config("actions:\n  rollback:\n    exec: [deploy, {env: WR_TEST_NOPE}]\n")


def test_dashboard_keys_are_reserved() -> None:
    cfg = parse_config("actions:\n  rollback:\n    exec: [a]\n  ping:\n    exec: [b]\n    key: p\n")
    rows = {
        a.name: (ok, why)
        for a, ok, why in bindable_actions(cfg, "svc", reserved={"p": "Pause", "q": "Quit"})
    }
    assert rows["ping"] == (False, "key 'p' is already bound to Pause")
    assert rows["rollback"] == (True, None)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_any_label_is_substituted_only_when_safe(label: str) -> None:
    cfg = parse_config(CFG, "test.yaml")
    # "search" is not configured: the namespace label fills {namespace}
    a = resolve_action(cfg, "search", "rollback", {"namespace": label, "service": label})
    if SAFE_VALUE.fullmatch(label):
        assert a.refusal is None and a.argv[3:] == ("deployment/search", "-n", label)
    else:
        assert a.refusal is not None and a.argv[5] == "{namespace}"
        assert repr(label) in a.refusal
    # for a configured service no label reaches the command at all
    c = resolve_action(cfg, "checkout", "rollback", {"namespace": label, "service": label})
    assert c.refusal is None and c.argv[3:] == ("deployment/checkout", "-n", "shop")


def test_dangerous_action_always_confirms() -> None:
    cfg = parse_config(
        "actions:\n  rollback:\n    exec: [a]\n    confirm: none\n"
        "  wipe:\n    exec: [b]\n    confirm: none\n    dangerous: true\n"
        "  poke:\n    exec: [c]\n    confirm: none\n"
    )
    assert resolve_action(cfg, "s", "rollback").confirm == "yes"
    assert resolve_action(cfg, "s", "wipe").confirm == "yes"
    assert resolve_action(cfg, "s", "poke").confirm == "none"
