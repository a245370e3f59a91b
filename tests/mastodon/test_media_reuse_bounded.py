"""Media uploaded for a part whose create failed are reused only while Mastodon keeps them.

Mastodon removes uploads no status took after a day (``Vacuum::MediaAttachmentsVacuum``).
A delivery whose create failed (an instance down for a day) and that a long-running client
delivered again later was sent with the ids of the removed uploads: Mastodon refused them
("Media … not found"), and the post failed for good, with every later try in that process
refused the same way. Now uploads older than half a day are made again, and a refusal
forgets the part's uploads.
"""

from __future__ import annotations

from datetime import timedelta

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


def test_uploads_a_day_old_are_made_again() -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        client._core.adapter_for(acct).clock = emu.clock.time  # type: ignore[attr-defined]
        emu.fault(method="POST", path="/api/v1/statuses", status=503, times=50)
        image = Media.from_bytes(tiny_png(), alt="A picture")
        (d,) = client.publish(Post(text="Look", media=(image,)), acct)
        assert d.status is DeliveryStatus.UNKNOWN, d.error
        emu.clear_faults()
        emu.clock.advance(timedelta(days=1, hours=1))
        again = client.deliver(d, acct)
    assert again.status is DeliveryStatus.SENT, again.error
    assert emu.post_texts() == ["Look"]
    assert len(emu.uploads) == 2
    assert emu.posts[0]["media_attachments"][0]["description"] == "A picture"


def test_uploads_of_the_last_hours_are_still_reused() -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        client._core.adapter_for(acct).clock = emu.clock.time  # type: ignore[attr-defined]
        emu.fault(method="POST", path="/api/v1/statuses", status=503, times=50)
        image = Media.from_bytes(tiny_png(), alt="A picture")
        (d,) = client.publish(Post(text="Look", media=(image,)), acct)
        emu.clear_faults()
        emu.clock.advance(timedelta(hours=2))
        again = client.deliver(d, acct)
    assert again.status is DeliveryStatus.SENT, again.error
    assert len(emu.uploads) == 1


def test_a_refused_create_forgets_its_uploads() -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        refusal = {"error": "Media 1 not found or already attached to another post"}
        emu.fault(method="POST", path="/api/v1/statuses", status=422, body=refusal)
        image = Media.from_bytes(tiny_png(), alt="A picture")
        (d,) = client.publish(Post(text="Look", media=(image,)), acct)
        assert d.status is DeliveryStatus.FAILED, d.error
        again = client.deliver(d, acct)
    assert again.status is DeliveryStatus.SENT, again.error
    assert len(emu.uploads) == 2
