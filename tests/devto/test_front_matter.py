"""Forem reads a body that starts with ``---`` as front matter (``ContentRenderer``, the
front_matter_parser gem: leading whitespace, ``---``, anything, ``---`` at a line's end): a
YAML mapping there sets the article's title, tags, published state, description, canonical
URL and cover, and is cut from the text; anything else (a rule, a line of text, a rule)
makes Forem refuse the article or fail. brandkit's Markdown body means what it means in
Markdown, and its title, tags and status are the Article's own: a body Forem would read so
is sent with an HTML comment before it, which Forem drops from the page."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.platforms.devto import forem_body
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE, FAST

FRONT = "---\ntitle: Something else\ntags: spam, eggs\npublished: false\n---\n\nHello *all*."
RULES = "---\nA line between rules\n---\n\nHello."


def post(emu: DevtoEmulator, **article: object) -> httpx.Response:
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        return http.post(
            "/api/articles", json={"article": article}, headers={"api-key": emu.api_key}
        )


def test_the_emulator_reads_front_matter_as_forem_does() -> None:
    emu = DevtoEmulator(write_throttle=False)
    r = post(emu, title="Launch", body_markdown=FRONT, published=True, tags=["news"])
    assert r.status_code == 201, r.text
    shown = r.json()
    assert shown["title"] == "Something else"
    assert shown["tags"] == ["spam", "eggs"]
    assert shown["published_at"] is None  # published: false in the front matter
    assert shown["body_markdown"] == FRONT  # stored as sent
    assert "title:" not in shown["body_html"] and "<em>all</em>" in shown["body_html"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (RULES, 500),  # YAML reads a String: Forem calls #any? on it (NoMethodError)
        ("---\n---\nHello.", 500),  # nothing between: YAML nil
        ("---\ntitle: A\nJust text\n---\nHello.", 422),  # YAML's own syntax error
    ],
)
def test_the_emulator_refuses_front_matter_that_is_no_mapping(body: str, status: int) -> None:
    emu = DevtoEmulator(write_throttle=False)
    r = post(emu, title="Launch", body_markdown=body, published=True)
    assert r.status_code == status, r.text
    assert emu.post_titles() == []


def test_a_body_without_front_matter_is_sent_as_it_is() -> None:
    for body in ("Hello.\n\n---\n\nMore.\n\n---\n", "Text --- and --- more", ""):
        assert forem_body(body) == body


@pytest.mark.parametrize("body", [FRONT, RULES, "  \n---\ntitle: x\n---\n", "----\nx\n----\n"])
def test_forem_reads_no_front_matter_in_what_brandkit_sends(body: str) -> None:
    emu = DevtoEmulator(write_throttle=False)
    r = post(emu, title="Launch", body_markdown=forem_body(body), published=True)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Launch"


def test_an_article_whose_body_starts_with_front_matter_keeps_its_own_fields() -> None:
    emu = DevtoEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Launch", body=FRONT, tags=["news"])
        (d,) = client.publish(article, emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        (shown,) = emu.articles()
    assert shown["title"] == "Launch"
    assert shown["tags"] == ["news"]
    assert shown["published_at"] is not None
    # The reader sees the body as Markdown shows it: the rules and the text between.
    assert "title: Something else" in shown["body_html"]


def test_a_body_between_rules_is_published_not_refused() -> None:
    emu = DevtoEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Rules", body=RULES), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        assert emu.post_titles() == ["Rules"]


def test_a_lost_draft_with_such_a_body_is_found_not_sent_again() -> None:
    emu = DevtoEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.fault(method="POST", path=CREATE, drop="after")
        (d,) = client.publish(Article(title="Draft", body=RULES, status="draft"), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        assert emu.count("POST", CREATE) == 1
        assert emu.post_titles() == ["Draft"]
