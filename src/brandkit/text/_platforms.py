"""The platform table and the public measuring API: count, limit, measure, check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from brandkit._names import PLATFORM_ALIASES, did_you_mean
from brandkit.errors import ConfigurationError, ContentError
from brandkit.text._counts import (
    INSTAGRAM_HASHTAG,
    INSTAGRAM_MENTION,
    instagram_tags,
    threads_length,
    unique_links,
)
from brandkit.text._data import twitter_config_names
from brandkit.text._graphemes import grapheme_len, require_text, utf8_len, utf16_len
from brandkit.text._mastodon import status_length
from brandkit.text._urls import urls_at_most
from brandkit.text._x import weighted_length, x_limit

PLATFORMS: tuple[str, ...] = (
    "x",
    "mastodon",
    "bluesky",
    "linkedin",
    "facebook",
    "instagram",
    "threads",
    "telegram",
)
"""The platforms the text engine knows."""

BLUESKY_MAX_BYTES = 3000
THREADS_MAX_LINKS = 5
INSTAGRAM_MAX_MENTIONS = 20
X_INVALID_CHARS = ("\ufffe", "\ufeff", "\uffff")
# Named one by one: three counts in C, where a sum over a generator costs as much again.
_X_INVALID_1, _X_INVALID_2, _X_INVALID_3 = X_INVALID_CHARS


def x_refused(text: str) -> int:
    """How many characters of ``text`` X refuses (`X_INVALID_CHARS`)."""
    return text.count(_X_INVALID_1) + text.count(_X_INVALID_2) + text.count(_X_INVALID_3)


def x_refused_problem(text: str, field: str) -> tuple[str, int] | None:
    """The sentence (and over_by: how many) for the characters of ``text`` X refuses, naming
    the first and where it is; None when there are none. No split mends this."""
    bad = x_refused(text)
    if not bad:
        return None
    first = min(at for at in map(text.find, X_INVALID_CHARS) if at >= 0)
    return (
        f"{field} has {_plural(bad, 'character')} X refuses (U+FFFE, U+FEFF or U+FFFF; the "
        f"first, U+{ord(text[first]):04X} at position {first}): remove "
        f"{'it' if bad == 1 else 'them'}",
        bad,
    )


@attrs.frozen
class Measure:
    """How a text measures on one platform, and every rule it breaks.

    Attributes:
        platform: the platform's name.
        length: the length in the platform's own unit (what `count` returns).
        limit: the main limit in that unit.
        unit: the unit, e.g. ``"weighted characters"``, ``"graphemes"``.
        over_by: how far ``length`` is over ``limit``; 0 when it fits.
        fits: every rule of the platform passes (length and the others below).
        problems: one sentence per broken rule, saying what to fix and by how much
            (length, Bluesky's UTF-8 byte limit, Instagram's hashtag and mention caps,
            Threads' link cap, characters X refuses).
        byte_length: the UTF-8 length, for information.
    """

    platform: str
    length: int
    limit: int
    unit: str
    over_by: int
    fits: bool
    problems: tuple[str, ...]
    byte_length: int


# What a thread-capable platform can do with a long text.
_SPLIT_ADVICE = "shorten it or let brandkit split it into a thread"


@attrs.frozen
class _Platform:
    unit: str
    defaults: Mapping[str, Any]
    length: Callable[[str, Mapping[str, Any]], int]
    limit: Callable[[Mapping[str, Any]], int]
    advice: str = "shorten it"


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"text option {name} must be a positive integer, not {value!r}")


def _check_x(options: Mapping[str, Any]) -> None:
    if options["config"] not in twitter_config_names():
        known = ", ".join(twitter_config_names())
        raise ConfigurationError(
            f"text option config must be one of {known}, not {options['config']!r}"
        )
    if options["max_length"] is not None:
        _positive_int("max_length", options["max_length"])


def _check_mastodon(options: Mapping[str, Any]) -> None:
    _positive_int("max_characters", options["max_characters"])
    reserved = options["characters_reserved_per_url"]
    if isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0:
        raise ConfigurationError(
            f"text option characters_reserved_per_url must be an integer >= 0, not {reserved!r}"
        )
    if not isinstance(options["spoiler_text"], str):
        raise ConfigurationError("text option spoiler_text must be a string")


def _check_telegram(options: Mapping[str, Any]) -> None:
    if not isinstance(options["caption"], bool):
        raise ConfigurationError(
            f"text option caption must be True or False, not {options['caption']!r}"
        )


def _check_instagram(options: Mapping[str, Any]) -> None:
    _positive_int("max_hashtags", options["max_hashtags"])


def _check_linkedin(options: Mapping[str, Any]) -> None:
    if not isinstance(options["comment"], bool):
        raise ConfigurationError(
            f"text option comment must be True or False, not {options['comment']!r}"
        )


_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "x": _check_x,
    "mastodon": _check_mastodon,
    "telegram": _check_telegram,
    "instagram": _check_instagram,
    "linkedin": _check_linkedin,
}

LINKEDIN_MAX_COMMENT = 1250
"""The longest LinkedIn comment: the figure LinkedIn's own comment box and third-party tools
give (the Comments API documents none); the ``commentary`` of a post takes 3,000."""

_TABLE: dict[str, _Platform] = {
    "x": _Platform(
        unit="weighted characters",
        defaults={"config": "v3", "max_length": None},
        length=lambda text, o: weighted_length(text, o["config"]),
        limit=lambda o: o["max_length"] or x_limit(o["config"]),
        advice=_SPLIT_ADVICE,
    ),
    "mastodon": _Platform(
        unit="characters",
        defaults={"max_characters": 500, "characters_reserved_per_url": 23, "spoiler_text": ""},
        length=lambda text, o: status_length(
            text,
            spoiler_text=o["spoiler_text"],
            characters_reserved_per_url=o["characters_reserved_per_url"],
        ),
        limit=lambda o: o["max_characters"],
        advice=_SPLIT_ADVICE,
    ),
    "bluesky": _Platform(
        unit="graphemes",
        defaults={},
        length=lambda text, o: grapheme_len(text),
        limit=lambda o: 300,
        advice=_SPLIT_ADVICE,
    ),
    "linkedin": _Platform(
        unit="characters",
        defaults={"comment": False},
        length=lambda text, o: len(text),
        limit=lambda o: LINKEDIN_MAX_COMMENT if o["comment"] else 3000,
    ),
    "facebook": _Platform(
        unit="characters",
        defaults={},
        length=lambda text, o: len(text),
        limit=lambda o: 63206,
    ),
    "instagram": _Platform(
        unit="characters",
        defaults={"max_hashtags": 5},
        length=lambda text, o: len(text),
        limit=lambda o: 2200,
    ),
    "threads": _Platform(
        unit="characters",
        defaults={},
        length=lambda text, o: threads_length(text),
        limit=lambda o: 500,
        advice=_SPLIT_ADVICE,
    ),
    "telegram": _Platform(
        unit="UTF-16 code units",
        defaults={"caption": False},
        length=lambda text, o: utf16_len(text),
        limit=lambda o: 1024 if o["caption"] else 4096,
        # Telegram has no threads: render never splits a text into several messages.
        advice="shorten it",
    ),
}


def resolve(platform: str, options: Mapping[str, Any]) -> tuple[_Platform, dict[str, Any]]:
    """The platform's rules and its options with defaults filled in.

    Raises:
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
    """
    spec = _TABLE.get(platform) if isinstance(platform, str) else None
    if spec is None:
        hint = (
            did_you_mean(platform, PLATFORMS, PLATFORM_ALIASES) if isinstance(platform, str) else ""
        )
        raise ConfigurationError(
            f"unknown platform {platform!r}{hint}: the text engine knows {', '.join(PLATFORMS)}"
        )
    unknown = sorted(set(options) - set(spec.defaults))
    if unknown:
        known = ", ".join(sorted(spec.defaults)) or "none"
        raise ConfigurationError(
            f"unknown text option {', '.join(unknown)} for {platform}; it takes: {known}"
        )
    merged = {**spec.defaults, **options}
    check = _CHECKS.get(platform)
    if check is not None:
        check(merged)
    return spec, merged


_RESOLVED_DEFAULTS: dict[str, tuple[_Platform, Mapping[str, Any]]] = {}


def resolved(platform: str, options: Mapping[str, Any]) -> tuple[_Platform, Mapping[str, Any]]:
    """`resolve`, with the defaults of a platform resolved and checked once, not on every
    call without options (the mapping given back is then read-only and shared).

    Raises:
        ConfigurationError: as `resolve`.
    """
    if not options and isinstance(platform, str):
        found = _RESOLVED_DEFAULTS.get(platform)
        if found is None:
            spec, merged = resolve(platform, options)
            found = _RESOLVED_DEFAULTS[platform] = (spec, MappingProxyType(merged))
        return found
    return resolve(platform, options)


def count(text: str, platform: str, **options: Any) -> int:
    """The length of ``text`` as ``platform`` measures it.

    * ``x``: twitter-text weighted length (NFC; URLs 23; emoji 2; CJK 2; Latin 1). Options:
      ``config`` (``"v3"``, ``"v2"``, ``"v1"``), ``max_length`` (the limit, for Premium).
    * ``mastodon``: grapheme clusters of ``spoiler_text`` + the text with URLs counted as
      ``characters_reserved_per_url`` and ``@user@domain`` as ``@user``. Options:
      ``max_characters`` (500), ``characters_reserved_per_url`` (23), ``spoiler_text`` ("").
    * ``bluesky``: grapheme clusters (the 3000-byte limit is checked by `measure`).
    * ``threads``: code points, each emoji counting its UTF-8 bytes.
    * ``telegram``: UTF-16 code units. Option: ``caption`` (False).
    * ``linkedin``, ``facebook``, ``instagram``: code points. LinkedIn option: ``comment``
      (False; a comment's limit is 1,250, a post's 3,000). Instagram option:
      ``max_hashtags`` (5).

    Raises:
        ConfigurationError: unknown platform (the message names the known ones), unknown
            option, or an option of the wrong type.
        ContentError: ``text`` is not a str.
    """
    require_text(text)
    if not options and isinstance(platform, str):
        # The defaults are resolved and checked once per platform, not on every call.
        found = _RESOLVED_DEFAULTS.get(platform)
        if found is not None:
            return found[0].length(text, found[1])
    spec, merged = resolved(platform, options)
    return spec.length(text, merged)


def limit(platform: str, **options: Any) -> int:
    """The main limit of ``platform`` in `count`'s unit, with options applied.

    ``mastodon`` reads ``max_characters``, ``telegram`` ``caption`` (1024 instead of 4096),
    ``linkedin`` ``comment`` (1250 instead of 3000), ``x`` ``max_length`` (a Premium
    account's limit; else the config's 280).

    Raises:
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
    """
    spec, merged = resolved(platform, options)
    return spec.limit(merged)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _problems(
    text: str,
    platform: str,
    spec: _Platform,
    merged: Mapping[str, Any],
    length: int,
    field: str,
    *,
    links: int | None = None,
    cap: int | None = None,
) -> list[tuple[str, int]]:
    """Each broken rule as (sentence, over_by); ``links``: Threads' number of different links
    in ``text`` when already known; ``cap``: the platform's limit, when already known."""
    found: list[tuple[str, int]] = []
    if cap is None:
        cap = spec.limit(merged)
    if length > cap:
        advice = spec.advice
        if platform == "mastodon" and merged["spoiler_text"]:
            advice = advice.replace("shorten it", "shorten it or its content warning,")
        elif platform == "telegram" and merged["caption"]:
            advice = "shorten it, or post the text without media (a text message takes up to 4096)"
        found.append(
            (
                f"{field} is {length} {spec.unit} on {platform}, {length - cap} over the limit "
                f"of {cap}: {advice}",
                length - cap,
            )
        )
    if platform == "bluesky":
        size = utf8_len(text)
        if size > BLUESKY_MAX_BYTES:
            over = size - BLUESKY_MAX_BYTES
            found.append(
                (
                    f"{field} is {size} bytes in UTF-8 on bluesky, {over} over the limit of "
                    f"{BLUESKY_MAX_BYTES}: {spec.advice}",
                    over,
                )
            )
    elif platform == "x":
        refused = x_refused_problem(text, field)
        if refused is not None:
            found.append(refused)
    elif platform == "threads":
        if links is None and not urls_at_most(text, THREADS_MAX_LINKS):
            links = len(unique_links(text))
        # Unknown links are at most the cap: the text has too few domains for more.
        if links is not None and links > THREADS_MAX_LINKS:
            over = links - THREADS_MAX_LINKS
            found.append(
                (
                    f"{field} has {links} different links on threads, {over} over the limit of "
                    f"{THREADS_MAX_LINKS}: remove {_plural(over, 'link')} or let brandkit split "
                    "it into a thread",
                    over,
                )
            )
    elif platform == "instagram":
        tags = instagram_tags(INSTAGRAM_HASHTAG, text)
        max_tags = merged["max_hashtags"]
        if tags > max_tags:
            over = tags - max_tags
            found.append(
                (
                    f"{field} has {tags} hashtags on instagram, {over} over the limit of "
                    f"{max_tags}: remove {_plural(over, 'hashtag')}",
                    over,
                )
            )
        mentions = instagram_tags(INSTAGRAM_MENTION, text)
        if mentions > INSTAGRAM_MAX_MENTIONS:
            over = mentions - INSTAGRAM_MAX_MENTIONS
            found.append(
                (
                    f"{field} has {mentions} mentions on instagram, {over} over the limit of "
                    f"{INSTAGRAM_MAX_MENTIONS}: remove {_plural(over, 'mention')}",
                    over,
                )
            )
    return found


def _measure(
    text: str, platform: str, options: Mapping[str, Any], field: str
) -> tuple[Measure, list[tuple[str, int]]]:
    require_text(text)
    spec, merged = resolve(platform, options)
    length = spec.length(text, merged)
    problems = _problems(text, platform, spec, merged, length, field)
    return _result(text, platform, spec, merged, length, problems), problems


def _result(
    text: str,
    platform: str,
    spec: _Platform,
    merged: Mapping[str, Any],
    length: int,
    problems: list[tuple[str, int]],
) -> Measure:
    """The `Measure` of ``text`` whose length and broken rules are known."""
    cap = spec.limit(merged)
    return Measure(
        platform=platform,
        length=length,
        limit=cap,
        unit=spec.unit,
        over_by=max(0, length - cap),
        fits=not problems,
        problems=tuple(p for p, _ in problems),
        byte_length=utf8_len(text),
    )


def measure(text: str, platform: str, **options: Any) -> Measure:
    """Measure ``text`` on ``platform``: length, limit, unit, and every rule it breaks.

    Empty text is not a problem here (whether a post may be empty is the post's business).
    Options are those of `count`.

    Raises:
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
        ContentError: ``text`` is not a str.
    """
    return _measure(text, platform, options, "text")[0]


def check(text: str, platform: str, *, field: str = "text", **options: Any) -> Measure:
    """Return ``text``'s [`Measure`][brandkit.text.Measure] on ``platform`` if it fits, else raise.

    Raises:
        ContentError: a rule is broken. The message names ``field`` and says what to fix and
            by how much (every broken rule, joined by ``"; "``); ``field``, ``platform`` and
            ``over_by`` (of the first broken rule: the length when that is over) are set.
            Also when ``text`` is not a str.
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
    """
    result, problems = _measure(text, platform, options, field)
    if problems:
        raise ContentError(
            "; ".join(p for p, _ in problems),
            field=field,
            platform=platform,
            over_by=problems[0][1],
        )
    return result
