"""A real OpenTelemetry SDK app in a thread, pushing through warroom's OTLP/HTTP receiver.

The OTLP tests differ only in what the app observes; the exporter (delta temporality, no
retries that outlive a stopped receiver), the wait for the receiver to listen and the push
loop are this one class.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

METRIC = "http.server.request.duration"


class SdkPusher:
    """Every `every` seconds: `observe(histogram)`, then one flush to 127.0.0.1:`port`.

    A context manager: the thread starts on enter (it waits for the receiver to listen) and
    stops, with the provider shut down, on exit. `pushes` counts the flushes that succeeded.
    """

    def __init__(
        self,
        port: int,
        service_name: str,
        bounds: Sequence[float],
        observe: Callable[[HistogramInstrument], None],
        every: float = 0.2,
    ) -> None:
        exporter = OTLPMetricExporter(
            endpoint=f"http://127.0.0.1:{port}/v1/metrics",
            preferred_temporality={Histogram: AggregationTemporality.DELTA},
            timeout=2,  # a final export to a stopped receiver must not retry for a minute
        )
        self.reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        self.provider = MeterProvider(
            metric_readers=[self.reader],
            resource=Resource.create({"service.name": service_name}),
            views=[
                View(
                    instrument_name=METRIC,
                    aggregation=ExplicitBucketHistogramAggregation(list(bounds)),
                )
            ],
        )
        self.hist = self.provider.get_meter("test").create_histogram(METRIC, unit="s")
        self.port, self.observe, self.every = port, observe, every
        self.stop = threading.Event()
        self.pushes = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                self.stop.wait(0.05)  # the receiver is not listening yet
                continue
            self.observe(self.hist)
            if self.provider.force_flush(5_000):
                self.pushes += 1
            self.stop.wait(self.every)

    def __enter__(self) -> SdkPusher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.provider.shutdown(timeout_millis=2_000)
