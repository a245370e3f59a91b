"""The dev.to emulator answers as Forem's API v1 does: its article shapes, validations in
Forem's words, slugs, the user's own list, no delete, api-key auth and both rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from brandkit.testing.devto import DevtoEmulator

BASE = "https://dev.test"


@pytest.fixture
def emu() -> DevtoEmulator:
    """A Forem answering in-process at BASE, without the one-write-per-second and
    three-reads-per-second throttles (tested on their own)."""
    emu = DevtoEmulator(write_throttle=False, read_throttle=False)
    emu._base_url = BASE
    return emu


@pytest.fixture
def http(emu: DevtoEmulator) -> Iterator[httpx.Client]:
    """A raw client to the emulator, with the user's key."""
    with httpx.Client(
        transport=emu.transport(), base_url=BASE, headers={"api-key": emu.api_key}
    ) as client:
        yield client


def post(http: httpx.Client, **article: Any) -> httpx.Response:
    """POST /api/articles."""
    return http.post("/api/articles", json={"article": article})


def refusal(response: httpx.Response, status: int) -> str:
    """Forem's error body, checked for its shape; returns its message."""
    assert response.status_code == status
    body = response.json()
    assert body == {"error": body["error"], "status": status}
    return str(body["error"])


def test_create_answers_the_show_shape(http: httpx.Client, emu: DevtoEmulator) -> None:
    r = post(
        http,
        title="Hello World",
        body_markdown="Hi *there*",
        published=True,
        tags=["news", "python"],
        canonical_url="https://acme.example/hello",
        unknown="dropped",
    )
    assert r.status_code == 201
    article = r.json()
    assert article["type_of"] == "article"
    assert (
        article["slug"].startswith("hello-world-")
        and len(article["slug"]) == len("hello-world-") + 4
    )
    assert article["url"] == f"{BASE}/acme/{article['slug']}" == r.headers["location"]
    # /api/articles/{id} and the create answer: tag_list a string, tags a list.
    assert article["tag_list"] == "news, python" and article["tags"] == ["news", "python"]
    assert article["body_html"] == "<p>Hi <em>there</em></p>\n"
    assert article["canonical_url"] == "https://acme.example/hello"
    assert article["user"]["username"] == "acme"


def test_validations_in_forems_words(http: httpx.Client) -> None:
    assert refusal(post(http, body_markdown="x"), 422) == "Title can't be blank"
    assert refusal(post(http, title="x" * 129), 422) == (
        "Title is too long (maximum is 128 characters)"
    )
    assert refusal(post(http, title="t", tags=list("abcde")), 422) == (
        "Tag list exceed the maximum of 4 tags"
    )
    assert "non-alphanumeric" in refusal(post(http, title="t", tags=["press-release"]), 422)
    assert refusal(http.post("/api/articles", json={"article": "x"}), 422) == (
        "article param must be a JSON object. You provided article as a String"
    )


def test_the_same_title_twice_within_five_minutes(http: httpx.Client, emu: DevtoEmulator) -> None:
    assert post(http, title="Once", published=True).status_code == 201
    assert refusal(post(http, title="Once", body_markdown="New."), 422) == (
        "Title has already been used in the last five minutes"
    )
    emu.clock.advance(301)
    assert post(http, title="Once", body_markdown="Another body.").status_code == 201
    # The same title and body again, at any time: Forem keeps a body unique per user and title.
    emu.clock.advance(301)
    assert refusal(post(http, title="Once", body_markdown="Another body."), 422) == (
        "Body markdown has already been taken"
    )


def test_a_canonical_url_is_unique_in_the_community(http: httpx.Client, emu: DevtoEmulator) -> None:
    url = "https://acme.example/blog/launch"
    assert post(http, title="Launch", canonical_url=url, published=True).status_code == 201
    assert refusal(post(http, title="Launch again", canonical_url=url, published=True), 422) == (
        "Canonical url has already been taken. Email yo@dev.to for further details."
    )


def test_a_draft_slug_is_replaced_when_first_published(http: httpx.Client) -> None:
    draft = post(http, title="Draft post").json()
    assert "-temp-slug-" in draft["slug"] and draft["published_at"] is None
    live = http.put(f"/api/articles/{draft['id']}", json={"article": {"published": True}}).json()
    assert "-temp-slug-" not in live["slug"] and live["published_at"] is not None
    renamed = http.put(f"/api/articles/{draft['id']}", json={"article": {"title": "New"}}).json()
    assert renamed["slug"] == live["slug"] and renamed["title"] == "New"


def test_me_all_lists_drafts_first_then_newest(http: httpx.Client, emu: DevtoEmulator) -> None:
    post(http, title="Old", published=True)
    emu.clock.advance(10)
    post(http, title="New", published=True)
    post(http, title="Draft")
    mine = http.get("/api/articles/me/all").json()
    assert [(a["title"], a["published"]) for a in mine] == [
        ("Draft", False),
        ("New", True),
        ("Old", True),
    ]
    assert isinstance(mine[0]["tag_list"], list) and "page_views_count" in mine[0]
    assert [a["title"] for a in http.get("/api/articles/me").json()] == ["New", "Old"]
    later = (emu.clock.now() + timedelta(days=1)).isoformat()
    post(http, title="Scheduled", published=True, published_at=later)
    # A scheduled article is unpublished until its time (drafts, without a date, first).
    assert [a["title"] for a in http.get("/api/articles/me/unpublished").json()] == [
        "Draft",
        "Scheduled",
    ]
    page = http.get("/api/articles/me/all", params={"per_page": 1, "page": 3}).json()
    assert [a["title"] for a in page] == ["New"]


def test_public_reads_show_published_articles_only(http: httpx.Client) -> None:
    live = post(http, title="Live", published=True).json()
    draft = post(http, title="Hidden").json()
    assert http.get(f"/api/articles/{live['id']}").status_code == 200
    assert refusal(http.get(f"/api/articles/{draft['id']}"), 404) == "not found"
    assert http.get(f"/api/articles/acme/{live['slug']}").json()["id"] == live["id"]


def test_no_delete_and_no_other_users_articles(http: httpx.Client, emu: DevtoEmulator) -> None:
    article = post(http, title="Mine", published=True).json()
    assert refusal(http.delete(f"/api/articles/{article['id']}"), 404) == "not found"
    other = emu.add_user("rival")
    r = http.put(
        f"/api/articles/{article['id']}",
        json={"article": {"title": "Theirs"}},
        headers={"api-key": other.api_key},
    )
    assert refusal(r, 404) == "not found"
    assert emu.post_titles() == ["Mine"]


def test_a_missing_or_wrong_key(http: httpx.Client) -> None:
    assert refusal(http.get("/api/articles/me/all", headers={"api-key": "wrong"}), 401) == (
        "unauthorized"
    )
    bare = httpx.Client(transport=http._transport, base_url=BASE)
    assert refusal(bare.post("/api/articles", json={"article": {"title": "t"}}), 401) == (
        "unauthorized"
    )


def test_one_write_per_second(http: httpx.Client, emu: DevtoEmulator) -> None:
    emu.write_throttle = True
    # Rack::Attack counts in fixed one-second windows: start at the beginning of one.
    emu.clock.advance(1.01 - emu.clock.time() % 1)
    assert post(http, title="First").status_code == 201
    r = post(http, title="Second")
    assert r.status_code == 429 and r.text == "Retry later\n" and r.headers["retry-after"] == "1"
    emu.clock.advance(1)
    assert post(http, title="Second").status_code == 201


def test_published_article_creation_limit(http: httpx.Client, emu: DevtoEmulator) -> None:
    """RateLimitChecker refuses a create while more than the setting's number of live
    articles were created in the last 30 seconds (2 lets 3 through), a draft's create too;
    drafts and scheduled articles do not count."""
    emu.creation_limit = 2
    later = (emu.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert post(http, title="Draft").status_code == 201
    assert post(http, title="Later", published=True, published_at=later).status_code == 201
    for n in range(3):
        assert post(http, title=f"A{n}", published=True).status_code == 201
    r = post(http, title="A3", published=True)
    assert refusal(r, 429) == "Rate limit reached, try again in 30 seconds"
    assert r.headers["retry-after"] == "30"
    assert refusal(post(http, title="Draft too"), 429).startswith("Rate limit reached")
    emu.clock.advance(31)
    assert post(http, title="A3", published=True).status_code == 201
