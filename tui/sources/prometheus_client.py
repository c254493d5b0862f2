"""The Prometheus HTTP API client and what its answers become: `QueryResult` (series of
(t, v)), `Point` (one stored observation), `one_series` (a single-series answer as {t: v}).

Every fault (unreachable, timeout, HTTP errors, non-JSON, wrong shape, `status: error`) is one
`PrometheusError` with a one-line `detail` for the status bar and the source `state`, never a
traceback: the source backs off on it and recovers by itself.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from tui.config import PrometheusConfig
from tui.core.metrics.quantile import Bucket
from tui.errors import UserError


class PrometheusError(Exception):
    """A failed query, with a one-line `detail` for the status bar and the source `state`."""

    def __init__(self, detail: str, state: str = "down"):
        super().__init__(detail)
        self.detail = detail
        self.state = state


def _ssl_context(cfg: PrometheusConfig) -> ssl.SSLContext | bool:
    tls = cfg.tls
    if not cfg.url.startswith("https://"):
        return True
    try:
        ctx = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file:
            ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        files = ", ".join(f for f in (tls.ca_file, tls.cert_file, tls.key_file) if f)
        raise UserError(f"prometheus.tls: cannot load {files}: {what}") from None
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _parse_value(raw: Any) -> float:
    """A sample value: a string ("1.5", "NaN", "+Inf", "-Inf") per the API, or a number."""
    if isinstance(raw, bool):
        raise ValueError("boolean sample value")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        return float(raw)  # Python's float() reads NaN, +Inf, -Inf exactly as Prometheus writes
    raise ValueError(f"sample value {raw!r} is not a string")


@dataclass
class QueryResult:
    series: list[tuple[dict[str, str], list[tuple[float, float]]]]
    warnings: list[str] = field(default_factory=list)


class PrometheusClient:
    """Thin async client for /api/v1/query and /api/v1/query_range, with auth, TLS, timeouts.

    Queries are POSTed as a form so PromQL of any length fits. Every failure is raised as
    PrometheusError with a status-bar line; nothing else escapes.
    """

    def __init__(self, cfg: PrometheusConfig):
        self.cfg = cfg
        self.base = cfg.url.rstrip("/")
        headers = dict(cfg.headers)
        auth: httpx.Auth | None = None
        if cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        if cfg.basic_auth is not None:
            auth = httpx.BasicAuth(cfg.basic_auth.username, cfg.basic_auth.password.reveal())
        # A certificate that cannot be loaded is reported by every query (status bar, snapshot
        # error) rather than raised here, so the dashboard still opens and says why.
        self.setup_error: str | None = None
        try:
            verify = _ssl_context(cfg)
        except UserError as exc:
            self.setup_error, verify = str(exc), True
        self._kwargs: dict[str, Any] = {
            "headers": headers,
            "auth": auth,
            "timeout": httpx.Timeout(float(cfg.timeout)),
            "verify": verify,
            "follow_redirects": True,
        }
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(**self._kwargs)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def query(self, promql: str, t: float) -> QueryResult:
        return await self._post("/api/v1/query", {"query": promql, "time": _fmt_time(t)})

    async def query_range(self, promql: str, start: float, end: float, step: float) -> QueryResult:
        form = {
            "query": promql,
            "start": _fmt_time(start),
            "end": _fmt_time(end),
            "step": f"{step:g}",
        }
        return await self._post("/api/v1/query_range", form)

    async def query_exemplars(self, promql: str, start: float, end: float) -> Any:
        """`/api/v1/query_exemplars`: the answer's `data` as sent (a list of series)."""
        form = {"query": promql, "start": _fmt_time(start), "end": _fmt_time(end)}
        data, _ = await self._answer("/api/v1/query_exemplars", form)
        return data

    async def _post(self, path: str, form: dict[str, str]) -> QueryResult:
        data, warnings = await self._answer(path, form)
        try:
            return QueryResult(_parse_data(data), warnings)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PrometheusError(f"unexpected answer shape: {exc}", "error") from None

    async def _answer(self, path: str, form: dict[str, str]) -> tuple[Any, list[str]]:
        """POST `form` to `path`: the answer's data and warnings, or PrometheusError."""
        if self.setup_error:
            raise PrometheusError(self.setup_error, "error")
        try:
            resp = await self._http().post(self.base + path, data=form)
        except httpx.TimeoutException:
            raise PrometheusError(f"timeout after {float(self.cfg.timeout):g}s") from None
        except httpx.ConnectError as exc:
            text = str(exc) or type(exc).__name__
            if "SSL" in text or "CERTIFICATE" in text.upper():
                raise PrometheusError(f"TLS error: {text}", "error") from None
            raise PrometheusError(f"unreachable: {text}") from None
        except httpx.HTTPError as exc:
            text = str(exc) or type(exc).__name__
            if "SSL" in text:
                raise PrometheusError(f"TLS error: {text}", "error") from None
            raise PrometheusError(f"{type(exc).__name__}: {text}") from None
        except ssl.SSLError as exc:  # TLS 1.3 refusals can surface on the first read, unwrapped
            raise PrometheusError(f"TLS error: {exc}", "error") from None
        except OSError as exc:
            raise PrometheusError(f"connection error: {exc}") from None
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            snippet = resp.text[:60].replace("\n", " ") if resp.content else "empty body"
            if resp.status_code >= 400:
                raise PrometheusError(f"HTTP {resp.status_code}: {snippet}") from None
            raise PrometheusError(f"garbage answer (not JSON): {snippet!r}", "error") from None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise PrometheusError("unexpected answer: no status field", "error")
        if body["status"] == "error":
            kind = body.get("errorType", "error")
            msg = str(body.get("error", "")).replace("\n", " ")
            prefix = f"HTTP {resp.status_code}: " if resp.status_code >= 400 else ""
            state = "down" if resp.status_code >= 500 or kind == "unavailable" else "error"
            raise PrometheusError(f"{prefix}{kind}: {msg}", state)
        if resp.status_code >= 400:
            raise PrometheusError(f"HTTP {resp.status_code}")
        warnings = body.get("warnings") or []
        if "data" not in body:
            raise PrometheusError("unexpected answer shape: no data", "error")
        return body["data"], [str(w) for w in warnings] if isinstance(warnings, list) else []


def _fmt_time(t: float) -> str:
    return f"{t:.3f}"


def _parse_data(data: Any) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """matrix / vector / scalar -> [(labels, [(t, v), ...])], validating as it goes."""
    if not isinstance(data, dict):
        raise TypeError("data is not an object")
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return [({}, [(float(result[0]), _parse_value(result[1]))])]
    if kind not in ("matrix", "vector"):
        raise ValueError(f"resultType {kind!r}")
    if not isinstance(result, list):
        raise TypeError("result is not a list")
    out = []
    for item in result:
        labels = item["metric"]
        if not isinstance(labels, dict):
            raise TypeError("metric is not an object")
        raw = item["values"] if kind == "matrix" else [item["value"]]
        if not isinstance(raw, list):
            raise TypeError("values is not a list")
        points = []
        for pair in raw:
            if not isinstance(pair, list) or len(pair) != 2:
                raise TypeError("a sample is not [time, value]")
            points.append((float(pair[0]), _parse_value(pair[1])))
        out.append(({str(k): str(v) for k, v in labels.items()}, points))
    return out


@dataclass
class Point:
    service: str
    signal: str
    t: float
    value: float
    flags: int = 0
    observations: float | None = None  # requests in the rate window at t, when known
    bucket: Bucket | None = None  # (lower, upper] holding a p99, when known


def one_series(
    res: QueryResult, signal: str, service: str, warnings: list[str]
) -> dict[float, float]:
    """The answer's single series as {t: v}.

    The built-in expressions aggregate to one series; a user's PromQL might not. For qps the
    series are summed (per-instance rates add up); for anything else the first is kept and a
    warning says so, since ratios do not add.
    """
    series = sorted(res.series, key=lambda s: sorted(s[0].items()))
    if len(series) > 1 and signal != "qps":
        warnings.append(
            f"{service} {signal}: query returned {len(series)} series, "
            "showing the first; aggregate it to one"
        )
        series = series[:1]
    out: dict[float, float] = {}
    for _, pts in series:
        for t, v in pts:
            out[t] = out[t] + v if t in out else v
    return out
