"""Mastodon's status length (``StatusLengthValidator``).

Length = extended grapheme clusters of ``spoiler_text + countable_text(text)``, where the
countable text has every URL written with ``http://`` or ``https://`` replaced by
``characters_reserved_per_url`` (23) ``x`` characters, and every remote mention
``@user@domain`` shortened to ``@user``. The content warning gets no URL discount.

URLs are found by the twitter-text extractor with a protocol required, as Mastodon.py's
``get_status_length`` does. One rule of Mastodon's own (``config/initializers/twitter_regex.rb``)
is kept where it makes the count larger: a URL path never ends in ``=`` there, so a run of
``=`` ending a path (no query) is counted as text, not as part of the link.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import regex

from brandkit.text._graphemes import grapheme_len
from brandkit.text._urls import Url, extract_urls

# A remote mention as Mastodon's Account::MENTION_RE matches it,
# (?<![=/[:word:]])@((USERNAME_RE)(?:@[[:word:]]+([.-]+[[:word:]]+)*)?): the user part is
# USERNAME_RE, [a-z0-9_]+([.-]+[a-z0-9_]+)* (remote accounts of Pixelfed, Misskey or Akkoma
# have dots and dashes inside: "@jane.doe@pixelfed.social" counts as "@jane.doe"); the domain
# is Unicode word characters (an IDN such as bücher.example) joined by "." or "-". regex's
# \w, like Onigmo's [[:word:]], takes combining marks.
# Groups: 1 the character before (text._split reads the groups), 2 user@domain, 3 user.
_REMOTE_MENTION = regex.compile(
    r"(^|[^=/\w])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@\w+(?:[.-]+\w+)*)", regex.IGNORECASE
)

# Mastodon's path rules (config/initializers/twitter_regex.rb): a path goes on through any
# character but whitespace, "<", ">", "(", ")" and "?" (kana, emoji and dashes too), and
# ends on a character that is not one of these; a query takes ASCII URL characters and
# the Unicode ranges of UCHARS.
_UCHARS = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U0010fffd"
)
_PATH_CHAR = regex.compile(r"[^\s<>()?]")
_PATH_NOT_LAST = frozenset("()?!*\"'「」<>;:=,.$%[]~&|@")
_QUERY_CHAR = regex.compile(rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]", regex.IGNORECASE)
_QUERY_LAST = regex.compile(rf"[a-z0-9_&=#/\-{_UCHARS}]", regex.IGNORECASE)


def _path_last(c: str) -> bool:
    return c not in _PATH_NOT_LAST and not c.isspace()


def _query_last(c: str) -> bool:
    return _QUERY_LAST.match(c) is not None


def _run(text: str, at: int, ok: regex.Pattern[str], last: Callable[[str], bool]) -> int:
    """The end of the run of characters ``ok`` from ``at``, backed off to its last
    character that ``last`` allows (``at`` if none)."""
    end = at
    while end < len(text) and ok.match(text, end) is not None:
        end += 1
    while end > at and not last(text[end - 1]):
        end -= 1
    return end


def link_spans(text: str, urls: list[Url] | None = None) -> list[tuple[int, int]]:
    """Code point spans ``[start, end)`` of the links Mastodon makes in ``text``.

    Mastodon links what twitter-text's extractor finds with a protocol, but its paths and
    queries go further (config/initializers/twitter_regex.rb): ``https://example.com/a—now``
    is one link there. A path ending in ``=`` without a query ends before the ``=`` (as
    `countable_text` counts it); balanced parentheses past twitter-text's end are not
    followed, so a span may end earlier than Mastodon's. ``urls``: what
    ``extract_urls(text, require_protocol=True)`` gives, when the caller has it.
    """
    spans: list[tuple[int, int]] = []
    for url in extract_urls(text, require_protocol=True) if urls is None else urls:
        start, end = url.start, url.end
        host = text.index("://", start) + 3
        if "?" not in url.url:
            if text.find("/", host, end) >= 0:
                more = _run(text, end, _PATH_CHAR, _path_last)
                end = more if more > end else end - (len(url.url) - len(url.url.rstrip("=")))
            if text.startswith("?", end):
                query = _run(text, end + 1, _QUERY_CHAR, _query_last)
                if query > end + 1:
                    end = query
        else:
            end = _run(text, end, _QUERY_CHAR, _query_last)
        spans.append((start, end))
    return spans


def countable_text(text: str, characters_reserved_per_url: int = 23) -> str:
    """``text`` as Mastodon counts it: URLs as placeholders, remote mentions without domain."""
    if not text:
        return ""
    pieces: list[str] = []
    position = 0
    placeholder = "x" * characters_reserved_per_url
    for url in extract_urls(text, require_protocol=True):
        end = url.end
        if "?" not in url.url:
            end -= len(url.url) - len(url.url.rstrip("="))
        pieces.append(text[position : url.start])
        pieces.append(placeholder)
        position = end
    pieces.append(text[position:])
    return _REMOTE_MENTION.sub(r"\1@\3", "".join(pieces))


def status_length(
    text: str, *, spoiler_text: str = "", characters_reserved_per_url: int = 23
) -> int:
    """The length Mastodon checks against ``max_characters``."""
    return grapheme_len(spoiler_text + countable_text(text, characters_reserved_per_url))


# Mastodon's ASCIIFolding (app/lib/ascii_folding.rb): the Latin letters with diacritics it
# folds, each to the ASCII letter at the same place. Letters outside the table (æ, ß, œ)
# are kept.
_FOLD = str.maketrans(
    "ÀÁÂÃÄÅàáâãäåĀāĂăĄąÇçĆćĈĉĊċČčÐðĎďĐđÈÉÊËèéêëĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħÌÍÎÏìíîïĨĩĪīĬĭĮįİıĴĵĶķĸ"
    "ĹĺĻļĽľĿŀŁłÑñŃńŅņŇňŉŊŋÒÓÔÕÖØòóôõöøŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšſŢţŤťŦŧÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲųŴŵÝýÿŶŷŸŹźŻżŽž",
    "AAAAAAaaaaaaAaAaAaCcCcCcCcCcDdDdDdEEEEeeeeEeEeEeEeEeGgGgGgGgHhHhIIIIiiiiIiIiIiIiIiJjKkk"
    "LlLlLlLlLlNnNnNnNnnNnOOOOOOooooooOoOoOoRrRrRrSsSsSsSssTtTtTtUUUUuuuuUuUuUuUuUuUuWwYyyYyYZzZzZz",
)
# Tag::HASHTAG_INVALID_CHARS_RE: anything but [[:alnum:]] (Onigmo's: Alphabetic or a decimal
# digit), Thai marks and the separators (Tag::HASHTAG_SEPARATORS: "_", "·", "・", ZWNJ).
_TAG_INVALID = regex.compile(r"[^\p{Alphabetic}\p{Nd}\u0E47-\u0E4E_\u00B7\u30FB\u200C]")


def hashtag_key(name: str) -> str:
    """The name Mastodon files a hashtag under (``HashtagNormalizer``): NFKC, lower case,
    Latin diacritics folded to ASCII, invalid characters removed, so ``Café``, ``CAFE`` and
    ``café`` are one tag, ``cafe``, whose timeline lists them all. ``name`` is without
    ``#``."""
    folded = unicodedata.normalize("NFKC", name).lower().translate(_FOLD)
    return _TAG_INVALID.sub("", folded).strip()
