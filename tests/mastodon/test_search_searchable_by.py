"""What a full-text search can find of a status that is not in the public index (its
author did not opt in): Status#searchable_by, the searcher's own statuses and those the
searcher was mentioned in, favourited, reblogged or bookmarked. The emulator left out the
reblogged and the bookmarked. Searched over a real socket."""

from __future__ import annotations

import httpx

from brandkit.testing.mastodon import MastodonEmulator


def test_reblogged_and_bookmarked_statuses_are_found_by_who_did_it() -> None:
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        other = emu.account(username="other").secret("token")
        fan = emu.audience("fan")  # not indexable: not in the public index
        reblogged = fan.post("acmeco boots reblogged", lang="en")
        bookmarked = fan.post("acmeco boots bookmarked", lang="en")
        fan.post("acmeco boots untouched", lang="en")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            assert http.post(f"/api/v1/statuses/{reblogged}/reblog").status_code == 200
            assert http.post(f"/api/v1/statuses/{bookmarked}/bookmark").status_code == 200

            def found(auth: str) -> set[str]:
                r = http.get(
                    "/api/v2/search",
                    params={"q": "acmeco", "type": "statuses"},
                    headers={"Authorization": f"Bearer {auth}"},
                )
                assert r.status_code == 200
                return {s["id"] for s in r.json()["statuses"]}

            assert found(token) == {reblogged, bookmarked}
            assert found(other) == set()
