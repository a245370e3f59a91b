"""Against a real WordPress: a Markdown paragraph written over several lines reads as one.
Its line endings went into the HTML as they were, and WordPress's ``wpautop`` made each a
``<br />`` on the page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit import Client
from brandkit.content import Article
from tests.wordpress.test_wp_brandkit import V2, account, unique
from tests.wordpress.wp_harness import WordPressServer


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """A raw client for reading back what WordPress shows."""
    with wordpress.client() as client:
        yield client


def test_a_wrapped_markdown_paragraph_shows_as_one(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    body = "From June on, 40 people work\nat Acme Berlin.\n\n- an item that wraps\n  onward\n"
    with Client() as client:
        (d,) = client.publish(
            Article(title="Wrapped", body=body, slug=unique("wrapped")),
            account(wordpress, wordpress),
        )
    assert d.ok, d.error
    shown = http.get(f"{V2}/posts/{d.parts[0].id}").json()["content"]["rendered"]
    assert "<br" not in shown
    assert "40 people work at Acme Berlin." in shown
    assert "<li>an item that wraps onward</li>" in shown


def test_a_wrapped_html_paragraph_shows_as_one(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """HTML as Word's "Save as HTML" writes it: paragraphs wrapped over lines."""
    body = (
        "<p class=MsoNormal>From June on, 40 people work\nat Acme Berlin.</p>\n"
        "<p>Signed,<br>\nThe team</p>\n<pre>keep\nthese</pre>"
    )
    with Client() as client:
        (d,) = client.publish(
            Article(title="Wrapped HTML", body=body, body_format="html", slug=unique("html")),
            account(wordpress, wordpress),
        )
    assert d.ok, d.error
    shown = http.get(f"{V2}/posts/{d.parts[0].id}").json()["content"]["rendered"]
    assert "40 people work at Acme Berlin.</p>" in shown
    assert shown.count("<br />") == 1
    assert "<pre>keep\nthese</pre>" in shown
