"""The emulator's full-text search reads a status as Mastodon indexes it,
Status#searchable_text: its spoiler text (content warning), its text and its media
descriptions (alt text), not its text alone. Searched by Mastodon.py over a real socket."""

from __future__ import annotations

import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import mastodon_py

mastodon = pytest.importorskip("mastodon")


def test_search_finds_words_of_the_content_warning_and_the_alt_text() -> None:
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        api = mastodon_py(url, emu.account(username="brand").secret("token"))
        warned = api.status_post("spoilers inside", spoiler_text="Acmeco finale")
        media = api.media_post(tiny_png(), mime_type="image/png", description="the Acmeco logo")
        described = api.status_post("look at this", media_ids=[media])
        api.status_post("nothing about it", spoiler_text="other things")

        def found(q: str) -> set[str]:
            result = api.search_v2(q, result_type="statuses", resolve=False)
            return {str(s["id"]) for s in result["statuses"]}

        assert found("acmeco") == {str(warned["id"]), str(described["id"])}
        assert found('"acmeco logo"') == {str(described["id"])}
        # spoiler text, text and descriptions are one text, "\n\n" between them
        assert found('"finale spoilers"') == {str(warned["id"])}
        assert found("logo -spoilers") == {str(described["id"])}
