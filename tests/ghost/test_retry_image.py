"""A create that is tried again uploads the featured image once: the image an earlier
attempt uploaded (its answer received, the post's create lost or refused) is kept in the
delivery's progress and used again, in this process or in another, instead of leaving one
more copy on the site per attempt (the Admin API cannot delete images)."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus
from brandkit.content import Article, Media
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE, FAST

UPLOAD = r"/ghost/api/admin/images/upload/"


def chart(width: int = 8) -> Media:
    return Media(
        data=png(width, 6), mime_type="image/png", filename="chart.png", alt="Revenue by quarter"
    )


def test_a_create_tried_again_in_the_same_delivery_uploads_the_image_once(
    emu: GhostEmulator, client: Client
) -> None:
    # The create never reached Ghost (the connection closed first): tried again.
    emu.fault(method="POST", path=CREATE, drop="before")
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    (d,) = client.publish(article, emu.account())
    assert d.status is DeliveryStatus.SENT
    assert emu.count("POST", UPLOAD) == 1
    stored = emu.post("q3-results")
    assert emu.image(stored["feature_image"]) == chart().read()
    assert stored["feature_image_alt"] == "Revenue by quarter"


def test_a_delivery_tried_again_by_another_client_uses_the_uploaded_image(
    emu: GhostEmulator,
) -> None:
    account = emu.account()
    # Ghost fails the create each time: the image went up.
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
    assert emu.image(emu.post("q3-results")["feature_image"]) == chart().read()


def test_another_image_kept_from_an_earlier_attempt_is_not_used(
    emu: GhostEmulator, client: Client
) -> None:
    """What the delivery's progress names is used only when the site serves the article's
    own bytes there."""
    account = emu.account()
    client.publish(Article(title="Q2 results", body="Up.", featured_image=chart(9)), account)
    elsewhere = emu.post("q2-results")["feature_image"]
    article = Article(title="Q3 results", body="Up 31%.", featured_image=chart())
    emu.fault(method="POST", path=CREATE, status=500, times=100)
    (d,) = client.publish(article, account)
    emu.clear_faults()
    d.progress["feature_image"] = elsewhere
    d = client.deliver(d, account)
    assert d.status is DeliveryStatus.SENT
    stored = emu.post("q3-results")["feature_image"]
    assert stored != elsewhere
    assert emu.image(stored) == chart().read()
