"""What each platform's ``start`` and ``finish`` refuse before any request, and in what
words: the checks live once in ``auth._core`` (``start_arguments``, ``own_start``,
``comma_scopes``), the texts stay each platform's. No request is made."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import MastodonApp, linkedin, mastodon, x
from brandkit.errors import ConfigurationError

Starter = Callable[[str, str, list[str] | str], auth.Start]

STARTS: list[tuple[str, Starter, str]] = [
    ("x", x.start, "tweet.read"),
    ("linkedin", linkedin.start, "w_organization_social"),
    ("threads", auth.threads.start, "threads_basic"),
    ("instagram", auth.instagram.start, "threads_basic"),
    ("facebook", auth.facebook.start, "pages_show_list"),
]


@pytest.mark.parametrize(("platform", "start", "example"), STARTS)
def test_start_without_client_or_redirect(platform: str, start: Starter, example: str) -> None:
    for client_id, redirect in (("", "https://app.example/cb"), ("cid", "")):
        with pytest.raises(ConfigurationError) as info:
            start(client_id, redirect, [example])
        assert str(info.value) == f"auth.{platform}.start needs a client_id and a redirect_uri"


@pytest.mark.parametrize(("platform", "start", "example"), STARTS)
def test_start_without_scope(platform: str, start: Starter, example: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        start("cid", "https://app.example/cb", " ")
    assert str(info.value) == f"auth.{platform}.start needs at least one scope, e.g. '{example}'"


@pytest.mark.parametrize(
    "start", [linkedin.start, auth.threads.start, auth.instagram.start, auth.facebook.start]
)
def test_commas_separate_scopes_where_the_platform_uses_them(start: Starter) -> None:
    got = start("cid", "https://app.example/cb", "a,b b ,a")
    assert got.scopes == ("a", "b")


def test_x_takes_a_comma_as_part_of_a_scope() -> None:
    assert x.start("cid", "https://app.example/cb", "a,b c").scopes == ("a,b", "c")


@pytest.mark.parametrize(
    ("finish", "platform"),
    [
        (lambda s: x.finish_flow(s, "https://app.example/cb"), "x"),
        (
            lambda s: linkedin.finish_flow(s, "https://app.example/cb", client_secret="s"),
            "linkedin",
        ),
        (lambda s: auth.threads.finish_flow(s, "https://a/cb", client_secret="s"), "threads"),
        (lambda s: auth.facebook.finish_flow(s, "https://a/cb", client_secret="s"), "facebook"),
    ],
)
def test_finish_refuses_another_platforms_start(
    finish: Callable[[auth.Start], Iterator[object]], platform: str
) -> None:
    app = MastodonApp(
        instance_url="https://mastodon.example",
        client_id="cid",
        client_secret=SecretStr("secret"),
        redirect_uri="https://app.example/cb",
        scopes=("read",),
        pkce=False,
    )
    flow = finish(mastodon.start(app))
    with pytest.raises(ConfigurationError) as info:
        next(flow)
    assert str(info.value) == f"auth.{platform}.finish got a mastodon authorization start"
