"""A platform's error of megabytes (a broken proxy, a hostile server) is cut before it is
kept: in the error, the outbox row, its history and the logs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.errors import MAX_MESSAGE, PlatformError, Rejected
from brandkit.outbox import Outbox
from brandkit.testing.mastodon import MastodonEmulator


def test_a_long_message_is_cut_and_says_so() -> None:
    """Message and platform message keep at most MAX_MESSAGE characters and say how many
    were cut; short ones are unchanged."""
    long = "no " * 1_000_000
    err = Rejected(f"mastodon refused: {long}", platform="mastodon", platform_message=long)
    assert len(str(err)) < MAX_MESSAGE + 100
    assert err.platform_message is not None
    assert len(err.platform_message) < MAX_MESSAGE + 100
    assert err.platform_message.endswith("more characters cut]")
    kept = len(err.platform_message.split("…")[0])
    assert f"{len(long) - kept:,} more characters cut" in err.platform_message
    short = PlatformError("busy", platform_message="Service Unavailable", code="E1")
    assert (str(short), short.platform_message, short.code) == ("busy", "Service Unavailable", "E1")
    assert len(str(PlatformError("x", code="C" * 10**6).code)) < MAX_MESSAGE + 100


def test_a_word_the_cut_would_split_is_left_out_whole() -> None:
    """A token quoted across the cut is not kept in part (redaction, by exact match later,
    would miss half a token)."""
    token = "sekrit" * 20
    text = "a" * (MAX_MESSAGE - 10) + " " + token + " tail"
    err = PlatformError(text, platform_message=text)
    assert "sekrit" not in str(err) and "sekrit" not in (err.platform_message or "")
    whole = "x" * (MAX_MESSAGE * 2)  # one word longer than the bound: none of it is kept
    assert str(PlatformError(whole)).startswith("… [")


def test_a_megabyte_refusal_is_stored_cut(tmp_path: Path) -> None:
    """Mastodon answers 422 with a 2 MB error: the delivery fails with the error cut, and
    the outbox row and its history hold the cut text, not megabytes."""
    emu = MastodonEmulator()
    huge = "Validation failed: " + "text is too long " * 120_000
    db = tmp_path / "outbox.db"
    with emu.serve():
        account = emu.account()
        emu.fault(method="POST", path="/api/v1/statuses", status=422, body={"error": huge})
        with (
            Outbox(db) as outbox,
            Client(outbox=outbox, retry=RetryPolicy(initial=0.01, max_backoff=0.05)) as client,
        ):
            (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, PlatformError)
    assert len(str(d.error)) < MAX_MESSAGE + 200
    with sqlite3.connect(db) as conn:
        (data,) = conn.execute("SELECT data FROM outbox_deliveries").fetchone()
        notes = [n for (n,) in conn.execute("SELECT note FROM outbox_events") if n]
    stored = json.loads(data)["error"]
    assert len(stored["platform_message"]) < MAX_MESSAGE + 100
    assert len(data) < 3 * MAX_MESSAGE + 2000
    assert all(len(n) < 2 * MAX_MESSAGE + 500 for n in notes)
