"""A long-form article for a blog (WordPress, Ghost, dev.to): title, body, slug, terms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import (
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from brandkit.content._base import ContentModel
from brandkit.content._media import Media
from brandkit.content._model import _check_url, _in_utc
from brandkit.errors import ContentError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "AI_DISCLOSURE_LEVELS",
    "AiDisclosure",
    "Article",
    "ArticleStatus",
    "BodyFormat",
    "slugify",
]

BodyFormat = Literal["markdown", "html"]
ArticleStatus = Literal["draft", "published", "scheduled"]
AiDisclosure = Literal["not_disclosed", "no_ai", "some_ai", "fully_autonomous"]
"""How much of an article AI wrote, in Forem's words (``Article.ai_disclosure_levels``):
``no_ai``, ``some_ai`` (AI helped; a person wrote and checked it), ``fully_autonomous`` (AI
wrote it) or ``not_disclosed``."""
AI_DISCLOSURE_LEVELS: tuple[AiDisclosure, ...] = get_args(AiDisclosure)
"""The values of `AiDisclosure`, in Forem's order."""

# WordPress keeps slugs in a VARCHAR(200) column (wp_posts.post_name); Ghost and Forem take
# less than that is never a problem, more would be cut by WordPress and break the lookup by slug.
_SLUG_MAX = 200
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TITLE_MAX = 1000
_TERM_MAX = 200
_TERMS_MAX = 100


# Latin letters that Unicode does not decompose into a base letter and an accent: NFKD
# leaves them whole and the ASCII encoding dropped them, so "Łódź office" gave
# "odz-office" and "Øresund" "resund". Spelt as WordPress's remove_accents spells them (ß as
# "ss", as German writes it without the letter).
_LATIN = str.maketrans(
    {
        "Æ": "AE", "æ": "ae", "Ð": "D", "ð": "d", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o",
        "Þ": "TH", "þ": "th", "ß": "ss", "ẞ": "SS", "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "k",
        "Ł": "L", "ł": "l", "Ŋ": "N", "ŋ": "n", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t",
        "ſ": "s", "Ƀ": "B", "ƀ": "b", "Ɨ": "I", "ɨ": "i", "Ʉ": "U", "ʉ": "u",
    }
)  # fmt: skip


def slugify(text: str) -> str:
    """The URL slug of ``text``: lowercase ASCII letters and digits joined by hyphens.

    Accents are dropped (``"Café déjà vu"`` gives ``"cafe-deja-vu"``), Latin letters without
    an ASCII base are spelt out (``"Łódź Straße"`` gives ``"lodz-strasse"``, ``"Ærø"``
    ``"aero"``) and the result is cut at a hyphen to at most 200 characters. Returns ``""``
    when ``text`` has no Latin letter or digit (a title in another script needs an explicit
    slug).
    """
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_LATIN))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.replace("'", "")).strip("-")
    if len(slug) > _SLUG_MAX:
        slug = slug[:_SLUG_MAX].rsplit("-", 1)[0] if "-" in slug[:_SLUG_MAX] else slug[:_SLUG_MAX]
    return slug


@cache
def _markdown() -> MarkdownIt:
    # Imported on first use: a program that only posts to social networks never loads it.
    from markdown_it import MarkdownIt

    # CommonMark plus GitHub's tables and strikethrough, which writers of press releases use.
    # Raw HTML stays allowed: the article goes to the user's own blog, whose software (not
    # brandkit) decides what HTML its authors may publish.
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    # A line ending inside a paragraph as a space, which CommonMark allows and browsers show
    # alike: rendered as a line ending, WordPress (wpautop) made each one a <br />, and a
    # paragraph wrapped in its Markdown source showed broken lines on the blog.
    md.add_render_rule("softbreak", _soft_break)
    return md


def _soft_break(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return " "


class _Text(HTMLParser):
    """The text of an HTML fragment, for excerpts and link-card descriptions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("p", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "tr"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    """The plain text of an HTML fragment, whitespace collapsed."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def _terms(value: Any, field: str) -> tuple[str, ...]:
    """Names of tags or categories: spaces collapsed, duplicates (whatever their case) dropped."""
    if value is None:
        return ()
    if isinstance(value, str):
        raise ContentError(
            f"Article.{field} must be a list such as ['news', 'press'], not one string", field=field
        )
    if not isinstance(value, Sequence | set | frozenset):
        raise ContentError(
            f"Article.{field} must be a list of names, got {type(value).__name__}", field=field
        )
    out: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            raise ContentError(
                f"Article.{field} holds {item!r}, which is not a name (a string)", field=field
            )
        name = " ".join(item.split())
        if not name:
            raise ContentError(f"Article.{field} holds an empty name", field=field)
        if len(name) > _TERM_MAX:
            raise ContentError(
                f"Article.{field} name {name[:40]!r}... is {len(name)} characters; "
                f"at most {_TERM_MAX}",
                field=field,
                over_by=len(name) - _TERM_MAX,
            )
        # A blog keeps one term per name whatever its case; sending both would find one twice.
        if name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    if len(out) > _TERMS_MAX:
        raise ContentError(
            f"Article.{field} has {len(out)} names; at most {_TERMS_MAX}",
            field=field,
            over_by=len(out) - _TERMS_MAX,
        )
    return tuple(out)


class Article(ContentModel):
    """A long-form article or press release for a blog. Immutable.

    Publish it like a post: ``client.publish(article, [wordpress])`` returns one
    [`Delivery`][brandkit.Delivery] per account, whose URL is the article's public address.

    Attributes:
        title: the headline (plain text, required).
        body: the article, in Markdown (the default) or HTML, see ``body_format``.
        body_format: ``"markdown"`` (converted to HTML with markdown-it-py: CommonMark plus
            tables and strikethrough) or ``"html"`` (sent as it is).
        excerpt: a short plain-text summary; blogs show it in lists and link cards use it.
        slug: the last part of the article's URL, lowercase letters, digits and hyphens.
            Derived from the title when not given (``"Q3 results!"`` gives ``"q3-results"``).
            After a lost answer brandkit finds the article by its slug instead of
            publishing it twice. Only a slug given moves a live post's address on an
            update; a derived one is left out of the article's dump (``model_dump``,
            ``model_dump_json``, the outbox's copy), so that the article read back derives
            it again and it stays derived.
        tags: tag names (found on the blog or created).
        categories: category names (WordPress; other blogs treat them as tags).
        featured_image: the cover image, a [`Media`][brandkit.Media] with alt text.
        author: the author on the blog: a WordPress user id or login (``None``: the account's
            own user).
        status: ``"published"`` (live now), ``"draft"`` (saved, not public) or
            ``"scheduled"`` (the blog publishes it at ``scheduled_at``). When not given, it is
            ``"scheduled"`` if ``scheduled_at`` is set and ``"published"`` otherwise.
        scheduled_at: when the blog makes a scheduled article public (timezone-aware; kept
            in UTC).
        canonical_url: the original address when the article is a copy (cross-posting).
        kind: ``"post"`` (a dated blog post) or ``"page"`` (a WordPress or Ghost page).
        campaign: the campaign name, for analytics, as on a post.
        ai_disclosure: how much of this article AI wrote (`AiDisclosure`: ``"no_ai"``,
            ``"some_ai"``, ``"fully_autonomous"`` or ``"not_disclosed"``), for a blog that
            asks (dev.to and other Forems with AI disclosure on); over the account's
            ``ai_disclosure_level`` (`Account.devto`). ``None``: the account's. Other blogs
            have no such field and ignore it.

    Raises:
        ContentError: a field is invalid: an empty title, a slug that is not lowercase
            letters, digits and hyphens (or a title without any to derive one from), a
            naive ``scheduled_at``, ``"scheduled"`` without ``scheduled_at``, ... The error
            names the field and says what to fix.
    """

    title: str
    body: str = ""
    body_format: BodyFormat = "markdown"
    excerpt: str | None = None
    slug: str = ""
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    featured_image: Media | None = None
    author: str | None = None
    status: ArticleStatus = "published"
    scheduled_at: datetime | None = None
    canonical_url: str | None = None
    kind: Literal["post", "page"] = "post"
    campaign: str | None = None
    ai_disclosure: AiDisclosure | None = None

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            title: str,
            body: str = "",
            body_format: BodyFormat = "markdown",
            excerpt: str | None = None,
            slug: str | None = None,
            tags: Sequence[str] = (),
            categories: Sequence[str] = (),
            featured_image: Media | None = None,
            author: str | int | None = None,
            status: ArticleStatus | None = None,
            scheduled_at: datetime | None = None,
            canonical_url: str | None = None,
            kind: Literal["post", "page"] = "post",
            campaign: str | None = None,
            ai_disclosure: AiDisclosure | None = None,
        ) -> None: ...

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if values.get("slug") is None:
            values.pop("slug", None)
        if values.get("status") is None:
            values["status"] = (
                "scheduled" if values.get("scheduled_at") is not None else "published"
            )
        author = values.get("author")
        if isinstance(author, int) and not isinstance(author, bool):
            values["author"] = str(author)
        return values

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        title = " ".join(v.split())
        if not title:
            raise ContentError("Article.title is empty: an article needs a headline", field="title")
        if len(title) > _TITLE_MAX:
            raise ContentError(
                f"Article.title is {len(title)} characters; at most {_TITLE_MAX}",
                field="title",
                over_by=len(title) - _TITLE_MAX,
            )
        return title

    @field_validator("excerpt")
    @classmethod
    def _excerpt(cls, v: str | None) -> str | None:
        if v is None:
            return None
        return v.strip() or None

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if v and (len(v) > _SLUG_MAX or not _SLUG.fullmatch(v)):
            raise ContentError(
                f"Article.slug {v[:60]!r} must be lowercase letters, digits and single hyphens "
                f"(at most {_SLUG_MAX} characters), e.g. {slugify(v) or 'q3-results'!r}",
                field="slug",
            )
        return v

    @field_validator("tags", "categories", mode="before")
    @classmethod
    def _names(cls, v: Any, info: Any) -> tuple[str, ...]:
        return _terms(v, str(info.field_name))

    @field_validator("author")
    @classmethod
    def _author(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ContentError(
                "Article.author is empty: give a user id or login, or leave it out",
                field="author",
            )
        return v.strip() if v is not None else None

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        if v.tzinfo is None or v.utcoffset() is None:
            raise ContentError(
                "Article.scheduled_at must be timezone-aware, e.g. datetime(..., tzinfo=UTC)",
                field="scheduled_at",
            )
        return _in_utc(v, "Article.scheduled_at")

    @field_validator("canonical_url")
    @classmethod
    def _canonical(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return _check_url(v, "Article.canonical_url")
        except ContentError as exc:
            # Named as every other field of the article is ("slug", "tags"): the shared
            # check names it "Article.canonical_url", which code mapping errors to fields
            # did not find.
            raise ContentError(str(exc), field="canonical_url") from None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        # The JSON held a slug derived from the title like one given, and the article read
        # back (the outbox stores it so) counted as naming it: an update of a live post then
        # sent it and moved the post's URL. Left out, it is derived again on reading, and
        # a JSON readable by older brandkits (a new key would not be).
        if isinstance(data, dict) and "slug" not in self.model_fields_set:
            data.pop("slug", None)
        if isinstance(data, dict) and data.get("ai_disclosure", "") is None:
            # Not said: left out, so that older brandkits (which forbid unknown keys) still
            # read the outbox's copy of an article that does not use it.
            data.pop("ai_disclosure")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Article:
        if not self.slug:
            derived = slugify(self.title)
            if not derived:
                raise ContentError(
                    f"Article.slug cannot be derived from the title {self.title[:60]!r} (it has "
                    "no Latin letters or digits): give one, e.g. slug='press-release-2026'",
                    field="slug",
                )
            object.__setattr__(self, "slug", derived)
            # Derived, even when given blank: only a slug given names the post's address.
            self.__pydantic_fields_set__.discard("slug")
        if self.status == "scheduled" and self.scheduled_at is None:
            raise ContentError(
                "Article.status is 'scheduled' but scheduled_at is not set: give the time "
                "the blog should publish it",
                field="scheduled_at",
            )
        if self.status == "published" and self.scheduled_at is not None:
            raise ContentError(
                "Article.scheduled_at is set but status is 'published' (live now): use "
                "status='scheduled' (or leave status out) to publish it at that time",
                field="status",
            )
        return self

    @property
    def text(self) -> str:
        """The title: what listings that show a post's text show for an article (the outbox
        CLI, reports)."""
        return self.title

    def for_platform(self, platform: str) -> Article:
        """The article itself: an article has no per-platform variants."""
        return self

    def html(self) -> str:
        """The body as HTML: Markdown converted with markdown-it-py (a line ending inside a
        paragraph becomes a space, which reads the same), HTML returned as it is."""
        if self.body_format == "html":
            return self.body
        return str(_markdown().render(self.body))

    def summary(self, limit: int = 300) -> str:
        """The excerpt, or else the start of the body as plain text, at most ``limit``
        characters (cut at a word, with an ellipsis), for link cards and feeds."""
        text = self.excerpt or html_text(self.html())
        if len(text) <= limit:
            return text
        cut = text[: max(limit - 1, 0)]
        # Drop the last word only when the cut falls inside it.
        if cut and text[len(cut)].isalnum() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        return cut.rstrip(" ,;:.") + "…"

    def __repr__(self) -> str:
        return (
            f"Article(title={self.title!r}, slug={self.slug!r}, status={self.status!r}, "
            f"body={len(self.body)} chars)"
        )

    __str__ = __repr__
