"""The Bluesky adapter passes the shared adapter conformance suite against its emulator."""

from __future__ import annotations

import math

import pytest

import brandkit.testing.conformance as conformance
from brandkit.platforms import Capabilities
from brandkit.platforms import capabilities as registered
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.testing.conformance import AdapterConformance


class TestBlueskyConformance(AdapterConformance):
    """Every conformance test, for Bluesky."""

    platform = "bluesky"

    @pytest.fixture(autouse=True)
    def _adapter_capabilities(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The suite reads ``brandkit.capabilities("bluesky")`` (the built-in table); until
        that table names Bluesky's conversation and search abilities, it reads the adapter's
        own."""

        def caps(name: str) -> Capabilities:
            return BlueskyAdapter.capabilities if name == "bluesky" else registered(name)

        table = registered("bluesky")
        if not table.inbox or not table.search:
            monkeypatch.setattr(conformance, "capabilities", caps)

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """listNotifications pages 100 notifications (all reasons at once): one request per
        hundred, and one to learn there is nothing when there is nothing."""
        return max(1, math.ceil((answers + mentions) / 100))

    def search_requests(self, found: int) -> int | None:
        """A fresh account logs in once (createSession); then one any= term is one
        searchPosts search, 100 posts a page, and the backend only lists matching posts: one
        request per hundred found."""
        return 1 + max(1, math.ceil(found / 100))
