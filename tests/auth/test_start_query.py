"""What each platform's ``start`` asks for, pinned before the starts were built by one helper:
the authorization URL's endpoint and parameters, the token URL, the API base, a fresh
``state`` and (X, Mastodon with PKCE) an S256 challenge of the kept verifier. No request."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr

from brandkit.auth import linkedin, mastodon, meta
from brandkit.auth import x as x_auth
from brandkit.auth._core import Start, challenge

CB = "https://app.example/cb"
EMU = "http://127.0.0.1:9/"


def _app(pkce: bool) -> mastodon.MastodonApp:
    return mastodon.MastodonApp(
        instance_url="https://m.example",
        client_id="cid",
        client_secret=SecretStr("CS-m"),
        redirect_uri=CB,
        scopes=("read", "write"),
        pkce=pkce,
    )


STARTS = {
    "x": lambda: x_auth.start("cid", CB, ["tweet.read", "offline.access"]),
    "x_emulated": lambda: x_auth.start("cid", CB, "tweet.read", base_url=EMU),
    "linkedin": lambda: linkedin.start("cid", CB, "w_member_social,openid"),
    "linkedin_emulated": lambda: linkedin.start("cid", CB, ["openid"], base_url=EMU),
    "threads": lambda: meta.threads.start("cid", CB, ["threads_basic", "threads_content_publish"]),
    "instagram": lambda: meta.instagram.start("cid", CB, "instagram_business_basic"),
    "threads_emulated": lambda: meta.threads.start("cid", CB, ["threads_basic"], base_url=EMU),
    "facebook": lambda: meta.facebook.start("cid", CB, ["pages_show_list"]),
    "facebook_again": lambda: meta.facebook.start(
        "cid", CB, ["pages_show_list", "pages_manage_posts"], base_url=EMU, rerequest=True
    ),
    "mastodon": lambda: mastodon.start(_app(pkce=True)),
    "mastodon_no_pkce": lambda: mastodon.start(_app(pkce=False), ["read"]),
}

# (authorization endpoint, its query without state and challenge, token URL, api_base, PKCE)
ASKED: dict[str, tuple[str, dict[str, str], str, str | None, bool]] = {
    "x": (
        "https://x.com/i/oauth2/authorize",
        {
            "response_type": "code",
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "tweet.read offline.access",
            "code_challenge_method": "S256",
        },
        "https://api.x.com/2/oauth2/token",
        None,
        True,
    ),
    "x_emulated": (
        "http://127.0.0.1:9/i/oauth2/authorize",
        {
            "response_type": "code",
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "tweet.read",
            "code_challenge_method": "S256",
        },
        "http://127.0.0.1:9/2/oauth2/token",
        "http://127.0.0.1:9",
        True,
    ),
    "linkedin": (
        "https://www.linkedin.com/oauth/v2/authorization",
        {
            "response_type": "code",
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "w_member_social openid",
        },
        "https://www.linkedin.com/oauth/v2/accessToken",
        None,
        False,
    ),
    "linkedin_emulated": (
        "http://127.0.0.1:9/oauth/v2/authorization",
        {"response_type": "code", "client_id": "cid", "redirect_uri": CB, "scope": "openid"},
        "http://127.0.0.1:9/oauth/v2/accessToken",
        "http://127.0.0.1:9",
        False,
    ),
    "threads": (
        "https://threads.net/oauth/authorize",
        {
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "threads_basic,threads_content_publish",
            "response_type": "code",
        },
        "https://graph.threads.net/oauth/access_token",
        None,
        False,
    ),
    "instagram": (
        "https://api.instagram.com/oauth/authorize",
        {
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "instagram_business_basic",
            "response_type": "code",
        },
        "https://api.instagram.com/oauth/access_token",
        None,
        False,
    ),
    "threads_emulated": (
        "http://127.0.0.1:9/oauth/authorize",
        {"client_id": "cid", "redirect_uri": CB, "scope": "threads_basic", "response_type": "code"},
        "http://127.0.0.1:9/oauth/access_token",
        "http://127.0.0.1:9",
        False,
    ),
    "facebook": (
        "https://www.facebook.com/v25.0/dialog/oauth",
        {
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "pages_show_list",
            "response_type": "code",
        },
        "https://graph.facebook.com/v25.0/oauth/access_token",
        None,
        False,
    ),
    "facebook_again": (
        "http://127.0.0.1:9/v25.0/dialog/oauth",
        {
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "pages_show_list,pages_manage_posts",
            "response_type": "code",
            "auth_type": "rerequest",
        },
        "http://127.0.0.1:9/v25.0/oauth/access_token",
        "http://127.0.0.1:9",
        False,
    ),
    "mastodon": (
        "https://m.example/oauth/authorize",
        {
            "response_type": "code",
            "client_id": "cid",
            "redirect_uri": CB,
            "scope": "read write",
            "code_challenge_method": "S256",
        },
        "https://m.example/oauth/token",
        "https://m.example",
        True,
    ),
    "mastodon_no_pkce": (
        "https://m.example/oauth/authorize",
        {"response_type": "code", "client_id": "cid", "redirect_uri": CB, "scope": "read"},
        "https://m.example/oauth/token",
        "https://m.example",
        False,
    ),
}


@pytest.mark.parametrize("name", list(STARTS))
def test_start_asks_for_what_the_platform_documents(name: str) -> None:
    endpoint, query, token_url, api_base, pkce = ASKED[name]
    start: Start = STARTS[name]()
    parts = urlsplit(start.url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert len(pairs) == len(dict(pairs))  # no parameter twice
    sent = dict(pairs)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == endpoint
    assert sent.pop("state") == start.state.get_secret_value()
    assert len(start.state.get_secret_value()) >= 32
    if pkce:
        assert start.verifier is not None
        assert sent.pop("code_challenge") == challenge(start.verifier.get_secret_value())
    else:
        assert start.verifier is None
        assert "code_challenge" not in sent
    assert sent == query
    assert (start.token_url, start.api_base) == (token_url, api_base)
    assert (start.client_id, start.redirect_uri) == ("cid", CB)
    assert start.to_dict()["state"] not in repr(start)


def test_each_start_has_its_own_state() -> None:
    assert STARTS["x"]().state != STARTS["x"]().state
