"""The Ghost emulator answers as Ghost's Admin API does: token checks in Ghost's words,
HTML read only with source=html, unique slugs, the updated_at collision check, filters,
scheduling, uploads and Ghost's error body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator, sign_admin_token

BASE = "http://ghost.test"
POSTS = "/ghost/api/admin/posts/"


@pytest.fixture
def emu() -> GhostEmulator:
    """A Ghost site answering in-process at BASE."""
    emu = GhostEmulator()
    emu._base_url = BASE
    return emu


@pytest.fixture
def http(emu: GhostEmulator) -> Iterator[httpx.Client]:
    """A raw client to the emulator."""
    with httpx.Client(transport=emu.transport(), base_url=BASE) as client:
        yield client


def auth(emu: GhostEmulator, *, iat: float | None = None, **kwargs: Any) -> dict[str, str]:
    """A valid Authorization header at the emulator's time (or ``iat``)."""
    when = emu.clock.time() if iat is None else iat
    return {"Authorization": f"Ghost {sign_admin_token(emu.admin_key, iat=when, **kwargs)}"}


def create(http: httpx.Client, emu: GhostEmulator, source: bool = True, **fields: Any) -> Any:
    """POST one post; returns the response."""
    return http.post(
        POSTS + ("?source=html" if source else ""),
        json={"posts": [fields]},
        headers=auth(emu),
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The one error of Ghost's error body, checked for its shape."""
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert set(error) >= {"message", "context", "type", "details", "property", "help", "code", "id"}
    return error


def test_a_post_from_html_is_created_with_its_fields(
    http: httpx.Client, emu: GhostEmulator
) -> None:
    r = create(
        http,
        emu,
        title="Hello",
        html="<p>Hi <em>all</em></p>",
        status="published",
        tags=["News", {"name": "Press"}],
        custom_excerpt="Short",
        canonical_url="https://example.com/hello",
    )
    assert r.status_code == 201
    (post,) = r.json()["posts"]
    assert post["slug"] == "hello" and post["status"] == "published"
    assert post["url"] == f"{BASE}/hello/"
    assert [t["name"] for t in post["tags"]] == ["News", "Press"]
    assert (
        post["custom_excerpt"] == "Short" and post["canonical_url"] == "https://example.com/hello"
    )
    # The Admin API answers Lexical by default; HTML only when asked.
    assert "html" not in post and "lexical" in post
    assert r.headers["location"].endswith(f"{POSTS}{post['id']}/")
    assert emu.post("hello")["html"] == "<p>Hi <em>all</em></p>"


def test_html_without_source_html_is_dropped(http: httpx.Client, emu: GhostEmulator) -> None:
    r = create(http, emu, source=False, title="No body", html="<p>lost</p>")
    assert r.status_code == 201
    assert emu.post("no-body")["html"] == ""


def test_a_taken_slug_gets_a_number(http: httpx.Client, emu: GhostEmulator) -> None:
    slugs = [create(http, emu, title="Same", slug="same").json()["posts"][0]["slug"] for _ in "abc"]
    assert slugs == ["same", "same-2", "same-3"]


def test_drafts_and_scheduled_posts_have_preview_urls_until_live(
    http: httpx.Client, emu: GhostEmulator
) -> None:
    draft = create(http, emu, title="Draft").json()["posts"][0]
    assert draft["status"] == "draft" and draft["url"] == f"{BASE}/p/{draft['uuid']}/"
    soon = emu.clock.now().replace(microsecond=0).timestamp() + 60
    late = emu.clock.now().replace(microsecond=0).timestamp() + 3600
    r = create(
        http,
        emu,
        title="Too soon",
        status="scheduled",
        published_at=datetime.fromtimestamp(soon, UTC).isoformat(),
    )
    assert r.status_code == 422
    assert error_of(r)["message"] == "Date must be at least 2 minutes in the future."
    r = create(
        http,
        emu,
        title="Later",
        status="scheduled",
        published_at=datetime.fromtimestamp(late, UTC).isoformat(),
    )
    assert r.status_code == 201 and r.json()["posts"][0]["status"] == "scheduled"
    emu.clock.advance(3601)
    assert emu.post("later")["status"] == "published"
    assert emu.post("later")["url"] == f"{BASE}/later/"


def test_a_published_post_cannot_be_scheduled_again(http: httpx.Client, emu: GhostEmulator) -> None:
    # Ghost's post model refuses published -> scheduled ("disallow published -> scheduled").
    post = create(http, emu, title="Live", status="published").json()["posts"][0]
    later = datetime.fromtimestamp(emu.clock.time() + 3600, UTC).isoformat()
    r = http.put(
        f"{POSTS}{post['id']}/",
        json={
            "posts": [
                {"status": "scheduled", "published_at": later, "updated_at": post["updated_at"]}
            ]
        },
        headers=auth(emu),
    )
    assert r.status_code == 422
    error = error_of(r)
    assert error["message"] == "Your post is already published, please reload your page."
    assert error["type"] == "ValidationError"
    assert emu.post("live")["status"] == "published"


def test_filter_by_slug_list_and_formats(http: httpx.Client, emu: GhostEmulator) -> None:
    for title in ("One", "Two", "Three"):
        create(http, emu, title=title, html=f"<p>{title}</p>")
    r = http.get(
        POSTS,
        params={"filter": "slug:[one,three]", "formats": "html", "order": "created_at asc"},
        headers=auth(emu),
    )
    assert r.status_code == 200
    body = r.json()
    assert [p["slug"] for p in body["posts"]] == ["one", "three"]
    assert [p["html"] for p in body["posts"]] == ["<p>One</p>", "<p>Three</p>"]
    assert body["meta"]["pagination"]["total"] == 2
    r = http.get(POSTS, params={"filter": "bogus~x"}, headers=auth(emu))
    assert r.status_code == 400 and error_of(r)["type"] == "BadRequestError"


def test_edit_needs_the_current_updated_at(http: httpx.Client, emu: GhostEmulator) -> None:
    post = create(http, emu, title="Edit me").json()["posts"][0]
    url = f"{POSTS}{post['id']}/"
    r = http.put(url, json={"posts": [{"title": "x"}]}, headers=auth(emu))
    assert r.status_code == 422 and "updated_at" in str(error_of(r)["context"])
    stale = "2020-01-01T00:00:00.000Z"
    r = http.put(url, json={"posts": [{"title": "x", "updated_at": stale}]}, headers=auth(emu))
    assert r.status_code == 409
    error = error_of(r)
    assert error["type"] == "UpdateCollisionError" and error["code"] == "UPDATE_COLLISION"
    assert error["message"] == "Saving failed! Someone else is editing this post."
    r = http.put(
        url,
        json={"posts": [{"title": "Edited", "updated_at": post["updated_at"]}]},
        headers=auth(emu),
    )
    assert r.status_code == 200 and r.json()["posts"][0]["title"] == "Edited"
    assert r.json()["posts"][0]["updated_at"] != post["updated_at"]


def test_delete_then_not_found(http: httpx.Client, emu: GhostEmulator) -> None:
    post = create(http, emu, title="Gone").json()["posts"][0]
    assert http.delete(f"{POSTS}{post['id']}/", headers=auth(emu)).status_code == 204
    r = http.delete(f"{POSTS}{post['id']}/", headers=auth(emu))
    assert r.status_code == 404
    # As Ghost's API framework words an endpoint's error: its message, the model's context.
    assert error_of(r)["message"] == "Resource not found error, cannot delete post."
    assert error_of(r)["context"] == "Post not found."
    assert error_of(r)["type"] == "NotFoundError"
    assert emu.post_titles() == []


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 403, "Authorization failed"),
        (
            {"Authorization": "Bearer abc"},
            401,
            'Authorization header format is "Authorization: Ghost [token]"',
        ),
        ({"Authorization": "Ghost not-a-jwt"}, 400, "Invalid token"),
    ],
)
def test_malformed_authorization(
    http: httpx.Client, headers: dict[str, str], status: int, message: str
) -> None:
    r = http.get(POSTS, headers=headers)
    assert r.status_code == status and error_of(r)["message"] == message


def test_token_checks_in_ghosts_words(http: httpx.Client, emu: GhostEmulator) -> None:
    now = emu.clock.time()

    def refused(headers: dict[str, str]) -> str:
        r = http.get(POSTS, headers=headers)
        assert r.status_code == 401
        return str(error_of(r)["message"])

    assert refused(auth(emu, iat=now - 400, lifetime=300)) == "Invalid token: jwt expired"
    # A long-lived token is still refused 5 minutes after it was issued (maxAge).
    assert refused(auth(emu, iat=now - 301, lifetime=3600)) == "Invalid token: maxAge exceeded"
    assert refused(auth(emu, audience="/content/")).startswith(
        "Invalid token: jwt audience invalid"
    )
    key_id, _, secret = emu.admin_key.partition(":")
    forged = sign_admin_token(f"{key_id}:{'00' * 32}", iat=now)
    assert refused({"Authorization": f"Ghost {forged}"}) == "Invalid token: invalid signature"
    unknown = sign_admin_token(f"{'ab' * 12}:{secret}", iat=now)
    assert refused({"Authorization": f"Ghost {unknown}"}) == "Unknown Admin API Key"
    assert http.get(POSTS, headers=auth(emu)).status_code == 200
    # Ghost searches the audience with /\/?admin\/?$/: a versioned one passes too.
    assert http.get(POSTS, headers=auth(emu, audience="/v5/admin/")).status_code == 200
    old = emu.admin_key
    emu.revoke()
    assert refused({"Authorization": f"Ghost {sign_admin_token(old, iat=now)}"}) == (
        "Unknown Admin API Key"
    )


def test_image_upload_and_its_url(http: httpx.Client, emu: GhostEmulator) -> None:
    image = png()
    r = http.post(
        "/ghost/api/admin/images/upload/",
        files={"file": ("chart.png", image, "image/png")},
        data={"purpose": "image", "ref": "chart.png"},
        headers=auth(emu),
    )
    assert r.status_code == 201
    (uploaded,) = r.json()["images"]
    # Ghost's local storage (getUniqueFileName): the name as sent, in the month's folder.
    assert uploaded["ref"] == "chart.png"
    assert re.fullmatch(r".*/content/images/\d{4}/\d{2}/chart\.png", uploaded["url"])
    assert http.get(httpx.URL(uploaded["url"]).path).content == image
    r = http.post(
        "/ghost/api/admin/images/upload/",
        files={"file": ("doc.pdf", b"%PDF-1.4", "application/pdf")},
        headers=auth(emu),
    )
    assert r.status_code == 415
    error = error_of(r)
    assert error["message"] == "Please select a valid image."
    assert error["type"] == "UnsupportedMediaTypeError"


def test_validation_errors(http: httpx.Client, emu: GhostEmulator) -> None:
    r = create(http, emu, title="x" * 256)
    assert r.status_code == 422
    error = error_of(r)
    assert error["type"] == "ValidationError"
    assert error["context"] == "Value in [posts.title] exceeds maximum length of 255 characters."
    r = http.post(POSTS, json={"post": {}}, headers=auth(emu))
    assert r.status_code == 422
    assert json.dumps(error_of(r)).count("No root key") == 1


def test_public_page_of_a_published_post(http: httpx.Client, emu: GhostEmulator) -> None:
    create(
        http,
        emu,
        title="Launch",
        html="<p>We launched</p>",
        status="published",
        custom_excerpt="New",
    )
    page = http.get("/launch/")
    assert page.status_code == 200
    assert '<meta property="og:title" content="Launch">' in page.text
    assert '<meta property="og:description" content="New">' in page.text
    assert http.get("/missing/").status_code == 404
