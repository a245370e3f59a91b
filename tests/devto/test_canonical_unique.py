"""Forem keeps a canonical URL unique among published articles only (``validates
:canonical_url, uniqueness: { scope: :published, message: unique_url_error }, if:
:published?``), in words that name the community's contact address. The emulator refused a
draft whose canonical URL a published article had (a cross-post's draft copy, an update
prepared beside the live article), which dev.to takes, and said less than Forem does."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import Rejected
from brandkit.testing.devto import DevtoEmulator

URL = "https://acme.example/blog/launch"
TAKEN = "Canonical url has already been taken. Email yo@dev.to for further details."


def _create(emu: DevtoEmulator, **article: Any) -> httpx.Response:
    key = emu.account().secret("api_key") or ""
    headers = {"api-key": key, "Accept": "application/vnd.forem.api-v1+json"}
    emu.clock.advance(2)  # one write a second
    return httpx.post(f"{emu.base_url}/api/articles", json={"article": article}, headers=headers)


def test_a_draft_may_share_a_published_article_s_canonical_url(emu: DevtoEmulator) -> None:
    first = _create(emu, title="Launch", body_markdown="a", canonical_url=URL, published=True)
    assert first.status_code == 201, first.text
    draft = _create(emu, title="Launch v2", body_markdown="b", canonical_url=URL)
    assert draft.status_code == 201, draft.text
    assert _create(emu, title="Launch v3", body_markdown="c", canonical_url=URL).status_code == 201
    taken = _create(emu, title="Launch v4", body_markdown="d", canonical_url=URL, published=True)
    assert (taken.status_code, taken.json()) == (422, {"error": TAKEN, "status": 422})


def test_brandkit_saves_a_draft_copy_of_a_published_cross_post(
    emu: DevtoEmulator, client: Client
) -> None:
    account = emu.account()
    (live,) = client.publish(Article(title="Launch", body="v1", canonical_url=URL), account)
    assert live.ok, live.error
    emu.clock.advance(2)
    (draft,) = client.publish(
        Article(title="Launch, revised", body="v2", canonical_url=URL, status="draft"), account
    )
    assert draft.ok, draft.error
    emu.clock.advance(2)
    (again,) = client.publish(Article(title="Launch again", body="v3", canonical_url=URL), account)
    assert isinstance(again.error, Rejected)
    assert again.error.platform_message == TAKEN
