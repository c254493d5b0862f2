"""What the two OTLP receivers (otlp_http.py, otlp_grpc.py) share.

- `IngestQueue`: the bounded queue of decoded requests in front of the sink, drained by one
  worker task (so ingest and the hub's tick never interleave), and the status counters.
- `OTLPReceiver`: the base of both receivers — the queue, the bearer-token check (constant
  time), the size limits (`otlp.max_body` as sent, `otlp.max_inflated` once inflated), the
  bound address, the queue-full message and the answer to an accepted export.

Each receiver keeps only its transport: how it binds, reads a request and says no.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tui.config import OTLPConfig
from tui.core.metrics.otlp import IngestResult, OTLPSink
from tui.sources.base import SourceStatus

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # what a refused exporter is told to wait (Retry-After, RetryInfo)
RATE_WINDOW_S = 10.0  # points/s in the status bar: average over the last 10 s


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
        # readers of the same requests after the sink (the Go runtime signals); a bug in one
        # is logged, never answered to the exporter
        self.taps: list[Callable[[ExportMetricsServiceRequest], None]] = []
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
            for tap in self.taps:
                try:
                    tap(req)
                except Exception:
                    log.exception("OTLP tap failed")
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


class OTLPReceiver:
    """`Receiver(cfg.otlp, sink)`; `await start()` binds the address (port 0 allowed) and
    reports the one bound in `bound_address`."""

    status_name: ClassVar[str]

    def __init__(self, cfg: OTLPConfig, sink: OTLPSink) -> None:
        self.cfg = cfg
        self.sink = sink
        self.status = SourceStatus(name=self.status_name)
        self.max_body = int(cfg.max_body)
        self.max_inflated = int(cfg.max_inflated or cfg.max_body)
        self._token = cfg.bearer_token.reveal() if cfg.bearer_token is not None else None
        self._queue = IngestQueue(sink, cfg.queue_size, self.status)
        self._address: tuple[str, int] | None = None

    @property
    def bound_address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("receiver not started")
        return self._address

    def authorized(self, header: str) -> bool:
        """The `Authorization` value is the configured bearer token (or none is configured)."""
        if self._token is None:
            return True
        return hmac.compare_digest(header.encode(), f"Bearer {self._token}".encode())

    def add_tap(self, tap: Callable[[ExportMetricsServiceRequest], None]) -> None:
        """Hand every stored request to `tap` too (in the ingest worker, after the sink)."""
        self._queue.taps.append(tap)

    def queue_full(self) -> str:
        return f"ingest queue full ({self.cfg.queue_size} requests); retry later"

    def _listening(self, host: str, port: int) -> None:
        """Bound: start draining the queue and say where."""
        self._address = (host, port)
        self._queue.start()
        self.status.ok("listening", f"{host}:{port}")

    @staticmethod
    def reply(res: IngestResult) -> ExportMetricsServiceResponse:
        """The answer to a stored export: `partial_success` counts the points refused."""
        resp = ExportMetricsServiceResponse()
        if res.rejected:
            resp.partial_success.rejected_data_points = res.rejected
            resp.partial_success.error_message = res.error_message
        return resp
