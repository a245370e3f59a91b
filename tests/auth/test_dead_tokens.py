"""A stored credential that has died (a Threads or Instagram long-lived token past its 60
days: Meta refreshes only a token that has not expired; a LinkedIn refresh token past its
365 days) is not refreshable and nothing is sent for it: `refresh_due` says ``expired``,
``brandkit accounts list`` says it must be connected again and how, and ``brandkit accounts
refresh`` exits 1 naming it and the command that connects it again, so that a cron job
alerts. Before, an expired Meta token was listed "EXPIRED ... yes" and sent to Meta every
day, and an expired LinkedIn refresh token was "not refreshable" with exit 0. Emulators
over a socket, a real store file."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brandkit import auth
from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.threads import ThreadsEmulator

from .conftest import REDIRECT, consent

DAY = 86_400.0
META = {
    "threads": (ThreadsEmulator, ["threads_basic", "threads_content_publish"]),
    "instagram": (
        InstagramEmulator,
        ["instagram_business_basic", "instagram_business_content_publish"],
    ),
}


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    return tmp_path / "credentials.db"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


@pytest.fixture(params=sorted(META))
def meta(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    cls, _ = META[request.param]
    emulator = cls()
    with emulator.serve():
        yield request.param, emulator


def meta_record(platform: str, emu: Any) -> dict[str, Any]:
    """A long-lived token of ``emu``'s user, whose 60 days ended yesterday."""
    scopes = META[platform][1]
    login = getattr(auth, platform)
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
    start = login.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
    creds = login.finish(start, consent(start.url), client_secret=app.client_secret)
    assert creds.long_lived
    record = auth.record_of(creds)
    record["issued_at"] = time.time() - 61 * DAY
    record["expires_at"] = time.time() - DAY
    return record


def test_an_expired_meta_token_is_dead(meta: tuple[str, Any], path: Path) -> None:
    platform, emu = meta
    record = meta_record(platform, emu)
    with EncryptedStore(path) as store:
        store.put("brand", record)
    expiry = auth.expiry_of(record)
    assert not expiry.refreshable and expiry.dead
    assert "connect again" in expiry.why
    # A day before its end the same token still refreshes.
    assert auth.expiry_of(record, now=record["expires_at"] - DAY).refreshable
    assert not auth.expiry_of(record, now=record["expires_at"] - DAY).dead
    sent = emu.count("GET", r"/refresh_access_token")

    with EncryptedStore(path) as store:
        outcome = auth.refresh_due(store, force=True)["brand"]
    assert outcome.startswith("expired: "), outcome

    status, out = run("accounts", "list", "--store", str(path))
    assert status == 0
    (line,) = [x for x in out.splitlines() if x.startswith("brand ")]
    assert "EXPIRED" in line and " yes" not in line
    assert "connect again" in line and f"brandkit connect {platform} " in line

    status, out = run("accounts", "refresh", "--store", str(path))
    assert status == 1, out
    assert "brand" in out and f"brandkit connect {platform} " in out and "--key brand" in out
    status, out = run("accounts", "refresh", "--store", str(path), "--json")
    assert status == 1
    (row,) = json.loads(out)
    assert row["outcome"].startswith("expired: ")
    assert row["connect_again"].startswith(f"brandkit connect {platform} ")
    assert emu.count("GET", r"/refresh_access_token") == sent  # nothing asked of Meta
    assert record["access_token"] not in out


def test_an_expired_linkedin_refresh_token_fails_the_refresh_job(path: Path) -> None:
    emu = LinkedInEmulator()
    with emu.serve():
        scopes = ["w_member_social", "openid", "profile"]
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes, refresh_tokens=True)
        start = auth.linkedin.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        li = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
        record = auth.record_of(li, client_secret=app.client_secret, author="urn:li:person:x")
        record["expires_at"] = time.time() - 60
        record["refresh_expires_at"] = time.time() - DAY
        with EncryptedStore(path) as store:
            store.put("acme-li", record)
            store.put(
                "masto",
                {
                    "platform": "mastodon",
                    "instance_url": "https://social.example",
                    "access_token": "t" * 20,
                    "scopes": ["read"],
                    "client_id": "app",
                },
            )
        sent = len(emu.requests)
        assert auth.expiry_of(record).dead

        status, out = run("accounts", "refresh", "--store", str(path))
        assert status == 1, out
        lines: dict[str, str] = {}
        for line in out.splitlines():
            lines.setdefault(line.split()[0], line)  # each account's outcome line
        assert "expired: " in lines["acme-li"]
        assert "brandkit connect linkedin " in out and "--author urn:li:person:x" in out
        assert "not refreshable" in lines["masto"]  # a token that never expires is fine
        assert len(emu.requests) == sent
        assert app.client_secret not in out
