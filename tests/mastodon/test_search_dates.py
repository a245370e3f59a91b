"""``before:``, ``after:`` and ``during:`` in a full-text search, and ``min_id``/``max_id``
(turned into them), bound ``created_at`` as Elasticsearch reads a range: a date's missing
parts are its least values for ``before`` (lt) and greatest for ``after`` (gt), so
``after:2024-01-01`` is after that whole day and ``after:…T00:00:00Z`` after that whole
second; ``during`` is the whole day (or second) given. The emulator read ``after:`` as after
its first instant. Over a real socket."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from brandkit.testing.mastodon import MastodonEmulator


def test_dates_bound_a_search_as_elasticsearch_rounds_them() -> None:
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        fan = emu.audience("fan")
        day = emu.clock.now()
        late = fan.post("acmeco on the first day", lang="en")
        midnight = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), day.tzinfo)
        emu.clock.advance((midnight - emu.clock.now()).total_seconds() + 0.5)
        first = fan.post("acmeco just after midnight", lang="en")
        emu.clock.advance(0.7)
        second = fan.post("acmeco a second later", lang="en")
        d0, d1 = day.date().isoformat(), midnight.date().isoformat()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:

            def found(q: str, **params: str) -> set[str]:
                r = http.get("/api/v2/search", params={"q": q, "type": "statuses", **params})
                assert r.status_code == 200
                return {s["id"] for s in r.json()["statuses"]}

            assert found(f"acmeco after:{d0}") == {first, second}
            assert found(f"acmeco after:{d1}T00:00:00Z") == {second}
            assert found(f"acmeco after:{d1}T00:00") == set()  # after that whole minute
            assert found(f"acmeco before:{d1}") == {late}
            assert found(f"acmeco during:{d0}") == {late}
            assert found(f"acmeco during:{d1}") == {first, second}
            assert found(f"acmeco during:{d1}T00:00:00Z") == {first}
            assert found(f"acmeco -during:{d1}") == {late}
            assert found("acmeco after:yesterday") == set()  # Elasticsearch refuses it
            # min_id is after:"<its second>Z": the rest of that second is left out too
            assert found("acmeco", min_id=first) == {second}
