"""Mastodon.py against the Mastodon emulator over a real socket: an app deleted in Settings →
Development takes its tokens with it (Doorkeeper's ``has_many :access_tokens, dependent:
:delete_all``), so the token a client got through it answers 401 "The access token is
invalid", while a token of another app keeps working."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests

from brandkit.testing.mastodon import OOB, MastodonEmulator

mastodon = pytest.importorskip("mastodon")
mastodon_errors = importlib.import_module("mastodon.errors")


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def connect_through_app(url: str) -> tuple[str, Any]:
    """Register an app with Mastodon.py, consent (the emulator's user consents at once) and
    exchange the code with Mastodon.py: the app's client id and the logged-in client."""
    client_id, client_secret = mastodon.Mastodon.create_app(
        "fidelity", api_base_url=url, redirect_uris=OOB, session=session(), request_timeout=5
    )
    api = mastodon.Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=url,
        session=session(),
        request_timeout=5,
        version_check_mode="none",
    )
    authorize = api.auth_request_url(redirect_uris=OOB, scopes=["read", "write"], allow_http=True)
    with httpx.Client(trust_env=False, timeout=5) as http:
        answer = http.get(authorize)
    assert answer.status_code == 302, answer.text
    (code,) = parse_qs(urlsplit(answer.headers["location"]).query)["code"]
    api.log_in(code=code, redirect_uri=OOB, scopes=["read", "write"], allow_http=True)
    return client_id, api


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


def test_deleting_an_app_invalidates_its_tokens(served: tuple[MastodonEmulator, str]) -> None:
    emu, url = served
    client_id, api = connect_through_app(url)
    _, other = connect_through_app(url)
    assert api.account_verify_credentials()["username"] == emu.consent_as

    emu.delete_app(client_id)

    with pytest.raises(mastodon_errors.MastodonUnauthorizedError) as caught:
        api.account_verify_credentials()
    assert caught.value.args[1] == 401
    assert caught.value.args[3] == "The access token is invalid"
    # Another app's token is not touched.
    assert other.account_verify_credentials()["username"] == emu.consent_as


def test_a_deleted_app_is_unknown_to_oauth(served: tuple[MastodonEmulator, str]) -> None:
    emu, url = served
    client_id, api = connect_through_app(url)
    emu.delete_app(client_id)

    with pytest.raises(mastodon_errors.MastodonAPIError) as caught:
        api.revoke_access_token(allow_http=True)
    assert caught.value.args[1] == 403
    with pytest.raises(KeyError):
        emu.delete_app(client_id)
