"""A credential an adapter makes of an account's secrets (WordPress's encoded login, Ghost's
signed token) is redacted like the secrets themselves: a server that echoes the request's
Authorization header in an error leaks nothing into the delivery's error."""

from __future__ import annotations

import json

import httpx
import pytest

from brandkit import Account, Client, RetryPolicy
from brandkit.content import Article

FAST = RetryPolicy(initial=0.001, max_backoff=0.001)
GHOST_KEY = "64f0c1a2b3c4d5e6f7a8b9c0:" + "ab" * 32


def echo(request: httpx.Request) -> httpx.Response:
    """A server that refuses everything and says what it was sent."""
    said = request.headers.get("authorization", "")
    credential = said.split(" ", 1)[-1]
    body = {
        "code": "rest_forbidden",
        "message": f"bad credentials: {said} ({credential})",
        "errors": [{"message": f"bad credentials: {said}", "type": "NoPermissionError"}],
    }
    return httpx.Response(403, content=json.dumps(body).encode(), request=request)


@pytest.mark.parametrize(
    "account",
    [
        Account.wordpress("https://blog.example", user="editor", app_password="abcd efgh ijkl"),
        Account.ghost("https://news.example", admin_key=GHOST_KEY),
    ],
    ids=["wordpress", "ghost"],
)
def test_an_echoed_authorization_header_is_redacted(account: Account) -> None:
    sent: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("authorization", "").split(" ", 1)[-1])
        return echo(request)

    http = httpx.Client(transport=httpx.MockTransport(server))
    with Client(http=http, retry=FAST) as client:
        (delivery,) = client.publish(Article(title="Q3", body="Up."), account)
    assert not delivery.ok and delivery.error is not None
    assert sent and all(len(s) > 8 for s in sent)
    seen = " ".join(
        str(x)
        for x in (
            delivery.error,
            getattr(delivery.error, "platform_message", ""),
            getattr(delivery.error, "body", ""),
            repr(delivery),
        )
    )
    assert "**********" in seen
    for credential in sent:
        assert credential not in seen


def test_an_internal_error_quoting_a_secret_is_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected error (a bug) whose message quotes the account's token: the delivery
    keeps the reason, shown by its repr and stored by an outbox, without the token."""
    from brandkit import Post
    from brandkit.platforms.mastodon import MastodonAdapter
    from brandkit.testing.mastodon import MastodonEmulator

    emu = MastodonEmulator()
    account = emu.account()
    token = account.secret("token")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"unexpected: Authorization: Bearer {token}")

    monkeypatch.setattr(MastodonAdapter, "publish_part", broken)
    with Client(http=httpx.Client(transport=emu.transport()), retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello"), account)
    assert not delivery.ok and delivery.error is not None
    assert str(delivery.error).startswith("internal error: RuntimeError")
    shown = [str(delivery.error), repr(delivery), json.dumps(delivery.to_dict(), default=str)]
    assert [s for s in shown if token in s] == []
