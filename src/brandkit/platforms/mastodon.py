"""Mastodon (any instance): statuses, threads, media with alt text, metrics.

Facts used here (``platforms.md`` §2, checked against Mastodon's source and real recordings):

- Limits are per instance: ``prepare()`` reads ``GET /api/v2/instance`` (``/api/v1/instance``
  on servers older than 4.0) and renders against the instance's own ``max_characters``,
  ``characters_reserved_per_url``, media sizes, mime types and ``description_limit``.
- Media: ``POST /api/v2/media`` answers 200 (processed) or 202 (``url`` null, processing);
  ``GET /api/v1/media/:id`` answers 206 while processing and 200 when done. A status naming
  unprocessed media is refused with 422, so the flow waits for every attachment first.
- ``POST /api/v1/statuses`` takes an ``Idempotency-Key`` header that the server keeps for one
  hour per account; a repeat returns the status the first request created. The create is
  therefore safe to retry with the part's key.
- Tokens never expire and there is no refresh: a 401 means the token was revoked or is wrong.
- Rate limits: ``X-RateLimit-Limit/Remaining/Reset`` with an ISO 8601 reset; posting reports
  the ``statuses`` family (300 per 3 h), media uploads and deletes 30 per 30 min, everything
  else 300 per 5 min.
- Conversations: ``GET /api/v1/notifications?types[]=mention`` (and ``quote`` from 4.5)
  pages forward with ``min_id``, at most 80 a page (30 before 4.1); a mention whose status
  answers one of the account's statuses is a reply. A reply that does not mention the
  account makes no notification: ``GET /api/v1/statuses/:id/context`` finds those under one
  post. Mastodon cannot hide or delete others' replies; favouriting is a like. An edit
  notifies (``update``) only the local accounts that boosted the status
  (``FanOutOnWriteService#notify_about_update!``); a status read carries ``edited_at``.
- Listening (``compile_query``/``search``): a query of hashtags only reads the public tag
  timeline ``GET /api/v1/timelines/tag/:hashtag`` of each hashtag (excluded words that are
  tags as ``none[]``; not ``any[]``: an instance that does not know the path's tag answers
  nothing, and its ``TagFeed`` keeps 4 tags), forward with ``min_id``, 40 a page. Words and phrases
  go to the full-text ``GET /api/v2/search?type=statuses`` (a user token; 40 a page,
  ``offset``, newest first; ``min_id``/``max_id`` become ``after:``/``before:`` of the
  second): it finds only the account's own, favourited, bookmarked and mentioning statuses
  and public statuses of accounts that opted into being indexable, and only where the
  server runs Elasticsearch. ``any`` terms are alternatives Mastodon's search cannot OR:
  one search each. Languages are filtered on ``Status.language`` after reading (the
  search also gets ``language:`` when there is one).
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, cast
from urllib.parse import quote, unquote

import attrs
import httpx
import pydantic
import regex

from brandkit._counts import MetricCount
from brandkit._flow import Flow, Send, Wait
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.listening._query import (
    Query,
    SearchPage,
    UnsupportedQuery,
    canonical_query,
    cursor_tag,
    shows_hashtag,
)
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    MAX_RETRY_AFTER,
    Adapter,
    Answer,
    Capabilities,
    KeptUploads,
    MediaRules,
    PartRef,
    RatePolicy,
    ThreadContext,
    http_time,
    read_each,
    retry_after_of,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._times import UtcTime, parse_time
from brandkit.text._mastodon import hashtag_key

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._model import Post
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["MastodonAdapter"]

VISIBILITIES = ("public", "unlisted", "private", "direct")

# Mastodon keeps an Idempotency-Key for one hour. Past this age brandkit no longer trusts
# the key to find an earlier attempt and reads the account's recent statuses instead.
_KEY_TRUSTED_FOR = timedelta(minutes=50)
_MEDIA_REUSE_FOR = 12 * 3600.0
"""How long (seconds) uploads made for a part whose create did not succeed are sent again
with it: Mastodon removes uploads no status took once they are a day old
(``Vacuum::MediaAttachmentsVacuum::TTL``), so older ones are uploaded afresh."""
_CLOCK_SLACK = timedelta(minutes=10)
# A key is stamped by the clock of the host that made it. When its create is sent with a
# stamp this far past the instance's clock (the host's clock runs ahead), how far is kept
# with the part (`ThreadContext.progress`, under this name) for `find_part`, on any host.
_STAMP_AHEAD = "key_stamp_ahead"
_STAMP_AHEAD_KEPT = timedelta(minutes=1)
# More than any clock can be wrong by: a larger value read back is not one brandkit wrote.
_STAMP_AHEAD_MAX = timedelta(days=366)

_PROBE_LENGTH = 100_001
# The longest probe find_part sends: an instance whose limit is past it (one that means "no
# limit" may say 2147483647) would need a probe of gigabytes, so its statuses are read back.
_MAX_PROBE_LENGTH = 1_000_000
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_REMOTE_MENTION = re.compile(r"(?<![\w/=])@(\w+)@[\w.-]*\w", re.UNICODE)
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

# Status fields and the canonical metric each one is.
_COUNTS: tuple[tuple[str, Metric], ...] = (
    ("favourites_count", Metric.LIKES),
    ("reblogs_count", Metric.REPOSTS),
    ("replies_count", Metric.REPLIES),
    ("quotes_count", Metric.QUOTES),
)
_NOT_OFFERED: tuple[tuple[Metric, str], ...] = (
    (Metric.IMPRESSIONS, "Mastodon does not count views or impressions"),
    (Metric.REACH, "Mastodon does not report reach"),
    (Metric.LINK_CLICKS, "Mastodon does not count link clicks"),
)


# -- answers ---------------------------------------------------------------------------------
# Mastodon sends ids as JSON strings (they outgrow JavaScript numbers) and counts as integers.

# Ids go into request paths: nothing that could leave the path (``/``, ``?``, controls).
_Id = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9A-Za-z_.:-]{1,128}$")]
_Int = Annotated[int, pydantic.Strict()]


class _StatusLimits(Answer):
    max_characters: _Int | None = None
    characters_reserved_per_url: _Int | None = None
    max_media_attachments: _Int | None = None


class _MediaLimits(Answer):
    supported_mime_types: tuple[str, ...] = ()
    image_size_limit: _Int | None = None
    video_size_limit: _Int | None = None
    description_limit: _Int | None = None


class _Configuration(Answer):
    statuses: _StatusLimits = _StatusLimits()
    media_attachments: _MediaLimits = _MediaLimits()


class _Instance(Answer):
    """The instance document (v2, or v1 with ``max_toot_chars`` on older servers)."""

    configuration: _Configuration = _Configuration()
    max_toot_chars: _Int | None = None
    version: str | None = None


class _Ref(Answer):
    """Anything with an id (an account, a status)."""

    id: _Id


class _Created(Answer):
    """A Status as a create (or a repeat of it with the same key) answers it."""

    id: _Id
    url: str | None = None
    uri: str | None = None
    account: _Ref | None = None


class _Status(_Created):
    """A Status as a read-back compares it with the part."""

    content: str | None = None
    in_reply_to_id: str | None = None
    spoiler_text: str | None = None
    media_attachments: tuple[pydantic.JsonValue, ...] = ()


_Statuses = pydantic.RootModel[tuple[_Status, ...]]


class MetricCounts(Answer):
    """A Status as the metrics read it."""

    id: _Id
    created_at: str | None = None
    favourites_count: MetricCount | None = None
    reblogs_count: MetricCount | None = None
    replies_count: MetricCount | None = None
    quotes_count: MetricCount | None = None


# Statuses of a metrics lookup, each read on its own: one that cannot be read costs only
# its own samples.
MetricCountsList = pydantic.RootModel[tuple[MetricCounts, ...]]
_Items = pydantic.RootModel[tuple[dict[str, pydantic.JsonValue], ...]]


class _Attachment(Answer):
    """``POST /api/v2/media``: the attachment, with ``url`` null while it is processed."""

    id: _Id
    url: str | None = None


class _Writer(Answer):
    """The Account that wrote a status someone else sent."""

    id: _Id
    acct: str
    display_name: str | None = None
    url: str | None = None


class _Quote(Answer):
    """``Status.quote`` (4.4+): a Quote (with the quoted status) or a ShallowQuote (its id)."""

    state: str | None = None
    quoted_status_id: _Id | None = None
    quoted_status: _Ref | None = None


class _Said(Answer):
    """A Status someone else wrote, as the inbox reads it (``content`` is HTML)."""

    id: _Id
    created_at: UtcTime
    content: str = ""
    url: str | None = None
    uri: str | None = None
    in_reply_to_id: _Id | None = None
    in_reply_to_account_id: _Id | None = None
    visibility: str | None = None
    account: _Writer
    quote: _Quote | None = None
    # When its author last edited it (3.5+); null when never edited.
    edited_at: UtcTime | None = None


class _Notification(Answer):
    """``GET /api/v1/notifications``: one Notification (``status`` is null for some types)."""

    id: _Id
    type: str
    status: _Said | None = None


_Notifications = pydantic.RootModel[tuple[_Notification, ...]]
_Page = TypeVar("_Page", bound=pydantic.BaseModel)


class _Context(Answer):
    """``GET /api/v1/statuses/:id/context``."""

    ancestors: tuple[_Ref, ...]
    descendants: tuple[_Said, ...]


class _Cursor(pydantic.BaseModel):
    """What an inbox cursor holds: the newest notification read, who we are, and the
    instance's version with when it was read (so that a later read skips the instance)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    min_id: _Id
    me: _Id
    # The account's key: a process that has not read the account's id yet (``me``) still
    # refuses another account's cursor without a request (older cursors lack it).
    key: str | None = pydantic.Field(default=None, max_length=500)
    version: str | None = pydantic.Field(default=None, max_length=200)
    checked: _Int = 0


class _Me(Answer):
    """``GET /api/v1/accounts/verify_credentials``."""

    id: _Id


class _Followers(_Me):
    followers_count: MetricCount


class _FoundWriter(_Writer):
    followers_count: _Int | None = None


class _FoundTag(Answer):
    """A Status's tag: its ``name`` as the instance files it (see `hashtag_key`)."""

    name: Annotated[str, pydantic.StringConstraints(max_length=1000)]


class _FoundStatus(_Said):
    """A Status as listening reads it: ``_Said`` with the language, the author's followers
    and the tags."""

    language: str | None = None
    account: _FoundWriter
    tags: tuple[_FoundTag, ...] = ()


_FoundList = pydantic.RootModel[tuple[_FoundStatus, ...]]


class _SearchResults(Answer):
    """``GET /api/v2/search``: the Search entity (only ``statuses`` is read)."""

    statuses: tuple[_FoundStatus, ...]


class _Span(pydantic.BaseModel):
    """Where one request of a search stands: statuses up to ``floor`` are read; a search
    stopped midway also holds ``ceiling`` (the oldest status read) and ``top`` (the newest,
    the next floor once the rest below ``ceiling`` is read)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    floor: _Id | None = None
    ceiling: _Id | None = None
    top: _Id | None = None


class _SearchCursor(pydantic.BaseModel):
    """A listening cursor: the query and account it belongs to (``q``, `cursor_tag`;
    cursors written before it lack it) and one span per request the query compiles to, by
    its key."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    q: Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9a-f]{16}$")] | None = None
    spans: dict[Annotated[str, pydantic.StringConstraints(max_length=2000)], _Span] = (
        pydantic.Field(max_length=64)
    )


@attrs.frozen
class SearchRequest:
    """One request a Mastodon query compiles to.

    Attributes:
        path: ``/api/v1/timelines/tag/<tag>`` (the tag percent-encoded) or
            ``/api/v2/search``.
        params: its query parameters, without paging (``min_id``, ``max_id``, ``offset``,
            ``limit`` are added while reading).
        timeline: whether it is a tag timeline (read forward) or a full-text search (read
            newest first).
        alternative: the ``any`` term (or hashtag's word) this search stands for, when the
            query has several (the hashtag of a tag timeline): a status that an earlier
            alternative's request also finds is left to that one, so that it is found once
            even across stops at ``limit``.
    """

    path: str
    params: tuple[tuple[str, str], ...]
    timeline: bool
    alternative: str | None = None

    @property
    def key(self) -> str:
        """What the cursor files this request's progress under."""
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.params)


# What the adapter does beyond publishing: read mentions, replies and quotes (from the
# notifications and a post's context) and favourite them; Mastodon has no way to hide or
# delete someone else's status. Listening (search) is declared here until the built-in
# table names it.
_CAPABILITIES = BUILTIN_CAPABILITIES["mastodon"]

# Mastodon's hashtag names (Tag::HASHTAG_NAME_RE): word characters, the middle dot and ZWNJ,
# with at least one letter; emoji are not hashtags on Mastodon. Onigmo's [[:word:]] and
# [[:alpha:]] take combining marks (Devanagari's or Thai's vowel signs: #भारत is one tag),
# which Python's re \w does not: the regex module's \w and \p{Alphabetic} do.
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")
_TAG_NAME = regex.compile(r"(?=[\w·\u200c]*\p{Alphabetic})[\w·\u200c]+")
_SEARCH_PAGE = 40
# TagFeed::LIMIT_PER_MODE: a tag timeline reads at most 4 tags of each of any/all/none.
_TAGS_PER_MODE = 4


def _upgrade_tag_spans(
    spans: dict[str, _Span], requests: Sequence[SearchRequest], query: Query
) -> None:
    """Read a cursor of the one tag timeline brandkit read a query of hashtags with before
    (the first tag in the path, the others as ``any[]``) as the spans of the timelines of
    each tag: the tags that timeline surely read (the first 4 given: Mastodon's TagFeed
    reads no more) go on from where it stopped; the others start over."""
    if not requests or not all(r.timeline for r in requests):
        return
    first, *rest = query.hashtags
    params = [("any[]", t) for t in rest]
    params += [("none[]", w) for w in query.exclude if _TAG_NAME.fullmatch(w)]
    path = f"/api/v1/timelines/tag/{quote(first, safe='')}"
    old = path + "?" + "&".join(f"{k}={v}" for k, v in params)
    span = spans.get(old)
    if span is None or old in {r.key for r in requests}:
        return
    del spans[old]
    read = {t.lower() for t in query.hashtags[:_TAGS_PER_MODE]}
    for request in requests:
        if unquote(request.path.rsplit("/", 1)[-1]).lower() in read:
            spans.setdefault(request.key, span)


class MastodonAdapter(Adapter):
    """Publishes to one Mastodon account; see the module docstring for the protocol.

    Attributes:
        media_poll_initial: the first wait (seconds) before asking whether an upload is
            processed; waits double up to ``media_poll_max``.
        media_poll_max: the longest wait between two polls.
        media_timeout: how long to wait for processing before giving up with
            [`PlatformUnavailable`][brandkit.errors.PlatformUnavailable].
        readback_pages: how many pages of 40 recent statuses `find_part` reads when an
            attempt is too old for its idempotency key.
    """

    name: ClassVar[str] = "mastodon"
    capabilities: ClassVar[Capabilities] = _CAPABILITIES
    # Buckets follow the families whose headers Mastodon sends back for each request.
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # Rack::Attack counts every authenticated request against it.
        RatePolicy("api", 300, 5 * 60.0, every_request=True),
        RatePolicy("statuses", 300, 3 * 3600.0),
        RatePolicy("media", 30, 30 * 60.0),
        RatePolicy("delete", 30, 30 * 60.0),
    )
    metrics_batch_size: ClassVar[int] = 20
    search_page: ClassVar[int] = _SEARCH_PAGE

    media_poll_initial: ClassVar[float] = 0.5
    media_poll_max: ClassVar[float] = 5.0
    media_timeout: ClassVar[float] = 600.0
    readback_pages: ClassVar[int] = 5
    instance_max_age: ClassVar[float] = 24 * 3600.0

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        self._caps: Capabilities | None = None
        self._version: str | None = None
        self._version_checked = 0
        self._account_id: str | None = None
        self._batch_lookup = True
        self.clock: Callable[[], float] = time.time
        # How far this machine's clock is ahead of the instance's, as of the last answer
        # that carried a Date (None before one).
        self._ahead: timedelta | None = None
        # Media uploaded for a part whose create has not succeeded yet, by the part's key,
        # with when their upload began: a repeated publish_part reuses them instead of
        # uploading again, while the instance keeps them.
        self._uploaded = KeptUploads(_MEDIA_REUSE_FOR)

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        token = self.account.secret("token") or ""
        all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        return httpx.Request(
            method,
            self.url(path),
            params=params,
            json=json,
            data=data,
            files=files,
            headers=all_headers,
        )

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Read the instance's limits (once per adapter) and return capabilities built
        from them.

        Raises:
            PlatformError: the instance refused (typed by `error_for`).
        """
        if self._caps is not None:
            return self._caps
        response = yield Send(
            self._request("GET", "/api/v2/instance"), idempotent=True, bucket="api"
        )
        if response.status_code == 404:
            # Mastodon before 4.0 (and some other servers) only have the v1 document.
            response = yield Send(
                self._request("GET", "/api/v1/instance"), idempotent=True, bucket="api"
            )
        instance = self.parse(response, _Instance)
        self._saw_date(response)
        self._caps = _capabilities(instance)
        self._version = instance.version
        self._version_checked = int(datetime.now(UTC).timestamp())
        return self._caps

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Upload the part's media (waiting until each is processed), then create the status
        as a reply to ``thread.parent`` with the part's key as ``Idempotency-Key``.

        Raises:
            ContentError: ``options["visibility"]`` is not a Mastodon visibility, or
                ``options["sensitive"]`` is not a bool.
            PlatformError: the instance refused (typed by `error_for`).
            MalformedResponse: a success answer without the status's (or an upload's) id.
        """
        body = self._status_body(rendered, part, thread)
        media_ids = yield from self._part_media(part, thread)
        if media_ids:
            body["media_ids"] = list(media_ids)
        self._keep_stamp_ahead(thread)
        try:
            response = yield Send(
                self._request(
                    "POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": thread.key}
                ),
                idempotent=True,
                creates=True,
                bucket="statuses",
            )
            status = self.parse(response, _Created)
        except Rejected:
            # A refusal is final (the uploads may be what was refused): a later attempt of
            # the part uploads afresh.
            self._uploaded.pop(thread.key)
            raise
        self._uploaded.pop(thread.key)
        self._saw_date(response)
        if status.account is not None:
            # Who we are, for free: the inbox tells replies to us from other mentions by it.
            self._account_id = status.account.id
        return _ref(part.index, status)

    def _saw_date(self, response: httpx.Response) -> datetime | None:
        """Note how far this machine's clock is ahead of the instance's ``Date``; that
        ``Date`` (None when missing or unreadable)."""
        date = _date(response)
        if date is not None:
            self._ahead = datetime.fromtimestamp(self.clock(), UTC) - date
        return date

    def _keep_stamp_ahead(self, thread: ThreadContext) -> None:
        """Before the part's create leaves: when its key's stamp is past the instance's
        clock (the host that made it runs ahead), keep by how much with the part, the most
        of every attempt. `find_part` takes the key's time back by it, on any host."""
        started = tid_time(thread.key)
        if started is None or self._ahead is None:
            return
        instance_now = datetime.fromtimestamp(self.clock(), UTC) - self._ahead
        ahead = min(started - instance_now, _STAMP_AHEAD_MAX)
        ahead = max(ahead, _stamp_ahead(thread))
        if ahead > _STAMP_AHEAD_KEPT:
            thread.progress[_STAMP_AHEAD] = str(int(ahead.total_seconds()) + 1)

    def _status_body(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> dict[str, Any]:
        visibility = rendered.options.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            raise ContentError(
                f"Mastodon visibility must be one of {', '.join(VISIBILITIES)}, got {visibility!r}",
                field="options.visibility",
                platform=self.name,
            )
        body: dict[str, Any] = {"status": part.text, "visibility": visibility}
        if thread.parent is not None:
            body["in_reply_to_id"] = thread.parent.id
        if rendered.content_warning:
            body["spoiler_text"] = rendered.content_warning
        if rendered.language:
            body["language"] = rendered.language
        sensitive = rendered.options.get("sensitive")
        if sensitive is not None:
            if not isinstance(sensitive, bool):
                # bool("false") is True: a string would hide the media the user meant to show.
                raise ContentError(
                    f"Mastodon sensitive must be True or False, got {sensitive!r}",
                    field="options.sensitive",
                    platform=self.name,
                )
            body["sensitive"] = sensitive
        return body

    def _part_media(self, part: RenderedPart, thread: ThreadContext) -> Flow[list[str]]:
        """The part's media ids: those an earlier attempt of this part uploaded, while the
        instance still keeps them, else new uploads."""
        now = self.clock()
        kept = self._uploaded.get(thread.key, len(part.media), now)
        if kept is not None:
            return kept
        media_ids: list[str] = []
        for media in part.media:
            media_ids.append((yield from self._upload(media)))
        self._uploaded.put(thread.key, now, media_ids)
        return media_ids

    def _upload(self, media: Media) -> Flow[str]:
        """Upload one attachment with its alt text and wait until it is processed."""
        data = {"description": media.alt} if media.alt else None
        files = {"file": (media.filename, cast(IO[bytes], _ChunkReader(media)), media.mime_type)}
        response = yield Send(
            self._request("POST", "/api/v2/media", data=data, files=files),
            idempotent=True,
            bucket="media",
        )
        attachment = self.parse(response, _Attachment)
        media_id = attachment.id
        if response.status_code == 200 and attachment.url:
            return media_id
        waited, delay = 0.0, self.media_poll_initial
        while True:
            if waited >= self.media_timeout:
                raise PlatformUnavailable(
                    f"mastodon: media {media_id} was still being processed after {waited:.0f} s",
                    platform=self.name,
                )
            yield Wait(delay)
            waited += delay
            delay = min(delay * 2, self.media_poll_max)
            response = yield Send(
                self._request("GET", f"/api/v1/media/{media_id}"), idempotent=True, bucket="api"
            )
            if self.check(response).status_code == 200:
                return media_id

    # -- find --------------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the status an earlier attempt of this part created, without creating one.

        First a create with the part's key and a text far over the instance's limit asks the
        server: Mastodon answers a key it knows with the original status, before validating,
        and refuses the text otherwise. Mastodon forgets keys after an hour, so unless the
        key (a TID) was made clearly within that hour by the server's clock, the account's
        statuses since the attempt are also read back and matched on reply target, content
        warning, text and media count. The key's time is taken back by however far the
        clock that stamped it was ahead of the instance's when its create was sent (kept
        with the part), and by how far this machine's clock is ahead of it now, so that no
        clock running ahead makes an old key look young. An instance whose limit is a
        million characters or more gets no probe (it would be megabytes, or gigabytes): its
        statuses are read back whatever the key's age.

        Raises:
            PlatformError: the instance could not be asked.
        """
        caps = yield from self.prepare()
        response = yield Send(
            self._request("GET", "/api/v1/accounts/verify_credentials"),
            idempotent=True,
            bucket="api",
        )
        self._account_id = self.parse(response, _Me).id
        now = self._saw_date(response) or datetime.now(UTC)  # as server_time, read once
        limit = int(caps.text_options.get("max_characters", 500))
        probed = limit < _MAX_PROBE_LENGTH
        if probed:
            found = yield from self._probe(limit, part, thread)
            if found is not None:
                return found
        started = tid_time(thread.key)
        if started is not None:
            # A stamp ahead of the instance's clock makes the key look younger than it is:
            # trusted past Mastodon's hour, or read back from after the status, the part
            # was posted twice. Taking back too much only reads back more.
            ahead = max(_stamp_ahead(thread), self._ahead or timedelta(0))
            started -= min(ahead, _STAMP_AHEAD_MAX)
        if probed and started is not None and -_CLOCK_SLACK < now - started < _KEY_TRUSTED_FOR:
            return None  # the key is still remembered, so the server's answer is the truth
        # A key's time in the future means a clock went wrong: do not bound the read-back.
        since = started if started is not None and started < now + _CLOCK_SLACK else None
        return (yield from self._read_back(rendered, part, thread, since))

    def _probe(self, limit: int, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        # Far over any real limit, in case the instance document understates it; and direct,
        # so that nobody would see it if a server took it anyway.
        probe = "x" * max(limit + 1, _PROBE_LENGTH)
        body = {"status": probe, "visibility": "direct"}
        response = yield Send(
            self._request(
                "POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": thread.key}
            ),
            idempotent=True,
            bucket="statuses",
        )
        if response.status_code == 422:
            return None  # the over-long probe was validated: the key created nothing
        status = self.parse(response, _Status)
        if _squash(_html_text(status.content or "")) == probe:
            # A server that ignores the key or the limit made the probe a status: undo it.
            # The key did not name an earlier status, or the server would have answered it.
            yield from self.delete_part(_ref(part.index, status))
            return None
        return _ref(part.index, status)

    def _read_back(
        self,
        rendered: Rendered,
        part: RenderedPart,
        thread: ThreadContext,
        since: datetime | None,
    ) -> Flow[PartRef | None]:
        parent = thread.parent.id if thread.parent is not None else None
        warning = rendered.content_warning or ""
        wanted = {_squash(part.text), _squash(_REMOTE_MENTION.sub(r"@\1", part.text))}
        params: dict[str, str] = {"limit": "40", "exclude_reblogs": "true"}
        if since is not None:
            # Mastodon ids are milliseconds since the epoch shifted 16 bits: min_id pages
            # forward from just before the attempt.
            params["min_id"] = str(int((since - _CLOCK_SLACK).timestamp() * 1000) << 16)
        matches: list[_Status] = []
        for _ in range(self.readback_pages):
            response = yield Send(
                self._request(
                    "GET", f"/api/v1/accounts/{self._account_id}/statuses", params=params
                ),
                idempotent=True,
                bucket="api",
            )
            # Strict: a status brandkit cannot read might be the one looked for.
            page = self.parse(response, _Statuses).root
            if not page:
                break
            for status in page:
                if (
                    status.in_reply_to_id == parent
                    and (status.spoiler_text or "") == warning
                    and len(status.media_attachments) == len(part.media)
                    and _squash(_html_text(status.content or "")) in wanted
                    # Another delivery's status (`ThreadContext.taken`) is not this one.
                    and status.id not in thread.taken
                ):
                    matches.append(status)
            ids = sorted((s.id for s in page), key=_id_order)
            if "min_id" in params:
                params["min_id"] = ids[-1]
            else:
                params["max_id"] = ids[0]
        if not matches:
            return None
        oldest = min(matches, key=lambda s: _id_order(s.id))
        return _ref(part.index, oldest)

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Delete one status; one that is already gone counts as deleted.

        Raises:
            MalformedResponse: a success answer that is not the deleted status: it may
                still be up, so it does not count as deleted.
            PlatformError: the instance refused (typed by `error_for`).
        """
        response = yield Send(
            self._request("DELETE", f"/api/v1/statuses/{ref.id}"), idempotent=True, bucket="delete"
        )
        if response.status_code == 404:
            return
        if self.check(response).content.strip() == b"{}":
            return  # Mastodon before 2.9 (and older Pleroma) answered an empty object
        gone = self.parse(response, _Ref)
        if gone.id != ref.id:
            raise MalformedResponse(
                f"mastodon answered the deletion of status {ref.id} with status {gone.id}; "
                "it may still be up: delete it again",
                platform=self.name,
                status_code=response.status_code,
            )

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Likes, reposts, replies and quotes of up to 20 statuses in one request
        (``GET /api/v1/statuses?id[]=…``); views, reach and link clicks come back
        unavailable, because Mastodon does not count them.

        Raises:
            PlatformError: the instance refused (typed by `error_for`).
        """
        samples: list[MetricSample] = []
        size = self.metrics_batch_size
        for start in range(0, len(refs), size):
            batch = refs[start : start + size]
            by_id = yield from self._statuses(batch)
            fetched_at = datetime.now(UTC)
            for ref in batch:
                samples.extend(self._samples(ref, by_id.get(ref.id), fetched_at))
        return samples

    def _statuses(self, refs: Sequence[PartRef]) -> Flow[dict[str, MetricCounts | str]]:
        """The statuses' counts by id; the reason instead, for a status that cannot be read."""
        if self._batch_lookup:
            params = [("id[]", ref.id) for ref in refs]
            response = yield Send(
                self._request("GET", "/api/v1/statuses", params=params),
                idempotent=True,
                bucket="api",
            )
            if response.status_code != 404:
                return self._read_counts(response)
            # No batch lookup before Mastodon 4.3: read the statuses one by one.
            self._batch_lookup = False
        found: dict[str, MetricCounts | str] = {}
        for ref in refs:
            response = yield Send(
                self._request("GET", f"/api/v1/statuses/{ref.id}"), idempotent=True, bucket="api"
            )
            if response.status_code != 404:
                try:
                    found[ref.id] = self.parse(response, MetricCounts)
                except MalformedResponse as exc:
                    found[ref.id] = str(exc)
        return found

    def _read_counts(self, response: httpx.Response) -> dict[str, MetricCounts | str]:
        try:
            # The common case, in one pass over the bytes.
            return {s.id: s for s in self.parse(response, MetricCountsList).root}
        except MalformedResponse:
            pass
        # Item by item: a status that cannot be read costs only its own samples.
        statuses, reasons = read_each(
            self.name, self.parse(response, _Items).root, MetricCounts, "id", "status"
        )
        found: dict[str, MetricCounts | str] = dict(reasons)
        found.update((c.id, c) for c in statuses)
        return found

    def _samples(
        self, ref: PartRef, status: MetricCounts | str | None, fetched_at: datetime
    ) -> Iterator[MetricSample]:
        """The samples of one status; ``status`` is the reason when it could not be read."""
        common: dict[str, Any] = {
            "platform": self.name,
            "account": self.account.key,
            "post_id": ref.id,
            "fetched_at": fetched_at,
        }
        posted_at = parse_time(status.created_at) if isinstance(status, MetricCounts) else None
        for raw, metric in _COUNTS:
            value = getattr(status, raw) if isinstance(status, MetricCounts) else None
            if status is None:
                reason = "the status was not returned: deleted, or not visible to this account"
            elif isinstance(status, str):
                reason = status
            elif value is not None:
                yield MetricSample(
                    metric=metric.value,
                    value=value,
                    raw_name=raw,
                    posted_at=posted_at,
                    **common,
                )
                continue
            else:
                reason = f"this server does not send {raw} (quotes need Mastodon 4.5 or newer)"
            yield MetricSample.unavailable(
                metric=metric.value, raw_name=raw, reason=reason, **common
            )
        for metric, reason in _NOT_OFFERED:
            yield MetricSample.unavailable(metric=metric.value, reason=reason, **common)

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """The account's followers (``GET /api/v1/accounts/verify_credentials``).

        Raises:
            PlatformError: the instance refused (typed by `error_for`).
        """
        response = yield Send(
            self._request("GET", "/api/v1/accounts/verify_credentials"),
            idempotent=True,
            bucket="api",
        )
        data = self.parse(response, _Followers)
        self._account_id = data.id
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=data.followers_count,
                fetched_at=datetime.now(UTC),
                raw_name="followers_count",
            )
        ]

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """Mentions, replies and (from Mastodon 4.5) quotes since ``cursor``, from
        ``GET /api/v1/notifications?types[]=mention&types[]=quote&types[]=update``, paging
        forward with ``min_id`` at the largest page the instance allows (80; 30 before 4.1).
        From 4.3 those the account's notification policy filtered are read too
        (``include_filtered=true``): direct messages from accounts it does not follow, and
        messages from accounts a moderator limited.

        Each message carries the status as it is at the read, with ``edited_at`` when it
        was edited. An edit made after the read comes again only when the account boosted
        the status (Mastodon's ``update`` notification goes to those alone), as a reply or
        mention of the account; `replies` reads the current text of a post's replies.

        A mention whose status answers one of the account's statuses is a ``"reply"``
        (``in_reply_to`` and ``our_post``: that status); a quote's ``our_post`` is the
        quoted status. The cursor remembers the newest notification read, the account's id
        and the instance's version, so a read from a cursor usually costs one request.

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter made (pass ``None``).
            PlatformError: the instance refused a read (typed by `error_for`).
            MalformedResponse: a page brandkit cannot read, or one that does not move past
                the cursor (nothing is skipped: the cursor is not moved past it).
        """
        state = self._read_cursor(cursor)
        if state is not None and (
            self._account_id not in (None, state.me)
            or (self._account_id is None and state.key not in (None, self.account.key))
        ):
            raise ConfigurationError(
                f"this Mastodon inbox cursor belongs to another account than "
                f"{self.account.key}: pass since=None, or the cursor saved for this account"
            )
        version, checked = self._version, self._version_checked
        now = int(datetime.now(UTC).timestamp())
        if self._caps is None and state is not None and now - state.checked < self.instance_max_age:
            version, checked = state.version, state.checked
        elif self._caps is None:
            yield from self.prepare()
            version, checked = self._version, self._version_checked
        me = state.me if state is not None else (yield from self._whoami())
        size, exact, quotes = notification_paging(version)
        types = [("types[]", "mention")] + ([("types[]", "quote")] if quotes else [])
        # An edit of a status the account boosted (3.5+; Mastodon notifies no one else of
        # an edit, not even the accounts it mentions): its new text replaces the stored one.
        types.append(("types[]", "update"))
        if (_release(version) or (0, 0)) >= (4, 3):
            # 4.3's notification policies file a direct message from an account the brand
            # does not follow (a customer writing privately, by default) and anything from
            # an account a moderator limited as "filtered", listed only on request: the
            # inbox would never see them, nor could anyone answer them.
            types.append(("include_filtered", "true"))
        min_id = state.min_id if state is not None else "0"
        found: dict[str, Message] = {}
        read, more = 0, False
        while True:
            ask = min(size, limit - read)
            response = yield Send(
                self._request(
                    "GET",
                    "/api/v1/notifications",
                    params=[*types, ("min_id", min_id), ("limit", str(ask))],
                ),
                idempotent=True,
                bucket="api",
            )
            # Strict: a notification brandkit cannot read is not skipped past.
            notifications, raw = self.parse_with_body(response, _Notifications)
            page = notifications.root
            if not page:
                break
            if any(_id_order(n.id) <= _id_order(min_id) for n in page):
                raise MalformedResponse(
                    f"mastodon answered notifications at or before min_id={min_id}: the "
                    "server does not page forward with min_id, so brandkit cannot read its "
                    "inbox without repeating or missing messages",
                    platform=self.name,
                    status_code=response.status_code,
                )
            for notification, item in zip(page, raw, strict=True):
                message = self._notified(notification, item.get("status"), me)
                if message is not None and _RANK[message.kind] > _RANK.get(
                    found[message.id].kind if message.id in found else "", -1
                ):
                    found[message.id] = message
            read += len(page)
            min_id = max((n.id for n in page), key=_id_order)
            if exact and len(page) < ask:
                break  # the instance had fewer than asked: nothing newer is left
            if read >= limit:
                more = True
                break
        new_cursor = _Cursor(
            v=1, min_id=min_id, me=me, key=self.account.key, version=version, checked=checked
        )
        return InboxPage(
            # Oldest first; ids (time-ordered on Mastodon) break ties of the same millisecond.
            messages=sorted(found.values(), key=lambda m: (m.created_at, _id_order(m.id))),
            cursor=new_cursor.model_dump_json(),
            more=more,
        )

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """The replies under the post whose parts are ``refs``, from
        ``GET /api/v1/statuses/:id/context`` of its first part (up to 4,096 descendants),
        the account's own statuses left out. Replies that do not mention the account, which
        the inbox cannot see, are found here too.

        Raises:
            ConfigurationError: a part id that is not a Mastodon id.
            PlatformError: the instance refused (404: the post is gone).
        """
        root = refs[0]
        _check_id(root.id, "the post's first part")
        me = yield from self._whoami()
        response = yield Send(
            self._request("GET", f"/api/v1/statuses/{root.id}/context"),
            idempotent=True,
            bucket="api",
        )
        context, body = self.parse_with_body(response, _Context)
        raw = body["descendants"]
        conversation = context.ancestors[0].id if context.ancestors else root.id
        out: list[Message] = []
        for status, item in zip(context.descendants, raw, strict=True):
            if status.account.id == me:
                continue
            out.append(
                self._message(
                    status,
                    item,
                    kind="reply",
                    our_post=root.id,
                    conversation=conversation,
                )
            )
        return sorted(out, key=lambda m: (m.created_at, _id_order(m.id)))

    def reply_target(self, message: Message) -> PartRef:
        """The status ``message`` as the parent of an answer (``in_reply_to_id``).

        Raises:
            ConfigurationError: the message belongs to another account, or its id is not a
                Mastodon status id.
        """
        self.check_message(message)
        _check_id(message.id, "the message")
        return PartRef(index=0, id=message.id, url=message.url)

    def reply_post(self, message: Message, post: Post) -> Post:
        """``post`` with the author's ``@handle`` first, as Mastodon's web app writes a
        reply (Mastodon notifies only the accounts a status mentions), unless the text
        already mentions them; a reply to an unlisted, followers-only or direct status keeps
        that visibility unless the post sets one. Remote mentions count without their domain,
        so the handle costs only ``@user `` of the instance's limit."""
        handle = message.author.handle
        changes: dict[str, Any] = {}
        if handle and _HANDLE.fullmatch(handle):
            changes["text"] = _mentioning(post.text, handle)
            variant = post.variants.get(self.name)
            if variant is not None and variant.text is not None:
                variants = dict(post.variants)
                variants[self.name] = variant.model_copy(
                    update={"text": _mentioning(variant.text, handle)}
                )
                changes["variants"] = variants
        visibility = message.extra.get("visibility")
        variant = post.variants.get(self.name)
        chosen = "visibility" in post.options or (
            variant is not None and "visibility" in (variant.options or {})
        )
        if not chosen and visibility in ("unlisted", "private", "direct"):
            changes["options"] = {**post.options, "visibility": visibility}
        return post.model_copy(update=changes) if changes else post

    def like(self, message: Message) -> Flow[None]:
        """Favourite the status (``POST /api/v1/statuses/:id/favourite``; favouriting one
        already favourited is a success).

        Raises:
            ConfigurationError: the message id is not a Mastodon status id.
            PlatformError: the instance refused (404: the status is gone or not visible).
        """
        _check_id(message.id, "the message")
        response = yield Send(
            self._request("POST", f"/api/v1/statuses/{message.id}/favourite"),
            idempotent=True,
            bucket="api",
        )
        self.parse(response, _Ref)

    def _whoami(self) -> Flow[str]:
        """The account's id: known from a create's answer or an earlier call, else read."""
        if self._account_id is None:
            response = yield Send(
                self._request("GET", "/api/v1/accounts/verify_credentials"),
                idempotent=True,
                bucket="api",
            )
            self._account_id = self.parse(response, _Me).id
        return self._account_id

    def _read_cursor(self, cursor: str | None) -> _Cursor | None:
        if cursor is None:
            return None
        try:
            return _Cursor.model_validate_json(cursor)
        except (pydantic.ValidationError, ValueError):
            shown = cursor if len(cursor) <= 40 else cursor[:37] + "..."
            raise ConfigurationError(
                f"{shown!r} is not a Mastodon inbox cursor brandkit made: pass since=None "
                "to read from the start (messages already stored are not added twice)"
            ) from None

    def _notified(self, notification: _Notification, raw: Any, me: str) -> Message | None:
        """The message a notification is about, or ``None`` (no status, or our own)."""
        status = notification.status
        if status is None or status.account.id == me:
            return None
        if notification.type not in ("mention", "quote", "update"):
            return None  # the read asks for these types only; a server may send more
        if status.in_reply_to_id is not None and status.in_reply_to_account_id == me:
            return self._message(status, raw, kind="reply", our_post=status.in_reply_to_id)
        if notification.type == "update":
            # Any status the account boosted: a message to it only if it mentions it.
            mentions = raw.get("mentions") if isinstance(raw, dict) else None
            if not isinstance(mentions, list) or not any(
                isinstance(m, dict) and m.get("id") == me for m in mentions
            ):
                return None
            return self._message(status, raw, kind="mention", our_post=None)
        if notification.type == "quote":
            quoted = status.quote
            our_post = None
            if quoted is not None:
                our_post = quoted.quoted_status_id or (
                    quoted.quoted_status.id if quoted.quoted_status else None
                )
            return self._message(status, raw, kind="quote", our_post=our_post)
        return self._message(status, raw, kind="mention", our_post=None)

    def _message(
        self,
        status: _Said,
        raw: Any,
        *,
        kind: str,
        our_post: str | None,
        conversation: str | None = None,
    ) -> Message:
        writer = status.account
        return Message(
            platform=self.name,
            account=self.account.key,
            id=status.id,
            kind=kind,
            author=Author(
                id=writer.id,
                handle=writer.acct,
                name=writer.display_name or None,
                url=writer.url,
            ),
            text=plain_text(status.content),
            created_at=status.created_at,
            url=status.url or status.uri,
            in_reply_to=status.in_reply_to_id,
            conversation=conversation,
            our_post=our_post,
            raw=raw if isinstance(raw, dict) else {},
            extra={"visibility": status.visibility} if status.visibility else {},
            edited_at=status.edited_at,
        )

    # -- listening ---------------------------------------------------------------------------

    def compile_query(self, query: Query) -> tuple[SearchRequest, ...]:
        """The requests that find ``query`` on Mastodon (no I/O).

        Hashtags alone read the tag timeline of each hashtag, with the excluded words that
        are hashtag names as ``none[]`` (the first 4: Mastodon's ``TagFeed`` reads no
        more; the rest are dropped after reading). Not one timeline with the other tags as
        ``any[]``: Mastodon answers an empty timeline when it does not know the path's tag
        (``TagController``), and keeps only the first 4 of the path's tag and ``any[]``
        (``TagFeed::LIMIT_PER_MODE``), so statuses of the other tags would be lost. Anything with
        words or phrases is a full-text ``/api/v2/search``: the words of ``all`` and the
        phrases (quoted) must all appear, ``exclude`` becomes ``-term``, one language becomes
        ``language:xx``; each ``any`` term (and each hashtag, searched as its word) is a
        search of its own, since Mastodon's search has no OR. What was read is then narrowed
        to `Query.matches` (exact words, languages, times).

        Raises:
            UnsupportedQuery: ``handles`` (Mastodon has no mention operator), a hashtag that
                is not a Mastodon hashtag name (emoji, punctuation, digits only), a term
                with a double quote (Mastodon's syntax cannot escape one), or a language
                that is not an ISO 639 code (``english``, ``en_US``).
        """
        if query.handles:
            raise UnsupportedQuery(
                "Mastodon's search has no mention operator (from: is the author only): leave "
                "handles= out; the account's own mentions come from inbox()",
                platform=self.name,
                feature="handles",
            )
        for tag in query.hashtags:
            if not _TAG_NAME.fullmatch(tag):
                raise UnsupportedQuery(
                    f"#{tag} is not a Mastodon hashtag (letters, digits, _ and ·, at least "
                    "one letter; emoji and punctuation are not part of hashtags there): leave "
                    "it out or search its word with any=",
                    platform=self.name,
                    feature="hashtags",
                )
        for language in query.languages:
            # A status's language is an ISO 639 code ("en", "kab", "zh-TW"): a name or a
            # locale ("english", "en_US") would match nothing, in the search and after it.
            if not _LANGUAGE_CODE.fullmatch(language):
                raise UnsupportedQuery(
                    f"{language!r} is not a language code Mastodon gives statuses (ISO 639, "
                    "e.g. 'en', 'pt', 'zh-TW')",
                    platform=self.name,
                    feature="languages",
                )
        if not (query.any or query.all or query.phrases):
            # none[] drops statuses tagged with the word; the same word untagged in the text
            # (and a fifth excluded tag, which TagFeed would not read) is dropped after
            # reading (Query.matches).
            excluded = [w for w in query.exclude if _TAG_NAME.fullmatch(w)]
            none = tuple(("none[]", w) for w in excluded[:_TAGS_PER_MODE])
            # Mastodon's tags ignore case: one timeline per tag.
            tags: list[str] = []
            for tag in query.hashtags:
                if tag.lower() not in {t.lower() for t in tags}:
                    tags.append(tag)
            return tuple(
                SearchRequest(
                    path=f"/api/v1/timelines/tag/{quote(tag, safe='')}",
                    params=none,
                    timeline=True,
                    alternative=tag if len(tags) > 1 else None,
                )
                for tag in tags
            )
        shared = [_search_term(t) for t in (*query.all, *query.phrases)]
        shared += [f"-{_search_term(t)}" for t in query.exclude]
        if len(query.languages) == 1:
            shared.append(f"language:{_search_term(query.languages[0])}")
        alternatives: list[str | None] = [*query.any, *query.hashtags] or [None]
        out = []
        for alternative in dict.fromkeys(alternatives):
            words = ([_search_term(alternative)] if alternative else []) + shared
            q = " ".join(words)
            search = (("q", q), ("type", "statuses"), ("resolve", "false"))
            out.append(
                SearchRequest(
                    path="/api/v2/search", params=search, timeline=False, alternative=alternative
                )
            )
        return tuple(out)

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """Public statuses matching ``query`` since ``cursor``, read through the requests
        `compile_query` makes, 40 a page: a tag timeline forward from the newest status
        read (``min_id``), a full-text search newest first by ``offset`` above it. Each
        status read is kept when `Query.matches` it; the cursor holds each request's newest
        status (and, after a stop at ``limit`` inside a search, where to resume), and names
        the query and the account (`cursor_tag`).

        Raises:
            UnsupportedQuery: see `compile_query`.
            ConfigurationError: ``cursor`` is not one this adapter made for this query and
                account (pass ``None``), before any request.
            PlatformError: the instance refused (typed by `error_for`; the full-text
                search needs a user token).
            MalformedResponse: an answer brandkit cannot read, or a tag timeline that does
                not page forward.
        """
        requests = self.compile_query(query)
        # Status ids are the instance's own: the cursor names it too.
        tag = cursor_tag(self.account.key, self.account.base_url or "", canonical_query(query))
        spans = self._read_search_cursor(cursor, requests, query, tag)
        low = _snowflake(query.since - timedelta(seconds=1)) if query.since else None
        high = _snowflake(query.until + timedelta(seconds=1)) if query.until else None
        found: dict[str, Message] = {}
        out: dict[str, _Span] = {}
        read, more = 0, False
        for index, request in enumerate(requests):
            earlier = tuple(r.alternative for r in requests[:index] if r.alternative)
            claimed = None
            if earlier:
                # A tag timeline lists the statuses tagged with its tag; a search, those with
                # its word.
                claimed = Query(hashtags=earlier) if request.timeline else Query(any=earlier)
            span = spans.get(request.key, _Span())
            if more:
                out[request.key] = span  # not reached this time: next time from where it was
                continue
            reader = self._read_timeline if request.timeline else self._read_search
            span, count, more = yield from reader(
                request, span, (query, claimed), found, limit - read, low, high
            )
            out[request.key] = span
            read += count
        state = _SearchCursor(v=1, q=tag, spans=out)
        return SearchPage(
            messages=sorted(found.values(), key=lambda m: (m.created_at, _id_order(m.id))),
            cursor=state.model_dump_json(exclude_none=True),
            more=more,
            read=read,
        )

    def _read_timeline(
        self,
        request: SearchRequest,
        span: _Span,
        query: tuple[Query, Query | None],
        found: dict[str, Message],
        budget: int,
        low: str | None,
        high: str | None,
    ) -> Flow[tuple[_Span, int, bool]]:
        min_id = _later(span.floor, low) or "0"
        read = 0
        while True:
            params = [*request.params, ("min_id", min_id), ("limit", str(self.search_page))]
            if high is not None:
                params.append(("max_id", high))
            response = yield Send(
                self._request("GET", request.path, params=params), idempotent=True, bucket="api"
            )
            found_list, body = self.parse_with_body(response, _FoundList)
            page = found_list.root
            if not page:
                break
            if any(_id_order(st.id) <= _id_order(min_id) for st in page):
                raise MalformedResponse(
                    f"mastodon answered {request.path} with statuses at or before "
                    f"min_id={min_id}: the server does not page forward with min_id, so "
                    "brandkit cannot read it without repeating or missing posts",
                    platform=self.name,
                    status_code=response.status_code,
                )
            for status, item in zip(page, body, strict=True):
                self._keep(status, item, query, found)
            read += len(page)
            min_id = max((st.id for st in page), key=_id_order)
            if len(page) < self.search_page:
                break  # Mastodon had fewer than asked: nothing newer is left
            if read >= budget:
                return _Span(floor=min_id), read, True
        return _Span(floor=min_id if min_id != "0" else span.floor), read, False

    def _read_search(
        self,
        request: SearchRequest,
        span: _Span,
        query: tuple[Query, Query | None],
        found: dict[str, Message],
        budget: int,
        low: str | None,
        high: str | None,
    ) -> Flow[tuple[_Span, int, bool]]:
        floor = span.floor
        ceiling, top = span.ceiling, span.top
        # Mastodon turns min_id/max_id into after:/before: of the whole second
        # (StatusesSearchService#convert_deprecated_options!): ask one second wider on
        # each side and drop what was read already by id.
        after = _later(_snowflake(_id_time(floor) - timedelta(seconds=1)) if floor else None, low)
        before = high
        if ceiling is not None:
            edge = _snowflake(_id_time(ceiling) + timedelta(seconds=1))
            before = edge if before is None else min(before, edge, key=_id_order)
        offset, read = 0, 0
        while True:
            params = [*request.params, ("limit", str(self.search_page)), ("offset", str(offset))]
            if after is not None:
                params.append(("min_id", after))
            if before is not None:
                params.append(("max_id", before))
            response = yield Send(
                self._request("GET", request.path, params=params), idempotent=True, bucket="api"
            )
            results, body = self.parse_with_body(response, _SearchResults)
            page, raw = results.statuses, body["statuses"]
            for status, item in zip(page, raw, strict=True):
                if floor is not None and _id_order(status.id) <= _id_order(floor):
                    continue
                if span.ceiling is not None and _id_order(status.id) >= _id_order(span.ceiling):
                    continue  # read before the stop this search resumes from
                if top is None or _id_order(status.id) > _id_order(top):
                    top = status.id
                if ceiling is None or _id_order(status.id) < _id_order(ceiling):
                    ceiling = status.id
                self._keep(status, item, query, found)
            read += len(page)
            offset += len(page)
            if len(page) < self.search_page:
                # Nothing above the floor read (only the second below it, asked again): the
                # floor stays, or the next search would start from nothing.
                marks = [i for i in (top, floor) if i is not None]
                newest = max(marks, key=_id_order) if marks else None
                return _Span(floor=newest), read, False
            if read >= budget:
                return _Span(floor=floor, ceiling=ceiling, top=top), read, True

    def _keep(
        self,
        status: _FoundStatus,
        raw: Any,
        queries: tuple[Query, Query | None],
        found: dict[str, Message],
    ) -> None:
        query, claimed = queries
        if status.visibility not in (None, "public", "unlisted"):
            return
        text = plain_text(status.content)
        writer = status.account
        # Mastodon files a tag under its folded name (#Café is cafe, and so is a search for
        # #cafe): the status's tags, and the text's own for an answer that lists none.
        filed = {hashtag_key(t.name) for t in status.tags}

        def tagged(tag: str) -> bool:
            return hashtag_key(tag) in filed or shows_hashtag(text, tag)

        if claimed is not None and claimed.matches(text, tagged=tagged):
            return  # an earlier alternative's search finds it (or found it already)
        if not query.matches(
            text,
            language=status.language,
            author=writer.acct,
            at=status.created_at,
            tagged=tagged,
        ):
            return
        found[status.id] = Message(
            platform=self.name,
            account=self.account.key,
            id=status.id,
            kind="found",
            author=Author(
                id=writer.id,
                handle=writer.acct,
                name=writer.display_name or None,
                url=writer.url,
                followers=writer.followers_count,
            ),
            text=text,
            created_at=status.created_at,
            url=status.url or status.uri,
            in_reply_to=status.in_reply_to_id,
            raw=raw if isinstance(raw, dict) else {},
            extra={"language": status.language} if status.language else {},
        )

    def _read_search_cursor(
        self, cursor: str | None, requests: Sequence[SearchRequest], query: Query, tag: str
    ) -> dict[str, _Span]:
        if cursor is None:
            return {}
        try:
            state = _SearchCursor.model_validate_json(cursor)
        except (pydantic.ValidationError, ValueError):
            shown = cursor if len(cursor) <= 40 else cursor[:37] + "..."
            raise ConfigurationError(
                f"{shown!r} is not a Mastodon search cursor brandkit made: pass since=None "
                "to search from the start"
            ) from None
        spans = dict(state.spans)
        if state.q is not None and state.q != tag:
            raise ConfigurationError(
                "this Mastodon search cursor was made for another query (or another account "
                f"than {self.account.key}): going on from it would skip this query's older "
                "statuses; pass the cursor saved for this query, or since=None to search "
                "from the start"
            )
        if state.q is None:
            _upgrade_tag_spans(spans, requests, query)
        if not set(spans) <= {r.key for r in requests}:
            raise ConfigurationError(
                "this Mastodon search cursor belongs to another query: pass since=None, or "
                "the cursor saved for this query"
            )
        return spans

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Mastodon's ``{"error": ..., "error_description": ...}`` as a typed error.

        401 is an `AuthError` telling to authorise again (tokens never expire, so a
        refused one was revoked); 403 about scopes or the login is an ``AuthError`` too; 429
        is `RateLimited` with the ISO 8601 ``X-RateLimit-Reset``; 5xx is
        `PlatformUnavailable`; any other refusal is `Rejected`.
        """
        message, code = error_message(response)
        status = response.status_code
        text = f"mastodon answered {status}: {message}"
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": code,
        }
        if status == 429:
            reset_at = rate_limit_reset(response)
            retry_after = None
            if reset_at is not None:
                now = server_time(response)
                retry_after = max(0.0, (reset_at - now).total_seconds())
                if retry_after > MAX_RETRY_AFTER:
                    # Mastodon's longest window is 3 hours: a reset past a day is garbled.
                    retry_after = MAX_RETRY_AFTER
                    reset_at = now + timedelta(seconds=MAX_RETRY_AFTER)
                text += f" (the limit resets at {reset_at.isoformat()})"
            return RateLimited(
                text,
                reset_at=reset_at,
                retry_after=retry_after,
                bucket=f"{self.name}:{_bucket_of(response)}",
                **common,
            )
        if status == 401:
            return AuthError(
                f"{text}. Mastodon tokens do not expire, so this one was revoked or is wrong: "
                "authorise the app again and use the new token",
                **common,
            )
        if status == 403 and re.search(r"scope|login|account|token", message, re.IGNORECASE):
            return AuthError(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        if status == 404 and _bucket_of(response) == "statuses":
            if message == "Record not found" and _idempotency_key(response):
                # PostStatusService: the key names the status an earlier attempt made, and
                # `@account.statuses.find` no longer finds it (set_thread says otherwise).
                text += (
                    " (this part was already posted: its Idempotency-Key names a status that "
                    "has since been deleted on the instance, so it is not posted again; "
                    "publish the post anew to post it again)"
                )
            else:
                # before_action :set_thread: the status being answered is not there.
                text += (
                    " (the status answered was deleted or is not visible to this account: "
                    "there is nothing to answer)"
                )
        return Rejected(text, **common)


# -- capabilities ------------------------------------------------------------------------------


def capabilities_from_instance(instance: Mapping[str, Any]) -> Capabilities:
    """Capabilities for an instance document (``/api/v2/instance`` or ``/api/v1/instance``).

    Values the document lacks keep Mastodon's defaults.

    Raises:
        pydantic.ValidationError: a limit of the wrong type (a string for a number).
    """
    return _capabilities(_Instance.model_validate(instance))


def _capabilities(instance: _Instance) -> Capabilities:
    base = _CAPABILITIES
    statuses = instance.configuration.statuses
    media = instance.configuration.media_attachments
    text = dict(base.text_options)
    max_chars = statuses.max_characters or instance.max_toot_chars
    if max_chars is not None and max_chars > 0:
        text["max_characters"] = max_chars
    per_url = statuses.characters_reserved_per_url
    if per_url is not None and per_url >= 0:
        text["characters_reserved_per_url"] = per_url

    rules = base.media
    changes: dict[str, Any] = {}
    if statuses.max_media_attachments is not None:
        changes["max_items"] = statuses.max_media_attachments
    images = frozenset(m for m in media.supported_mime_types if m.startswith("image/"))
    videos = frozenset(m for m in media.supported_mime_types if m.startswith("video/"))
    if images:
        changes["image_types"] = images
    if videos:
        changes["video_types"] = videos
    if media.image_size_limit is not None:
        # GIFs are images on upload (Mastodon turns animated ones into gifv afterwards).
        changes["max_image_bytes"] = changes["max_gif_bytes"] = media.image_size_limit
    if media.video_size_limit is not None:
        changes["max_video_bytes"] = media.video_size_limit
    if media.description_limit is not None:
        changes["max_alt_length"] = media.description_limit
    new_rules: MediaRules = attrs.evolve(rules, **changes)
    return attrs.evolve(base, text_options=text, media=new_rules)


# -- helpers -------------------------------------------------------------------------------------


def _ref(index: int, status: _Created) -> PartRef:
    return PartRef(index=index, id=status.id, url=status.url or status.uri, uri=status.uri)


# -- conversations -------------------------------------------------------------------------------

# Which kind wins when one status comes in two notifications (a quote that mentions us).
_RANK = {"mention": 0, "quote": 1, "reply": 2}
_ID = re.compile(r"[0-9A-Za-z_.:-]{1,128}")
_HANDLE = re.compile(r"\w+(?:@[\w.-]*\w)?")
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_LINE = re.compile(r"<br\s*/?>", re.IGNORECASE)


def notification_paging(version: str | None) -> tuple[int, bool, bool]:
    """How to page ``GET /api/v1/notifications`` on an instance of ``version``: the largest
    page, whether a shorter page means nothing newer is left, and whether quote
    notifications exist (4.5+).

    Mastodon caps ``limit`` at 80 from 4.1 and at 30 before. A server that only claims
    compatibility (``"2.7.2 (compatible; Pleroma ...)"``) or sends no version may cap lower,
    so there a read goes on until an empty page.
    """
    release = _release(version)
    if release is None:
        return 40, False, False
    return (80 if release >= (4, 1) else 30), True, release >= (4, 5)


def _release(version: str | None) -> tuple[int, int] | None:
    """Mastodon's (major, minor) of an instance's ``version``; ``None`` for a server that
    only claims compatibility (``"2.7.2 (compatible; Pleroma ...)"``) or sends none."""
    match = re.match(r"\s*(\d+)\.(\d+)", version or "")
    if match is None or "compatible" in (version or ""):
        return None
    return int(match.group(1)), int(match.group(2))


def plain_text(content: str) -> str:
    """A status's HTML ``content`` as plain text: paragraphs apart by a blank line, line
    breaks kept, tags dropped (link text is whole: Mastodon's hidden spans hold the rest of
    a shortened URL), entities decoded."""
    text = _PARAGRAPH.sub("\n\n", content)
    text = _LINE.sub("\n", text)
    return html.unescape(_TAG.sub("", text)).strip()


def _mentioning(text: str, handle: str) -> str:
    """``text`` with ``@handle`` first, unless it mentions ``handle`` already."""
    pattern = r"(?<![\w/=@])@" + re.escape(handle) + r"(?![\w@]|[.-]\w)"
    if re.search(pattern, text, re.IGNORECASE):
        return text
    return f"@{handle} {text}" if text.strip() else f"@{handle}"


def _check_id(value: str, what: str) -> None:
    if not _ID.fullmatch(value):
        raise ConfigurationError(
            f"{what} has the id {value[:60]!r}, which is not a Mastodon status id: use a "
            "message or delivery this Mastodon account read or published"
        )


def error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The platform's message and (for OAuth errors) its error code."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than json reads (a garbled or hostile body).
        return (response.text[:500].strip() or response.reason_phrase or "no message"), None
    if isinstance(body, dict):
        error, description = body.get("error"), body.get("error_description")
        if isinstance(description, str) and description:
            return description, str(error) if error else None
        if isinstance(error, str) and error:
            return error, None
    return response.text[:500], None


def _header(response: httpx.Response, name: str) -> str | None:
    # The last value: a proxy (or a test server) may add its own copy in front.
    values = response.headers.get_list(name)
    return values[-1].strip() if values else None


def rate_limit_reset(response: httpx.Response) -> datetime | None:
    """``X-RateLimit-Reset`` as an aware datetime: ISO 8601 from Mastodon, epoch seconds
    from some other servers."""
    value = _header(response, "x-ratelimit-reset")
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError):
        return None  # a number no clock holds: a garbled header, as if not sent
    except ValueError:
        pass
    return parse_time(value)


def server_time(response: httpx.Response) -> datetime:
    """The server's clock from the ``Date`` header, else this machine's."""
    return _date(response) or datetime.now(UTC)


def _date(response: httpx.Response) -> datetime | None:
    """The ``Date`` header (None when missing or unreadable, `http_time`)."""
    when = http_time(_header(response, "date"))
    return None if when is None else datetime.fromtimestamp(when, UTC)


def _stamp_ahead(thread: ThreadContext) -> timedelta:
    """How far the part's key was stamped past the instance's clock (`_STAMP_AHEAD`), as
    kept with the part; zero when none is kept or the value is not one brandkit wrote."""
    value = thread.progress.get(_STAMP_AHEAD, "")
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        return timedelta(0)
    return min(timedelta(seconds=int(value)), _STAMP_AHEAD_MAX)


def _idempotency_key(response: httpx.Response) -> str | None:
    try:
        request = response.request
    except RuntimeError:
        return None
    key: str | None = request.headers.get("idempotency-key")
    return key


def _bucket_of(response: httpx.Response) -> str:
    try:
        request = response.request
    except RuntimeError:
        return "api"
    path = request.url.path
    if request.method == "POST" and path == "/api/v1/statuses":
        return "statuses"
    if request.method == "POST" and re.fullmatch(r"/api/v\d+/media", path):
        return "media"
    if request.method == "DELETE" and path.startswith("/api/v1/statuses/"):
        return "delete"
    return "api"


def tid_time(key: str) -> datetime | None:
    """When a TID key was made (``None`` for a key that is not a TID)."""
    if len(key) != 13 or any(c not in _TID_ALPHABET for c in key):
        return None
    value = 0
    for c in key:
        value = (value << 5) | _TID_ALPHABET.index(c)
    return datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)


def _search_term(term: str) -> str:
    """A term of Mastodon's search syntax: a bare word, or quoted when it has spaces or
    characters the parser reads as syntax (``:``, a leading ``+``/``-``, ``#``, ``@``)."""
    if '"' in term:
        raise UnsupportedQuery(
            f"{term!r} has a double quote, which Mastodon's search syntax cannot escape: "
            "leave the quote out",
            platform="mastodon",
            feature="phrases",
        )
    if re.fullmatch(r"[^\s:\"#@+\-()][^\s:\"()]*", term):
        return term
    return f'"{term}"'


def _snowflake(when: datetime) -> str:
    """The smallest Mastodon id of ``when`` (Mastodon::Snowflake: milliseconds << 16)."""
    return str(max(0, int(when.timestamp() * 1000)) << 16)


def _id_time(value: str) -> datetime:
    """When a Mastodon id (a snowflake) was made; the epoch for an id that is not one, or
    one no clock holds (a search then reads from the start, never past a status)."""
    if value.isdigit():
        with contextlib.suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp((int(value) >> 16) / 1000, UTC)
    return datetime.fromtimestamp(0, UTC)


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=_id_order)


def _id_order(value: str) -> tuple[int, str]:
    return len(value), value


def _html_text(content: str) -> str:
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content)))


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


class _ChunkReader:
    """A read-only file over ``Media.chunks()``, so that httpx streams an upload (and can
    send it again on a retry) without holding the whole file in memory."""

    def __init__(self, media: Media, chunk_size: int = 1024 * 1024) -> None:
        self._media = media
        self._chunk_size = chunk_size
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self._position = 0

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            self._position = self._media.size
        elif whence == os.SEEK_SET and offset == 0:
            self._position = 0
        elif not (whence == os.SEEK_SET and offset == self._position):
            raise io.UnsupportedOperation("only rewinding and finding the end are supported")
        self._chunks, self._buffer = None, b""
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._position >= self._media.size:
            return b""
        if self._chunks is None:
            self._chunks = self._media.chunks(self._chunk_size)
            self._skip(self._position)
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        self._position += len(out)
        return out

    def _skip(self, count: int) -> None:
        assert self._chunks is not None
        while count > 0:
            chunk = next(self._chunks, b"")
            if not chunk:
                return
            if len(chunk) > count:
                self._buffer = chunk[count:]
                return
            count -= len(chunk)
