"""Tags keep the characters Forem's ``Tag#validate_name`` takes, ``[[:alnum:]]`` (Onigmo's:
Alphabetic or a decimal digit). brandkit kept what Python's ``str.isalnum`` keeps, which
drops the vowel signs of Indic scripts (``"हिंदी"`` became a garbled ``"हद"``) and keeps
numbers Forem refuses (``"x½"``, answered 422 "contains non-alphanumeric or prohibited
unicode characters", failing the whole article). The emulator validated with Python's
``\\w`` too, refusing what Forem takes; it now validates as Forem does."""

from __future__ import annotations

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms.devto import devto_tags
from brandkit.testing.devto import DevtoEmulator


def test_tags_keep_what_forem_takes() -> None:
    kept, dropped = devto_tags(["हिंदी", "ภาษาไทย", "x½", "Press Release", "C++"])
    assert kept == ["हिंदी", "ภาษาไทย", "x", "pressrelease"]
    assert dropped == ["C++"]


def test_an_article_with_such_tags_is_published_with_them(
    emu: DevtoEmulator, client: Client
) -> None:
    article = Article(title="Launch", body="Up.", tags=["हिंदी", "x½"])
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    (stored,) = emu.articles()
    assert stored["tags"] == ["हिंदी", "x"]


def test_the_emulator_validates_tags_as_forem_does() -> None:
    emu = DevtoEmulator(write_throttle=False)
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:

        def create(tag: str) -> httpx.Response:
            article = {"title": f"On {tag}", "body_markdown": "Hi", "tags": [tag]}
            return http.post(
                "/api/articles", json={"article": article}, headers={"api-key": emu.api_key}
            )

        assert create("हिंदी").status_code == 201
        refused = create("x½")
        assert refused.status_code == 422
        assert refused.json()["error"] == (
            'Tag "x½" contains non-alphanumeric or prohibited unicode characters'
        )
