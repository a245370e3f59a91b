"""Whether an article names its slug survives its JSON (the outbox's and the campaign's
copies): a derived slug was dumped like a given one and read back as named, and a slug
given blank (derived from the title) counted as named too."""

from __future__ import annotations

import json

from brandkit.content import Article
from brandkit.platforms._base import names_slug


def test_a_derived_slug_is_left_out_of_the_json_and_derived_again() -> None:
    article = Article(title="Q3 results!", body="Up.")
    assert "slug" not in json.loads(article.model_dump_json())
    again = Article.model_validate_json(article.model_dump_json())
    assert again == article and again.slug == "q3-results"
    assert not names_slug(again)


def test_a_named_slug_is_kept_in_the_json_and_stays_named() -> None:
    article = Article(title="Q3 results!", body="Up.", slug="q3-results")
    assert json.loads(article.model_dump_json())["slug"] == "q3-results"
    assert names_slug(Article.model_validate_json(article.model_dump_json()))


def test_a_slug_given_blank_is_derived_and_not_named() -> None:
    article = Article(title="Q3 results!", body="Up.", slug="")
    assert article.slug == "q3-results" and not names_slug(article)


def test_a_copy_given_a_slug_names_it() -> None:
    article = Article(title="Q3 results!", body="Up.").model_copy(update={"slug": "q3"})
    assert names_slug(Article.model_validate_json(article.model_dump_json()))
