"""A document with more than `MAX_ENTRIES` entries keeps the newest: a feed written oldest
first (an archive, a podcast's whole history) lost its newest entries, every poll, so they
were never announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit.feeds import parse
from brandkit.feeds._parse import MAX_ENTRIES


def _rss(days: list[int]) -> bytes:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    items = "".join(
        f"<item><title>Entry {d}</title><link>https://acme.example/{d}/</link>"
        f"<guid>https://acme.example/?p={d}</guid>"
        f"<pubDate>{(start + timedelta(days=d)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        "</item>"
        for d in days
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Acme</title>'
        f"<link>https://acme.example/</link>{items}</channel></rss>"
    ).encode()


def test_an_oldest_first_document_keeps_its_newest_entries() -> None:
    count = MAX_ENTRIES + 5
    entries = parse(_rss(list(range(count)))).entries
    assert len(entries) == MAX_ENTRIES
    keys = [e.key for e in entries]
    assert keys[-1] == f"https://acme.example/?p={count - 1}"
    assert "https://acme.example/?p=0" not in keys
    # Still in the document's order.
    assert keys == sorted(keys, key=lambda k: int(k.rsplit("=", 1)[1]))


def test_a_newest_first_document_keeps_its_first_entries() -> None:
    count = MAX_ENTRIES + 5
    entries = parse(_rss(list(reversed(range(count))))).entries
    assert [e.key for e in entries][:2] == [
        f"https://acme.example/?p={count - 1}",
        f"https://acme.example/?p={count - 2}",
    ]
    assert len(entries) == MAX_ENTRIES
