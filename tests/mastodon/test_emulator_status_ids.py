"""Mastodon's ids (lib/mastodon/snowflake.rb, ``timestamp_id``) are the creation time in
milliseconds shifted 16 bits, plus a sequence in the low 16 bits: a status made after the
instance's clock moved back has an id of its ``created_at``, under the ids of statuses made
later in time, and never one already given. Over real HTTP on loopback."""

from __future__ import annotations

from datetime import datetime

import httpx

from brandkit.testing import Clock
from brandkit.testing.mastodon import MastodonEmulator


class StillClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at

    def time(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:  # type: ignore[override]
        self.at += seconds


def test_a_status_made_after_the_clock_moved_back_has_an_id_of_its_creation_time() -> None:
    clock = StillClock(1_800_000_000.5)
    emu = MastodonEmulator(clock=clock)
    made: list[dict[str, str]] = []
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:

            def post(text: str) -> None:
                answer = http.post("/api/v1/statuses", json={"status": text})
                assert answer.status_code == 200, answer.text
                made.append(answer.json())

            post("first")
            post("second")
            clock.advance(-3600)
            post("an hour before")
            clock.advance(3600)
            post("third, in the same millisecond as the first two")
    ids = [int(status["id"]) for status in made]
    stamps = [
        int(datetime.fromisoformat(status["created_at"]).timestamp() * 1000) for status in made
    ]
    assert [i >> 16 for i in ids] == stamps
    assert stamps[2] == stamps[0] - 3_600_000
    assert ids[2] < ids[0] < ids[1] < ids[3]
