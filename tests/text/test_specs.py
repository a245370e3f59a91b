"""The limits agree with the platforms' own machine-readable specs in the shared data."""

from __future__ import annotations

import re

from brandkit import text
from brandkit.text._bluesky import TAG_MAX_BYTES, TAG_MAX_GRAPHEMES
from brandkit.text._platforms import BLUESKY_MAX_BYTES
from tests.text.conftest import load_json


def test_bluesky_post_text_limits_match_the_lexicon() -> None:
    """app.bsky.feed.post text: maxGraphemes 300 and maxLength (UTF-8 bytes) 3000."""
    post = load_json("bluesky", "lexicons", "app", "bsky", "feed", "post.json")
    field = post["defs"]["main"]["record"]["properties"]["text"]
    assert text.limit("bluesky") == field["maxGraphemes"]
    assert field["maxLength"] == BLUESKY_MAX_BYTES


def test_bluesky_tag_limits_match_the_lexicon() -> None:
    """app.bsky.richtext.facet#tag: at most 64 graphemes and 640 bytes."""
    facet = load_json("bluesky", "lexicons", "app", "bsky", "richtext", "facet.json")
    tag = facet["defs"]["tag"]["properties"]["tag"]
    assert (tag["maxGraphemes"], tag["maxLength"]) == (TAG_MAX_GRAPHEMES, TAG_MAX_BYTES)


def _chars(description: str) -> int:
    match = re.search(r"(\d+)-(\d+) characters after entities parsing", description)
    assert match, description
    return int(match.group(2))


def test_telegram_limits_match_the_bot_api() -> None:
    """sendMessage text 1-4096 and captions 0-1024 characters after entity parsing."""
    api = load_json("telegram", "bot-api.json")
    message = {f["name"]: f for f in api["methods"]["sendMessage"]["fields"]}
    photo = {f["name"]: f for f in api["methods"]["sendPhoto"]["fields"]}
    assert text.limit("telegram") == _chars(message["text"]["description"])
    assert text.limit("telegram", caption=True) == _chars(photo["caption"]["description"])


def test_telegram_entities_are_in_utf16_units() -> None:
    """MessageEntity offset and length are UTF-16 code units, as telegram_entities gives them."""
    api = load_json("telegram", "bot-api.json")
    fields = {f["name"]: f for f in api["types"]["MessageEntity"]["fields"]}
    assert "UTF-16 code units" in fields["offset"]["description"]
    assert "UTF-16 code units" in fields["length"]["description"]
    types = fields["type"]["description"]
    for kind in ("mention", "hashtag", "url"):
        assert f'"{kind}"' in types


def test_x_limits_match_the_configs() -> None:
    """maxWeightedTweetLength of the shipped configs equals the shared copies."""
    for name in ("v1", "v2", "v3"):
        config = load_json("x", "twitter-text", "config", f"{name}.json")
        assert text.limit("x", config=name) == config["maxWeightedTweetLength"]
