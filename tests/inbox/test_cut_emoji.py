"""A text cut between the two halves of an emoji reaches the JSON as a lone surrogate
escape (``"\\ud83d"``), which pydantic's JSON reader refuses: one such message made its
whole page a `MalformedResponse`, and as the cursor never moved past it, that inbox (or
search) was stuck for good. Python's reader takes it; the half is stored as U+FFFD and the
rest of the page with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from brandkit import Client, Inbox, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.platforms._base import readable_json
from brandkit.testing import Emulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

CUT = "launch day \ud83d"
FAST = RetryPolicy(initial=0.001, max_backoff=0.01)


# X's texts are UTF-16 inside and have been cut mid-emoji; a Mastodon answer goes through
# the same reader. (A Bluesky record is UTF-8 on the wire: it cannot hold a lone half.)
@pytest.mark.parametrize("make", [XEmulator, MastodonEmulator], ids=["x", "mastodon"])
def test_a_cut_emoji_does_not_stop_the_inbox(make: Callable[[], Emulator], tmp_path: Path) -> None:
    emu = make()
    with emu.serve():
        account = emu.account(name="brand")
        with Client(retry=FAST, governor=NullGovernor()) as client:
            (d,) = client.publish(Post(text="We launched"), account)
            assert d.ok
            emu.audience("fan1").reply(d.ids[0], "congrats \U0001f389")
            emu.audience("fan2").reply(d.ids[0], CUT)
            emu.audience("fan3").mention("see you there")
            with Inbox(tmp_path / "inbox.db") as inbox:
                report = inbox.sync(client, [account])
                assert report.errors == {}
                texts = sorted(m.text for m in inbox.messages())
    assert any("launch day \ufffd" in t for t in texts)
    assert any("congrats \U0001f389" in t for t in texts)
    assert any("see you there" in t for t in texts)
    assert len(texts) == 3


def test_readable_json_replaces_only_lone_halves() -> None:
    body = b'{"a": "\\ud83d", "b": "\\ud83c\\udf89", "c": "\\\\ud83d", "d": ["\\udf89x"]}'
    assert readable_json(body) == {
        "a": "\ufffd",
        "b": "\U0001f389",
        "c": "\\ud83d",
        "d": ["\ufffdx"],
    }
    assert readable_json(b"not json") is None
    assert readable_json(b"[" * 100_000 + b"]" * 100_000) is None
