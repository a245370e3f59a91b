"""A delete counts as done only when Ghost says the post does not exist. Ghost's Admin API
answers both a missing post and a route it does not have with 404 ``NotFoundError``, but
not in the same words (``@tryghost/mw-error-handler``): the posts endpoint's refusal is
"Resource not found error, cannot delete post." with the model's "Post not found." as its
context, an unknown route's is "Resource not found" with no context. Any 404 used to be read
as "already deleted": a delivery was marked deleted while the post was still on the site."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import PlatformError
from brandkit.testing.ghost import GhostEmulator, sign_admin_token

from .conftest import FAST

ITEM = r"/ghost/api/admin/posts/[0-9a-f]{24}/"
UNKNOWN_ROUTE = {
    "errors": [
        {
            "message": "Resource not found",
            "context": None,
            "type": "NotFoundError",
            "details": None,
            "property": None,
            "help": None,
            "code": None,
            "id": "5b1e3c10-0a7d-11ef-9e3e-0d2e4f6a1b2c",
            "ghostErrorCode": None,
        }
    ]
}


def admin(emu: GhostEmulator) -> dict[str, str]:
    return {"Authorization": f"Ghost {sign_admin_token(emu.admin_key, iat=emu.clock.time())}"}


def test_the_emulator_answers_a_missing_post_as_the_posts_endpoint_does(
    emu: GhostEmulator,
) -> None:
    missing = f"{emu.base_url}/ghost/api/admin/posts/{'a' * 24}/"
    for method, verb in (("GET", "read"), ("DELETE", "delete")):
        answer = httpx.request(method, missing, headers=admin(emu))
        assert answer.status_code == 404
        (error,) = answer.json()["errors"]
        assert error["type"] == "NotFoundError"
        assert error["message"] == f"Resource not found error, cannot {verb} post."
        assert error["context"] == "Post not found."


def test_the_emulator_answers_an_unknown_admin_route_as_ghost_does(emu: GhostEmulator) -> None:
    answer = httpx.delete(f"{emu.base_url}/ghost/api/admin/postz/{'a' * 24}/", headers=admin(emu))
    assert answer.status_code == 404
    (error,) = answer.json()["errors"]
    assert (error["type"], error["message"], error["context"]) == (
        "NotFoundError",
        "Resource not found",
        None,
    )


def test_a_post_already_gone_counts_as_deleted(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Gone soon", body="x"), emu.account())
    gone = httpx.delete(
        f"{emu.base_url}/ghost/api/admin/posts/{d.parts[0].id}/", headers=admin(emu)
    )
    assert gone.status_code == 204
    client.delete(d)
    assert d.status is DeliveryStatus.DELETED


def test_an_unknown_route_is_an_error_not_a_deletion(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Still here", body="x"), emu.account())
    emu.fault(method="DELETE", path=ITEM, status=404, body=UNKNOWN_ROUTE)
    with pytest.raises(PlatformError) as raised:
        client.delete(d)
    assert "Resource not found" in str(raised.value)
    assert d.status is DeliveryStatus.SENT
    assert emu.post_titles() == ["Still here"]


def test_a_404_page_from_elsewhere_is_an_error_not_a_deletion(
    emu: GhostEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title="Behind a proxy", body="x"), emu.account())
    emu.fault(method="DELETE", path=ITEM, status=404, body="<h1>Not Found</h1>")
    with pytest.raises(PlatformError):
        client.delete(d)
    assert d.status is DeliveryStatus.SENT
    assert emu.post_titles() == ["Behind a proxy"]


def test_a_page_already_gone_counts_as_deleted(emu: GhostEmulator) -> None:
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="About", body="x", kind="page"), emu.account())
        gone = httpx.delete(
            f"{emu.base_url}/ghost/api/admin/pages/{d.parts[0].id}/", headers=admin(emu)
        )
        assert gone.status_code == 204
        client.delete(d)
        assert d.status is DeliveryStatus.DELETED
