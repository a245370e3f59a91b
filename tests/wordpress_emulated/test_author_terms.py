"""An Author publishing an article in a category the site does not have is told what to do.
WordPress lets only Editors and Administrators create categories (an Author may create
tags): its 403 became an AuthError that said "check the user and the application password;
WordPress treats a wrong one as no login at all", though the password was right. The
error now names the category and the ways out; the emulator refuses as WordPress does."""

from __future__ import annotations

import httpx

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.errors import AuthError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_an_author_is_told_the_category_is_missing() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.add_user("press", role="author")
        author = emu.account(user="press")
        article = Article(title="Q3 results", body="Up.", categories=["Press releases"])
        (d,) = client.publish(article, author)
        assert isinstance(d.error, AuthError), d.error
        message = str(d.error)
        assert "'press' may not create the category 'Press releases'" in message
        assert "create it on the site or name one it has" in message
        assert "application password" not in message
        assert d.error.status_code == 403
        assert emu.post_texts() == []
        # Once the category exists, the author publishes in it; new tags are theirs to make.
        client.publish(
            Article(title="Seed", body="x", categories=["Press releases"]), emu.account()
        )
        again = article.model_copy(update={"tags": ["Earnings"]})
        (d,) = client.publish(again, author)
        assert d.error is None


def test_the_emulator_refuses_as_wordpress_does() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        emu.add_user("press", role="author")
        author = emu.account(user="press")
        auth = (author.settings["user"], author.secret("app_password") or "")
        with httpx.Client(base_url=f"{emu.base_url}/wp-json/wp/v2", auth=auth) as http:
            refused = http.post("/categories", json={"name": "Press"})
            assert refused.status_code == 403
            assert refused.json()["code"] == "rest_cannot_create"
            assert http.post("/tags", json={"name": "Earnings"}).status_code == 201
