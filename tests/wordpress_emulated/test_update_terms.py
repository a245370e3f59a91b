"""``update_article`` replaces the post: an article updated without the tags it had leaves
the post without them. The update used to send no ``tags`` at all when the article had
none, and WordPress keeps what is not sent, so the old tags stayed on the post."""

from __future__ import annotations

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
