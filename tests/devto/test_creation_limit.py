"""Forem's limit on articles created (``Articles::Creator#rate_limit!``, before every create,
a draft's too; ``RateLimitChecker`` counts the user's live articles created in the last 30
seconds and refuses when there are more than ``published_article_creation``, 9): ten live
articles go through in 30 seconds, the eleventh create is refused, a draft's as well. The
emulator refused the tenth, and never a draft's."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit.testing.devto import DevtoEmulator

LIMITED = "Rate limit reached, try again in 30 seconds"


def _create(emu: DevtoEmulator, **article: Any) -> httpx.Response:
    key = emu.account().secret("api_key") or ""
    headers = {"api-key": key, "Accept": "application/vnd.forem.api-v1+json"}
    emu.clock.advance(2)  # one write a second
    return httpx.post(f"{emu.base_url}/api/articles", json={"article": article}, headers=headers)


def test_ten_live_articles_in_30_seconds_then_no_create(emu: DevtoEmulator) -> None:
    for n in range(10):
        made = _create(emu, title=f"News {n}", body_markdown=f"{n}", published=True)
        assert made.status_code == 201, (n, made.text)
    for article in (
        {"title": "News 10", "body_markdown": "10", "published": True},
        {"title": "A draft", "body_markdown": "d"},
    ):
        refused = _create(emu, **article)
        assert (refused.status_code, refused.json()) == (429, {"error": LIMITED, "status": 429})
        assert refused.headers["retry-after"] == "30"
    emu.clock.advance(30)
    assert _create(emu, title="A draft", body_markdown="d").status_code == 201
