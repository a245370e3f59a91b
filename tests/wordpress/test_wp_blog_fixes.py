"""Against a real WordPress: deletes count as done only on WordPress's own "no such post"
(``rest_post_invalid_id``), a corrected title does not move a published post's URL, and an
update without categories puts the post where a new one without categories goes."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import httpx
import pytest

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import Rejected
from brandkit.platforms.wordpress import WordPressAdapter
from tests.wordpress.test_wp_brandkit import V2, account, stored, term_names, unique
from tests.wordpress.wp_harness import WordPressServer


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """A raw client for reading back what WordPress stored."""
    with wordpress.client() as client:
        yield client


def test_a_post_deleted_elsewhere_counts_as_deleted(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    with Client() as client:
        (d,) = client.publish(
            Article(title="Gone soon", body="x", slug=unique("gone")),
            [account(wordpress, wordpress)],
        )
        gone = http.delete(f"{V2}/posts/{d.parts[0].id}", params={"force": "true"})
        assert gone.status_code == 200
        client.delete(d)
    assert d.status is DeliveryStatus.DELETED


def test_a_route_wordpress_has_not_is_an_error_not_a_deletion(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """WordPress answers a route it has not with 404 ``rest_no_route``: the post is not
    reported deleted (it is still there)."""
    target = account(wordpress, wordpress)
    with Client() as client:
        (d,) = client.publish(Article(title="Still here", body="x", slug=unique("here")), [target])
        adapter = WordPressAdapter(target)
        elsewhere = attrs.evolve(d.parts[0], extra={**d.parts[0].extra, "type": "postz"})
        with pytest.raises(Rejected) as raised:
            client.run(adapter, adapter.delete_article(elsewhere))
    assert raised.value.code == "rest_no_route"
    assert stored(http, d.parts[0].id)["status"] == "publish"


def test_a_corrected_title_keeps_the_published_url(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    word = unique("results")
    target = account(wordpress, wordpress)
    with Client() as client:
        (d,) = client.publish(Article(title=f"Q3 {word}", body="Up 31%."), [target])
        url = d.parts[0].url
        client.update(d, Article(title=f"Q3 {word} (corrected)", body="Up 13%."), target)
    post = stored(http, d.parts[0].id)
    assert post["slug"] == f"q3-{word}"
    assert post["link"] == url == d.parts[0].url


def test_an_update_without_categories_goes_to_the_default_category(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    target = account(wordpress, wordpress)
    article = Article(title="Cats", body="x", slug=unique("cats"), categories=["Press Releases"])
    with Client() as client:
        (d,) = client.publish(article, [target])
        assert term_names(http, "categories", stored(http, d.parts[0].id)["categories"]) == {
            "Press Releases"
        }
        client.update(d, article.model_copy(update={"categories": ()}), target)
    default = http.get(f"{V2}/settings").json()["default_category"]
    assert stored(http, d.parts[0].id)["categories"] == [default]
