"""Watching a feed: its new entries as announcement posts, each once across restarts."""

from __future__ import annotations

import hashlib
import logging
import re
import string
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from brandkit._durations import checked_seconds
from brandkit._limits import check_limit
from brandkit._tls import shared_context
from brandkit.accounts import Account
from brandkit.content._media import Media
from brandkit.content._model import Link, Post, Utm
from brandkit.delivery import Delivery
from brandkit.errors import BrandkitError, ConfigurationError, ContentError
from brandkit.feeds._addresses import (
    AddressGuard,
    Resolver,
    bound_lookups,
    guarded_client,
    origin,
)
from brandkit.feeds._fetch import (
    MAX_TIMEOUT,
    MB,
    check_header,
    check_url,
    fetch,
    shown,
    without_secrets,
)
from brandkit.feeds._parse import Entry, cut, read_feed
from brandkit.feeds._state import FeedState

if TYPE_CHECKING:
    from brandkit.outbox._store import Outbox

__all__ = [
    "DEFAULT_TEMPLATE",
    "TEMPLATE_FIELDS",
    "Announcement",
    "FeedWatcher",
    "entry_post",
    "watch",
]

logger = logging.getLogger("brandkit.feeds")

_QUEUE_NS = uuid.UUID("5d6c1f0e-3b8a-4f7e-9c2d-7a1b4e8f0c36")

DEFAULT_TEMPLATE = "{title}\n\n{url}"
"""The text of an announcement unless told otherwise: the entry's title, then its link."""

TEMPLATE_FIELDS = ("title", "url", "summary")
"""The fields a template may use: ``{title}``, ``{url}`` and ``{summary}``."""

# The largest width or precision a template's format spec may give (no network takes a post
# this long; the entry's own fields are shorter still).
_MAX_SPEC = 10_000

_IMAGE_ACCEPT = "image/avif, image/webp, image/png, image/jpeg, image/gif;q=0.8, */*;q=0.1"


def check_template(template: str) -> str:
    """``template`` if it uses only `TEMPLATE_FIELDS` (format specs such as
    ``{summary:.100}`` allowed).

    Raises:
        ConfigurationError: another field, an attribute or index (``{title.upper}``), a
            positional ``{}``, unbalanced braces, or a width or precision past 10,000; the
            message names the fields allowed.
    """
    allowed = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigurationError(
            f"the template {template!r} is not a valid format string ({exc}); write literal "
            "braces as {{ and }}"
        ) from None
    for _literal, field, spec, _conversion in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS or (spec and "{" in spec):
            raise ConfigurationError(
                f"the template uses {{{field}}}, which is not a field of an entry; it may "
                f"use {allowed}"
            )
        # A width of billions (a typo) made every announcement a MemoryError.
        if spec and any(int(n) > _MAX_SPEC for n in re.findall(r"\d+", spec)):
            raise ConfigurationError(
                f"the template's {{{field}:{spec}}} asks for a width or length past "
                f"{_MAX_SPEC:,} characters; no post is that long: give a smaller number"
            )
    return template


class _Field(str):
    """An entry's field in a template: its precision (``{title:.20}``) cuts between two
    grapheme clusters, as every other cut of an entry's text does (``format`` counts code
    points, and left half a flag or a family emoji)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        found = _PRECISION.fullmatch(spec)
        if found is None or found["precision"] is None:
            return format(str(self), spec)
        kept = cut(str(self), int(found["precision"]))
        return format(kept, found["head"] + found["kind"])


# A string's format spec: [[fill]align][0][width][,_][.precision][s].
_PRECISION = re.compile(r"(?P<head>.*?)(?:\.(?P<precision>\d+))?(?P<kind>s?)", re.S)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary (else between two
    grapheme clusters), with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return cut(text, limit)
    start = cut(text, limit - 1)
    space = start.rfind(" ")
    if space > limit // 2:
        start = start[:space]
    return start.rstrip(" ,;:.-") + "…"


def entry_post(
    entry: Entry,
    *,
    template: str = DEFAULT_TEMPLATE,
    summary_chars: int = 200,
    thumbnail: Media | None = None,
    campaign: str | None = None,
    utm: bool | Utm = False,
    hashtags: Sequence[str] = (),
    language: str | None = None,
) -> Post:
    """The announcement of ``entry``: ``template`` filled with its title, URL and summary
    (cut to ``summary_chars`` at a word), and a link card with its title, summary and
    ``thumbnail``.

    Raises:
        ConfigurationError: the template uses another field than `TEMPLATE_FIELDS`.
        ContentError: the entry has no http(s) link, or the post is empty or invalid.
    """
    check_template(template)
    if entry.url is None:
        raise ContentError(
            f"the entry {entry.key!r} has no http(s) link to announce", field="link.url"
        )
    summary = _shorten(entry.summary, summary_chars)
    text = template.format_map(
        {"title": _Field(entry.title), "url": _Field(entry.url), "summary": _Field(summary)}
    )
    card = Link(
        url=entry.url,
        title=entry.title or None,
        description=summary or None,
        thumbnail=thumbnail,
    )
    return Post(
        text=text.strip(),
        link=card,
        campaign=campaign,
        utm=utm,
        hashtags=hashtags,
        language=language,
    )


@attrs.frozen
class Announcement:
    """A new entry of a feed and the post that announces it.

    Attributes:
        feed: the feed's URL, as given to the watcher (its repr leaves out a password and
            the query, where private feeds carry a token).
        entry: the entry.
        post: the announcement (publish it with `Client.publish` or queue it with
            `Outbox.add`).
    """

    # Kept whole (it names the feed in the state), shown without its password or token.
    feed: str = attrs.field(repr=lambda url: repr(shown(url)))
    entry: Entry
    post: Post


class FeedWatcher:
    """New entries of one RSS or Atom feed as announcement [`Post`][brandkit.Post]s, each
    entry offered until it is marked done, and never again after (across restarts).

    ```python
    watcher = FeedWatcher("https://blog.example.com/feed.xml", state="brandkit.db",
                          template="New on the blog: {title} {url}", skip_existing=True)
    for item in watcher.poll():
        client.publish(item.post, [x, sky, linkedin])
        watcher.done(item)
    ```

    Each poll is one conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the
    last answer, so an unchanged feed costs a ``304``). An entry is known by the feed's URL
    and its guid (Atom id, else its link): edits of an entry already seen do not make it
    new. Entries found are stored before they are offered, so an entry never announced
    because the process stopped is offered again by the next poll, even if the feed
    answers ``304`` then.

    An entry's image URL comes from the feed's content, not from you, and may point inside
    your network (``http://169.254.169.254/`` and its cloud credentials,
    ``http://localhost:6379/``). So an image is fetched only from a public address, or from
    the feed's own host and port, unless ``private_images`` says otherwise: before each
    request (the image's URL and every redirect's target) the host is resolved, and refused
    when any of its addresses is loopback, private, link-local, unspecified, multicast,
    carrier-grade NAT, reserved or another special-purpose address, or the IPv6 form of one.
    The connection then goes to an address so checked, never to a second resolution of the
    name (DNS rebinding); should a later httpx lay its connection pool out otherwise, a
    WARNING says so and only the check before each request remains. A refused image leaves
    the card without one, with a WARNING that says why and what to set. These images are
    fetched by a client the watcher makes for them, which connects directly: not through
    ``http``, nor through a proxy.

    Args:
        url: the feed's http(s) address.
        state: a `FeedState` or the path of its SQLite file (the outbox's file will do).
        template: the announcement's text; ``{title}``, ``{url}`` and ``{summary}`` are
            the entry's.
        skip_existing: on the first poll of this feed that lists entries (none stored for
            its URL yet), record them as skipped and announce only later ones. A first
            answer with no entries (a feed emptied for a while) leaves it to the next.
        summary_chars: the most characters of the summary in ``{summary}`` and the card.
        images: fetch each entry's image (at most ``image_max_bytes``) for the link card.
        private_images: where entries' images may come from. ``None`` (the default): public
            addresses, and the feed's own host and port (your server: a feed served from
            ``127.0.0.1`` or an intranet host keeps its images). ``False``: public addresses
            only, the feed's host included. ``True``: any address, fetched with ``http``
            like the feed, unchecked; for a feed whose content you trust, such as an
            intranet blog with images on other hosts of your network, or behind a proxy.
        resolver: how the image check resolves a host name: a function of ``(host, port)``
            returning its IP addresses as strings, raising ``OSError`` when it cannot
            (default the system's ``getaddrinfo``). The image is fetched from an address it
            returned. Each call is given at most ``timeout`` seconds (the image is then
            left out, with a WARNING). Unused with ``private_images=True``.
        limit: the most announcements one poll returns (the oldest first; the rest come
            with the next polls).
        campaign: the campaign name set on every announcement (see `Post`).
        utm: the UTM tagging of every announcement (see `Post`).
        hashtags: hashtags added to every announcement.
        language: the language of every announcement.
        http: an ``httpx.Client`` to fetch the feed with (and the images, with
            ``private_images=True``); brandkit closes only one it made.
        timeout: the longest a fetch of the feed (or an image) may take, in seconds, its
            host's DNS lookup included (for the feed itself, only when ``http`` is not
            given: httpx's own lookups have no timeout).
        max_bytes: the largest feed document read (after decompression).
        image_max_bytes: the largest image read for a card (Bluesky takes 1,000,000 bytes).
        user_agent: the ``User-Agent`` sent (default ``brandkit/<version>``).

    Raises:
        ConfigurationError: ``url`` is not http(s), the template uses an unknown field, a
            number is out of range, ``user_agent`` is not printable ASCII,
            ``private_images`` is not ``None``, ``True`` or ``False``, feedparser is not
            installed, or the state file cannot be opened.
    """

    def __init__(
        self,
        url: str,
        *,
        state: FeedState | str = "brandkit.db",
        template: str = DEFAULT_TEMPLATE,
        skip_existing: bool = False,
        summary_chars: int = 200,
        images: bool = True,
        limit: int = 20,
        campaign: str | None = None,
        utm: bool | Utm = False,
        hashtags: Sequence[str] = (),
        language: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        max_bytes: int = 5 * MB,
        image_max_bytes: int = 1_000_000,
        user_agent: str | None = None,
        clock: Callable[[], datetime] | None = None,
        private_images: bool | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        from brandkit.feeds._parse import _feedparser

        _feedparser()  # say now, not at the first poll, that the extra is missing
        self.url = check_url(url)
        self.shown = shown(url)
        self.template = check_template(template)
        if private_images not in (None, True, False):
            raise ConfigurationError(
                f"private_images must be None, True or False, got {private_images!r}"
            )
        check_limit(limit, name="limit", what="announcements at most per poll", least=1)
        check_limit(summary_chars, name="summary_chars", what="characters of the summary")
        check_limit(max_bytes, name="max_bytes", what="bytes of the feed at most", least=1)
        check_limit(
            image_max_bytes, name="image_max_bytes", what="bytes of an image at most", least=1
        )
        checked_seconds(
            timeout, name="timeout", most=MAX_TIMEOUT, why="the longest a fetch may take, e.g. 10"
        )
        self.skip_existing = skip_existing
        self.summary_chars = summary_chars
        self.images = images
        self.limit = limit
        self._post_fields: dict[str, Any] = {
            "campaign": campaign,
            "utm": utm,
            "hashtags": tuple(hashtags),
            "language": language,
        }
        # Checked now: a bad hashtag or language fails here, not at every entry.
        Post(text="check", **self._post_fields)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.image_max_bytes = image_max_bytes
        if user_agent is None:
            from brandkit import __version__

            user_agent = f"brandkit/{__version__} (feed watcher)"
        self.user_agent = check_header(user_agent, "user_agent")
        self._own_state = not isinstance(state, FeedState)
        self.state = state if isinstance(state, FeedState) else FeedState(state, clock=clock)
        self._own_http = http is None
        if http is None:
            # No kept-alive connection: `fetch` ends at its deadline only the connections
            # it makes, and a polled feed's next fetch is minutes away anyway.
            http = httpx.Client(
                follow_redirects=False,
                verify=shared_context(),
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            bound_lookups(http, timeout)
        self.http = http
        self.private_images = private_images
        self._guard: AddressGuard | None = None
        self._image_http: httpx.Client | None = None
        if images and private_images is not True:
            own = private_images is None
            self._guard = AddressGuard(
                trusted=[origin(self.url)] if own else [],
                resolver=resolver,
                timeout=timeout,
                remedy=(
                    "an entry's image is fetched only from a public address or the feed's "
                    "own host; if the feed's images are on your own network, pass "
                    "private_images=True to the feed watcher"
                    if own
                    else "this feed watcher fetches images only from public addresses "
                    "(private_images=False); pass private_images=None to allow the feed's "
                    "own host too, or True to allow any address"
                ),
            )
            self._image_http, pinned = guarded_client(self._guard)
            if not pinned:
                logger.warning(
                    "feed %s: this httpx cannot be made to connect to the address brandkit "
                    "checked; entries' images are checked before each request only",
                    self.shown,
                )

    # -- polling ---------------------------------------------------------------------------

    def poll(self) -> list[Announcement]:
        """Fetch the feed and return the entries not yet done, oldest first, at most
        ``limit``, each with its announcement. Entries without an http(s) link are marked
        skipped (logged at WARNING) instead.

        Raises:
            TransportError: the feed could not be fetched in time.
            AuthError, RateLimited, Rejected, PlatformUnavailable: the feed's server said
                no (``platform="feed"``; see `brandkit.feeds.fetch`).
            MalformedResponse: the answer is not an RSS or Atom feed, or is larger than
                ``max_bytes``.
        """
        known = self.state.validators(self.url)
        etag, modified = known if known is not None else (None, None)
        got = fetch(
            self.url,
            http=self.http,
            etag=etag,
            last_modified=modified,
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            user_agent=self.user_agent,
        )
        if got.status == 200:
            feed, aliases = read_feed(
                got.body, url=got.url, content_type=got.content_type, origin=self.url
            )
            entries = [self._cleaned(e) for e in feed.entries]
            for before, after in zip(feed.entries, entries, strict=True):
                if after.key != before.key:
                    # Stored under its key with the token by an earlier brandkit: kept so.
                    aliases[after.key] = aliases.get(before.key, before.key)
            new = self.state.record(
                self.url,
                entries,
                aliases=aliases,
                etag=got.etag,
                last_modified=got.last_modified,
                title=feed.title or None,
                skip_first=self.skip_existing,
            )
            logger.info("feed %s: %d entries, %d new", self.shown, len(feed.entries), new)
        else:
            logger.debug("feed %s: not modified", self.shown)
            if (got.etag, got.last_modified) != (etag, modified):
                # A 304 may bring new validators: the old ones might not match any more.
                self.state.record(self.url, [], etag=got.etag, last_modified=got.last_modified)
        return self.pending()

    def _cleaned(self, entry: Entry) -> Entry:
        """``entry`` without the feed's token in its key, link or image address (a private
        feed's generator may append it to each): else it would be published, logged and
        stored."""
        url = entry.url and without_secrets(entry.url, self.url)
        image = entry.image and without_secrets(entry.image, self.url)
        key = without_secrets(entry.key, self.url)
        if key is None:
            # Known by a digest instead: as stable, and without the token.
            key = "sha256:" + hashlib.sha256(entry.key.encode("utf-8", "surrogatepass")).hexdigest()
        if url == entry.url and image == entry.image and key == entry.key:
            return entry
        if entry.url and url is None:
            logger.warning(
                "feed %s: the link of entry %r carries the feed's token; not announced",
                self.shown,
                entry.key,
            )
        return attrs.evolve(entry, key=key, url=url, image=image)

    def pending(self) -> list[Announcement]:
        """The entries stored and not yet done (without fetching), as `poll` returns them."""
        out: list[Announcement] = []
        for item in self.state.pending(self.url, self.limit):
            entry = item.entry
            try:
                post = entry_post(
                    entry,
                    template=self.template,
                    summary_chars=self.summary_chars,
                    thumbnail=self._thumbnail(entry),
                    **self._post_fields,
                )
            except ContentError as exc:
                logger.warning("feed %s: entry %r skipped: %s", self.shown, entry.key, exc)
                self.state.done(self.url, entry.key, "skipped")
                continue
            out.append(Announcement(self.url, entry, post))
        return out

    def done(self, announcement: Announcement) -> bool:
        """Mark ``announcement``'s entry as announced: no poll offers it again. Returns
        ``False`` when it was marked already (by another watcher on the same state file)."""
        return self.state.done(announcement.feed, announcement.entry.key, "announced")

    def skip(self, announcement: Announcement) -> None:
        """Mark ``announcement``'s entry as skipped (not to be announced)."""
        self.state.done(announcement.feed, announcement.entry.key, "skipped")

    def queue(self, outbox: Outbox, accounts: Account | Sequence[Account]) -> list[Delivery]:
        """`poll`, then write each new entry's announcement to ``outbox`` for every account
        and mark the entry done: exactly once, across crashes too. Each delivery's id is
        made from the feed, the entry and the account, so an entry written before a crash
        and not yet marked is written again as the same deliveries, which the outbox keeps
        once. The outbox's worker publishes them.

        An announcement a network can never take (its rules, checked as `Outbox.add` does)
        is not queued for that network's accounts, and the reason logged at WARNING; the
        other accounts get it. When no account can take it, its entry is marked skipped.

        Returns the deliveries written (or found already written).

        Raises:
            ConfigurationError: no accounts.
            PlatformError: the feed could not be fetched or read; see `poll`.
        """
        from brandkit.content._render import render

        targets = [accounts] if isinstance(accounts, Account) else list(accounts)
        if not targets:
            raise ConfigurationError("queue needs at least one account to announce on")
        out: list[Delivery] = []
        for item in self.poll():
            # Per network: Instagram refusing a post without an image must not keep it from
            # X and Bluesky.
            refused: set[str] = set()
            for platform in dict.fromkeys(a.platform for a in targets):
                try:
                    render(item.post, platform)
                except ContentError as exc:
                    logger.warning(
                        "feed %s: entry %r not queued for %s: %s",
                        self.shown,
                        item.entry.key,
                        platform,
                        exc,
                    )
                    refused.add(platform)
            taking = [a for a in targets if a.platform not in refused]
            if not taking:
                self.skip(item)
                continue
            now = self.state.clock()
            for account in taking:
                key = f"{self.url}\n{item.entry.key}\n{account.key}"
                delivery = Delivery(
                    id=uuid.uuid5(_QUEUE_NS, key).hex,
                    account=account.key,
                    platform=account.platform,
                    post=item.post,
                    created_at=now,
                    updated_at=now,
                )
                out.append(outbox.insert_once(delivery))
            self.done(item)
        return out

    def _thumbnail(self, entry: Entry) -> Media | None:
        if not self.images or entry.image is None:
            return None
        guard = self._guard
        check = None
        if guard is not None:
            # Each lookup gets what is left of the fetch's time, not a timeout of its own.
            deadline = time.monotonic() + self.timeout

            def check(url: str) -> None:
                guard.check(url, deadline - time.monotonic())

        try:
            got = fetch(
                entry.image,
                http=self._image_http or self.http,
                timeout=self.timeout,
                max_bytes=self.image_max_bytes,
                user_agent=self.user_agent,
                accept=_IMAGE_ACCEPT,
                check=check,
            )
            media = Media.from_bytes(got.body, alt=entry.title, filename="card")
        except BrandkitError as exc:
            # A card without its picture beats no announcement.
            logger.warning("feed %s: no card image for %r: %s", self.shown, entry.key, exc)
            return None
        if media.kind != "image":
            logger.warning("feed %s: the image of %r is a %s", self.shown, entry.key, media.kind)
            return None
        return media

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients and the state file, when the watcher made them."""
        if self._image_http is not None:
            self._image_http.close()
        if self._own_http:
            self.http.close()
        if self._own_state:
            self.state.close()

    def __enter__(self) -> FeedWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def watch(url: str, **options: Any) -> list[Announcement]:
    """The announcements of ``url``'s new entries, each entry returned once across
    restarts: the entries returned are marked done before this returns.

    ```python
    from brandkit import feeds

    for item in feeds.watch("https://blog.example.com/feed.xml", state="brandkit.db",
                            template="New: {title} {url}", skip_existing=True):
        outbox.add(item.post, [x, sky])
    ```

    This is at-most-once: should the process stop between this call and the publish (or
    the outbox's write), those entries are not offered again. Two calls at once on one
    state file (overlapping cron jobs) share the new entries: each is returned by one.
    For at-least-once, use `FeedWatcher.poll` and mark each entry with `FeedWatcher.done`
    after it is queued.

    Args:
        url: the feed's http(s) address.
        **options: those of `FeedWatcher` (``state``, ``template``, ``skip_existing``,
            ``limit``, ``images``, ``campaign``, ``utm``, ``http``, ``timeout``, ...).

    Raises:
        ConfigurationError: see `FeedWatcher`.
        PlatformError: the feed could not be fetched or read; see `FeedWatcher.poll`.
    """
    with FeedWatcher(url, **options) as watcher:
        # Only what this call marked: two runs at once (overlapping cron jobs) both read
        # the same pending entries, and each must go to one of them only.
        return [item for item in watcher.poll() if watcher.done(item)]
