"""brandkit's public API (``Client``, ``AsyncClient``, ``Account.bluesky``) against the real PDS.

Every result is checked by reading the records back from the server (``getRecord`` /
``listRecords``), never by trusting what brandkit returns.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import regex

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Link, Media, Post, text
from brandkit.delivery import new_tid
from tests.pds.loopback_proxy import LoopbackProxy
from tests.pds.pds_harness import PdsAccount, PdsServer, tiny_png

pytestmark = pytest.mark.pds

POST = "app.bsky.feed.post"
CREATE = r"com\.atproto\.repo\.createRecord$"
Changes = list[dict[str, str]]


def brandkit_account(
    pds: PdsServer | str, who: PdsAccount, changes: Changes | None = None, **kwargs: Any
) -> Account:
    """An ``Account.bluesky`` for ``who`` at ``pds`` (a server or a proxy URL)."""
    base_url = pds if isinstance(pds, str) else pds.base_url

    def hook(account: Account, changed: Any) -> None:
        if changes is not None:
            changes.append(dict(changed))

    options: dict[str, Any] = {"app_password": who.app_password, **kwargs}
    return Account.bluesky(
        handle=who.handle, base_url=base_url, on_credentials_changed=hook, **options
    )


def read(pds: PdsServer, did: str, rkey: str) -> httpx.Response:
    """getRecord straight from the server."""
    with pds.client() as http:
        return http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": POST, "rkey": rkey},
        )


def value(pds: PdsServer, did: str, rkey: str) -> dict[str, Any]:
    """The stored record at ``rkey`` (fails the test if it is not there)."""
    response = read(pds, did, rkey)
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()["value"]
    return record


def all_posts(pds: PdsServer, did: str) -> list[dict[str, Any]]:
    """Every post record of ``did``, via listRecords."""
    out: list[dict[str, Any]] = []
    cursor = None
    with pds.client() as http:
        while True:
            params = {"repo": did, "collection": POST, "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/xrpc/com.atproto.repo.listRecords", params=params).json()
            out.extend(page["records"])
            cursor = page.get("cursor")
            if not cursor or not page["records"]:
                return out


def facet_text(record: dict[str, Any], facet: dict[str, Any]) -> str:
    """The substring a facet's byte range selects."""
    data = record["text"].encode("utf-8")
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    return str(data[start:end].decode("utf-8"))


@pytest.fixture(scope="module")
def alice(pds: PdsServer) -> PdsAccount:
    """The posting account."""
    return pds.create_account("alice")


@pytest.fixture(scope="module")
def bob(pds: PdsServer) -> PdsAccount:
    """Another account on the same PDS, to be mentioned."""
    return pds.create_account("bob")


@pytest.fixture
def proxy(pds: PdsServer) -> Iterator[LoopbackProxy]:
    """A recording loopback proxy in front of the shared PDS."""
    with LoopbackProxy(pds.base_url).running() as running:
        yield running


def test_facets_select_exact_substrings_after_cjk_and_emoji(
    pds: PdsServer, alice: PdsAccount, bob: PdsAccount
) -> None:
    """Mention, link and tag facets cover exactly their text, after CJK, ZWJ emoji and flags."""
    url = "https://example.com/a/b?c=1"
    body = f"日本語のテキスト 👩‍👩‍👧‍👦🇯🇵 e\u0301 hi @{bob.handle} read {url} #brandkit done"
    with Client() as client:
        (delivery,) = client.publish(Post(text=body, utm=False), [brandkit_account(pds, alice)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    record = value(pds, alice.did, delivery.parts[0].id)
    assert record["text"] == body
    found = {}
    for facet in record["facets"]:
        (feature,) = facet["features"]
        found[feature["$type"].rsplit("#", 1)[1]] = (facet_text(record, facet), feature)
    assert found["mention"] == (
        f"@{bob.handle}",
        {"$type": "app.bsky.richtext.facet#mention", "did": bob.did},
    )
    assert found["link"] == (url, {"$type": "app.bsky.richtext.facet#link", "uri": url})
    assert found["tag"] == (
        "#brandkit",
        {"$type": "app.bsky.richtext.facet#tag", "tag": "brandkit"},
    )
    assert set(found) == {"mention", "link", "tag"}


def test_unknown_handle_stays_plain_text(pds: PdsServer, alice: PdsAccount) -> None:
    """A mention of a handle the PDS cannot resolve is posted without a mention facet."""
    body = "hello @nobody-at-all.test and goodbye"
    with Client() as client:
        (delivery,) = client.publish(Post(text=body), [brandkit_account(pds, alice)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    record = value(pds, alice.did, delivery.parts[0].id)
    assert record["text"] == body
    kinds = [f["features"][0]["$type"] for f in record.get("facets", [])]
    assert "app.bsky.richtext.facet#mention" not in kinds


def test_images_with_alt_and_aspect_ratio(pds: PdsServer, alice: PdsAccount) -> None:
    """Two images land with their alt texts, aspect ratios and exact bytes."""
    first, second = tiny_png(4, 3), tiny_png(2, 5)
    media = (
        Media.from_bytes(first, alt="an orange rectangle"),
        Media.from_bytes(second, alt="a tall one, 縦長"),
    )
    with Client() as client:
        (delivery,) = client.publish(
            Post(text="two pictures", media=media), [brandkit_account(pds, alice)]
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    embed = value(pds, alice.did, delivery.parts[0].id)["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    images = embed["images"]
    assert [i["alt"] for i in images] == ["an orange rectangle", "a tall one, 縦長"]
    assert [i["aspectRatio"] for i in images] == [
        {"width": 4, "height": 3},
        {"width": 2, "height": 5},
    ]
    with pds.client() as http:
        for image, data in zip(images, (first, second), strict=True):
            assert image["image"]["mimeType"] == "image/png"
            blob = http.get(
                "/xrpc/com.atproto.sync.getBlob",
                params={"did": alice.did, "cid": image["image"]["ref"]["$link"]},
            )
            assert blob.status_code == 200
            assert blob.content == data


def test_link_card(pds: PdsServer, alice: PdsAccount) -> None:
    """A link card becomes an external embed with title, description and thumbnail blob."""
    thumb = tiny_png(8, 4)
    link = Link(
        url="https://example.com/article",
        title="An article",
        description="What it is about",
        thumbnail=Media.from_bytes(thumb),
    )
    with Client() as client:
        (delivery,) = client.publish(
            Post(text="worth a read", link=link, utm=False), [brandkit_account(pds, alice)]
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    embed = value(pds, alice.did, delivery.parts[0].id)["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    external = embed["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        "https://example.com/article",
        "An article",
        "What it is about",
    )
    assert external["thumb"]["mimeType"] == "image/png"
    assert external["thumb"]["size"] == len(thumb)


def long_text(words: int) -> str:
    """A text of distinct words, long enough to need several posts."""
    return " ".join(f"word{i}" for i in range(words))


def check_thread(pds: PdsServer, did: str, rkeys: list[str], source: str) -> None:
    """Every part after the first replies to the first (root) and the previous (parent)."""
    records = [value(pds, did, rkey) for rkey in rkeys]
    with pds.client() as http:
        refs = [
            {
                k: v
                for k, v in http.get(
                    "/xrpc/com.atproto.repo.getRecord",
                    params={"repo": did, "collection": POST, "rkey": rkey},
                )
                .json()
                .items()
                if k in ("uri", "cid")
            }
            for rkey in rkeys
        ]
    assert "reply" not in records[0]
    for i in range(1, len(records)):
        assert records[i]["reply"] == {"root": refs[0], "parent": refs[i - 1]}
    words = " ".join(r["text"] for r in records).split()
    assert [w for w in words if w.startswith("word")] == source.split()
    for record in records:
        assert text.measure(record["text"], "bluesky").fits


def test_long_text_becomes_a_thread(pds: PdsServer, alice: PdsAccount) -> None:
    """A long text is posted as ≥3 parts with correct root/parent refs and every word once."""
    source = long_text(130)
    with Client() as client:
        (delivery,) = client.publish(Post(text=source), [brandkit_account(pds, alice)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert len(delivery.parts) >= 3
    check_thread(pds, alice.did, [p.id for p in delivery.parts], source)


@pytest.mark.anyio
async def test_async_thread_and_delete(pds: PdsServer, alice: PdsAccount) -> None:
    """AsyncClient posts a thread, then deletes every part of it."""
    source = long_text(110)
    account = brandkit_account(pds, alice)
    async with AsyncClient() as client:
        (delivery,) = await client.publish(Post(text=source), [account])
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        rkeys = [p.id for p in delivery.parts]
        assert len(rkeys) >= 3
        check_thread(pds, alice.did, rkeys, source)
        deleted = await client.delete(delivery, account)
    assert deleted.status is DeliveryStatus.DELETED
    for rkey in rkeys:
        assert read(pds, alice.did, rkey).json()["error"] == "RecordNotFound"


def test_delete(pds: PdsServer, alice: PdsAccount) -> None:
    """Client.delete removes the post from the server."""
    account = brandkit_account(pds, alice)
    with Client() as client:
        (delivery,) = client.publish(Post(text="short-lived"), [account])
        rkey = delivery.parts[0].id
        assert read(pds, alice.did, rkey).status_code == 200
        client.delete(delivery, account)
    assert delivery.status is DeliveryStatus.DELETED
    assert read(pds, alice.did, rkey).json()["error"] == "RecordNotFound"


def test_expired_saved_session_is_refreshed_and_reported(
    pds: PdsServer, alice: PdsAccount, proxy: LoopbackProxy
) -> None:
    """A saved session whose access token expired is refreshed (no login) and handed to the hook."""
    with pds.client() as http:
        session = http.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": alice.handle, "password": alice.app_password},
        ).json()
    expired = pds.mint_access_jwt(alice.did, expires_in=-60, scope="com.atproto.appPass")
    changes: Changes = []
    account = Account.bluesky(
        handle=alice.handle,
        did=alice.did,
        access_jwt=expired,
        refresh_jwt=session["refreshJwt"],
        base_url=proxy.url,
        on_credentials_changed=lambda acct, changed: changes.append(dict(changed)),
    )
    with Client() as client:
        (delivery,) = client.publish(Post(text="after a refresh"), [account])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert value(pds, alice.did, delivery.parts[0].id)["text"] == "after a refresh"
    assert proxy.calls("POST", r"refreshSession$")
    assert not proxy.calls("POST", r"createSession$")
    assert len(changes) == 1
    new_access, new_refresh = changes[0]["access_jwt"], changes[0]["refresh_jwt"]
    assert new_access != expired
    assert new_refresh != session["refreshJwt"]
    assert account.secret("access_jwt") == new_access
    with pds.client() as http:
        check = http.get(
            "/xrpc/com.atproto.server.getSession",
            headers={"Authorization": f"Bearer {new_access}"},
        )
    assert check.status_code == 200
    assert check.json()["did"] == alice.did


def test_server_side_expired_token_with_a_slow_client_clock(
    pds: PdsServer, alice: PdsAccount, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the client's clock runs slow, the server's 400 ExpiredToken triggers the refresh."""
    from brandkit.platforms.bluesky import BlueskyAdapter

    # Five minutes slow: a token that expired a minute ago still looks fresh to brandkit, so
    # the server is the one that says so.
    monkeypatch.setattr(BlueskyAdapter, "_now", lambda self: time.time() - 300)
    with pds.client() as http:
        session = http.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": alice.handle, "password": alice.app_password},
        ).json()
    changes: Changes = []
    account = Account.bluesky(
        handle=alice.handle,
        did=alice.did,
        access_jwt=pds.mint_access_jwt(alice.did, expires_in=-60, scope="com.atproto.appPass"),
        refresh_jwt=session["refreshJwt"],
        base_url=proxy.url,
        on_credentials_changed=lambda acct, changed: changes.append(dict(changed)),
    )
    with Client() as client:
        (delivery,) = client.publish(Post(text="clock skew"), [account])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    creates = proxy.calls("POST", CREATE)
    assert [c.status for c in creates] == [400, 200]
    assert proxy.calls("POST", r"refreshSession$")
    assert changes
    assert value(pds, alice.did, delivery.parts[0].id)["text"] == "clock skew"


def count_texts(pds: PdsServer, did: str, body: str) -> int:
    """How many posts of ``did`` have exactly this text."""
    return sum(1 for r in all_posts(pds, did) if r["value"]["text"] == body)


def test_dropped_create_response_is_resolved_without_duplicate(
    pds: PdsServer, proxy: LoopbackProxy
) -> None:
    """The server stores the post but the answer is lost: brandkit finds it, posts no copy."""
    who = pds.create_account("drop")
    body = f"landed but unheard {new_tid()}"
    proxy.drop_next("POST", CREATE)
    with Client() as client:
        (delivery,) = client.publish(Post(text=body), [brandkit_account(proxy.url, who)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert count_texts(pds, who.did, body) == 1
    creates = proxy.calls("POST", CREATE)
    assert creates[0].dropped
    assert creates[0].status == 200
    # Any further create of that part could only have hit the taken record key.
    assert all(c.status == 500 for c in creates[1:])
    assert value(pds, who.did, delivery.parts[0].id)["text"] == body


@pytest.mark.anyio
async def test_async_dropped_response_in_a_thread(pds: PdsServer, proxy: LoopbackProxy) -> None:
    """AsyncClient: the 2nd part's answer is lost; the thread completes with no duplicate part."""
    who = pds.create_account("adrop")
    source = long_text(120)
    account = brandkit_account(proxy.url, who)
    proxy.drop_next("POST", CREATE, after=1)
    async with AsyncClient() as client:
        (delivery,) = await client.publish(Post(text=source), [account])
        rendered = await client.render(Post(text=source), account)
    assert len(rendered.parts) >= 3
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    records = all_posts(pds, who.did)
    assert len(records) == len(rendered.parts)
    check_thread(pds, who.did, [p.id for p in delivery.parts], source)


def test_rate_limited_create_is_waited_out(pds_write_limited: PdsServer) -> None:
    """A real 429 on createRecord is waited out via Retry-After and the post lands once."""
    server = pds_write_limited
    who = server.create_account("rl")
    with LoopbackProxy(server.base_url).running() as proxy:
        account = brandkit_account(proxy.url, who)
        with Client() as client:
            client.render(Post(text="warm up"), account)  # log in before the bucket is spent
            with server.client() as http:
                for i in range(3):  # 3 creates x 3 points: the write bucket is empty
                    made = http.post(
                        "/xrpc/com.atproto.repo.createRecord",
                        json={
                            "repo": who.did,
                            "collection": POST,
                            "record": {
                                "$type": POST,
                                "text": f"filler {i}",
                                "createdAt": "2026-11-26T10:00:00.000Z",
                            },
                        },
                        headers=who.auth(),
                    )
                    assert made.status_code == 200
            body = f"waited for the limit {new_tid()}"
            (delivery,) = client.publish(Post(text=body), [account])
        creates = proxy.calls("POST", CREATE)
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    statuses = [c.status for c in creates]
    assert statuses[0] == 429
    assert statuses[-1] == 200
    assert set(statuses) == {429, 200}
    assert count_texts(server, who.did, body) == 1


# -- measure() against the server -------------------------------------------------------------

UNITS: dict[str, list[str]] = {
    "ascii": ["a", "b", "z", " ", ".", "7"],
    "latin": ["é", "ß", "ø", "Ω"],
    "combining": ["e\u0301", "a\u0308\u0301", "n\u0303", "o\u0328\u0304"],
    "cjk": ["日", "本", "語", "字", "한", "국"],
    "jamo": ["\u1100\u1161\u11a8", "\u1112\u1161\u11ab"],
    "indic": ["क्ष", "स्त्र", "नि", "ग्"],
    "emoji": ["🎉", "👍🏽", "❤️", "1️⃣", "🫨"],
    "zwj": ["👩‍👩‍👧‍👦", "🏳️‍🌈", "🐦‍🔥", "🧑🏽‍💻", "👨‍❤️‍💋‍👨"],
    "flags": ["🇯🇵", "🇫🇷", "🇺🇸", "🇧🇷"],
    "breaks": ["\r\n", "\n"],
}


def _graphemes(s: str) -> int:
    return len(regex.findall(r"\X", s))


def edge_texts(rng: random.Random) -> list[str]:
    """Texts at 300/301 graphemes and 3000/3001 bytes exactly, for every unit."""
    out: list[str] = []
    for unit in [u for units in UNITS.values() for u in units]:
        k = rng.randint(1, 299)
        out.append(unit * k + "a" * (300 - k))  # 300 if the unit is one grapheme
        out.append(unit * k + "a" * (301 - k))
        size = len(unit.encode())
        if size >= 10:  # heavy enough to reach 3000 bytes in under 300 graphemes
            k = 3000 // size - rng.randint(0, 3)
            out.append(unit * k + "a" * (3000 - k * size))
            out.append(unit * k + "a" * (3001 - k * size))
    return out


def generated_texts(n: int, seed: int = 20261126) -> list[str]:
    """``n`` texts at or within a few graphemes of 300 or a few bytes of 3000."""
    rng = random.Random(seed)
    kinds = list(UNITS)
    out: list[str] = edge_texts(rng)
    while len(out) < n:
        mix = rng.sample(kinds, rng.randint(1, 3))
        units = [u for k in mix for u in UNITS[k]]
        aim_bytes = rng.random() < 0.5
        target = rng.randint(2970, 3005) if aim_bytes else rng.randint(295, 302)
        parts: list[str] = []
        # Bytes add up exactly; graphemes nearly (a unit may join its neighbour), which is
        # close enough to aim at the limit: the server is the judge, not this count.
        size_bytes = size_graphemes = 0
        while (size_bytes if aim_bytes else size_graphemes) < target:
            unit = rng.choice(units)
            parts.append(unit)
            size_bytes += len(unit.encode())
            size_graphemes += _graphemes(unit)
            if size_graphemes > 330 or size_bytes > 3100:
                break
        candidate = "".join(parts).strip() or "x"
        if candidate not in out:
            out.append(candidate)
    return out


def test_measure_agrees_with_the_server_near_the_limits(pds: PdsServer) -> None:
    """For ~200 texts near 300 graphemes / 3000 bytes, measure().fits == the server accepts."""
    who = pds.create_account("diff")
    texts = generated_texts(200)
    disagreements = []
    accepted = 0
    with pds.client() as http:
        for body in texts:
            response = http.post(
                "/xrpc/com.atproto.repo.createRecord",
                json={
                    "repo": who.did,
                    "collection": POST,
                    "record": {
                        "$type": POST,
                        "text": body,
                        "createdAt": "2026-11-26T10:00:00.000Z",
                    },
                },
                headers=who.auth(),
            )
            assert response.status_code in (200, 400), response.text
            server_ok = response.status_code == 200
            if not server_ok:
                assert "at $.record.text" in response.json()["message"], response.text
            accepted += server_ok
            measured = text.measure(body, "bluesky")
            if measured.fits != server_ok:
                disagreements.append(
                    {
                        "text": body[:40] + "…",
                        "brandkit": (measured.length, measured.byte_length, measured.fits),
                        "server": response.json().get("message", "accepted"),
                    }
                )
    # The set must straddle the limits to mean anything.
    assert 40 <= accepted <= 160, accepted
    assert not disagreements, json.dumps(disagreements, ensure_ascii=False, indent=1)


# -- the emulator against the real server ------------------------------------------------------


@dataclass
class World:
    """One Bluesky server (real or emulated) as the scenario sees it."""

    name: str
    base_url: str
    new_user: Callable[[str], tuple[str, str, str]]  # handle -> (handle, did, app password)
    expire: Callable[[str, str, str], str]  # (handle, did, access token) -> an expired one


def _session(world: World, handle: str, app_password: str) -> dict[str, Any]:
    response = httpx.post(
        f"{world.base_url}/xrpc/com.atproto.server.createSession",
        json={"identifier": handle, "password": app_password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


_AT_URI_RKEY = re.compile(r"(at://[^/\s]+/[^/\s]+/)[234567a-z]{13}\b")


def _normalise(obj: Any, names: dict[str, str]) -> Any:
    """Replace DIDs and handles by role names; drop what is random (CIDs, times, revs)."""
    if isinstance(obj, dict):
        out = {}
        for key, item in obj.items():
            if key in ("cid", "rev", "createdAt", "$link"):
                continue
            out[key] = _normalise(item, names)
        return out
    if isinstance(obj, list):
        return [_normalise(item, names) for item in obj]
    if isinstance(obj, str):
        for raw, role in names.items():
            obj = obj.replace(raw, role)
        # Record keys are fresh TIDs on each run.
        return _AT_URI_RKEY.sub(r"\1<rkey>", obj)
    return obj


def run_scenario(world: World, tag: str) -> dict[str, Any]:
    """Publish, read back, delete and provoke refusals; return what an observer sees.

    Handles are the same in both worlds (``tag`` makes them unique on the shared PDS), so
    texts, splits and byte offsets are comparable.
    """
    alice_handle, alice_did, alice_pw = world.new_user(f"alice{tag}.test")
    bob_handle, bob_did, _ = world.new_user(f"bob{tag}.test")
    names = {alice_did: "<alice-did>", bob_did: "<bob-did>"}
    names.update({alice_handle: "<alice>", bob_handle: "<bob>"})
    account = Account.bluesky(handle=alice_handle, app_password=alice_pw, base_url=world.base_url)
    seen: dict[str, Any] = {}
    http = httpx.Client(base_url=world.base_url, timeout=30)

    def get(rkey: str) -> httpx.Response:
        return http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": alice_did, "collection": POST, "rkey": rkey},
        )

    thread_text = (
        f"日本語 👩‍👩‍👧‍👦🇯🇵 hi @{bob_handle} see https://example.com/x #brandkit " + long_text(100)
    )
    image = Media.from_bytes(tiny_png(4, 3), alt="orange")
    card = Link(url="https://example.com/card", title="Card", description="About")
    with Client() as client:
        (thread,) = client.publish(
            Post(text=thread_text, media=(image,), language="en", utm=False), [account]
        )
        (linked,) = client.publish(Post(text="a card", link=card, utm=False), [account])
        seen["statuses"] = [thread.status.value, linked.status.value]
        uris = {}
        parts = []
        for index, part in enumerate(thread.parts):
            response = get(part.id)
            uris[response.json()["uri"]] = f"<part {index}>"
            parts.append(response.json()["value"])
        # Whole URIs first, so each reply ref names the part it points at.
        seen["thread"] = _normalise(parts, {**uris, **names})
        seen["card"] = _normalise(get(linked.parts[0].id).json()["value"], names)
        client.delete(linked, account)
        gone = get(linked.parts[0].id)
        seen["after delete"] = (gone.status_code, _normalise(gone.json(), names))

    # Raw refusals, as any client would meet them.
    session = _session(world, alice_handle, alice_pw)
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}

    def create(
        record_text: str, rkey: str | None = None, token: str | None = None, **extra: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "repo": alice_did,
            "collection": POST,
            "record": {
                "$type": POST,
                "text": record_text,
                "createdAt": "2026-11-26T10:00:00.000Z",
                **extra,
            },
        }
        if rkey:
            body["rkey"] = rkey
        headers = {"Authorization": f"Bearer {token}"} if token else auth
        return http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=headers)

    def answer(response: httpx.Response) -> tuple[int, Any]:
        return response.status_code, _normalise(response.json(), names)

    rkey = new_tid()
    seen["create at chosen rkey"] = answer(create("once", rkey))[0]
    seen["same rkey again"] = answer(create("twice", rkey))
    seen["missing record"] = answer(get(new_tid()))
    seen["rkey not a TID"] = answer(create("x", "hello"))
    seen["301 graphemes"] = answer(create("a" * 301))
    seen["3025 bytes"] = answer(create("👩‍👩‍👧‍👦" * 121))
    seen["4 langs"] = answer(create("x", langs=["en", "fr", "de", "es"]))
    target = {"repo": alice_did, "collection": POST, "rkey": rkey}
    seen["delete"] = http.post(
        "/xrpc/com.atproto.repo.deleteRecord", json=target, headers=auth
    ).status_code
    seen["delete again"] = answer(
        http.post("/xrpc/com.atproto.repo.deleteRecord", json=target, headers=auth)
    )
    seen["create after delete"] = create("reborn", rkey).status_code
    blob = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=tiny_png(),
        headers={**auth, "Content-Type": "image/png"},
    ).json()["blob"]
    no_alt = {"$type": "app.bsky.embed.images", "images": [{"image": blob}]}
    seen["image without alt"] = answer(create("x", embed=no_alt))
    five = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": ""}] * 5}
    seen["five images"] = answer(create("x", embed=five))
    seen["upload without type"] = answer(
        http.post("/xrpc/com.atproto.repo.uploadBlob", content=b"x", headers=auth)
    )
    seen["no token"] = answer(
        http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": alice_did, "collection": POST, "record": {"$type": POST, "text": "x"}},
        )
    )
    expired = world.expire(alice_handle, alice_did, session["accessJwt"])
    seen["expired token"] = answer(create("late", token=expired))
    refreshed = http.post(
        "/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {session['refreshJwt']}"},
    )
    seen["refresh"] = refreshed.status_code
    seen["access token as refresh"] = answer(
        http.post(
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {refreshed.json()['accessJwt']}"},
        )
    )
    http.close()
    return seen


def test_emulator_matches_the_real_server(pds: PdsServer) -> None:
    """The same scenario on brandkit's Bluesky emulator and on the real PDS looks the same."""
    from brandkit.testing import emulator

    def real_user(handle: str) -> tuple[str, str, str]:
        made = pds.create_account(handle=handle)
        return made.handle, made.did, made.app_password

    def real_expire(handle: str, did: str, token: str) -> str:
        # The real server cannot be told to expire a token: mint one that has.
        return pds.mint_access_jwt(did, expires_in=-60, scope="com.atproto.appPass")

    def emu_expire(handle: str, did: str, token: str) -> str:
        emu.expire_tokens(handle)
        return token

    tag = secrets.token_hex(3)
    real = run_scenario(World("real", pds.base_url, real_user, real_expire), tag)
    emu = emulator("bluesky")
    with emu.serve() as url:

        def emu_user(handle: str) -> tuple[str, str, str]:
            user = emu.add_user(handle)
            return user.handle, user.did, user.app_password

        emulated = run_scenario(World("emulator", url, emu_user, emu_expire), tag)
    assert emulated == real


def test_emulator_checks_auth_before_the_body(pds: PdsServer) -> None:
    """A write with no token and a bad body: the real PDS says 401 AuthMissing, before validating."""
    from brandkit.testing import emulator

    body = {"repo": "did:plc:whoever"}
    real = httpx.post(f"{pds.base_url}/xrpc/com.atproto.repo.createRecord", json=body, timeout=30)
    assert (real.status_code, real.json()["error"]) == (401, "AuthMissing")
    emu = emulator("bluesky")
    with emu.serve() as url:
        emulated = httpx.post(f"{url}/xrpc/com.atproto.repo.createRecord", json=body, timeout=30)
    assert (emulated.status_code, emulated.json()) == (real.status_code, real.json())


def rate_limit_scenario(base_url: str, handle: str, did: str, app_password: str) -> dict[str, Any]:
    """What a client sees of the rate limits: headers on a write, the login limit's 429."""
    seen: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        fresh_ip = {"X-Forwarded-For": "198.51.100.77"}
        session = http.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": handle, "password": app_password},
            headers=fresh_ip,
        )
        seen["login policy"] = session.headers.get("ratelimit-policy")
        write = http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={
                "repo": did,
                "collection": POST,
                "record": {"$type": POST, "text": "x", "createdAt": "2026-11-26T10:00:00.000Z"},
            },
            headers={**fresh_ip, "Authorization": f"Bearer {session.json()['accessJwt']}"},
        )
        seen["write"] = (
            write.status_code,
            write.headers.get("ratelimit-limit"),
            write.headers.get("ratelimit-policy"),
            write.headers.get("ratelimit-remaining"),
        )
        bad = {"identifier": "nobody-here.test", "password": "x" * 513}
        other_ip = {"X-Forwarded-For": "198.51.100.78"}
        statuses = [
            http.post("/xrpc/com.atproto.server.createSession", json=bad, headers=other_ip)
            for _ in range(31)
        ]
        seen["logins"] = [r.status_code for r in statuses]
        last = statuses[-1]
        seen["429"] = (
            last.json(),
            last.headers.get("ratelimit-policy"),
            last.headers.get("ratelimit-remaining"),
            "retry-after" in last.headers,
        )
    return seen


def test_emulator_rate_limits_match_the_real_server(pds_rate_limited: PdsServer) -> None:
    """With rate limits on, the emulator's headers and 429s look like the real server's."""
    from brandkit.testing import emulator

    tag = secrets.token_hex(3)
    made = pds_rate_limited.create_account(handle=f"rate{tag}.test")
    real = rate_limit_scenario(pds_rate_limited.base_url, made.handle, made.did, made.app_password)
    emu = emulator("bluesky", rate_limits=True)
    with emu.serve() as url:
        user = emu.add_user(f"rate{tag}.test")
        emulated = rate_limit_scenario(url, user.handle, user.did, user.app_password)
    assert emulated == real
