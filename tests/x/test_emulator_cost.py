"""What the X emulator does to make a post or show a user does not grow with the posts it
holds: a user's test suite that keeps one emulator for many posts stays fast. Counted in
lines of emulator code run to answer over the socket (`tests.fidelity._lines`), which a
machine's load cannot move."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import brandkit.testing.x as x
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.fidelity._lines import LineCounter


@pytest.fixture
def served() -> Iterator[tuple[XEmulator, LineCounter, httpx.Client]]:
    """The emulator on a socket whose serving threads' lines are counted, and an HTTP client
    of its brand account."""
    emu = XEmulator()
    counter = LineCounter()
    with counter.installed(), emu.serve() as url:
        brand = emu.account(name="brand")
        headers = {"authorization": f"Bearer {brand.secret('user_token')}"}
        with httpx.Client(base_url=url, headers=headers) as http:
            yield emu, counter, http


def others_post(emu: XEmulator, n: int = 2000) -> None:
    """``n`` public posts of 50 fans."""
    for k in range(n):
        emu.audience(f"fan{k % 50}").post(f"hello {k}")


def create(http: httpx.Client, text: str) -> httpx.Response:
    """``POST /2/tweets`` of ``text``."""
    return http.post("/2/tweets", json={"text": text})


def create_with(http: httpx.Client, body: dict[str, Any]) -> str:
    """``POST /2/tweets`` of ``body``, which X takes: the post's id."""
    r = http.post("/2/tweets", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def test_a_post_is_checked_for_a_duplicate_without_reading_every_post(
    served: tuple[XEmulator, LineCounter, httpx.Client],
) -> None:
    """Making a post (its text checked against the author's recent ones) costs the same
    with 2,000 posts of others as with none; a duplicate is still refused, and a deleted
    post's text or one changed since may be posted again."""
    emu, counter, http = served
    made: list[str] = []

    def post() -> None:
        r = create(http, f"post {len(made)}")
        assert r.status_code == 201, r.text
        made.append(r.json()["data"]["id"])

    post()
    few = counter.during(post)
    others_post(emu)
    post()
    many = counter.during(post)
    assert many - few < 100, (few, many)
    assert create(http, " post 3 ").status_code == 403
    assert http.delete(f"/2/tweets/{made[3]}").json() == {"data": {"deleted": True}}
    assert create(http, "post 3").status_code == 201
    changed = emu.post(made[2])
    assert changed is not None
    changed.text = "post two"
    assert create(http, "post 2").status_code == 201
    assert create(http, "post two").status_code == 403


def test_tweet_count_is_read_without_reading_every_post(
    served: tuple[XEmulator, LineCounter, httpx.Client],
) -> None:
    """``public_metrics`` of a user costs the same with 2,000 posts of others as with none;
    its ``tweet_count`` still counts the user's posts, less deleted ones."""
    emu, counter, http = served

    def count() -> int:
        me = http.get("/2/users/me", params={"user.fields": "public_metrics"}).json()
        return int(me["data"]["public_metrics"]["tweet_count"])

    made = [create(http, f"post {n}").json()["data"]["id"] for n in range(3)]
    count()
    few = counter.during(count)
    others_post(emu)
    count()
    many = counter.during(count)
    assert many - few < 100, (few, many)
    assert count() == 3
    assert http.delete(f"/2/tweets/{made[0]}").json() == {"data": {"deleted": True}}
    assert count() == 2
    gone = emu.post(made[1])
    assert gone is not None
    gone.deleted = True
    assert count() == 1
    create(http, "post 4")
    assert count() == 2


def upload(http: httpx.Client, alt: str | None = None) -> str:
    """A tiny PNG uploaded (v1.1 simple upload), with ``alt`` text if given: its media id."""
    r = http.post("/1.1/media/upload.json", files={"media": ("a.png", tiny_png(), "image/png")})
    assert r.status_code == 200, r.text
    media_id = str(r.json()["media_id_string"])
    if alt is not None:
        meta = {"id": media_id, "metadata": {"alt_text": {"text": alt}}}
        assert http.post("/2/media/metadata", json=meta).status_code == 200
    return media_id


def test_media_are_expanded_without_reading_every_upload(
    served: tuple[XEmulator, LineCounter, httpx.Client],
) -> None:
    """A post's media in ``includes`` cost the same when 300 uploads came before them as
    when none did; each is still the post's own (its alt text), and one whose
    ``media_key`` a test set reads under its new key only."""
    emu, counter, http = served
    emu.set_rate_limit("POST /1.1/media/upload", 10_000, 900)

    def pictures(tag: str) -> str:
        media = [upload(http, alt=f"{tag} {n}") for n in range(2)]
        return create_with(http, {"text": f"{tag} pictures", "media": {"media_ids": media}})

    def read(post: str) -> dict[str, Any]:
        params = {"expansions": "attachments.media_keys", "media.fields": "alt_text"}
        body: dict[str, Any] = http.get(f"/2/tweets/{post}", params=params).json()
        return body

    first = pictures("first")
    read(first)
    few = counter.during(lambda: read(first))
    for _ in range(300):
        upload(http)
    last = pictures("last")
    read(last)
    many = counter.during(lambda: read(last))
    assert many - few < 100, (few, many)
    assert [m["alt_text"] for m in read(last)["includes"]["media"]] == ["last 0", "last 1"]
    keys = read(first)["data"]["attachments"]["media_keys"]
    emu.media[keys[1].split("_")[1]].media_key = "3_1"
    assert [m["media_key"] for m in read(first)["includes"]["media"]] == keys[:1]


def test_mentioned_users_are_expanded_without_reading_every_user(
    served: tuple[XEmulator, LineCounter, httpx.Client],
) -> None:
    """The users a post names (``entities.mentions.username``) cost the same with 300 other
    users as with none, found in any case; a user renamed or taken away by a test is found
    under its new name only, or no more."""
    emu, counter, http = served
    emu.user("Alice")
    post = create_with(http, {"text": "hello @alice @ALICE_2 @nobody"})

    def named(post: str = post) -> list[str]:
        params = {"expansions": "entities.mentions.username"}
        body = http.get(f"/2/tweets/{post}", params=params).json()
        return [u["username"] for u in body.get("includes", {}).get("users", [])]

    named()
    few = counter.during(named)
    for n in range(300):
        emu.user(f"other{n}")
    emu.user("alice_2")
    named()
    many = counter.during(named)
    assert many - few < 100, (few, many)
    assert named() == ["Alice", "alice_2"]
    emu.user("alice_2").username = "nobody"
    assert named() == ["Alice", "nobody"]
    del emu.users[emu.user("Alice").id]
    assert named() == ["nobody"]
    assert emu.user("alice").username == "alice"  # made again
    assert named() == ["alice", "nobody"]


def test_a_reply_is_hidden_without_reading_every_post(
    served: tuple[XEmulator, LineCounter, httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hiding a reply (its conversation's hidden replies counted against X's cap) costs the
    same with 2,000 posts of others as with none; the cap still holds, counting replies
    hidden or shown through the API, by a test, or moved to another conversation."""
    emu, counter, http = served
    monkeypatch.setattr(x, "HIDDEN_PER_CONVERSATION", 3)
    root = create_with(http, {"text": "our news"})
    fans = [emu.audience(f"fan{n}").reply(root, f"answer {n}") for n in range(8)]

    def hide(reply: str, hidden: bool = True) -> int:
        return http.put(f"/2/tweets/{reply}/hidden", json={"hidden": hidden}).status_code

    assert hide(fans[0]) == hide(fans[0], False) == 200
    few = counter.during(lambda: hide(fans[0]))
    hide(fans[0], False)
    others_post(emu)
    hide(fans[0])
    hide(fans[0], False)
    many = counter.during(lambda: hide(fans[0]))
    hide(fans[0], False)
    assert many - few < 100, (few, many)
    assert [hide(r) for r in fans[:4]] == [200, 200, 200, 403]
    assert hide(fans[1], False) == 200
    assert [hide(fans[3]), hide(fans[4])] == [200, 403]
    shown = emu.post(fans[0])
    assert shown is not None
    shown.hidden = False
    assert [hide(fans[4]), hide(fans[5])] == [200, 403]
    moved = emu.post(fans[2])
    assert moved is not None
    moved.conversation_id = fans[2]
    assert [hide(fans[5]), hide(fans[6])] == [200, 403]
