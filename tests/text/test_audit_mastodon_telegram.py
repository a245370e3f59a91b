"""Mastodon counts a remote mention on an IDN domain as ``@user``; Telegram's advice for a
long text names only what works (it has no threads)."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post, render, text
from brandkit.testing.mastodon import status_length


@pytest.mark.parametrize(
    "mention",
    ["@bob@bücher.example", "@bob@例え.テスト", "@bob@xn--bcher-kva.example", "@bob@a_b.example"],
)
def test_mastodon_remote_mention_counts_without_its_domain(mention: str) -> None:
    """As Account::MENTION_RE matches it: word characters in the domain, Unicode too."""
    body = "a" * 494 + " " + mention
    assert text.count(body, "mastodon") == 499 == status_length(body)
    assert len(render(Post(text=body), "mastodon").parts) == 1


def test_mastodon_mention_after_a_word_keeps_its_domain() -> None:
    """``x@bob@bücher.example`` is no mention: counted in full, as the emulator does."""
    body = "x@bob@bücher.example"
    assert text.count(body, "mastodon") == len(body) == status_length(body)


def test_telegram_long_text_advice_does_not_promise_a_split() -> None:
    """render never splits a Telegram text: the error says to shorten it."""
    with pytest.raises(ContentError) as caught:
        render(Post(text="word " * 1000), "telegram")
    message = str(caught.value)
    assert "split" not in message and "several messages" not in message
    assert message.endswith("shorten it")


def test_telegram_caption_advice_names_what_works() -> None:
    """A caption over 1024 may be shortened, or the text sent without media (4096)."""
    with pytest.raises(ContentError) as caught:
        text.check("a" * 1030, "telegram", caption=True, field="caption")
    assert str(caught.value) == (
        "caption is 1030 UTF-16 code units on telegram, 6 over the limit of 1024: "
        "shorten it, or post the text without media (a text message takes up to 4096)"
    )
