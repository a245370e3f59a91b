"""A delete counts as done only when WordPress says the post (or comment) does not exist:
404 ``rest_post_invalid_id`` (``rest_comment_invalid_id``), or 410 ``rest_already_trashed``
when trashing. Any other 404 (``rest_no_route`` when a plugin removed the route or the URL
leads elsewhere, a web server's HTML page) used to be read as "already deleted": the
delivery was marked deleted while the post was still on the site.

Real WordPress 6.1 answers, checked against Debian's package:
``DELETE /wp/v2/posts/99999`` -> 404 ``{"code":"rest_post_invalid_id","message":"Invalid post
ID."}``; ``DELETE /wp/v2/postz/1`` -> 404 ``{"code":"rest_no_route",...}``; a path outside
WordPress -> its HTML 404 page."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article
from brandkit.errors import PlatformError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
ITEM = r"/wp-json/wp/v2/posts/\d+"
NO_ROUTE = {
    "code": "rest_no_route",
    "message": "No route was found matching the URL and request method.",
    "data": {"status": 404},
}


def test_a_post_already_gone_counts_as_deleted() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account()
        (d,) = client.publish(Article(title="Gone soon", body="x"), blog)
        auth = (blog.settings["user"], blog.secret("app_password") or "")
        gone = httpx.delete(
            f"{emu.base_url}/wp-json/wp/v2/posts/{d.parts[0].id}?force=true", auth=auth
        )
        assert gone.status_code == 200
        client.delete(d)
        assert d.status is DeliveryStatus.DELETED


def test_a_trashed_post_counts_as_deleted_when_trashing_again() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Twice", body="x"), emu.account())
        client.delete(d)
        d.status = DeliveryStatus.SENT
        client.delete(d)
        assert d.status is DeliveryStatus.DELETED
        assert emu.item(d.parts[0].id)["status"] == "trash"


def test_no_route_is_an_error_not_a_deletion() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Still here", body="x"), emu.account())
        emu.fault(method="DELETE", path=ITEM, status=404, body=NO_ROUTE)
        with pytest.raises(PlatformError) as raised:
            client.delete(d)
        assert "rest_no_route" in str(raised.value)
        assert "route" in str(raised.value).lower()
        assert d.status is DeliveryStatus.SENT
        assert emu.item(d.parts[0].id)["status"] == "publish"


def test_an_html_404_is_an_error_not_a_deletion() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Behind a proxy", body="x"), emu.account())
        # A proxy or web server in front of the site answers its own page.
        emu.fault(method="DELETE", path=ITEM, status=404, body="<html>Not Found</html>")
        with pytest.raises(PlatformError):
            client.delete(d)
        assert d.status is DeliveryStatus.SENT
        assert emu.item(d.parts[0].id)["status"] == "publish"


def test_a_forced_delete_through_a_missing_route_is_an_error() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Kept", body="x"), emu.account())
        emu.fault(method="DELETE", path=ITEM, status=404, body=NO_ROUTE)
        with pytest.raises(PlatformError):
            client.delete(d, force=True)
        assert emu.item(d.parts[0].id)["status"] == "publish"


def test_a_comment_delete_through_a_missing_route_is_an_error() -> None:
    emu = WordPressEmulator(moderation=False)
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account()
        (d,) = client.publish(Article(title="Comments", body="x"), blog)
        emu.audience("fan").comment(d.parts[0].id, "Nice")
        page = client.inbox(blog)
        (message,) = [m for m in page.messages if m.text == "Nice"]
        emu.fault(method="DELETE", path=r"/wp-json/wp/v2/comments/\d+", status=404, body=NO_ROUTE)
        with pytest.raises(PlatformError):
            client.delete_comment(message, blog)
        assert not emu.is_hidden(message.id)
        # The comment gone already counts as deleted.
        emu.remove_comment(message.id)
        client.delete_comment(message, blog)
