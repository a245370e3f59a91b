"""The Facebook emulator renders only the comments of the page it answers: it rendered a
post's whole comment edge (every comment, each looking up its replies among every comment)
before cutting the page out, so one page of a large edge cost as much as reading all of
it. Its answers are the same, byte for byte (each compared with the answer rendering every
comment first, which the emulator still does where a comment off the page may refuse the
fields asked), and a page's cost no longer grows with the comments it does not show
(counted in lines of emulator code, `tests.fidelity._lines`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.platforms.facebook import COMMENT_FIELDS
from brandkit.testing._graph import GraphEmulator
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import read_all_pages
from tests.fidelity._lines import LineCounter


@pytest.fixture
def counter() -> LineCounter:
    """Counts the lines of emulator code run by the serving threads, once installed."""
    return LineCounter()


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[FacebookEmulator, httpx.Client, str]]:
    """A Facebook emulator on a socket (its lines counted when the test asks for
    ``counter``), an HTTP client with the Page's token, and the Page's id."""
    emu = FacebookEmulator()
    acct = emu.account()
    page_id, token = str(acct.settings["page_id"]), str(acct.secret("page_token"))
    counting = (
        request.getfixturevalue("counter").installed()
        if "counter" in request.fixturenames
        else contextlib.nullcontext()
    )
    with counting, emu.serve() as url:
        auth = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=auth) as http:
            yield emu, http, page_id


def _comment(emu: FacebookEmulator, on: str, count: int, start: int = 0) -> list[str]:
    """``count`` comments on ``on``, some in the same second, every fifth answering an
    earlier top-level comment."""
    made: list[str] = []
    top: list[str] = []
    for i in range(start, start + count):
        if i % 3 == 0:
            emu.clock.advance(1)
        target = top[(i * 7) % len(top)] if top and i % 5 == 0 else on
        made.append(emu.audience(f"fan{i % 11}").comment(target, f"comment {i}"))
        if target == on:
            top.append(made[-1])
    return made


# The reads compared: the inbox's own, every level newest first; the default fields; nested
# replies and parents; fields comments do not have, at the top and nested under replies
# (refused, whichever page: the emulator renders every comment first for those).
_READS: list[dict[str, Any]] = [
    {"fields": COMMENT_FIELDS, "filter": "stream", "order": "reverse_chronological"},
    {"filter": "stream", "order": "chronological"},
    {"fields": "id,message,comment_count,comments.limit(2){id,message,parent{id}}"},
    {"fields": "id,message.as(id)"},
    {"fields": "id,nonesuch"},
    {"fields": "id,comments{id,nonesuch}", "filter": "toplevel"},
]


def test_pages_are_the_answers_of_rendering_every_comment(
    served: tuple[FacebookEmulator, httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 comments (replies among them), some hidden and some deleted: each read, page
    by page at several page sizes, forwards and back, and the post's comments expanded in
    its fields, answers the same bytes as when every comment is rendered first."""
    emu, http, page_id = served
    post = http.post(f"/v25.0/{page_id}/feed", data={"message": "Hi"}).json()["id"]
    made = _comment(emu, post, 1000)
    for i, comment in enumerate(made):
        if i % 13 == 0:
            hidden = http.post(f"/v25.0/{comment}", data={"is_hidden": "true"})
            assert hidden.status_code == 200, hidden.text
        elif i % 17 == 0:
            assert http.delete(f"/v25.0/{comment}").status_code == 200
    reads = [
        (f"/v25.0/{post}/comments", {**params, "limit": limit})
        for params in _READS
        for limit in (25, 100)
    ]
    reads.append(
        (f"/v25.0/{post}", {"fields": f"comments.limit(30){{{COMMENT_FIELDS},comment_count}}"})
    )
    paged = [read_all_pages(http, path, params) for path, params in reads]
    assert sum(len(answers) for answers in paged) > 200
    refused = [a for answers in paged for a in answers if b'"error"' in a]
    assert refused and all(b"nonexisting field (nonesuch)" in a for a in refused)
    monkeypatch.setattr(GraphEmulator, "_comment_render", lambda self, items, fields: None)
    assert [read_all_pages(http, path, params) for path, params in reads] == paged


def test_a_page_costs_the_same_whatever_the_edge_holds_past_it(
    counter: LineCounter, served: tuple[FacebookEmulator, httpx.Client, str]
) -> None:
    """A page of 25 comments of a post with 100 comments, then with 1,000: the emulator's
    work to answer grows by little more than a scan of the comments added (it rendered
    every comment, each scanning every comment for its replies: a hundredfold more)."""
    emu, http, page_id = served
    post = http.post(f"/v25.0/{page_id}/feed", data={"message": "Hi"}).json()["id"]
    params = {"fields": COMMENT_FIELDS, "filter": "stream", "limit": 25}

    def read() -> None:
        got = http.get(f"/v25.0/{post}/comments", params=params)
        assert got.status_code == 200 and len(got.json()["data"]) == 25

    _comment(emu, post, 100)
    few = counter.during(read)
    _comment(emu, post, 900, start=100)
    many = counter.during(read)
    assert many < 2 * few, (few, many)
