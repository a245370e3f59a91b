"""What an adapter is: capabilities (data) plus flows (generators), and no I/O."""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import httpx
import pydantic
import pydantic_core

from brandkit._durations import policy_fits
from brandkit._flow import Flow, Send
from brandkit._terminal import escaped
from brandkit.errors import (
    AuthError,
    BrandkitError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    Unsupported,
)
from brandkit.inbox._model import _SCALARS

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._article import Article
    from brandkit.content._model import Link, Post
    from brandkit.content._render import Rendered, RenderedPart
    from brandkit.inbox._model import InboxPage, Message
    from brandkit.listening._query import Query, SearchPage
    from brandkit.metrics._sample import Metric, MetricSample

__all__ = [
    "Adapter",
    "Answer",
    "Capabilities",
    "LinkCardRules",
    "MediaRules",
    "PartRef",
    "RatePolicy",
    "ThreadContext",
    "article_of",
    "readable_json",
    "redirect_target",
    "retry_after_of",
    "retry_after_seconds",
    "sent_size",
    "wait_seconds",
]

M = TypeVar("M", bound=pydantic.BaseModel)


class Answer(pydantic.BaseModel):
    """The base of the models of platform answers: reads only the fields it declares and
    ignores the rest (platforms add fields all the time). It is not strict as a whole (dates
    come as text); a field that must not take ``"12"`` for ``12`` says so with
    ``pydantic.Strict()``, as the adapters' ids and counts do."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


@attrs.frozen
class RatePolicy:
    """A declared rate limit, so that the first request of a run is already paced.

    Attributes:
        bucket: the bucket name that ``Send.bucket`` refers to (e.g. ``"post"``).
        limit: how many units the window allows.
        window: the window in seconds.
        scope: ``"account"`` (per user) or ``"app"`` (shared by every account of the app).
        every_request: every request of the account (or app) spends this limit, whatever
            its own bucket (Mastodon's ``api`` limit also counts posts, uploads and
            deletes); the governor then reserves a unit here as well as in the request's
            bucket.

    Raises:
        ConfigurationError: ``bucket`` is not a name, ``limit`` not a whole number of at
            least 1, ``window`` not seconds above 0 and at most a year, or ``scope`` neither
            ``"account"`` nor ``"app"``.
    """

    bucket: str
    limit: int
    window: float
    scope: str = "account"
    every_request: bool = False

    def __attrs_post_init__(self) -> None:
        # Checked where the adapter declares it (its import, its unit tests), not at the
        # first request of a run: a limit below 1 or a window of 0, NaN or infinity makes a
        # budget that never runs out, and an unknown scope was taken as per account.
        if not isinstance(self.bucket, str) or not self.bucket:
            raise ConfigurationError(
                f"{self!r}: give the bucket a name, the one Send.bucket refers to (e.g. 'post')"
            )
        if not policy_fits(self.limit, self.window):
            raise ConfigurationError(
                f"{self!r}: give a limit of at least 1 (a whole number of units) and a window "
                "of seconds above 0 and at most a year"
            )
        if self.scope not in ("account", "app"):
            raise ConfigurationError(
                f"{self!r}: give a scope of 'account' or 'app' (per user, or shared by "
                "every account of the app)"
            )


@attrs.frozen
class MediaRules:
    """What media a platform accepts on one post.

    Attributes:
        max_items: most attachments on one post (0: no media).
        max_videos: most videos on one post.
        max_gifs: most animated GIFs on one post.
        mix: images and videos may be mixed on one post.
        image_types: accepted image mime types.
        video_types: accepted video mime types.
        max_image_bytes: largest image in bytes.
        max_gif_bytes: largest animated GIF in bytes.
        max_video_bytes: largest video in bytes.
        alt_text: the platform takes alt text (else alt text is dropped, with a warning).
        max_alt_length: longest alt text in characters (``None``: no limit).
        min_items: fewest attachments (Instagram needs one).
        max_card_thumb_bytes: largest link-card thumbnail (``None``: no separate limit).
        gif_alone: an animated GIF must be the only attachment (Telegram albums take none).
    """

    max_items: int = 4
    max_videos: int = 1
    max_gifs: int = 1
    mix: bool = False
    image_types: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
    video_types: frozenset[str] = frozenset({"video/mp4", "video/quicktime"})
    max_image_bytes: int = 5 * 1024 * 1024
    max_gif_bytes: int = 15 * 1024 * 1024
    max_video_bytes: int = 512 * 1024 * 1024
    alt_text: bool = True
    max_alt_length: int | None = 1000
    min_items: int = 0
    max_card_thumb_bytes: int | None = None
    gif_alone: bool = False


@attrs.frozen
class LinkCardRules:
    """When a platform with link cards (`Capabilities.link_cards`) sends a post's `Link` as a
    card. The card rides on the first part only; where it cannot go, `brandkit.render` puts
    the URL in the text instead (so that the link still reaches the reader) and says why in
    ``Rendered.warnings``, and `Adapter.link_card` gives the adapter no card to send.

    The defaults send a card whenever the post has a link.

    Attributes:
        needs_title: the card needs ``Link.title`` (Bluesky builds no card without one).
        with_media: the card goes on a post that carries media too.
        on_replies: an answer to a message (`brandkit.Client.reply`) carries the card.
    """

    needs_title: bool = False
    with_media: bool = True
    on_replies: bool = True

    def refusal(self, platform: str, link: Link, *, media: bool, reply: bool) -> str | None:
        """Why ``platform`` sends no card for ``link`` on a post that carries media
        (``media``) or answers a message (``reply``), in words for the author; ``None`` when
        the card goes."""
        if self.needs_title and not link.title:
            return (
                f"{platform} shows a link card only for a link with a title: {link.url} is put "
                "in the text instead; set Link.title to have a card"
            )
        if media and not self.with_media:
            return (
                f"{platform} shows no link card on a post with media: {link.url} is put in the "
                "text instead; leave the media out to have a card"
            )
        if reply and not self.on_replies:
            return (
                f"{platform} shows no link card on an answer: {link.url} is put in the text instead"
            )
        return None


@attrs.frozen
class Capabilities:
    """What a platform accepts, as data that `brandkit.render` checks before any I/O.

    Attributes:
        platform: the platform's name.
        text_rules: which of ``brandkit.text``'s platforms counts this platform's text
            (defaults to ``platform``; a third-party adapter picks the closest built-in one,
            e.g. ``"mastodon"`` for plain grapheme counting, and sets ``max_characters``).
        text_options: options passed to the text engine (``brandkit.text.measure``), e.g. an
            instance's ``max_characters``.
        caption_options: text options when the post carries media (Telegram captions).
        threads: long text may become a chain of replies.
        max_parts: most parts in one thread.
        media: media rules.
        link_cards: a link card can be attached.
        link_card_rules: when a link card goes (`LinkCardRules`; by default on every post
            with a link). A third-party adapter with link cards declares its own here.
        content_warning: content warnings are supported natively.
        languages: a language can be set.
        idempotent_create: the platform deduplicates creates (Mastodon key, Bluesky rkey),
            so a create may be retried safely.
        delete: posts can be deleted through the API.
        metrics: post metrics can be collected.
        media_by_url: the platform fetches media from public URLs (needs a ``media_host``).
        inbox: the kinds of message the adapter reads into an inbox (``"reply"``,
            ``"comment"``, ``"mention"``, ``"quote"``); empty: no inbox. Where it reads any,
            it also answers them (`brandkit.Client.reply`).
        hide_messages: others' replies or comments can be hidden and shown again.
        delete_messages: others' comments can be deleted (as the page or channel admin).
        like_messages: messages can be liked.
        search: public posts can be searched (listening, `brandkit.Client.search`).
    """

    platform: str
    text_rules: str | None = None
    text_options: Mapping[str, Any] = attrs.field(factory=dict)
    caption_options: Mapping[str, Any] | None = None
    threads: bool = False
    max_parts: int = 25
    media: MediaRules = attrs.field(factory=MediaRules)
    link_cards: bool = False
    link_card_rules: LinkCardRules = attrs.field(factory=LinkCardRules)
    content_warning: bool = False
    languages: bool = False
    idempotent_create: bool = False
    delete: bool = True
    metrics: bool = True
    media_by_url: bool = False
    inbox: frozenset[str] = frozenset()
    hide_messages: bool = False
    delete_messages: bool = False
    like_messages: bool = False
    search: bool = False


@attrs.frozen
class PartRef:
    """One published part, as the platform knows it.

    Attributes:
        index: the part's position in its thread (0 for a single post).
        id: the platform's id (X/Mastodon id, Bluesky rkey, LinkedIn URN, ...).
        url: the public web address, when there is one.
        uri: the platform's own reference (Bluesky AT URI), if different from ``id``.
        cid: the content hash (Bluesky strong refs).
        extra: other platform data a later step needs.
    """

    index: int
    id: str
    url: str | None = None
    uri: str | None = None
    cid: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storage."""
        extra = self.extra
        if type(extra) is dict and all(type(v) in _SCALARS for v in extra.values()):
            # What attrs.asdict makes of it, without its walk (every save of a delivery
            # writes its parts).
            return {
                "index": self.index,
                "id": self.id,
                "url": self.url,
                "uri": self.uri,
                "cid": self.cid,
                "extra": dict(extra),
            }
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartRef:
        """Back from `to_dict`."""
        return cls(**data)


@attrs.frozen
class ThreadContext:
    """Where a part goes: the parts of its thread already published, and its own key.

    Attributes:
        key: a per-part idempotency key, stable across retries and restarts (a TID, usable
            as a Bluesky rkey and as a Mastodon ``Idempotency-Key``).
        previous: the parts already published, in order; ``previous[0]`` is the root.
        reply_to: the message the post answers (a reply, see `Adapter.reply_target`):
            the first part is published under it. Its ``extra["root"]`` (a
            `PartRef.to_dict`), when set, is the root of its conversation.
        progress: what an attempt at this part left on the platform (a video upload, a
            container), by name, for an attempt in another process to settle. An adapter
            writes it as soon as it exists; the driver stores it with the delivery
            (`brandkit.Delivery.progress`) before the next request leaves.
        taken: the ids of posts that other deliveries of the account recorded (set by the
            driver before `Adapter.find_part`, and before `Adapter.publish_part` for an
            adapter that ``adopts_duplicates``): a read-back never takes one of them for
            this part, however alike their text.
    """

    key: str
    previous: Sequence[PartRef] = ()
    reply_to: PartRef | None = None
    progress: dict[str, str] = attrs.field(factory=dict, eq=False)
    taken: frozenset[str] = attrs.field(factory=frozenset, eq=False)

    @property
    def root(self) -> PartRef | None:
        """The root of the conversation the part goes into."""
        if self.reply_to is not None:
            root = self.reply_to.extra.get("root")
            return PartRef.from_dict(root) if isinstance(root, Mapping) else self.reply_to
        return self.previous[0] if self.previous else None

    @property
    def parent(self) -> PartRef | None:
        """What the part answers: the previous part, else the message replied to."""
        return self.previous[-1] if self.previous else self.reply_to


# Parsed URLs an adapter keeps (`Adapter.url`).
_URLS_KEPT = 64


def _any_body(
    error_for: Callable[[Adapter, httpx.Response], PlatformError],
) -> Callable[[Adapter, httpx.Response], PlatformError]:
    """``error_for`` that reads any body: one nested deeper than Python's JSON reader goes
    (a hostile server, a broken proxy) raised `RecursionError` out of every adapter's own
    reading, a crash where a refusal was; it is read as text instead. Applied to every
    adapter's ``error_for`` (`Adapter.__init_subclass__`), third parties' included."""

    @functools.wraps(error_for)
    def guarded(self: Adapter, response: httpx.Response) -> PlatformError:
        try:
            return error_for(self, response)
        except RecursionError:
            return classify(self.name, response, response.text[:500] or response.reason_phrase)

    guarded._reads_any_body = True  # type: ignore[attr-defined]
    return guarded


class KeptUploads:
    """Media ids uploaded for a part whose create has not succeeded yet, by the part's key
    (`ThreadContext.key`), with when their upload began: a repeated create sends them again
    instead of uploading anew, for as long as the platform keeps unused uploads
    (``max_age`` seconds)."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._by_key: dict[str, tuple[float, list[str]]] = {}

    def get(self, key: str, count: int, now: float) -> list[str] | None:
        """The ids kept for ``key`` when they are ``count`` (those kept ``max_age`` or
        longer are dropped first, for every key: the store stays bounded)."""
        for old, (started, _) in list(self._by_key.items()):
            if now - started >= self.max_age:
                del self._by_key[old]
        kept = self._by_key.get(key)
        return list(kept[1]) if kept is not None and len(kept[1]) == count else None

    def put(self, key: str, now: float, ids: list[str]) -> None:
        """Keep ``ids``, uploaded from ``now``, for the part ``key``."""
        self._by_key[key] = (now, list(ids))

    def pop(self, key: str) -> None:
        """Forget the part ``key``'s uploads (its create succeeded, or they are gone)."""
        self._by_key.pop(key, None)


class Adapter(ABC):
    """One platform. Subclass it, set ``name`` and ``capabilities``, write the flows.

    An adapter instance belongs to one account and keeps its session state (tokens, a
    resolved user id). Flows never do I/O themselves: they yield ``Send``/``Wait`` steps.
    Third-party adapters register through the entry-point group ``brandkit.platforms`` and
    join `brandkit.testing.conformance.AdapterConformance` with one class statement.
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = ()
    metrics_batch_size: ClassVar[int] = 1
    # The platform answers a repeated create with the post it repeats, and `publish_part`
    # may take that post as the part's own (an earlier attempt whose answer was lost): the
    # driver then fills `ThreadContext.taken` before each create too, so that another
    # delivery's post is never taken for this one.
    adopts_duplicates: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("error_for")
        if own is not None and not getattr(own, "_reads_any_body", False):
            cls.error_for = _any_body(own)  # type: ignore[method-assign,assignment]

    def __init__(self, account: Account) -> None:
        self.account = account

    def url(self, path: str) -> httpx.URL:
        """``path`` on the account's server (``base_url`` + ``path``) as an ``httpx.URL``,
        parsed once per adapter and path: a request made from it skips httpx's URL parsing,
        a third of building a request. Up to 64 are kept (a path with an id in it is
        parsed again once they are forgotten).

        Raises:
            httpx.InvalidURL: the URL is not valid.
        """
        full = f"{self.account.base_url}{path}"
        # Not set in __init__: a third-party adapter may not call it.
        urls: dict[str, httpx.URL] = self.__dict__.setdefault("_urls", {})
        url = urls.get(full)
        if url is None:
            if len(urls) >= _URLS_KEPT:
                urls.clear()
            url = urls[full] = httpx.URL(full)
        return url

    # -- flows -------------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Log in if needed and learn account-specific limits; returns the capabilities.

        The default needs no request. Mastodon reads its instance's limits here.
        """
        return self.capabilities
        yield  # pragma: no cover

    @abstractmethod
    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Publish one part (uploading its media first) as a reply to ``thread.parent``."""

    @abstractmethod
    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Delete one published part. Deleting what is already gone is not an error."""

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find this part if an earlier attempt published it (find-my-post); else ``None``.

        Used when an attempt's outcome is unknown. The default cannot look, and says so by
        raising; adapters of platforms that can read back recent posts override it.
        """
        raise NotImplementedError(f"{self.name} cannot look up an earlier attempt")
        yield  # pragma: no cover

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Metrics of up to ``metrics_batch_size`` posts in as few requests as possible.

        Metrics the platform does not offer come back as unavailable samples with a reason.
        """
        raise NotImplementedError(f"{self.name} has no metrics flow")
        yield  # pragma: no cover

    def unavailable_samples(
        self, refs: Sequence[PartRef], reasons: Iterable[tuple[Metric, str]]
    ) -> list[MetricSample]:
        """For each of ``refs``, an unavailable sample of each metric in ``reasons``, with
        its reason, fetched now: the `collect_metrics` of a platform that gives no counts
        (sends nothing, raises nothing)."""
        from brandkit.metrics._sample import MetricSample

        now = datetime.now(UTC)
        reasons = tuple(reasons)
        return [
            MetricSample.unavailable(
                platform=self.name,
                account=self.account.key,
                metric=metric.value,
                reason=reason,
                fetched_at=now,
                post_id=ref.id,
            )
            for ref in refs
            for metric, reason in reasons
        ]

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """Account-level metrics (followers).

        Raises:
            Unsupported: the platform has none to read (the default), before any request.
        """
        raise self.unsupported("collect_account", "read account metrics (followers)")
        yield  # pragma: no cover

    # -- conversations (see brandkit.inbox) ---------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """Everything new since ``cursor`` (``None``: what the platform still shows) that
        `Capabilities.inbox` names, oldest first, in the fewest requests the platform
        allows, stopping after about ``limit`` messages (then ``more`` is set).

        Raises:
            Unsupported: the platform has no inbox (the default).
        """
        raise self.unsupported("inbox", "read an inbox")
        yield  # pragma: no cover

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """The conversation under the published parts ``refs`` (one post), oldest first.

        Raises:
            Unsupported: the platform cannot read replies (the default).
        """
        raise self.unsupported("replies", "read replies")
        yield  # pragma: no cover

    def reply_target(self, message: Message) -> PartRef:
        """``message`` as the parent of a reply (no I/O). The default keeps its id and URL;
        adapters add what their create needs (content hashes, the conversation's root, a
        chat id, whether it is a comment)."""
        self.check_message(message)
        return PartRef(index=0, id=message.id, url=message.url)

    def reply_post(self, message: Message, post: Post) -> Post:
        """The post to publish as the answer to ``message`` (no I/O): the default leaves it
        as it is; Mastodon puts the author's handle first, as its web app does."""
        return post

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        """The rules an answer under ``target`` (from `reply_target`) is rendered with.

        The default is a post's rules; where an answer is a comment (Instagram, Facebook,
        LinkedIn) the adapter returns the comment's: text alone, its own length.
        """
        return capabilities

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """Hide (or show again) someone else's reply or comment.

        Raises:
            Unsupported: the platform cannot (the default).
        """
        raise self.unsupported("hide", "hide replies or comments")
        yield  # pragma: no cover

    def delete_message(self, message: Message) -> Flow[None]:
        """Delete someone else's comment (as the page or channel admin).

        Raises:
            Unsupported: the platform cannot (the default).
        """
        raise self.unsupported("delete_message", "delete others' comments")
        yield  # pragma: no cover

    def like(self, message: Message) -> Flow[None]:
        """Like ``message`` as the account.

        Raises:
            Unsupported: the platform cannot (the default).
        """
        raise self.unsupported("like", "like messages")
        yield  # pragma: no cover

    # -- listening (see brandkit.listening) ---------------------------------------------------

    def compile_query(self, query: Query) -> Any:
        """``query`` in the platform's own search syntax (no I/O): X operators, Bluesky
        ``searchPosts`` parameters, a Mastodon hashtag... What `search` sends.

        Raises:
            UnsupportedQuery: the platform cannot express part of it (names the part).
            Unsupported: the platform has no search (the default).
        """
        raise self.unsupported("search", "search public posts")

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """Public posts matching ``query`` written since ``cursor`` (``None``: as far back
        as the platform searches), as ``Message(kind="found")``, oldest first, at the
        platform's largest page, stopping after about ``limit`` posts read (then ``more``).

        Raises:
            UnsupportedQuery: the platform cannot express part of the query.
            Unsupported: the platform has no search (the default).
        """
        raise self.unsupported("search", "search public posts")
        yield  # pragma: no cover

    def unsupported(self, operation: str, what: str) -> Unsupported:
        """The typed refusal of an operation this platform does not offer."""
        return Unsupported(
            f"{self.name} cannot {what} through its API (see "
            f"brandkit.platforms.capabilities({self.name!r}))",
            platform=self.name,
            operation=operation,
        )

    def check_message(self, message: Message) -> None:
        """Refuse a message that belongs to another account.

        Raises:
            ConfigurationError: ``message`` was received by another account or platform.
        """
        if message.platform != self.name or message.account != self.account.key:
            raise ConfigurationError(
                f"message {message.id!r} belongs to {message.account} on {message.platform}, "
                f"not to {self.account.key}: act on it with that account"
            )

    @property
    def app_id(self) -> str:
        """Who shares app-level rate limits: the API host by default."""
        return httpx.URL(self.account.base_url).host

    def prepare_retry(self, request: httpx.Request) -> httpx.Request:
        """``request`` made ready to be sent again by the driver (a fresh signature or the
        current token). The default sends it unchanged."""
        return request

    def public_url(self, ref: PartRef) -> str | None:
        """The public web address of a part, if the platform has one."""
        return ref.url

    # -- helpers for subclasses --------------------------------------------------------------

    def link_card(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Link | None:
        """The link card ``part`` carries: ``rendered.link`` on the first part, where the
        capabilities it was rendered with have link cards and their `LinkCardRules` let it
        go on this part (its media, whether it answers a message); else ``None``.

        These are the rules by which `brandkit.render` put the URL in the text instead, so
        an adapter that sends what this returns never drops a link."""
        link = rendered.link
        caps = rendered.capabilities
        if link is None or part.index != 0 or not caps.link_cards:
            return None
        refusal = caps.link_card_rules.refusal(
            self.name, link, media=bool(part.media), reply=thread.reply_to is not None
        )
        return link if refusal is None else None

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Turn an error response into a typed error that carries the platform's message.

        The default reads the common JSON shapes; adapters override it for their own.
        """
        message = _platform_message(response)
        return classify(self.name, response, message)

    def check(self, response: httpx.Response) -> httpx.Response:
        """Return the response if it succeeded, else raise its typed error."""
        if response.is_success:
            return response
        raise self.error_for(response)

    def parse(self, response: httpx.Response, model: type[M]) -> M:
        """The success answer ``response`` read as ``model`` (a pydantic model of the
        fields brandkit uses; other fields are ignored).

        Raises:
            PlatformError: the typed error of a failed answer (see `check`).
            MalformedResponse: a success answer that is not JSON or lacks a field, or has
                one of the wrong type; it carries the raw body (secrets redacted).
        """
        self.check(response)
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            error = exc
        # Python's reader takes what pydantic's refuses (a lone surrogate escape: a text cut
        # between the halves of an emoji); one such message must not stop a whole page.
        body = readable_json(response.content) if _json_invalid(error) else None
        if body is not None:
            try:
                return model.model_validate(body)
            except pydantic.ValidationError as again:
                error = again
        raise self._malformed(response, error) from None

    def parse_with_body(self, response: httpx.Response, model: type[M]) -> tuple[M, Any]:
        """`parse` of ``response`` and its decoded JSON (where each message keeps its item
        as ``raw``), decoding the body once rather than twice.

        Raises:
            PlatformError, MalformedResponse: as `parse`.
        """
        self.check(response)
        try:
            body = pydantic_core.from_json(response.content)
            return model.model_validate(body), body
        except ValueError:
            # Not JSON, or not the model: parse() says why with the typed error (and reads
            # a body only JSON mode, or only Python's reader, accepts).
            return self.parse(response, model), readable_json(response.content)

    def read_items(
        self,
        items: Iterable[Any],
        model: type[M],
        what: str,
        ident: Callable[[Any], object],
        log: logging.Logger,
        quiet: Callable[[Any], bool] | None = None,
    ) -> list[tuple[M, Any]]:
        """Each item of an inbox page read as ``model`` on its own, paired with its JSON (the
        message's ``raw``): an item brandkit cannot read is left out with a WARNING on
        ``log`` naming the account, the item's id (``ident`` of it, when it has one) and
        pydantic's field errors (never the values, redacted as a whole), so that one item of
        an unexpected shape costs itself only, not the page (and the cursor moves past it).
        The page as a whole (an object with its list) is the caller's to check first. An
        unreadable item ``quiet`` says a read before met (and logged) is left out silently.
        """
        read: list[tuple[M, Any]] = []
        for item in items:
            try:
                read.append((model.model_validate(item), item))
            except pydantic.ValidationError as exc:
                if quiet is not None and quiet(item):
                    continue
                found = ident(item) if isinstance(item, Mapping) else None
                # The id (and a dict key in a field's path) is the platform's text: escaped,
                # so that a line break in it cannot forge a log line.
                named = f" {escaped(str(found)[:200])}" if isinstance(found, str | int) else ""
                problems = "; ".join(
                    f"{escaped('.'.join(str(p)[:60] for p in err['loc'])) or what}: {err['msg']}"
                    for err in exc.errors(include_url=False, include_input=False)[:3]
                )
                log.warning(
                    "%s",
                    self.account.redact(
                        f"{self.account.key}: {self.name} {what}{named} cannot be read "
                        f"({problems}); it is skipped (its raw JSON is not kept)"
                    ),
                )
        return read

    def _malformed(
        self, response: httpx.Response, exc: pydantic.ValidationError
    ) -> MalformedResponse:
        """The `MalformedResponse` of a success answer a model cannot read."""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:5]
        )
        body = self.account.redact(response.text[:2000])
        # Redacted whole: a path can hold a secret too (a Telegram bot token does).
        message = self.account.redact(
            f"{self.name} answered {response.status_code} to "
            f"{response.request.method} {response.request.url.path} with a body brandkit "
            f"cannot read ({problems})"
        )
        return MalformedResponse(
            message,
            platform=self.name,
            status_code=response.status_code,
            body=body,
        )


def read_each(
    platform: str,
    items: Iterable[Mapping[str, Any]],
    model: type[M],
    key: str | Callable[[Mapping[str, Any]], object],
    what: str,
) -> tuple[list[M], dict[str, str]]:
    """Each item of a batch answer read as ``model``, for the slow path after the whole
    answer could not be read in one pass: an item that cannot be read is left out, and the
    reason is kept under its key (``key`` names the field, or reads it), so that one bad
    item costs only its own samples.

    Returns:
        The items read, and the reasons by key (``"{platform} answered this {what} in a
        shape brandkit cannot read (field: problem)"``).
    """
    read: list[M] = []
    reasons: dict[str, str] = {}
    for item in items:
        try:
            read.append(model.model_validate(item))
        except pydantic.ValidationError as exc:
            found = item.get(key) if isinstance(key, str) else key(item)
            if isinstance(found, str):
                reasons[found] = unreadable(platform, exc, what)
    return read, reasons


def unreadable(platform: str, exc: pydantic.ValidationError, what: str) -> str:
    """Why one item of an answer cannot be read, naming its first bad field."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return (
        f"{platform} answered this {what} in a shape brandkit cannot read ({where}: {err['msg']})"
    )


def _platform_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "message", "error_description", "error", "title", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("detail") or errors[0])
    return response.text[:500]


MAX_RETRY_AFTER = 86_400.0
"""The longest wait a 429 is taken at its word for, the governor's own cap
(``governor._parse.DEFAULT_MAX_WAIT``); a longer one is garbled and cut to this (brandkit
still stops, and a reset time stays within what a clock holds)."""


def wait_seconds(value: object) -> float | None:
    """A platform's wait in seconds (a JSON number): ``None`` unless a finite number; a
    negative one is 0, one longer than `MAX_RETRY_AFTER` is cut to it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return float(min(max(value, 0), int(MAX_RETRY_AFTER)))
    if not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (`wait_seconds`): delta seconds, or an HTTP date
    (RFC 9110 §10.2.3), counted from ``date`` (the answer's ``Date``: both are the server's
    clock) or else from ours; ``None`` when it is absent, unreadable, or not finite
    (``inf`` or ``nan`` must not park an account for ever)."""
    if not value or len(value) > 64:
        return None
    try:
        return wait_seconds(float(value))
    except ValueError:
        pass
    when = http_time(value)
    if when is None:
        return None
    now = http_time(date) if date else None
    return wait_seconds(when - (time.time() if now is None else now))


def readable_json(content: bytes) -> Any | None:
    """``content`` read as JSON by Python's reader, which takes lone surrogate escapes
    (``"\\ud83d"``: a text cut between the halves of an emoji) that pydantic's refuses,
    each made U+FFFD so that the text can be stored and sent on; ``None`` when it is not
    JSON, or nested deeper than the reader goes. Raises nothing."""
    try:
        return _without_surrogates(json.loads(content))
    except (ValueError, RecursionError):
        return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _json_invalid(exc: pydantic.ValidationError) -> bool:
    return any(e["type"] == "json_invalid" for e in exc.errors(include_url=False))


def sent_size(request: httpx.Request) -> str:
    """`` (N bytes)``, the body size ``request`` declared (its ``Content-Length``), for a
    message about a body refused as too large; ``""`` when it declared none."""
    length = request.headers.get("content-length", "")
    return f" ({int(length):,} bytes)" if length.isascii() and length.isdigit() else ""


def redirect_target(response: httpx.Response) -> httpx.URL | None:
    """Where the redirect ``response`` leads (its ``Location``, made absolute), when it is
    a redirect to an http(s) address; else ``None``. Raises nothing."""
    location = response.headers.get("location")
    if not 300 <= response.status_code < 400 or not location:
        return None
    try:
        target = response.request.url.join(location)
    except (RuntimeError, httpx.InvalidURL):
        return None
    if target.scheme not in ("http", "https") or not target.host:
        return None
    return target


def retry_after_of(response: httpx.Response) -> float | None:
    """`retry_after_seconds` of ``response``'s ``Retry-After``, counted from its ``Date``."""
    return retry_after_seconds(response.headers.get("retry-after"), response.headers.get("date"))


def http_time(text: str | None) -> float | None:
    """An HTTP date (``Fri, 31 Dec 2027 23:59:59 GMT``, as a ``Date`` or ``Retry-After``
    header gives it) as epoch seconds, or ``None`` (none, too long, not a date, or one no
    UTC clock holds, such as ``Fri, 31 Dec 9999 23:59:59 -0100``)."""
    if not text or len(text) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        # In UTC first: the seconds of a time past year 9999 there would be read back
        # (datetime.fromtimestamp) only to raise "year 10000 is out of range".
        return when.astimezone(UTC).timestamp()
    except (OverflowError, ValueError):
        return None


def classify(
    platform: str,
    response: httpx.Response,
    message: str,
    *,
    code: str | int | None = None,
    retry_after: float | None = None,
    bucket: str | None = None,
    auth_statuses: tuple[int, ...] = (401,),
    auth_hint: str | None = None,
    duplicate: bool = False,
) -> PlatformError:
    """The typed error for an HTTP status: 401 (and any other of ``auth_statuses``) auth,
    429 rate limit, 5xx unavailable (with its ``Retry-After``, if any), anything else a
    refusal.

    Args:
        platform: the platform's name, for the message.
        response: the refused answer.
        message: the platform's own words.
        code: the platform's error code.
        retry_after: a 429's wait in seconds; its ``reset_at`` is that far from now.
        bucket: the rate-limit bucket a 429 names.
        auth_statuses: the statuses that mean the credentials are wrong.
        auth_hint: what to check, added to an auth error's message.
        duplicate: a refusal because the same content was just published.
    """
    status = response.status_code
    text = f"{platform} answered {status}: {message}"
    common: dict[str, Any] = {
        "platform": platform,
        "status_code": status,
        "platform_message": message,
        "code": code,
    }
    if status == 429:
        reset_at = None
        retry_after = wait_seconds(retry_after)
        if retry_after is not None and bucket is not None:
            reset_at = datetime.now(UTC) + timedelta(seconds=retry_after)
        return RateLimited(
            text, retry_after=retry_after, reset_at=reset_at, bucket=bucket, **common
        )
    if status in auth_statuses:
        return AuthError(f"{text}. {auth_hint}" if auth_hint else text, **common)
    if status >= 500:
        # A 503's Retry-After says how long the service expects to be down (RFC 9110).
        return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
    return Rejected(text, duplicate=duplicate, **common)


class BlogAdapter(Adapter):
    """An adapter of a blog: it publishes a `brandkit.Article` as one part, and can find,
    read and update it. A subclass writes `publish_article`, `find_article`,
    `read_article` and `update_article` (and `delete_article` when the blog can delete);
    the delivery machinery reaches them through `publish_part` and `find_part`."""

    def article_url_bound(self, article: Article) -> str:
        """A stand-in for the public URL the blog will give ``article``, never shorter than
        it (all ASCII, so no shorter in any network's count): a campaign measures its
        announcement with it before the article is published (`brandkit.Campaign.check`).

        This generic bound (for a blog adapter that knows no better) assumes the article
        lives under the account's base URL at a dated address with its slug made unique:
        ``https://<base>/index.php/0000/00/00/<slug>-99999/``. The built-in blogs give their
        own (see each adapter).

        Raises:
            ConfigurationError: the account has no base URL.
        """
        return generic_url_bound(self.account.base_url, article.slug)

    def same_file(
        self, url: str, stem: str, extension: str, data: bytes, *, ignore_case: bool = False
    ) -> Flow[bool]:
        """Whether ``url`` is a file on this blog's own host named ``stem`` + ``extension``
        (or a ``-2``... of it, as a blog renames a file whose name is taken) that holds
        exactly ``data``: how an update tells the featured image the post has from a new
        one. A file served elsewhere (a CDN), of another name, or that cannot be read is
        not it.
        """
        source = httpx.URL(url)
        site = httpx.URL(self.account.base_url or "")
        name = source.path.rsplit("/", 1)[-1]
        pattern = rf"{re.escape(stem)}(?:-\d+)?{re.escape(extension)}"
        if (
            source.scheme not in ("http", "https")
            or source.host != site.host
            or not re.fullmatch(pattern, name, re.IGNORECASE if ignore_case else 0)
        ):
            return False
        try:
            # One byte more than ours is enough to tell it differs.
            response = yield Send(
                httpx.Request("GET", source), idempotent=True, bucket="api", max_bytes=len(data) + 1
            )
        except BrandkitError:
            return False
        return response.status_code == 200 and response.content == data

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Publish the article being delivered (see `publish_article`).

        Raises:
            ContentError: what is delivered is not a `brandkit.Article`.
        """
        return (yield from self.publish_article(article_of(rendered, self.name)))

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the article an earlier attempt of this delivery published, counting only
        those made since the delivery's part key was, and none another delivery recorded
        (`ThreadContext.taken`; see `find_article`)."""
        from brandkit.delivery import tid_time

        article = article_of(rendered, self.name)
        return (
            yield from self.find_article(article, since=tid_time(thread.key), taken=thread.taken)
        )

    @abstractmethod
    def publish_article(self, article: Article) -> Flow[PartRef]:
        """Create ``article`` on the blog (published, scheduled or a draft)."""

    @abstractmethod
    def find_article(
        self, article: Article, *, since: datetime | None = None, taken: Collection[str] = ()
    ) -> Flow[PartRef | None]:
        """The article an earlier attempt created for ``article`` (no earlier than
        ``since``, and none whose id is in ``taken``: another delivery's), or ``None``."""

    @abstractmethod
    def read_article(self, ref: PartRef) -> Flow[PartRef]:
        """The published article ``ref`` as the blog has it now (its URL and status)."""

    @abstractmethod
    def update_article(self, ref: PartRef, article: Article) -> Flow[PartRef]:
        """Replace the article ``ref`` with ``article``."""


def names_slug(article: Article) -> bool:
    """Whether ``article`` was given its slug (``Article(slug=...)``, or read back from a
    stored article that was: a derived slug is left out of its JSON), rather than the one
    derived from its title: only a named slug moves a live post's address on an update."""
    return "slug" in article.model_fields_set


def bound_base(base_url: str | None) -> str:
    """``base_url`` without its trailing slash, as the start of an `article_url_bound`:
    ``http://`` counts as ``https://`` (a site whose API is reached over http may still
    give its articles https addresses, one character longer).

    Raises:
        ConfigurationError: the account has no base URL.
    """
    if not base_url:
        raise ConfigurationError("the blog account has no base URL to bound its articles' URLs")
    base = base_url.rstrip("/")
    if base[:7].lower() == "http://":
        base = "https://" + base[7:]
    return base


SLUG_SUFFIX_BOUND = "-99999"
"""What a stand-in adds to a slug for the suffix a blog gives a taken one (WordPress and
Ghost: ``-2``, ``-3``...): fewer than 100,000 articles with the same slug are assumed."""


def bound_slug(slug: str) -> str:
    """``slug`` with `SLUG_SUFFIX_BOUND`: never shorter than the unique slug a blog makes
    of it (a blog that cuts a long slug before adding its suffix only makes it shorter)."""
    return slug + SLUG_SUFFIX_BOUND


def generic_url_bound(base_url: str | None, slug: str) -> str:
    """The generic `BlogAdapter.article_url_bound`: a dated address under ``base_url``
    with ``slug`` made unique, ``https://<base>/index.php/0000/00/00/<slug>-99999/``.

    Raises:
        ConfigurationError: ``base_url`` is empty.
    """
    return f"{bound_base(base_url)}/index.php/0000/00/00/{bound_slug(slug)}/"


def article_of(rendered: Any, platform: str) -> Article:
    """The `brandkit.Article` a blog adapter was handed (as ``rendered.article`` or
    ``rendered.post``).

    Raises:
        ContentError: it was handed a post instead.
    """
    from brandkit.content._article import Article

    for candidate in (getattr(rendered, "article", None), getattr(rendered, "post", None)):
        if isinstance(candidate, Article):
            return candidate
    raise ContentError(
        f"{platform} publishes articles: publish a brandkit.Article, not a Post",
        field="post",
        platform=platform,
    )
