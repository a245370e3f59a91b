"""A featured image with a long alt text is uploaded: the alt text went in the upload's
query, and 1,500 Chinese characters (13,500 bytes escaped, Mastodon's longest alt text) made
the request line longer than a web server takes (Apache's 8,190 bytes): the upload was
refused with 414 and the article failed. A long one is set on the attachment afterwards."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article, Media
from brandkit.testing import png
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_a_long_alt_text_is_kept_and_the_upload_is_taken() -> None:
    alt = "季度收入图表" * 250
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        image = Media(data=png(8, 8), mime_type="image/png", filename="chart.png", alt=alt)
        (d,) = client.publish(Article(title="Q3", body="x", featured_image=image), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        post = emu.item(d.parts[0].id)
        assert emu.item(post["featured_media"])["alt_text"] == alt


def test_a_short_alt_text_still_goes_with_the_upload() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        image = Media(data=png(8, 8), mime_type="image/png", filename="chart.png", alt="Chart")
        (d,) = client.publish(Article(title="Q3", body="x", featured_image=image), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("POST", r"/wp-json/wp/v2/media") == 1  # no second request for the alt
