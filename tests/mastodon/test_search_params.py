"""``GET /api/v2/search`` checks and reads its parameters as Api::V2::SearchController and
SearchService do: ``q`` is required (400), a negative ``limit`` or ``offset`` is 400, an
``offset`` counts only in a search of one ``type``, and ``account_id`` narrows to that
account's statuses (404 for an account that does not exist). The emulator answered 200 to
all of these and ignored ``account_id``. Over a real socket."""

from __future__ import annotations

import httpx

from brandkit.testing.mastodon import MastodonEmulator


def test_search_parameters_are_checked_and_read_as_mastodon_does() -> None:
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        older = emu.audience("fan").post("acmeco one", lang="en")
        newer = emu.audience("critic").post("acmeco two", lang="en")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:

            def search(**params: str) -> httpx.Response:
                return http.get("/api/v2/search", params=params)

            for params in ({}, {"q": "  "}):
                r = search(**params)
                assert r.status_code == 400
                assert r.json() == {"error": "param is missing or the value is empty or invalid: q"}
            for key in ("limit", "offset"):
                r = search(q="acmeco", type="statuses", **{key: "-1"})
                assert r.status_code == 400
                assert r.json() == {
                    "error": "Pagination values for `offset` and `limit` must be positive"
                }

            def ids(r: httpx.Response) -> list[str]:
                assert r.status_code == 200
                return [s["id"] for s in r.json()["statuses"]]

            assert ids(search(q="acmeco", offset="1")) == [newer, older]  # no type: no offset
            assert ids(search(q="acmeco", type="statuses", offset="1")) == [older]
            fan = emu.account_id("fan")
            assert ids(search(q="acmeco", type="statuses", account_id=fan)) == [older]
            r = search(q="acmeco", type="statuses", account_id="999999")
            assert r.status_code == 404
            assert r.json() == {"error": "Record not found"}
