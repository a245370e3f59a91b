"""``brandkit connect``'s redirect server keeps only the callback of the authorization in
progress: a request to ``/callback`` without its ``state`` (OAuth 1.0a: its request token)
is answered 400 and the wait goes on, so that a stray local request cannot make the connect
fail before the user's real redirect arrives. The wait stays bounded: by ``--timeout``, and
by the number of stray callbacks turned away (`MAX_STRAY`). Everything runs on 127.0.0.1."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit.auth import EncryptedStore
from brandkit.auth import _cli as connect_cli
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.x import XEmulator


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    return tmp_path / "credentials.db"


@pytest.fixture
def x_emu() -> Iterator[XEmulator]:
    emu = XEmulator()
    with emu.serve():
        yield emu


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Run:
    """``brandkit`` in a thread, its output read as it comes."""

    def __init__(self, *argv: str) -> None:
        self.out = io.StringIO()
        self.err = ""
        self.status: int | None = None
        self.thread = threading.Thread(target=self._main, args=(list(argv),), daemon=True)
        self.thread.start()

    def _main(self, argv: list[str]) -> None:
        self.status = main(argv, self.out)

    def url(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"^(https?://\S+)$", self.out.getvalue(), re.MULTILINE)
            if found:
                return found.group(1)
            assert self.thread.is_alive(), self.out.getvalue()
            time.sleep(0.02)
        raise AssertionError(f"no URL printed: {self.out.getvalue()!r}")

    def wait(self, timeout: float = 30.0) -> int:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the command did not finish"
        assert self.status is not None
        return self.status


def consent(url: str) -> str:
    """The user's consent at the emulator: where its 302 sends the browser back to."""
    with httpx.Client(timeout=10) as http:
        answer = http.get(url)
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location


def visit(url: str) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.get(url)


def stored(path: Path) -> dict[str, dict[str, object]]:
    with EncryptedStore(path) as s:
        return {k: s.get(k) or {} for k in sorted(s.keys())}


def test_stray_callbacks_are_turned_away_and_the_real_one_connects(
    x_emu: XEmulator, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Callbacks with another state, no state, or a repeated state parameter ending in
    another value get 400 and a page saying so; the user's redirect that follows is kept
    and the account is connected."""
    port = free_port()
    app = x_emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret or "")
    run = Run(
        "connect", "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store), "--no-browser", "--timeout", "20",
    )  # fmt: skip
    url = run.url()
    state = re.search(r"[?&]state=([^&]+)", url)
    assert state is not None
    base = f"http://127.0.0.1:{port}/callback"
    for stray in (
        f"{base}?state=bogus&code=x",
        f"{base}?code=x",
        f"{base}",
        f"{base}?state={state.group(1)}&state=other&code=x",
    ):
        answer = visit(stray)
        assert answer.status_code == 400, stray
        assert "not the callback brandkit is waiting for" in answer.text
    assert run.thread.is_alive()  # still waiting
    real = visit(consent(url))
    assert real.status_code == 200 and "close this window" in real.text
    assert run.wait() == 0, run.out.getvalue()
    assert "connected x account 'x'" in run.out.getvalue()
    assert set(stored(store)) == {"x"}


def test_oauth1_stray_callback_is_turned_away(
    x_emu: XEmulator, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OAuth 1.0a: the request token (``oauth_token``) ties the callback to the flow; a
    callback with another one gets 400, the real one connects."""
    port = free_port()
    app = x_emu.oauth1_app(callback=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.consumer_secret)
    run = Run(
        "connect", "x", "--oauth1", "--client-id", app.consumer_key, "--base-url",
        x_emu.base_url, "--port", str(port), "--store", str(store), "--no-browser",
        "--timeout", "20",
    )  # fmt: skip
    url = run.url()
    stray = visit(f"http://127.0.0.1:{port}/callback?oauth_token=bogus&oauth_verifier=v")
    assert stray.status_code == 400
    assert visit(consent(url)).status_code == 200
    assert run.wait() == 0, run.out.getvalue()
    assert set(stored(store)) == {"x"}


def test_only_strays_end_at_the_timeout_and_say_so(
    x_emu: XEmulator,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only stray callbacks: the command still gives up at --timeout, saying that some
    requests were turned away, and stores nothing."""
    port = free_port()
    app = x_emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret or "")
    started = time.monotonic()
    run = Run(
        "connect", "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store), "--no-browser", "--timeout", "1.5",
    )  # fmt: skip
    run.url()
    assert visit(f"http://127.0.0.1:{port}/callback?state=bogus&code=x").status_code == 400
    assert run.wait() == 1
    assert time.monotonic() - started < 15
    err = capsys.readouterr().err
    assert "no redirect came back within 1.5 s" in err
    assert "1 request(s)" in err and "turned away" in err
    assert stored(store) == {}


def test_too_many_strays_end_the_wait(
    x_emu: XEmulator,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The number of stray callbacks is bounded: past MAX_STRAY the command stops
    waiting (well before --timeout) and says why."""
    monkeypatch.setattr(connect_cli, "MAX_STRAY", 3)
    port = free_port()
    app = x_emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret or "")
    started = time.monotonic()
    run = Run(
        "connect", "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store), "--no-browser", "--timeout", "60",
    )  # fmt: skip
    run.url()
    for i in range(3):
        assert visit(f"http://127.0.0.1:{port}/callback?state=s{i}").status_code == 400
    assert run.wait(timeout=20) == 1
    assert time.monotonic() - started < 30
    assert "3 requests to http://127.0.0.1:" in capsys.readouterr().err
    assert stored(store) == {}


def test_catcher_keeps_the_first_matching_callback() -> None:
    """The catcher alone: nothing is accepted before it knows the state; then only the
    callback with it, and a second one with it (a reload) does not replace the first."""
    with connect_cli._catcher(0) as server:
        base = server.redirect_uri
        assert visit(f"{base}?state=abc&code=early").status_code == 400
        server.expect("abc")
        assert visit(f"{base}?state=abd&code=x").status_code == 400
        assert visit(f"http://127.0.0.1:{server.server_address[1]}/other").status_code == 404
        assert not server.arrived.is_set()
        assert visit(f"{base}?state=abc&code=first").status_code == 200
        assert visit(f"{base}?state=abc&code=second").status_code == 200
        assert server.arrived.wait(5)
        assert server.callback == f"{base}?state=abc&code=first"
        assert server.strays == 2
