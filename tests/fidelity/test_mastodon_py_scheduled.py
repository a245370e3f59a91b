"""Mastodon.py scheduling statuses on the Mastodon emulator, over a real socket, as
PostStatusService and ScheduledStatusesController do it: ``scheduled_at`` gives a
ScheduledStatus (not a status), listed, moved and deleted through
``/api/v1/scheduled_statuses``, and published by the clock (PublishScheduledStatusWorker)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.fidelity.test_mastodon_py import connect

mastodon = pytest.importorskip("mastodon")


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on a socket, engagement only as tests make it."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


def at(emu: MastodonEmulator, seconds: float) -> datetime:
    """The emulator clock's time ``seconds`` from now, as Mastodon.py takes it."""
    return datetime.fromtimestamp(emu.clock.time() + seconds, UTC)


def test_a_scheduled_status_waits_for_its_time(served: tuple[MastodonEmulator, str]) -> None:
    """``status_post(scheduled_at=...)`` answers a ScheduledStatus (``id``, ``scheduled_at``,
    ``params`` with the text, ``media_attachments``) and posts nothing; the list and the
    single read show it; moving it keeps it; at its time it is published once, with its
    media, and leaves the list."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    picture = api.media_post(tiny_png(), mime_type="image/png", description="menu")
    planned = api.status_post(
        "Our new menu is out!",
        media_ids=[picture.id],
        language="en",
        scheduled_at=at(emu, 3600),
    )
    assert planned.params.text == "Our new menu is out!" and planned.params.language == "en"
    assert [m["id"] for m in planned.media_attachments] == [picture.id]
    assert planned.scheduled_at == at(emu, 3600).replace(microsecond=0)
    assert emu.post_texts() == [] and api.account_statuses(api.me().id) == []
    assert [s.id for s in api.scheduled_statuses()] == [planned.id]
    assert api.scheduled_status(planned.id).params.text == "Our new menu is out!"

    moved = api.scheduled_status_update(planned.id, at(emu, 7200))
    assert moved.id == planned.id
    emu.clock.advance(timedelta(seconds=3601))
    assert emu.post_texts() == []
    emu.clock.advance(timedelta(seconds=3600))
    (posted,) = api.account_statuses(api.me().id)
    assert posted.content == "<p>Our new menu is out!</p>" and posted.language == "en"
    assert [m.id for m in posted.media_attachments] == [picture.id]
    assert api.scheduled_statuses() == []
    assert emu.post_texts() == ["Our new menu is out!"]


def test_scheduling_refusals_and_deletion(served: tuple[MastodonEmulator, str]) -> None:
    """Within 5 minutes is 422 "Validation failed: Scheduled at date must be in the future"
    (ScheduledStatus::MINIMUM_OFFSET); a time already past posts at once; an invalid status
    or an unparsable time is a bare "Record invalid" (schedule_status! raises RecordInvalid
    without a record); a deleted scheduled status
    is never published; another account's is 404; the params are stored as jsonb keeps
    them (keys by length, then bytes)."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    api = connect(url, token)
    with pytest.raises(mastodon.MastodonAPIError, match="Scheduled at date must be in the"):
        api.status_post("soon", scheduled_at=at(emu, 120))
    now = api.status_post("late", scheduled_at=at(emu, -60))
    assert now.content == "<p>late</p>"
    with pytest.raises(mastodon.MastodonAPIError, match="Record invalid"):
        api.status_post("x" * 501, scheduled_at=at(emu, 3600))
    planned = api.status_post("never", scheduled_at=at(emu, 3600))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        raw = http.get(f"/api/v1/scheduled_statuses/{planned.id}").json()
        assert list(raw) == ["id", "scheduled_at", "params", "media_attachments"]
        keys = list(raw["params"])
        assert keys == sorted(keys, key=lambda k: (len(k), k)) and "application_id" not in keys
        assert raw["params"]["scheduled_at"] is None and raw["params"]["with_rate_limit"] is False
        bad = http.post("/api/v1/statuses", data={"status": "x", "scheduled_at": "soonish"})
        assert (bad.status_code, bad.json()) == (422, {"error": "Record invalid"})
        other = emu.account(username="other").secret("token")
        assert (
            http.get(
                f"/api/v1/scheduled_statuses/{planned.id}",
                headers={"Authorization": f"Bearer {other}"},
            ).status_code
            == 404
        )
    api.scheduled_status_delete(planned.id)
    emu.clock.advance(timedelta(hours=2))
    assert emu.post_texts() == ["late"]
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.scheduled_status(planned.id)


def test_media_waiting_with_a_scheduled_status_outlive_the_daily_vacuum(
    served: tuple[MastodonEmulator, str],
) -> None:
    """An upload held by a scheduled status is not an orphan (the media vacuum skips
    ``scheduled_status_id``): scheduled two days ahead, the status is published with it."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    picture = api.media_post(tiny_png(), mime_type="image/png", description="poster")
    api.status_post("Launch!", media_ids=[picture.id], scheduled_at=at(emu, 2 * 86_400))
    emu.clock.advance(timedelta(days=2, seconds=1))
    (posted,) = api.account_statuses(api.me().id)
    assert [m.id for m in posted.media_attachments] == [picture.id]
