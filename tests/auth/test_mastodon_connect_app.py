"""``brandkit connect mastodon URL`` registers its app on an instance once: the app (client
id and secret, redirect URI, scopes) is kept in the credential store with the account, and
the next connect to that instance reuses it, on the port of its redirect URI. An app the
instance no longer knows (deleted by its admin: found before the authorization, or as a
401 ``invalid_client`` at the token exchange) is registered anew, once, and the command
says so. Before, every run registered a new app (``POST /api/v1/apps``), which Mastodon
limits per address and lists under the user's authorized apps. Mastodon emulator over a
socket, the command in a thread, a real store file."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from brandkit import auth
from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.mastodon import MastodonEmulator

URL = re.compile(r"^(https?://\S+/oauth/authorize\S*)$", re.MULTILINE)


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    return tmp_path / "credentials.db"


class Run:
    """``brandkit connect`` in a thread, its output read as it comes."""

    def __init__(self, *argv: str) -> None:
        self.out = io.StringIO()
        self.status: int | None = None
        argv = (*argv, "--no-browser", "--timeout", "20")
        self.thread = threading.Thread(target=self._main, args=(list(argv),), daemon=True)
        self.thread.start()

    def _main(self, argv: list[str]) -> None:
        self.status = main(argv, self.out)

    def url(self, number: int = 1) -> str:
        """The ``number``-th authorization URL the command printed."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = URL.findall(self.out.getvalue())
            if len(found) >= number:
                return str(found[number - 1])
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no URL {number} printed: {self.out.getvalue()!r}")

    def wait(self) -> tuple[int, str]:
        self.thread.join(30)
        assert not self.thread.is_alive() and self.status is not None
        return self.status, self.out.getvalue()


def authorize(url: str) -> str:
    """The user's consent: the instance's redirect to the loopback server."""
    with httpx.Client(timeout=10) as http:
        answer = http.get(url)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


def come_back(location: str) -> None:
    with httpx.Client(timeout=10) as http:
        assert http.get(location).status_code == 200


def connect(emu: MastodonEmulator, path: Path, key: str) -> tuple[int, str]:
    run = Run("connect", "mastodon", emu.base_url, "--store", str(path), "--key", key)
    come_back(authorize(run.url()))
    return run.wait()


def records(path: Path) -> dict[str, dict[str, object]]:
    with EncryptedStore(path) as store:
        return {k: store.get(k) or {} for k in sorted(store.keys())}


def test_the_app_is_registered_once_per_instance(path: Path) -> None:
    emu = MastodonEmulator()
    with emu.serve():
        status, first = connect(emu, path, "one")
        assert status == 0, first
        status, second = connect(emu, path, "two")
        assert status == 0, second
        assert emu.count("POST", r"/api/v1/apps") == 1
        (app,) = emu._apps.values()
        stored = records(path)
        assert stored["one"]["client_id"] == stored["two"]["client_id"] == app.client_id
        assert stored["two"]["client_secret"] == app.client_secret
        assert "registered earlier" in second
        for out in (first, second):
            assert app.client_secret not in out
        # Both accounts post, and the second's token revokes with the kept secret.
        creds = auth.MastodonCredentials.from_dict(stored["two"])
        auth.mastodon.revoke(creds, client_secret=str(stored["two"]["client_secret"]))


def test_an_app_the_instance_forgot_is_registered_anew_once(path: Path) -> None:
    emu = MastodonEmulator()
    with emu.serve():
        assert connect(emu, path, "one")[0] == 0
        (old,) = list(emu._apps)
        del emu._apps[old]  # the instance's admin deleted the app
        status, out = connect(emu, path, "two")
        assert status == 0, out
        assert emu.count("POST", r"/api/v1/apps") == 2
        assert "no longer knows" in out
        (new,) = list(emu._apps)
        assert records(path)["two"]["client_id"] == new
        assert connect(emu, path, "three")[0] == 0
        assert emu.count("POST", r"/api/v1/apps") == 2  # the new one, reused


def test_an_app_refused_at_the_token_exchange_is_registered_anew_once(path: Path) -> None:
    emu = MastodonEmulator()
    with emu.serve():
        assert connect(emu, path, "one")[0] == 0
        (old,) = list(emu._apps)
        run = Run("connect", "mastodon", emu.base_url, "--store", str(path), "--key", "two")
        location = authorize(run.url())
        del emu._apps[old]  # deleted while the user consented: the exchange gets a 401
        come_back(location)
        come_back(authorize(run.url(2)))  # the new app's authorization
        status, out = run.wait()
        assert status == 0, out
        assert "no longer knows" in out
        assert emu.count("POST", r"/api/v1/apps") == 2
        (new,) = list(emu._apps)
        assert records(path)["two"]["client_id"] == new
        assert emu._apps[new].client_secret not in out
