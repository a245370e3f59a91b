"""The shared adapter conformance suite, on Facebook Pages."""

from __future__ import annotations

import math

from brandkit.platforms.facebook import FacebookAdapter
from brandkit.testing.conformance import AdapterConformance


class TestFacebookConformance(AdapterConformance):
    """The shared adapter suite, on Facebook."""

    platform = "facebook"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """One read of the Page's feed with each post's newest 100 comments expanded,
        then one more page of 100 per post for the rest; posts people wrote on the Page
        (the mentions) come in the same read."""
        return max(1, math.ceil(answers / FacebookAdapter.comments_page))
