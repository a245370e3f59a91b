"""Ghost's image optimisation (on by default) re-encodes a JPEG, PNG or WebP upload and keeps
the original beside it as ``<name>_o.<ext>``. After a lost upload answer the lookup compared
only the re-encoded file with the image's bytes, never found it, and uploaded a second copy
on every such Ghost 5; it now compares the original kept beside each candidate too."""

from __future__ import annotations

import pytest

from brandkit import Client, Media, RetryPolicy
from brandkit.content import Article
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
UPLOAD = r"/ghost/api/admin/images/upload/"


@pytest.mark.parametrize("taken", [False, True])
def test_a_lost_upload_that_ghost_re_encoded_is_found(
    monkeypatch: pytest.MonkeyPatch, taken: bool
) -> None:
    emu = GhostEmulator(numbered_image_names=True, optimize_images=True)
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        if taken:  # another image holds the name: ours is "<name>-1"
            other = Media.from_bytes(png(32, 32), alt="old")
            client.publish(Article(title="Old", body="x", featured_image=other), account)
        else:
            client.publish(Article(title="Old", body="x"), account)
        emu.fault(method="POST", path=UPLOAD, drop="after")
        image = Media.from_bytes(png(64, 64), alt="office")
        (d,) = client.publish(Article(title="Lisbon", body="Hi", featured_image=image), account)
        assert d.status.value == "sent", d.error
        assert emu.count("POST", UPLOAD) == (2 if taken else 1)  # ours once
        served = emu.post(d.parts[0].id)["feature_image"]
        assert served.endswith("/media-1.png" if taken else "/media.png")
        original = served.removesuffix(".png") + "_o.png"
        assert emu.image(original) == image.read()
