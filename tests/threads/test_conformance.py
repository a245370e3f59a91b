"""The shared adapter conformance suite, on Threads."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from brandkit.platforms import _capabilities
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing.conformance import AdapterConformance


class TestThreadsConformance(AdapterConformance):
    """The shared adapter suite, on Threads."""

    platform = "threads"

    @pytest.fixture(autouse=True)
    def adapter_capabilities(self) -> Iterator[None]:
        """The suite reads ``brandkit.capabilities("threads")``, the built-in table; until
        that table names the inbox, it is given the adapter's own capabilities (which the
        client checks) so that the inbox section runs instead of skipping."""
        table = _capabilities.BUILTIN_CAPABILITIES
        before = table["threads"]
        table["threads"] = ThreadsAdapter.capabilities
        try:
            yield
        finally:
            table["threads"] = before

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """The account's latest posts (one page), each page of 100 of the post's
        conversation (none when it has no replies), and the mentions: pages of 100, one more
        when the last is full, since that edge sends no ``next`` link."""
        conversation = math.ceil(answers / ThreadsAdapter.inbox_page)
        return 1 + conversation + mentions // ThreadsAdapter.inbox_page + 1
