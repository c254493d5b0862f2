"""YAML -> typed, validated config.

The schema is the dataclasses below; `load_config` walks the YAML node tree against their type
hints, so every error names the file, the line and the dotted key, and an unknown key gets the
closest valid one as a suggestion. Durations (`5s`, `15m`, `1h30m`, `250ms`) and sizes (`64MiB`,
`1kb`) parse into seconds and bytes. Secrets are never literal: `{env: NAME}` or `{file: PATH}`,
and they print as `***`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from tui.errors import UserError

DEFAULT_CONFIG_NAME = "warroom.yaml"


class ConfigError(UserError):
    """A config mistake, located: `FILE:LINE: key.path: message`."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line  # 1-based line in the file; 0 when it has none (sorting)
        self.problems = [message]


class ConfigErrors(ConfigError):
    """Every mistake of one file, in file order, like a compiler: one line each, then
    `N errors in FILE`. The CLI prints a UserError as `warroom: MESSAGE`, so every line after the
    first carries that prefix here and each line reads like the one-error case."""

    def __init__(self, file: str, errors: list[ConfigError]):
        problems = [p for e in errors for p in e.problems]
        UserError.__init__(
            self, "\nwarroom: ".join([*problems, f"{len(problems)} errors in {file}"])
        )
        self.line = errors[0].line
        self.problems = problems


class _Invalid(ValueError):
    """Every problem a schema class found in its own values, each `key.path: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _refuse(problems: list[str]) -> None:
    if problems:
        raise _Invalid(problems)


# --- value types -------------------------------------------------------------------------

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h|d|w)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


class Duration(float):
    """Seconds, written in config as `5s`, `15m`, `1h30m`, `250ms` or a plain number."""


class Size(int):
    """Bytes, written in config as `64MiB`, `1kb`, `512KiB` or a plain number."""


def parse_duration(text: str | float | int) -> Duration:
    """Parse `1h30m`-style durations (Prometheus syntax) into seconds; raise ValueError."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return Duration(text)
    s = str(text).strip()
    if not s:
        raise ValueError("empty duration")
    try:
        value = float(s)
    except ValueError:
        pos, total = 0, 0.0
        for m in _DURATION_RE.finditer(s):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(f"{s!r} is not a duration (examples: 5s, 15m, 1h30m, 250ms)") from None
        return Duration(total)
    if value < 0:
        raise ValueError("a duration cannot be negative")
    return Duration(value)


def _with_unit(value: object, raw: str) -> str:
    """A config duration must say its unit: `slo: {p99: 300}` meant 300 ms and was read as
    five minutes. Zero needs none."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number:
        try:
            float(raw)
            number = True
        except ValueError:
            pass
    if number and float(raw) != 0:
        raise ValueError(f"{raw} has no unit: write {raw}s, {raw}ms or {raw}m")
    return raw


def parse_size(text: str | int) -> Size:
    """Parse `64MiB`, `1kb`, `10MB` or a byte count into bytes; raise ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("a size cannot be negative")
        return Size(text)
    s = str(text).strip()
    m = _SIZE_RE.fullmatch(s)
    if not m:
        raise ValueError(f"{s!r} is not a size (examples: 64MiB, 512KiB, 1MB, 4096)")
    unit = m.group(2).lower()
    binary = "i" in unit
    prefix = unit[:1] if unit[:1] in "kmgt" else ""
    mult = (1024 ** "_kmgt".index(prefix)) if (binary and prefix) else _SIZE_UNITS[prefix]
    return Size(int(float(m.group(1)) * mult))


def format_duration(seconds: float) -> str:
    """The inverse of parse_duration for display: 90 -> '1m30s', 0.25 -> '250ms'."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts, rest = [], round(seconds)
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


class Secret:
    """A credential read from an environment variable or a file; never printed."""

    def __init__(self, value: str, origin: str):
        self._value = value
        self.origin = origin  # e.g. "env PROM_TOKEN" or "file /run/secrets/token"

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.origin}, ***)"

    __str__ = __repr__


def _http_url_problem(url: str) -> str | None:
    """Why `url` cannot be an http(s) base URL, or None: a scheme and a host are required."""
    from urllib.parse import urlsplit

    if not re.match(r"^https?://", url):
        return f"must start with http:// or https://, got {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return f"has a bad port (1-65535), got {url!r}"
    if not parts.hostname:
        return f"has no host, got {url!r}"
    return None


# Known names for baseline.min_effect keys. Signals are matched exactly by the regression
# check (tui/core/metrics/store.py SIGNALS); bench units are whatever `go test -bench` prints,
# custom units from b.ReportMetric included, so any UNIT/UNIT key is a unit. These mirror
# tui/core (config must not import numpy-heavy modules); tests/unit/test_config.py checks that.
MIN_EFFECT_SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")
MIN_EFFECT_UNITS = ("ns/op", "sec/op", "B/op", "allocs/op", "MB/s", "B/s")

# Built-in theme names (themes/*.yaml; tui/ui/theme.py THEME_ORDER). config.py must not
# import textual, so the loader compares against these plus any theme file found on disk.
THEME_NAMES = ("warroom", "bastion", "wall", "paper")


def known_themes() -> list[str]:
    """Built-in theme names, then any other theme file beside the package (same search as
    tui/ui/theme.py themes_dir)."""
    here = Path(__file__).resolve()
    names = list(THEME_NAMES)
    for d in (here.parents[1] / "themes", here.parent / "_themes"):
        if d.is_dir():
            names += sorted(p.stem for p in d.glob("*.yaml") if p.stem not in names)
            break
    return names


def _min_effect_key_problem(key: str) -> str | None:
    """Why `key` cannot be a baseline.min_effect key (it would silently never apply), or None."""
    if key in MIN_EFFECT_SIGNALS or key in MIN_EFFECT_UNITS:
        return None
    known = [*MIN_EFFECT_SIGNALS, *MIN_EFFECT_UNITS]
    if "/" in key and key.count("/") == 1 and all(key.split("/")):
        same_case = [u for u in MIN_EFFECT_UNITS if u.lower() == key.lower()]
        if same_case:  # units are case-sensitive: b/op never matches B/op
            return f"unknown unit; did you mean {same_case[0]!r}?"
        return None  # a custom bench unit (b.ReportMetric), e.g. items/op or req/s
    close = difflib.get_close_matches(key, known, 1, 0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown signal or unit{hint} (signals: {', '.join(MIN_EFFECT_SIGNALS)}; "
        "bench units look like ns/op, B/op, allocs/op, MB/s)"
    )


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


@dataclass
class PrometheusConfig:
    url: str
    bearer_token: Secret | None = None
    basic_auth: BasicAuth | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tls: TLSConfig = field(default_factory=TLSConfig)
    timeout: Duration = Duration(10)

    def __post_init__(self) -> None:
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        problem = _http_url_problem(self.url)
        if problem:
            out.append(f"url: {problem}")
        if self.bearer_token is not None and self.basic_auth is not None:
            out.append("basic_auth: set bearer_token or basic_auth, not both")
        return out


@dataclass
class OTLPConfig:
    http: str = "127.0.0.1:4318"  # empty string disables the receiver
    grpc: str = "127.0.0.1:4317"
    bearer_token: Secret | None = None
    max_body: Size = Size(16 * 1024 * 1024)  # body as sent (compressed): beyond it, 413
    max_inflated: Size | None = None  # body once gzip/deflate is undone; None: max_body
    queue_size: int = 1024  # export requests waiting to be stored; beyond it: 429 / UNAVAILABLE

    def __post_init__(self) -> None:
        _refuse(self._problems())

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
    p99: Duration | None = None
    error_ratio: float | None = None


@dataclass
class ServicePrometheus:
    latency_histogram: str  # classic histogram name with an optional {label selector}
    qps: str | None = None  # PromQL
    error_ratio: str | None = None  # PromQL
    # Leave out /debug/ requests (pprof captures: warroom's own `profile?seconds=N` would be a
    # 10 s request in the P99) by the handler/route/path label, when the selector names none.
    exclude_debug: bool = True

    def __post_init__(self) -> None:
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        if not re.match(
            r"^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{.*\})?\s*$", self.latency_histogram, re.DOTALL
        ):
            return [
                f"latency_histogram: {self.latency_histogram!r} is not a histogram metric name "
                'with an optional {label selector}, e.g. http_request_duration_seconds{job="api"}'
            ]
        return []


@dataclass
class ServiceOTLP:
    service_name: str | None = None  # defaults to the service's name
    latency_metric: str | None = None  # defaults to http.server.request.duration


@dataclass
class DetectorConfig:
    window: int = 30
    z: float = 3.5
    min_ratio: float = 1.2
    min_delta: Duration = Duration(0.005)
    noise_floor: float = 0.05
    min_observations: int = 50
    bell: bool = True

    def __post_init__(self) -> None:
        _refuse(self._problems())

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
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        if failed & {"exec", "http"}:
            return []  # given, but wrong: that error is reported already
        if (self.exec is None) == (self.http is None):
            return ["an action needs exactly one of 'exec' (an argv list) or 'http'"]
        if self.exec is not None and not self.exec:
            return ["exec must be a non-empty argv list"]
        return []


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
        _refuse(self._problems())
        if self.prometheus is None and self.otlp is None:
            self.otlp = ServiceOTLP()

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        return [] if self.name.strip() else ["name: must not be empty"]


@dataclass
class ProfileEndpoint:
    service: str
    url: str  # base URL of the Go server, e.g. http://127.0.0.1:6060
    # cpu is the word of files, toasts and `check`; profile is Go's endpoint name; both mean it
    kinds: list[Literal["cpu", "profile", "heap", "allocs", "block", "mutex", "goroutine"]] = field(
        default_factory=lambda: ["profile", "heap"]
    )
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
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        return [f"keep: must be 0 (keep all) or more, got {self.keep}"] if self.keep < 0 else []


@dataclass
class BaselineConfig:
    dir: str = "~/.local/state/warroom/baselines"
    min_effect: dict[str, float] = field(default_factory=dict)  # per signal/unit overrides
    bench: str | None = None  # path of the latest `go test -bench` output to snapshot

    def __post_init__(self) -> None:
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        for key, value in self.min_effect.items():
            problem = _min_effect_key_problem(key)
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
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        problem = _http_url_problem(self.url)
        if problem:
            out.append(f"url {problem}")
        for f in self.filters:
            if not re.match(r'^\s*[A-Za-z_]\w*\s*(=~|!~|!=|=)\s*(".*"|[^"\s]\S*)\s*$', f):
                out.append(f'{f!r} is not a matcher (examples: severity="page", env!=dev)')
        return out


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
    source: str | None = field(default=None, metadata={"internal": True})  # file it came from

    def __post_init__(self) -> None:
        _refuse(self._problems())

    def _problems(self, failed: frozenset[str] = frozenset()) -> list[str]:
        out = []
        for name in ("refresh", "rate_window", "window"):
            if getattr(self, name) <= 0:
                out.append(f"{name}: must be positive")
        if self.max_series < 1:
            out.append(f"max_series: must be at least 1, got {self.max_series}")
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


# --- loader ------------------------------------------------------------------------------


class _Loc:
    """Where a value is (file, node, dotted key) and the list every error of the file goes to.

    A bad value is reported and the walk goes on, so one run names every mistake: a scalar that
    cannot be read raises ConfigError to its mapping or list, which records it; a list or
    mapping with a bad item raises _Reported (already recorded) the same way."""

    def __init__(
        self,
        file: str,
        node: yaml.Node | None,
        path: str,
        errors: list[ConfigError] | None = None,
    ):
        self.file, self.node, self.path = file, node, path
        self.errors: list[ConfigError] = [] if errors is None else errors

    def at(self, node: yaml.Node | None, path: str) -> _Loc:
        return _Loc(self.file, node, path, self.errors)

    def error(self, message: str, node: yaml.Node | None = None) -> ConfigError:
        n = node or self.node
        line = f":{n.start_mark.line + 1}" if n is not None else ""
        where = f" {self.path}:" if self.path else ""
        return ConfigError(
            f"{self.file}{line}:{where} {message}", n.start_mark.line + 1 if n is not None else 0
        )


class _Reported(Exception):
    """A value that cannot be used; its errors are in the file's list already."""


def _describe(tp: Any) -> str:
    if tp is Duration:
        return "a duration like 5s or 15m"
    if tp is Size:
        return "a size like 64MiB"
    if tp is Secret:
        return "a secret as {env: NAME} or {file: PATH}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    origin = get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )


def _fits_shape(node: yaml.Node, tp: Any) -> bool:
    """Whether `node` is the kind of YAML node (mapping, list, scalar) that `tp` reads."""
    if tp is Secret or dataclasses.is_dataclass(tp) or get_origin(tp) is dict:
        return isinstance(node, yaml.MappingNode)
    if get_origin(tp) is list:
        return isinstance(node, yaml.SequenceNode)
    return isinstance(node, yaml.ScalarNode)


_NULL_TAG = "tag:yaml.org,2002:null"


def _plain(node: yaml.Node) -> Any:
    """The Python value of a node, built directly (serialize + load fails on an empty scalar)."""
    return yaml.constructor.SafeConstructor().construct_document(node)


def _convert(node: yaml.Node, tp: Any, loc: _Loc) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        is_null = isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG
        if is_null and type(None) in get_args(tp):
            return None
        if len(options) == 1:
            return _convert(node, options[0], loc)
        shaped: list[list[ConfigError]] = []  # errors from options the node's shape fits
        for opt in options:
            trial = _Loc(loc.file, loc.node, loc.path)  # its own list: a failed try is no error
            try:
                value = _convert(node, opt, trial)
            except (ConfigError, _Reported) as exc:
                if _fits_shape(node, opt):
                    shaped.append(trial.errors + ([exc] if isinstance(exc, ConfigError) else []))
                continue
            loc.errors.extend(trial.errors)
            return value
        if len(shaped) == 1:  # e.g. "{env: TOKEN}: environment variable TOKEN is not set"
            loc.errors.extend(shaped[0])
            raise _Reported
        raise loc.error("expected " + " or ".join(_describe(o) for o in options))
    if tp is Any:
        return _plain(node)
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _NULL_TAG
        and not (
            dataclasses.is_dataclass(tp)  # `tls:` alone is an empty mapping: all defaults
        )
    ):
        got = "nothing" if node.value in ("", "~") else repr(node.value)
        raise loc.error(f"expected {_describe(tp)}, got {got}")
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(node, tp, loc)
    if tp is Secret:
        return _convert_secret(node, loc)
    if origin is list:
        if not isinstance(node, yaml.SequenceNode):
            raise loc.error(f"expected {_describe(tp)}")
        (item_tp,) = get_args(tp)
        items = [(item, loc.at(item, f"{loc.path}[{i}]")) for i, item in enumerate(node.value)]
        return _convert_all(items, item_tp, loc)
    if origin is dict:
        if not isinstance(node, yaml.MappingNode):
            raise loc.error(f"expected {_describe(tp)}")
        _, val_tp = get_args(tp)
        keys = [str(k.value) for k, _ in node.value]
        entries = [
            (v, loc.at(v, f"{loc.path}.{k}")) for k, (_, v) in zip(keys, node.value, strict=True)
        ]
        return dict(zip(keys, _convert_all(entries, val_tp, loc), strict=True))
    if not isinstance(node, yaml.ScalarNode):
        raise loc.error(f"expected {_describe(tp)}")
    raw = node.value
    value = _plain(node)
    try:
        if origin is Literal:
            if raw not in get_args(tp):
                close = difflib.get_close_matches(raw, [str(a) for a in get_args(tp)], 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{raw!r} is not {_describe(tp)}{hint}")
            return raw
        if tp is Duration:
            return parse_duration(_with_unit(value, raw))
        if tp is Size:
            return parse_size(value if isinstance(value, int) else raw)
        if tp is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {raw!r}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected an integer, got {raw!r}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number, got {raw!r}")
            return float(value)
        if tp is str:
            if value is None:
                raise ValueError("expected a string, got nothing")
            return raw  # the text as written: `version: 1.10` stays "1.10"
    except ValueError as exc:
        raise loc.error(str(exc)) from None
    raise loc.error(f"unsupported type {tp!r}")


def _convert_all(items: list[tuple[yaml.Node, _Loc]], tp: Any, loc: _Loc) -> list[Any]:
    """Every item of a list or mapping read as `tp`, each bad one reported; _Reported if any."""
    out, bad = [], False
    for node, at in items:
        try:
            out.append(_convert(node, tp, at))
        except ConfigError as exc:
            loc.errors.append(exc)
            bad = True
        except _Reported:
            bad = True
    if bad:
        raise _Reported
    return out


def _convert_secret(node: yaml.Node, loc: _Loc) -> Secret:
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        raise loc.error(
            "secrets are not written in the config: use {env: VARIABLE} or {file: PATH}"
        )
    knode, vnode = node.value[0]
    kind, ref = str(knode.value), str(vnode.value)
    if kind in ("env", "file") and (not isinstance(vnode, yaml.ScalarNode) or not ref.strip()):
        what = "an environment variable name" if kind == "env" else "a file path"
        raise loc.error(f"{{{kind}: ...}} needs {what}, got nothing")
    if kind == "env":
        if ref not in os.environ:
            raise loc.error(f"environment variable {ref} is not set")
        return Secret(os.environ[ref], f"env {ref}")
    if kind == "file":
        path = Path(ref).expanduser()
        if not path.is_absolute():
            path = Path(loc.file).parent / path
        try:
            return Secret(path.read_text().strip(), f"file {path}")
        except OSError as exc:
            raise loc.error(f"cannot read secret file {path}: {exc.strerror}") from None
    raise loc.error(f"unknown secret source {kind!r}: use env or file")


def _convert_dataclass(node: yaml.Node, cls: Any, loc: _Loc) -> Any:
    """The dataclass `cls` read from a mapping. A key that cannot be read is reported and left
    at its default, so the class's own checks still look at the others; the object is then
    incomplete, but the file's errors are raised before anyone can use it."""
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
    if not isinstance(node, yaml.MappingNode):
        raise loc.error("expected a mapping")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    failed: set[str] = set()
    suggested: set[str] = set()  # `latency_histgram` is not also a missing `latency_histogram`
    for knode, vnode in node.value:
        key = str(knode.value)
        sub = f"{loc.path}.{key}" if loc.path else key
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), 1, 0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = "" if close else f" (valid keys: {', '.join(fields)})"
            suggested.update(close)
            loc.errors.append(loc.at(knode, sub).error(f"unknown key{hint}{valid}"))
            continue
        if key in kwargs or key in failed:
            loc.errors.append(loc.at(knode, sub).error("key given twice"))
            continue
        try:
            kwargs[key] = _convert(vnode, hints[key], loc.at(vnode, sub))
        except ConfigError as exc:
            loc.errors.append(exc)
            failed.add(key)
        except _Reported:
            failed.add(key)
    required = {
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    for name in sorted(required - kwargs.keys() - failed - suggested, key=list(fields).index):
        loc.errors.append(loc.error(f"missing required key {name!r}"))
    if failed or required - kwargs.keys():
        return _incomplete(cls, kwargs, failed, required, node, loc)
    try:
        return cls(**kwargs)
    except _Invalid as exc:
        problems = exc.problems
    except ValueError as exc:
        problems = [str(exc)]
    for problem in problems:
        loc.errors.append(_locate(problem, node, loc))
    return _incomplete(cls, kwargs, set(), required, node, loc, check=False)


def _incomplete(
    cls: Any,
    kwargs: dict[str, Any],
    failed: set[str],
    required: set[str],
    node: yaml.MappingNode,
    loc: _Loc,
    check: bool = True,
) -> Any:
    """`cls` with the values that were read and defaults for the rest, built without its
    __post_init__; its own checks run on what was read (with a required key missing, none:
    they would look at a None). A key that failed is left out of the checks' findings."""
    obj = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in kwargs:
            value = kwargs[f.name]
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = None if f.default is dataclasses.MISSING else f.default
        setattr(obj, f.name, value)
    if check and not required - kwargs.keys() and hasattr(obj, "_problems"):
        for problem in obj._problems(frozenset(failed)):
            if problem.partition(": ")[0].split(".")[0].split("[")[0] not in failed:
                loc.errors.append(_locate(problem, node, loc))
    return obj


def _locate(problem: str, node: yaml.MappingNode, loc: _Loc) -> ConfigError:
    """A schema check's "key: message" at that key's own line when it was given;
    "key.sub: message" at the line of `sub` inside that key's mapping, and
    "key[2].sub: message" inside the third item of that key's list; else at the mapping."""
    dotted, sep, rest = problem.partition(": ")
    at: yaml.Node | None = None
    sub: str = loc.path
    here: yaml.Node = node
    for part in dotted.split(".") if sep else []:
        name, _, index = part.partition("[")
        if not isinstance(here, yaml.MappingNode):
            break
        pair = next(((k, v) for k, v in here.value if str(k.value) == name), None)
        if pair is None:
            break
        at, here = pair
        sub = f"{sub}.{name}" if sub else name
        if index:
            i = int(index.rstrip("]"))
            if not isinstance(here, yaml.SequenceNode) or i >= len(here.value):
                break
            at = here = here.value[i]
            sub = f"{sub}[{i}]"
    if at is not None:
        return loc.at(at, sub).error(rest)
    return loc.error(problem)


def parse_config(text: str, file: str = "<config>") -> Config:
    """Parse and validate config text; raise ConfigError naming file, line and key of every
    mistake (ConfigErrors when there are several)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}{line}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    loc = _Loc(file, root, "")
    cfg = Config() if root is None else _convert_dataclass(root, Config, loc)
    cfg.source = file
    themes = known_themes()
    # checked here, not in Config: the UI and tests build Configs directly too
    if isinstance(root, yaml.MappingNode) and cfg.theme not in themes:
        tnode = next(k for k, _ in root.value if str(k.value) == "theme")
        close = difflib.get_close_matches(cfg.theme, themes, 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        loc.errors.append(
            loc.at(tnode, "theme").error(
                f"unknown theme {cfg.theme!r}{hint} (available: {', '.join(themes)})"
            )
        )
    if len(loc.errors) == 1:
        raise loc.errors[0]
    if loc.errors:
        raise ConfigErrors(file, sorted(loc.errors, key=lambda e: e.line))
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
