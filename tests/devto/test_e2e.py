"""End to end over a real socket: the dev.to adapter's flows driven by brandkit's client
(governor, retries) against the served Forem emulator, its write throttle on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from brandkit import Account, Client, RetryPolicy
from brandkit.content import Article, Media
from brandkit.errors import AuthError, RateLimited, Rejected, TransportError
from brandkit.platforms.devto import DevtoAdapter
from brandkit.testing import LoopbackMediaHost, png
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE


def test_writes_are_paced_to_forems_throttle(emu: DevtoEmulator, client: Client) -> None:
    with LoopbackMediaHost() as host:
        devto = DevtoAdapter(emu.account(media_host=host))
        article = Article(
            title="Launch notes",
            body="We *shipped*.",
            tags=["launch"],
            featured_image=Media.from_bytes(png(), alt="logo"),
        )
        started = time.monotonic()
        ref = client.run(devto, devto.publish_article(article))
        edited = article.model_copy(update={"body": "We shipped **today**."})
        client.run(devto, devto.update_article(ref, edited))
        elapsed = time.monotonic() - started
    # Two writes, one second apart at least; never refused with Rack::Attack's 429 (a
    # refused write would have been sent again: each was sent once).
    assert elapsed >= 0.9
    (stored,) = emu.articles()
    assert stored["body_markdown"] == "We shipped **today**."
    assert stored["url"] == ref.url and stored["cover_image"] is not None
    assert emu.count("POST", CREATE) == 1 and emu.count("PUT") == 1


def test_a_lost_answer_is_found_and_never_sent_twice(emu: DevtoEmulator, client: Client) -> None:
    devto = DevtoAdapter(emu.account())
    article = Article(
        title="Quarterly report", body="Numbers.", canonical_url="https://a.example/q"
    )
    emu.fault(method="POST", path=CREATE, drop="after")
    with pytest.raises(TransportError) as info:
        client.run(devto, devto.publish_article(article))
    assert info.value.maybe_delivered
    found = client.run(devto, devto.find_article(article))
    assert found is not None
    assert emu.count("POST", CREATE) == 1
    assert emu.post_titles() == ["Quarterly report"]
    # Sending it again anyway would be refused by Forem itself, as a duplicate.
    with pytest.raises(Rejected) as again:
        client.run(devto, devto.publish_article(article))
    assert again.value.duplicate
    assert emu.post_titles() == ["Quarterly report"]


def test_a_wrong_api_key_is_an_auth_error(emu: DevtoEmulator, client: Client) -> None:
    devto = DevtoAdapter(Account.devto(api_key="wrong-key-4567", base_url=emu.base_url))
    with pytest.raises(AuthError) as info:
        client.run(devto, devto.publish_article(Article(title="Nope")))
    assert info.value.status_code == 401 and "wrong-key-4567" not in str(info.value)
    assert emu.post_titles() == []


def test_the_creation_limit_is_reported_as_rate_limited(emu: DevtoEmulator) -> None:
    emu.creation_limit = 0  # one live article created in the last 30 seconds is too many
    devto = DevtoAdapter(emu.account())
    # Forem says 30 seconds; this client waits at most 5 for a limit, so it reports it.
    with Client(retry=RetryPolicy(initial=0.01, max_wait=5)) as client:
        client.run(devto, devto.publish_article(Article(title="One")))
        with pytest.raises(RateLimited) as info:
            client.run(devto, devto.publish_article(Article(title="Two")))
    assert info.value.platform_message == "Rate limit reached, try again in 30 seconds"
    assert emu.post_titles() == ["One"]


def test_a_lookup_never_takes_an_article_another_delivery_recorded(
    emu: DevtoEmulator, client: Client
) -> None:
    """Forem refuses a title used in the last five minutes, but a delivery retried later
    (its key older) looks back further: another delivery's article with the same title,
    published since, matched, and was taken for this one (never published). One whose id
    is in ``taken`` (`ThreadContext.taken`: another delivery recorded it) is not."""
    devto = DevtoAdapter(emu.account())
    (other,) = client.publish(Article(title="Weekly update", body="Week 1."), devto.account)
    since = datetime.now(UTC) - timedelta(minutes=1)
    ours = Article(title="Weekly update", body="Week 2.")
    found = client.run(devto, devto.find_article(ours, since=since))
    assert found is not None and found.id == other.ids[0]  # what the lookup took
    taken = frozenset(other.ids)
    assert client.run(devto, devto.find_article(ours, since=since, taken=taken)) is None
