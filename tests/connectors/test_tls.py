"""The httpx clients of the sources share one TLS context (connectors/tls.py) and it verifies
as httpx's default does: an untrusted certificate is refused, the bundle SSL_CERT_FILE names
is trusted."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from tls_certs import self_signed_certificate

from connectors.amplitude.client import AmplitudeClient
from connectors.amplitude.settings import AmplitudeSettings
from connectors.matomo.client import MatomoClient
from connectors.matomo.settings import MatomoSettings
from connectors.mixpanel.client import make_client
from connectors.mixpanel.settings import MixpanelSettings
from connectors.tls import build_tls_context_on_a_thread, forget_tls_context, tls_context


def _pool_context(http: httpx.Client) -> ssl.SSLContext:
    # httpx keeps the context its transport's connection pool verifies with here
    return http._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_the_sources_clients_share_one_strict_context() -> None:
    secret = SecretStr("x" * 12)
    matomo = MatomoClient(MatomoSettings(base_url="https://m.example.com", site_id=1, token=secret))
    amplitude = AmplitudeClient(AmplitudeSettings(api_key=secret, secret_key=secret))
    mixpanel = make_client(MixpanelSettings(project_id=1, username="sa.user", secret=secret))
    contexts = {id(_pool_context(http)) for http in (matomo._http, amplitude._http, mixpanel)}
    assert contexts == {id(tls_context())}
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle is loaded
    matomo.close()
    mixpanel.close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: (its URL, the cert)."""
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", cert_file
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_refused(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with httpx.Client(verify=tls_context()) as http, pytest.raises(httpx.ConnectError) as caught:
        http.get(url)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_the_bundle_ssl_cert_file_names_is_trusted(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert_file = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    forget_tls_context()
    try:
        with httpx.Client(verify=tls_context()) as http:
            assert http.get(url).text == "ok"
    finally:
        forget_tls_context()  # the next user builds the default one again


def _wait_for_the_builder() -> None:
    for thread in threading.enumerate():
        if thread.name == "okr-tls-context":
            thread.join()


def test_the_context_built_on_a_thread_is_the_one_every_client_gets(
    tls_context_builders: list[str],
) -> None:
    build_tls_context_on_a_thread()
    _wait_for_the_builder()
    first = tls_context()
    assert tls_context_builders == ["okr-tls-context"]  # built once, by the thread
    assert tls_context() is first
