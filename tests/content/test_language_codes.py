"""``language`` is checked the same way on a post and on a variant, as a BCP 47 tag's
shape in ASCII: a variant's language was not checked at all (it reached the platform as
written), letters of other scripts passed as "alphabetic", and a region in digits
(``es-419``, Latin American Spanish) was refused."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post, render
from brandkit.content import Variant

GOOD = ["en", "EN", "eng", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn-RS"]
BAD = ["english", "日本", "ÉN", "en-", "-en", "en--US", "en_US", "e", "en-US ", "en-é"]


@pytest.mark.parametrize("code", GOOD)
def test_language_tags_are_taken(code: str) -> None:
    assert Post("hi", language=code).language == code
    post = Post("hi", variants={"bluesky": Variant(language=code)})
    assert render(post, "bluesky").language == code


@pytest.mark.parametrize("code", [*BAD, "xx" + "-abcdefgh" * 5])
def test_post_language_that_is_no_tag_is_refused(code: str) -> None:
    with pytest.raises(ContentError, match="ISO 639") as info:
        Post("hi", language=code)
    assert info.value.field == "language"


@pytest.mark.parametrize("code", BAD)
def test_variant_language_is_checked_too(code: str) -> None:
    with pytest.raises(ContentError, match="ISO 639") as info:
        Post("hi", variants={"bluesky": Variant(language=code)})
    assert info.value.field == "language"
