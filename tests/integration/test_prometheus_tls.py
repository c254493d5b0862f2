"""TLS to Prometheus: a custom CA and a client certificate, against a real HTTPS loopback server
that requires the client certificate and forwards to the real Prometheus."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_prometheus import make_config
from tests.servers import FaultyPrometheus, make_certs, server_tls
from tui.core.metrics.store import MetricStore
from tui.sources.prometheus import PrometheusSource

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def https_proxy(prometheus: str, certs: dict[str, Path]) -> Iterator[FaultyPrometheus]:
    with FaultyPrometheus(prometheus, tls=server_tls(certs)) as server:
        yield server


async def refresh(url: str, tls: str) -> PrometheusSource:
    src = PrometheusSource(make_config(url, extra=f"  tls: {{{tls}}}"), MetricStore())
    try:
        await src.refresh(time.time() - 1.5)
    finally:
        await src.aclose()
    return src


async def test_ca_and_client_certificate(
    https_proxy: FaultyPrometheus, certs: dict[str, Path]
) -> None:
    assert https_proxy.url.startswith("https://127.0.0.1:")
    src = await refresh(
        https_proxy.url,
        f"ca_file: {certs['ca']}, cert_file: "
        f"{certs['client_cert']}, key_file: {certs['client_key']}",
    )
    assert src.status.state == "up", src.status.detail
    assert src.store.latest("lat", "p99") is not None


async def test_missing_client_certificate_is_a_tls_error(
    https_proxy: FaultyPrometheus, certs: dict[str, Path]
) -> None:
    src = await refresh(https_proxy.url, f"ca_file: {certs['ca']}")
    assert src.status.state in ("error", "down")
    # TLS 1.3 reports the refusal after the handshake: as a TLS error or a dropped connection
    assert src.status.detail.startswith(
        ("TLS error: ", "RemoteProtocolError", "ReadError", "connection error")
    ), src.status.detail
    assert src.status.stale_since is not None
    assert https_proxy.requests == 0  # the handshake refused us before any request


async def test_untrusted_server_certificate(
    https_proxy: FaultyPrometheus, certs: dict[str, Path]
) -> None:
    src = await refresh(
        https_proxy.url,
        f"ca_file: {certs['other_ca']}, cert_file: "
        f"{certs['client_cert']}, key_file: {certs['client_key']}",
    )
    assert src.status.state == "error"
    assert src.status.detail.startswith("TLS error: ")
    assert "CERTIFICATE_VERIFY_FAILED" in src.status.detail
    # insecure_skip_verify accepts it (and still presents the client certificate)
    src = await refresh(
        https_proxy.url,
        f"insecure_skip_verify: true, cert_file: "
        f"{certs['client_cert']}, key_file: {certs['client_key']}",
    )
    assert src.status.state == "up", src.status.detail


async def test_unloadable_certificate_is_reported_not_raised(
    https_proxy: FaultyPrometheus, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    src = await refresh(https_proxy.url, f"ca_file: {bad}")
    assert src.status.state == "error"
    assert src.status.detail.startswith(f"prometheus.tls: cannot load {bad}: ")
