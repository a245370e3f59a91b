"""Business Login for Instagram lets the user switch permissions off in its window, and the
code's answer lists what was granted: `finish` keeps those as the credentials' scopes and
refuses a connection without a permission brandkit needs for what the app asked, naming
it, instead of one whose first post fails. Over a socket against the Instagram emulator;
the answer's other observed shapes through a mock transport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Media, Post, RetryPolicy, auth
from brandkit.auth import ConsentDenied, PermissionsDeclined
from brandkit.errors import MalformedResponse
from brandkit.testing import TINY_JPEG
from brandkit.testing._graph import MetaOAuthApp
from brandkit.testing.instagram import InstagramEmulator

from .conftest import REDIRECT, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = InstagramEmulator  # served as the emu fixture (conftest), with the app of SCOPES
SCOPES = [
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_messages",
]


def login(emu: InstagramEmulator, app: MetaOAuthApp) -> auth.ThreadsCredentials:
    start = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    return auth.instagram.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )


def exchanges(emu: InstagramEmulator) -> list[str]:
    return [r.url.path for r in emu.requests if "access_token" in r.url.path]


def test_a_switched_off_publish_permission_fails_finish_naming_it(
    emu: InstagramEmulator, app: MetaOAuthApp
) -> None:
    emu.decline_permissions("instagram_business_content_publish")
    with pytest.raises(PermissionsDeclined) as declined:
        login(emu, app)
    error = declined.value
    assert isinstance(error, ConsentDenied)
    assert error.missing == ("instagram_business_content_publish",)
    assert error.platform == "instagram" and error.code == "permissions_declined"
    assert "instagram_business_content_publish" in str(error)
    assert "connect the account again" in str(error)
    # The long-lived exchange is not spent on a connection that cannot post.
    assert exchanges(emu) == ["/oauth/access_token"]

    # Connecting again with it left on works, and the account posts.
    creds = login(emu, app)
    assert creds.scopes == tuple(SCOPES)
    account = auth.account_from(creds, name="brand", media_host=emu.media_host)
    photo = Media.from_bytes(TINY_JPEG, alt="a grey pixel", filename="pixel.jpg")
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="Connected", media=(photo,)), account)
    assert delivery.status is DeliveryStatus.SENT


def test_a_switched_off_permission_brandkit_does_not_use_is_left_out_of_scopes(
    emu: InstagramEmulator, app: MetaOAuthApp
) -> None:
    emu.decline_permissions("instagram_business_manage_messages")
    creds = login(emu, app)
    assert creds.scopes == ("instagram_business_basic", "instagram_business_content_publish")
    assert creds.long_lived
    # What the credentials say was granted is what the token may do.
    info = emu.token_info(creds.access_token.get_secret_value())
    assert set(info.scopes or ()) == set(creds.scopes)
    # ...and the record kept for later says the same.
    again = auth.InstagramCredentials.from_dict(creds.to_dict())
    assert again.scopes == creds.scopes


def _mocked_finish(answer: Any) -> auth.ThreadsCredentials:
    start = auth.instagram.start("1234", REDIRECT, SCOPES)
    callback = f"{REDIRECT}?code=abc&state={start.state.get_secret_value()}"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.instagram.com"
        return httpx.Response(200, json=answer)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        return auth.instagram.finish(
            start, callback, client_secret="secret", long_lived=False, http=http
        )


@pytest.mark.parametrize(
    "answer",
    [
        # As Meta documents it: wrapped in data, comma-separated.
        {
            "data": [
                {"access_token": "IGAA1", "user_id": "17841", "permissions": ",".join(SCOPES[:2])}
            ]
        },
        # As it has been seen answering: flat, a list.
        {"access_token": "IGAA1", "user_id": 17841, "permissions": SCOPES[:2]},
    ],
)
def test_both_answer_shapes_are_read(answer: dict[str, Any]) -> None:
    creds = _mocked_finish(answer)
    assert creds.user_id == "17841"
    assert creds.scopes == tuple(SCOPES[:2])


def test_a_missing_permission_in_either_shape_is_refused() -> None:
    with pytest.raises(PermissionsDeclined) as declined:
        _mocked_finish({"access_token": "IGAA1", "user_id": 1, "permissions": SCOPES[::2]})
    assert declined.value.missing == ("instagram_business_content_publish",)


def test_an_answer_without_permissions_keeps_the_scopes_asked_for() -> None:
    # The older window's answer has no permissions: nothing can be checked.
    creds = _mocked_finish({"access_token": "IGAA1", "user_id": 17841})
    assert creds.scopes == tuple(SCOPES)


def test_permissions_of_the_wrong_type_are_a_malformed_answer() -> None:
    with pytest.raises(MalformedResponse):
        _mocked_finish({"access_token": "IGAA1", "user_id": 1, "permissions": {"a": 1}})
    with pytest.raises(MalformedResponse):
        _mocked_finish({"access_token": "IGAA1", "user_id": 1, "permissions": [1, 2]})


def test_the_emulator_answers_in_business_login_shape(
    emu: InstagramEmulator, app: MetaOAuthApp
) -> None:
    start = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    code = httpx.URL(callback).params["code"]
    with httpx.Client(timeout=10) as http:
        answer = http.post(
            f"{emu.base_url}/oauth/access_token",
            data={
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "grant_type": "authorization_code",
                "redirect_uri": REDIRECT,
                "code": code,
            },
        )
    assert answer.status_code == 200, answer.text
    body = json.loads(answer.text)
    (entry,) = body["data"]
    assert set(entry) == {"access_token", "user_id", "permissions"}
    assert isinstance(entry["user_id"], str)
    assert entry["permissions"] == ",".join(SCOPES)
