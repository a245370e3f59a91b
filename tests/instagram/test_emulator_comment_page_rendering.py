"""The Instagram emulator renders only the comments of the page it answers (it rendered
every comment of the edge, each with its replies, before cutting the page out). Its answers
are the same, byte for byte, as those rendering every comment first (which it still does
where a comment off the page may refuse the fields asked), and a page's cost no longer
grows with the comments it does not show (`tests.fidelity._lines`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.platforms.instagram import COMMENT_FIELDS
from brandkit.testing import TINY_JPEG, LoopbackMediaHost
from brandkit.testing._graph import GraphEmulator
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import read_all_pages
from tests.fidelity._lines import LineCounter

_NESTED = f"{COMMENT_FIELDS},replies.limit(5){{{COMMENT_FIELDS}}}"


@pytest.fixture
def counter() -> LineCounter:
    """Counts the lines of emulator code run by the serving threads, once installed."""
    return LineCounter()


@pytest.fixture
def media(request: pytest.FixtureRequest) -> Iterator[tuple[InstagramEmulator, httpx.Client, str]]:
    """An Instagram emulator on a socket (its lines counted when the test asks for
    ``counter``), an HTTP client with the account's token, and a media of the account's."""
    counting = (
        request.getfixturevalue("counter").installed()
        if "counter" in request.fixturenames
        else contextlib.nullcontext()
    )
    with LoopbackMediaHost() as host:
        emu = InstagramEmulator(media_host=host)
        acct = emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        with counting, emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
            yield emu, http, _publish(http, host, who)


def _publish(http: httpx.Client, host: LoopbackMediaHost, who: str) -> str:
    """A new image media of the account ``who``: its id."""
    made = http.post(
        f"/v25.0/{who}/media",
        data={"image_url": host.put(TINY_JPEG, "image/jpeg"), "caption": "c"},
    ).json()["id"]
    published = http.post(f"/v25.0/{who}/media_publish", data={"creation_id": made})
    return str(published.json()["id"])


def _comment(emu: InstagramEmulator, media_id: str, count: int, start: int = 0) -> list[str]:
    """``count`` comments on the media, some in the same second, every fifth a reply to
    an earlier comment."""
    made: list[str] = []
    top: list[str] = []
    for i in range(start, start + count):
        if i % 3 == 0:
            emu.clock.advance(1)
        target = top[(i * 7) % len(top)] if top and i % 5 == 0 else media_id
        made.append(emu.audience(f"fan{i % 11}").comment(target, f"comment {i}"))
        if target == media_id:
            top.append(made[-1])
    return made


def test_pages_are_the_answers_of_rendering_every_comment(
    media: tuple[InstagramEmulator, httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 comments and replies, some hidden and some deleted: the media's comments with
    their replies nested, a comment's replies, the default fields, and fields comments do
    not have, page by page forwards and back, answer the same bytes as when every comment
    is rendered first."""
    emu, http, media_id = media
    made = _comment(emu, media_id, 1000)
    for i, comment in enumerate(made):
        if i % 13 == 0:
            assert http.post(f"/v25.0/{comment}", data={"hide": "true"}).status_code == 200
        elif i % 17 == 0:
            assert http.delete(f"/v25.0/{comment}").status_code == 200
    answered = max(
        (c for c in made if emu.comment(c).deleted_at is None and emu.comment(c).parent is None),
        key=lambda c: len([r for r in emu.comments(media_id) if r.parent == c]),
    )
    reads: list[tuple[str, dict[str, Any]]] = [
        (f"/v25.0/{media_id}/comments", {"fields": _NESTED, "limit": 50}),
        (f"/v25.0/{media_id}/comments", {"limit": 25}),
        (f"/v25.0/{media_id}/comments", {"fields": "id,replies{id,nonesuch}", "limit": 25}),
        (f"/v25.0/{answered}/replies", {"fields": COMMENT_FIELDS, "limit": 2}),
        (f"/v25.0/{media_id}", {"fields": f"comments.limit(40){{{_NESTED}}}"}),
    ]
    paged = [read_all_pages(http, path, params) for path, params in reads]
    assert sum(len(answers) for answers in paged) > 50
    refused = [a for answers in paged for a in answers if b'"error"' in a]
    assert refused and all(b"nonexisting field (nonesuch)" in a for a in refused)
    monkeypatch.setattr(GraphEmulator, "_comment_render", lambda self, items, fields: None)
    assert [read_all_pages(http, path, params) for path, params in reads] == paged


def test_a_page_costs_the_same_whatever_the_edge_holds_past_it(
    counter: LineCounter, media: tuple[InstagramEmulator, httpx.Client, str]
) -> None:
    """A page of 25 comments with their replies, of a media with 100 comments, then with
    1,000: the emulator's work to answer grows with the comments added only as the 25
    comments shown look their replies up among them, about threefold (it rendered every
    comment, each looking its replies up so: some thirtyfold)."""
    emu, http, media_id = media

    def read() -> None:
        got = http.get(f"/v25.0/{media_id}/comments", params={"fields": _NESTED, "limit": 25})
        assert got.status_code == 200 and len(got.json()["data"]) == 25

    _comment(emu, media_id, 100)
    few = counter.during(read)
    _comment(emu, media_id, 900, start=100)
    many = counter.during(read)
    assert many < 4 * few, (few, many)


def test_a_page_costs_the_same_whatever_other_media_hold(counter: LineCounter) -> None:
    """A page of 25 comments with their replies costs the same after another media got
    2,000 comments: each comment's replies, and the media's own comments, are looked up
    among that media's (they were among every comment of the emulator)."""
    with LoopbackMediaHost() as host:
        emu = InstagramEmulator(media_host=host)
        acct = emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        with (
            counter.installed(),
            emu.serve() as url,
            httpx.Client(base_url=url, headers=auth) as http,
        ):
            shown, other = _publish(http, host, who), _publish(http, host, who)
            pages: list[bytes] = []

            def read() -> None:
                got = http.get(f"/v25.0/{shown}/comments", params={"fields": _NESTED, "limit": 25})
                assert got.status_code == 200 and len(got.json()["data"]) == 25
                pages.append(got.content)

            _comment(emu, shown, 100)
            read()
            few = counter.during(read)
            _comment(emu, other, 2000)
            read()  # the indexes take in the new comments once
            many = counter.during(read)
    assert pages[0] == pages[1] == pages[2] == pages[3]
    assert many - few < 100, (few, many)
