"""A post id Ghost never gives (not a 24-digit hexadecimal ObjectId) is not trusted: it
would go into the paths of later requests, and "../pages/<id>" made a delete of the post
delete another page. Such an answer is unreadable: the delivery is unknown (looked up, never
sent twice) and deleting it is refused while it is in doubt: nothing is touched."""

from __future__ import annotations

import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.delivery import DeliveryStatus
from brandkit.errors import ConfigurationError
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE


@pytest.mark.parametrize("bad", ["../pages/{page}", "{page}?x=1", "", "ABCDEF0123456789ABCDEF01"])
def test_an_id_that_is_no_object_id_is_refused(
    emu: GhostEmulator, client: Client, bad: str
) -> None:
    (about,) = client.publish(Article(title="About us", body="Hi", kind="page"), emu.account())
    page = about.parts[0].id
    post = {
        "id": bad.format(page=page),
        "uuid": "0b3c2c43-8a7e-4a52-9d0c-3f0c8f1e6a21",
        "slug": "news",
        "title": "News",
        "status": "published",
        "url": f"{emu.base_url}/news/",
        "updated_at": "2026-12-06T10:00:00.000Z",
        "created_at": "2026-12-06T10:00:00.000Z",
    }
    emu.fault(method="POST", path=CREATE, status=201, body={"posts": [post]})
    (news,) = client.publish(Article(title="News", body="x"), emu.account())
    assert news.status is DeliveryStatus.UNKNOWN
    assert "cannot read" in str(news.error)
    assert emu.count("POST", CREATE) == 1  # looked up, never sent again
    # Deleting a delivery in doubt is refused (tests/outbox/test_store.py): nothing is sent,
    # and above all not a DELETE of the page the answer's id pointed at.
    with pytest.raises(ConfigurationError, match="in doubt"):
        client.delete(news)
    assert emu.count("DELETE") == 0
    assert [p["title"] for p in emu.posts()] == ["About us"]
