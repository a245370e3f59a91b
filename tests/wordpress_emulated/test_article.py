"""brandkit.Article: the long-form content model (slug, body conversion, status, errors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandkit.content import Article, Media, slugify
from brandkit.errors import ContentError, MediaError
from brandkit.testing._images import png


def test_slug_is_derived_from_the_title() -> None:
    """Without a slug the title gives one: accents dropped, punctuation turned into hyphens."""
    assert Article(title="Q3 results: Café déjà vu!").slug == "q3-results-cafe-deja-vu"
    assert Article(title="Brand's launch", slug=None).slug == "brands-launch"
    assert Article(title="Anything", slug="my-own-slug").slug == "my-own-slug"


def test_slugify_cuts_long_titles_at_a_hyphen() -> None:
    """A slug never passes WordPress's 200-character column and never ends in a hyphen."""
    slug = slugify("word " * 100)
    assert len(slug) <= 200
    assert not slug.endswith("-")
    assert slugify("日本語") == ""


@pytest.mark.parametrize("bad", ["Upper", "two  words", "-lead", "trail-", "a--b", "x" * 201])
def test_bad_slug_is_refused_with_a_suggestion(bad: str) -> None:
    """A slug that a blog would rewrite is refused, so the lookup by slug finds the article."""
    with pytest.raises(ContentError) as info:
        Article(title="T", slug=bad)
    assert info.value.field == "slug"
    assert "lowercase letters" in str(info.value)


def test_title_in_another_script_needs_an_explicit_slug() -> None:
    """No Latin letter in the title: the error says to give a slug."""
    with pytest.raises(ContentError, match="give one") as info:
        Article(title="日本語のお知らせ")
    assert info.value.field == "slug"
    assert Article(title="日本語のお知らせ", slug="news-ja").slug == "news-ja"


def test_markdown_body_is_converted_to_html() -> None:
    """Markdown goes through markdown-it-py with tables; HTML bodies are kept as they are."""
    article = Article(title="T", body="# Head\n\n*em* ~~old~~\n\n|a|b|\n|-|-|\n|1|2|\n")
    out = article.html()
    assert "<h1>Head</h1>" in out
    assert "<em>em</em>" in out
    assert "<s>old</s>" in out
    assert "<td>1</td>" in out
    raw = "<p>Already <b>HTML</b> *not markdown*</p>"
    assert Article(title="T", body=raw, body_format="html").html() == raw


def test_summary_prefers_the_excerpt_then_the_body_text() -> None:
    """Link cards get the excerpt, or else the body's text without tags, cut at a word."""
    assert Article(title="T", body="text", excerpt="  Short.  ").summary() == "Short."
    article = Article(title="T", body="Hello **big** world, and more words here")
    assert article.summary() == "Hello big world, and more words here"
    assert article.summary(16) == "Hello big world…"


def test_status_follows_scheduled_at() -> None:
    """scheduled_at alone means scheduled; it is kept in UTC; draft is explicit."""
    at = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    article = Article(title="T", scheduled_at=at)
    assert article.status == "scheduled"
    assert article.scheduled_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert article.scheduled_at is not None and article.scheduled_at.tzinfo is UTC
    assert Article(title="T").status == "published"
    assert Article(title="T", status="draft").status == "draft"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "T", "status": "scheduled"}, "scheduled_at"),
        ({"title": "T", "scheduled_at": datetime(2030, 1, 1)}, "scheduled_at"),
        ({"title": "T", "status": "published", "scheduled_at": datetime.now(UTC)}, "status"),
        ({"title": "T", "status": "live"}, "status"),
        ({"title": "T", "body_format": "rst"}, "body_format"),
        ({"title": "T", "tags": "news"}, "tags"),
        ({"title": "T", "categories": ["ok", ""]}, "categories"),
        ({"title": "T", "canonical_url": "ftp://example.com/x"}, "canonical_url"),
        ({"title": "T", "author": " "}, "author"),
        ({"title": "T", "subtitle": "x"}, "subtitle"),
    ],
)
def test_bad_input_is_a_content_error_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    """Every bad field raises ContentError (never pydantic's error) with the field named."""
    with pytest.raises(ContentError) as info:
        Article(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_terms_are_deduplicated_whatever_their_case() -> None:
    """A blog keeps one term per name; 'News' and 'news' are sent once."""
    article = Article(title="T", tags=["News", "news", " press   release "], categories=["PR"])
    assert article.tags == ("News", "press release")
    assert article.categories == ("PR",)


def test_featured_image_is_media_and_the_article_round_trips_json() -> None:
    """The outbox stores articles as JSON: the image and every field come back equal."""
    image = Media.from_bytes(png(4, 3), alt="The team")
    article = Article(
        title="Launch",
        body="Body",
        featured_image=image,
        tags=["a"],
        author=7,
        scheduled_at=datetime(2031, 5, 1, tzinfo=UTC),
        canonical_url="https://example.com/launch",
        kind="page",
    )
    assert article.author == "7"
    again = Article.model_validate_json(article.model_dump_json())
    assert again == article
    assert again.featured_image is not None and again.featured_image.alt == "The team"


def test_featured_image_that_is_not_an_image_is_a_media_error() -> None:
    """A featured image of unknown bytes is refused before anything is sent."""
    with pytest.raises(MediaError):
        Article(title="T", featured_image=Media.from_bytes(b"not an image"))


def test_repr_does_not_dump_the_body() -> None:
    """A long body stays out of logs: the repr gives its length."""
    text = repr(Article(title="T", body="secret draft " * 100))
    assert "secret draft" not in text
    assert "1300 chars" in text
