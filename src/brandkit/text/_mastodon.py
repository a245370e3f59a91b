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

import re

from brandkit.text._graphemes import grapheme_len
from brandkit.text._urls import extract_urls

# Mastodon.py's remote mention rewrite; "=" is excluded before "@" as Mastodon's own
# MENTION_RE does, which only ever makes the count larger.
_REMOTE_MENTION = re.compile(r"(^|[^/=\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", re.IGNORECASE)


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
