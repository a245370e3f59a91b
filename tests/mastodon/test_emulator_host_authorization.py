"""A Mastodon server answers only the names it is configured for: any other Host gets Rails'
HostAuthorization refusal, a 403 HTML page "Blocked host" (mastodon/mastodon
config/initializers/1_hosts.rb and app/views/errors/blocked_host.html.haml), before any
throttle or route, ``/health`` aside. The emulator's names are its socket's (127.0.0.1,
localhost, with its port); in-process it answers any name. Over real HTTP on loopback."""

from __future__ import annotations

import socket

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator


@pytest.fixture
def emu() -> MastodonEmulator:
    return MastodonEmulator()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.2:1"])
def test_another_host_gets_the_blocked_host_page(emu: MastodonEmulator, host: str) -> None:
    with emu.serve() as url:
        account = emu.account()
        token = account.secret("token")
        with httpx.Client(base_url=url, timeout=10) as http:
            answer = http.post(
                "/api/v1/statuses",
                json={"status": "never stored"},
                headers={"Host": host, "Authorization": f"Bearer {token}"},
            )
    name = host.rsplit(":", 1)[0]
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert not any(k.startswith("x-ratelimit") for k in answer.headers)
    page = answer.text
    assert page.startswith("<!DOCTYPE html>\n<html lang='en'>\n<head>\n")
    assert f"<title>Blocked host:\n{name}\n</title>" in page
    assert f'const expected_host = "{name}";' in page
    assert f"<div class='dialog__message'><h1>Blocked host: {name}</h1>" in page
    assert f"name (<code>{name}</code>) than defined in its configuration." in page
    assert emu.post_texts() == []


def test_the_host_is_escaped_where_mastodon_escapes_it(emu: MastodonEmulator) -> None:
    with emu.serve() as url, httpx.Client(base_url=url, timeout=10) as http:
        page = http.get("/api/v1/instance", headers={"Host": "a<b>'"}).text
    assert "<title>Blocked host:\na&lt;b&gt;&#39;\n</title>" in page
    assert 'const expected_host = "a\\u003cb\\u003e\'";' in page
    assert "<h1>Blocked host: a<b>'</h1>" in page  # a :plain filter's interpolation is raw


def test_the_sockets_names_and_health_are_answered(emu: MastodonEmulator) -> None:
    with emu.serve() as url:
        port = url.rsplit(":", 1)[1]
        with httpx.Client(timeout=10) as http:
            by_ip = http.get(f"http://127.0.0.1:{port}/api/v1/instance")
            by_name = http.get(f"http://localhost:{port}/api/v1/instance")
            health = http.get(f"{url}/health", headers={"Host": "evil.example"})
    assert by_ip.status_code == by_name.status_code == 200
    assert by_name.json()["uri"] == f"localhost:{port}"
    assert health.status_code != 403


def test_in_process_any_name_is_answered(emu: MastodonEmulator) -> None:
    with httpx.Client(transport=emu.transport(), base_url="https://masto.example") as http:
        answer = http.get("/api/v1/instance")
    assert answer.status_code == 200
    assert answer.json()["uri"] == "masto.example"


@pytest.mark.parametrize(
    ("forwarded", "shown"),
    [("evil.example", "evil.example"), ("{ours}, evil.example:81", "evil.example")],
)
def test_a_forwarded_host_not_its_own_is_blocked(
    emu: MastodonEmulator, forwarded: str, shown: str
) -> None:
    """Rails checks the last name of X-Forwarded-Host as well as Host, and the page names
    request.host, which is that forwarded name."""
    with emu.serve() as url, httpx.Client(base_url=url, timeout=10) as http:
        ours = url.partition("://")[2]
        answer = http.get(
            "/api/v1/instance", headers={"X-Forwarded-Host": forwarded.format(ours=ours)}
        )
        kept = http.get("/api/v1/instance", headers={"X-Forwarded-Host": f"evil.example,{ours}"})
    assert answer.status_code == 403
    assert f"<h1>Blocked host: {shown}</h1>" in answer.text
    assert kept.status_code == 200


def test_a_request_without_a_host_is_blocked(emu: MastodonEmulator) -> None:
    """No Host is no allowed name; request.host is then Puma's default server name."""
    with emu.serve() as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/instance HTTP/1.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, page = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert b"<h1>Blocked host: localhost</h1>" in page
