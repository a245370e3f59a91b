"""The Ghost adapter's flows, run without a network against the emulator: the token it signs,
what it sends for an article, the lookup after a lost answer, edits, deletes and errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Account
from brandkit._flow import run_flow
from brandkit.content import Article, Media
from brandkit.delivery import new_tid, tid_time
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MediaError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.platforms import adapter_class
from brandkit.platforms.ghost import GhostAdapter, admin_token
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator

BASE = "http://ghost.test"


def b64(part: str) -> bytes:
    """base64url without padding, decoded."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def emu() -> GhostEmulator:
    """A Ghost site answering in-process at BASE."""
    emu = GhostEmulator()
    emu._base_url = BASE
    return emu


@pytest.fixture
def send(emu: GhostEmulator) -> Iterator[Callable[[httpx.Request], httpx.Response]]:
    """Answers a flow's requests from the emulator."""
    with httpx.Client(transport=emu.transport()) as client:
        yield client.send


@pytest.fixture
def ghost(emu: GhostEmulator) -> GhostAdapter:
    """The adapter for the emulator's site."""
    return GhostAdapter(emu.account())


def test_registered() -> None:
    assert adapter_class("ghost") is GhostAdapter


def test_the_token_is_what_ghost_checks() -> None:
    key = "6748592f4b9b7700010f6564:" + "b1" * 32
    token = admin_token(key, 1_800_000_000.7)
    head, claims, signature = token.split(".")
    assert json.loads(b64(head)) == {
        "alg": "HS256",
        "typ": "JWT",
        "kid": "6748592f4b9b7700010f6564",
    }
    assert json.loads(b64(claims)) == {"iat": 1_800_000_000, "exp": 1_800_000_300, "aud": "/admin/"}
    expected = hmac.new(bytes.fromhex("b1" * 32), f"{head}.{claims}".encode(), hashlib.sha256)
    assert b64(signature) == expected.digest()
    with pytest.raises(ConfigurationError) as info:
        admin_token("id:not-hex", 0)
    assert "not-hex" not in str(info.value)


def test_publish_sends_html_with_source_html_and_the_article_fields(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    article = Article(
        title="Q3 results",
        body="Revenue is *up*.",
        excerpt="Up again",
        tags=["News", "Finance"],
        categories=["news", "Press"],
        featured_image=Media.from_bytes(png(), alt="A rising chart", filename="chart.png"),
        canonical_url="https://acme.example/q3",
    )
    ref = run_flow(ghost.publish_article(article), send)
    create = [r for r in emu.requests if r.method == "POST" and r.url.path.endswith("/posts/")]
    assert [r.url.params.get("source") for r in create] == ["html"]
    assert all(r.headers["authorization"].startswith("Ghost ") for r in emu.requests)
    assert all(r.headers["accept-version"] == "v5.0" for r in emu.requests)
    stored = emu.post(ref.id)
    assert stored["html"] == "<p>Revenue is <em>up</em>.</p>\n"
    assert stored["slug"] == "q3-results" and stored["status"] == "published"
    # Categories become tags; a name repeated in another case is sent once.
    assert [t["name"] for t in stored["tags"]] == ["News", "Finance", "Press"]
    assert stored["custom_excerpt"] == "Up again"
    assert stored["canonical_url"] == "https://acme.example/q3"
    assert stored["feature_image_alt"] == "A rising chart"
    assert emu.image(stored["feature_image"]) == png()
    assert ref.url == f"{BASE}/q3-results/"
    assert ref.extra["resource"] == "posts" and ref.extra["status"] == "published"


def test_a_page_and_a_scheduled_post(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    page = run_flow(ghost.publish_article(Article(title="About", body="Us", kind="page")), send)
    assert page.extra["resource"] == "pages" and page.url == f"{BASE}/about/"
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    ref = run_flow(ghost.publish_article(Article(title="Later", scheduled_at=when)), send)
    assert ref.extra["status"] == "scheduled"
    assert ref.url == f"{BASE}/p/{ref.extra['uuid']}/"
    assert emu.post(ref.id)["published_at"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # Once the time has come, reading it back gives the live URL.
    emu.clock.advance(timedelta(hours=2, seconds=1))
    ghost.clock = emu.clock.time  # tokens signed at the emulator's time
    live = run_flow(ghost.read_article(ref), send)
    assert live.extra["status"] == "published" and live.url == f"{BASE}/later/"


def test_scheduling_too_soon_is_rejected_in_ghosts_words(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    # brandkit schedules a time less than 2 minutes ahead later (test_near_schedule.py):
    # only a Ghost whose clock is ahead of ours still finds it too soon.
    emu.clock.advance(timedelta(minutes=3))
    soon = datetime.now(UTC) + timedelta(minutes=4)
    with pytest.raises(Rejected) as info:
        run_flow(ghost.publish_article(Article(title="Soon", scheduled_at=soon)), send)
    assert info.value.platform_message == "Date must be at least 2 minutes in the future."
    assert info.value.code == "ValidationError" and info.value.status_code == 422


def test_lookup_finds_the_post_by_its_slug_family_and_title(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    # Another post already holds the slug: Ghost gives ours "launch-2".
    run_flow(ghost.publish_article(Article(title="Old launch", slug="launch")), send)
    article = Article(title="Launch day", slug="launch")
    assert run_flow(ghost.find_article(article), send) is None
    ref = run_flow(ghost.publish_article(article), send)
    assert ref.extra["slug"] == "launch-2"
    found = run_flow(ghost.find_article(article, since=datetime.now(UTC)), send)
    assert found is not None and found.id == ref.id
    # A post with that title made well before the delivery began is not ours.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert run_flow(ghost.find_article(article, since=later), send) is None


def test_tid_time_reads_a_delivery_key() -> None:
    moment = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    key = new_tid(int(moment.timestamp() * 1_000_000))
    assert tid_time(key) == moment
    assert tid_time("not-a-tid") is None


def test_update_reads_updated_at_and_survives_one_collision(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    ref = run_flow(ghost.publish_article(Article(title="First", body="one")), send)
    edits = {"n": 0}

    def racing(request: httpx.Request) -> httpx.Response:
        # Someone else saves the post between brandkit's read and its first PUT.
        if request.method == "PUT" and edits["n"] == 0:
            edits["n"] += 1
            post = emu.post(ref.id)
            emu._posts[ref.id].updated_at += timedelta(seconds=1)
            assert post["title"] == "First"
        return send(request)

    updated = run_flow(
        ghost.update_article(ref, Article(title="Second", body="two", slug="first")), racing
    )
    assert emu.post(ref.id)["title"] == "Second"
    assert emu.post(ref.id)["html"] == "<p>two</p>\n"
    assert updated.id == ref.id and updated.url == f"{BASE}/first/"
    puts = [r for r in emu.requests if r.method == "PUT"]
    assert len(puts) == 2


def test_delete_and_delete_again(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    ref = run_flow(ghost.publish_article(Article(title="Bye")), send)
    run_flow(ghost.delete_part(ref), send)
    run_flow(ghost.delete_part(ref), send)  # already gone: not an error
    assert emu.post_titles() == []


@pytest.mark.parametrize(
    ("article", "field"),
    [
        (Article(title="x" * 256), "title"),
        (Article(title="t", author="jane"), "author"),
        (Article(title="t", slug="s" * 192), "slug"),
        (Article(title="t", excerpt="e" * 301), "excerpt"),
        (
            Article(title="t", featured_image=Media.from_bytes(png(), alt="a" * 192)),
            "featured_image.alt",
        ),
    ],
)
def test_what_ghost_cannot_keep_is_refused_before_any_request(
    emu: GhostEmulator,
    ghost: GhostAdapter,
    send: Callable[[httpx.Request], httpx.Response],
    article: Article,
    field: str,
) -> None:
    with pytest.raises(ContentError) as info:
        run_flow(ghost.publish_article(article), send)
    assert info.value.field == field and info.value.platform == "ghost"
    assert emu.requests == []


def test_an_image_ghost_does_not_take(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    heic = Media.from_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, alt="x")
    with pytest.raises(MediaError):
        run_flow(ghost.publish_article(Article(title="t", featured_image=heic)), send)
    assert emu.requests == []


def test_errors_are_typed_with_ghosts_message(emu: GhostEmulator, ghost: GhostAdapter) -> None:
    def answer(status: int, **headers: str) -> httpx.Response:
        response = emu.error(status, "scripted", type=None)
        response.headers.update(headers)
        response.request = httpx.Request("GET", BASE)
        return response

    assert isinstance(ghost.error_for(answer(401)), AuthError)
    assert isinstance(ghost.error_for(answer(403)), AuthError)
    limited = ghost.error_for(answer(429, **{"retry-after": "7"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    assert limited.code == "TooManyRequestsError"
    assert isinstance(ghost.error_for(answer(503)), PlatformUnavailable)
    rejected = ghost.error_for(answer(422))
    assert isinstance(rejected, Rejected) and rejected.platform_message == "scripted"


def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key(
    emu: GhostEmulator, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    key_id = emu.admin_key.partition(":")[0]
    wrong = Account.ghost(BASE, admin_key=f"{key_id}:{'cd' * 32}")
    with pytest.raises(AuthError) as info:
        run_flow(GhostAdapter(wrong).publish_article(Article(title="t")), send)
    assert info.value.platform_message == "Invalid token: invalid signature"
    assert "cd" * 32 not in str(info.value) and "cdcd" not in repr(wrong)


def test_the_author_goes_by_email_or_id(
    emu: GhostEmulator, ghost: GhostAdapter, send: Callable[[httpx.Request], httpx.Response]
) -> None:
    for author, expected in (
        ("editor@example.com", {"email": "editor@example.com"}),
        ("5ddc9141c35e7700383b2937", {"id": "5ddc9141c35e7700383b2937"}),
    ):
        run_flow(ghost.publish_article(Article(title=f"By {author}", author=author)), send)
        body = json.loads(emu.requests[-1].content)
        assert body["posts"][0]["authors"] == [expected]
