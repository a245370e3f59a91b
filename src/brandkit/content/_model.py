"""What the user means to say: a post, its media, its link, its per-platform variants."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from os import PathLike
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from brandkit._names import PLATFORM_ALIASES, did_you_mean
from brandkit.content._base import _MAX_DEPTH, ContentModel
from brandkit.content._media import Media
from brandkit.errors import ConfigurationError, ContentError, MediaError

__all__ = [
    "ACCOUNT_PLATFORMS",
    "BLOG_NAMES",
    "COMMON_OPTIONS",
    "PLATFORM_NAMES",
    "PLATFORM_OPTIONS",
    "Link",
    "Post",
    "Utm",
    "Variant",
]

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

BLOG_NAMES = ("wordpress", "ghost", "devto")
"""The blogs: their accounts take a `brandkit.content.Article`, not a post."""

ACCOUNT_PLATFORMS: tuple[str, ...] = (*PLATFORM_NAMES, *BLOG_NAMES)
"""Every platform an account can be made for: the social networks and the blogs."""

COMMON_OPTIONS: frozenset[str] = frozenset({"thread_numbering"})
"""``Post.options`` that rendering itself reads, for every platform."""

PLATFORM_OPTIONS: Mapping[str, frozenset[str]] = {
    "x": frozenset({"reply_settings", "quote_tweet_id"}),
    "mastodon": frozenset({"visibility", "sensitive"}),
    "bluesky": frozenset(),
    "linkedin": frozenset({"visibility", "reshare_disabled", "video_title"}),
    "facebook": frozenset(),
    "instagram": frozenset(),
    "threads": frozenset(),
    "telegram": frozenset(
        {"disable_notification", "protect_content", "message_thread_id", "link_preview"}
    ),
}
"""The ``Post.options`` each built-in adapter reads (see each adapter's docstring); an option
no platform knows is refused, so a typo never posts with the default silently. A third-party
adapter declares its own as a ``post_options`` class attribute (a set of names); without one,
its options go in its variant (``variants={"name": Variant(options=...)}``)."""

_BUILT_IN_OPTIONS: frozenset[str] = COMMON_OPTIONS.union(*PLATFORM_OPTIONS.values())


def _platforms() -> list[str]:
    # Imported here: brandkit.platforms imports the content model's users, not the other way.
    from brandkit.platforms import available

    return available()


def _declared_options(platform: str) -> frozenset[str] | None:
    """The options ``platform`` reads: built-in ones from `PLATFORM_OPTIONS`, a
    third-party adapter's from its ``post_options`` class attribute (``None``: undeclared)."""
    if platform in PLATFORM_OPTIONS:
        return PLATFORM_OPTIONS[platform]
    from brandkit.platforms import adapter_class

    try:
        declared = getattr(adapter_class(platform), "post_options", None)
    except ConfigurationError:
        return None
    return frozenset(declared) if declared is not None else None


def _check_options(options: Mapping[str, Any], platform: str | None, field: str) -> None:
    """Refuse options that the platform (or, for ``platform=None``, every platform) ignores.

    A third-party platform that declares no ``post_options`` takes any option in its own
    variant; post-level options must be read by some platform that declares them.
    """
    if platform is not None:
        declared = _declared_options(platform)
        if declared is None:
            return
        known = sorted(COMMON_OPTIONS | declared)
        where = platform
    else:
        if all(key in _BUILT_IN_OPTIONS for key in options):
            # The common case answers without importing a third-party adapter (or, as
            # every stored post is checked again when an outbox loads it, a dozen modules
            # in each worker).
            return
        # Blogs take articles, never a post: their adapters are not asked.
        posting = (p for p in _platforms() if p not in BLOG_NAMES)
        extra = [d for d in map(_declared_options, posting) if d]
        known = sorted(_BUILT_IN_OPTIONS.union(*extra))
        where = "any platform"
    for key in options:
        if key not in known:
            raise ContentError(
                f"{field}: {key!r} is not an option of {where}"
                f"{did_you_mean(key, known)}; known: {', '.join(known) or 'none'}",
                field=f"{field}.{key}",
            )


def _check_json(value: Any, field: str, depth: int = 0) -> None:
    """Refuse an option value that JSON cannot carry as it is: options are stored with the
    post (an outbox keeps it as JSON), so an object would fail there and ``nan``, ``inf``,
    bytes or a set would come back as something else."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
        problem = f"{value!r}, a number JSON cannot carry"
    elif depth >= _MAX_DEPTH:
        problem = f"a value nested more than {_MAX_DEPTH} levels"
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{field}[{i}]", depth + 1)
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                problem = f"a table with a key that is not text ({type(key).__name__})"
                break
            _check_json(item, f"{field}.{key}", depth + 1)
        else:
            return
    else:
        problem = f"a {type(value).__name__}"
    raise ContentError(
        f"{field}: an option's value must be JSON (text, a finite number, true or false, "
        f"None, or lists and dicts of them), got {problem}",
        field=field,
    )


def _check_common(options: Mapping[str, Any]) -> None:
    """Refuse a `COMMON_OPTIONS` value of the wrong type: render reads ``thread_numbering``
    as a flag, and ``bool("false")`` is true (``None`` is unset: no numbering)."""
    value = options.get("thread_numbering")
    if value is not None and not isinstance(value, bool):
        raise ContentError(
            f"options.thread_numbering must be True or False (or None), got {value!r:.40}",
            field="options.thread_numbering",
        )


def _check_url(url: str, field: str) -> str:
    shown = repr(url) if len(url) <= 200 else f"{url[:150]!r}… ({len(url):,} characters)"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        # urlsplit drops tabs and line breaks (and leading spaces) before it looks: the
        # URL would pass here and go to the platform as written.
        raise ContentError(
            f"{field} holds whitespace or a control character (a line break?): write the "
            f"URL alone, with spaces as %20, got {shown}",
            field=field,
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": a "[" without its "]"
        raise ContentError(
            f"{field} has an unbalanced bracket where the host goes: write an IPv6 host as "
            f"[2001:db8::1], got {shown}",
            field=field,
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ContentError(
            f"{field} must be an absolute http(s) URL such as https://example.com/page, "
            f"got {shown}",
            field=field,
        )
    # urlsplit takes a netloc without a host ("https://:443/") and any port; both are read
    # only when asked for, so a URL no platform can open passed.
    if not parts.hostname:
        raise ContentError(
            f"{field} names no host: write it as https://example.com/page, got {shown}",
            field=field,
        )
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        raise ContentError(
            f"{field} has a port that is not a number from 0 to 65535: fix or remove it "
            f"(https://example.com:8443/page), got {shown}",
            field=field,
        ) from None
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


class Utm(ContentModel):
    """UTM parameters for a post's links: ``Post(utm=Utm(medium="paid"))``.

    ``Post(utm=True)`` is ``Utm()``: ``utm_source=<platform>``, ``utm_medium=social`` and
    ``utm_campaign=<post.campaign>``. Parameters a link already has are kept, and links of
    known URL shorteners (bit.ly, t.co, ...) are never tagged.

    Attributes:
        source: ``utm_source``; ``None`` means the platform's name.
        medium: ``utm_medium``.
        campaign: ``utm_campaign``; ``None`` means the post's ``campaign`` (none if unset).
        term: ``utm_term``, if any.
        content: ``utm_content``, if any.
    """

    source: str | None = None
    medium: str = "social"
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


def _tags(v: Any) -> Any:
    if isinstance(v, str):
        raise ContentError(
            "hashtags must be a list such as ['launch', 'brandkit'], not one string",
            field="hashtags",
        )
    if v is None:
        return ()
    out = []
    for i, tag in enumerate(v):
        if not isinstance(tag, str):
            # str() would make "#None" of a missing value, "#2026" of a number.
            shown = "None" if tag is None else f"{type(tag).__name__} {tag!r:.40}"
            raise ContentError(
                f"hashtags[{i}] is {shown}, not text: give each hashtag as text such as 'launch'",
                field=f"hashtags[{i}]",
            )
        t = tag.strip().lstrip("#＃")
        if not t or any(c.isspace() for c in t):
            raise ContentError(f"hashtag {tag!r} must be one word without spaces", field="hashtags")
        out.append(t)
    return tuple(out)


def _how_to_make(value: Any) -> str | None:
    """How to make `Media` of a path or bytes given where media go (None: neither)."""
    if isinstance(value, str | PathLike):
        return f"Media.from_path({str(value)[:200]!r}, alt=...)"
    if isinstance(value, bytes | bytearray | memoryview):
        return "Media.from_bytes(data, alt=...)"
    return None


def _media_items(v: Any) -> Any:
    """Refuse a path or bytes given as media (or among them), saying how to make `Media` of
    it: pydantic's own error ("a valid dictionary or instance of Media") says nothing of it."""
    hint = _how_to_make(v)
    if hint is not None:
        raise MediaError(
            f"media must be a list of Media, not {type(v).__name__}: give [{hint}]",
            field="media",
        )
    if isinstance(v, list | tuple):
        for i, item in enumerate(v):
            hint = _how_to_make(item)
            if hint is not None:
                raise MediaError(
                    f"media[{i}] is {type(item).__name__}, not Media: give {hint}",
                    field=f"media[{i}]",
                )
    return v


# A BCP 47 tag's shape: an ISO 639 code, then subtags of ASCII letters and digits ("pt-BR",
# "zh-Hant-TW", "es-419"); at most 35 characters (RFC 5646, 4.4.1).
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*")


def _in_utc(v: datetime, name: str) -> datetime:
    """``v`` (aware) in UTC.

    Raises:
        ContentError: it has no UTC equivalent (the last hours of year 9999 west of UTC,
            the first of year 1 east of it): the stores and the platforms keep UTC times,
            and the conversion raised a bare OverflowError later.
    """
    try:
        return v.astimezone(UTC)
    except OverflowError:
        raise ContentError(
            f"{name} {v.isoformat()} is out of range: give a time between years 1 and 9999 in UTC",
            field="scheduled_at",
        ) from None


def _check_language(v: str | None) -> str | None:
    if v is not None and (len(v) > 35 or not _LANGUAGE.fullmatch(v)):
        raise ContentError(
            f"language must be an ISO 639 code such as 'en' or 'pt-BR', got {v[:40]!r}",
            field="language",
        )
    return v


class Variant(ContentModel):
    """Overrides for one platform: every field that is set replaces the post's own.

    Example: ``Post(text="Long text", variants={"x": Variant(text="Short text")})``.
    ``utm`` turns UTM tagging on or off (or sets other values) for this platform only;
    ``options`` are merged over the post's and must be options that platform reads.
    """

    text: str | None = None
    media: tuple[Media, ...] | None = None
    link: Link | None = None
    hashtags: tuple[str, ...] | None = None
    language: str | None = None
    content_warning: str | None = None
    utm: bool | Utm | None = None
    options: dict[str, Any] | None = None

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, v: Any) -> Any:
        return None if v is None else _tags(v)

    @field_validator("media", mode="before")
    @classmethod
    def _media(cls, v: Any) -> Any:
        return _media_items(v)

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        return _check_language(v)

    @field_validator("options")
    @classmethod
    def _options(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, value in (v or {}).items():
            _check_json(value, f"options.{key}")
        _check_common(v or {})
        return v


class Post(ContentModel):
    """A post to publish on one or more platforms. Immutable.

    Attributes:
        text: the body. May be long: on platforms with threads it is split into parts.
        media: images, one GIF or one video, each with alt text.
        link: a link card.
        hashtags: tags appended to the text as ``#tag`` (without the ``#`` here). Each must
            be one whole tag where it goes: `render` refuses ``"launch-day"`` on X (a ``-``
            ends the tag there; write ``"launch_day"``) and digits alone.
        language: ISO 639-1 code such as ``"en"``.
        content_warning: shown before the text (Mastodon spoiler text, Bluesky label-less).
        campaign: the campaign name; used for analytics and, when ``utm`` is on, UTM tags.
        utm: UTM tagging of links, off by default. ``True`` adds ``utm_source=<platform>``,
            ``utm_medium=social`` and ``utm_campaign=<campaign>``; a `Utm` (or a dict
            of its fields) sets other values. Existing query parameters are kept and links
            of known URL shorteners are never tagged.
        scheduled_at: when to publish (timezone-aware); ``None`` means now.
        variants: per-platform overrides, keyed by platform name.
        options: platform options, e.g. ``{"visibility": "unlisted"}`` for Mastodon (see
            `PLATFORM_OPTIONS`); an option no platform reads is refused.

    The text may be given positionally: ``Post("Hello")`` is ``Post(text="Hello")``.

    Raises:
        ContentError: a field is invalid (an unknown variant platform or option is named
            with the closest known one); the error names the field and what to fix.
    """

    text: str = ""
    media: tuple[Media, ...] = ()
    link: Link | None = None
    hashtags: tuple[str, ...] = ()
    language: str | None = None
    content_warning: str | None = None
    campaign: str | None = None
    utm: bool | Utm = False
    scheduled_at: datetime | None = None
    variants: dict[str, Variant] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    if TYPE_CHECKING:
        # The signature type checkers see; the runtime one below also takes the text
        # positionally. tests/core/test_model.py checks that both name the same fields.
        def __init__(
            self,
            text: str = "",
            *,
            media: Sequence[Media] = (),
            link: Link | None = None,
            hashtags: Sequence[str] = (),
            language: str | None = None,
            content_warning: str | None = None,
            campaign: str | None = None,
            utm: bool | Utm | Mapping[str, str] = False,
            scheduled_at: datetime | None = None,
            variants: Mapping[str, Variant] | None = None,
            options: Mapping[str, Any] | None = None,
        ) -> None: ...

    else:

        def __init__(self, *args: Any, **data: Any) -> None:
            if len(args) > 1:
                raise ContentError(
                    f"Post takes only the text positionally, got {len(args)} arguments: "
                    "pass the others by name, e.g. Post('Hello', media=[...])",
                    field="text",
                )
            if args:
                if "text" in data:
                    raise ContentError(
                        "Post got the text twice (positionally and as text=)", field="text"
                    )
                data["text"] = args[0]
            for key in ("variants", "options"):
                if data.get(key) is None:
                    data.pop(key, None)
            super().__init__(**data)

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, v: Any) -> Any:
        return _tags(v)

    @field_validator("media", mode="before")
    @classmethod
    def _media(cls, v: Any) -> Any:
        return _media_items(v)

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        return _check_language(v)

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ContentError(
                "scheduled_at must be timezone-aware, e.g. datetime(..., tzinfo=UTC)",
                field="scheduled_at",
            )
        if v is not None:
            _in_utc(v, "scheduled_at")
        return v

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: dict[str, Variant]) -> dict[str, Variant]:
        known = PLATFORM_NAMES if all(name in PLATFORM_NAMES for name in v) else _platforms()
        for name, variant in v.items():
            if name not in known:
                raise ContentError(
                    f"variants key {name!r} is not a platform"
                    f"{did_you_mean(name, known, PLATFORM_ALIASES)}; "
                    f"platforms: {', '.join(sorted(known))}",
                    field=f"variants.{name}",
                )
            if variant.options:
                _check_options(variant.options, name, f"variants.{name}.options")
        return v

    @field_validator("options")
    @classmethod
    def _options(cls, v: dict[str, Any]) -> dict[str, Any]:
        _check_options(v, None, "options")
        for key, value in v.items():
            _check_json(value, f"options.{key}")
        _check_common(v)
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> Post:
        if not self.text.strip() and not self.media and self.link is None:
            raise ContentError(
                "a post needs text, media or a link: all three are empty", field="text"
            )
        return self

    def for_platform(self, platform: str, *, check: bool = False) -> Post:
        """The post as it is for ``platform``: that platform's variant applied, if any.

        Args:
            platform: the platform's name.
            check: refuse a variant that leaves nothing to send (rendering checks; readers
                of posts already stored do not, so that an old post still reads).

        Raises:
            ContentError: with ``check``, the variant leaves the post without text, media or
                link; ``field`` names the variant's field that emptied it.
        """
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
        if variant.utm is not None:
            update["utm"] = variant.utm
        if variant.options:
            update["options"] = {**self.options, **variant.options}
        # model_copy runs no validator: the post's own emptiness check does not see this.
        effective = self.model_copy(update=update)
        if check and not effective.text.strip() and not effective.media and effective.link is None:
            field = "text" if variant.text is not None else "media"
            raise ContentError(
                f"variants.{platform}.{field} leaves the post for {platform} without text, "
                f"media or a link: give the variant some text, or leave {field} out of the "
                "variant to use the post's own",
                field=f"variants.{platform}.{field}",
                platform=platform,
            )
        return effective


def check_answer(post: object) -> None:
    """Refuse, before anything is looked up or sent, an answer that is not a `Post`
    (`Client.reply`, `Inbox.reply`).

    Raises:
        ConfigurationError: ``post`` is text or anything else (it met the adapters as an
            AttributeError).
    """
    if not isinstance(post, Post):
        example = f"Post(text={post!r:.60})" if isinstance(post, str) else "Post(text=...)"
        raise ConfigurationError(
            f"the answer is a {type(post).__name__}, not a Post: give {example}"
        )
