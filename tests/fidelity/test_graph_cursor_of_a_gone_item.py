"""A Graph cursor names its item, and Meta documents that it "will be invalidated if the
item is deleted or removed" (Graph API, Paginated Results). The Meta emulators, served on
loopback, refuse such a cursor as Graph refuses a cursor it cannot read (400,
OAuthException code 100), on Facebook, Instagram and Threads alike: before, the page after
it was read from the item's old position, so on Facebook and Instagram the item that
followed the deleted one was silently skipped, and the client was never told to read the
edge again. A cursor whose item is still there pages as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing import TINY_JPEG, LoopbackMediaHost
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


def _invalidated(http: httpx.Client, edge: str, params: dict[str, Any], gone: str) -> None:
    """Read ``edge`` one item a page (``params``), delete the first page's item with
    ``DELETE /{id}`` (``gone`` says which version path), then read on after and before its
    cursors: both are refused with Graph's code 100; the edge read from the top again
    (and after a cursor still standing) gives the items left, the deleted one gone."""
    first = http.get(edge, params={**params, "limit": 1})
    assert first.status_code == 200, first.text
    (item,) = first.json()["data"]
    cursors = first.json()["paging"]["cursors"]
    whole = [i["id"] for i in http.get(edge, params={**params, "limit": 25}).json()["data"]]
    assert whole[0] == item["id"] and len(whole) == 3
    second = http.get(edge, params={**params, "limit": 1, "after": cursors["after"]}).json()
    assert [i["id"] for i in second["data"]] == [whole[1]]
    standing = second["paging"]["cursors"]["after"]
    deleted = http.delete(f"{gone}/{item['id']}")
    assert deleted.status_code == 200, deleted.text
    for name in ("after", "before"):
        refused = http.get(edge, params={**params, "limit": 1, name: cursors[name]})
        assert refused.status_code == 400, (name, refused.text)
        error = refused.json()["error"]
        assert (error["type"], error["code"]) == ("OAuthException", 100), error
        assert "cursor" in error["message"].lower()
    again = http.get(edge, params={**params, "limit": 25}).json()["data"]
    assert [i["id"] for i in again] == whole[1:]
    rest = http.get(edge, params={**params, "limit": 1, "after": standing}).json()["data"]
    assert [i["id"] for i in rest] == [whole[2]]


def test_facebook_comments(host: LoopbackMediaHost) -> None:
    """The Page deletes a comment on its post; its cursor is refused."""
    emu = FacebookEmulator()
    with emu.serve() as url:
        acct = emu.account()
        page_id, token = acct.settings["page_id"], str(acct.secret("page_token"))
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http:
            post = http.post(f"/v25.0/{page_id}/feed", data={"message": "Hi"}).json()["id"]
            for i in range(3):
                emu.audience(f"fan{i}").comment(post, f"c{i}")
                emu.clock.advance(1)
            _invalidated(http, f"/v25.0/{post}/comments", {"fields": "id,message"}, "/v25.0")


def test_instagram_comments(host: LoopbackMediaHost) -> None:
    """The account deletes its own comment on its media; its cursor is refused."""
    emu = InstagramEmulator(media_host=host)
    with emu.serve() as url:
        acct = emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http:
            made = http.post(
                f"/v25.0/{who}/media",
                data={"image_url": host.put(TINY_JPEG, "image/jpeg"), "caption": "c"},
            ).json()["id"]
            media = http.post(f"/v25.0/{who}/media_publish", data={"creation_id": made})
            media_id = media.json()["id"]
            for i in range(3):
                said = http.post(f"/v25.0/{media_id}/comments", data={"message": f"c{i}"})
                assert said.status_code == 200, said.text
                emu.clock.advance(1)
            _invalidated(http, f"/v25.0/{media_id}/comments", {}, "/v25.0")


def test_threads_replies() -> None:
    """The account deletes its own reply to its post; its cursor is refused (Threads'
    cursors hold the reply's place in the edge's order, not its position)."""
    emu = ThreadsEmulator()
    with emu.serve() as url:
        acct = emu.account()
        who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http:

            def publish(**data: str) -> str:
                made = http.post(f"/v1.0/{who}/threads", data={"media_type": "TEXT", **data})
                assert made.status_code == 200, made.text
                done = http.post(
                    f"/v1.0/{who}/threads_publish", data={"creation_id": made.json()["id"]}
                )
                assert done.status_code == 200, done.text
                return str(done.json()["id"])

            root = publish(text="Launch day")
            for i in range(3):
                emu.clock.advance(1)
                publish(text=f"r{i}", reply_to_id=root)
            _invalidated(http, f"/v1.0/{root}/replies", {"fields": "id,text"}, "/v1.0")
