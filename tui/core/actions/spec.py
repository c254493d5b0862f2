"""Action specs: config -> a fully substituted, checked, displayable action.

Nothing runs through a shell, and every template value is checked against a strict pattern
before it is substituted, so a series label like `a; rm -rf /` can never become part of a
command: the action refuses and names the value instead. Resolution is pure; running lives in
`tui/sources/actions.py`.

Where it lives: `ResolvedAction`, the built-ins and their defaults, resolution and which keys
bind here; placeholders, the value pattern and substitution in templating.py.
"""

from __future__ import annotations

import getpass
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.config import ActionConfig, Config, Secret, ServiceConfig
from tui.core.actions.redact import (
    MASK,
    is_secret_name,
    redact_argv,
    redact_env,
    redact_headers,
    redact_json,
    redact_url,
)
from tui.core.actions.templating import Refused, json_strings, placeholders, render, render_json

ROLLBACK = "rollback"
REFRESH_BASELINE = "refresh_baseline"
RESTORE_BASELINE = "restore_baseline"
BUILTINS = {
    REFRESH_BASELINE: "snapshot the current window as the new baseline",
    RESTORE_BASELINE: "make the previous baseline current again",
}

Kind = Literal["exec", "http", "builtin"]


@dataclass(frozen=True)
class ActionDefaults:
    key: str | None
    confirm: Literal["none", "yes", "type"]
    dangerous: bool


# Per-action defaults; anything not listed is a custom action: confirm yes, not dangerous,
# bound only when it names a key.
DEFAULTS: dict[str, ActionDefaults] = {
    ROLLBACK: ActionDefaults(key="r", confirm="type", dangerous=True),
    REFRESH_BASELINE: ActionDefaults(key="b", confirm="yes", dangerous=False),
    RESTORE_BASELINE: ActionDefaults(key=None, confirm="yes", dangerous=False),
}
CUSTOM_DEFAULTS = ActionDefaults(key=None, confirm="yes", dangerous=False)


@dataclass(frozen=True, eq=False)
class ResolvedAction:
    """One action for one service, templates substituted (or the reason it cannot be).

    `refusal` is set when a template value is unsafe or missing: the action must not run,
    and the runner audits it as refused. `config_error` is set when the template itself is
    broken (unknown placeholder): the action is shown disabled.
    """

    name: str
    service: str
    kind: Kind
    key: str | None
    confirm: Literal["none", "yes", "type"]
    dangerous: bool
    timeout: float
    description: str
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    method: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    values: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    baseline_version: str | None = None
    refusal: str | None = None
    config_error: str | None = None
    # Values that came from `{env: NAME}` / `{file: PATH}` secrets: always masked when shown.
    secret_argv: frozenset[int] = frozenset()
    secret_keys: frozenset[str] = frozenset()  # env variable and header names

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")

    def redacted_argv(self) -> list[str]:
        shown = redact_argv(self.argv)
        return [MASK if i in self.secret_argv else a for i, a in enumerate(shown)]

    def redacted_env(self) -> dict[str, str]:
        return {k: MASK if k in self.secret_keys else v for k, v in redact_env(self.env).items()}

    def redacted_headers(self) -> dict[str, str]:
        return {
            k: MASK if k in self.secret_keys else v for k, v in redact_headers(self.headers).items()
        }

    def redacted_url(self) -> str | None:
        return None if self.url is None else redact_url(self.url)

    def command_lines(self) -> list[str]:
        """The exact command or request, secrets masked: what the confirm dialog shows."""
        if self.kind == "exec":
            lines = [shlex.join(self.redacted_argv())]
            lines += [f"env {k}={v}" for k, v in self.redacted_env().items()]
            return lines
        if self.kind == "http":
            lines = [f"{self.method} {self.redacted_url()}"]
            lines += [f"{k}: {v}" for k, v in self.redacted_headers().items()]
            if self.json is not None:
                import json as _json

                lines.append(_json.dumps(redact_json(self.json), sort_keys=True))
            return lines
        return [f"built-in: {self.title} for {self.service}"]

    def audit_fields(self) -> dict[str, Any]:
        """What the audit log records about the target: redacted argv or method + URL."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "exec":
            out["argv"] = self.redacted_argv()
        elif self.kind == "http":
            out["method"] = self.method
            out["url"] = self.redacted_url()
        return out

    def secret_values(self) -> list[str]:
        """Raw values that were masked for display, to scrub from streamed output too."""
        secrets: list[str] = []
        for i, (raw, shown) in enumerate(zip(self.argv, self.redacted_argv(), strict=True)):
            if raw != shown:
                secrets.append(raw if i in self.secret_argv else raw.split("=", 1)[-1])
        for k, v in self.headers.items():
            if self.redacted_headers()[k] != v:
                secrets.append(v if k in self.secret_keys else v.split(" ", 1)[-1])
        for k, v in self.env.items():
            if self.redacted_env()[k] != v:
                secrets.append(v)
        if self.url:
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(self.url)
            secrets += [v for k, v in parse_qsl(parts.query) if is_secret_name(k)]
            if parts.password:
                secrets.append(parts.password)
        return secrets


@dataclass
class BuiltinOutcome:
    """What a built-in action (baseline refresh/restore) reports back to the runner."""

    lines: list[str]
    baseline_versions: dict[str, str | None]


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER") or "unknown"


def find_service(cfg: Config, service: ServiceConfig | str) -> ServiceConfig:
    """The configured service, or a bare one for a service discovered from series labels."""
    if isinstance(service, ServiceConfig):
        return service
    for svc in cfg.services:
        if svc.name == service:
            return svc
    return ServiceConfig(name=service)


def action_configs(cfg: Config, svc: ServiceConfig) -> dict[str, ActionConfig | None]:
    """Name -> config (None: built in), service entries replacing defaults.

    The baseline built-ins are always present; a configured command of the same name
    replaces the built-in.
    """
    merged: dict[str, ActionConfig | None] = dict.fromkeys(BUILTINS)
    merged.update(cfg.actions)
    merged.update(svc.actions)
    order = [ROLLBACK, REFRESH_BASELINE, RESTORE_BASELINE]
    return {
        n: merged[n] for n in sorted(merged, key=lambda n: (order.index(n) if n in order else 9, n))
    }


def template_values(
    svc: ServiceConfig,
    labels: Mapping[str, str] | None = None,
    *,
    baseline_version: str | None = None,
    revision: str | None = None,
    user: str | None = None,
) -> dict[str, str | None]:
    """Values for the placeholders: what the config says wins; live series labels only fill
    what it leaves out.

    The target of an action (`deployment/{service} -n {namespace}`) is the operator's config,
    never a label: anything that can write a series could otherwise retarget a rollback. The
    service is always the configured (or, for a discovered service, the displayed) name; a
    `service` label is never used.
    """
    labels = dict(labels or {})
    values: dict[str, str | None] = {
        "service": svc.name,
        "namespace": svc.namespace or svc.labels.get("namespace") or labels.get("namespace"),
        "version": svc.version or svc.labels.get("version") or labels.get("version"),
        "baseline_version": baseline_version,
        "revision": revision or svc.labels.get("revision") or labels.get("revision"),
        "user": user or current_user(),
    }
    return values


def resolve_action(
    cfg: Config,
    service: ServiceConfig | str,
    name: str,
    labels: Mapping[str, str] | None = None,
    *,
    baseline_version: str | None = None,
    revision: str | None = None,
    user: str | None = None,
) -> ResolvedAction:
    """Resolve action `name` for `service`; KeyError if the service has no such action."""
    svc = find_service(cfg, service)
    configs = action_configs(cfg, svc)
    if name not in configs:
        raise KeyError(name)
    ac = configs[name]
    d = DEFAULTS.get(name, CUSTOM_DEFAULTS)
    values = template_values(
        svc, labels, baseline_version=baseline_version, revision=revision, user=user
    )
    svc_name = values["service"] or svc.name
    common: dict[str, Any] = {
        "name": name,
        "service": svc_name,
        "version": values["version"],
        "baseline_version": baseline_version,
    }
    if ac is None:  # a baseline built-in
        return ResolvedAction(
            kind="builtin",
            key=d.key,
            confirm=d.confirm,
            dangerous=d.dangerous,
            timeout=120.0,
            description=BUILTINS[name],
            **common,
        )
    return _resolve_configured(ac, d, values, svc_name, common)


def _resolve_configured(
    ac: ActionConfig,
    d: ActionDefaults,
    values: dict[str, Any],
    svc_name: str,
    common: dict[str, Any],
) -> ResolvedAction:
    """An action the config defines (exec or http): its templates rendered with `values`,
    secrets masked in what is shown; a template error or a refused value is carried in the
    result (the dialog says it), never raised."""
    kind: Kind = "exec" if ac.exec is not None else "http"
    dangerous = ac.dangerous if ac.dangerous is not None else d.dangerous
    confirm = ac.confirm or d.confirm
    if dangerous and confirm == "none":
        confirm = "yes"  # a dangerous action always asks: one key must never fire it
    base: dict[str, Any] = dict(
        kind=kind,
        key=ac.key if ac.key is not None else d.key,
        confirm=confirm,
        dangerous=dangerous,
        timeout=float(ac.timeout),
        description=ac.description or "",
        **common,
    )
    exec_ = list(ac.exec or [])
    headers = dict(ac.http.headers) if ac.http else {}
    base["secret_argv"] = frozenset(i for i, a in enumerate(exec_) if isinstance(a, Secret))
    base["secret_keys"] = frozenset(
        k for k, v in [*ac.env.items(), *headers.items()] if isinstance(v, Secret)
    )
    shown_argv = tuple(MASK if isinstance(a, Secret) else a for a in exec_)
    shown_headers = {k: MASK if isinstance(v, Secret) else v for k, v in headers.items()}
    try:
        templates = [t for t in [*exec_, *ac.env.values()] if isinstance(t, str)]
        if ac.http is not None:
            templates += [ac.http.url, *json_strings(ac.http.json)]
            templates += [v for v in headers.values() if isinstance(v, str)]
        used = sorted({n for t in templates for n in placeholders(t)})
    except ValueError as exc:
        return ResolvedAction(
            argv=shown_argv,
            url=ac.http.url if ac.http else None,
            method=ac.http.method if ac.http else None,
            config_error=str(exc),
            **base,
        )
    try:
        if ac.exec is not None:
            argv = tuple(render(a, values, svc_name) for a in ac.exec)
            env = {k: render(v, values, svc_name) for k, v in ac.env.items()}
            return ResolvedAction(
                argv=argv, env=env, values={n: str(values[n]) for n in used}, **base
            )
        assert ac.http is not None
        return ResolvedAction(
            method=ac.http.method,
            url=render(ac.http.url, values, svc_name),
            headers={k: render(v, values, svc_name) for k, v in headers.items()},
            json=render_json(ac.http.json, values, svc_name),
            env={k: render(v, values, svc_name) for k, v in ac.env.items()},
            values={n: str(values[n]) for n in used},
            **base,
        )
    except Refused as exc:
        return ResolvedAction(
            argv=shown_argv,
            url=ac.http.url if ac.http else None,
            method=ac.http.method if ac.http else None,
            headers=shown_headers,
            refusal=str(exc),
            **base,
        )


def is_read_only(cfg: Config, svc: ServiceConfig) -> tuple[bool, str | None]:
    if cfg.read_only:
        return True, "read-only mode"
    if svc.read_only:
        return True, f"{svc.name} is read-only in the config"
    return False, None


def bindable_actions(
    cfg: Config,
    service: ServiceConfig | str,
    labels: Mapping[str, str] | None = None,
    *,
    baseline_version: str | None = None,
    revision: str | None = None,
    user: str | None = None,
    reserved: Mapping[str, str] | None = None,
) -> list[tuple[ResolvedAction, bool, str | None]]:
    """Every action of `service` with whether its key may be bound, and why not.

    Disabled: dangerous actions in read-only mode (global or per service), broken templates,
    and a key already taken by the dashboard (`reserved`: key -> what it does) or by an
    earlier action. Refusals from unsafe values are not disabled here: pressing the key
    shows and audits the refusal.
    """
    svc = find_service(cfg, service)
    ro, ro_reason = is_read_only(cfg, svc)
    taken: dict[str, str] = dict(reserved or {})
    out: list[tuple[ResolvedAction, bool, str | None]] = []
    for name in action_configs(cfg, svc):
        a = resolve_action(
            cfg,
            svc,
            name,
            labels,
            baseline_version=baseline_version,
            revision=revision,
            user=user,
        )
        reason: str | None = None
        if a.dangerous and ro:
            reason = f"{ro_reason}: {a.title} is dangerous"
        elif a.config_error:
            reason = f"config: {a.config_error}"
        elif a.key is not None and a.key in taken:
            reason = f"key {a.key!r} is already bound to {taken[a.key]}"
        if reason is None and a.key is not None:
            taken[a.key] = a.title
        out.append((a, reason is None, reason))
    return out


def configured_keys(cfg: Config) -> list[tuple[str, str]]:
    """Every (action name, key) some service may bind, configured or discovered: the
    dashboard declares one binding for each, and the selected service decides what it runs."""
    out: list[tuple[str, str]] = []
    for svc in [*cfg.services, ServiceConfig(name="discovered")]:
        for name, ac in action_configs(cfg, svc).items():
            default = DEFAULTS.get(name, CUSTOM_DEFAULTS).key
            key = ac.key if ac is not None and ac.key is not None else default
            if key and (name, key) not in out:
                out.append((name, key))
    return out
