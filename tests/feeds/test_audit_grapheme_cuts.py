"""Titles and summaries cut to their bounds keep whole characters as readers see them
(extended grapheme clusters): a flag is two code points, a family emoji five."""

from __future__ import annotations

from pathlib import Path

import regex

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import rss

FLAG = "\U0001f1f5\U0001f1f9"  # Portugal's flag: two regional indicators
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points


def _wholes(text: str, unit: str) -> bool:
    return all(g == unit for g in regex.findall(r"\X", text))


def test_cut_title_and_summary_keep_whole_graphemes(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A title past 500 code points and a summary past summary_chars, with no space to cut
    at, end on a whole flag or family, never half of one (a lone regional indicator shows
    as a letter, half a family as other people)."""
    title = "A" + FLAG * 300
    summary = FAMILY * 10
    feed_server.feed(
        "/feed.xml",
        rss(
            f"<item><title>{title}</title><link>https://acme.example/news/1/</link>"
            f"<guid>https://acme.example/?p=1</guid><description>{summary}</description></item>"
        ),
    )
    url = f"{feed_server.url}/feed.xml"
    with FeedWatcher(
        url,
        state=str(tmp_path / "brandkit.db"),
        images=False,
        summary_chars=13,
        template="{title}|{summary}",
    ) as w:
        (got,) = w.poll()
    cut_title = got.entry.title
    assert cut_title.startswith("A") and 0 < len(cut_title) <= 500
    assert _wholes(cut_title[1:], FLAG)
    assert got.post.link is not None and got.post.link.description is not None
    card = got.post.link.description
    assert card.endswith("…") and len(card) <= 13
    assert card[:-1] and _wholes(card[:-1], FAMILY)
    assert got.post.text == f"{cut_title}|{card}"
