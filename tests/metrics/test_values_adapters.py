"""A count no platform can mean (negative, or past what a float holds exactly) is a malformed
answer for that post, read through each adapter against its emulator: the post's samples come
back unavailable with the reason, the other posts' samples are kept, and the store takes
them all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, Article, Client, Delivery, MalformedResponse, Media, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.metrics import MetricSample, MetricsStore
from brandkit.testing import TINY_JPEG
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.devto import DevtoEmulator
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.telegram import TelegramEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.wordpress import WordPressEmulator
from brandkit.testing.x import XEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)
# Far below zero, so that what the emulator's clock adds cannot bring it back.
NEGATIVE = -(10**9)
HUGE = 2**63 + 500
ABSURD = {"negative": NEGATIVE, "past 2**53": HUGE}


def _jpeg() -> Media:
    return Media.from_bytes(TINY_JPEG, alt="a grey pixel", filename="pixel.jpg")


# Start a platform's emulator (on 127.0.0.1) and make an account on it.
Setup = Callable[[ExitStack], tuple[Any, Account]]


def _mastodon(stack: ExitStack) -> tuple[Any, Account]:
    emu = MastodonEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account(username="brand")


def _x(stack: ExitStack) -> tuple[Any, Account]:
    emu = XEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account(name="brand")


def _bluesky(stack: ExitStack) -> tuple[Any, Account]:
    emu = BlueskyEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account()


def _linkedin(stack: ExitStack) -> tuple[Any, Account]:
    emu = LinkedInEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account(author="organization")


def _facebook(stack: ExitStack) -> tuple[Any, Account]:
    emu = FacebookEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account()


def _instagram(stack: ExitStack) -> tuple[Any, Account]:
    host = stack.enter_context(LoopbackMediaHost())
    emu = InstagramEmulator(media_host=host)
    stack.enter_context(emu.serve())
    return emu, emu.account(username="brand")


def _threads(stack: ExitStack) -> tuple[Any, Account]:
    emu = ThreadsEmulator()
    stack.enter_context(emu.serve())
    return emu, emu.account(username="brand")


def _like(platform: str, emu: Any, d: Delivery, n: int) -> None:
    part = d.parts[0]
    if platform == "mastodon":
        emu.engage(part.id, favourites=n)
    elif platform == "x":
        emu.add_engagement(part.id, like_count=n)
    elif platform == "bluesky":
        emu.engage(part.uri, likes=n)
    elif platform == "linkedin":
        emu.engage(part.id, likeCount=n)
    elif platform == "facebook":
        emu.engage(part.id, reactions=n)
    else:
        emu.engage(part.id, likes=n)


SETUPS: dict[str, Setup] = {
    "mastodon": _mastodon,
    "x": _x,
    "bluesky": _bluesky,
    "linkedin": _linkedin,
    "facebook": _facebook,
    "instagram": _instagram,
    "threads": _threads,
}


@pytest.fixture(params=list(SETUPS))
def platform(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any, Account]]:
    """An emulator of each platform whose posts carry likes, served on 127.0.0.1."""
    with ExitStack() as stack:
        emu, account = SETUPS[request.param](stack)
        yield request.param, emu, account


def _sample_of(samples: dict[str | None, MetricSample], d: Delivery) -> MetricSample:
    part = d.parts[0]
    return samples[part.id] if part.id in samples else samples[part.uri]


@pytest.mark.parametrize("absurd", list(ABSURD))
def test_an_impossible_like_count_costs_only_its_post(
    platform: tuple[str, Any, Account], absurd: str, tmp_path: Path
) -> None:
    """The post whose answer says an impossible like count has its likes unavailable (the
    reason names the field); the other post's likes are read, and the store takes every
    sample."""
    name, emu, account = platform
    media = (_jpeg(),) if name == "instagram" else ()
    with Client(retry=FAST) as client:
        good, bad = (
            client.publish(Post(text=f"post {i}", media=media), account)[0] for i in range(2)
        )
        assert good.ok and bad.ok, (good.error, bad.error)
        _like(name, emu, good, 3)
        _like(name, emu, bad, ABSURD[absurd])
        samples = client.collect([good, bad])
    likes = {s.post_id: s for s in samples if s.metric == "likes"}
    kept, refused = _sample_of(likes, good), _sample_of(likes, bad)
    assert kept.available and kept.value is not None and kept.value >= 3
    assert not refused.available and refused.value is None
    assert refused.reason and "brandkit cannot read" in refused.reason
    assert all(s.value is None or 0 <= s.value <= 2**53 for s in samples)
    with MetricsStore(tmp_path / "m.db") as store:
        assert store.add(samples) == len(samples)


FOLLOWERS: dict[str, Callable[[ExitStack], tuple[Any, Account]]] = {
    "mastodon": lambda s: _served(s, MastodonEmulator(), followers=NEGATIVE),
    "linkedin": lambda s: _served(s, LinkedInEmulator(), followers=NEGATIVE),
    "facebook": lambda s: _served(s, FacebookEmulator(), followers=NEGATIVE),
    "instagram": lambda s: _served(s, InstagramEmulator(), followers=NEGATIVE),
    "threads": lambda s: _served(s, ThreadsEmulator(), followers=NEGATIVE),
    "telegram": lambda s: _served(s, TelegramEmulator(), members=NEGATIVE),
}


def _served(stack: ExitStack, emu: Any, **kwargs: Any) -> tuple[Any, Account]:
    stack.enter_context(emu.serve())
    return emu, emu.account(**kwargs)


@pytest.mark.parametrize("name", list(FOLLOWERS))
def test_a_negative_follower_count_is_malformed(name: str) -> None:
    """An account metric answer with a negative count is a MalformedResponse, not a sample."""
    with ExitStack() as stack:
        _emu, account = FOLLOWERS[name](stack)
        with Client(retry=FAST) as client, pytest.raises(MalformedResponse) as caught:
            client.collect_account(account)
    assert caught.value.platform == name


def test_a_negative_bluesky_follower_count_is_malformed() -> None:
    """Bluesky's followersCount below zero is a MalformedResponse too."""
    emu = BlueskyEmulator()
    with emu.serve():
        account = emu.account()
        emu.follow(account.settings["handle"], NEGATIVE)
        with Client(retry=FAST) as client, pytest.raises(MalformedResponse):
            client.collect_account(account)


def test_devto_refuses_an_impossible_count_in_its_article_list() -> None:
    """Forem's article list is read as one answer: a negative count in it is malformed."""
    emu = DevtoEmulator()
    with emu.serve():
        account = emu.account()
        with Client(retry=FAST) as client:
            (d,) = client.publish(Article(title="Hello", body="hello"), account)
            assert d.ok, d.error
            emu.engage(d.parts[0].id, reactions=HUGE)
            with pytest.raises(MalformedResponse):
                client.collect_refs(account, d.parts)


@pytest.mark.parametrize("total", ["-5", "5.0", "9007199254740993", "9" * 5000])
def test_wordpress_refuses_an_impossible_comment_total(total: str) -> None:
    """An ``X-WP-Total`` that is no count from 0 to 2**53 is malformed, not a metric."""
    emu = WordPressEmulator()
    inner = emu.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if request.method == "GET" and request.url.path.endswith("/comments"):
            response.headers["X-WP-Total"] = total
        return response

    account = emu.account()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(http=http, retry=FAST, governor=NullGovernor()) as client:
        (d,) = client.publish(Article(title="Hello", body="hello"), account)
        assert d.ok, d.error
        with pytest.raises(MalformedResponse, match="X-WP-Total"):
            client.collect_refs(account, d.parts)
