"""``update_article`` replaces the article: one updated without the excerpt, canonical URL
or cover image it had leaves Forem without them. The update used to send none of these
when the article had none, and Forem keeps what is not sent: a cross-post made an original
(its canonical URL removed) still pointed search engines at the other site."""

from __future__ import annotations

from brandkit import Account, Client
from brandkit.content import Article, Media
from brandkit.testing import LoopbackMediaHost, png
from brandkit.testing.devto import DevtoEmulator


def test_an_update_without_them_removes_excerpt_canonical_url_and_cover(
    emu: DevtoEmulator, client: Client
) -> None:
    with LoopbackMediaHost() as host:
        account: Account = emu.account(media_host=host)
        article = Article(
            title="Q3 results",
            body="Revenue grew by a third in the third quarter.",
            excerpt="Our best quarter yet.",
            canonical_url="https://blog.example.com/q3-results",
            featured_image=Media(data=png(), mime_type="image/png", alt="Chart"),
        )
        (d,) = client.publish(article, account)
        assert d.ok, d.error
        (stored,) = emu.articles()
        assert stored["description"] == "Our best quarter yet."
        assert stored["canonical_url"] == "https://blog.example.com/q3-results"
        assert stored["cover_image"] is not None

        emu.clock.advance(2)  # one write a second
        plain = article.model_copy(
            update={"excerpt": None, "canonical_url": None, "featured_image": None}
        )
        client.update(d, plain)
    (stored,) = emu.articles()
    # Forem makes the description of the body again when it is blank.
    assert stored["description"] != "Our best quarter yet."
    assert stored["description"].startswith("Revenue grew")
    # Without a canonical URL of its own, Forem gives the article's own address.
    assert stored["canonical_url"] == stored["url"]
    assert stored["cover_image"] is None


def test_an_update_keeps_what_the_article_still_has(emu: DevtoEmulator, client: Client) -> None:
    article = Article(
        title="Q3 results",
        body="Up.",
        excerpt="Our best quarter yet.",
        canonical_url="https://blog.example.com/q3-results",
    )
    (d,) = client.publish(article, emu.account())
    emu.clock.advance(2)
    client.update(d, article.model_copy(update={"body": "Up 31%."}))
    (stored,) = emu.articles()
    assert stored["description"] == "Our best quarter yet."
    assert stored["canonical_url"] == "https://blog.example.com/q3-results"
