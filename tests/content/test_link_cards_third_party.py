"""A third-party adapter declares its own link-card rules on its capabilities: render puts
the URL in the text exactly where they refuse a card, and `Adapter.link_card` hands the
adapter the card exactly where they allow one, over real loopback HTTP."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from brandkit import Account, Client, Link, Media, Post, RetryPolicy, render
from brandkit._flow import Flow, Send
from brandkit.content import Rendered, RenderedPart
from brandkit.platforms import (
    Adapter,
    Capabilities,
    LinkCardRules,
    PartRef,
    ThreadContext,
    register,
)
from brandkit.testing import Emulator, png, route

NAME = "cardnet"
TOKEN = "cardnet-s3cret-7d1e"
URL = "https://example.com/launch"
FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10)


class CardNetAdapter(Adapter):
    """A platform whose cards need a title but may sit beside media (unlike the built-ins)."""

    name: ClassVar[str] = NAME
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform=NAME,
        text_rules="mastodon",
        text_options={"max_characters": 500},
        link_cards=True,
        link_card_rules=LinkCardRules(needs_title=True),
    )

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        card = self.link_card(rendered, part, thread)
        body: dict[str, Any] = {
            "text": part.text,
            "media": len(part.media),
            "card": None if card is None else {"url": card.url, "title": card.title},
        }
        request = httpx.Request(
            "POST",
            f"{self.account.base_url}/posts",
            json=body,
            headers={"authorization": f"Bearer {self.account.secret('token')}"},
        )
        response = yield Send(request, creates=True, bucket="post")
        data = self.check(response).json()
        return PartRef(index=part.index, id=data["id"])

    def delete_part(self, ref: PartRef) -> Flow[None]:
        raise NotImplementedError
        yield  # pragma: no cover


register(NAME, CardNetAdapter, replace=True)


class CardNetEmulator(Emulator):
    """Stores each post as the adapter sent it."""

    platform: ClassVar[str] = NAME
    create_route: ClassVar[tuple[str, str]] = ("POST", "/posts")

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []

    @route("POST", "/posts")
    def create(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return self.error(401, "the access token is invalid")
        post = {"id": str(len(self.posts) + 1), **json.loads(request.content)}
        self.posts.append(post)
        return self.json(post)

    def post_texts(self) -> list[str]:
        return [p["text"] for p in self.posts]

    def account(self, *, name: str | None = None, **kwargs: Any) -> Account:
        return Account(NAME, name=name, base_url=self.base_url, secrets={"token": TOKEN})


def _image() -> Media:
    return Media.from_bytes(png(8, 8), alt="logo")


def test_render_reads_the_adapters_own_rules() -> None:
    """No title: the URL goes in the text with a warning; a titled card beside media goes."""
    untitled = render(Post(text="Up", link=Link(url=URL)), NAME)
    assert untitled.parts[0].text == f"Up\n\n{URL}"
    (warning,) = untitled.warnings
    assert "Link.title" in warning and URL in warning
    beside = render(Post(text="Up", link=Link(url=URL, title="Launch"), media=[_image()]), NAME)
    assert beside.parts[0].text == "Up" and beside.warnings == ()


def test_the_adapter_sends_the_card_where_its_rules_let_it() -> None:
    """End to end: the card reaches the platform beside an image; without a title the URL
    reaches the text and no card is sent."""
    emu = CardNetEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        titled = Post(text="Up", link=Link(url=URL, title="Launch"), media=[_image()])
        (first,) = client.publish(titled, [account])
        (second,) = client.publish(Post(text="Up", link=Link(url=URL)), [account])
    assert first.ok and second.ok, (first.error, second.error)
    card, plain = emu.posts
    assert (card["text"], card["media"], card["card"]) == (
        "Up",
        1,
        {"url": URL, "title": "Launch"},
    )
    assert (plain["text"], plain["card"]) == (f"Up\n\n{URL}", None)
