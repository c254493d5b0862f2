"""Embedded OTLP/gRPC metrics receiver: `MetricsService/Export` on loopback (grpc.aio).

Same sink and the same bounded ingest queue as the HTTP receiver. The request is taken as raw
bytes and decoded here, so garbage gets INVALID_ARGUMENT with a clear message rather than
gRPC's generic deserialisation error. A full queue answers RESOURCE_EXHAUSTED with a RetryInfo
(what the OTLP spec asks for the exporter to retry), a missing or wrong bearer token
UNAUTHENTICATED, and messages above `otlp.max_body` are refused by gRPC itself
(RESOURCE_EXHAUSTED). SO_REUSEPORT is off so a taken port is an error, not a shared port.
"""

from __future__ import annotations

import errno
import hmac
import socket
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from tui.config import OTLPConfig
from tui.core.metrics.otlp import IngestResult, OTLPSink
from tui.core.metrics.otlp_body import BodyError, parse
from tui.errors import UserError
from tui.sources.base import SourceStatus
from tui.sources.otlp_http import RETRY_AFTER_S, IngestQueue, split_host_port

SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"


def _port_in_use(host: str, port: int) -> bool:
    """grpc reports a failed bind without errno; ask the OS whether the port is taken."""
    if port == 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class OTLPGrpcReceiver:
    """`OTLPGrpcReceiver(cfg.otlp, sink)`; `await start()` binds `cfg.grpc` (port 0 allowed)."""

    def __init__(self, cfg: OTLPConfig, sink: OTLPSink) -> None:
        self.cfg = cfg
        self.sink = sink
        self.status = SourceStatus(name="otlp/grpc")
        self.max_body = int(cfg.max_body)
        self._token = cfg.bearer_token.reveal() if cfg.bearer_token is not None else None
        self._queue = IngestQueue(sink, cfg.queue_size, self.status)
        self._server: grpc.aio.Server | None = None
        self._address: tuple[str, int] | None = None

    @property
    def bound_address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("receiver not started")
        return self._address

    async def start(self) -> None:
        host, port = split_host_port(self.cfg.grpc)
        server = grpc.aio.server(
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", self.max_body),
            ]
        )
        handler = grpc.unary_unary_rpc_method_handler(
            self._export,
            request_deserializer=None,
            response_serializer=ExportMetricsServiceResponse.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Export": handler}),)
        )
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = server.add_insecure_port(target)
        except RuntimeError:
            bound = 0
        if not bound:
            why = "address in use" if _port_in_use(host, port) else "bind failed"
            self.status.failed(f"cannot listen on {self.cfg.grpc}: {why}", "error")
            await server.stop(None)
            raise UserError(f"otlp.grpc: cannot listen on {self.cfg.grpc}: {why}")
        await server.start()
        self._server = server
        self._address = (host, int(bound))
        self._queue.start()
        self.status.ok("listening", f"{host}:{bound}")

    async def stop(self) -> None:
        await self._queue.stop()
        if self._server is not None:
            await self._server.stop(0.5)
            self._server = None
        self.status.state = "down"

    async def _export(self, raw: bytes, context: Any) -> ExportMetricsServiceResponse:
        if self._token is not None:
            md = dict(context.invocation_metadata() or ())
            auth = str(md.get("authorization", ""))
            if not hmac.compare_digest(auth.encode(), f"Bearer {self._token}".encode()):
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token"
                )
        try:
            req = parse(raw, as_json=False)
        except BodyError as exc:
            self._queue.bad_request()
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        fut = self._queue.submit(req)
        if fut is None:
            info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=RETRY_AFTER_S))
            msg = f"ingest queue full ({self.cfg.queue_size} requests); retry later"
            st = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message=msg)
            st.details.add().Pack(info)
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                msg,
                trailing_metadata=(
                    ("google.rpc.retryinfo-bin", info.SerializeToString()),
                    ("grpc-status-details-bin", st.SerializeToString()),
                ),
            )
        assert fut is not None
        res: IngestResult = await fut
        resp = ExportMetricsServiceResponse()
        if res.rejected:
            resp.partial_success.rejected_data_points = res.rejected
            resp.partial_success.error_message = res.error_message
        return resp
