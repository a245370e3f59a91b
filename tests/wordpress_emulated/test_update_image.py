"""An update of an article whose featured image has not changed keeps the post's image: it
used to upload the image again on every update, so each edit left one more copy of it in
the site's media library (and gave the post a new attachment). The image the post has is
compared with the article's, byte for byte, and uploaded only when it differs."""

from __future__ import annotations

from brandkit import Client, RetryPolicy
from brandkit.content import Article, Media
from brandkit.testing._images import png
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
UPLOAD = r"/wp-json/wp/v2/media"


def chart(width: int = 8, alt: str = "Revenue by quarter") -> Media:
    return Media(data=png(width, 6), mime_type="image/png", filename="chart.png", alt=alt)


def test_an_update_with_the_same_image_uploads_nothing() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        post_id = d.parts[0].id
        media_id = emu.item(post_id)["featured_media"]
        client.update(d, article.model_copy(update={"body": "Up 32%."}))
        assert emu.count("POST", UPLOAD) == 1
        assert emu.item(post_id)["featured_media"] == media_id
        assert len(emu.items("attachment")) == 1
        assert "Up 32%." in emu.item(post_id)["content"]["raw"]


def test_a_new_alt_text_is_set_on_the_same_image() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        media_id = emu.item(d.parts[0].id)["featured_media"]
        client.update(d, article.model_copy(update={"featured_image": chart(alt="Q3 chart")}))
        assert emu.count("POST", UPLOAD) == 1
        assert emu.item(d.parts[0].id)["featured_media"] == media_id
        assert emu.item(media_id)["alt_text"] == "Q3 chart"


def test_another_image_is_uploaded() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        first = emu.item(d.parts[0].id)["featured_media"]
        # Same name, other bytes: a new chart.
        client.update(d, article.model_copy(update={"featured_image": chart(width=9)}))
        assert emu.count("POST", UPLOAD) == 2
        assert emu.item(d.parts[0].id)["featured_media"] != first


def test_an_image_that_cannot_be_read_is_uploaded_again() -> None:
    """The comparison is a saving, never a failure: a file the site does not serve, or an
    attachment the user may not read, means one more upload, as before."""
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        emu.fault(method="GET", path=r"/wp-content/uploads/.*", status=500, times=100)
        updated = client.update(d, article.model_copy(update={"body": "Up 32%."}))
        assert updated.ok, updated.error
        assert emu.count("POST", UPLOAD) == 2
        emu.clear_faults()
        emu.fault(method="GET", path=r"/wp-json/wp/v2/media/\d+", status=403, times=100)
        updated = client.update(d, article.model_copy(update={"body": "Up 33%."}))
        assert updated.ok, updated.error
        assert emu.count("POST", UPLOAD) == 3
