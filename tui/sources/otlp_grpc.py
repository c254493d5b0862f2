"""Embedded OTLP/gRPC metrics receiver: `MetricsService/Export` on loopback (grpc.aio).

Same sink, bounded ingest queue, token check and limits as the HTTP receiver (all in
otlp_common.py). The request is taken as raw
bytes and decoded here, so garbage gets INVALID_ARGUMENT with a clear message rather than
gRPC's generic deserialisation error. A full queue answers RESOURCE_EXHAUSTED with a RetryInfo
(what the OTLP spec asks for the exporter to retry), a missing or wrong bearer token
UNAUTHENTICATED, and messages above `otlp.max_body` are refused by gRPC itself
(RESOURCE_EXHAUSTED). SO_REUSEPORT is off so a taken port is an error, not a shared port.
"""

from __future__ import annotations

import errno
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
from tui.sources.otlp_common import RETRY_AFTER_S, OTLPReceiver, split_host_port

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


class OTLPGrpcReceiver(OTLPReceiver):
    """`OTLPGrpcReceiver(cfg.otlp, sink)`; `await start()` binds `cfg.grpc` (port 0 allowed)."""

    status_name = "otlp/grpc"

    def __init__(self, cfg: OTLPConfig, sink: OTLPSink) -> None:
        super().__init__(cfg, sink)
        self._server: grpc.aio.Server | None = None

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
        self._listening(host, int(bound))

    async def stop(self) -> None:
        await self._queue.stop()
        if self._server is not None:
            await self._server.stop(0.5)
            self._server = None
        self.status.state = "down"

    async def _export(self, raw: bytes, context: Any) -> ExportMetricsServiceResponse:
        metadata = dict(context.invocation_metadata() or ())
        if not self.authorized(str(metadata.get("authorization", ""))):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        try:
            req = parse(raw, as_json=False)
        except BodyError as exc:
            self._queue.bad_request()
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        fut = self._queue.submit(req)
        if fut is None:
            info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=RETRY_AFTER_S))
            msg = self.queue_full()
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
        return self.reply(res)
