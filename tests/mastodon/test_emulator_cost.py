"""What the Mastodon emulator does to answer a read does not grow with data the answer does
not show: a user's test suite that keeps one emulator for many posts stays fast. Counted in
lines of emulator code run to answer over the socket (`tests.fidelity._lines`), which a
machine's load cannot move."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.fidelity._lines import LineCounter


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str, LineCounter]]:
    """The emulator on a socket whose serving threads' lines are counted."""
    emu = MastodonEmulator(engagement_rate=0)
    counter = LineCounter()
    with counter.installed(), emu.serve() as url:
        yield emu, url, counter


def test_a_status_is_read_without_counting_every_favourite(
    served: tuple[MastodonEmulator, str, LineCounter],
) -> None:
    """Reading a status costs the same with 2,000 favourites of other statuses as without;
    its own favourites are still counted (the audience's and the API's), and a favourite
    taken back is not."""
    emu, url, counter = served
    token = emu.account(username="brand").secret("token")
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http:
        ids = [
            http.post("/api/v1/statuses", json={"status": f"n{i}"}).json()["id"] for i in range(41)
        ]
        mine, others = ids[0], ids[1:]
        emu.audience("fan").favourite(mine)

        def read() -> None:
            assert http.get(f"/api/v1/statuses/{mine}").json()["favourites_count"] == 1

        read()
        few = counter.during(read)
        for n in range(50):
            fan = emu.audience(f"liker{n}")
            for status_id in others:
                fan.favourite(status_id)
        read()
        many = counter.during(read)
        assert many - few < 100, (few, many)
        emu.audience("fan").unfavourite(mine)
        assert http.get(f"/api/v1/statuses/{mine}").json()["favourites_count"] == 0
        assert http.get(f"/api/v1/statuses/{others[0]}").json()["favourites_count"] == 50
        liked = http.post(f"/api/v1/statuses/{others[1]}/favourite").json()
        assert liked["favourites_count"] == 51
        unliked = http.post(f"/api/v1/statuses/{others[1]}/unfavourite").json()
        assert unliked["favourites_count"] == 50
