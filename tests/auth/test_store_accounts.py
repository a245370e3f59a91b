"""Accounts kept in the encrypted credential store (issue 15): a connected account is
stored as a record, loaded back by key, refreshed ahead of its expiry under the store's
lock (by `load_account`, `refresh_due` and the outbox worker), and an adapter's own refresh
is written back; the store file never holds a token in clear."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, XCredentials
from brandkit.auth._records import refresh_record
from brandkit.auth.store import new_key
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox, Worker
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import OAuthApp, XEmulator

from .conftest import REDIRECT, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
EMULATOR = XEmulator  # served as the emu fixture (conftest), with the app of SCOPES
DAY = 86_400.0


def connect_x(emu: XEmulator, app: OAuthApp) -> XCredentials:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    return auth.x.finish(start, consent(start.url), client_secret=app.client_secret)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def test_load_by_key_and_post(emu: XEmulator, app: OAuthApp, store: EncryptedStore) -> None:
    """A stored X account loads by key (Account.from_store) and posts; a missing key is a
    ConfigurationError that says how to connect."""
    creds = connect_x(emu, app)
    store.put("acme-x", auth.record_of(creds, client_secret=app.client_secret))
    account = Account.from_store(store, "acme-x")
    assert account.name == "acme-x" and account.platform == "x"
    assert post(account, "from the store") is DeliveryStatus.SENT
    with pytest.raises(ConfigurationError, match="brandkit connect"):
        Account.from_store(store, "nobody")


def test_due_token_is_refreshed_on_load_and_stored(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore
) -> None:
    """A token within five minutes of expiry is refreshed before the account is made: the
    store keeps the rotated refresh token, the old one is spent, and the account posts."""
    creds = connect_x(emu, app)
    record = auth.record_of(creds, client_secret=app.client_secret)
    record["expires_at"] = time.time() + 120  # due: inside X's five-minute margin
    store.put("acme-x", record)
    account = auth.load_account(store, "acme-x")
    stored = store.get("acme-x")
    assert stored is not None
    assert stored["access_token"] != record["access_token"]
    assert stored["refresh_token"] != record["refresh_token"]
    assert stored["client_secret"] == app.client_secret  # extras survive a refresh
    assert stored["expires_at"] > time.time() + 7000
    assert account.secret("user_token") == stored["access_token"]
    assert record["refresh_token"] not in emu._refresh  # spent once, by the refresh
    assert post(account, "refreshed first") is DeliveryStatus.SENT


def test_refresh_due_reports_each_account(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore
) -> None:
    """refresh_due refreshes what is due, leaves the rest, and says why for each."""
    fresh = connect_x(emu, app)
    due = connect_x(emu, app)
    store.put("fresh", auth.record_of(fresh, client_secret=app.client_secret))
    rec = auth.record_of(due, client_secret=app.client_secret)
    rec["expires_at"] = time.time() + 10
    store.put("due", rec)
    oauth1_app = emu.oauth1_app(callback=REDIRECT)
    start = auth.x.start_oauth1(
        oauth1_app.consumer_key, oauth1_app.consumer_secret, REDIRECT, base_url=emu.base_url
    )
    one = auth.x.finish_oauth1(
        start, consent(start.url), consumer_secret=oauth1_app.consumer_secret
    )
    store.put("oauth1", auth.record_of(one, client_secret=oauth1_app.consumer_secret))
    assert auth.refresh_due(store) == {
        "due": "refreshed",
        "fresh": "not due",
        "oauth1": "not refreshable",
    }
    assert post(Account.from_store(store, "oauth1"), "signed") is DeliveryStatus.SENT


@pytest.mark.parametrize("margin", [float("nan"), float("inf"), -1.0, True, "60"])
def test_refresh_due_refuses_a_margin_that_is_no_seconds(
    store: EncryptedStore, margin: object
) -> None:
    """NaN made every token "not due": a daily job refreshed nothing and reported it so."""
    store.put("x", {"platform": "x", "access_token": "t"})
    with pytest.raises(ConfigurationError, match="margin="):
        auth.refresh_due(store, margin=margin)  # type: ignore[arg-type]


def test_adapter_refresh_is_written_back(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore
) -> None:
    """When the adapter refreshes by itself (a 401 after the token was revoked early), the
    new tokens reach the store, and the account loads from it again."""
    store.put("acme-x", auth.record_of(connect_x(emu, app), client_secret=app.client_secret))
    account = Account.from_store(store, "acme-x")
    emu.expire_tokens()
    assert post(account, "after a 401") is DeliveryStatus.SENT
    stored = store.get("acme-x")
    assert stored is not None
    assert stored["access_token"] == account.secret("user_token")
    assert stored["refresh_token"] == account.secret("refresh_token")
    assert post(Account.from_store(store, "acme-x"), "again") is DeliveryStatus.SENT


def test_worker_refreshes_ahead_of_expiry(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore, tmp_path: Path
) -> None:
    """The outbox worker, given the store, refreshes a due token before publishing: the
    account publishes with the new token and the store holds it."""
    creds = connect_x(emu, app)
    record = auth.record_of(creds, client_secret=app.client_secret)
    store.put("acme-x", record)
    account = Account.from_store(store, "acme-x")
    due = {**record, "expires_at": time.time() + 60}
    store.put("acme-x", due)
    with Outbox(tmp_path / "outbox.db") as box, Client(outbox=box, retry=FAST) as client:
        box.add(Post(text="worker"), account)
        with Worker(box, [account], client=client, credentials=store) as worker:
            (done,) = worker.run_once()
    assert done.status is DeliveryStatus.SENT
    stored = store.get("acme-x")
    assert stored is not None and stored["access_token"] != record["access_token"]
    assert account.secret("user_token") == stored["access_token"]
    assert account.secret("refresh_token") == stored["refresh_token"]


def test_threads_and_linkedin_refresh_from_the_store(store: EncryptedStore) -> None:
    """The 60-day tokens: a Threads token a day old and a week from expiry is refreshed
    (th_refresh_token), as is a LinkedIn token with a refresh token."""
    threads = ThreadsEmulator()
    linkedin = LinkedInEmulator()
    with threads.serve(), linkedin.serve():
        t_app = threads.oauth_app(
            redirect_uri=REDIRECT, scopes=["threads_basic", "threads_content_publish"]
        )
        start = auth.threads.start(
            t_app.client_id, REDIRECT, ["threads_basic"], base_url=threads.base_url
        )
        t = auth.threads.finish(start, consent(start.url), client_secret=t_app.client_secret)
        rec = auth.record_of(t)
        rec["issued_at"] = time.time() - 54 * DAY
        rec["expires_at"] = time.time() + 6 * DAY
        store.put("t", rec)
        threads.clock.advance(timedelta(days=2))

        scopes = ["w_member_social", "openid", "profile"]
        l_app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=scopes, refresh_tokens=True)
        start = auth.linkedin.start(l_app.client_id, REDIRECT, scopes, base_url=linkedin.base_url)
        li = auth.linkedin.finish(start, consent(start.url), client_secret=l_app.client_secret)
        lrec = auth.record_of(li, client_secret=l_app.client_secret, author="urn:li:person:x")
        lrec["expires_at"] = time.time() + DAY
        store.put("l", lrec)

        outcomes = auth.refresh_due(store)
        assert outcomes == {"l": "refreshed", "t": "refreshed"}, outcomes
        assert auth.expiry_of(store.get("t") or {}).expires_at > time.time() + 59 * DAY
        assert (store.get("l") or {})["author"] == "urn:li:person:x"


def test_a_linkedin_refresh_token_past_its_year_is_not_refreshable(
    store: EncryptedStore,
) -> None:
    """LinkedIn's refresh tokens end 365 days after the first connection
    (refresh_expires_at): past that the account says so and no refresh is sent (it was
    listed as refreshable, and a refresh was tried and refused)."""
    linkedin = LinkedInEmulator()
    with linkedin.serve():
        scopes = ["w_member_social", "openid", "profile"]
        app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=scopes, refresh_tokens=True)
        start = auth.linkedin.start(app.client_id, REDIRECT, scopes, base_url=linkedin.base_url)
        li = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
        record = auth.record_of(li, client_secret=app.client_secret, author="urn:li:person:x")
        assert auth.expiry_of(record).refreshable
        record["expires_at"] = time.time() + 60
        record["refresh_expires_at"] = time.time() - DAY
        store.put("l", record)
        sent = len(linkedin.requests)
        expiry = auth.expiry_of(record)
        assert not expiry.refreshable
        assert "refresh token expired" in expiry.why and "connect again" in expiry.why
        assert expiry.dead  # the account must be connected again
        assert auth.refresh_due(store)["l"].startswith("expired: the refresh token expired")
        with pytest.raises(ConfigurationError, match="refresh token expired"):
            refresh_record(record)
        assert len(linkedin.requests) == sent
        # A day before its end the same record still refreshes.
        assert auth.expiry_of(record, now=record["refresh_expires_at"] - DAY).refreshable


def test_store_file_holds_no_token(emu: XEmulator, app: OAuthApp, store: EncryptedStore) -> None:
    """The store file holds none of the tokens or secrets in clear."""
    creds = connect_x(emu, app)
    record = auth.record_of(creds, client_secret=app.client_secret)
    store.put("acme-x", record)
    raw = Path(store.path).read_bytes()
    for value in (record["access_token"], record["refresh_token"], app.client_secret):
        assert value.encode() not in raw


def test_brandkit_run_serves_the_accounts_of_the_store(
    emu: XEmulator, app: OAuthApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`brandkit run --once --store` publishes for an account that exists only in the
    credential store, refreshing its due token first and keeping the new one there."""
    from brandkit.cli import main

    key = new_key()
    monkeypatch.setenv("BRANDKIT_STORE_KEY", key)
    path = tmp_path / "credentials.db"
    with EncryptedStore(path) as store:
        record = auth.record_of(connect_x(emu, app), client_secret=app.client_secret)
        store.put("acme-x", {**record, "expires_at": time.time() + 60})
        account = Account.from_store(store, "acme-x", refresh=False)
    db = tmp_path / "outbox.db"
    with Outbox(db) as box:
        box.add(Post(text="queued for a stored account"), account)
    status = main(["run", "--once", "--db", str(db), "--store", str(path)])
    assert status == 0
    assert emu.post_texts() == ["queued for a stored account"]
    with EncryptedStore(path) as store:
        stored = store.get("acme-x")
    assert stored is not None and stored["access_token"] != record["access_token"]


def test_brandkit_run_needs_accounts_from_somewhere(tmp_path: Path) -> None:
    from brandkit.cli import main

    assert main(["run", "--once", "--db", str(tmp_path / "o.db"), "--create"]) == 1
