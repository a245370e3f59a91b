"""What the Bluesky emulator does to answer a post's view (its counts, the viewer's like
and repost) does not grow with the records it holds, so a thread read does not grow with
the square of the thread. Counted in lines of emulator code run to answer over the socket
(`tests.fidelity._lines`), which a machine's load cannot move."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator
from tests.fidelity._lines import LineCounter

LIKE = "app.bsky.feed.like"


@pytest.fixture
def served() -> Iterator[tuple[BlueskyEmulator, LineCounter, httpx.Client, str]]:
    """The emulator (no simulated engagement: counts are the records') on a socket whose
    serving threads' lines are counted, a client signed in as the brand, and its DID."""
    emu = BlueskyEmulator(engagement_per_hour=0)
    counter = LineCounter()
    with counter.installed(), emu.serve() as url:
        emu.account(name="brand")
        brand = emu.user("brand.test")
        with httpx.Client(base_url=url, timeout=60) as http:
            login = {"identifier": brand.handle, "password": brand.app_password}
            session = http.post("/xrpc/com.atproto.server.createSession", json=login).json()
            http.headers["authorization"] = f"Bearer {session['accessJwt']}"
            yield emu, counter, http, brand.did


def test_a_post_view_is_made_without_reading_every_record(
    served: tuple[BlueskyEmulator, LineCounter, httpx.Client, str],
) -> None:
    """A post's view costs the same with 2,000 records of others as with none; its reply
    and like counts and the viewer's like still follow creates, deletes over HTTP and a
    record taken out of ``records`` directly."""
    emu, counter, http, did = served
    post = emu.audience("host").post("a post")

    def view() -> dict[str, Any]:
        r = http.get("/xrpc/app.bsky.feed.getPosts", params={"uris": post})
        assert r.status_code == 200, r.text
        (only,) = r.json()["posts"]
        return dict(only)

    view()
    few = counter.during(view)
    for k in range(2000):
        emu.audience(f"fan{k % 50}").post(f"hello {k}")
    view()
    many = counter.during(view)
    assert many - few < 100, (few, many)

    reply = emu.audience("fan1").reply(post, "hi")
    assert view()["replyCount"] == 1
    ref = {"uri": post, "cid": emu.record(post).cid}
    record = {"$type": LIKE, "subject": ref, "createdAt": "2027-01-15T08:00:00.000Z"}
    made = http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": did, "collection": LIKE, "record": record},
    ).json()["uri"]
    seen = view()
    assert seen["likeCount"] == 1 and seen["viewer"]["like"] == made
    rkey = made.rsplit("/", 1)[1]
    gone = http.post(
        "/xrpc/com.atproto.repo.deleteRecord",
        json={"repo": did, "collection": LIKE, "rkey": rkey},
    )
    assert gone.status_code == 200
    seen = view()
    assert seen["likeCount"] == 0 and "like" not in seen["viewer"]
    with emu.lock:
        del emu.records[reply]
    assert view()["replyCount"] == 0
