"""Ghost: lost answers past the slug's tenth variant, and a lost image upload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, Media, RetryPolicy
from brandkit.content import Article
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
UPLOAD = r"/ghost/api/admin/images/upload/"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[GhostEmulator]:
    # Ghost's older file names (the name, then -1, -2...), which a lost upload can be found by.
    emu = GhostEmulator(numbered_image_names=True)
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve():
        yield emu


def test_a_lost_answer_past_the_tenth_variant_is_found_not_sent_again(
    emu: GhostEmulator,
) -> None:
    create = GhostEmulator.create_route[1]
    with Client(retry=FAST) as client:
        acct = emu.account()
        for week in range(11):
            (d,) = client.publish(Article(title="Weekly update", body=f"week {week}"), acct)
        assert d.parts[0].extra["slug"] == "weekly-update-11"
        emu.fault(method="POST", path=create, drop="after")
        (d,) = client.publish(Article(title="Weekly update", body="this week"), acct)
        assert d.status.value == "sent"
        assert d.parts[0].extra["slug"] == "weekly-update-12"
        assert emu.count("POST", create) == 12


def test_a_lost_image_upload_is_found_not_uploaded_again(emu: GhostEmulator) -> None:
    with Client(retry=FAST) as client:
        # Another image already holds the name: ours is stored as "<name>-1".
        other = Media.from_bytes(png(32, 32), alt="old")
        client.publish(Article(title="Old", body="x", featured_image=other), emu.account())
        emu.fault(method="POST", path=UPLOAD, drop="after")
        image = Media.from_bytes(png(64, 64), alt="office")
        (d,) = client.publish(
            Article(title="Lisbon", body="Hi", featured_image=image), emu.account()
        )
        assert d.status.value == "sent"
        assert emu.count("POST", UPLOAD) == 2  # the old one and ours, once
        assert len(emu._images) == 2
        post = emu.post(d.parts[0].id)
        stored = post["feature_image"].removeprefix(emu.base_url)
        assert emu._images[stored][1] == image.read()


def test_a_lost_image_upload_on_secure_file_names_is_sent_once_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A storage on ghost-storage-base 1.1 names each upload anew ("<name>-<16 hex>.png"): the
    # lost one cannot be found, so the image is uploaded once more and the article still
    # published once.
    emu = GhostEmulator(numbered_image_names=False)
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve(), Client(retry=FAST) as client:
        emu.fault(method="POST", path=UPLOAD, drop="after")
        image = Media.from_bytes(png(64, 64), alt="office")
        (d,) = client.publish(
            Article(title="Lisbon", body="Hi", featured_image=image), emu.account()
        )
        assert d.status.value == "sent", d.error
        assert emu.count("POST", UPLOAD) == 2
        assert emu.post_titles() == ["Lisbon"]


def test_a_lost_upload_of_a_large_image_is_found(emu: GhostEmulator) -> None:
    # The lookup read each candidate file whole: one over 16 MiB (a press photo Ghost takes,
    # up to 50 MB) went over the most an answer may hold, and the article failed.
    large = png(64, 64) + bytes(17 * 1024 * 1024)
    with Client(retry=FAST) as client:
        other = Media(data=large, mime_type="image/png", filename="photo.png", alt="old")
        client.publish(Article(title="Old", body="x", featured_image=other), emu.account())
        emu.fault(method="POST", path=UPLOAD, drop="after")
        image = Media(data=png(8, 8), mime_type="image/png", filename="photo.png", alt="new")
        (d,) = client.publish(
            Article(title="Lisbon", body="Hi", featured_image=image), emu.account()
        )
        assert d.status.value == "sent", d.error
        assert emu.count("POST", UPLOAD) == 2
        stored = emu.post(d.parts[0].id)["feature_image"].removeprefix(emu.base_url)
        assert stored.endswith("/photo-1.png")
