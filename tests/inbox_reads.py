"""Reading an inbox on while its reads say ``more``, as the paging tests of several
platforms do."""

from __future__ import annotations

from brandkit import Account, Client, InboxPage


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
