"""What the user means to say: a post, its media, its link, its per-platform variants."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from brandkit.content._base import ContentModel
from brandkit.content._media import Media
from brandkit.errors import ContentError

__all__ = ["PLATFORM_NAMES", "Link", "Post", "Variant"]

PLATFORM_NAMES = (
    "x",
    "mastodon",
    "bluesky",
    "linkedin",
    "facebook",
    "instagram",
    "threads",
    "telegram",
)


def _check_url(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ContentError(
            f"{field} must be an absolute http(s) URL such as https://example.com/page, "
            f"got {url!r}",
            field=field,
        )
    return url


class Link(ContentModel):
    """A link to show as a card (Bluesky external embed, LinkedIn article, Facebook link).

    Attributes:
        url: absolute http(s) URL.
        title: the card's title; platforms that build cards themselves may ignore it.
        description: the card's text.
        thumbnail: an image for the card.
    """

    url: str
    title: str | None = None
    description: str | None = None
    thumbnail: Media | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, "link.url")


def _tags(v: Any) -> Any:
    if isinstance(v, str):
        raise ContentError(
            "hashtags must be a list such as ['launch', 'brandkit'], not one string",
            field="hashtags",
        )
    if v is None:
        return ()
    out = []
    for tag in v:
        t = str(tag).strip().lstrip("#＃")
        if not t or any(c.isspace() for c in t):
            raise ContentError(f"hashtag {tag!r} must be one word without spaces", field="hashtags")
        out.append(t)
    return tuple(out)


class Variant(ContentModel):
    """Overrides for one platform: every field that is set replaces the post's own.

    Example: ``Post(text="Long text", variants={"x": Variant(text="Short text")})``.
    """

    text: str | None = None
    media: tuple[Media, ...] | None = None
    link: Link | None = None
    hashtags: tuple[str, ...] | None = None
    language: str | None = None
    content_warning: str | None = None
    options: dict[str, Any] | None = None

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, v: Any) -> Any:
        return None if v is None else _tags(v)


class Post(ContentModel):
    """A post to publish on one or more platforms. Immutable.

    Attributes:
        text: the body. May be long: on platforms with threads it is split into parts.
        media: images, one GIF or one video, each with alt text.
        link: a link card.
        hashtags: tags appended to the text as ``#tag`` (without the ``#`` here).
        language: ISO 639-1 code such as ``"en"``.
        content_warning: shown before the text (Mastodon spoiler text, Bluesky label-less).
        campaign: the campaign name; used for UTM tags and for analytics.
        utm: add UTM parameters to links (``utm_source=<platform>``, ``utm_medium=social``,
            ``utm_campaign=<campaign>``); existing query parameters are kept.
        scheduled_at: when to publish (timezone-aware); ``None`` means now.
        variants: per-platform overrides, keyed by platform name.
        options: platform options, e.g. ``{"visibility": "unlisted"}`` for Mastodon.

    Raises:
        ContentError: a field is invalid; the error names the field and what to fix.
    """

    text: str = ""
    media: tuple[Media, ...] = ()
    link: Link | None = None
    hashtags: tuple[str, ...] = ()
    language: str | None = None
    content_warning: str | None = None
    campaign: str | None = None
    utm: bool = True
    scheduled_at: datetime | None = None
    variants: dict[str, Variant] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, v: Any) -> Any:
        return _tags(v)

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and not (2 <= len(v.split("-")[0]) <= 3 and v.replace("-", "").isalpha()):
            raise ContentError(
                f"language must be an ISO 639 code such as 'en' or 'pt-BR', got {v!r}",
                field="language",
            )
        return v

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ContentError(
                "scheduled_at must be timezone-aware, e.g. datetime(..., tzinfo=UTC)",
                field="scheduled_at",
            )
        return v

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: dict[str, Variant]) -> dict[str, Variant]:
        for name in v:
            if name not in PLATFORM_NAMES and "." not in name and not name.isidentifier():
                raise ContentError(
                    f"variants key {name!r} is not a platform name "
                    f"(built-in: {', '.join(PLATFORM_NAMES)})",
                    field="variants",
                )
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> Post:
        if not self.text.strip() and not self.media and self.link is None:
            raise ContentError(
                "a post needs text, media or a link: all three are empty", field="text"
            )
        return self

    def for_platform(self, platform: str) -> Post:
        """The post as it is for ``platform``: that platform's variant applied, if any."""
        variant = self.variants.get(platform)
        if variant is None:
            return self
        update: dict[str, Any] = {
            k: v for k, v in variant.model_dump(exclude_none=True).items() if k != "options"
        }
        # model_dump turns Media into dicts; keep the objects themselves.
        if variant.media is not None:
            update["media"] = variant.media
        if variant.link is not None:
            update["link"] = variant.link
        if variant.options:
            update["options"] = {**self.options, **variant.options}
        return self.model_copy(update=update)
