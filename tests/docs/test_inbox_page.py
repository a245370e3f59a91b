"""docs/inbox.md's table of what each platform's inbox reads names every kind of message the
adapter declares (`Capabilities.inbox`): it left out Mastodon's quotes (4.5+) and LinkedIn's
mentions of the page, which the inbox reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.platforms import capabilities

PAGE = Path(__file__).resolve().parents[2] / "docs" / "inbox.md"
ROWS = {
    "X": "x",
    "Mastodon": "mastodon",
    "Bluesky": "bluesky",
    "Threads": "threads",
    "Instagram": "instagram",
    "Facebook Pages": "facebook",
    "LinkedIn": "linkedin",
    "Telegram": "telegram",
    "WordPress": "wordpress",
}
# How the table words a kind where the platform names it otherwise.
MENTION = {
    "instagram": "tagged in",
    "facebook": "posts people write on the Page",
    "telegram": "messages to the bot",
}
WORDS = {"reply": "replies", "quote": "quotes", "comment": "comments"}


def reads() -> dict[str, str]:
    cells = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) == 5 and parts[0] in ROWS:
            cells[ROWS[parts[0]]] = parts[1]
    return cells


@pytest.mark.parametrize("platform", sorted(ROWS.values()))
def test_the_table_names_every_kind_the_inbox_reads(platform: str) -> None:
    cell = reads().get(platform)
    assert cell is not None, f"docs/inbox.md's table has no row for {platform}"
    for kind in sorted(capabilities(platform).inbox or ()):
        word = MENTION.get(platform, "mention") if kind == "mention" else WORDS[kind]
        assert word in cell, f"{platform} reads {kind!r} messages; the table says {cell!r}"
