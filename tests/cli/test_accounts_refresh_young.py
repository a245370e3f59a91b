"""``brandkit accounts refresh --force`` in a daily job, the day a Threads or Instagram
account was connected: Meta refreshes a long-lived token only once it is a day old, so the
account is skipped with a line saying when it can be (no request is sent), and the job
exits 0 when nothing else failed. Before, Meta's refusal was a failure: exit 1 every time
the job ran within a day of a connection. Threads emulator over a socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import auth
from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.testing.threads import ThreadsEmulator
from tests.auth.conftest import REDIRECT, consent

from .conftest import cli

SCOPES = ["threads_basic", "threads_content_publish"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    return tmp_path / "credentials.db"


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    emulator = ThreadsEmulator()
    with emulator.serve():
        yield emulator


def test_a_forced_refresh_skips_a_meta_token_less_than_a_day_old(
    emu: ThreadsEmulator, store: Path
) -> None:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    start = auth.threads.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.threads.finish(start, consent(start.url), client_secret=app.client_secret)
    assert creds.long_lived
    with EncryptedStore(store) as s:
        s.put("brand-threads", auth.record_of(creds))
    before = emu.count("GET", r"/refresh_access_token")

    status, out = cli("accounts", "refresh", "--store", str(store), "--force", "--json")
    assert status == 0, out
    (row,) = json.loads(out)
    assert row["outcome"].startswith("not refreshable yet"), row
    assert "a day old" in row["outcome"]
    assert emu.count("GET", r"/refresh_access_token") == before  # nothing asked of Meta
    with EncryptedStore(store) as s:
        assert (s.get("brand-threads") or {})[
            "access_token"
        ] == creds.access_token.get_secret_value()

    status, out = cli("accounts", "refresh", "--store", str(store), "--force")
    assert status == 0 and "brand-threads" in out and "not refreshable yet" in out
