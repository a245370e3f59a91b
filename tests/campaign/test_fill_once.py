"""The placeholders are filled in one pass over the announcement's own text: a title or
excerpt that holds a placeholder's name is the article's text, left as it is. They were
replaced one after the other, so an article titled "Why {excerpt} fields matter" was
announced with its excerpt spliced into its title."""

from __future__ import annotations

from brandkit import Account, Post, Variant
from brandkit.campaign import Campaign
from brandkit.content import Article

URL = "https://blog.acme.example/why-excerpt-fields-matter/"
X = Account.x(user_token="x-token")


def test_a_title_holding_a_placeholder_name_is_left_as_it_is() -> None:
    article = Article(title="Why {excerpt} fields matter", body="Body.", excerpt="Short {url}.")
    campaign = Campaign(
        article,
        announce=Post(text="{title}: {excerpt} {url}", variants={"x": Variant(text="{title}")}),
        to=[X],
    )
    post = campaign.announcement(URL)
    assert post.text == f"Why {{excerpt}} fields matter: Short {{url}}. {URL}"
    assert post.variants["x"].text == "Why {excerpt} fields matter"
