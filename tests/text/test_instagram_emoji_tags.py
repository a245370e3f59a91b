"""Instagram makes hashtags of emoji (#🍕): its hashtag cap counts them."""

from __future__ import annotations

import pytest

from brandkit import text

TAGS = "#launch #boots #winter #acme #sale"


@pytest.mark.parametrize("tag", ["#🍕", "#👍🏽", "#🇵🇹", "#🍕🍕"])
def test_an_emoji_tag_counts_toward_the_cap(tag: str) -> None:
    """A sixth tag of emoji alone was not counted: the caption measured as fitting and
    Instagram, which counts it, refused it after the upload."""
    assert text.measure(f"Dinner {TAGS} {tag}", "instagram").problems == (
        "text has 6 hashtags on instagram, 1 over the limit of 5: remove 1 hashtag",
    )
