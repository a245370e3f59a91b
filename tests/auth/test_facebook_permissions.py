"""Facebook Login's dialog lets the user uncheck permissions: `finish` reads what was
granted (``GET /me/permissions``) and refuses a connection without a permission brandkit
needs for what the app asked, naming it, instead of a connection that looks fine and fails
at the first post. Over a socket against the Facebook emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import ConsentDenied, PermissionsDeclined
from brandkit.testing._graph import MetaOAuthApp
from brandkit.testing.facebook import FacebookEmulator

from .conftest import REDIRECT, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = FacebookEmulator  # served as the emu fixture (conftest), with the app of SCOPES
SCOPES = ["pages_show_list", "pages_manage_posts", "pages_read_engagement", "email"]


def login(
    emu: FacebookEmulator, app: MetaOAuthApp, *, rerequest: bool = False
) -> auth.FacebookUserCredentials:
    start = auth.facebook.start(
        app.client_id, REDIRECT, SCOPES, base_url=emu.base_url, rerequest=rerequest
    )
    return auth.facebook.finish(start, consent(start.url), client_secret=app.client_secret)


def permissions(emu: FacebookEmulator, token: str) -> Any:
    with httpx.Client(timeout=10) as http:
        answer = http.get(
            f"{emu.base_url}/v25.0/me/permissions", headers={"authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_declined_pages_manage_posts_fails_finish_naming_it(
    emu: FacebookEmulator, app: MetaOAuthApp
) -> None:
    emu.decline_permissions("pages_manage_posts")
    with pytest.raises(PermissionsDeclined) as declined:
        login(emu, app)
    error = declined.value
    assert isinstance(error, ConsentDenied)  # a partial consent is a refusal of what is needed
    assert error.missing == ("pages_manage_posts",)
    assert "pages_manage_posts" in str(error) and "connect the account again" in str(error)
    assert error.code == "permissions_declined" and error.platform == "facebook"
    assert error.to_dict()["missing"] == ["pages_manage_posts"]
    # No long-lived exchange was spent on a connection that cannot post.
    assert emu.count("GET", r"/v25\.0/me/permissions") == 1
    assert [
        r.url.params.get("grant_type") for r in emu.requests if "access_token" in r.url.path
    ] == [None]

    # Facebook's dialog does not ask for a declined permission again without rerequest...
    with pytest.raises(PermissionsDeclined):
        login(emu, app)
    # ...and with it the user can grant it this time.
    user = login(emu, app, rerequest=True)
    assert "pages_manage_posts" in user.scopes and user.declined == ()
    (page,) = auth.facebook.pages(user)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="Connected"), auth.account_from(page))
    assert delivery.status is DeliveryStatus.SENT


def test_everything_granted_passes_and_records_the_grant(
    emu: FacebookEmulator, app: MetaOAuthApp
) -> None:
    user = login(emu, app)
    assert set(user.scopes) == {"public_profile", *SCOPES}
    assert user.declined == ()
    body = permissions(emu, user.access_token.get_secret_value())
    assert body == {
        "data": [{"permission": p, "status": "granted"} for p in ["public_profile", *SCOPES]]
    }


def test_a_declined_permission_brandkit_does_not_need_is_recorded(
    emu: FacebookEmulator, app: MetaOAuthApp
) -> None:
    emu.decline_permissions("email")
    user = login(emu, app)
    assert user.declined == ("email",) and "email" not in user.scopes
    body = permissions(emu, user.access_token.get_secret_value())
    assert {"permission": "email", "status": "declined"} in body["data"]


def test_a_page_token_has_no_permissions_edge(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    (page,) = auth.facebook.pages(login(emu, app))
    with httpx.Client(timeout=10) as http:
        answer = http.get(
            f"{emu.base_url}/v25.0/me/permissions",
            headers={"authorization": f"Bearer {page.access_token.get_secret_value()}"},
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "(#100) Tried accessing nonexisting field (permissions) on node type (Page)"
    )
