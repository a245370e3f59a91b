"""Bad arguments to the outbox are typed errors that say what to pass, never a Python
error from deep inside (an AttributeError, an OverflowError)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Client, Post
from brandkit.errors import ConfigurationError, ContentError
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "timeout", [-1, float("nan"), float("inf"), "soon", True, None, 10 * 86_400.0]
)
def test_a_bad_timeout_is_refused(db: Path | str, timeout: object) -> None:
    """A timeout that is not a finite number of seconds from 0 is refused when the outbox
    opens (an endless wait, or a wait that ends at once for a negative one, is not what
    the caller meant)."""
    with pytest.raises(ConfigurationError, match="timeout"):
        Outbox(db, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("when", ["2026-11-26T12:00:00Z", 1764158400, date(2026, 11, 26)])
def test_a_time_that_is_not_a_datetime_is_refused(
    db: Path | str, emu: OutboxNetEmulator, when: object
) -> None:
    """``now=`` and ``retry_at=`` take aware datetimes; anything else says so."""
    with Outbox(db) as box:
        box.add(Post(text="x"), emu.account())
        with pytest.raises(ConfigurationError, match="datetime"):
            box.claim(when)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="datetime"):
            box.due(when)  # type: ignore[arg-type]
        (taken,) = box.claim(T0)
        with pytest.raises(ConfigurationError, match="datetime"):
            box.release(taken.id, retry_at=when)  # type: ignore[arg-type]


def test_a_naive_retry_time_is_refused(db: Path | str, emu: OutboxNetEmulator) -> None:
    """A retry time without a zone is refused on PostgreSQL as on SQLite (read as UTC
    there, it would be hours off for a caller in another zone)."""
    with Outbox(db) as box:
        (d,) = box.add(Post(text="x"), emu.account())
        (taken,) = box.claim(T0)
        with pytest.raises(ConfigurationError, match="timezone-aware"):
            box.release(taken.id, retry_at=datetime(2026, 11, 27, 9, 0))
        stored = box.get(d.id)
        assert stored is not None
        assert box.due(T0) == []  # still held: nothing was written


def test_accounts_that_are_not_accounts_are_refused(db: Path | str, emu: OutboxNetEmulator) -> None:
    """``add`` takes an Account or a list of them: a key, or the mapping Account.load
    returns, is refused with what to pass, and nothing is written."""
    acct = emu.account()
    with Outbox(db) as box:
        for bad in ({"main": acct}, acct.key, [acct, acct.key], None, 5):
            with pytest.raises(ConfigurationError, match="Account"):
                box.add(Post(text="x"), bad)  # type: ignore[arg-type]
        assert box.list() == []
        # What Account.load's mapping gives as its accounts, and any other iterable, is fine.
        (one,) = box.add(Post(text="x"), {"main": acct}.values())  # type: ignore[arg-type]
        (two,) = box.add(Post(text="y"), (a for a in [acct]))  # type: ignore[arg-type]
        assert one.account == two.account == acct.key


def test_account_keys_given_as_one_string_are_refused(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """``accounts=`` takes a list of keys: a single key was read as its characters, so a
    claim for ``"outboxnet:outboxnet"`` took nothing, and said nothing."""
    acct = emu.account()
    with Outbox(db) as box:
        box.add(Post(text="x"), acct)
        for bad in (acct.key, [acct], [5]):
            with pytest.raises(ConfigurationError, match="account keys"):
                box.claim(T0, accounts=bad)  # type: ignore[arg-type]
            with pytest.raises(ConfigurationError, match="account keys"):
                box.due(T0, accounts=bad)  # type: ignore[arg-type]
            with pytest.raises(ConfigurationError, match="account keys"):
                box.next_due(bad)  # type: ignore[arg-type]
        assert [d.account for d in box.claim(T0, accounts=(acct.key,))] == [acct.key]


@pytest.mark.parametrize("post", ["hello", None, {"text": "hello"}])
def test_a_post_that_is_not_a_post_is_refused(
    db: Path | str, emu: OutboxNetEmulator, post: object
) -> None:
    """``add`` takes a Post or an Article; anything else says so, and nothing is written."""
    with Outbox(db) as box:
        with pytest.raises(ConfigurationError, match="Post"):
            box.add(post, emu.account())  # type: ignore[arg-type]
        assert box.list() == []


@pytest.mark.parametrize("accounts", ["outboxnet:outboxnet", ["outboxnet:outboxnet"], 5])
def test_configured_accounts_that_are_not_accounts_are_refused(
    db: Path | str, accounts: object
) -> None:
    """``Outbox(accounts=...)`` (and `use_accounts`) take Accounts, or the mapping
    Account.load returns: a key or a list of keys says so, not an AttributeError."""
    with pytest.raises(ConfigurationError, match="Account"):
        Outbox(db, accounts=accounts)  # type: ignore[arg-type]
    with Outbox(db) as box, pytest.raises(ConfigurationError, match="Account"):
        box.use_accounts(accounts)  # type: ignore[arg-type]


def test_a_redis_url_is_refused_not_read_as_a_path(tmp_path: Path, monkeypatch: Any) -> None:
    """``Outbox("redis://…")`` made an SQLite file named after the URL (its password in the
    file name) and said nothing; it is refused, without the password."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as refused:
        Outbox("redis://user:s3cret-pw@127.0.0.1:6379/0")
    assert "s3cret-pw" not in str(refused.value)
    assert "postgresql://" in str(refused.value)
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_a_schedule_with_no_utc_time_is_refused(
    db: Path | str, emu: OutboxNetEmulator, when: datetime
) -> None:
    """The outbox keeps times in UTC: a post scheduled for a time that has none (year 10000
    or year 0 once its offset is taken away) is a ContentError naming ``scheduled_at``, from
    ``add`` and from a publish through a client with an outbox, and nothing is written or
    sent. It raised a bare OverflowError from deep inside the store. (`Post` refuses such
    a time itself; a copy made with ``model_copy(update=)``, which pydantic does not check,
    still meets the outbox's own check.)"""
    with pytest.raises(ContentError, match="scheduled_at"):
        Post(text="x", scheduled_at=when)
    post = Post(text="x").model_copy(update={"scheduled_at": when})
    with Outbox(db) as box:
        with pytest.raises(ContentError, match="scheduled_at") as caught:
            box.add(post, emu.account())
        assert caught.value.field == "scheduled_at"
        with (
            Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client,
            pytest.raises(ContentError, match="scheduled_at"),
        ):
            client.publish(post, [emu.account(), emu.account(name="other")])
        assert box.list() == []
    assert emu.posts == []


def test_a_time_with_no_utc_time_is_refused(db: Path | str, emu: OutboxNetEmulator) -> None:
    """``now=`` and ``retry_at=`` are kept in UTC: one that has no UTC time is refused with
    what to pass, not a bare OverflowError, and nothing is written."""
    early = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with Outbox(db) as box:
        box.add(Post(text="x"), emu.account())
        for when in (early, late):
            with pytest.raises(ConfigurationError, match="out of range"):
                box.due(when)
            with pytest.raises(ConfigurationError, match="out of range"):
                box.claim(when)
        (taken,) = box.claim(T0)
        with pytest.raises(ConfigurationError, match="out of range"):
            box.release(taken.id, retry_at=late)
        assert box.due(T0) == []  # still held: nothing was written
