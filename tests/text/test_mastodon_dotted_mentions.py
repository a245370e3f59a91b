"""Mastodon counts a remote mention as its local part whatever Account::USERNAME_RE takes
there: dots and dashes inside (Pixelfed, Misskey, Akkoma and Lemmy accounts have them)."""

from __future__ import annotations

import pytest

from brandkit import Post, render, text


@pytest.mark.parametrize(
    ("mention", "counted"),
    [
        ("@jane.doe@pixelfed.social", "@jane.doe"),
        ("@foo-bar@misskey.io", "@foo-bar"),
        ("@a..b--c@example.social", "@a..b--c"),
        ("@Jane.Doe@Example.Social", "@Jane.Doe"),
    ],
)
def test_a_dotted_remote_mention_counts_without_its_domain(mention: str, counted: str) -> None:
    """The user part was [a-z0-9_]+: "@jane.doe@pixelfed.social" counted 25 where Mastodon
    counts 9, so a post that fits was split (or refused) for nothing."""
    assert text.count(f"thanks {mention}!", "mastodon") == len(f"thanks {counted}!")
    body = "a" * (499 - len(counted)) + " " + mention
    assert text.count(body, "mastodon") == 500
    assert len(render(Post(text=body), "mastodon").parts) == 1


@pytest.mark.parametrize("body", ["@jane.@example.social", "@.jane@example.social"])
def test_a_dot_at_the_edge_of_the_user_part_is_no_mention_of_it(body: str) -> None:
    """USERNAME_RE neither starts nor ends on "." or "-": counted in full."""
    assert text.count(body, "mastodon") == len(body)


def test_split_parts_measure_as_counted() -> None:
    body = " ".join(["hello @jane.doe@pixelfed.social and @foo-bar@misskey.io"] * 40)
    parts = render(Post(text=body), "mastodon").parts
    assert len(parts) > 1
    for part in parts:
        assert part.length == text.count(part.text, "mastodon") <= 500
