"""A delivery that broke off (its attempt raised before any request) is logged with the
error's words escaped: they may be a platform's or a user's, and a line break in them
forged a log line, an escape sequence reached the terminal tailing the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from brandkit import BrandkitError, Client, Outbox, Post
from brandkit.testing.mastodon import MastodonEmulator

EVIL = "refused\n2026-12-07 WARNING brandkit: all good \x1b[2J"


class _Refusing(Client):
    def _deliver(self, delivery: Any, account: Any = None) -> Any:
        raise BrandkitError(EVIL)


def test_a_broken_off_delivery_is_logged_escaped(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emu = MastodonEmulator()
    one, two = emu.account(name="one"), emu.account(name="two")
    with (
        Outbox(tmp_path / "outbox.db") as outbox,
        _Refusing(outbox=outbox, http=httpx.Client(transport=emu.transport())) as client,
        caplog.at_level(logging.WARNING, logger="brandkit"),
    ):
        deliveries = client.publish(Post(text="hello"), [one, two])
        stored = outbox.list()
    assert len(deliveries) == 2
    lines = [r.getMessage() for r in caplog.records if "broke off" in r.getMessage()]
    assert len(lines) == 2
    for line in lines:
        assert "\n" not in line and "\x1b" not in line
        assert "refused\\n2026-12-07 WARNING" in line and "\\x1b[2J" in line
    # What is stored keeps the words as they were: only the log line is escaped.
    assert [str(d.error) for d in stored] == [EVIL, EVIL]
