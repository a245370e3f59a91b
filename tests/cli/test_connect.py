"""``brandkit connect`` and the credential-store ``brandkit accounts`` commands (issue 15),
end to end against the emulators: the test plays the browser (it opens the printed URL,
follows the platform's 302 to the command's redirect server on 127.0.0.1), then the stored
account posts, is listed with its expiry, checked, refreshed and removed. Nothing secret is
printed or logged."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy
from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import XEmulator

from .conftest import cli

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store path and its key in the environment."""
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    return tmp_path / "credentials.db"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Run:
    """``brandkit`` running in a thread, its output read as it comes."""

    def __init__(self, *argv: str) -> None:
        self.out = io.StringIO()
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
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no URL printed: {self.out.getvalue()!r}")

    def wait(self, timeout: float = 30.0) -> tuple[int, str]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the command did not finish"
        assert self.status is not None
        return self.status, self.out.getvalue()


def browse(url: str) -> str:
    """The browser: open the authorization URL, follow the 302 to the loopback server."""
    with httpx.Client(timeout=10) as http:
        answer = http.get(url)
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert location.startswith("http://127.0.0.1:")
        back = http.get(location)
        assert back.status_code == 200
        assert "close this window" in back.text
    return location


def connect(*argv: str) -> tuple[int, str, str]:
    """Run ``brandkit connect ...`` and consent; status, output, the callback URL."""
    run = Run("connect", *argv, "--no-browser", "--timeout", "20")
    callback = browse(run.url())
    status, out = run.wait()
    return status, out, callback


def publish(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def stored(path: Path) -> dict[str, dict[str, object]]:
    s = EncryptedStore(path)
    try:
        return {k: s.get(k) or {} for k in sorted(s.keys())}
    finally:
        s.close()


@pytest.fixture
def x_emu() -> Iterator[XEmulator]:
    emu = XEmulator()
    with emu.serve():
        yield emu


def test_connect_x_then_list_check_refresh_remove(
    x_emu: XEmulator,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole CLI life of an X account: connect (OAuth 2 with PKCE through the loopback
    redirect), post with the stored account, list (with its expiry), check, refresh (the
    refresh token rotates in the store), remove; no token, code or secret in any output or
    log line."""
    caplog.set_level(logging.DEBUG)  # httpx and httpcore too
    port = free_port()
    app = x_emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
    assert app.client_secret is not None
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret)
    status, out, callback = connect(
        "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store), "--key", "acme-x",
    )  # fmt: skip
    assert status == 0, out
    assert "connected x account 'acme-x'" in out and "(in 120 min)" in out
    # The test's own browser (the main thread) logs the redirect with the code: not brandkit.
    connect_logs = [r.getMessage() for r in caplog.records if r.threadName != "MainThread"]
    assert any("oauth2/token" in m for m in connect_logs)  # the exchange was logged...
    caplog.clear()

    first = stored(store)["acme-x"]
    with EncryptedStore(store) as s:
        assert publish(Account.from_store(s, "acme-x"), "from the CLI") is DeliveryStatus.SENT
    assert x_emu.post_texts() == ["from the CLI"]

    status, listed = cli("accounts", "list", "--store", str(store), "--json")
    assert status == 0
    (row,) = json.loads(listed)
    assert (row["key"], row["platform"], row["refreshable"]) == ("acme-x", "x", True)
    assert row["expires_at"] == first["expires_at"]
    status, table = cli("accounts", "list", "--store", str(store))
    assert "acme-x" in table and "min)" in table

    status, checked = cli("accounts", "check", "--store", str(store))
    assert status == 0, checked
    assert checked.startswith("ok") and "acme-x" in checked

    status, refreshed = cli("accounts", "refresh", "--store", str(store))
    assert (status, refreshed.split()[:2]) == (0, ["acme-x", "not"])  # not due yet
    status, refreshed = cli("accounts", "refresh", "--store", str(store), "--force")
    assert status == 0 and "acme-x" in refreshed and "refreshed" in refreshed
    second = stored(store)["acme-x"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["client_secret"] == app.client_secret

    status, removed = cli("accounts", "remove", "acme-x", "--store", str(store))
    assert (status, removed.strip()) == (0, "removed acme-x")
    assert stored(store) == {}
    assert cli("accounts", "remove", "acme-x", "--store", str(store))[0] == 1

    secrets = [
        str(v)
        for v in (
            first["access_token"], first["refresh_token"], second["access_token"],
            second["refresh_token"], app.client_secret,
            callback.split("code=")[1].split("&")[0],
        )
    ]  # fmt: skip
    err = capsys.readouterr()
    texts = [out, listed, table, checked, refreshed, err.out, err.err]
    texts += connect_logs + [r.getMessage() for r in caplog.records]
    assert [s for s in secrets if any(s in t for t in texts)] == []


def test_connect_x_oauth1(x_emu: XEmulator, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--oauth1``: the 3-legged flow through the loopback redirect; the stored keys sign
    a post and are listed as never expiring."""
    port = free_port()
    app = x_emu.oauth1_app(callback=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.consumer_secret)
    status, out, _ = connect(
        "x", "--oauth1", "--client-id", app.consumer_key, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store),
    )  # fmt: skip
    assert status == 0, out
    assert "(@brand)" in out and "expires never" in out
    with EncryptedStore(store) as s:
        assert publish(Account.from_store(s, "x"), "OAuth 1.0a") is DeliveryStatus.SENT
    (row,) = json.loads(cli("accounts", "list", "--store", str(store), "--json")[1])
    assert row["expires_at"] is None and not row["refreshable"]


def test_connect_mastodon_registers_the_app(store: Path) -> None:
    """``connect mastodon URL`` registers the app with the instance (any free port), runs
    the code flow with PKCE and stores a token that never expires, with the app's secret
    (what `accounts remove --revoke` needs), which is never printed."""
    emu = MastodonEmulator()
    with emu.serve():
        status, out, _ = connect("mastodon", emu.base_url, "--store", str(store))
        assert status == 0, out
        (app,) = emu._apps.values()
        assert stored(store)["mastodon"]["client_secret"] == app.client_secret
        assert app.client_secret not in out
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "mastodon"), "toot") is DeliveryStatus.SENT
        assert emu.post_texts() == ["toot"]
        status, checked = cli("accounts", "check", "--store", str(store), "--json")
        assert status == 0 and json.loads(checked)[0]["expires"] == "never"


def test_connect_facebook_page(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``connect facebook``: Facebook Login, the long-lived user token, the Page token of
    the one Page; the stored Page posts."""
    emu = FacebookEmulator()
    with emu.serve():
        emu.account(name="brand")
        port = free_port()
        app = emu.oauth_app(
            redirect_uri=f"http://127.0.0.1:{port}/callback",
            scopes="pages_show_list,pages_manage_posts,pages_read_engagement",
        )
        monkeypatch.setenv("BRANDKIT_FACEBOOK_APP_SECRET", app.client_secret)
        status, out, _ = connect(
            "facebook", "--client-id", app.client_id, "--base-url", emu.base_url,
            "--port", str(port), "--store", str(store),
        )  # fmt: skip
        assert status == 0, out
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "facebook"), "page post") is DeliveryStatus.SENT


def test_connect_threads_and_linkedin(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``connect threads`` stores a 60-day token; ``connect linkedin`` the token and the one
    page the member administers as the author; both post from the store."""
    threads, linkedin = ThreadsEmulator(), LinkedInEmulator()
    with threads.serve(), linkedin.serve():
        port = free_port()
        t_app = threads.oauth_app(
            redirect_uri=f"http://127.0.0.1:{port}/callback",
            scopes="threads_basic,threads_content_publish",
        )
        monkeypatch.setenv("BRANDKIT_THREADS_APP_SECRET", t_app.client_secret)
        status, out, _ = connect(
            "threads", "--client-id", t_app.client_id, "--base-url", threads.base_url,
            "--port", str(port), "--store", str(store),
        )  # fmt: skip
        assert status == 0, out
        assert "(in 60 days)" in out

        port = free_port()
        scopes = "w_organization_social r_organization_social rw_organization_admin"
        l_app = linkedin.oauth_app(
            redirect_uri=f"http://127.0.0.1:{port}/callback", scopes=scopes, refresh_tokens=True
        )
        monkeypatch.setenv("BRANDKIT_LINKEDIN_CLIENT_SECRET", l_app.client_secret)
        status, out, _ = connect(
            "linkedin", "--client-id", l_app.client_id, "--base-url", linkedin.base_url,
            "--port", str(port), "--store", str(store),
        )  # fmt: skip
        assert status == 0, out
        assert "urn:li:organization:" in out
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "linkedin"), "page") is DeliveryStatus.SENT
            assert set(s.keys()) == {"linkedin", "threads"}


def test_connect_bluesky_with_an_app_password(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``connect bluesky HANDLE --app-password-env VAR`` logs in once and stores the app
    password; a wrong one is refused before anything is stored."""
    emu = BlueskyEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        handle = str(account.settings["handle"])
        monkeypatch.setenv("BK_TEST_APP_PASSWORD", "wrong-password-1234")
        argv = ["connect", "bluesky", handle, "--app-password-env", "BK_TEST_APP_PASSWORD"]
        argv += ["--base-url", emu.base_url, "--store", str(store), "--no-browser"]
        assert cli(*argv)[0] == 1
        assert stored(store) == {}
        monkeypatch.setenv("BK_TEST_APP_PASSWORD", account.secret("app_password") or "")
        status, out = cli(*argv)
        assert status == 0, out
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "bluesky"), "skeet") is DeliveryStatus.SENT


def test_a_stored_app_password_account_keeps_its_session_across_processes(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bluesky allows 30 logins in 5 minutes and 100 a day at bsky.social: each process
    that loaded an app-password account from the store logged in again (the store kept only
    the password), so `brandkit run --once` from cron every few minutes was locked out for
    the rest of the day. The session a login or refresh makes is stored with the record,
    and the next process reuses it: one login for several processes."""
    emu = BlueskyEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        handle = str(account.settings["handle"])
        monkeypatch.setenv("BK_TEST_APP_PASSWORD", account.secret("app_password") or "")
        argv = ["connect", "bluesky", handle, "--app-password-env", "BK_TEST_APP_PASSWORD"]
        argv += ["--base-url", emu.base_url, "--store", str(store), "--no-browser"]
        assert cli(*argv)[0] == 0
        logins = emu.count("POST", "/xrpc/com.atproto.server.createSession")
        for run in range(3):  # three processes, each loading the account afresh
            with EncryptedStore(store) as s:
                assert publish(Account.from_store(s, "bluesky"), f"run {run}") is (
                    DeliveryStatus.SENT
                )
        assert emu.count("POST", "/xrpc/com.atproto.server.createSession") == logins
        record = stored(store)["bluesky"]
        assert record["refresh_jwt"] and record["access_jwt"]
        # The session is as secret as the password: not in the account's repr.
        with EncryptedStore(store) as s:
            shown = repr(Account.from_store(s, "bluesky"))
        assert str(record["refresh_jwt"]) not in shown and str(record["access_jwt"]) not in shown
        emu.revoke_sessions()  # refresh refused: the next process logs in once, and stores it
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "bluesky"), "again") is DeliveryStatus.SENT
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "bluesky"), "and again") is DeliveryStatus.SENT
        assert emu.count("POST", "/xrpc/com.atproto.server.createSession") == logins + 1


def test_no_redirect_within_the_timeout(
    x_emu: XEmulator,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nobody opens the URL: the command gives up after --timeout with one line saying
    what to do, and stores nothing."""
    app = x_emu.oauth_app(redirect_uri="http://127.0.0.1:1/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret or "")
    started = time.monotonic()
    status, _ = cli(
        "connect", "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--store", str(store), "--no-browser", "--timeout", "0.5",
    )  # fmt: skip
    assert status == 1 and time.monotonic() - started < 10
    assert "no redirect came back within 0.5 s" in capsys.readouterr().err
    assert stored(store) == {}


def test_refused_consent_and_missing_secret(
    x_emu: XEmulator,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The user refuses: exit 1, nothing stored; an app secret missing from the
    environment is named before any request."""
    port = free_port()
    app = x_emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
    monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret or "")
    x_emu.deny_consent()
    status, _, _ = connect(
        "x", "--client-id", app.client_id, "--base-url", x_emu.base_url,
        "--port", str(port), "--store", str(store),
    )  # fmt: skip
    assert status == 1
    assert "refused" in capsys.readouterr().err
    assert stored(store) == {}
    monkeypatch.delenv("BRANDKIT_X_CLIENT_SECRET")
    status, _ = cli("connect", "facebook", "--client-id", "1", "--store", str(store))
    assert status == 1
    assert "$BRANDKIT_FACEBOOK_APP_SECRET" in capsys.readouterr().err


def test_connect_bluesky_with_oauth(store: Path) -> None:
    """``connect bluesky HANDLE`` without an app password runs Bluesky OAuth (PAR, PKCE,
    DPoP, brandkit.auth.bluesky) through the loopback redirect; the stored session posts
    and refreshes from the store."""
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        status, out, _ = connect(
            "bluesky", "brand.test", "--base-url", emu.base_url, "--plc-url", emu.base_url,
            "--store", str(store),
        )  # fmt: skip
        assert status == 0, out
        assert "(in 60 min)" in out
        first = stored(store)["bluesky"]
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "bluesky"), "via OAuth") is DeliveryStatus.SENT
        status, refreshed = cli("accounts", "refresh", "--store", str(store), "--force")
        assert status == 0 and "refreshed" in refreshed, refreshed
        assert stored(store)["bluesky"]["refresh_token"] != first["refresh_token"]
        with EncryptedStore(store) as s:
            assert publish(Account.from_store(s, "bluesky"), "refreshed") is DeliveryStatus.SENT


def test_connect_instagram(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``connect instagram``: Instagram Login's 60-day token and the media host stored with
    it; listed as refreshable."""
    emu = InstagramEmulator()
    with emu.serve():
        port = free_port()
        app = emu.oauth_app(
            redirect_uri=f"http://127.0.0.1:{port}/callback",
            scopes="instagram_business_basic,instagram_business_content_publish",
        )
        monkeypatch.setenv("BRANDKIT_INSTAGRAM_APP_SECRET", app.client_secret)
        host = {"put": emu.base_url + "/media/", "base_url": emu.base_url + "/media/"}
        status, out, _ = connect(
            "instagram", "--client-id", app.client_id, "--base-url", emu.base_url,
            "--port", str(port), "--store", str(store), "--media-host", json.dumps(host),
        )  # fmt: skip
        assert status == 0, out
        record = stored(store)["instagram"]
        assert record["media_host"] == host and record["long_lived"] is True
        (row,) = json.loads(cli("accounts", "list", "--store", str(store), "--json")[1])
        assert row["refreshable"] and "(in 60 days)" in row["expires"]


def test_usage_mistakes_are_named(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stray target, a media host that is not a JSON object, a timeout out of range:
    each one line saying what to fix, exit 1, before any request."""
    cases = [
        (["x", "https://x.com"], "takes no 'https://x.com'"),
        (["instagram", "--media-host", "[1]"], "--media-host must be a JSON object"),
        (["x", "--timeout", "0"], "--timeout must be more than 0"),
        (["mastodon"], "needs the instance URL"),
    ]
    for argv, said in cases:
        status, _ = cli("connect", *argv, "--store", str(store), "--no-browser")
        assert status == 1, argv
        assert said in capsys.readouterr().err, argv


def test_list_says_unknown_expiry_and_never(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refreshable token whose expiry the store does not know (an adapter refreshed it)
    is listed as ``unknown``, a Mastodon token as ``never``, an expired one as EXPIRED;
    without --store, $BRANDKIT_STORE names the store."""
    with EncryptedStore(store) as s:
        base = {"scopes": ["tweet.read"], "client_id": "app", "access_token": "a" * 20}
        s.put("x-unknown", {**base, "platform": "x", "refresh_token": "r" * 20})
        s.put("x-old", {**base, "platform": "x", "expires_at": time.time() - 5})
        s.put("masto", {**base, "platform": "mastodon", "instance_url": "https://m.example"})
    status, out = cli("accounts", "list", "--store", str(store), "--json")
    rows = {r["key"]: r for r in json.loads(out)}
    assert rows["x-unknown"]["expires"] == "unknown"
    assert rows["x-old"]["expires"].startswith("EXPIRED")
    assert not rows["x-old"]["refreshable"]
    assert rows["masto"]["expires"] == "never"
    assert "a" * 20 not in out and "r" * 20 not in out
    monkeypatch.setenv("BRANDKIT_STORE", str(store))
    status, table = cli("accounts", "list")
    assert status == 0 and "x-unknown" in table and "masto" in table


def test_emulated_client_ids_never_look_like_options(x_emu: XEmulator) -> None:
    """An X app's client id is base64 of ``<id>:1:ci``, as X's are: never starting with "-",
    which the command line would read as an option."""
    ids = {x_emu.oauth_app(redirect_uri="http://127.0.0.1:1/cb").client_id for _ in range(500)}
    assert len(ids) == 500
    assert not any(i.startswith("-") for i in ids)
    assert all(base64.urlsafe_b64decode(i + "==").endswith(b":1:ci") for i in ids)


def test_an_account_stored_meanwhile_under_the_key_is_not_written_over(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two ``connect`` runs for one key: the second to finish finds the first's account
    under it (checked under the store's lock, as it writes) and stores nothing, exit 1,
    rather than writing over an account the first run said it connected."""
    emu = MastodonEmulator()
    with emu.serve():
        run = Run(
            "connect", "mastodon", emu.base_url, "--store", str(store), "--key", "brand",
            "--no-browser", "--timeout", "20",
        )  # fmt: skip
        url = run.url()
        other = {"platform": "mastodon", "instance_url": emu.base_url, "access_token": "first"}
        other |= {"scopes": ["read", "write"], "client_id": "app"}
        with EncryptedStore(store) as s:
            s.put("brand", other)  # the other run, done while this one waited
        browse(url)
        status, out = run.wait()
        assert status == 1, out
        assert "already has an account 'brand'" in capsys.readouterr().err
        assert stored(store) == {"brand": other}
