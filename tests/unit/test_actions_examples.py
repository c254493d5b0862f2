"""The README's action examples parse, resolve to the commands they promise, and stay safe."""

from __future__ import annotations

import pytest

from tui.config import parse_config
from tui.core.actions import bindable_actions, resolve_action

README_EXAMPLE = """
actions:                        # defaults for every service
  rollback:                     # key r; type the service name to confirm; dangerous
    exec: [kubectl, rollout, undo, "deployment/{service}", -n, "{namespace}"]
    timeout: 2m
audit:
  path: ~/.local/state/warroom/audit.jsonl
services:
  - name: checkout
    namespace: shop
  - name: payments              # an Argo Rollouts service
    namespace: pay
    actions:
      rollback:
        exec: [kubectl, argo, rollouts, undo, "{service}", -n, "{namespace}"]
  - name: search                # a Helm release: back to the previous revision
    namespace: web
    read_only: true             # nobody rolls search back from here
    actions:
      rollback:
        exec: [helm, rollback, "{service}", --namespace, "{namespace}", --wait]
      rerun_pipeline:           # an HTTP webhook: trigger a CI pipeline
        key: c
        confirm: "yes"
        timeout: 30s
        http:
          method: POST
          url: https://gitlab.example.com/api/v4/projects/42/pipeline
          headers: {PRIVATE-TOKEN: {env: GITLAB_TOKEN}}
          json:
            ref: main
            variables:
              - {key: SERVICE, value: "{service}"}
              - {key: ROLLBACK_TO, value: "{baseline_version}"}
"""


@pytest.fixture
def cfg(monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-example-token")
    return parse_config(README_EXAMPLE, "README.md")


def test_kubectl_rollout_undo(cfg):
    a = resolve_action(cfg, "checkout", "rollback")
    assert a.command_lines() == ["kubectl rollout undo deployment/checkout -n shop"]
    assert (a.key, a.confirm, a.dangerous, a.timeout) == ("r", "type", True, 120.0)


def test_argo_rollouts_undo(cfg):
    a = resolve_action(cfg, "payments", "rollback")
    assert a.command_lines() == ["kubectl argo rollouts undo payments -n pay"]


def test_helm_rollback_and_read_only(cfg):
    a = resolve_action(cfg, "search", "rollback")
    assert a.argv == ("helm", "rollback", "search", "--namespace", "web", "--wait")
    rows = {x.name: (ok, why) for x, ok, why in bindable_actions(cfg, "search")}
    assert rows["rollback"] == (False, "search is read-only in the config: rollback is dangerous")
    assert rows["rerun_pipeline"] == (True, None)


def test_webhook(cfg):
    a = resolve_action(cfg, "search", "rerun_pipeline", baseline_version="v3.1.0")
    assert a.headers == {"PRIVATE-TOKEN": "glpat-example-token"}
    assert a.json == {"ref": "main", "variables": [
        {"key": "SERVICE", "value": "search"}, {"key": "ROLLBACK_TO", "value": "v3.1.0"}]}
    assert a.command_lines() == [
        "POST https://gitlab.example.com/api/v4/projects/42/pipeline",
        "PRIVATE-TOKEN: ***",
        '{"ref": "main", "variables": [{"key": "SERVICE", "value": "search"}, '
        '{"key": "ROLLBACK_TO", "value": "v3.1.0"}]}',
    ]
    # without a baseline there is no {baseline_version}: refused, and it says why
    assert "{baseline_version}" in (resolve_action(cfg, "search", "rerun_pipeline").refusal or "")
