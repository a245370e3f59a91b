"""``update_article`` replaces the post: an article updated without the tags it had leaves
the post without them. The update used to send no ``tags`` at all when the article had
none, and WordPress keeps what is not sent, so the old tags stayed on the post."""

from __future__ import annotations

import logging

import httpx
import pytest

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def tag_names(emu: WordPressEmulator, post_id: str) -> list[str]:
    names = {t["id"]: t["name"] for t in emu.terms("post_tag")}
    return [names[i] for i in emu.item(post_id)["tags"]]


def test_an_update_without_tags_removes_them() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", tags=["finance", "q3"])
        (d,) = client.publish(article, emu.account())
        post_id = d.parts[0].id
        assert sorted(tag_names(emu, post_id)) == ["finance", "q3"]

        client.update(d, article.model_copy(update={"tags": ()}))
        assert tag_names(emu, post_id) == []


def test_an_update_with_other_tags_replaces_them() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", tags=["finance", "q3"])
        (d,) = client.publish(article, emu.account())
        client.update(d, article.model_copy(update={"tags": ("results",)}))
        assert tag_names(emu, d.parts[0].id) == ["results"]


def category_names(emu: WordPressEmulator, post_id: str) -> list[str]:
    names = {t["id"]: t["name"] for t in emu.terms("category")}
    return [names[i] for i in emu.item(post_id)["categories"]]


def test_an_update_without_categories_puts_the_post_in_the_default_category() -> None:
    """The article replaces the post, as its tags do: updated without categories it is
    where a new post without categories goes, the site's default category (read from
    ``/wp/v2/settings``). It used to keep the old ones ("Press" stayed after the article
    dropped it). WordPress itself would leave a post sent ``categories: []`` in none."""
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", categories=["Press"])
        (d,) = client.publish(article, emu.account())
        assert category_names(emu, d.parts[0].id) == ["Press"]
        client.update(d, article.model_copy(update={"categories": ()}))
        assert category_names(emu, d.parts[0].id) == ["Uncategorized"]


def test_an_authors_update_without_categories_keeps_them_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An author may not read the site's settings (403): the default category is not
    known, so the post keeps its categories, with a WARNING saying why."""
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.add_user("press", role="author")
        admin = emu.account()
        # The author may not create categories: the administrator makes "Press".
        client.publish(Article(title="Seed", body="x", categories=["Press"]), admin)
        article = Article(title="Q3 results", body="Up 31%.", categories=["Press"])
        (d,) = client.publish(article, emu.account(user="press"))
        with caplog.at_level(logging.WARNING, logger="brandkit.platforms.wordpress"):
            client.update(d, article.model_copy(update={"categories": ()}))
        assert category_names(emu, d.parts[0].id) == ["Press"]
        assert "categories" in caplog.text and "default category" in caplog.text


def test_the_emulator_refuses_the_settings_to_an_author() -> None:
    """Real WordPress 6.1: ``GET /wp/v2/settings`` needs ``manage_options``; an author gets
    403 ``rest_forbidden`` "Sorry, you are not allowed to do that."."""
    emu = WordPressEmulator()
    with emu.serve():
        emu.add_user("press", role="author")
        acct = emu.account(user="press")
        auth = (acct.settings["user"], acct.secret("app_password") or "")
        answer = httpx.get(f"{emu.base_url}/wp-json/wp/v2/settings", auth=auth)
    assert answer.status_code == 403
    assert answer.json()["code"] == "rest_forbidden"
