"""Instagram's hashtag and mention caps count what Instagram makes tags of.

A ``#`` inside a link (a page's fragment, ``https://ex.com/#pricing``) or an ``@`` inside one
(``https://medium.com/@acme/launch``) is part of the link, and an all-digit ``#1`` is no
hashtag on Instagram: counted, a caption with five real hashtags and such a link was refused
as "6 hashtags, over the limit of 5" before anything was sent.
"""

from __future__ import annotations

from brandkit import text

TAGS = "#launch #boots #winter #acme #sale"


def test_a_fragment_in_a_link_is_no_hashtag() -> None:
    caption = f"Prices: https://acme.com/shop/#pricing {TAGS}"
    assert text.measure(caption, "instagram").fits


def test_an_at_in_a_link_is_no_mention() -> None:
    caption = "Read it on https://medium.com/@acme/launch-day " + " ".join(
        f"@fan{i}" for i in range(20)
    )
    assert text.measure(caption, "instagram").fits


def test_an_all_digit_tag_is_no_hashtag() -> None:
    assert text.measure(f"We are #1 again {TAGS}", "instagram").fits
    # A tag with a letter in it is one.
    measured = text.measure(f"We are #1st again {TAGS}", "instagram")
    assert measured.problems == (
        "text has 6 hashtags on instagram, 1 over the limit of 5: remove 1 hashtag",
    )


def test_tags_outside_links_still_count() -> None:
    caption = f"https://acme.com/#a {TAGS} #six"
    assert text.measure(caption, "instagram").problems == (
        "text has 6 hashtags on instagram, 1 over the limit of 5: remove 1 hashtag",
    )
