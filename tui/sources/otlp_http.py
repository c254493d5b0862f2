"""Embedded OTLP/HTTP metrics receiver: `POST /v1/metrics` on loopback (aiohttp).

Follows the OTLP/HTTP spec: protobuf (`application/x-protobuf`) and JSON (`application/json`)
bodies, gzip or deflate `Content-Encoding`, and answers in the request's encoding:
200 with an ExportMetricsServiceResponse (`partial_success` counts the points refused, e.g. by
the series cap), 400 with a google.rpc.Status for a body that does not decode, 401 without the
configured bearer token, 413 above `otlp.max_body` as sent or `otlp.max_inflated` (default
max_body) once inflated (checked while inflating, so a zip bomb costs at most that), 415 for another content type or encoding, 429 with Retry-After when
`otlp.queue_size` requests already wait to be stored (the exporter retries later; nothing is
silently lost).

Decoding happens in the handler; a single worker task feeds the sink so that ingest and the
hub's tick never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import logging
import time
from collections import deque
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tui.config import OTLPConfig
from tui.core.metrics.otlp import IngestResult, OTLPSink
from tui.core.metrics.otlp_body import BodyError, decode_body
from tui.errors import UserError
from tui.sources.base import SourceStatus

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RETRY_AFTER_S = 1
RATE_WINDOW_S = 10.0  # points/s in the status bar: average over the last 10 s
_INVALID_ARGUMENT, _UNAUTHENTICATED, _RESOURCE_EXHAUSTED, _UNIMPLEMENTED = 3, 16, 8, 12


def split_host_port(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class IngestQueue:
    """Bounded queue of decoded requests in front of the sink, with the receivers' counters.

    Shared shape for HTTP and gRPC: `submit` returns None when the queue is full (-> 429 /
    RESOURCE_EXHAUSTED), else a future resolved with the sink's IngestResult.
    """

    def __init__(self, sink: OTLPSink, size: int, status: SourceStatus) -> None:
        self.sink = sink
        self.status = status
        self._queue: asyncio.Queue[tuple[ExportMetricsServiceRequest, asyncio.Future[Any]]] = (
            asyncio.Queue(maxsize=max(1, size))
        )
        self._task: asyncio.Task[None] | None = None
        self._recent: deque[tuple[float, int]] = deque()
        self._recent_sum = 0  # points in _recent, kept as they come and go (not summed per request)
        self._started = time.monotonic()
        for k in ("points_per_s", "accepted", "rejected", "requests", "throttled", "bad_requests"):
            status.counters[k] = 0

    def start(self) -> None:
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._work(), name=f"{self.status.name}-ingest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():  # requests still waiting: answer them, do not hang
            _, fut = self._queue.get_nowait()
            if not fut.done():
                fut.set_exception(RuntimeError("receiver stopping"))

    def submit(self, req: ExportMetricsServiceRequest) -> asyncio.Future[Any] | None:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((req, fut))
        except asyncio.QueueFull:
            self.status.counters["throttled"] += 1
            return None
        return fut

    def bad_request(self) -> None:
        self.status.counters["bad_requests"] += 1

    async def _work(self) -> None:
        while True:
            try:
                req, fut = await asyncio.wait_for(self._queue.get(), 1.0)
            except TimeoutError:
                self._rate()
                continue
            try:
                res = self.sink.ingest(req)
            except Exception as exc:  # a sink bug answers 500, it does not kill the receiver
                log.exception("OTLP ingest failed")
                if not fut.done():
                    fut.set_exception(exc)
                continue
            c = self.status.counters
            c["requests"] += 1
            c["accepted"] += res.accepted
            c["rejected"] += res.rejected
            self._recent.append((time.monotonic(), res.accepted))
            self._recent_sum += res.accepted
            self._rate()
            if not fut.done():
                fut.set_result(res)

    def _rate(self) -> None:
        now = time.monotonic()
        while self._recent and self._recent[0][0] < now - RATE_WINDOW_S:
            self._recent_sum -= self._recent.popleft()[1]
        span = min(RATE_WINDOW_S, max(now - self._started, 1.0))
        self.status.counters["points_per_s"] = self._recent_sum / span


class OTLPHttpReceiver:
    """`OTLPHttpReceiver(cfg.otlp, sink)`; `await start()` binds `cfg.http` (port 0 allowed)."""

    def __init__(self, cfg: OTLPConfig, sink: OTLPSink) -> None:
        self.cfg = cfg
        self.sink = sink
        self.status = SourceStatus(name="otlp/http")
        self.max_body = int(cfg.max_body)
        self.max_inflated = int(cfg.max_inflated or cfg.max_body)
        self._token = cfg.bearer_token.reveal() if cfg.bearer_token is not None else None
        self._queue = IngestQueue(sink, cfg.queue_size, self.status)
        self._runner: web.AppRunner | None = None
        self._address: tuple[str, int] | None = None

    @property
    def bound_address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("receiver not started")
        return self._address

    async def start(self) -> None:
        host, port = split_host_port(self.cfg.http)
        app = web.Application()
        app.router.add_post("/v1/metrics", self._handle)
        # auto_decompress=False: we decompress ourselves, with a size limit and a clear 400.
        # shutdown_timeout: exporters keep connections alive; stopping must not wait a minute.
        runner = web.AppRunner(app, auto_decompress=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            why = "address in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            self.status.failed(f"cannot listen on {self.cfg.http}: {why}", "error")
            raise UserError(f"otlp.http: cannot listen on {self.cfg.http}: {why}") from None
        self._runner = runner
        addrs = runner.addresses
        self._address = (str(addrs[0][0]), int(addrs[0][1])) if addrs else (host, port)
        self._queue.start()
        self.status.ok("listening", f"{self._address[0]}:{self._address[1]}")

    async def stop(self) -> None:
        await self._queue.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.status.state = "down"

    # -- request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ctype = request.content_type.lower()
        as_json = ctype == JSON
        if self._token is not None:
            auth = request.headers.get("Authorization", "")
            if not hmac.compare_digest(auth.encode(), f"Bearer {self._token}".encode()):
                return self._status(
                    401,
                    _UNAUTHENTICATED,
                    "missing or wrong bearer token",
                    as_json,
                    {"WWW-Authenticate": "Bearer"},
                )
        if ctype == "application/protobuf":  # what some clients send; same bytes
            ctype = PROTOBUF
        if ctype not in (PROTOBUF, JSON):
            self._queue.bad_request()
            return self._status(
                415,
                _INVALID_ARGUMENT,
                f"unsupported Content-Type {ctype or '(none)'!r}; use {PROTOBUF} or {JSON}",
                False,
            )
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            self._queue.bad_request()
            return self._status(
                415,
                _INVALID_ARGUMENT,
                f"unsupported Content-Encoding {encoding!r}; use gzip or deflate",
                as_json,
            )
        if request.content_length is not None and request.content_length > self.max_body:
            return self._too_large(as_json)
        raw = bytearray()
        async for chunk in request.content.iter_any():
            raw += chunk
            if len(raw) > self.max_body:
                return self._too_large(as_json)
        try:
            req = decode_body(bytes(raw), as_json, encoding, self.max_inflated)
        except BodyError as exc:
            self._queue.bad_request()
            return self._status(exc.http, _INVALID_ARGUMENT, str(exc), as_json)
        fut = self._queue.submit(req)
        if fut is None:
            return self._status(
                429,
                _RESOURCE_EXHAUSTED,
                f"ingest queue full ({self.cfg.queue_size} requests); retry later",
                as_json,
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            res: IngestResult = await fut
        except Exception as exc:
            return self._status(500, 13, f"internal error while storing: {exc}", as_json)
        resp = ExportMetricsServiceResponse()
        if res.rejected:
            resp.partial_success.rejected_data_points = res.rejected
            resp.partial_success.error_message = res.error_message
        return self._message(200, resp, as_json)

    def _too_large(self, as_json: bool) -> web.Response:
        self._queue.bad_request()
        return self._status(
            413,
            _INVALID_ARGUMENT,
            f"body larger than otlp.max_body ({self.max_body} bytes)",
            as_json,
        )

    def _status(
        self,
        http: int,
        code: int,
        message: str,
        as_json: bool,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        return self._message(http, status_pb2.Status(code=code, message=message), as_json, headers)

    @staticmethod
    def _message(
        http: int, msg: Any, as_json: bool, headers: dict[str, str] | None = None
    ) -> web.Response:
        if as_json:
            return web.Response(
                status=http,
                body=json_format.MessageToJson(msg, indent=None),
                content_type=JSON,
                headers=headers,
            )
        return web.Response(
            status=http, body=msg.SerializeToString(), content_type=PROTOBUF, headers=headers
        )
