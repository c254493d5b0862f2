"""YAML -> typed, validated config: the schema, and where a config comes from.

The schema is the dataclasses below; tui/config_yaml.py reads a YAML file into them by their
type hints, so every error names the file, the line and the dotted key, an unknown key gets
the closest valid one as a suggestion, and all of a file's mistakes are reported at once.
Durations (`5s`, `15m`, `1h30m`, `250ms`) and sizes (`64MiB`, `1kb`) parse into seconds and
bytes (tui/config_values.py). Secrets are never literal: `{env: NAME}` or `{file: PATH}`, and
they print as `***`.

Where it lives: `Config`, the metric sources (Prometheus, OTLP), services and the detector
here; the sections of what warroom does (actions, profiles, baseline, audit, Alertmanager) in
config_operations.py, re-exported here; shared value checks in config_checks.py; the reader
in config_yaml.py, durations, sizes and secrets in config_values.py, key bindings in
config_keys.py.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from tui.config_checks import known_themes, trace_url_problem, url_problems
from tui.config_keys import check_keys
from tui.config_operations import ActionConfig as ActionConfig
from tui.config_operations import AlertmanagerConfig as AlertmanagerConfig
from tui.config_operations import AuditConfig as AuditConfig
from tui.config_operations import BaselineConfig as BaselineConfig
from tui.config_operations import HttpAction as HttpAction
from tui.config_operations import ProfileEndpoint as ProfileEndpoint
from tui.config_operations import ProfilesConfig as ProfilesConfig
from tui.config_values import Duration as Duration
from tui.config_values import Latency as Latency
from tui.config_values import Secret as Secret
from tui.config_values import Size as Size
from tui.config_values import format_duration as format_duration
from tui.config_values import parse_duration as parse_duration
from tui.config_values import parse_size as parse_size
from tui.config_yaml import ConfigError as ConfigError
from tui.config_yaml import ConfigErrors as ConfigErrors
from tui.config_yaml import compose, located, raise_errors, read_dataclass, refuse

DEFAULT_CONFIG_NAME = "warroom.yaml"


# --- schema ------------------------------------------------------------------------------


@dataclass
class TLSConfig:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False


@dataclass
class BasicAuth:
    username: str
    password: Secret


def version_query_problems(query: str | None, label: str) -> list[str]:
    """Why a `version_query` (PromQL whose `version_label` names the running version, with
    `{service}` standing for the service's name) or its label cannot be used."""
    out = []
    if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", label):
        out.append(f"version_label: {label!r} is not a Prometheus label name")
    if query is None:
        return out
    if not query.strip():
        return [*out, "version_query: empty (leave it out to use the *_build_info gauges)"]
    # `{word}` is no PromQL (a selector holds matchers), so it can only be a placeholder
    names = set(re.findall(r"\{(\w+)\}", query)) - {"service"}
    if names:
        out.append(f"version_query: unknown placeholder {{{sorted(names)[0]}}} (only {{service}})")
    problem = promql_shape_problem(query)
    if problem:
        out.append(f"version_query: {problem}")
    return out


def promql_shape_problem(query: str) -> str | None:
    """An unbalanced bracket or an unterminated string in PromQL (what is sure to be refused
    before a Prometheus sees it; the rest Prometheus itself says, at the first refresh)."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(query):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\" and quote != "`":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote, start = ch, i
        elif ch in "([{":
            stack.append((ch, i))
        elif ch in closing:
            if not stack or stack[-1][0] != closing[ch]:
                return f"unexpected {ch!r} at character {i + 1}"
            stack.pop()
    if quote is not None:
        return f"unterminated string starting at character {start + 1}"
    if stack:
        return f"unclosed {stack[-1][0]!r} at character {stack[-1][1] + 1}"
    return None


@dataclass
class PrometheusConfig:
    url: str
    bearer_token: Secret | None = None
    basic_auth: BasicAuth | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tls: TLSConfig = field(default_factory=TLSConfig)
    timeout: Duration = Duration(10)
    # Which version each service runs, when `*_build_info` does not say: PromQL whose
    # `version_label` names it, `{service}` standing for the service's name (a service's own
    # `prometheus.version_query` wins).
    version_query: str | None = None
    version_label: str = "version"

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = url_problems(self.url)
        if self.bearer_token is not None and self.basic_auth is not None:
            out.append("basic_auth: set bearer_token or basic_auth, not both")
        return out + version_query_problems(self.version_query, self.version_label)


@dataclass
class OTLPConfig:
    http: str = "127.0.0.1:4318"  # empty string disables the receiver
    grpc: str = "127.0.0.1:4317"
    bearer_token: Secret | None = None
    max_body: Size = Size(16 * 1024 * 1024)  # body as sent (compressed): beyond it, 413
    max_inflated: Size | None = None  # body once gzip/deflate is undone; None: max_body
    queue_size: int = 1024  # export requests waiting to be stored; beyond it: 429 / UNAVAILABLE

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        for name in ("http", "grpc"):
            addr = getattr(self, name)
            if addr and not re.match(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$", addr):
                out.append(f"{name} must be HOST:PORT (or empty to disable), got {addr!r}")
            # 0 lets the OS pick a free port (tests; the receiver reports the bound port)
            elif addr and int(addr.rsplit(":", 1)[1]) > 65535:
                out.append(f"{name}: port must be 1-65535, got {addr!r}")
        return out


@dataclass
class SLOConfig:
    p99: Latency | None = None
    error_ratio: float | None = None


@dataclass
class ServicePrometheus:
    latency_histogram: str  # classic histogram name with an optional {label selector}
    qps: str | None = None  # PromQL
    error_ratio: str | None = None  # PromQL
    # Leave out /debug/ requests (pprof captures: warroom's own `profile?seconds=N` would be a
    # 10 s request in the P99) by the handler/route/path label, when the selector names none.
    exclude_debug: bool = True
    # The label naming the route (the route view, Enter); default: the first of route,
    # http_route, handler, path that the histogram has.
    route_label: str | None = None
    # PromQL whose `version_label` names the version the service runs, instead of its
    # processes' `*_build_info` gauges (releases, and the version a baseline is keyed by)
    version_query: str | None = None
    version_label: str = "version"

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        if not re.match(
            r"^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{.*\})?\s*$", self.latency_histogram, re.DOTALL
        ):
            return [
                f"latency_histogram: {self.latency_histogram!r} is not a histogram metric name "
                'with an optional {label selector}, e.g. http_request_duration_seconds{job="api"}'
            ]
        if self.route_label is not None and not re.match(
            r"^[a-zA-Z_][a-zA-Z0-9_]*$", self.route_label
        ):
            return [f"route_label: {self.route_label!r} is not a Prometheus label name"]
        return version_query_problems(self.version_query, self.version_label)


@dataclass
class ServiceOTLP:
    service_name: str | None = None  # defaults to the service's name
    latency_metric: str | None = None  # defaults to http.server.request.duration


@dataclass
class DetectorConfig:
    window: int = 30
    z: float = 3.5
    min_ratio: float = 1.2
    min_delta: Latency = Latency(0.005)
    noise_floor: float = 0.05
    min_observations: int = 50
    bell: bool = True

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        if self.window < 5:
            out.append("window must be at least 5 points")
        if self.z <= 0 or self.min_ratio < 1 or self.min_delta < 0 or self.noise_floor < 0:
            out.append("z must be > 0, min_ratio >= 1, min_delta and noise_floor >= 0")
        if self.min_observations < 0:
            out.append("min_observations cannot be negative")
        return out


@dataclass
class ServiceConfig:
    name: str
    prometheus: ServicePrometheus | None = None
    otlp: ServiceOTLP | None = None
    slo: SLOConfig = field(default_factory=SLOConfig)
    namespace: str | None = None
    version: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    actions: dict[str, ActionConfig] = field(default_factory=dict)
    read_only: bool | None = None
    detector: DetectorConfig | None = None

    def __post_init__(self) -> None:
        refuse(self._problems())
        if self.prometheus is None and self.otlp is None:
            self.otlp = ServiceOTLP()

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        return [] if self.name.strip() else ["name: must not be empty"]


@dataclass
class Config:
    prometheus: PrometheusConfig | None = None
    otlp: OTLPConfig = field(default_factory=OTLPConfig)
    rate_window: Duration = Duration(60)
    refresh: Duration = Duration(5)
    window: Duration = Duration(900)
    services: list[ServiceConfig] = field(default_factory=list)
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    actions: dict[str, ActionConfig] = field(default_factory=dict)  # defaults for all services
    audit: AuditConfig = field(default_factory=AuditConfig)
    alertmanager: AlertmanagerConfig | None = None
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    read_only: bool = False
    theme: str = "warroom"
    # sparkline scale: robust (clipped at 1.5x the 90th percentile, clipped cells topped with ↑),
    # linear (0 to the max), log (three decades below the max)
    spark_scale: Literal["robust", "linear", "log"] = "robust"
    max_series: int = 2000
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys (tui/config_keys.py)
    # the tracing UI's page of one trace, e.g. https://tempo.example/trace/{trace_id}: shown
    # beside exemplars' trace ids (route view, Service tab); fields {trace_id} {span_id} {service}
    trace_url: str | None = None
    source: str | None = field(default=None, metadata={"internal": True})  # file it came from

    def __post_init__(self) -> None:
        refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        for name in ("refresh", "rate_window", "window"):
            if getattr(self, name) <= 0:
                out.append(f"{name}: must be positive")
        if self.max_series < 1:
            out.append(f"max_series: must be at least 1, got {self.max_series}")
        if isinstance(self.trace_url, str):
            problem = trace_url_problem(self.trace_url)
            if problem:
                out.append(f"trace_url: {problem}")
        if 0 < self.rate_window < self.refresh and not failed & {"refresh", "rate_window"}:
            out.append(
                f"rate_window: must be at least one refresh long ({format_duration(self.refresh)})"
            )
        # a service whose name was itself wrong (already reported) is left out of both checks
        names = [s.name for s in self.services if isinstance(s.name, str)]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            out.append(f"services: duplicate service name(s): {', '.join(sorted(dup))}")
        # With no services configured they are discovered (OTLP, PROMETHEUS_URL): any name goes;
        # with one name unreadable, an endpoint may well be meant for it.
        complete = len(names) == len(self.services)
        for i, ep in enumerate(self.profiles.endpoints):
            if names and complete and isinstance(ep.service, str) and ep.service not in names:
                close = difflib.get_close_matches(ep.service, names, 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                out.append(
                    f"profiles.endpoints[{i}].service: {ep.service!r} is not a configured "
                    f"service ({', '.join(names)}){hint}"
                )
        return out

    def service(self, name: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.name == name), None)


def parse_config(text: str, file: str = "<config>") -> Config:
    """Parse and validate config text; raise ConfigError naming file, line and key of every
    mistake (ConfigErrors when there are several)."""
    root = compose(text, file)
    errors: list[ConfigError] = []
    cfg = Config() if root is None else read_dataclass(root, Config, file, errors)
    cfg.source = file
    themes = known_themes()
    # checked here, not in Config: the UI and tests build Configs directly too
    if isinstance(root, yaml.MappingNode) and cfg.theme not in themes:
        tnode = next(k for k, _ in root.value if str(k.value) == "theme")
        close = difflib.get_close_matches(cfg.theme, themes, 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        errors.append(
            located(
                file,
                tnode,
                "theme",
                f"unknown theme {cfg.theme!r}{hint} (available: {', '.join(themes)})",
            )
        )
    if root is not None:
        errors += check_keys(root, file)
    raise_errors(file, errors)
    return cfg


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load `path`, else ./warroom.yaml when present, else the built-in defaults.

    With no file at all, PROMETHEUS_URL (when set) becomes the Prometheus source.
    """
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = DEFAULT_CONFIG_NAME
    if path is None:
        cfg = Config()
        url = os.environ.get("PROMETHEUS_URL")
        if url:
            try:
                cfg.prometheus = PrometheusConfig(url=url)
            except ValueError as exc:
                raise ConfigError(f"PROMETHEUS_URL: {exc}") from None
        return cfg
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, str(p))
