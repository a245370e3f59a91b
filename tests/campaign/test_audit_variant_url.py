"""With ``card=False`` a campaign refuses an announcement whose variant for a network has
text of its own without ``{url}`` (and no link of its own): that network's announcement
went out pointing nowhere, while the same mistake in the main text is refused."""

from __future__ import annotations

import pytest

from brandkit import Account, Link, Post, Variant
from brandkit.campaign import Campaign
from brandkit.content import Article
from brandkit.errors import ContentError

X = Account.x(user_token="x-token")
SKY = Account.bluesky(handle="acme.bsky.social", app_password="aaaa-bbbb-cccc-dddd")


def _article() -> Article:
    return Article(title="Acme opens in Lisbon", body="Forty engineers.")


def test_a_variant_without_the_url_is_refused_without_a_card() -> None:
    post = Post(text="We are in Lisbon! {url}", variants={"x": Variant(text="Lisbon!")})
    with pytest.raises(ContentError, match=r"variants\[x\]|\{url\}") as caught:
        Campaign(_article(), announce=post, to=[X, SKY], card=False)
    assert caught.value.field == "announce.variants.x.text"


@pytest.mark.parametrize(
    "variant",
    [
        Variant(text="Lisbon! {url}"),
        Variant(text="Lisbon!", link=Link(url="https://acme.example/lisbon")),
        Variant(hashtags=("lisbon",)),  # the main text, with {url}, goes
    ],
)
def test_a_variant_that_points_at_the_article_is_taken(variant: Variant) -> None:
    post = Post(text="We are in Lisbon! {url}", variants={"x": variant})
    Campaign(_article(), announce=post, to=[X, SKY], card=False)


def test_with_a_card_a_variant_needs_no_url() -> None:
    post = Post(text="We are in Lisbon! {url}", variants={"x": Variant(text="Lisbon!")})
    Campaign(_article(), announce=post, to=[X, SKY])


def test_a_variant_for_a_network_not_announced_on_is_left_alone() -> None:
    post = Post(text="We are in Lisbon! {url}", variants={"threads": Variant(text="Lisbon!")})
    Campaign(_article(), announce=post, to=[X, SKY], card=False)
