"""Facebook inbox reads under a busy audience (`busy_session`, seeded): every comment is
given exactly once across the reads, and none is left behind once the audience is quiet."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import busy_session

pytestmark = pytest.mark.usefixtures("emulator_clock", "small_pages")


@pytest.mark.parametrize("seed", range(6))
def test_each_comment_is_given_exactly_once(emu: FacebookEmulator, seed: int) -> None:
    account = emu.account()
    with Client(http=httpx.Client(transport=emu.transport()), retry=FAST) as client:
        posts = [client.publish(Post(text=f"post {j}"), account)[0].ids[0] for j in range(4)]
        written, given = busy_session(emu, client, account, posts, seed)
    assert written
    twice = sorted(text for text, n in given.items() if n > 1)
    never = [text for text in written if text not in given]
    assert (twice, never) == ([], [])
    assert set(given) == set(written)
