"""A ``#`` term in a full-text search is matched on the status's tags, not its words
(TermClause#to_query: ``match`` on ``tags`` with ``operator: and``), through the ``hashtag``
analyzer (``word_delimiter_graph``: ``BrandKit`` is ``brand`` and ``kit``) over each tag's
display name, which is the tag as first written. The emulator matched ``#brandkit`` to the
word brandkit, tagged or not. Searched by Mastodon.py over a real socket."""

from __future__ import annotations

import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import mastodon_py

mastodon = pytest.importorskip("mastodon")


def test_a_hashtag_term_matches_the_tags_as_first_written() -> None:
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        api = mastodon_py(url, emu.account(username="brand").secret("token"))
        fan = emu.audience("fan")
        first = fan.post("#brandkit launch", lang="en")
        later = fan.post("#BrandKit again", lang="en")  # the tag is still "brandkit"
        untagged = fan.post("brandkit without a tag", lang="en")
        camel = fan.post("#AcmeCo is here", lang="en")  # the tag is "AcmeCo": acme, co
        lower = fan.post("#acmeco too", lang="en")

        def found(q: str) -> set[str]:
            result = api.search_v2(q, result_type="statuses", resolve=False)
            return {str(s["id"]) for s in result["statuses"]}

        assert found("#brandkit") == {first, later}
        assert found("#BrandKit") == set()
        assert found("brandkit") == {first, later, untagged}
        assert found("#acmeco") == set()
        assert found("#AcmeCo") == {camel, lower}
        assert found("#acme_co") == {camel, lower}
        assert found("brandkit -#brandkit") == {untagged}
