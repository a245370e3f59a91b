"""A create that is tried again uploads the featured image once: the image an earlier
attempt uploaded (its answer received, the post's create lost or refused) is kept in the
delivery's progress and used again, in this process or in another, instead of leaving one
more copy in the site's media library per attempt (attached to no post)."""

from __future__ import annotations

import httpx

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article, Media
from brandkit.testing._images import png
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
UPLOAD = r"/wp-json/wp/v2/media"
CREATE = r"/wp-json/wp/v2/posts"


def chart(width: int = 8) -> Media:
    return Media(
        data=png(width, 6), mime_type="image/png", filename="chart.png", alt="Revenue by quarter"
    )


def test_a_create_tried_again_in_the_same_delivery_uploads_the_image_once() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        # The create never reached WordPress (the connection closed first): tried again.
        emu.fault(method="POST", path=CREATE, drop="before")
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        (d,) = client.publish(article, emu.account())
        assert d.status is DeliveryStatus.SENT
        assert emu.count("POST", UPLOAD) == 1
        (attachment,) = emu.items("attachment")
        assert emu.item(d.parts[0].id)["featured_media"] == attachment["id"]
        assert attachment["alt_text"] == "Revenue by quarter"


def test_a_delivery_tried_again_by_another_client_uses_the_uploaded_image() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        account = emu.account()
        # WordPress fails the create each time (a plugin's fatal error): the image went up.
        emu.fault(method="POST", path=CREATE, status=500, times=100)
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        with Client(retry=FAST) as client:
            (d,) = client.publish(article, account)
        assert d.status is not DeliveryStatus.SENT
        assert emu.count("POST", UPLOAD) == 1
        emu.clear_faults()
        with Client(retry=FAST, accounts=[account]) as client:
            d = client.deliver(d)
        assert d.status is DeliveryStatus.SENT
        assert emu.count("POST", UPLOAD) == 1
        (attachment,) = emu.items("attachment")
        assert emu.item(d.parts[0].id)["featured_media"] == attachment["id"]


def test_an_image_deleted_between_attempts_is_uploaded_again() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        account = emu.account()
        emu.fault(method="POST", path=CREATE, status=500, times=100)
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        with Client(retry=FAST) as client:
            (d,) = client.publish(article, account)
        (gone,) = emu.items("attachment")
        emu.clear_faults()
        login = ("admin", emu.app_password())
        with httpx.Client(base_url=emu.base_url, auth=login) as http:
            assert http.delete(f"{UPLOAD}/{gone['id']}", params={"force": "true"}).is_success
        with Client(retry=FAST, accounts=[account]) as client:
            d = client.deliver(d)
        assert d.status is DeliveryStatus.SENT
        assert emu.count("POST", UPLOAD) == 2
        (attachment,) = emu.items("attachment")
        assert emu.item(d.parts[0].id)["featured_media"] == attachment["id"] != gone["id"]


def test_another_article_in_the_same_client_uploads_its_own_image() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        first = Article(title="Q3 results", body="Up.", featured_image=chart())
        second = Article(title="Q4 results", body="Up.", featured_image=chart(9))
        (a,) = client.publish(first, account)
        (b,) = client.publish(second, account)
        assert emu.count("POST", UPLOAD) == 2
        assert (
            emu.item(a.parts[0].id)["featured_media"] != emu.item(b.parts[0].id)["featured_media"]
        )


def test_the_uploaded_image_is_used_again_where_its_file_cannot_be_read() -> None:
    """The attachment is this delivery's own upload: the site still having it is enough. A
    site whose files are served from elsewhere (a CDN, offloaded media) never let brandkit
    read them back, and each attempt uploaded the image again."""
    emu = WordPressEmulator()
    with emu.serve():
        account = emu.account()
        emu.fault(method="POST", path=CREATE, status=500, times=100)
        article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
        with Client(retry=FAST) as client:
            (d,) = client.publish(article, account)
        emu.clear_faults()
        emu.fault(method="GET", path=r"/wp-content/uploads/.*", status=404, times=100)
        with Client(retry=FAST, accounts=[account]) as client:
            d = client.deliver(d)
        assert d.status is DeliveryStatus.SENT
        assert emu.count("POST", UPLOAD) == 1
        (attachment,) = emu.items("attachment")
        assert emu.item(d.parts[0].id)["featured_media"] == attachment["id"]
