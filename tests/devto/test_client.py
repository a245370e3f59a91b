"""brandkit's public API on dev.to over a real socket: ``client.publish(article, [devto])``,
a lost answer reconciled without a second article, a wrong key, update, and delete refused."""

from __future__ import annotations

import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import AuthError, Unsupported
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE, FAST


def test_publish_an_article(emu: DevtoEmulator, client: Client) -> None:
    article = Article(title="Hello DEV", body="First *post*.", tags=["Intro", "Python"])
    (delivery,) = client.publish(article, emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (stored,) = emu.articles()
    assert delivery.url == stored["url"] and stored["url"].startswith(
        f"{emu.base_url}/acme/hello-dev-"
    )
    assert stored["tags"] == ["intro", "python"]
    assert stored["body_markdown"] == "First *post*."


def test_a_lost_answer_is_reconciled_without_a_second_article(
    emu: DevtoEmulator, client: Client
) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    (delivery,) = client.publish(Article(title="Results", body="Up."), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert emu.post_titles() == ["Results"]
    assert emu.count("POST", CREATE) == 1
    (stored,) = emu.articles()
    assert delivery.url == stored["url"]


def test_a_wrong_key_fails_the_delivery(emu: DevtoEmulator, client: Client) -> None:
    wrong = Account.devto(api_key="bad-key-000111", base_url=emu.base_url)
    (delivery,) = client.publish(Article(title="Nope"), wrong)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert "bad-key-000111" not in str(delivery.error)


def test_update_and_no_delete(emu: DevtoEmulator, client: Client) -> None:
    account = emu.account()
    (delivery,) = client.publish(Article(title="V1", body="one"), account)
    url = delivery.url
    client.update(delivery, Article(title="V1", body="two"), account)
    assert delivery.url == url and emu.post_texts() == ["two"]
    with pytest.raises(Unsupported):
        client.delete(delivery, account)
    assert emu.post_titles() == ["V1"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_publishes_and_reconciles(emu: DevtoEmulator) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    async with AsyncClient(retry=FAST) as client:
        (delivery,) = await client.publish(Article(title="Async", body="Hi."), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert emu.post_titles() == ["Async"] and emu.count("POST", CREATE) == 1
