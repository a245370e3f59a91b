"""What people call things: the hint that names the closest known name to a mistyped one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["PLATFORM_ALIASES", "did_you_mean"]

# Names people write for a platform that difflib would not match to brandkit's name.
PLATFORM_ALIASES: Mapping[str, str] = {
    "twitter": "x",
    "tw": "x",
    "masto": "mastodon",
    "mstdn": "mastodon",
    "bsky": "bluesky",
    "fb": "facebook",
    "meta": "facebook",
    "ig": "instagram",
    "insta": "instagram",
    "li": "linkedin",
    "tg": "telegram",
}


def did_you_mean(word: str, known: Sequence[str], aliases: Mapping[str, str] | None = None) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``word``, or ``""``."""
    import difflib  # only when a name is wrong: not on the import path of brandkit

    alias = (aliases or {}).get(word.lower())
    if alias is not None and alias in known:
        return f" (did you mean {alias!r}?)"
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
