"""The shared adapter conformance suite, on Instagram."""

from __future__ import annotations

import math

from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.conformance import AdapterConformance


class TestInstagramConformance(AdapterConformance):
    """The shared adapter suite, on Instagram."""

    platform = "instagram"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """One read of the account's media with each media's first 50 comments (and their
        replies) expanded, then one more page of 50 per media for the rest, and one read
        of the media others tagged the account in (``/tags``: a first read, with no mark,
        reads one page of `tags_page`)."""
        return max(1, math.ceil(answers / InstagramAdapter.comments_page)) + 1

    def search_requests(self, found: int) -> int | None:
        """The hashtag's id, then recent_media at 50 a page."""
        return 1 + max(1, math.ceil(found / InstagramAdapter.search_page))
