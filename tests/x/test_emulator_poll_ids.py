"""A poll's id is a snowflake no post, upload or user of the X emulator ever shares: a post
made later at the same millisecond (a backdated one) takes the next free id, so looking the
poll's id up as a post finds nothing. Over real HTTP on loopback."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from brandkit.testing import Clock
from brandkit.testing.x import XEmulator


class StillClock(Clock):
    """Time that moves only when advanced (a whole second to start with), so posts can be
    backdated to the very millisecond of another."""

    def __init__(self) -> None:
        super().__init__()
        self.at = float(int(time.time()))

    def time(self) -> float:
        return self.at

    def advance(self, seconds: float | timedelta) -> None:
        self.at += seconds.total_seconds() if isinstance(seconds, timedelta) else seconds


def test_no_post_made_at_a_polls_millisecond_takes_its_id() -> None:
    clock = StillClock()
    emu = XEmulator(clock=clock)
    with emu.serve() as url:
        brand = emu.account(name="brand")
        headers = {"authorization": f"Bearer {brand.secret('user_token')}"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            made = http.post(
                "/2/tweets",
                json={"text": "Which?", "poll": {"options": ["a", "b"], "duration_minutes": 60}},
            )
            assert made.status_code == 201, made.text
            post_id = made.json()["data"]["id"]
            read = http.get(f"/2/tweets/{post_id}", params={"expansions": "attachments.poll_ids"})
            poll_id = read.json()["includes"]["polls"][0]["id"]
            clock.advance(10)
            # More posts at that millisecond than the snowflake's 4,096 sequence numbers.
            backdated = {
                emu.seed_post("fan", f"old {k}", age=timedelta(seconds=10)).id for k in range(4100)
            }
            as_post = http.get(f"/2/tweets/{poll_id}")
    assert len(backdated) == 4100 and post_id not in backdated
    assert poll_id not in backdated
    assert "data" not in as_post.json(), as_post.text
