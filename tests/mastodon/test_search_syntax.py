"""The emulator parses a full-text search as Mastodon 4.2+'s SearchQueryParser and
SearchQueryTransformer do: only ``has``, ``is``, ``language``, ``from``, ``before``,
``after``, ``during`` and ``in`` are prefixes, so a URL or any other ``word:`` is a term and
an unclosed quote is part of one; “”„«»「」『』《》 are double quotes (SearchService);
``has:``/``is:`` match Status#searchable_properties; ``from:me`` is the searcher;
``in:library`` and ``in:public`` read one index each. The emulator answered nothing for the
first three, read typographic quotes as words and matched no ``has:``/``is:``. Searched by
Mastodon.py over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import mastodon_py

mastodon = pytest.importorskip("mastodon")


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[dict[str, str], Any]]:
    """The brand's statuses and a fan's indexable ones, and the brand's Mastodon.py."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        api = mastodon_py(url, emu.account(username="brand").secret("token"))
        emu.set_indexable("fan")
        fan = emu.audience("fan")
        ids = {
            "fan_url": fan.post("acmeco sale at https://shop.example/spring now", lang="en"),
            "fan_colon": fan.post("acmeco job:ad posted", lang="en"),
            "fan_phrase": fan.post("acmeco boots are here", lang="en"),
            "fan_reverse": fan.post("boots by acmeco", lang="en"),
        }
        media = api.media_post(tiny_png(), mime_type="image/png", description="a logo")
        ids["own_image"] = str(api.status_post("acmeco picture", media_ids=[media])["id"])
        ids["own_sensitive"] = str(api.status_post("acmeco secret", sensitive=True)["id"])
        ids["own_reply"] = str(
            api.status_post("acmeco reply", in_reply_to_id=ids["own_image"])["id"]
        )
        yield ids, api


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("https://shop.example/spring", {"fan_url"}),
        ("job:ad", {"fan_colon"}),
        # unclosed: the term "acmeco (its token: acmeco) and the term boots
        ('"acmeco boots', {"fan_phrase", "fan_reverse"}),
        # job:ad is one word (a colon between letters does not split it), so job is not in it
        ("job", set()),
        ("“acmeco boots”", {"fan_phrase"}),
        ("«acmeco boots»", {"fan_phrase"}),
        ("『acmeco boots」", {"fan_phrase"}),  # any of them is a double quote
        ("acmeco has:image", {"own_image"}),
        ("acmeco has:media", {"own_image"}),
        ("acmeco is:sensitive", {"own_sensitive"}),
        ("acmeco is:reply", {"own_reply"}),
        ("acmeco from:me -is:reply", {"own_image", "own_sensitive"}),
        ("acmeco in:public", {"fan_url", "fan_colon", "fan_phrase", "fan_reverse"}),
        ("acmeco in:library", {"own_image", "own_sensitive", "own_reply"}),
        ("acmeco from:fan@far.example", set()),  # no such account: nothing
        ("-", set()),  # does not parse: nothing
    ],
)
def test_search_syntax_is_mastodons(
    world: tuple[dict[str, str], Any], query: str, found: set[str]
) -> None:
    ids, api = world
    result = api.search_v2(query, result_type="statuses", resolve=False)
    names = {name for name, sid in ids.items() if sid in {str(s["id"]) for s in result["statuses"]}}
    assert names == found
