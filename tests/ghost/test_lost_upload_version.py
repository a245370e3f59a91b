"""After a lost upload answer the adapter looks for the upload at the addresses Ghost's local
storage gives it. It skipped that lookup on Ghost 6 (after asking ``/site/`` for the version),
taking Ghost 6 to name every upload with random digits; but every Ghost 5 and 6 release names
uploads ``<name>.<ext>``, ``-1``, ``-2``... (``ghost-storage-base``'s ``getUniqueFileName``;
the random names of its 1.1.0/1.1.1 were reverted in Ghost within a week), so on Ghost 6 the
image was uploaded twice. The lookup now runs whatever the version."""

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
IMAGES = r"/content/images/.*"
SITE = r"/ghost/api/admin/site/"


def _served(monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Iterator[GhostEmulator]:
    emu = GhostEmulator(**kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve():
        yield emu


@pytest.fixture(params=["6.0", "6.65", "5.130"])
def ghost(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GhostEmulator]:
    yield from _served(monkeypatch, version=request.param)


def _lost_upload(emu: GhostEmulator, client: Client, *, warm: bool) -> Article:
    account = emu.account()
    if warm:  # an earlier article: its answers carried the version
        client.publish(Article(title="Old", body="x"), account)
    emu.fault(method="POST", path=UPLOAD, drop="after")
    image = Media.from_bytes(png(64, 64), alt="office")
    article = Article(title="Lisbon", body="Hi", featured_image=image)
    (d,) = client.publish(article, account)
    assert d.status.value == "sent", d.error
    assert emu.post_titles()[-1] == "Lisbon"
    return article


@pytest.mark.parametrize("warm", [True, False])
def test_the_lost_upload_is_found_on_every_version(ghost: GhostEmulator, warm: bool) -> None:
    with Client(retry=FAST) as client:
        article = _lost_upload(ghost, client, warm=warm)
    assert ghost.count("POST", UPLOAD) == 1  # found, not uploaded again
    assert ghost.count("GET", IMAGES) == 1  # the name itself held it
    assert ghost.count("GET", SITE) == 0  # the version decides nothing
    stored = ghost.posts()[-1]["feature_image"].removeprefix(ghost.base_url)
    assert article.featured_image is not None
    assert ghost.image(ghost.base_url + stored) == article.featured_image.read()


def test_random_names_cost_two_reads_then_one_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    # A storage naming each upload anew (ghost-storage-base 1.1): no address can be the lost
    # upload; the lookup gives up after the name and its -1, and the image goes once more.
    for emu in _served(monkeypatch, numbered_image_names=False):
        with Client(retry=FAST) as client:
            _lost_upload(emu, client, warm=True)
        assert emu.count("GET", IMAGES) == 2
        assert emu.count("POST", UPLOAD) == 2
