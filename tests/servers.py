"""Start real servers for tests: loopback ports and readiness waits."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs

import httpx


def free_port() -> int:
    """A loopback port nothing listens on now: for an endpoint that must be dead, or a server
    that only takes a port number (Prometheus, a deploy restarted on its address). Another
    process can take it before it is used: a server that can bind port 0 and report the port
    it got (LoopbackServer, the OTLP receivers' `bound_address`, the headless commands'
    "listening on" line read by tests.cli's `Listening`/`reported_port`, gosvc's -addr-file)
    does that."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    """Poll `url` until it answers 2xx, or raise with the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | str = "no attempt"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=1.0)
            if r.is_success:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


# --- Prometheus and the servers it talks to ------------------------------------------------

PROMETHEUS_BIN = "/usr/bin/prometheus"


@contextlib.contextmanager
def start_prometheus(
    tmp_path: Path,
    scrape_targets: Sequence[str] = (),
    scrape_interval: str = "1s",
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Run the real Prometheus on a free loopback port, scraping itself and `scrape_targets`.

    Yields its base URL. Storage lives in `tmp_path`; the process is killed on exit.
    `extra_args`, e.g. "--enable-feature=exemplar-storage", go on its command line.
    """
    if not os.access(PROMETHEUS_BIN, os.X_OK):
        raise RuntimeError(f"{PROMETHEUS_BIN} not installed (apt-get install prometheus)")
    port = free_port()
    targets = [f"127.0.0.1:{port}", *scrape_targets]
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        f"  scrape_interval: {scrape_interval}\n"
        f"  evaluation_interval: {scrape_interval}\n"
        "scrape_configs:\n"
        "  - job_name: warroom-test\n"
        "    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n"
    )
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            PROMETHEUS_BIN,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/-/ready", timeout=30)
        except TimeoutError:
            log.flush()
            raise RuntimeError(
                "prometheus did not start:\n" + (tmp_path / "prometheus.log").read_text()[-2000:]
            ) from None
        yield url
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """TERM, then KILL after 10 s: a test never leaves a server behind."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_scrape(
    url: str, promql: str, timeout: float = 20.0, predicate: Callable[[list[Any]], bool] = bool
) -> list[Any]:
    """Instant-query `promql` until `predicate(result)` holds; return the vector result."""
    deadline = time.monotonic() + timeout
    result: list[Any] = []
    while time.monotonic() < deadline:
        r = httpx.post(f"{url}/api/v1/query", data={"query": promql}, timeout=5)
        r.raise_for_status()
        result = r.json()["data"]["result"]
        if predicate(result):
            return result
        time.sleep(0.25)
    raise TimeoutError(f"{promql!r} did not become ready in {timeout}s: {result}")


class _Handler(BaseHTTPRequestHandler):
    """Dispatches to the owning server's `respond(handler)`; silent logs."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.owner.respond(self)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 in a thread; subclasses implement `respond`."""

    def __init__(self, port: int | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if port is None:
            # bound now, on a port the kernel picks: known before `start`, and no other test
            # can take it in between (as it could a port found free and bound later)
            self._httpd = self._bind(0)
            port = int(self._httpd.server_address[1])
        self.port = port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _bind(self, port: int) -> _Server:
        httpd = _Server(("127.0.0.1", port), _Handler)
        httpd.owner = self
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True)
        return httpd

    def start(self) -> None:
        if self._httpd is None:  # stopped, or given a port: bind it (again)
            self._httpd = self._bind(self.port)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, h: _Handler) -> None:
        raise NotImplementedError


class ExpositionServer(LoopbackServer):
    """Serves `/metrics` in the Prometheus text format.

    The test sets either fixed text or a function called once per scrape (so counters can
    move between scrapes exactly as the test decides).
    """

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self._lock = threading.Lock()
        self._text: str | Callable[[], str] = ""
        self.scrapes = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, text: str | Callable[[], str]) -> None:
        with self._lock:
            self._text = text

    def respond(self, h: _Handler) -> None:
        with self._lock:
            text = self._text() if callable(self._text) else self._text
            self.scrapes += 1
        h.send_body(200, text.encode(), "text/plain; version=0.0.4")


BAD_EXEMPLARS = json.dumps(
    {
        "status": "success",
        "data": [
            {
                "seriesLabels": {"__name__": "x_bucket", "route": "/pay", "le": "1"},
                "exemplars": [
                    {"labels": {"trace_id": "not-hex"}, "value": "0.9", "timestamp": 1.0},
                    {"labels": {"trace_id": "0" * 32}, "value": "0.8", "timestamp": 1.0},
                    {"labels": {"user": "alice"}, "value": "0.7", "timestamp": 1.0},
                ],
            }
        ],
    }
).encode()


GOOD_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def bad_exemplar_values() -> bytes:
    """Exemplars of /pay now: two good ones (0.9 s, 0.5 s) among a non-numeric value, a
    missing timestamp, a wrong-length trace id and a NaN value."""
    now = time.time()
    good = {"labels": {"trace_id": GOOD_TRACE}, "value": "0.9", "timestamp": now}
    exemplars = [
        good,
        {"labels": {"trace_id": "a" * 32}, "value": "fast", "timestamp": now},
        {"labels": {"trace_id": "b" * 32}, "value": "0.7"},
        {"labels": {"trace_id": "c" * 20}, "value": "0.8", "timestamp": now},
        {"labels": {"trace_id": "d" * 32}, "value": "NaN", "timestamp": now},
        {"labels": {"trace_id": "e" * 16}, "value": "0.5", "timestamp": now - 1},
    ]
    series = {"__name__": "x_bucket", "route": "/pay", "le": "1"}
    doc = {"status": "success", "data": [{"seriesLabels": series, "exemplars": exemplars}]}
    return json.dumps(doc).encode()


class FaultyPrometheus(LoopbackServer):
    """A Prometheus API endpoint that misbehaves on demand, then behaves again.

    `mode`: "ok" forwards the request to a real Prometheus (`upstream`), "500" answers a
    plain-text 500, "garbage" a 200 that is not JSON, "shape" JSON of the wrong shape,
    "error" a Prometheus-style `status: error` (HTTP 422), "slow" sleeps `delay` seconds then
    forwards, "warn" forwards and adds a `warnings` entry, "refuse-instant" refuses instant
    queries (/api/v1/query) as "error" does and forwards range queries, "no-exemplars" answers
    404 to /api/v1/query_exemplars (a Prometheus before 2.26, a proxy without that API) and
    forwards the rest; "bad-exemplars" answers exemplars whose trace ids are malformed or
    missing, "exemplar-shape" exemplar data of the wrong shape, "bad-exemplar-values" exemplars
    some of whose values, timestamps or trace ids are malformed (a non-numeric value, a
    wrong-length trace id) beside good ones; "fail-matching" answers a plain-text 503 to
    every query whose PromQL contains `match` and forwards the rest (a backend that fails
    part way through a command: the route queries after the service's own succeeded).
    """

    def __init__(
        self,
        upstream: str,
        mode: str = "ok",
        delay: float = 5.0,
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
        match: str = "",
    ) -> None:
        super().__init__(port, tls)
        self.upstream = upstream
        self.mode = mode
        self.match = match
        self.delay = delay
        self.requests = 0
        self.forms: list[dict[str, list[str]]] = []
        self.headers: list[dict[str, str]] = []
        # (arrival, departure, form) per request, monotonic clock: to check overlap
        self.spans: list[tuple[float, float, dict[str, list[str]]]] = []
        self._lock = threading.Lock()

    def respond(self, h: _Handler) -> None:
        t0 = time.monotonic()
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        form = parse_qs(body.decode())
        with self._lock:
            self.requests += 1
            self.forms.append(form)
            self.headers.append({k.lower(): v for k, v in h.headers.items()})
        try:
            self._answer(h, body)
        finally:
            with self._lock:
                self.spans.append((t0, time.monotonic(), form))

    def _answer(self, h: _Handler, body: bytes) -> None:
        mode = self.mode
        if mode == "500":
            h.send_body(500, b"internal server error\n", "text/plain")
        elif mode == "no-exemplars" and h.path.split("?")[0] == "/api/v1/query_exemplars":
            h.send_body(404, b"404 page not found\n", "text/plain")
        elif mode == "bad-exemplars" and h.path.split("?")[0] == "/api/v1/query_exemplars":
            h.send_body(200, BAD_EXEMPLARS, "application/json")
        elif mode == "bad-exemplar-values" and h.path.split("?")[0] == "/api/v1/query_exemplars":
            h.send_body(200, bad_exemplar_values(), "application/json")
        elif (
            mode == "fail-matching" and self.match in parse_qs(body.decode()).get("query", [""])[0]
        ):
            h.send_body(503, b"upstream connect error or disconnect/reset\n", "text/plain")
        elif mode == "exemplar-shape" and h.path.split("?")[0] == "/api/v1/query_exemplars":
            h.send_body(200, b'{"status":"success","data":{"oops":1}}', "application/json")
        elif mode == "garbage":
            h.send_body(200, b"<html>not prometheus</html>", "text/html")
        elif mode == "shape":
            h.send_body(
                200,
                b'{"status":"success","data":{"resultType":"matrix","result":'
                b'[{"metric":{},"values":"oops"}]}}',
                "application/json",
            )
        elif mode == "error" or (
            mode == "refuse-instant" and h.path.split("?")[0] == "/api/v1/query"
        ):
            h.send_body(
                422,
                b'{"status":"error","errorType":"execution",'
                b'"error":"query processing would load too many samples"}',
                "application/json",
            )
        else:
            if mode == "slow":
                time.sleep(self.delay)
            r = httpx.post(
                self.upstream + h.path,
                content=body,
                timeout=10,
                headers={"Content-Type": h.headers.get("Content-Type", "")},
            )
            payload = r.content
            if mode == "warn" and r.is_success:
                doc = r.json()
                doc["warnings"] = ["partial response: store-1 unreachable"]
                payload = json.dumps(doc).encode()
            h.send_body(r.status_code, payload, "application/json")


def make_certs(directory: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (openssl).

    Returns paths: ca, server_cert, server_key, client_cert, client_key, other_ca.
    """

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for ca in ("ca", "other_ca"):
        run(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=warroom test {ca}",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.pem",
        )
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.pem",
            *extra,
        )
    return {
        "ca": directory / "ca.pem",
        "other_ca": directory / "other_ca.pem",
        "server_cert": directory / "server.pem",
        "server_key": directory / "server.key",
        "client_cert": directory / "client.pem",
        "client_key": directory / "client.key",
    }


def server_tls(certs: dict[str, Path], require_client_cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs["server_cert"], certs["server_key"])
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs["ca"])
    return ctx
