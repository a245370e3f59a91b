"""With UTM tagging on, a link Python's URL parser refuses (a stray bracket where the host
goes: a typo in the text) is left as written, untagged: `render` must not fail with a bare
ValueError from inside, and the rest of the text is still tagged."""

from __future__ import annotations

import pytest

from brandkit import Media, Post, render
from brandkit.content import add_utm, is_shortened
from brandkit.content._model import PLATFORM_NAMES
from brandkit.testing import TINY_JPEG

BROKEN = ["https://[oops", "http://]x", "https://a.b[c/d"]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("broken", BROKEN)
def test_render_leaves_an_unparsable_link_as_written(platform: str, broken: str) -> None:
    text = f"Sale: {broken} and https://shop.example.com/x"
    media = [Media.from_bytes(TINY_JPEG, alt="a shoe")] if platform == "instagram" else []
    rendered = render(Post(text, media=media, campaign="spring", utm=True), platform)
    out = "".join(p.text for p in rendered.parts)
    assert broken in out
    assert "https://shop.example.com/x?utm_source=" in out


@pytest.mark.parametrize("broken", BROKEN)
def test_helpers_take_an_unparsable_link(broken: str) -> None:
    assert add_utm(broken, "x") == broken
    assert is_shortened(broken) is False
