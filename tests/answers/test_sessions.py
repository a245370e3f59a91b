"""Logins, token refreshes and the reads of ``prepare``: a success answer brandkit cannot read
is MalformedResponse too. An answer that carries new credentials keeps no body (the account
does not know those tokens yet, so redaction could not hide them) and names fields, never
their values."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from brandkit import Account
from brandkit._flow import Flow, run_flow
from brandkit.errors import MalformedResponse
from brandkit.platforms._base import Adapter
from brandkit.platforms._oauth import WITHHELD
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.platforms.facebook import FacebookAdapter
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.platforms.x import XAdapter
from tests.answers.test_malformed import (
    PAGE,
    SECRET,
    Reply,
    mastodon,
    publish,
    reply,
)
from tests.facebook.conftest import Canned

NEW = "brand-new-token-never-seen-before"
"""A token in a broken credential answer: it must not be kept anywhere."""

UNAUTHORIZED = reply(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})


def x_refreshing() -> XAdapter:
    """An X account that can refresh its OAuth 2 token."""
    return XAdapter(
        Account.x(
            user_token=SECRET,
            refresh_token="refresh-0123456789",
            client_id="client-id",
            user_id="1072250532645998596",
            username="brand",
            base_url="https://api.x.test",
        )
    )


def linkedin_refreshing() -> LinkedInAdapter:
    """A LinkedIn organization that can refresh its token."""
    return LinkedInAdapter(
        Account.linkedin(
            author="urn:li:organization:2414183",
            token=SECRET,
            refresh_token="refresh-0123456789",
            client_id="78client",
            client_secret="client-secret-0123",
            base_url="https://li.example",
        )
    )


def instagram_expiring() -> InstagramAdapter:
    """An Instagram token that expires in three days (refreshed a week ahead)."""
    return InstagramAdapter(
        Account.instagram(
            ig_user_id="17841400000000001",
            token=SECRET,
            media_host=lambda media: "https://cdn.example/x.jpg",
            token_expires_at=time.time() + 3 * 86_400,
            base_url="https://graph.example",
        )
    )


def bluesky_logged_out() -> BlueskyAdapter:
    """A Bluesky account without a session: it logs in with the app password."""
    return BlueskyAdapter(
        Account.bluesky(handle="brand.test", app_password=SECRET, base_url="https://pds.example")
    )


def facebook_user_token() -> FacebookAdapter:
    """A Facebook Page known by a user token only: the Page token is fetched."""
    return FacebookAdapter(
        Account.facebook(page_id=PAGE, user_token=SECRET, base_url="https://graph.example")
    )


@dataclass(frozen=True)
class Read:
    """A flow whose read ``target`` gets ``answer``, which lacks ``field`` or has it of the
    wrong type; ``routes`` answer the requests before it."""

    name: str
    adapter: Callable[[], Adapter]
    flow: Callable[[Any], Flow[Any]]
    target: tuple[str, str]
    answer: httpx.Response
    field: str
    routes: tuple[tuple[str, str, Reply], ...] = ()
    credentials: bool = False


def _prepare(adapter: Adapter) -> Flow[Any]:
    return adapter.prepare()


READS = [
    Read(
        "x token refresh",
        x_refreshing,
        publish,
        ("POST", "/2/oauth2/token"),
        reply(200, {"access_token": 12345, "refresh_token": NEW, "expires_in": 7200}),
        "access_token",
        routes=(("POST", "/2/tweets", UNAUTHORIZED),),
        credentials=True,
    ),
    Read(
        "linkedin token refresh",
        linkedin_refreshing,
        publish,
        ("POST", "/oauth/v2/accessToken"),
        reply(200, {"refresh_token": NEW, "expires_in": 5184000}),
        "access_token",
        routes=(("POST", "/rest/posts", reply(401, {"message": "Expired", "status": 401})),),
        credentials=True,
    ),
    Read(
        "instagram token refresh",
        instagram_expiring,
        _prepare,
        ("GET", "/refresh_access_token"),
        reply(200, {"access_token": NEW, "expires_in": "5184000"}),
        "expires_in",
        credentials=True,
    ),
    Read(
        "bluesky login",
        bluesky_logged_out,
        _prepare,
        ("POST", "/xrpc/com.atproto.server.createSession"),
        reply(200, {"accessJwt": NEW, "did": "did:plc:abcdefghijklmnop"}),
        "refreshJwt",
        credentials=True,
    ),
    Read(
        "facebook page token",
        facebook_user_token,
        _prepare,
        ("GET", rf"/v25\.0/{PAGE}"),
        reply(200, {"access_token": [NEW], "id": PAGE}),
        "access_token",
        credentials=True,
    ),
    Read(
        "mastodon instance",
        mastodon,
        _prepare,
        ("GET", "/api/v2/instance"),
        reply(200, {"configuration": {"statuses": {"max_characters": "500"}}}),
        "configuration.statuses.max_characters",
    ),
    Read(
        "x users/me",
        lambda: XAdapter(Account.x(user_token=SECRET, base_url="https://api.x.test")),
        _prepare,
        ("GET", "/2/users/me"),
        reply(200, {"data": {"id": "2244994945", "name": "Brand"}}),
        "data.username",
    ),
    Read(
        "bluesky getSession",
        lambda: BlueskyAdapter(
            Account.bluesky(
                handle="brand.test",
                app_password=SECRET,
                access_jwt="access-jwt-0",
                refresh_jwt="refresh-jwt-0",
                base_url="https://pds.example",
            )
        ),
        _prepare,
        ("GET", "/xrpc/com.atproto.server.getSession"),
        reply(200, {"handle": "brand.test", "did": None}),
        "did",
    ),
]


@pytest.mark.parametrize("read", [pytest.param(r, id=r.name) for r in READS])
def test_a_login_refresh_or_prepare_answer_brandkit_cannot_read(read: Read) -> None:
    """MalformedResponse naming the field; a credential answer keeps no body and no token
    of it appears in the message."""
    method, path = read.target
    routes = Canned(*read.routes, (method, path, read.answer))
    with pytest.raises(MalformedResponse) as caught:
        run_flow(read.flow(read.adapter()), routes)
    error = caught.value
    assert read.field in str(error)
    assert NEW not in str(error) and SECRET not in str(error)
    assert error.body == (WITHHELD if read.credentials else read.answer.text)


def test_the_bluesky_session_of_a_malformed_login_is_not_stored() -> None:
    """Nothing of a login answer brandkit cannot read reaches the account."""
    adapter = bluesky_logged_out()
    answer = reply(200, {"accessJwt": NEW, "refreshJwt": 7})
    with pytest.raises(MalformedResponse):
        run_flow(adapter.prepare(), Canned(("POST", r"/xrpc/.*createSession", answer)))
    assert adapter.account.secret("access_jwt") is None
