"""The name an image is uploaded under is the name Ghost stores. A name too long for the file
system failed the upload (Ghost's local storage answers 400 ENAMETOOLONG) or, on a storage
naming uploads with random digits, was cut by Ghost, so an update no longer recognised the
post's image and uploaded it again; and Ghost trims a trailing ``_o`` (its originals' suffix),
so a lost upload of ``photo_o.png`` was looked for under a name it never had."""

from __future__ import annotations

import re

import httpx
import pytest

from brandkit import Client
from brandkit.content import Article, Media
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator, sign_admin_token

UPLOAD = r"/ghost/api/admin/images/upload/"
IMAGES = r"/content/images/.*"


def _image(filename: str) -> Media:
    return Media(data=png(8, 6), mime_type="image/png", filename=filename, alt="A chart")


@pytest.mark.parametrize(
    "site",
    [
        {"numbered_image_names": True},
        {"numbered_image_names": True, "optimize_images": True},
        {"numbered_image_names": False},
        {"numbered_image_names": False, "optimize_images": True},
    ],
    ids=["numbered", "numbered-optimised", "random", "random-optimised"],
)
def test_a_long_file_name_is_published_and_kept_on_update(
    emu: GhostEmulator, client: Client, site: dict[str, bool]
) -> None:
    for key, value in site.items():
        setattr(emu, key, value)
    image = _image("quarterly-revenue-" * 20 + ".png")  # 360 characters
    article = Article(title="Q3 results", body="Up 31%.", featured_image=image)
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    url = emu.post("q3-results")["feature_image"]
    assert len(url.rsplit("/", 1)[-1].encode()) <= 253
    for body in ("Up 32%.", "Up 33%."):
        updated = client.update(d, article.model_copy(update={"body": body}))
        assert updated.ok, updated.error
    assert emu.count("POST", UPLOAD) == 1
    assert emu.post("q3-results")["feature_image"] == url


def test_a_lost_upload_named_like_an_original_is_found(emu: GhostEmulator, client: Client) -> None:
    emu.fault(method="POST", path=UPLOAD, drop="after")
    image = _image("photo_o.png")
    (d,) = client.publish(Article(title="Lisbon", body="Hi", featured_image=image), emu.account())
    assert d.ok, d.error
    assert emu.count("POST", UPLOAD) == 1  # found where Ghost stored it, not sent again
    url = emu.post(d.parts[0].id)["feature_image"]
    assert url.endswith("/photo.png")
    assert emu.image(url) == image.read()


@pytest.mark.parametrize("optimize", [False, True], ids=["as-sent", "optimised"])
def test_a_random_name_is_made_as_ghost_storage_base_1_1_1_makes_it(
    emu: GhostEmulator, optimize: bool
) -> None:
    """``getUniqueSecureFilePath`` of the released ghost-storage-base 1.1.1 puts its 16 hex
    digits after the whole stem, before the extension as sent: an ``_o`` the images endpoint
    left in the name (it trims one) stays where it was, not moved after the digits."""
    emu.numbered_image_names = False
    emu.optimize_images = optimize
    token = sign_admin_token(emu.admin_key, iat=emu.clock.time())
    names = {}
    for sent, mime in (
        ("photo_o_o.png", "image/png"),
        ("Ünïcode chart.PNG", "image/png"),
        ("big_o.jpeg", "image/jpeg"),
    ):
        answer = httpx.post(
            f"{emu.base_url}{UPLOAD}",
            files={"file": (sent, png(4, 4), mime)},
            headers={"Authorization": f"Ghost {token}"},
        )
        assert answer.status_code == 201, answer.text
        url = answer.json()["images"][0]["url"]
        assert httpx.get(url).status_code == 200
        names[sent] = re.sub(r"-[0-9a-f]{16}", "-<hex>", url.rsplit("/", 1)[-1])
    assert names == {
        "photo_o_o.png": "photo_o-<hex>.png",
        "Ünïcode chart.PNG": "-n-code-chart-<hex>.PNG",
        "big_o.jpeg": "big-<hex>.jpeg",
    }
