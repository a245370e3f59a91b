"""The shared adapter conformance suite, on Facebook Pages."""

from __future__ import annotations

from brandkit.testing.conformance import AdapterConformance


class TestFacebookConformance(AdapterConformance):
    """The shared adapter suite, on Facebook."""

    platform = "facebook"
