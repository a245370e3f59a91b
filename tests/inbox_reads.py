"""Reading an inbox on while its reads say ``more``, as the paging tests of several
platforms do; and reading it under a busy audience."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import httpx

from brandkit import Account, Client, InboxPage
from brandkit.testing import Emulator


def read_on(
    client: Client, account: Account, cursor: str | None, *, limit: int = 5000, most: int = 50
) -> list[InboxPage]:
    """The pages read from ``cursor`` while each says ``more``, each read going on from
    the cursor of the one before; fails the test after ``most`` reads."""
    pages: list[InboxPage] = []
    while True:
        page = client.inbox(account, since=cursor, limit=limit)
        pages.append(page)
        cursor = page.cursor
        if not page.more:
            return pages
        assert len(pages) < most, "the reads never stop saying more"


def follow(
    client: Client, account: Account, cursor: str | None, *, limit: int = 5000
) -> tuple[list[list[str]], str | None]:
    """`read_on`: each read's texts, and the last cursor."""
    pages = read_on(client, account, cursor, limit=limit)
    return [[m.text for m in page.messages] for page in pages], pages[-1].cursor


def busy_session(
    emu: Emulator,
    client: Client,
    account: Account,
    posts: Sequence[str],
    seed: int,
    *,
    answer_answers: bool = True,
) -> tuple[list[str], Counter[str]]:
    """A seeded busy audience around reads of ``account``'s inbox: comments on ``posts``
    (often in the same second; some answering earlier comments, and with
    ``answer_answers`` also answers to answers) written between reads and between a read's
    own page requests, limits from 1 to the default, the emulator's clock jumping ahead;
    then reads on, the audience quiet, until two reads in a row find nothing.

    Returns:
        The comments' texts as written, and how often each was given.
    """
    rnd = random.Random(seed)
    written: list[str] = []
    answerable: list[str] = []

    def write(n: int) -> None:
        for _ in range(n):
            if rnd.random() < 0.5:
                emu.clock.advance(rnd.choice([0, 1, 1, 2, 30, 61]))
            target = rnd.choice(answerable[-5:]) if answerable and rnd.random() < 0.3 else None
            written.append(f"c{len(written)}")
            made = emu.audience(f"fan{rnd.randrange(9)}").comment(
                target or rnd.choice(posts), written[-1]
            )
            if target is None or answer_answers:
                answerable.append(made)

    handle = emu.handle

    def busy_handle(request: httpx.Request) -> httpx.Response:
        answer = handle(request)
        if request.method == "GET" and rnd.random() < 0.2:
            write(rnd.randrange(1, 8))  # while the read is between two of its pages
        return answer

    given: Counter[str] = Counter()
    cursor = client.inbox(account).cursor
    emu.handle = busy_handle  # type: ignore[method-assign]
    try:
        for _ in range(30):
            if rnd.random() < 0.6:
                write(rnd.randrange(0, 40))
            if rnd.random() < 0.5:
                emu.clock.advance(rnd.choice([0, 1, 59, 120]))
            page = client.inbox(account, since=cursor, limit=rnd.choice([1, 3, 10, 5000]))
            given.update(m.text for m in page.messages)
            cursor = page.cursor
    finally:
        emu.handle = handle  # type: ignore[method-assign]
    emu.clock.advance(300)  # past any slack given to the platform's clock: rounds close
    quiet = 0
    for _ in range(400):
        page = client.inbox(account, since=cursor)
        given.update(m.text for m in page.messages)
        cursor = page.cursor
        quiet = quiet + 1 if not page.more and not page.messages else 0
        if quiet == 2:
            return written, given
    raise AssertionError("the reads never settle once the audience is quiet")
