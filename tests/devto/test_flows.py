"""The dev.to adapter's flows, run without a network against the emulator: what it sends for
an article, tags made Forem's, the lookup after a lost answer, updates, no delete, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Account
from brandkit._flow import run_flow
from brandkit.content import Article, Media
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    Unsupported,
)
from brandkit.platforms import PartRef, adapter_class
from brandkit.platforms.devto import ACCEPT, DevtoAdapter, devto_tags
from brandkit.testing import png
from brandkit.testing.devto import DevtoEmulator

BASE = "https://dev.test"
Send = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def emu() -> DevtoEmulator:
    """A Forem answering in-process at BASE (no wall-clock write throttle: run_flow does not
    pace)."""
    emu = DevtoEmulator(write_throttle=False)
    emu._base_url = BASE
    return emu


@pytest.fixture
def send(emu: DevtoEmulator) -> Iterator[Send]:
    """Answers a flow's requests from the emulator."""
    with httpx.Client(transport=emu.transport()) as client:
        yield client.send


@pytest.fixture
def devto(emu: DevtoEmulator) -> DevtoAdapter:
    """The adapter for the emulator's user, with a media host that hands out fixed URLs."""
    hosted: dict[str, bytes] = {}

    def host(media: Media) -> str:
        url = f"https://cdn.example/{len(hosted)}.png"
        hosted[url] = media.read()
        return url

    adapter = DevtoAdapter(emu.account(media_host=host))
    adapter.hosted = hosted  # type: ignore[attr-defined]
    return adapter


def sent_article(emu: DevtoEmulator) -> dict[str, object]:
    """The ``article`` object of the last write brandkit sent."""
    write = [r for r in emu.requests if r.method in ("POST", "PUT")][-1]
    body: dict[str, dict[str, object]] = json.loads(write.content)
    assert list(body) == ["article"]
    return body["article"]


def test_registered() -> None:
    assert adapter_class("devto") is DevtoAdapter


def test_tags_as_forem_takes_them() -> None:
    kept, dropped = devto_tags(["Press Release", "news", "NEWS", "C++", "x" * 31, "ai", "web"])
    assert kept == ["pressrelease", "news", "cpp", "ai"]
    assert dropped == ["x" * 31, "web"]


def test_publish_sends_the_article(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    article = Article(
        title="Acme 2.0 is out",
        body="## Today\n\nAcme 2.0 ships.",
        excerpt="The new Acme",
        tags=["Press Release", "launch", "acme", "news", "extra"],
        canonical_url="https://acme.example/blog/acme-2",
        featured_image=Media.from_bytes(png(), alt="logo"),
    )
    with caplog.at_level(logging.WARNING, "brandkit.platforms.devto"):
        ref = run_flow(devto.publish_article(article), send)
    assert "'extra'" in caplog.text
    assert sent_article(emu) == {
        "title": "Acme 2.0 is out",
        "body_markdown": "## Today\n\nAcme 2.0 ships.",
        "published": True,
        "tags": ["pressrelease", "launch", "acme", "news"],
        "description": "The new Acme",
        "canonical_url": "https://acme.example/blog/acme-2",
        "main_image": "https://cdn.example/0.png",
    }
    assert devto.hosted == {"https://cdn.example/0.png": png()}  # type: ignore[attr-defined]
    write = emu.requests[-1]
    assert write.headers["api-key"] == emu.api_key and write.headers["accept"] == ACCEPT
    (stored,) = emu.articles()
    assert ref.id == str(stored["id"]) and ref.url == stored["url"]
    assert ref.extra == {"slug": stored["slug"], "status": "published"}


def test_draft_and_scheduled(emu: DevtoEmulator, devto: DevtoAdapter, send: Send) -> None:
    draft = run_flow(devto.publish_article(Article(title="Draft", status="draft")), send)
    assert sent_article(emu)["published"] is False
    assert run_flow(devto.read_article(draft), send).extra["status"] == "draft"
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    later = run_flow(devto.publish_article(Article(title="Later", scheduled_at=when)), send)
    assert sent_article(emu)["published"] is True
    assert sent_article(emu)["published_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run_flow(devto.read_article(later), send).extra["status"] == "scheduled"


def test_a_featured_image_needs_a_media_host(emu: DevtoEmulator, send: Send) -> None:
    bare = DevtoAdapter(emu.account())
    article = Article(title="Pic", featured_image=Media.from_bytes(png(), alt="x"))
    with pytest.raises(ConfigurationError) as info:
        run_flow(bare.publish_article(article), send)
    assert "media_host" in str(info.value)
    assert emu.requests == []


def test_a_title_longer_than_forem_keeps(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    with pytest.raises(ContentError) as info:
        run_flow(devto.publish_article(Article(title="x" * 129)), send)
    assert info.value.field == "title" and info.value.over_by == 1
    assert emu.requests == []


def test_a_page_is_refused_not_published_as_an_article(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    # Forem has articles only: an "About us" page went out as a public dev.to article.
    with pytest.raises(ContentError) as info:
        run_flow(devto.publish_article(Article(title="About us", kind="page")), send)
    assert info.value.field == "kind" and "kind='post'" in str(info.value)
    assert emu.requests == []


def test_lookup_by_title_and_canonical_url(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    article = Article(title="Report", canonical_url="https://acme.example/report")
    assert run_flow(devto.find_article(article), send) is None
    other = Article(title="Report", body="v0", canonical_url="https://acme.example/other")
    run_flow(devto.publish_article(other), send)
    # Same title, another canonical URL: not this article.
    assert run_flow(devto.find_article(article), send) is None
    emu.clock.advance(301)  # Forem's five-minute rule on titles
    ref = run_flow(devto.publish_article(article), send)
    found = run_flow(devto.find_article(article, since=datetime.now(UTC)), send)
    assert found is not None and found.id == ref.id
    far = datetime.now(UTC) + timedelta(hours=1)
    assert run_flow(devto.find_article(article, since=far), send) is None


def test_the_five_minute_title_rule_is_a_duplicate(devto: DevtoAdapter, send: Send) -> None:
    run_flow(devto.publish_article(Article(title="Twice", body="one")), send)
    with pytest.raises(Rejected) as info:
        run_flow(devto.publish_article(Article(title="Twice", body="two")), send)
    assert info.value.duplicate
    assert info.value.platform_message == "Title has already been used in the last five minutes"


def test_the_same_article_again_is_a_duplicate(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    # Forem keeps a body unique per user and title, at any time: the same article sent again
    # after the five minutes is refused too, and that refusal says it is there already.
    run_flow(devto.publish_article(Article(title="Twice", body="Same.")), send)
    emu.clock.advance(301)
    with pytest.raises(Rejected) as info:
        run_flow(devto.publish_article(Article(title="Twice", body="Same.")), send)
    assert info.value.duplicate
    assert info.value.platform_message == "Body markdown has already been taken"
    assert emu.post_titles() == ["Twice"]


def test_update_keeps_the_url_and_can_unpublish(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    ref = run_flow(devto.publish_article(Article(title="V1", body="one")), send)
    updated = run_flow(devto.update_article(ref, Article(title="V2", body="two")), send)
    assert updated.url == ref.url and emu.post_texts() == ["two"]
    run_flow(devto.update_article(ref, Article(title="V2", body="two", status="draft")), send)
    assert run_flow(devto.read_article(ref), send).extra["status"] == "draft"


def test_delete_is_unsupported(emu: DevtoEmulator, devto: DevtoAdapter, send: Send) -> None:
    ref = run_flow(devto.publish_article(Article(title="Stays")), send)
    with pytest.raises(Unsupported) as info:
        run_flow(devto.delete_part(ref), send)
    assert "status='draft'" in str(info.value)
    assert emu.post_titles() == ["Stays"]


def test_errors_are_typed_with_forems_message(emu: DevtoEmulator, devto: DevtoAdapter) -> None:
    def answer(status: int, message: str, **headers: str) -> httpx.Response:
        response = emu.error(status, message)
        response.headers.update(headers)
        return response

    assert isinstance(devto.error_for(answer(401, "unauthorized")), AuthError)
    limited = devto.error_for(
        answer(429, "Rate limit reached, try again in 30 seconds", **{"retry-after": "30"})
    )
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0
    throttled = devto.error_for(
        httpx.Response(429, text="Retry later\n", headers={"retry-after": "1"})
    )
    assert isinstance(throttled, RateLimited) and throttled.platform_message == "Retry later"
    assert isinstance(devto.error_for(answer(502, "Bad Gateway")), PlatformUnavailable)
    rejected = devto.error_for(answer(422, "Tag list exceed the maximum of 4 tags"))
    assert isinstance(rejected, Rejected) and not rejected.duplicate


def test_a_throttled_read_names_the_read_bucket(devto: DevtoAdapter) -> None:
    # Rack::Attack throttles GETs per address apart from writes per key: a refused read
    # named the write bucket.
    def throttled(method: str) -> RateLimited:
        request = httpx.Request(method, f"{BASE}/api/articles/me/all")
        response = httpx.Response(
            429, text="Retry later\n", headers={"retry-after": "1"}, request=request
        )
        error = devto.error_for(response)
        assert isinstance(error, RateLimited)
        return error

    assert throttled("GET").bucket == "devto:read"
    assert throttled("POST").bucket == "devto:write"


@pytest.mark.parametrize("header", ["1e300", "99999999999999999999", "-5"])
def test_a_garbled_retry_after_is_a_bounded_wait(devto: DevtoAdapter, header: str) -> None:
    """A 429 whose Retry-After no clock holds is a RateLimited with a wait of at most a day
    (the governor's cap; negative: none), not an OverflowError out of the client's retry
    loop."""
    limited = devto.error_for(
        httpx.Response(429, text="Retry later\n", headers={"retry-after": header})
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after is not None and 0.0 <= limited.retry_after <= 86_400
    assert limited.reset_at is None or limited.reset_at.year < 9999


def test_a_wrong_key_is_an_auth_error(emu: DevtoEmulator, send: Send) -> None:
    wrong = DevtoAdapter(Account.devto(api_key="not-the-key-123", base_url=BASE))
    with pytest.raises(AuthError) as info:
        run_flow(wrong.publish_article(Article(title="t")), send)
    assert info.value.platform_message == "unauthorized"
    assert "not-the-key-123" not in str(info.value)


def test_metrics_from_the_accounts_own_list(
    emu: DevtoEmulator, devto: DevtoAdapter, send: Send
) -> None:
    first = run_flow(devto.publish_article(Article(title="One")), send)
    second = run_flow(devto.publish_article(Article(title="Two")), send)
    emu.engage(first.id, views=120, reactions=7, comments=2)
    emu.engage(second.id, views=3)
    gone = PartRef(index=0, id="999", url=None)
    samples = run_flow(devto.collect_metrics([first, second, gone]), send)
    values = {(s.post_id, s.metric): s.value for s in samples if s.available}
    assert values == {
        (first.id, "impressions"): 120,
        (first.id, "likes"): 7,
        (first.id, "replies"): 2,
        (second.id, "impressions"): 3,
        (second.id, "likes"): 0,
        (second.id, "replies"): 0,
    }
    missing = [s for s in samples if not s.available]
    assert {s.metric for s in missing} == {"impressions", "likes", "replies"}
    assert all(s.post_id == "999" and "not among" in str(s.reason) for s in missing)
    assert emu.count("GET", r"/api/articles/me/all") == 1
