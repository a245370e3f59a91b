"""The check before publishing measures the announcement with a URL never shorter than the
one the blog will give the article, so that an announcement too long for a network is
refused before the article is out (the audit: a LinkedIn announcement that fit with
``https://example.com/<slug>`` failed 12 characters over once the article was live)."""

from __future__ import annotations

import pytest

from brandkit import Client, Post
from brandkit.campaign import Campaign, publish
from brandkit.campaign._model import article_url_bounds
from brandkit.content import Article
from brandkit.content._render import render
from brandkit.errors import ContentError
from brandkit.testing.devto import DevtoEmulator
from brandkit.testing.ghost import GhostEmulator
from brandkit.testing.wordpress import WordPressEmulator
from tests.campaign.conftest import FAST, Site

LINKEDIN_MAX = 3000


def fits_with_example_url(site: Site, article: Article) -> Campaign:
    """A LinkedIn announcement exactly at LinkedIn's limit with the old stand-in
    ``https://example.com/<slug>`` in place of ``{url}``."""
    linkedin = [a for a in site.networks if a.platform == "linkedin"]

    def make(n: int) -> Campaign:
        return Campaign(article, announce=Post(text="x" * n + " {url}"), to=linkedin)

    old = f"https://example.com/{article.slug}"
    length = render(make(100).announcement(old), "linkedin").parts[0].length
    made = make(100 + LINKEDIN_MAX - length)
    assert render(made.announcement(old), "linkedin").parts[0].length == LINKEDIN_MAX
    return made


def test_refused_before_the_article_goes_out(site: Site) -> None:
    """The audit's case: an announcement that fits with ``https://example.com/<slug>`` but
    not with the blog's real address is refused before anything is sent."""
    article = Article(title="Acme opens in Lisbon", body="Acme opens its first office.")
    made = fits_with_example_url(site, article)
    with Client(retry=FAST) as client, pytest.raises(ContentError) as caught:
        publish(client, made, [site.blog_account])
    assert caught.value.platform == "linkedin"
    assert caught.value.over_by is not None and caught.value.over_by > 0
    assert "the longest address the blog may give the article" in str(caught.value)
    assert site.blog.post_texts() == []  # the article did not go out
    assert site.network_posts == 0


def test_the_real_url_would_not_have_fit(site: Site) -> None:
    """The announcement refused above is one that fails once the article is live: the real
    URL makes it longer than LinkedIn takes (so the refusal is not a false alarm)."""
    article = Article(title="Acme opens in Lisbon", body="Acme opens its first office.")
    made = fits_with_example_url(site, article)
    plain = Campaign(article, announce=Post(text="{url}"), to=made.to)
    with Client(retry=FAST) as client:
        (live, _) = publish(client, plain, [site.blog_account])
    assert live.ok and live.url is not None
    with pytest.raises(ContentError) as caught:
        render(made.announcement(live.url), "linkedin")
    assert caught.value.over_by is not None and caught.value.over_by > 0
    (bound,) = article_url_bounds(article, site.blog_account)
    assert len(bound) >= len(live.url)


@pytest.mark.parametrize(
    "permalinks",
    [
        None,
        "/%postname%/",
        "/%year%/%monthnum%/%postname%/",
        "/%year%/%monthnum%/%day%/%postname%/",
        "/index.php/%year%/%monthnum%/%day%/%postname%/",
        "/archives/%post_id%",
    ],
)
def test_wordpress_urls_within_the_bound(permalinks: str | None) -> None:
    """Whatever built-in permalink structure the site uses, and with the slug made unique
    (``-2``), the post's address is no longer than the bound."""
    blog = WordPressEmulator(permalinks=permalinks)
    article = Article(title="Record third quarter", body="Revenue up 31%.")
    with blog.serve(), Client(retry=FAST) as client:
        account = blog.account()
        (bound,) = article_url_bounds(article, account)
        urls = [d.url for d in client.publish(article, [account])]
        urls += [d.url for d in client.publish(article, [account])]
    assert urls[1] != urls[0]  # the second post got another slug (or id)
    for url in urls:
        assert url is not None and len(url) <= len(bound), (url, bound)


def test_ghost_url_within_the_bound() -> None:
    blog = GhostEmulator()
    article = Article(title="Record third quarter", body="Revenue up 31%.")
    with blog.serve(), Client(retry=FAST) as client:
        account = blog.account()
        (bound,) = article_url_bounds(article, account)
        urls = [d.url for d in client.publish(article, [account])]
        urls += [d.url for d in client.publish(article, [account])]
    assert urls[1] != urls[0]
    for url in urls:
        assert url is not None and len(url) <= len(bound), (url, bound)


def test_devto_url_within_the_bound() -> None:
    """dev.to's slug is made from the title plus a random suffix, under the username: the
    bound is made from the title, a non-ASCII character counting as its transliteration."""
    forem = DevtoEmulator()
    article = Article(title="Überraschung in Lisbon: the Q3 results", body="Revenue up 31%.")
    with forem.serve(), Client(retry=FAST) as client:
        account = forem.account()
        (bound,) = article_url_bounds(article, account)
        (delivery,) = client.publish(article, [account])
    assert delivery.ok and delivery.url is not None
    assert len(delivery.url) <= len(bound), (delivery.url, bound)


def test_devto_refused_before_the_article_goes_out(site: Site) -> None:
    """dev.to's address (username, slug and suffix) is longer than the old stand-in: the
    same refusal, before Forem is asked anything."""
    forem = DevtoEmulator()
    article = Article(title="Acme opens in Lisbon", body="Acme opens its first office.")
    made = fits_with_example_url(site, article)
    with forem.serve(), Client(retry=FAST) as client, pytest.raises(ContentError):
        publish(client, made, [forem.account()])
    assert forem.post_titles() == []
    assert site.network_posts == 0
