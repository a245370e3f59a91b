"""The shared adapter conformance suite, on Threads."""

from __future__ import annotations

import math

from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing.conformance import AdapterConformance


class TestThreadsConformance(AdapterConformance):
    """The shared adapter suite, on Threads."""

    platform = "threads"

    def search_requests(self, found: int) -> int | None:
        """One RECENT page of 100 of /keyword_search holds the 30 matches."""
        return found // ThreadsAdapter.search_page + 1

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """The account's latest posts (one page), each page of 100 of the post's
        conversation (none when it has no replies), and the mentions: pages of 100, one more
        when the last is full, since that edge sends no ``next`` link."""
        conversation = math.ceil(answers / ThreadsAdapter.inbox_page)
        return 1 + conversation + mentions // ThreadsAdapter.inbox_page + 1
