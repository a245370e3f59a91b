"""brandkit's public API on Ghost over a real socket: ``client.publish(article, [ghost])``,
a lost answer reconciled by the delivery machinery without a second post, a wrong key, update
and delete, and a campaign announcing the article on Mastodon with Ghost's real URL."""

from __future__ import annotations

import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Post
from brandkit.campaign import Campaign
from brandkit.campaign import publish as publish_campaign
from brandkit.content import Article, Media
from brandkit.errors import AuthError, ContentError
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator
from brandkit.testing.mastodon import MastodonEmulator
from tests.ghost.conftest import CREATE, FAST


def test_publish_an_article(emu: GhostEmulator, client: Client) -> None:
    article = Article(
        title="Acme opens in Lisbon",
        body="Our **new** office.",
        excerpt="A new office",
        featured_image=Media.from_bytes(png(), alt="The office"),
    )
    (delivery,) = client.publish(article, emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert delivery.url == f"{emu.base_url}/acme-opens-in-lisbon/"
    stored = emu.post("acme-opens-in-lisbon")
    assert stored["html"] == "<p>Our <strong>new</strong> office.</p>\n"
    assert stored["feature_image_alt"] == "The office"
    assert emu.count("POST", CREATE) == 1


def test_a_post_is_refused_for_a_blog_before_any_request(
    emu: GhostEmulator, client: Client
) -> None:
    with pytest.raises(ContentError):
        client.publish(Post(text="hello"), emu.account())
    assert emu.requests == []


def test_a_lost_answer_is_reconciled_without_a_second_post(
    emu: GhostEmulator, client: Client
) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    (delivery,) = client.publish(Article(title="Results", body="Up."), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert delivery.url == f"{emu.base_url}/results/"
    assert emu.post_titles() == ["Results"]
    assert emu.count("POST", CREATE) == 1


def test_a_wrong_key_fails_the_delivery_with_an_auth_error(
    emu: GhostEmulator, client: Client
) -> None:
    key_id = emu.admin_key.partition(":")[0]
    wrong = Account.ghost(emu.base_url, admin_key=f"{key_id}:{'99' * 32}")
    (delivery,) = client.publish(Article(title="Nope"), wrong)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert "99" * 32 not in str(delivery.error)
    assert emu.post_titles() == []


def test_update_then_delete(emu: GhostEmulator, client: Client) -> None:
    account = emu.account()
    (delivery,) = client.publish(Article(title="Draft idea", status="draft"), account)
    assert delivery.parts[0].extra["status"] == "draft"
    assert delivery.url == f"{emu.base_url}/p/{delivery.parts[0].extra['uuid']}/"
    client.update(delivery, Article(title="Draft idea", body="Now live."), account)
    assert delivery.url == f"{emu.base_url}/draft-idea/"
    assert emu.post("draft-idea")["status"] == "published"
    client.delete(delivery, account)
    assert delivery.status is DeliveryStatus.DELETED
    assert emu.post_titles() == []


def test_a_campaign_announces_ghosts_url_on_mastodon(emu: GhostEmulator, client: Client) -> None:
    masto = MastodonEmulator()
    with masto.serve():
        campaign = Campaign(
            Article(title="Acme 3.0", body="It is here.", excerpt="Faster"),
            announce=Post(text="Acme 3.0 is out: {url}"),
            to=[masto.account()],
        )
        article, announcement = publish_campaign(client, campaign, [emu.account()])
    assert article.status is DeliveryStatus.SENT and announcement.status is DeliveryStatus.SENT
    (text,) = masto.post_texts()
    assert text.startswith(f"Acme 3.0 is out: {emu.base_url}/acme-3-0/?utm_source=mastodon")


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_publishes_and_reconciles(emu: GhostEmulator) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    async with AsyncClient(retry=FAST) as client:
        (delivery,) = await client.publish(Article(title="Async", body="Hi."), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert delivery.url == f"{emu.base_url}/async/"
    assert emu.post_titles() == ["Async"] and emu.count("POST", CREATE) == 1
