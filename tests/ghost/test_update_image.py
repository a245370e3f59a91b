"""An update of an article whose featured image has not changed keeps the post's image: it
used to upload the image again on every update, so each edit left one more copy of it in
the site's images. The image the post has is read from the site and compared byte for byte;
it is uploaded only when it differs (or cannot be read)."""

from __future__ import annotations

import re

from brandkit import Client
from brandkit.content import Article, Media
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator

UPLOAD = r"/ghost/api/admin/images/upload/"


def chart(width: int = 8, alt: str = "Revenue by quarter") -> Media:
    return Media(data=png(width, 6), mime_type="image/png", filename="chart.png", alt=alt)


def test_an_update_with_the_same_image_uploads_nothing(emu: GhostEmulator, client: Client) -> None:
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    image = emu.post("q3-results")["feature_image"]
    client.update(
        d, article.model_copy(update={"body": "Up 32%.", "featured_image": chart(alt="Q3")})
    )
    stored = emu.post("q3-results")
    assert emu.count("POST", UPLOAD) == 1
    assert stored["feature_image"] == image
    assert stored["feature_image_alt"] == "Q3"


def test_another_image_is_uploaded(emu: GhostEmulator, client: Client) -> None:
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    image = emu.post("q3-results")["feature_image"]
    client.update(d, article.model_copy(update={"featured_image": chart(width=9)}))
    assert emu.count("POST", UPLOAD) == 2
    assert emu.post("q3-results")["feature_image"] != image


def test_an_image_that_cannot_be_read_is_uploaded_again(emu: GhostEmulator, client: Client) -> None:
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    emu.fault(method="GET", path=r"/content/images/.*", status=500, times=100)
    updated = client.update(d, article.model_copy(update={"body": "Up 32%."}))
    assert updated.ok, updated.error
    assert emu.count("POST", UPLOAD) == 2


def test_the_image_keeps_ghosts_secure_file_name(emu: GhostEmulator, client: Client) -> None:
    # A storage on ghost-storage-base 1.1 stores an upload as "<name>-<16 hex digits>.<ext>":
    # the post's own image was not recognised under that name, and every update uploaded it
    # again.
    emu.numbered_image_names = False
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    image = emu.post("q3-results")["feature_image"]
    assert re.fullmatch(r".*/content/images/\d{4}/\d{2}/chart-[0-9a-f]{16}\.png", image)
    for body in ("Up 32%.", "Up 33%."):
        updated = client.update(d, article.model_copy(update={"body": body}))
        assert updated.ok, updated.error
    assert emu.count("POST", UPLOAD) == 1
    assert emu.post("q3-results")["feature_image"] == image


def test_an_update_without_the_image_drops_its_alt_text(emu: GhostEmulator, client: Client) -> None:
    # The image was removed but its alt text stayed on the post, for whatever image came next.
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    updated = client.update(d, article.model_copy(update={"featured_image": None}))
    assert updated.ok, updated.error
    stored = emu.post("q3-results")
    assert stored["feature_image"] is None
    assert stored["feature_image_alt"] is None


def test_an_optimised_image_is_recognised_by_its_original() -> None:
    # Ghost re-encodes an upload (image optimisation, on by default): the file at the post's
    # URL never held our bytes, so every update uploaded the image again. The original Ghost
    # keeps beside it ("<name>_o.png") does.
    emu = GhostEmulator(optimize_images=True)
    with emu.serve(), Client() as client:
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        image = emu.post("q3-results")["feature_image"]
        assert emu.image(image) != chart().read()
        updated = client.update(d, article.model_copy(update={"body": "Up 32%."}))
        assert updated.ok, updated.error
        assert emu.count("POST", UPLOAD) == 1
        assert emu.post("q3-results")["feature_image"] == image
