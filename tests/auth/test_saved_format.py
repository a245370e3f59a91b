"""What the credentials classes save (``to_dict``) and read back (``from_dict``), pinned as
the code wrote it before their to_dict/from_dict were shared: a credential store file
written by an earlier brandkit must still load, and what is written must not change, field
for field and in order; the errors name the same fields, never a value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from brandkit.auth import bluesky, linkedin, mastodon, meta
from brandkit.auth import x as x_auth
from brandkit.auth._core import Start
from brandkit.auth.store import EncryptedStore, new_key
from brandkit.errors import ConfigurationError

BUILT: dict[str, Any] = {
    "x": x_auth.XCredentials(
        access_token=SecretStr("AT-x"),
        refresh_token=SecretStr("RT-x"),
        expires_at=1700000000.5,
        scopes=("tweet.read", "offline.access"),
        client_id="cid-x",
        base_url="http://127.0.0.1:9/",
    ),
    "x_public": x_auth.XCredentials(
        access_token=SecretStr("AT-x"),
        refresh_token=None,
        expires_at=None,
        scopes=(),
        client_id="",
        base_url=None,
    ),
    "x_oauth1": x_auth.XOAuth1Credentials(
        consumer_key="ck",
        access_token=SecretStr("AT-1"),
        access_token_secret=SecretStr("ATS-1"),
        user_id="42",
        screen_name="brand",
        base_url=None,
    ),
    "oauth1_start": x_auth.OAuth1Start(
        url="https://api.x.com/oauth/authorize?oauth_token=rt",
        consumer_key="ck",
        callback="oob",
        request_token="rt",
        request_token_secret=SecretStr("rts"),
        base_url=None,
    ),
    "mastodon": mastodon.MastodonCredentials(
        instance_url="https://m.example",
        access_token=SecretStr("AT-m"),
        scopes=("read", "write"),
        client_id="cid-m",
    ),
    "mastodon_app": mastodon.MastodonApp(
        instance_url="https://m.example",
        client_id="cid-m",
        client_secret=SecretStr("CS-m"),
        redirect_uri="urn:ietf:wg:oauth:2.0:oob",
        scopes=("read",),
        pkce=True,
    ),
    "linkedin": linkedin.LinkedInCredentials(
        access_token=SecretStr("AT-l"),
        refresh_token=SecretStr("RT-l"),
        expires_at=1700000000.0,
        refresh_expires_at=1730000000.0,
        scopes=("w_member_social",),
        client_id="cid-l",
    ),
    "threads": meta.ThreadsCredentials(
        access_token=SecretStr("AT-t"),
        user_id="17",
        expires_at=1700000000.0,
        issued_at=1690000000.0,
        long_lived=True,
        scopes=("threads_basic",),
        client_id="cid-t",
    ),
    "instagram": meta.InstagramCredentials(
        access_token=SecretStr("AT-i"),
        user_id="18",
        expires_at=None,
        issued_at=1690000000.0,
        long_lived=False,
        scopes=(),
        client_id="cid-i",
        base_url="http://127.0.0.1:9",
    ),
    "facebook_page": meta.FacebookPageCredentials(
        page_id="99", page_name="Brand", access_token=SecretStr("AT-p"), instagram_user_id="77"
    ),
    "bluesky": bluesky.BlueskyCredentials(
        access_token=SecretStr("AT-b"),
        refresh_token=SecretStr("RT-b"),
        expires_at=1700000000.0,
        scopes=("atproto",),
        did="did:plc:abc",
        handle=None,
        pds_url="https://pds.example",
        issuer="https://bsky.social",
        token_endpoint="https://bsky.social/oauth/token",
        client_id="https://app.example/client-metadata.json",
        dpop_key=SecretStr('{"kty":"EC"}'),
        dpop_nonce="n1",
        refresh_expires_at=1701000000.0,
    ),
    "bluesky_start": bluesky.BlueskyStart(
        url="https://bsky.social/oauth/authorize?x=1",
        client_id="cid-b",
        redirect_uri="http://127.0.0.1/cb",
        scopes=("atproto",),
        issuer="https://bsky.social",
        token_endpoint="https://bsky.social/oauth/token",
        did=None,
        handle="brand.bsky.social",
        pds_url="https://pds.example",
        state=SecretStr("st"),
        verifier=SecretStr("v" * 43),
        dpop_key=SecretStr('{"kty":"EC"}'),
    ),
    "start": Start(
        platform="x",
        url="https://x.com/i/oauth2/authorize?a=b",
        client_id="cid",
        redirect_uri="https://app.example/cb",
        scopes=("tweet.read",),
        token_url="https://api.x.com/2/oauth2/token",
        state=SecretStr("st"),
        verifier=None,
    ),
}

SAVED: dict[str, dict[str, Any]] = {
    "x": {
        "platform": "x",
        "access_token": "AT-x",
        "refresh_token": "RT-x",
        "expires_at": 1700000000.5,
        "scopes": ["tweet.read", "offline.access"],
        "client_id": "cid-x",
        "base_url": "http://127.0.0.1:9/",
    },
    "x_public": {
        "platform": "x",
        "access_token": "AT-x",
        "refresh_token": None,
        "expires_at": None,
        "scopes": [],
        "client_id": "",
        "base_url": None,
    },
    "x_oauth1": {
        "platform": "x",
        "oauth": "1.0a",
        "consumer_key": "ck",
        "access_token": "AT-1",
        "access_token_secret": "ATS-1",
        "user_id": "42",
        "screen_name": "brand",
        "base_url": None,
    },
    "oauth1_start": {
        "url": "https://api.x.com/oauth/authorize?oauth_token=rt",
        "consumer_key": "ck",
        "callback": "oob",
        "request_token": "rt",
        "request_token_secret": "rts",
        "base_url": None,
    },
    "mastodon": {
        "platform": "mastodon",
        "instance_url": "https://m.example",
        "access_token": "AT-m",
        "scopes": ["read", "write"],
        "client_id": "cid-m",
        "expires_at": None,
    },
    "mastodon_app": {
        "instance_url": "https://m.example",
        "client_id": "cid-m",
        "client_secret": "CS-m",
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": ["read"],
        "pkce": True,
    },
    "linkedin": {
        "platform": "linkedin",
        "access_token": "AT-l",
        "refresh_token": "RT-l",
        "expires_at": 1700000000.0,
        "refresh_expires_at": 1730000000.0,
        "scopes": ["w_member_social"],
        "client_id": "cid-l",
        "base_url": None,
    },
    "threads": {
        "platform": "threads",
        "access_token": "AT-t",
        "user_id": "17",
        "expires_at": 1700000000.0,
        "issued_at": 1690000000.0,
        "long_lived": True,
        "scopes": ["threads_basic"],
        "client_id": "cid-t",
        "base_url": None,
    },
    "instagram": {
        "platform": "instagram",
        "access_token": "AT-i",
        "user_id": "18",
        "expires_at": None,
        "issued_at": 1690000000.0,
        "long_lived": False,
        "scopes": [],
        "client_id": "cid-i",
        "base_url": "http://127.0.0.1:9",
    },
    "facebook_page": {
        "platform": "facebook",
        "page_id": "99",
        "page_name": "Brand",
        "access_token": "AT-p",
        "api_version": "v25.0",
        "base_url": None,
        "instagram_user_id": "77",
    },
    "bluesky": {
        "platform": "bluesky",
        "auth": "oauth",
        "access_token": "AT-b",
        "refresh_token": "RT-b",
        "expires_at": 1700000000.0,
        "scopes": ["atproto"],
        "did": "did:plc:abc",
        "handle": None,
        "pds_url": "https://pds.example",
        "issuer": "https://bsky.social",
        "token_endpoint": "https://bsky.social/oauth/token",
        "client_id": "https://app.example/client-metadata.json",
        "dpop_key": '{"kty":"EC"}',
        "dpop_nonce": "n1",
        "refresh_expires_at": 1701000000.0,
    },
    "bluesky_start": {
        "platform": "bluesky",
        "url": "https://bsky.social/oauth/authorize?x=1",
        "client_id": "cid-b",
        "redirect_uri": "http://127.0.0.1/cb",
        "scopes": ["atproto"],
        "issuer": "https://bsky.social",
        "token_endpoint": "https://bsky.social/oauth/token",
        "did": None,
        "handle": "brand.bsky.social",
        "pds_url": "https://pds.example",
        "state": "st",
        "verifier": "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
        "dpop_key": '{"kty":"EC"}',
        "dpop_nonce": None,
    },
    "start": {
        "platform": "x",
        "url": "https://x.com/i/oauth2/authorize?a=b",
        "client_id": "cid",
        "redirect_uri": "https://app.example/cb",
        "scopes": ["tweet.read"],
        "token_url": "https://api.x.com/2/oauth2/token",
        "state": "st",
        "verifier": None,
        "api_base": None,
    },
}

REFUSED: dict[str, tuple[str, str, str]] = {
    "x": (
        "not saved X credentials: check the fields access_token, client_id, platform, scopes",
        "not saved X credentials: check the fields access_token, base_url, client_id, platform, refresh_token, scopes",
        "not saved X credentials: check the fields platform",
    ),
    "x_public": (
        "not saved X credentials: check the fields access_token, client_id, platform, scopes",
        "not saved X credentials: check the fields access_token, base_url, client_id, platform, refresh_token, scopes",
        "not saved X credentials: check the fields platform",
    ),
    "x_oauth1": (
        "not saved X OAuth 1.0a credentials: check the fields access_token, access_token_secret, consumer_key, oauth, platform, screen_name, user_id",
        "not saved X OAuth 1.0a credentials: check the fields access_token, access_token_secret, base_url, consumer_key, oauth, platform, screen_name, user_id",
        "not saved X OAuth 1.0a credentials: check the fields access_token_secret, consumer_key, oauth, platform, screen_name, user_id",
    ),
    "oauth1_start": (
        "not a saved OAuth 1.0a start: check the fields callback, consumer_key, request_token, request_token_secret, url",
        "not a saved OAuth 1.0a start: check the fields base_url, callback, consumer_key, request_token, request_token_secret, url",
        "not a saved OAuth 1.0a start: check the fields callback, consumer_key, request_token, request_token_secret, url",
    ),
    "mastodon": (
        "not saved Mastodon credentials: check the fields access_token, client_id, instance_url, platform, scopes",
        "not saved Mastodon credentials: check the fields access_token, client_id, instance_url, platform, scopes",
        "not saved Mastodon credentials: check the fields instance_url, platform",
    ),
    "mastodon_app": (
        "not a saved Mastodon app: check the fields client_id, client_secret, instance_url, pkce, redirect_uri, scopes",
        "not a saved Mastodon app: check the fields client_id, client_secret, instance_url, pkce, redirect_uri, scopes",
        "not a saved Mastodon app: check the fields client_secret, pkce, redirect_uri",
    ),
    "linkedin": (
        "not saved LinkedIn credentials: check the fields access_token, client_id, platform, scopes",
        "not saved LinkedIn credentials: check the fields access_token, base_url, client_id, platform, refresh_token, scopes",
        "not saved LinkedIn credentials: check the fields platform",
    ),
    "threads": (
        "not saved threads credentials: check the fields access_token, client_id, issued_at, long_lived, platform, scopes, user_id",
        "not saved threads credentials: check the fields access_token, base_url, client_id, long_lived, platform, scopes, user_id",
        "not saved threads credentials: check the fields issued_at, long_lived, user_id",
    ),
    "instagram": (
        "not saved instagram credentials: check the fields access_token, client_id, issued_at, long_lived, platform, scopes, user_id",
        "not saved instagram credentials: check the fields access_token, base_url, client_id, long_lived, platform, scopes, user_id",
        "not saved instagram credentials: check the fields issued_at, long_lived, user_id",
    ),
    "facebook_page": (
        "not saved Facebook Page credentials: check the fields access_token, page_id, platform",
        "not saved Facebook Page credentials: check the fields access_token, api_version, base_url, instagram_user_id, page_id, page_name, platform",
        "not saved Facebook Page credentials: check the fields page_id, platform",
    ),
    "bluesky": (
        "not saved Bluesky OAuth credentials: check the fields access_token, auth, client_id, did, dpop_key, issuer, pds_url, platform, scopes, token_endpoint",
        "not saved Bluesky OAuth credentials: check the fields access_token, auth, client_id, did, dpop_key, dpop_nonce, handle, issuer, pds_url, platform, refresh_token, scopes, token_endpoint",
        "not saved Bluesky OAuth credentials: check the fields auth, did, dpop_key, issuer, pds_url, token_endpoint",
    ),
    "bluesky_start": (
        "not saved Bluesky authorization start credentials: check the fields client_id, did, dpop_key, handle, issuer, pds_url, platform, redirect_uri, scopes, state, token_endpoint, url, "
        "verifier",
        "not saved Bluesky authorization start credentials: check the fields client_id, did, dpop_key, dpop_nonce, handle, issuer, pds_url, platform, redirect_uri, scopes, state, "
        "token_endpoint, url, verifier",
        "not saved Bluesky authorization start credentials: check the fields did, dpop_key, handle, issuer, pds_url, redirect_uri, state, token_endpoint, url, verifier",
    ),
    "start": (
        "not a saved authorization start: check the fields client_id, platform, redirect_uri, scopes, state, token_url, url, verifier",
        "not a saved authorization start: check the fields api_base, client_id, platform, redirect_uri, scopes, state, token_url, url, verifier",
        "not a saved authorization start: check the fields redirect_uri, state, token_url, url, verifier",
    ),
}

OTHER = {name: "x" if name == "mastodon" else "mastodon" for name in BUILT}


@pytest.mark.parametrize("name", list(BUILT))
def test_to_dict_writes_the_same_fields_in_the_same_order(name: str) -> None:
    # json.dumps keeps the order and tells 1700000000 from 1700000000.0.
    assert json.dumps(BUILT[name].to_dict()) == json.dumps(SAVED[name])


@pytest.mark.parametrize("name", list(BUILT))
def test_from_dict_reads_what_was_saved(name: str) -> None:
    read = type(BUILT[name]).from_dict(SAVED[name])
    assert read == BUILT[name]
    assert json.dumps(read.to_dict()) == json.dumps(SAVED[name])
    for value in SAVED[name].values():
        if isinstance(value, str) and value.startswith(("AT-", "RT-", "CS-", "ATS-")):
            assert value not in repr(read)


@pytest.mark.parametrize("name", list(BUILT))
def test_from_dict_refuses_naming_fields_never_values(name: str) -> None:
    cls = type(BUILT[name])
    wrong = dict.fromkeys(SAVED[name], 3)
    messages = []
    for data in ({}, wrong, SAVED[OTHER[name]]):
        with pytest.raises(ConfigurationError) as caught:
            cls.from_dict(data)
        messages.append(str(caught.value))
        assert "AT-" not in str(caught.value)
    assert tuple(messages) == REFUSED[name]


def test_an_optional_secret_saved_empty_reads_as_none_a_required_one_stays() -> None:
    x_saved = {**SAVED["x"], "refresh_token": ""}
    assert x_auth.XCredentials.from_dict(x_saved).refresh_token is None
    start_saved = {**SAVED["oauth1_start"], "request_token_secret": ""}
    secret = x_auth.OAuth1Start.from_dict(start_saved).request_token_secret
    assert secret.get_secret_value() == ""
    # A session end saved as NaN (by hand) reads as unknown.
    nan = {**SAVED["bluesky"], "refresh_expires_at": float("nan")}
    assert bluesky.BlueskyCredentials.from_dict(nan).refresh_expires_at is None
    # A time saved as a JSON integer reads as a float.
    read = linkedin.LinkedInCredentials.from_dict({**SAVED["linkedin"], "expires_at": 1700000000})
    assert json.dumps(read.to_dict()) == json.dumps(SAVED["linkedin"])


def test_a_store_file_round_trips_every_kind(tmp_path: Path) -> None:
    key = new_key()
    with EncryptedStore(tmp_path / "credentials.db", key=key) as store:
        for name, creds in BUILT.items():
            store.put(name, creds.to_dict())
    with EncryptedStore(tmp_path / "credentials.db", key=key) as store:
        for name, creds in BUILT.items():
            record = store.get(name)
            assert record == SAVED[name]
            assert type(creds).from_dict(record) == creds


def test_the_mastodon_app_cache_saves_its_apps_as_they_save_themselves() -> None:
    cache = mastodon.AppCache([BUILT["mastodon_app"]])
    assert json.dumps(cache.to_dict()) == json.dumps({"apps": [SAVED["mastodon_app"]]})
    assert (
        mastodon.AppCache.from_dict(cache.to_dict()).get(
            "https://m.example", "urn:ietf:wg:oauth:2.0:oob", ["read"]
        )
        == BUILT["mastodon_app"]
    )
