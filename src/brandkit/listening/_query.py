"""``Query``: what to listen for, in one shape that each platform compiles to its own
syntax (its adapter's `compile_query`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import partial
from typing import Any

import attrs
import regex
from pydantic import ValidationInfo, field_validator, model_validator

from brandkit.content._base import ContentModel
from brandkit.errors import ConfigurationError, ContentError, Unsupported
from brandkit.inbox._model import Message

__all__ = ["Query", "SearchPage", "UnsupportedQuery"]

_SPACE = re.compile(r"\s")
# Set while a saved query is read back (`saved_query`). A validation context would not do:
# a model with its own ``__init__`` (ContentModel's) is validated again through it, without.
_reading_saved: ContextVar[bool] = ContextVar("_reading_saved", default=False)
_WORDISH = re.compile(r"\w")
_NO_WORD = (
    "{!r} has no word to match (a letter, a digit or an emoji): punctuation alone is not "
    "searched; leave it out, or write the word it stands for"
)


class UnsupportedQuery(Unsupported):
    """A platform cannot express part of a query (a phrase on Instagram's hashtag search,
    an exclusion on Threads). Raised before any request.

    Attributes:
        feature: what it cannot express (``"phrases"``, ``"exclude"``, ``"languages"``...).
    """

    def __init__(self, message: str, *, platform: str | None = None, feature: str = "") -> None:
        super().__init__(message, platform=platform, operation="search")
        self.feature = feature


class Query(ContentModel):
    """A saved search: posts that match every condition given.

    ```python
    Query(any=["brandkit", "brand kit"], hashtags=["brandkit"], exclude=["job"],
          languages=["en", "id"])
    ```

    Attributes:
        any: at least one of these words (or word groups) appears.
        all: every one of these words appears.
        phrases: each of these exact phrases appears.
        hashtags: at least one of these hashtags (without ``#``) is used.
        handles: posts that mention one of these accounts (without ``@``).
        exclude: none of these words appears.
        languages: the post is in one of these languages (BCP 47 codes, ``"en"``, any case;
            ``"zh"`` covers ``"zh-TW"``).
        since: posts written at or after this time (aware).
        until: posts written before this time (aware).

    A term's words are what it matches: its punctuation is not part of it, as the
    platforms' searches read it (``"Yahoo!"`` is the word ``yahoo``, ``"C++"`` the word
    ``c``); an emoji is a word.

    Raises:
        ContentError: no positive condition (only ``exclude``/``languages``), an empty
            term, a term, hashtag or handle with no word to match (punctuation alone,
            such as ``"!!"``), a hashtag or handle with spaces, a naive time, or ``since``
            after ``until``.
    """

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("any", "all", "phrases", "exclude", "languages", mode="after")
    @classmethod
    def _terms(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        out = tuple(" ".join(v.split()) for v in value)
        if any(not v for v in out):
            raise ValueError("an empty term matches nothing: leave it out")
        if info.field_name != "languages" and not _reading_saved.get():
            for v in out:
                # Its words are what a term matches (`matches`, and the platforms' search):
                # punctuation alone would match no post (``any``, ``all``, ``phrases``)
                # or exclude none (``exclude``), while each platform was searched for it.
                if not _words(v):
                    raise ValueError(_NO_WORD.format(v))
        return out

    @field_validator("hashtags", "handles", mode="after")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(v.strip().lstrip("#@") for v in value)
        for v in out:
            if not v or _SPACE.search(v):
                raise ValueError(f"{v!r} is not a hashtag or handle (no spaces, not empty)")
            # A tag or handle is letters, digits, underscores or an emoji (``#🍕``).
            if not _WORDISH.search(v) and not _words(v) and not _reading_saved.get():
                raise ValueError(_NO_WORD.format(v))
        return out

    @field_validator("since", "until", mode="after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give an aware datetime (UTC)")
        return value

    @model_validator(mode="after")
    def _something(self) -> Query:
        if not (self.any or self.all or self.phrases or self.hashtags or self.handles):
            raise ContentError(
                "a query needs something to find: any=, all=, phrases=, hashtags= or "
                "handles= (exclude= and languages= only narrow it)",
                field="query",
            )
        if self.since and self.until and self.since >= self.until:
            raise ContentError("since must be before until", field="since")
        return self

    def terms(self) -> list[str]:
        """Every positive word, phrase, hashtag (with ``#``) and handle (with ``@``)."""
        return [
            *self.any,
            *self.all,
            *self.phrases,
            *(f"#{h}" for h in self.hashtags),
            *(f"@{h}" for h in self.handles),
        ]

    def matches(
        self,
        text: str,
        *,
        language: str | None = None,
        author: str = "",
        at: datetime | None = None,
        tagged: Callable[[str], bool] | None = None,
    ) -> bool:
        """Whether a post meets the query: words and phrases match whole words (an emoji
        is a word, and so is each Chinese character and kana, and each Thai, Lao, Khmer or
        Burmese letter with its marks; a word keeps its combining marks, and ``İ`` is the
        capital of ``i``), case-insensitively,
        whatever the form of their letters (composed or decomposed accents, full-width
        letters) and of their apostrophes (``'`` or ``’``), a possessive or an elided
        French article being the word it names (``Acme's``, ``l'Acme``); a hashtag matches
        ``#tag`` not followed by a letter, digit or ``_`` (``#tag…``, ``#tag’s``,
        ``#tag🎉`` are the tag, as Mastodon reads them); a handle matches ``@handle`` in
        the text (``@handle@server`` too) or the author. The reference meaning that tests and
        emulators share; each platform's own search may differ in detail (stemming,
        accents). ``tagged``: whether the post carries a hashtag (given without ``#``) as
        its platform files tags, where that differs from reading the text (Mastodon files
        ``#Café`` under ``cafe``); it replaces the text's reading of hashtags.

        Raises:
            ConfigurationError: ``at`` is a naive datetime (no time zone): it cannot be
                compared with the query's ``since`` and ``until``.
        """
        if at is not None and (at.tzinfo is None or at.utcoffset() is None):
            raise ConfigurationError(
                f"at={at.isoformat()} has no time zone: give an aware datetime (e.g. "
                "datetime.now(UTC), or the post's created_at)"
            )
        lowered = _spaced(text)
        # Composed and decomposed accents are the same letters (a post's "café" may be
        # either): tags and handles are read from one form.
        composed = _nfc(text)

        def has(term: str) -> bool:
            return _holds(lowered, term)

        def mentions(handle: str) -> bool:
            # A handle may hold dots and dashes (Bluesky's, Mastodon's domain): "@acme" is
            # not "@acme.bsky.social" nor "@acme-co", but is "@acme." ending a sentence.
            name = _nfc(handle)
            said = rf"(?<![\w@])@{re.escape(name)}(?![\w-]|\.\w)"
            return (
                _nfc(author).casefold() == name.casefold()
                or re.search(said, composed, re.IGNORECASE) is not None
            )

        positive = [
            *(has(t) for t in self.any),
            *((tagged or partial(shows_hashtag, composed))(h) for h in self.hashtags),
            *(mentions(h) for h in self.handles),
        ]
        if positive and not any(positive):
            return False
        if not all(has(t) for t in (*self.all, *self.phrases)):
            return False
        if any(has(t) for t in self.exclude):
            return False
        if (
            self.languages
            and language is not None
            and not any(_same_language(language, want) for want in self.languages)
        ):
            return False
        if at is not None:
            if self.since is not None and at < self.since:
                return False
            if self.until is not None and at >= self.until:
                return False
        return True


def saved_query(text: str) -> Query:
    """The query a store saved as ``text`` (`Query.model_dump_json`). One saved before terms
    without a word were refused still loads (it matches what it always matched), so that
    it does not stop every other saved query from running.

    Raises:
        ContentError: ``text`` is not a query.
    """
    token = _reading_saved.set(True)
    try:
        return Query.model_validate_json(text)
    finally:
        _reading_saved.reset(token)


def says(text: str, term: str) -> bool:
    """Whether ``text`` holds the word or phrase ``term`` as `Query.matches` reads one:
    whole words in order, in any case."""
    return _holds(_spaced(text), term)


def _spaced(text: str) -> str:
    """``text``'s words, lower case, each between single spaces."""
    return f" {' '.join(_words(text))} "


def _holds(spaced: str, term: str) -> bool:
    parts = _words(term)
    return bool(parts) and f" {' '.join(parts)} " in spaced


def shows_hashtag(text: str, tag: str) -> bool:
    """Whether ``text`` holds the hashtag ``tag`` (given without ``#``) as `Query.matches`
    reads one: ``#tag`` in any case, not inside a word nor followed by a letter, digit,
    ``_`` or combining mark; composed and decomposed accents alike."""
    # A mark is part of the tag (Mastodon's [[:word:]] holds marks): "#भारतीय" ("Indian")
    # was read as the tag "#भारत" ("India") followed by a vowel sign.
    said = rf"(?<![\w\p{{M}}])#{regex.escape(_nfc(tag))}(?![\w\p{{M}}])"
    return regex.search(said, _nfc(text), regex.IGNORECASE) is not None


def _nfc(text: str) -> str:
    """``text`` with its accents composed (NFC): a decomposed ``e`` + U+0301 would read as
    ``e`` followed by a mark that is not part of a word."""
    return unicodedata.normalize("NFC", text)


def _same_language(have: str, want: str) -> bool:
    """Whether a post in ``have`` is in ``want``: BCP 47 tags ignore case, and ``zh`` covers
    ``zh-TW`` (a status language Mastodon keeps), not the other way round."""
    have, want = have.lower(), want.lower()
    return have == want or have.startswith(want + "-")


def _words(text: str) -> list[str]:
    """``text``'s words, folded (`fold`) so that what a reader takes for the same word is:
    accents composed, full-width letters and ligatures made plain, case folded (``ß`` is
    ``ss``), and the typographic apostrophe a phone's keyboard writes (``’``) made the one
    typed (``'``)."""
    # An emoji (a symbol, Unicode's "So") is a word of its own; punctuation, the variation
    # selector of ❤️ and the joiner of 👩‍💻 are not. So is each Chinese character and each
    # kana: those scripts put no space between words, and a sentence ("来週東京に行きます")
    # read as one word held no term ("東京"), so every such post the platforms' searches
    # returned was dropped as not matching. Thai, Lao, Khmer and Burmese put none either:
    # each letter with its marks is a word of its own there.
    # A word keeps its combining marks (Hindi's vowel signs, Arabic's vowel points): cut at
    # each, "नमस्ते" was "नमस" and "त", and a short term matched a piece of another word.
    # Variation selectors only choose a glyph: a word or emoji is the same without them.
    folded = _SELECTORS.sub("", fold(text))
    if _NO_SPACES.search(folded):
        folded = _NO_SPACES.sub(r" \1 ", folded)
    return [
        _bare(w) if "'" in w else w
        for w in _TOKEN.findall(folded)
        if w[0].isalnum() or unicodedata.category(w) == "So"
    ]


def _bare(word: str) -> str:
    """``word`` without an elided French article before it (``l'acme``) nor the English
    possessive after it (``acme's``): the brand they name is the word, as Mastodon's search
    reads words (Elasticsearch's ``elision`` and ``english_possessive_stemmer`` filters),
    so its results named ``acme`` and were dropped; other apostrophes (``don't``) stay."""
    word = _ELIDED.sub("", word, count=1)
    return word[:-2] if word.endswith("'s") else word


_TOKEN = regex.compile(
    r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:'[\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*|[^\p{L}\p{N}\p{M}\s_]"
)
_SELECTORS = regex.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# Elasticsearch's elision filter's articles (Lucene's FrenchAnalyzer.DEFAULT_ARTICLES).
_ELIDED = re.compile(r"^(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)'(?=[^\W_])")
# Hiragana, katakana (with its prolonged sound mark), CJK ideographs and their extensions;
# Thai, Lao, Myanmar and Khmer, each letter with the marks that follow it.
_NO_SPACES = regex.compile(
    "([\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
    "|[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]\\p{M}*)"
)


def fold(text: str) -> str:
    """``text`` as words are compared: accents composed (NFC), the compatibility forms of
    letters and digits made plain (full-width ``Ａ``, ``ﬁ``, ``²``: NFKC), case folded, and
    ``’`` made ``'``. Symbols keep their form: NFKC would make ``Acme™`` the word
    ``acmetm``."""
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = "".join(
            unicodedata.normalize("NFKC", c) if unicodedata.category(c)[0] in "LN" else c
            for c in text
        )
    # Turkish's capital İ is the capital of i: case folded alone, it was i and a combining
    # dot, and "İstanbul" (as every Turkish post writes it) was not "istanbul".
    return text.replace("İ", "i").casefold().replace("’", "'")


def _messages(value: Sequence[Message]) -> tuple[Message, ...]:
    return tuple(value)


@attrs.frozen
class SearchPage:
    """What one search returned.

    Attributes:
        messages: the posts found (``kind="found"``), oldest first.
        cursor: where the next search starts (pass it back as ``since=``); opaque text.
        more: the search stopped at its ``limit`` with more to read.
        requests: how many requests it made.
        read: how many posts the platform returned (what X bills), found or not.
    """

    messages: tuple[Message, ...] = attrs.field(converter=_messages)
    cursor: str | None = None
    more: bool = False
    requests: int = 0
    read: int = 0


def compile_terms(query: Query) -> dict[str, Any]:
    """The query as plain data (for stores and logs)."""
    return query.model_dump(mode="json", exclude_defaults=True)


def canonical_query(query: Query) -> str:
    """``query`` as JSON, its times in UTC: the same text for the same query (what
    `cursor_tag` names for platforms that narrow what they read with every part of it)."""
    times = {
        name: value.astimezone(UTC)
        for name in ("since", "until")
        if (value := getattr(query, name)) is not None
    }
    return query.model_copy(update=times).model_dump_json()


def cursor_tag(account: str, *compiled: str) -> str:
    """A short name of what a search cursor belongs to: the account (its key) and the query
    as its platform's adapter compiled it. Adapters write it into their search cursors and
    refuse a cursor that names another query or account, whose position would skip the
    older matches of this one."""
    text = "\x1f".join((account, *compiled))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def as_query(value: Query | Sequence[str] | str) -> Query:
    """A query from a `Query`, a list of words (any of them) or one text of words."""
    if isinstance(value, Query):
        return value
    words = value.split() if isinstance(value, str) else list(value)
    return Query(any=tuple(words))
