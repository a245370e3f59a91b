"""Post and variant options are stored with the post (an outbox keeps it as JSON): a value
JSON cannot carry as it is is refused when the post is made, naming the option, not when
an outbox stores it (an untyped serialization error) or silently changed on the way
(``nan`` and ``inf`` come back as ``null``)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from brandkit import ContentError, Post
from brandkit.content import Variant
from brandkit.delivery import Delivery


class _Thing:
    pass


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (_Thing(), "options.visibility"),
        (b"public", "options.visibility"),
        (math.nan, "options.visibility"),
        (math.inf, "options.visibility"),
        ({"a": [1, -math.inf]}, "options.visibility.a[1]"),
        ({1: "x"}, "options.visibility"),
        ({"x", "y"}, "options.visibility"),
    ],
)
def test_post_option_that_is_not_json_is_refused(value: Any, field: str) -> None:
    with pytest.raises(ContentError, match="option") as info:
        Post("hi", options={"visibility": value})
    assert info.value.field == field


def test_variant_option_that_is_not_json_is_refused() -> None:
    with pytest.raises(ContentError) as info:
        Variant(options={"protect_content": _Thing()})
    assert info.value.field == "options.protect_content"


def test_json_options_round_trip_unchanged() -> None:
    options = {
        "visibility": "unlisted",
        "sensitive": True,
        "thread_numbering": None,
        "message_thread_id": 12,
        "link_preview": {"url": "https://example.com", "show_above_text": False, "r": 0.5},
        "reply_settings": ["a", ("b", 2)],
    }
    post = Post(
        "hi", options=options, variants={"telegram": Variant(options={"protect_content": True})}
    )
    data = Delivery(account="telegram:t", platform="telegram", post=post).to_dict()
    back = Delivery.from_dict(json.loads(json.dumps(data)))
    assert back.post.options["link_preview"] == options["link_preview"]
    assert back.post.options["reply_settings"] == ["a", ["b", 2]]
    assert back.post.variants["telegram"].options == {"protect_content": True}
