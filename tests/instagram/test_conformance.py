"""The shared adapter conformance suite, on Instagram."""

from __future__ import annotations

from brandkit.testing.conformance import AdapterConformance


class TestInstagramConformance(AdapterConformance):
    """The shared adapter suite, on Instagram."""

    platform = "instagram"
