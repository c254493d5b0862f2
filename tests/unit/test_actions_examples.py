"""The README's action examples, read from README.md itself so the two cannot drift: they
load with `load_config`, resolve to the commands the issue promises (kubectl rollout undo,
argo rollouts undo, helm rollback, an HTTP webhook) and keep their secret masked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.config import Config, ServiceConfig, load_config
from tui.core.actions import bindable_actions, resolve_action
from tui.core.actions.spec import action_configs
from tui.core.actions.templating import TEMPLATE_NAMES

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Actions: roll back or refresh the baseline in one key"
TOKEN = "ci-example-token-1234"
PLACEHOLDER = re.compile("|".join(re.escape("{" + n + "}") for n in TEMPLATE_NAMES))


def readme_yaml_blocks() -> list[str]:
    """The ```yaml blocks between SECTION and the next heading of any level."""
    text = README.read_text()
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    body = text.split(SECTION, 1)[1]
    # headings outside fences end the section; '#' comments inside a yaml block do not
    kept: list[str] = []
    fenced = False
    for line in body.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            break
        kept.append(line)
    blocks = re.findall(r"^```yaml\n(.*?)^```", "\n".join(kept) + "\n", re.M | re.S)
    assert blocks, f"README.md: no ```yaml block under {SECTION!r}"
    return blocks


@pytest.fixture(params=range(len(readme_yaml_blocks())))
def cfg(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Config:
    monkeypatch.setenv("CI_TOKEN", TOKEN)
    path = tmp_path / "warroom.yaml"
    path.write_text(readme_yaml_blocks()[request.param])
    return load_config(path)


def _all_actions(cfg: Config) -> Iterator[tuple[ServiceConfig, str]]:
    """(service config, action name) for every configured service plus one that only has
    the defaults (a service discovered from labels)."""
    bare = ServiceConfig(name="orders", namespace="shop")
    for svc in [*cfg.services, bare]:
        for name, ac in action_configs(cfg, svc).items():
            if ac is not None:  # built-ins have no command to check
                yield svc, name


def test_every_example_resolves_with_its_values_substituted(cfg: Config) -> None:
    seen = list(_all_actions(cfg))
    assert seen
    for svc, name in seen:
        a = resolve_action(cfg, svc, name, baseline_version="v1.4.2")
        assert a.config_error is None and a.refusal is None, (svc.name, name, a)
        shown = "\n".join(a.command_lines())
        assert not PLACEHOLDER.search(shown), shown  # every template was filled in
        if a.kind == "exec":
            assert any(svc.name in arg for arg in a.argv), (svc.name, a.argv)
            if svc.namespace:
                assert svc.namespace in a.argv, (svc.name, a.argv)


def test_examples_cover_the_four_promised_tools(cfg: Config) -> None:
    kinds = set()
    for svc, name in _all_actions(cfg):
        a = resolve_action(cfg, svc, name, baseline_version="v1.4.2")
        if a.kind == "http":
            kinds.add("webhook")
        elif a.argv[:3] == ("kubectl", "rollout", "undo"):
            kinds.add("kubectl rollout undo")
        elif a.argv[:4] == ("kubectl", "argo", "rollouts", "undo"):
            kinds.add("argo rollouts undo")
        elif a.argv[:2] == ("helm", "rollback"):
            kinds.add("helm rollback")
    assert kinds == {"kubectl rollout undo", "argo rollouts undo", "helm rollback", "webhook"}


def test_rollback_defaults_are_the_safe_ones(cfg: Config) -> None:
    for svc, name in _all_actions(cfg):
        a = resolve_action(cfg, svc, name)
        if name == "rollback":
            assert (a.key, a.confirm, a.dangerous) == ("r", "type", True), svc.name


def test_read_only_service_has_rollback_disabled(cfg: Config) -> None:
    ro = [s for s in cfg.services if s.read_only]
    for svc in ro:
        rows = {a.name: (ok, why) for a, ok, why in bindable_actions(cfg, svc)}
        assert rows["rollback"] == (
            False,
            f"{svc.name} is read-only in the config: rollback is dangerous",
        )


def test_webhook_secret_is_sent_but_never_shown(cfg: Config) -> None:
    hooks = [
        (svc, name)
        for svc, name in _all_actions(cfg)
        if resolve_action(cfg, svc, name).kind == "http"
    ]
    assert hooks
    for svc, name in hooks:
        a = resolve_action(cfg, svc, name, baseline_version="v1.4.2")
        assert TOKEN in a.headers.values()  # the real value goes out with the request
        shown = "\n".join(a.command_lines())
        assert TOKEN not in shown and "***" in shown
        assert TOKEN not in str(a.audit_fields())
        assert a.url is not None and a.url.startswith("https://")


def test_without_the_token_the_config_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CI_TOKEN", raising=False)
    from tui.errors import UserError

    for i, block in enumerate(readme_yaml_blocks()):
        if "CI_TOKEN" not in block:
            continue
        path = tmp_path / f"w{i}.yaml"
        path.write_text(block)
        with pytest.raises(UserError, match=r"CI_TOKEN is not set"):
            load_config(path)
