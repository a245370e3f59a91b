"""The Bluesky adapter passes the shared adapter conformance suite against its emulator."""

from __future__ import annotations

import math

from brandkit.testing.conformance import AdapterConformance


class TestBlueskyConformance(AdapterConformance):
    """Every conformance test, for Bluesky."""

    platform = "bluesky"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """listNotifications pages 100 notifications (all reasons at once): one request per
        hundred, and one to learn there is nothing when there is nothing."""
        return max(1, math.ceil((answers + mentions) / 100))

    def search_requests(self, found: int) -> int | None:
        """A fresh account logs in once (createSession); then one any= term is one
        searchPosts search, 100 posts a page, and the backend only lists matching posts: one
        request per hundred found."""
        return 1 + max(1, math.ceil(found / 100))
