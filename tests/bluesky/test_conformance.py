"""The Bluesky adapter passes the shared adapter conformance suite against its emulator."""

from __future__ import annotations

from brandkit.testing.conformance import AdapterConformance


class TestBlueskyConformance(AdapterConformance):
    """Every conformance test, for Bluesky."""

    platform = "bluesky"
