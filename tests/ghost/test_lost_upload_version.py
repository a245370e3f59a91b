"""Ghost 6 names every upload anew (``<name>-<16 random hex>.<ext>``), so after a lost
upload answer no address can be the lost file: the lookup still read 2 to 6 of them before
uploading again. The adapter now knows the site's version (the ``Content-Version`` of its
answers, else ``/site/``) and skips the lookup on Ghost 6; Ghost 5's is kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
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


@pytest.fixture
def ghost6(monkeypatch: pytest.MonkeyPatch) -> Iterator[GhostEmulator]:
    yield from _served(monkeypatch)


@pytest.fixture
def ghost5(monkeypatch: pytest.MonkeyPatch) -> Iterator[GhostEmulator]:
    yield from _served(monkeypatch, numbered_image_names=True, version="5.80")


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
def test_ghost6_uploads_again_without_reading_addresses(ghost6: GhostEmulator, warm: bool) -> None:
    with Client(retry=FAST) as client:
        _lost_upload(ghost6, client, warm=warm)
    assert ghost6.count("GET", IMAGES) == 0
    assert ghost6.count("POST", UPLOAD) == 2
    # Known from the earlier article's answers; else asked once.
    assert ghost6.count("GET", SITE) == (0 if warm else 1)


@pytest.mark.parametrize("warm", [True, False])
def test_ghost5_still_finds_the_lost_upload(ghost5: GhostEmulator, warm: bool) -> None:
    with Client(retry=FAST) as client:
        article = _lost_upload(ghost5, client, warm=warm)
    assert ghost5.count("POST", UPLOAD) == 1  # found, not uploaded again
    assert ghost5.count("GET", IMAGES) == 1  # the name itself held it
    assert ghost5.count("GET", SITE) == (0 if warm else 1)
    stored = ghost5.posts()[-1]["feature_image"].removeprefix(ghost5.base_url)
    assert article.featured_image is not None
    assert ghost5.image(ghost5.base_url + stored) == article.featured_image.read()


class _Unversioned(GhostEmulator):
    """A Ghost behind a proxy that strips ``Content-Version`` and hides ``/site/``."""

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        headers = super().rate_limit_headers(request)
        del headers["content-version"]
        return headers


def test_a_site_that_says_no_version_is_looked_through(monkeypatch: pytest.MonkeyPatch) -> None:
    emu = _Unversioned(numbered_image_names=True)
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve(), Client(retry=FAST) as client:
        emu.fault(method="GET", path=SITE, status=404, times=10)
        _lost_upload(emu, client, warm=True)
    assert emu.count("GET", SITE) == 1
    assert emu.count("POST", UPLOAD) == 1  # found as on any older Ghost
