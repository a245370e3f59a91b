"""The shared adapter conformance suite, on Threads."""

from __future__ import annotations

from brandkit.testing.conformance import AdapterConformance


class TestThreadsConformance(AdapterConformance):
    """The shared adapter suite, on Threads."""

    platform = "threads"
