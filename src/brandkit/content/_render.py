"""``render(post, platform)``: what exactly one platform will get, checked before any I/O."""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from contextlib import nullcontext
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import regex

import brandkit.platforms as _platforms
from brandkit import text as textlib
from brandkit.content._media import Media
from brandkit.content._model import Link, Post, Utm
from brandkit.errors import ConfigurationError, ContentError, MediaError
from brandkit.platforms._base import Capabilities, MediaRules
from brandkit.text._bluesky import LINK as _BLUESKY_LINK
from brandkit.text._bluesky import TAG_TYPE as _BLUESKY_TAG
from brandkit.text._bluesky import _spans as _bluesky_spans
from brandkit.text._counts import unique_links as _unique_links
from brandkit.text._mastodon import hashtag_key
from brandkit.text._mastodon import link_spans as _mastodon_links
from brandkit.text._platforms import THREADS_MAX_LINKS
from brandkit.text._split import thread_parts
from brandkit.text._urls import Url, extract_urls, known_urls, urls_at_most

logger = logging.getLogger(__name__)

__all__ = ["SHORTENER_HOSTS", "Rendered", "RenderedPart", "add_utm", "is_shortened", "render"]

# Explicit http(s) links only: a scheme-less "example.com" in prose is left as the author
# wrote it rather than rewritten into a tracking URL.
_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u303f\uff00-\uffef]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"»”’…"


@attrs.frozen
class RenderedPart:
    """One part of a rendered post (a single post has one part).

    Attributes:
        index: position in the thread, from 0.
        text: the exact text to send.
        length: its length by the platform's own measure.
        limit: the platform's limit in the same unit.
        media: the media this part carries (all media ride on the first part).
        facets: Bluesky rich-text facets (UTF-8 byte offsets); mentions carry ``handle``
            until the adapter resolves them to a ``did``.
        entities: Telegram message entities (UTF-16 offsets).
    """

    index: int
    text: str
    length: int
    limit: int
    media: tuple[Media, ...] = ()
    facets: tuple[dict[str, Any], ...] = ()
    entities: tuple[dict[str, Any], ...] = ()


@attrs.frozen
class Rendered:
    """A post rendered for one platform: every part checked against its rules.

    Attributes:
        platform: the platform's name.
        parts: the parts, in thread order.
        post: the post with the platform's variant applied.
        link: the link card, UTM-tagged, if any.
        language: the language code, if any.
        content_warning: the content warning, if any.
        options: platform options from the post (e.g. Mastodon visibility).
        capabilities: the capabilities it was checked against.
        warnings: what the platform will not carry although the post has it (alt text on
            Telegram); each is also logged at WARNING on ``brandkit.content._render``.
    """

    platform: str
    parts: tuple[RenderedPart, ...]
    post: Post
    capabilities: Capabilities
    link: Link | None = None
    language: str | None = None
    content_warning: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def is_thread(self) -> bool:
        """More than one part."""
        return len(self.parts) > 1

    @property
    def media(self) -> tuple[Media, ...]:
        """All media of the post."""
        return self.parts[0].media if self.parts else ()


# Links of URL shorteners redirect elsewhere: a UTM tag on them reaches the shortener, not
# the page, and may break the short link. They are never tagged.
SHORTENER_HOSTS: frozenset[str] = frozenset(
    {
        "amzn.to",
        "bit.ly",
        "bitly.com",
        "bl.ink",
        "buff.ly",
        "cutt.ly",
        "dlvr.it",
        "fb.me",
        "goo.gl",
        "ift.tt",
        "is.gd",
        "j.mp",
        "lnkd.in",
        "ow.ly",
        "rb.gy",
        "rebrand.ly",
        "s.id",
        "shorturl.at",
        "t.co",
        "t.ly",
        "tiny.cc",
        "tinyurl.com",
        "trib.al",
        "v.gd",
        "wp.me",
    }
)


def is_shortened(url: str) -> bool:
    """Whether ``url`` is a link of a known URL shortener (`SHORTENER_HOSTS`); ``False``
    for one whose host cannot be read (an unbalanced bracket)."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in SHORTENER_HOSTS)


def add_utm(url: str, platform: str, campaign: str | None = None, *, utm: Utm | None = None) -> str:
    """``url`` with UTM parameters: ``utm_source`` (default: ``platform``), ``utm_medium``
    (default: ``social``), ``utm_campaign`` (default: ``campaign``, when given) and, when
    ``utm`` sets them, ``utm_term`` and ``utm_content``. Existing query parameters, including
    existing UTM values, are kept; links of known URL shorteners, and links that cannot be
    parsed (an unbalanced bracket where the host goes: a typo), are returned unchanged."""
    if is_shortened(url):
        return url
    u = utm or Utm()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    present = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [
        ("utm_source", u.source or platform),
        ("utm_medium", u.medium),
        ("utm_campaign", u.campaign or campaign),
        ("utm_term", u.term),
        ("utm_content", u.content),
    ]
    added = [(k, v) for k, v in extra if v and k not in present]
    if not added:
        return url
    # The query the link has is kept byte for byte and the tags appended: decoding and
    # re-encoding it would rewrite what the site reads (a "%FF" becomes "%EF%BF%BD", "a=1;b=2"
    # becomes "a=1%3Bb%3D2", a bare "?amp" becomes "?amp=").
    query = parts.query
    tags = urlencode(added, safe=":/@,")
    query = f"{query}{'' if query.endswith('&') else '&'}{tags}" if query else tags
    return urlunsplit(parts._replace(query=query))


def _links(
    text: str, rules: str, *, explicit: bool = False, urls: list[Url] | None = None
) -> list[tuple[int, int]]:
    """Code point spans ``[start, end)`` of the links the platform counted by ``rules``
    makes in ``text``: Bluesky's are the client's link facets, Mastodon's need a protocol
    and take its wider paths, the others' are what twitter-text finds (X's own, and the
    closest for the rest). ``explicit``: only links written with http(s)://. ``urls``: the
    text's `_urls_of`, when the caller has them (not with ``explicit``)."""
    if rules == "bluesky":
        spans = sorted((s, e) for s, e, _, f in _bluesky_spans(text) if f["$type"] == _BLUESKY_LINK)
    elif rules == "mastodon":
        return _mastodon_links(text, urls)
    else:
        if urls is None:
            urls = extract_urls(text, require_protocol=explicit)
        spans = [(u.start, u.end) for u in urls]
    if explicit:
        spans = [(s, e) for s, e in spans if _URL.match(text, s)]
    return spans


def _plain_end(match: re.Match[str]) -> int:
    """Where a URL the platform does not link ends: closing punctuation left out, but a
    closing parenthesis that belongs to it kept (Wikipedia links)."""
    url = match.group(0)
    trimmed = url.rstrip(_TRAILING)
    if url.endswith(")") and trimmed.count("(") > trimmed.count(")"):
        trimmed += ")"
    return match.start() + len(trimmed)


def _utm_text(text: str, rules: str, platform: str, campaign: str | None, utm: Utm) -> str:
    if "://" not in text:
        return text
    # A link is tagged where the platform ends it, so that the query string lands inside
    # the link and not after text glued to it ("https://example.com/a—now" on X). A URL the
    # platform does not link at all (an IP address, a reserved TLD such as .example) is still
    # tagged: where twitter-text would end it, else before closing punctuation.
    linked = dict(_links(text, rules, explicit=True))
    generic: dict[int, int] | None = None
    # A post often repeats a link: each distinct one is tagged once.
    tagged: dict[str, str] = {}
    pieces: list[str] = []
    at = 0
    for match in _URL.finditer(text):
        start = match.start()
        if start < at:
            continue  # inside the link before, which the platform ends later
        end = linked.get(start)
        if end is None:
            if generic is None:
                generic = (
                    {u.start: u.end for u in extract_urls(text, require_protocol=True)}
                    if rules in ("bluesky", "mastodon")
                    else {}
                )
            end = generic.get(start) or _plain_end(match)
        url = text[start:end]
        done = tagged.get(url)
        if done is None:
            done = tagged[url] = add_utm(url, platform, campaign, utm=utm)
        pieces.append(text[at:start])
        pieces.append(done)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


# A '#' after a word character ("C#launch"), an "&" (an HTML entity), "/", "=" or ")" (a URL
# or code) starts no hashtag on X or Mastodon; Unicode word characters, marks included.
_HASHTAG = regex.compile(r"(?<![\w&/=)])[#＃](\w+)")


# Where a tag of ``Post.hashtags`` ends on the platforms that make tags of word characters
# (X, Mastodon, Instagram, Telegram, LinkedIn, Facebook): at the first character that is not
# one (a "-", ".", "+", an emoji); and a tag needs a letter, digits alone make none.
_WORD_TAGS = frozenset({"x", "mastodon", "instagram", "telegram", "linkedin", "facebook"})
_TAG_WORD_CHAR = regex.compile(r"\w")
_TAG_LETTER = regex.compile(r"\p{L}")
# Instagram makes tags of emoji too (#🍕, #pizza🍕): pictographs with their skin tones,
# joiners, variation selectors and keycaps, and flags.
_INSTAGRAM_TAG_CHAR = regex.compile(
    r"[\w\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\ufe0f\u20e3]"
)
_INSTAGRAM_TAG_NAME = regex.compile(r"[\p{L}\p{Extended_Pictographic}\p{Regional_Indicator}]")
# Threads' topic tags take neither "." nor "&".
_THREADS_TAG_STOP = ".&"


def _tag_problem(tag: str, rules: str) -> str | None:
    """Why ``#tag`` is not that whole tag on the platform counted by ``rules`` (None: it is,
    or brandkit does not know the platform's tags)."""
    if rules == "bluesky":
        found = [f["tag"] for _, _, _, f in _bluesky_spans(f"#{tag}") if f["$type"] == _BLUESKY_TAG]
        if not found:
            return (
                "Bluesky makes no tag of it (a tag needs a character that is not a digit or "
                "punctuation, and at most 64 characters)"
            )
        return None if found[0] == tag else f"Bluesky's tag would be #{found[0]}"
    if rules == "threads":
        stop = next((c for c in tag if c in _THREADS_TAG_STOP), None)
        return None if stop is None else f"Threads' topic tags take no {stop!r}"
    if rules not in _WORD_TAGS:
        return None
    char, name = _TAG_WORD_CHAR, _TAG_LETTER
    if rules == "instagram":
        char, name = _INSTAGRAM_TAG_CHAR, _INSTAGRAM_TAG_NAME
    stop = next((c for c in tag if not char.match(c)), None)
    if stop is not None:
        cut = tag[: tag.index(stop)]
        return f"{stop!r} ends it" + (f" (the tag would be #{cut})" if cut else " (no tag at all)")
    if not name.search(tag):
        return "digits alone make no tag"
    return None


def _check_tags(post: Post, tags: tuple[str, ...], rules: str, platform: str) -> None:
    """Refuse a tag of ``tags`` (the post's for ``platform``) that the platform would not
    read back whole: the post would go out tagged with less than asked, or not at all.

    Raises:
        ContentError: naming the tag, why, and what to write instead.
    """
    for tag in tags:
        problem = _tag_problem(tag, rules)
        if problem is None:
            continue
        variant = post.variants.get(platform)
        field = (
            f"variants.{platform}.hashtags"
            if variant is not None and variant.hashtags is not None
            else "hashtags"
        )
        raise ContentError(
            f"{field}: {tag!r} is not a whole hashtag on {platform}: {problem}; use letters, "
            f"digits and '_' (e.g. 'launch_day' for 'launch-day'), or give {platform} its own "
            f"hashtags with a variant",
            field=field,
            platform=platform,
        )


# The platforms (by rules) whose measure or render of a text extracts its URLs.
_URL_RULES = frozenset({"x", "mastodon", "threads", "telegram"})


def _is_nfc(text: str) -> bool:
    return text.isascii() or unicodedata.is_normalized("NFC", text)


def _urls_of(text: str, rules: str) -> list[Url] | None:
    """The URLs twitter-text finds in ``text`` as the platform counted by ``rules`` measures
    it (Mastodon: only those with a protocol), or None where its measure looks for none of
    them (Bluesky's facets find links their own way)."""
    if rules == "bluesky":
        return None
    return extract_urls(text, require_protocol=rules == "mastodon")


def _tag_key(tag: str, rules: str) -> str:
    """What makes two hashtags one on the platform counted by ``rules``: their lower case,
    and on Mastodon the name it files them under (``#Café`` is ``cafe``)."""
    return hashtag_key(tag) if rules == "mastodon" else tag.lower()


def _present_tags(text: str, rules: str, urls: list[Url] | None) -> set[str]:
    """The hashtags (by `_tag_key`, without '#') the platform counted by ``rules`` sees in
    ``text``: not inside a word, nor inside a link (a URL's "#fragment"). ``urls``: the
    text's `_urls_of`."""
    if rules == "bluesky":
        # Bluesky's tags are the client's tag facets: the text's own detection decides.
        return {
            str(f["tag"]).lower()
            for _, _, _, f in _bluesky_spans(text)
            if f["$type"] == _BLUESKY_TAG
        }
    links = sorted(_links(text, rules, urls=urls)) if "." in text else []
    # A tag is inside a link when one of the links starting at or before it ends after it:
    # when the furthest end among them does (Mastodon's spans may reach past the next start).
    # One bisection per tag, not a look at every link: a long post has dozens of each.
    starts = [start for start, _ in links]
    furthest = list(accumulate((end for _, end in links), max))
    present: set[str] = set()
    for match in _HASHTAG.finditer(text):
        at = match.start()
        before = bisect_right(starts, at)
        if before and furthest[before - 1] > at:
            continue
        present.add(_tag_key(match.group(1), rules))
    return present


def _with_hashtags(text: str, tags: tuple[str, ...], rules: str) -> tuple[str, list[Url] | None]:
    """``text`` with the ``tags`` it lacks appended, and the result's `_urls_of` when they
    were needed here (None: not looked for)."""
    if not tags:
        return text, None
    # Most texts carry no '#' at all: a find in C, not a scan of the pattern at every place.
    urls = None
    if "#" in text or "＃" in text:
        urls = _urls_of(text, rules) if "." in text else None
        present = _present_tags(text, rules, urls)
        missing = [t for t in tags if _tag_key(t, rules) not in present]
        if not missing:
            return text, urls
    else:
        missing = list(tags)
    if len(missing) > 1:
        # A tag given twice (campaign tags merged with a post's) is one tag: appended once.
        first: dict[str, str] = {}
        for tag in missing:
            first.setdefault(_tag_key(tag, rules), tag)
        missing = list(first.values())
    line = "#" + " #".join(missing)
    kept = text.rstrip()
    # No URL holds whitespace, nor does a match of the extractor past its first character,
    # so after a line break the URLs of the text it ends are still all there, where they
    # were; and a line without "." adds none (a tag may hold one: "#a,example.com").
    if "." in line:
        urls = None
    return (f"{kept}\n\n{line}", urls) if kept else (line, None)


def _links_page(text: str, url: str, rules: str) -> bool:
    """Whether ``text`` holds ``url`` other than as the start of a longer link (another page:
    ``…/launch-faq`` is not ``…/launch``), by the links the platform counted by ``rules``
    finds: a place that is that very link (give or take a trailing "/", the same page), or
    that no link covers, holds it."""
    url = url.removesuffix("/")
    at = text.find(url)
    if at < 0:
        return False
    spans = _links(text, rules)
    while at >= 0:
        end = at + len(url)
        same = {(at, end), (at, end + 1)} if text.startswith("/", end) else {(at, end)}
        if not any(start <= at < stop and (start, stop) not in same for start, stop in spans):
            return True
        at = text.find(url, end)
    return False


def _no_card(link: Link, post: Post, caps: Capabilities, platform: str, reply: bool) -> str | None:
    """Why ``platform`` sends no card for ``link`` on this post (``""``: it has no cards at
    all), or ``None`` when the card goes: the capabilities' own `LinkCardRules`, which the
    adapter obeys too (`brandkit.platforms.Adapter.link_card`)."""
    if not caps.link_cards:
        return ""
    return caps.link_card_rules.refusal(platform, link, media=bool(post.media), reply=reply)


def _check_threads_card(first: str, card: str, platform: str) -> None:
    """Refuse a link card that takes the first part past Threads' link cap.

    Threads counts a ``link_attachment`` among the post's different links when its URL is not
    in the text (platforms.md 7.3), and the card rides on the first part: 5 links in that
    part and a card to a sixth page are refused at container creation, after the text itself
    measured as fitting.
    """
    links = set(_unique_links(first))
    links.add(card)
    if len(links) > THREADS_MAX_LINKS:
        over = len(links) - THREADS_MAX_LINKS
        raise ContentError(
            f"text has {len(links) - 1} different links on {platform} and the link card "
            f"{card} makes {len(links)}, {over} over the limit of {THREADS_MAX_LINKS}: remove "
            f"{'a link' if over == 1 else f'{over} links'} from the text (or its first part), "
            "or leave the link card out",
            field="link",
            platform=platform,
            over_by=over,
        )


def _check_media(
    media: tuple[Media, ...], rules: MediaRules, platform: str, reply: bool = False
) -> None:
    n = len(media)
    if reply and n and not rules.max_items:
        # An answer that is a comment (see Adapter.answer_capabilities): "at most 0 media on
        # one post" would not say what to do.
        raise MediaError(
            f"{platform} answers carry no media: leave the media out of the answer, or "
            "publish them in a post of their own",
            field="media",
            platform=platform,
            over_by=n,
        )
    if n > rules.max_items:
        raise MediaError(
            f"{platform} takes at most {rules.max_items} media on one post, got {n}: "
            "remove some or use a variant for this platform",
            field="media",
            platform=platform,
            over_by=n - rules.max_items,
        )
    if n < rules.min_items:
        raise MediaError(
            f"{platform} needs at least {rules.min_items} image or video on a post",
            field="media",
            platform=platform,
        )
    if not n:
        return
    videos = [m for m in media if m.kind == "video"]
    gifs = [m for m in media if m.kind == "gif"]
    if len(videos) > rules.max_videos:
        raise MediaError(
            f"{platform} takes at most {rules.max_videos} video(s) on one post, got {len(videos)}",
            field="media",
            platform=platform,
        )
    if len(gifs) > rules.max_gifs:
        raise MediaError(
            f"{platform} takes at most {rules.max_gifs} animated GIF(s) on one post, got "
            f"{len(gifs)}",
            field="media",
            platform=platform,
        )
    if rules.gif_alone and gifs and n > 1:
        raise MediaError(
            f"{platform} sends an animated GIF only on its own, not in an album with other "
            "media: post it separately",
            field="media",
            platform=platform,
        )
    if not rules.mix and (videos or gifs) and n > 1:
        raise MediaError(
            f"{platform} does not mix a video or GIF with other media on one post",
            field="media",
            platform=platform,
        )
    for i, m in enumerate(media):
        where = f"media[{i}]"
        types = rules.video_types if m.kind == "video" else rules.image_types
        if m.mime_type not in types:
            raise MediaError(
                f"{where} is {m.mime_type}, which {platform} does not accept "
                f"(accepted: {', '.join(sorted(types))})",
                field=where,
                platform=platform,
            )
        cap = {
            "video": rules.max_video_bytes,
            "gif": rules.max_gif_bytes,
            "image": rules.max_image_bytes,
        }[m.kind]
        if m.size > cap:
            raise MediaError(
                f"{where} is {m.size:,} bytes; {platform} takes {m.kind}s up to {cap:,} bytes "
                f"({m.size - cap:,} over)",
                field=where,
                platform=platform,
                over_by=m.size - cap,
            )
        alt_cap = rules.max_alt_length if rules.alt_text else None
        if alt_cap is not None and len(m.alt) > alt_cap:
            raise MediaError(
                f"{where}.alt is {len(m.alt)} characters; {platform} takes up to {alt_cap}",
                field=f"{where}.alt",
                platform=platform,
                over_by=len(m.alt) - alt_cap,
            )


def _measured(
    body: str,
    rules: str,
    caps: Capabilities,
    effective: Post,
    options: Mapping[str, Any],
    platform: str,
) -> tuple[list[tuple[str, int]], int]:
    """The parts of ``body`` with their lengths, and the limit: the text is measured once;
    where the platform has threads, splitting it gives every part's length with it, and no
    part is measured again."""
    if caps.threads:
        numbered = bool(effective.options.get("thread_numbering", False))
        pieces, limit = thread_parts(
            body, rules, numbered=numbered, most=caps.max_parts, options=options
        )
        if len(pieces) > caps.max_parts:
            raise ContentError(
                f"text needs {len(pieces)} parts on {platform}, more than the {caps.max_parts} "
                "brandkit allows in one thread: shorten it",
                field="text",
                platform=platform,
                over_by=len(pieces) - caps.max_parts,
            )
        return pieces, limit
    measure = textlib.measure(body, rules, **options)
    if not measure.fits:
        textlib.check(body, rules, **options)  # raises: says what is over and by how much
    return [(body, measure.length)], measure.limit


def render(
    post: Post,
    platform: str,
    *,
    capabilities: Capabilities | None = None,
    reply: bool = False,
) -> Rendered:
    """Render ``post`` for ``platform``: apply its variant, add hashtags and (when
    ``post.utm`` is on) UTM tags, check media rules, measure the text exactly, and split it
    into a thread where the platform has threads. The whole thread is checked here, before
    anything is sent.

    Where the post's link cannot go as a card (the platform has none, or not for this post
    by the capabilities' ``link_card_rules``, see `brandkit.platforms.LinkCardRules`), its
    URL is put in the text, before the text is measured; when the platform has cards, a
    warning says why.

    Args:
        post: the post.
        platform: a platform name (``"x"``, ``"bluesky"``, ...).
        capabilities: account-specific capabilities (e.g. a Mastodon instance's limits);
            defaults to the platform's.
        reply: the post answers a message (`brandkit.Client.reply`): on a platform whose
            answers carry no link card, the link goes in the text.

    Raises:
        ContentError: the post breaks a rule; the message says which and by how much (a
            variant that leaves nothing to send names the variant's field); or a tag of its
            ``hashtags`` would not be that whole tag on the platform (``"launch-day"``
            would be ``#launch`` on X, ``"2026"`` no tag at all).
        MediaError: a media rule is broken (count, type, size, alt text).
        ConfigurationError: the platform is unknown, or ``post`` is not a `Post`.
    """
    if not isinstance(post, Post):
        example = f"Post(text={post!r:.60})" if isinstance(post, str) else "Post(text=...)"
        raise ConfigurationError(
            f"render takes a Post, not a {type(post).__name__}: give {example}"
        )
    if capabilities is None:
        capabilities = _platforms.capabilities(platform)
    caps = capabilities
    effective = post.for_platform(platform, check=True)
    campaign = effective.campaign
    rules = caps.text_rules or platform
    notes: list[str] = []

    link = effective.link
    body = effective.text
    card = False
    if link is not None:
        why = _no_card(link, effective, caps, platform, reply)
        card = why is None
        if why is not None and not _links_page(body, link.url, rules):
            # No card for this post: the link still has to reach the reader, in the text.
            body = f"{body.rstrip()}\n\n{link.url}" if body.strip() else link.url
            if why:
                notes.append(why)
    _check_tags(post, effective.hashtags, rules, platform)
    body, urls = _with_hashtags(body, effective.hashtags, rules)
    if effective.utm is not False:
        utm = Utm() if effective.utm is True else effective.utm
        tagged = _utm_text(body, rules, platform, campaign, utm)
        if tagged != body:
            urls = None
        body = tagged
        if link is not None:
            link = link.model_copy(update={"url": add_utm(link.url, platform, campaign, utm=utm)})

    warning = effective.content_warning
    options: dict[str, Any] = dict(caps.text_options)
    if effective.media and caps.caption_options is not None:
        options.update(caps.caption_options)
    if warning:
        if caps.content_warning:
            options["spoiler_text"] = warning
        else:
            # No native content warning: put it in front, where a reader sees it first.
            body = f"CW: {warning}\n\n{body}" if body else f"CW: {warning}"
            urls = None

    _check_media(effective.media, caps.media, platform, reply)
    dropped = [i for i, m in enumerate(effective.media) if m.alt] if effective.media else ()
    if dropped and not caps.media.alt_text:
        notes.append(
            f"{platform} takes no alt text: the alt text of media "
            f"{', '.join(f'[{i}]' for i in dropped)} is not sent; describe the image in the "
            "text if it matters"
        )
    for note in notes:
        logger.warning("%s", note)
    # A card that is not sent needs no thumbnail check.
    thumb = link.thumbnail if link is not None and card else None
    thumb_cap = caps.media.max_card_thumb_bytes
    if thumb is not None:
        # A GIF is its own kind (for the platforms that limit animated images apart), and
        # an image all the same: Bluesky's card takes any image/*, LinkedIn's Images API GIF.
        if thumb.kind not in ("image", "gif"):
            raise MediaError(
                f"link.thumbnail must be an image (PNG, JPEG, WebP or GIF), got {thumb.mime_type}",
                field="link.thumbnail",
                platform=platform,
            )
        if thumb_cap is not None and thumb.size > thumb_cap:
            raise MediaError(
                f"link.thumbnail is {thumb.size:,} bytes; {platform} takes card thumbnails up "
                f"to {thumb_cap:,} bytes ({thumb.size - thumb_cap:,} over)",
                field="link.thumbnail",
                platform=platform,
                over_by=thumb.size - thumb_cap,
            )

    # The URLs the hashtag check found are the body's: the measure, the split and the link
    # checks below look for them in the whole body again, and get these instead. Where the
    # check did not look, they are found here once for all of those (X's measure looks in
    # the NFC text: a body that is not NFC is left to it).
    if (
        urls is None
        and rules in _URL_RULES
        and (rules != "x" or _is_nfc(body))
        # Threads' measure and split look for links only where the cap may be broken.
        and (rules != "threads" or not urls_at_most(body, THREADS_MAX_LINKS))
    ):
        urls = _urls_of(body, rules)
    found = (
        nullcontext()
        if urls is None
        else known_urls(body, urls, require_protocol=rules == "mastodon")
    )
    with found:
        pieces, limit = _measured(body, rules, caps, effective, options, platform)
        if card and link is not None and rules == "threads" and pieces:
            _check_threads_card(pieces[0][0], link.url, platform)
        parts = []
        bluesky, telegram = rules == "bluesky", rules == "telegram"
        for i, (part_text, length) in enumerate(pieces):
            # Every part fits by construction (split measured it, or the ledger that answers for
            # it did): its length is known, and its limit is the text's. (Positional: a thread
            # of many parts is built here, and keywords cost a third more per part.)
            parts.append(
                RenderedPart(
                    i,
                    part_text,
                    length if part_text else 0,
                    limit,
                    effective.media if i == 0 else (),
                    tuple(textlib.facets(part_text)) if bluesky else (),
                    tuple(textlib.telegram_entities(part_text)) if telegram else (),
                )
            )
    return Rendered(
        platform,
        tuple(parts),
        effective,
        caps,
        link,
        effective.language,
        warning,
        dict(effective.options),
        tuple(notes),
    )
