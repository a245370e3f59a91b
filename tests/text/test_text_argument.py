"""The text functions take text (str): anything else is a ContentError saying what to give,
not an AttributeError or TypeError from deep inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from brandkit import ContentError, text

_CALLS: dict[str, Callable[[Any], object]] = {
    "count x": lambda v: text.count(v, "x"),
    "count bluesky": lambda v: text.count(v, "bluesky"),
    "measure": lambda v: text.measure(v, "mastodon"),
    "check": lambda v: text.check(v, "telegram"),
    "split": lambda v: text.split(v, "threads"),
    "facets": lambda v: text.facets(v),
    "telegram_entities": lambda v: text.telegram_entities(v),
}


@pytest.mark.parametrize("call", list(_CALLS))
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (b"We launched \xe2\x80\x94 today", "got bytes: decode it first"),
        (None, "got NoneType"),
        (280, "got int"),
    ],
)
def test_a_text_that_is_not_str_is_refused(call: str, value: object, says: str) -> None:
    """bytes (a file read in binary) met "cannot use a string pattern on a bytes-like
    object", None "'NoneType' object has no attribute 'isascii'"."""
    with pytest.raises(ContentError) as caught:
        _CALLS[call](value)
    assert caught.value.field == "text"
    assert f"text must be text (str), {says}" in str(caught.value)
