"""The shared adapter conformance suite, on Threads."""

from __future__ import annotations

import math

import pytest

import brandkit.testing.conformance as conformance
from brandkit.platforms import Capabilities
from brandkit.platforms import capabilities as registered
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing.conformance import AdapterConformance


class TestThreadsConformance(AdapterConformance):
    """The shared adapter suite, on Threads."""

    platform = "threads"

    @pytest.fixture(autouse=True)
    def _adapter_capabilities(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The suite reads the built-in capabilities table; until it names Threads'
        search, the suite reads the adapter's own (which declares it)."""

        def caps(name: str) -> Capabilities:
            return ThreadsAdapter.capabilities if name == "threads" else registered(name)

        if not registered("threads").search:
            monkeypatch.setattr(conformance, "capabilities", caps)

    def search_requests(self, found: int) -> int | None:
        """One RECENT page of 100 of /keyword_search holds the 30 matches."""
        return found // ThreadsAdapter.search_page + 1

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """The account's latest posts (one page), each page of 100 of the post's
        conversation (none when it has no replies), and the mentions: pages of 100, one more
        when the last is full, since that edge sends no ``next`` link."""
        conversation = math.ceil(answers / ThreadsAdapter.inbox_page)
        return 1 + conversation + mentions // ThreadsAdapter.inbox_page + 1
