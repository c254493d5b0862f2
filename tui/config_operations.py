"""The config sections of what warroom does in an incident: actions, profiles, baselines, the
audit log and Alertmanager.

Part of the schema of tui/config.py (which names every section and re-exports these); the
sources it watches (Prometheus, OTLP) and the services stay there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.config_checks import min_effect_key_problem, url_problems
from tui.config_values import Duration, Secret
from tui.config_yaml import refuse


@dataclass
class HttpAction:
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str | Secret] = field(default_factory=dict)  # Secret: {env: NAME}
    json: Any = None


@dataclass
class ActionConfig:
    exec: list[str | Secret] | None = None
    http: HttpAction | None = None
    timeout: Duration = Duration(120)
    confirm: Literal["none", "yes", "type"] | None = None  # None: per-action default
    dangerous: bool | None = None  # None: per-action default (rollback is dangerous)
    key: str | None = None
    env: dict[str, str | Secret] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        if failed & {"exec", "http"}:
            return []  # given, but wrong: that error is reported already
        if (self.exec is None) == (self.http is None):
            return ["an action needs exactly one of 'exec' (an argv list) or 'http'"]
        if self.exec is not None and not self.exec:
            return ["exec must be a non-empty argv list"]
        return []


# cpu is the word of files, toasts and `check`; profile is Go's endpoint name; both mean it
ProfileKind = Literal["cpu", "profile", "heap", "allocs", "block", "mutex", "goroutine"]


@dataclass
class ProfileEndpoint:
    service: str
    url: str  # base URL of the Go server, e.g. http://127.0.0.1:6060
    kinds: list[ProfileKind] = field(default_factory=lambda: ["profile", "heap"])
    seconds: Duration = Duration(10)
    every: Duration | None = None  # None: only on a key press

    def __post_init__(self) -> None:
        # stored as the endpoint's name: /debug/pprof/profile
        self.kinds = ["profile" if k == "cpu" else k for k in self.kinds]


@dataclass
class ProfilesConfig:
    dir: str | None = None
    pattern: str = "{service}-*.pb.gz"
    endpoints: list[ProfileEndpoint] = field(default_factory=list)
    keep: int = 100  # captures kept per service and kind (0: all); others' files are never touched

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        return [f"keep: must be 0 (keep all) or more, got {self.keep}"] if self.keep < 0 else []


@dataclass
class BaselineConfig:
    dir: str = "~/.local/state/warroom/baselines"
    min_effect: dict[str, float] = field(default_factory=dict)  # per signal/unit overrides
    bench: str | None = None  # path of the latest `go test -bench` output to snapshot

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        for key, value in self.min_effect.items():
            problem = min_effect_key_problem(key)
            if problem:
                out.append(f"min_effect.{key}: {problem}")
            elif not (0 <= value < float("inf")):
                out.append(f"min_effect.{key}: must be a non-negative number, got {value}")
        return out


@dataclass
class AuditConfig:
    path: str = "~/.local/state/warroom/audit.jsonl"


@dataclass
class AlertmanagerConfig:
    url: str
    filters: list[str] = field(default_factory=list)  # matchers, e.g. 'severity="page"'
    refresh: Duration = Duration(15)
    push_spikes: bool = False
    bearer_token: Secret | None = None
    timeout: Duration = Duration(10)

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = url_problems(self.url)
        for f in self.filters:
            if not re.match(r'^\s*[A-Za-z_]\w*\s*(=~|!~|!=|=)\s*(".*"|[^"\s]\S*)\s*$', f):
                out.append(f'{f!r} is not a matcher (examples: severity="page", env!=dev)')
        return out
