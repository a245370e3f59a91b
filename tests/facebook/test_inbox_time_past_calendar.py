"""A comment whose ``created_time`` no UTC datetime holds is a malformed answer, as one
whose ``created_time`` is not a Graph time is: a typed error, never an OverflowError."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from brandkit import Client, MalformedResponse, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    """A Facebook emulator served on 127.0.0.1."""
    emu = FacebookEmulator()
    with emu.serve():
        yield emu


def test_a_comment_time_past_year_9999_in_utc_is_a_malformed_answer(
    emu: FacebookEmulator,
) -> None:
    """``9999-12-31T23:59:59-0100`` is past year 9999 once written in UTC: the read used to
    end in an ``OverflowError`` while the message wrote it in UTC."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        emu.audience("fan").comment(d.ids[0], "nice")
        assert len(client.inbox(account).messages) == 1
        feed = r"/v[\d.]+/\d+/feed"
        (read,) = [r for r in emu.requests if r.method == "GET" and re.fullmatch(feed, r.url.path)]
        body = httpx.get(str(read.url), headers=read.headers).json()
        (comment,) = body["data"][0]["comments"]["data"]
        comment["created_time"] = "9999-12-31T23:59:59-0100"
        emu.fault(method="GET", path=read.url.path, status=200, body=body, times=5)
        with pytest.raises(MalformedResponse, match="created_time"):
            client.inbox(account)
