"""An article scheduled less than 2 minutes ahead (asked so, or sent again near its time
after an outage) was refused by Ghost ("Date must be at least 2 minutes in the future."), so
the article failed altogether, where WordPress and dev.to schedule it. It is now scheduled
at the earliest time Ghost takes: a little late, never early (a press release's embargo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import httpx
import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms import ghost as ghost_module
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing.ghost import GhostEmulator, ghost_time, sign_admin_token


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_time_less_than_two_minutes_ahead_is_scheduled(
    emu: GhostEmulator, client: Client
) -> None:
    sent = datetime.now(UTC)
    when = (sent + timedelta(seconds=60)).replace(microsecond=0)
    article = Article(title="Q3 results", body="Up.", scheduled_at=when)
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "scheduled"
    stored = emu.post("q3-results")
    assert stored["status"] == "scheduled"
    live = _at(stored["published_at"])
    # Never before the time asked, and no later than Ghost's lead (plus a margin) requires.
    assert live >= when
    assert live <= datetime.now(UTC) + timedelta(minutes=3)


def test_a_time_well_ahead_is_kept(emu: GhostEmulator, client: Client) -> None:
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert _at(emu.post("q3-results")["published_at"]) == when


def test_an_update_near_the_time_keeps_the_time(
    emu: GhostEmulator, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ghost checks the 2 minutes only when ``published_at`` changes: an edit of a scheduled
    post a minute before it goes live keeps its time, and must not move it later."""
    # brandkit's clock is the site's, which the test moves on.
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))

    class SiteTime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> SiteTime:
            return cls.fromtimestamp(emu.clock.time(), tz)

    monkeypatch.setattr(ghost_module, "datetime", SiteTime)
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    article = Article(title="Q3 results", body="Up.", scheduled_at=when)
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    emu.clock.advance(timedelta(minutes=8, seconds=30))  # 90 seconds before it goes live
    client.update(d, article.model_copy(update={"body": "Up 31%."}))
    stored = emu.post("q3-results")
    assert stored["status"] == "scheduled"
    assert _at(stored["published_at"]) == when


def test_the_emulator_checks_the_lead_only_when_the_time_changes(emu: GhostEmulator) -> None:
    """As Ghost does (``publishedAtHasChanged``): an edit that keeps a scheduled post's time
    is taken however near the time is; a new time less than 2 minutes ahead is refused."""
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    url = f"{emu.base_url}/ghost/api/admin/posts/"
    with httpx.Client() as http:

        def headers() -> dict[str, str]:
            token = sign_admin_token(emu.admin_key, iat=emu.clock.time())
            return {"Authorization": f"Ghost {token}"}

        post = {"title": "Q3", "status": "scheduled", "published_at": ghost_time(when)}
        made = http.post(url, json={"posts": [post]}, headers=headers())
        assert made.status_code == 201, made.text
        (p,) = made.json()["posts"]
        emu.clock.advance(timedelta(minutes=9))
        edit = {"title": "Q3 results", "updated_at": p["updated_at"], **post}
        edit["title"] = "Q3 results"
        same = http.put(f"{url}{p['id']}/", json={"posts": [edit]}, headers=headers())
        assert same.status_code == 200, same.text
        moved = {
            **edit,
            "updated_at": same.json()["posts"][0]["updated_at"],
            "published_at": ghost_time(when + timedelta(seconds=30)),
        }
        refused = http.put(f"{url}{p['id']}/", json={"posts": [moved]}, headers=headers())
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["message"] == (
            "Date must be at least 2 minutes in the future."
        )
