"""The shared adapter conformance suite, on Facebook Pages."""

from __future__ import annotations

import math

import pytest

from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms.facebook import FacebookAdapter
from brandkit.testing.conformance import AdapterConformance


class TestFacebookConformance(AdapterConformance):
    """The shared adapter suite, on Facebook."""

    platform = "facebook"

    @pytest.fixture(autouse=True)
    def _declared(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The suite reads the table of built-in capabilities; until that table names
        Facebook's inbox, it is given what the adapter declares."""
        monkeypatch.setitem(BUILTIN_CAPABILITIES, "facebook", FacebookAdapter.capabilities)

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """One read of the Page's posts with each post's newest 100 comments expanded,
        then one more page of 100 per post for the rest (Facebook has no mentions to
        read)."""
        return max(1, math.ceil(answers / FacebookAdapter.comments_page))
