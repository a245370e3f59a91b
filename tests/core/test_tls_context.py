"""brandkit._tls: the HTTP clients brandkit makes share one TLS context per CA setting (loading
certifi's bundle is most of what a client costs), and it still verifies: a real TLS server on
127.0.0.1 is trusted only through the CA that ``SSL_CERT_FILE`` names."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, Client, _tls
from brandkit.auth._core import run as run_auth_flow
from tests.core.test_asyncnet import _tls_pair, http_answer, serve


@pytest.fixture
def fresh_contexts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """No context made yet; counts the contexts httpx is asked to make."""
    made = [0]
    real = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(_tls, "_contexts", {})
    monkeypatch.setattr(_tls.httpx, "create_ssl_context", counting)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return made


def _context_of(transport: Any) -> ssl.SSLContext:
    context = transport._pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


def test_brandkit_s_clients_load_one_context(fresh_contexts: list[int]) -> None:
    clients = [Client() for _ in range(5)]
    contexts = {id(_context_of(c._transport)) for c in clients}
    for c in clients:
        c.close()

    async def own_async() -> ssl.SSLContext:
        async with AsyncClient() as client:
            return _context_of(client._transport)

    async_context = asyncio.run(own_async())
    assert fresh_contexts[0] == 1
    assert contexts == {id(async_context)}
    assert async_context.verify_mode is ssl.CERT_REQUIRED and async_context.check_hostname


def test_a_client_of_the_user_s_own_keeps_its_context(fresh_contexts: list[int]) -> None:
    mine = ssl.create_default_context()
    http = httpx.Client(verify=mine)
    with Client(http=http) as client:
        assert client._http is http
        assert _context_of(http._transport) is mine
    http.close()
    assert fresh_contexts[0] == 0


def test_the_shared_context_verifies_and_follows_ssl_cert_file(
    fresh_contexts: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real TLS: with ``SSL_CERT_FILE`` naming the server's CA the request goes
    through; without it certifi's bundle does not trust the server and nothing is sent.
    Both through AsyncClient's own client and the OAuth flows' client."""
    server_ctx, _ = _tls_pair(tmp_path)

    async def get(port: int) -> httpx.Response:
        async with AsyncClient() as client:
            return await client._http.get(f"https://127.0.0.1:{port}/trusted")

    async def main() -> None:
        async with serve(http_answer, server_ctx) as port:
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
            answer = await get(port)
            assert answer.status_code == 200 and answer.text == "/trusted"
            monkeypatch.delenv("SSL_CERT_FILE")
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await get(port)

    asyncio.run(asyncio.wait_for(main(), 30))
    assert fresh_contexts[0] == 2  # one per CA setting, each loaded once
    assert len(_tls._contexts) == 2


def test_the_oauth_flows_own_client_uses_the_shared_context(
    fresh_contexts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`brandkit.auth`'s runner makes its client with the shared context (no new one): on
    the transport of the client that bounds the whole exchange (`_deadline_client`)."""
    shared = _tls.shared_context()
    seen: list[ssl.SSLContext] = []
    real_init = httpx.HTTPTransport.__init__

    def spy(self: httpx.HTTPTransport, *args: Any, **kwargs: Any) -> None:
        seen.append(kwargs["verify"])
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.HTTPTransport, "__init__", spy)

    def flow() -> Iterator[Any]:
        return None
        yield

    run_auth_flow(flow())
    assert seen == [shared]
    assert fresh_contexts[0] == 1


def test_a_ca_file_that_is_not_there_is_a_typed_error(
    fresh_contexts: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A CA file that is not there (a path mistyped in a deployment) was a bare
    FileNotFoundError from deep inside ssl, naming neither the variable nor the path."""
    from brandkit.errors import ConfigurationError

    missing = tmp_path / "no-such-ca.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))
    with pytest.raises(ConfigurationError) as caught:
        Client()
    assert "SSL_CERT_FILE" in str(caught.value)
    assert str(missing) in str(caught.value)
