"""Reading a status for search takes time in proportion to its length: a long run of
letters before an ``@`` (a pasted blob, then an address) was tried as an e-mail address from
each of its letters over again, so one search of a 30,000-letter status took the emulator
(and its lock) about a minute. Over a real socket, with a bound far above the time it takes."""

from __future__ import annotations

import httpx

from brandkit.testing.mastodon import MastodonEmulator


def test_a_long_word_before_an_at_sign_is_read_at_once() -> None:
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        blob = emu.audience("fan").post("acmeco " + "q" * 30_000 + " write to @", lang="en")
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=15
        ) as http:
            r = http.get("/api/v2/search", params={"q": "acmeco", "type": "statuses"})
        assert r.status_code == 200
        assert [s["id"] for s in r.json()["statuses"]] == [blob]
