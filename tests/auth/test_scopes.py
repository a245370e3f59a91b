"""Scope checks on later calls (issue 15): a token granted without the publish scope
connects fine, then is refused when it posts, by each emulator in its platform's own error
shape, and brandkit reports the refusal as a failed delivery (nothing is posted)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from brandkit import Account, Client, Delivery, DeliveryStatus, Media, Post, RetryPolicy, auth
from brandkit.auth.mastodon import AppCache
from brandkit.testing import TINY_JPEG
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)


def publish(account: Account, post: Post) -> Delivery:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(post, account)
    return delivery


def raw(method: str, url: str, token: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.request(  # type: ignore[arg-type]
            method, url, headers={"authorization": f"Bearer {token}"}, **kwargs
        )


def failed_with(delivery: Delivery, status: int, text: str) -> None:
    assert delivery.status is DeliveryStatus.FAILED
    error = delivery.error
    assert error is not None
    assert getattr(error, "status_code", None) == status, error
    said = [str(error), getattr(error, "platform_message", None), getattr(error, "code", None)]
    assert any(text in str(s) for s in said if s), said


def test_x_token_without_tweet_write() -> None:
    """X: a token granted ``tweet.read users.read`` reads, and posting answers X's 403
    problem."""
    emu = XEmulator()
    with emu.serve():
        scopes = ["tweet.read", "users.read"]
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
        start = auth.x.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
        token = creds.access_token.get_secret_value()
        assert raw("GET", emu.base_url + "/2/users/me", token).status_code == 200
        answer = raw("POST", emu.base_url + "/2/tweets", token, json={"text": "no"})
        assert answer.status_code == 403
        assert answer.json() == {
            "title": "Forbidden",
            "detail": "Forbidden",
            "type": "about:blank",
            "status": 403,
        }
        failed_with(publish(auth.account_from(creds), Post(text="no")), 403, "Forbidden")
        assert emu.post_texts() == []


def test_mastodon_token_with_read_only() -> None:
    """Mastodon: a ``read`` token is refused on ``POST /api/v1/statuses`` with 403
    ``This action is outside the authorized scopes``; ``write:statuses`` is enough."""
    emu = MastodonEmulator()
    with emu.serve():
        app = auth.mastodon.register_app(
            emu.base_url, REDIRECT, ["read", "write:statuses"], "Acme", cache=AppCache()
        )
        outcomes = {}
        for scopes in (["read"], ["write:statuses"]):
            start = auth.mastodon.start(app, scopes)
            creds = auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)
            outcomes[scopes[0]] = (creds, publish(auth.account_from(creds), Post(text="hi")))
        creds, refused = outcomes["read"]
        failed_with(refused, 403, "This action is outside the authorized scopes")
        answer = raw(
            "POST",
            emu.base_url + "/api/v1/statuses",
            creds.access_token.get_secret_value(),
            data={"status": "no"},
        )
        assert (answer.status_code, answer.json()) == (
            403,
            {"error": "This action is outside the authorized scopes"},
        )
        assert outcomes["write:statuses"][1].status is DeliveryStatus.SENT
        assert emu.post_texts() == ["hi"]


def _meta_error(answer: httpx.Response) -> dict[str, object]:
    body = json.loads(answer.content)
    error = body["error"]
    assert isinstance(error, dict)
    return error


def test_facebook_page_token_without_pages_manage_posts() -> None:
    """Facebook: a login without ``pages_manage_posts`` gives Page tokens that cannot post
    (403, ``(#200)``)."""
    emu = FacebookEmulator()
    with emu.serve():
        emu.account(name="brand")  # a Page the consenting user administers
        scopes = ["pages_show_list", "pages_read_engagement"]
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
        start = auth.facebook.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        user = auth.facebook.finish(start, consent(start.url), client_secret=app.client_secret)
        (page, *_) = auth.facebook.pages(user)
        answer = raw(
            "POST",
            f"{emu.base_url}/v25.0/{page.page_id}/feed",
            page.access_token.get_secret_value(),
            data={"message": "no"},
        )
        assert answer.status_code == 403
        error = _meta_error(answer)
        assert error["code"] == 200 and error["type"] == "OAuthException"
        assert str(error["message"]).startswith("(#200)")
        failed_with(publish(auth.account_from(page), Post(text="no")), 403, "(#200)")


def _meta_publish_refused(
    emu: InstagramEmulator | ThreadsEmulator,
    login: Callable[..., object],
    scopes: list[str],
    path: str,
) -> None:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
    start = login.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)  # type: ignore[attr-defined]
    creds = login.finish(start, consent(start.url), client_secret=app.client_secret)  # type: ignore[attr-defined]
    answer = raw(
        "POST",
        f"{emu.base_url}/v1.0/{creds.user_id}/{path}"
        if isinstance(emu, ThreadsEmulator)
        else f"{emu.base_url}/v25.0/{creds.user_id}/{path}",
        creds.access_token.get_secret_value(),
        data={"media_type": "TEXT", "text": "no", "image_url": "https://example.com/a.jpg"},
    )
    assert answer.status_code == 403, answer.text
    error = _meta_error(answer)
    assert error["code"] == 200 and str(error["message"]).startswith("(#200)")
    photo = Media.from_bytes(TINY_JPEG, alt="a grey pixel", filename="pixel.jpg")
    account = auth.account_from(creds, media_host=emu.media_host)  # type: ignore[arg-type]
    failed_with(publish(account, Post(text="no", media=(photo,))), 403, "(#200)")


def test_instagram_token_without_content_publish() -> None:
    """Instagram Login without ``instagram_business_content_publish``: the media container
    is refused (403, ``(#200)``)."""
    emu = InstagramEmulator()
    with emu.serve():
        _meta_publish_refused(emu, auth.instagram, ["instagram_business_basic"], "media")


def test_threads_token_without_content_publish() -> None:
    """Threads without ``threads_content_publish``: the container is refused (403,
    ``(#200)``)."""
    emu = ThreadsEmulator()
    with emu.serve():
        _meta_publish_refused(emu, auth.threads, ["threads_basic"], "threads")


def test_linkedin_token_without_w_member_social() -> None:
    """LinkedIn: a member token without ``w_member_social`` posting as the member gets
    403 ``ACCESS_DENIED``."""
    emu = LinkedInEmulator()
    with emu.serve():
        scopes = ["openid", "profile"]
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
        start = auth.linkedin.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        creds = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
        me = raw("GET", emu.base_url + "/v2/userinfo", creds.access_token.get_secret_value())
        assert me.status_code == 200, me.text
        author = f"urn:li:person:{me.json()['sub']}"
        delivery = publish(auth.account_from(creds, author=author), Post(text="no"))
        failed_with(delivery, 403, "ACCESS_DENIED")
        assert emu.posts == []
