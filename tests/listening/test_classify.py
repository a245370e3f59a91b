"""The listener's ``classify`` hook: called once per post new to a query (never again for
a post the query found before, whatever account or run reads it again), never while the
store's write lock is held, and a hook that raises leaves that post unlabelled instead of
losing the page and stopping the other queries."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
import pytest

from brandkit import Client, Inbox, Message, Query, RetryPolicy
from brandkit.listening import Listener
from brandkit.testing.x import XEmulator
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


def client(emu: XEmulator) -> Client:
    return Client(http=httpx.Client(transport=emu.transport()), retry=FAST)


def test_a_classify_that_raises_leaves_the_post_unlabelled_and_the_sync_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    for i in range(30):
        emu.audience(f"fan{i}").post(f"brandkit {i}" + (" weird" if i == 7 else ""), lang="en")
        emu.audience(f"r{i}").post(f"rivalco {i}", lang="en")

    def classify(message: Message) -> str:
        if "weird" in message.text:
            raise ValueError("the model could not label this post")
        return "ok"

    with (
        Listener(tmp_path / "l.db", classify=classify) as listener,
        caplog.at_level(logging.ERROR, logger="brandkit.listening"),
    ):
        listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=100)
        listener.watch("rival", Query(any=["rivalco"]), accounts=[brand], budget=100)
        with client(emu) as c:
            runs = listener.sync(c, force=True)
            assert [(r.name, r.found, r.read, r.error) for r in runs] == [
                ("brand", 30, 30, None),
                ("rival", 30, 30, None),
            ]
            # Stored and counted: the next sync reads nothing again.
            assert [r.read for r in listener.sync(c, force=True)] == [0, 0]
        assert listener.spent("brand", brand.key) == 30 == listener.spent("rival", brand.key)
        assert emu.posts_read == 60
        assert listener.labels("brand") == {"ok": 29}
        assert listener.labels("rival") == {"ok": 30}
        found = listener.messages("brand")
        assert len(found) == 30
        (weird,) = [m for m in found if "weird" in m.text]
        assert listener.messages("brand", label="ok") == [m for m in found if m != weird]
    (failed,) = [r for r in caplog.records if r.name.startswith("brandkit.listening")]
    assert failed.exc_info is not None and failed.levelno == logging.ERROR
    assert "brand" in failed.getMessage() and weird.key in failed.getMessage()


def test_classify_runs_once_per_post_new_to_the_query(tmp_path: Path) -> None:
    """Two accounts find the same posts, and a replaced query reads them again from the
    start: each post is classified once for the query (and once more for another query,
    whose label is its own)."""
    emu = XEmulator()
    one = emu.account(name="brand", known_user=True)
    two = emu.account(name="second", known_user=True)
    for i in range(20):
        emu.audience(f"fan{i}").post(f"brandkit {i}", lang="en")
    calls: Counter[tuple[str, str]] = Counter()
    path = tmp_path / "l.db"

    def classify(message: Message) -> str:
        calls[message.platform, message.id] += 1
        # The hook may be slow (a paid model): the store's write lock must be free.
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        return "pos"

    with Listener(path, classify=classify) as listener, client(emu) as c:
        listener.watch("brand", Query(any=["brandkit"]), accounts=[one, two])
        assert [r.found for r in listener.sync(c, force=True)] == [20, 0]
        assert len(calls) == 20 and set(calls.values()) == {1}
        listener.watch("brand", Query(any=["brandkit"], exclude=["spam"]), accounts=[one, two])
        assert [r.found for r in listener.sync(c, force=True)] == [0, 0]
        assert set(calls.values()) == {1}
        assert listener.labels("brand") == {"pos": 20}
        listener.watch("also", Query(any=["brandkit"]), accounts=[one])
        assert [r.found for r in listener.sync(c, force=True) if r.name == "also"] == [20]
        assert set(calls.values()) == {2}
        assert listener.labels("also") == {"pos": 20}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "l.db")
    url: str = request.getfixturevalue("postgres_db")
    return url


def test_a_label_that_is_not_text_leaves_the_post_unlabelled_on_every_store(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook's label is text: a number (a model's score) was stored as its text on a file
    and failed the whole page on PostgreSQL (its column is text), a NUL was refused there
    alone. Each such post is stored unlabelled on both, and the log says what to return."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    labels: dict[str, object] = {"score": 0.8, "nul": "ok\x00", "long": "x" * 1001, "fine": "ok"}
    for word in labels:
        emu.audience(f"fan-{word}").post(f"brandkit {word}", lang="en")

    def classify(message: Message) -> str:
        return labels[message.text.split()[1]]  # type: ignore[return-value]

    inbox = Inbox(store_url, prefix="cls_") if store_url.startswith("postgres") else None
    listener = Listener(inbox if inbox is not None else store_url, classify=classify)
    try:
        with caplog.at_level(logging.ERROR, logger="brandkit.listening"):
            listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=100)
            with client(emu) as c:
                (run,) = listener.sync(c, force=True)
        assert (run.found, run.read, run.error) == (4, 4, None)
        assert listener.labels("brand") == {"ok": 1}
        assert listener.count("brand") == 4
    finally:
        listener.close()
        if inbox is not None:
            inbox.close()
    said = sorted(r.getMessage() for r in caplog.records if r.name.startswith("brandkit."))
    assert len(said) == 3, said
    assert any("0.8" in s and "float" in s for s in said)
    assert all("return text" in s for s in said)
    assert not any("\x00" in s for s in said)
