"""A featured image or article larger than the site's web server takes says what to do.
nginx refuses a body over its ``client_max_body_size`` (1 MiB unless raised) with its own
413 page before WordPress runs; the error said only "wordpress answered 413: Request Entity
Too Large", naming neither what was too large nor which limits to raise."""

from __future__ import annotations

from brandkit import Client, RetryPolicy
from brandkit.content import Article, Media
from brandkit.errors import Rejected
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
MEDIA = r"/wp-json/wp/v2/media"


def _jpeg(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\x00" * (size - 6) + b"\xff\xd9"


def test_a_featured_image_over_the_servers_limit() -> None:
    emu = WordPressEmulator(max_body_bytes=100_000)
    image = Media.from_bytes(_jpeg(150_000), alt="Office", filename="office.jpg")
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hi", body="x", featured_image=image), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert d.error.status_code == 413
    message = str(d.error)
    assert "refused the request (150,000 bytes) as too large" in message
    assert "make the featured image smaller" in message
    assert "client_max_body_size" in message and "upload_max_filesize" in message
    assert emu.count("POST", MEDIA) == 1  # a refusal, not retried
    assert emu.post_texts() == []


def test_an_article_over_the_servers_limit() -> None:
    emu = WordPressEmulator(max_body_bytes=100_000)
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hi", body="word " * 30_000), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert "make the article smaller" in str(d.error)
    assert emu.post_texts() == []


def test_under_the_limit_all_goes_through() -> None:
    emu = WordPressEmulator(max_body_bytes=100_000)
    image = Media.from_bytes(_jpeg(50_000), alt="Office", filename="office.jpg")
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hi", body="x", featured_image=image), emu.account())
    assert d.error is None


def test_a_site_without_pretty_permalinks_names_the_image_too() -> None:
    # The route is in the query there (/?rest_route=/wp/v2/media).
    emu = WordPressEmulator(max_body_bytes=100_000, rewrite=False)
    image = Media.from_bytes(_jpeg(150_000), alt="Office", filename="office.jpg")
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hi", body="x", featured_image=image), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert "make the featured image smaller" in str(d.error)
