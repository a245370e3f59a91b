"""Facebook Pages (Graph API): text and link posts, photos, albums, video, metrics.

Facts used here (``platforms.md`` §5; see ``docs/platforms/facebook.md`` for what was
checked and against what):

- Posts go to ``POST /{page-id}/feed`` (``message``, ``link``); one photo to
  ``POST /{page-id}/photos`` (multipart ``source``, ``caption``, ``alt_text_custom``), which
  answers ``{"id": <photo>, "post_id": <page post>}``; several photos are uploaded with
  ``published=false`` and attached to a feed post with ``attached_media``; a video goes
  through the resumable upload (``upload_phase=start|transfer|finish`` on
  ``/{page-id}/videos``) and is polled with ``GET /{video-id}?fields=status`` until ready.
- Page tokens come from a user token (``GET /{page-id}?fields=access_token``); they do not
  expire but are invalidated by a password change or a lost role. On code 190 with a user
  token at hand, the flow fetches a new Page token, hands it to ``on_credentials_changed``
  and repeats the request once. A permission refusal (code 10, 200-299) is also what a
  user token given as the Page token gets: ``GET /me`` then tells whose token it is, and
  another's is replaced from the user token (the request repeated once) or refused saying so.
- No idempotency: Meta has created posts that were answered with HTTP 500 code 2. A create
  that gets a 5xx or loses its answer is looked up in ``/{page-id}/published_posts``
  (message and creation time) before anything is sent again.
- Rate limits are usage percentages (``X-Business-Use-Case-Usage`` for Page tokens); every
  call goes to the ``pages`` bucket, so a throttle (code 80001, 32) holds the whole Page.
- Metrics: ``post_media_view`` (views) and ``post_total_media_view_unique`` (viewers)
  replaced the impressions metrics that Meta retired; retired names come back unavailable.
- Conversations are comments. One ``GET /{page-id}/published_posts`` with the comments of
  each post expanded in it (``comments.filter(stream).order(reverse_chronological)``,
  every level, newest first) reads the inbox; a post whose page of comments is full and
  still new goes on at ``GET /{post-id}/comments``, and past the page bound in the next
  read, from the ``after`` cursor the inbox cursor keeps. Answers are
  ``POST /{comment-id}/comments``, looked up again under the comment after a lost answer;
  ``POST /{comment-id}`` ``is_hidden``, ``DELETE /{comment-id}`` and
  ``POST /{comment-id}/likes`` moderate. Facebook has no mentions to read without webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import httpx
import pydantic

from brandkit._flow import Flow, Send, Wait
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import Answer, Capabilities, PartRef, RatePolicy, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import (
    EdgePage,
    EdgeRead,
    Flag,
    GraphAdapter,
    GraphId,
    GraphTime,
    IdAnswer,
    InboxCursor,
    MetricCount,
    RawAnswer,
    before_floor,
    comment_rules,
    describe_failure,
    edge_floor,
    graph_error,
    new_messages,
    parse_time,
    resumed_messages,
)
from brandkit.platforms._oauth import parse_credentials

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["RETIRED_POST_METRICS", "FacebookAdapter"]

RETIRED_POST_METRICS: dict[str, str] = {
    "post_impressions": "Meta retired post_impressions (replaced by post_media_view, 'views') "
    "on 2025-11-15 for all API versions",
    "post_impressions_unique": "Meta retired post_impressions_unique (replaced by "
    "post_total_media_view_unique) for all API versions",
    "post_impressions_paid": "Meta retired the impressions metrics for all API versions",
    "post_impressions_organic": "Meta retired the impressions metrics for all API versions",
    "post_impressions_organic_unique": "Meta retired the impressions metrics for all API versions",
    "post_impressions_paid_unique": "Meta retired the impressions metrics for all API versions",
    "post_impressions_fan": "Meta retired the impressions metrics for all API versions",
    "post_impressions_fan_unique": "Meta retired the impressions metrics for all API versions",
    "post_impressions_viral": "Meta retired the impressions metrics for all API versions",
    "post_impressions_viral_unique": "Meta retired the impressions metrics for all API versions",
    "post_engaged_users": "Meta retired post_engaged_users on 2024-03-14",
}
"""Post insights metrics Meta has retired, and why they come back unavailable."""

_VIDEO_CHUNK = 4 * 1024 * 1024

# -- answers ---------------------------------------------------------------------------------

_Offset = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9]{1,15}$")]
"""A byte offset of the resumable video upload: Meta sends it as a string of digits."""


class _PageToken(Answer):
    """``GET /{page-id}?fields=access_token`` with a user token."""

    access_token: str | None = None


class _PhotoAnswer(Answer):
    """``POST /{page-id}/photos``: the photo's id, and the Page post's for a published one."""

    id: GraphId
    post_id: GraphId | None = None


class _VideoStart(Answer):
    """``upload_phase=start``: the video, its upload session, the first chunk's offsets."""

    video_id: GraphId
    upload_session_id: GraphId
    start_offset: _Offset
    end_offset: _Offset


class _VideoChunk(Answer):
    """``upload_phase=transfer``: the offsets of the next chunk Meta wants."""

    start_offset: _Offset
    end_offset: _Offset


class _PhaseError(Answer):
    message: str | None = None


class _Phase(Answer):
    status: str | None = None
    errors: tuple[_PhaseError, ...] = ()
    error: _PhaseError | None = None


class _VideoStatus(Answer):
    video_status: str | None = None
    uploading_phase: _Phase | None = None
    processing_phase: _Phase | None = None


class _Video(Answer):
    """``GET /{video-id}?fields=status,post_id``."""

    status: _VideoStatus = _VideoStatus()
    post_id: GraphId | None = None


class _Permalink(Answer):
    """``GET /{post-id}?fields=permalink_url``."""

    permalink_url: str | None = None


class _Published(Answer):
    """One item of ``/{page-id}/published_posts`` as a read-back reads it."""

    id: GraphId
    message: str | None = None
    created_time: str | None = None
    permalink_url: str | None = None


class _Summary(Answer):
    total_count: MetricCount | None = None


class _Edge(Answer):
    summary: _Summary | None = None


class _Shares(Answer):
    count: MetricCount = 0


class _PostNode(Answer):
    """A post's counts, read in a metrics batch."""

    created_time: str | None = None
    shares: _Shares = _Shares()  # Meta leaves ``shares`` out when nobody shared
    reactions: _Edge | None = None
    comments: _Edge | None = None


class _From(Answer):
    """A comment's author. Meta leaves ``from`` out for people who have not granted the
    app access (Page Public Content Access rules), so it is optional."""

    id: GraphId
    name: str | None = None


class _Comment(RawAnswer):
    """One comment, as the inbox reads it (`COMMENT_FIELDS`)."""

    id: GraphId
    message: str = ""
    author: _From | None = pydantic.Field(default=None, alias="from")
    created_time: GraphTime
    parent: IdAnswer | None = None
    is_hidden: Flag = False
    permalink_url: str | None = None


class _PostComments(RawAnswer):
    """A post of the Page's feed (`FEED_FIELDS`: the Page's own, or a visitor's) with its
    comments expanded (the first page of them)."""

    id: GraphId
    author: _From | None = pydantic.Field(default=None, alias="from")
    message: str = ""
    created_time: GraphTime | None = None
    permalink_url: str | None = None
    comments: EdgePage[_Comment] | None = None


FEED_FIELDS = "id,from{id,name},message,created_time,permalink_url"
"""The fields of a Page feed post the inbox reads (a visitor post is a message)."""


COMMENT_FIELDS = "id,message,from,created_time,parent{id},is_hidden,permalink_url"
"""The fields of a comment the inbox reads."""

_Capabilities = BUILTIN_CAPABILITIES["facebook"]


class FacebookAdapter(GraphAdapter):
    """Publishes to one Facebook Page; see the module docstring for the protocol.

    Attributes:
        post_metrics: the post insights metrics asked for, each with its canonical name.
            A name in `RETIRED_POST_METRICS` is not asked for and comes back
            unavailable; one Meta refuses comes back unavailable with Meta's message.
    """

    name: ClassVar[str] = "facebook"
    capabilities: ClassVar[Capabilities] = _Capabilities
    # Page tokens are under the Business Use Case limit: 4800 calls x engaged users per 24 h
    # (at least one engaged user assumed); Meta's usage headers refine it as calls go.
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (RatePolicy("pages", 4800, 86_400.0),)
    # Two reads per post (fields and insights) in one batch of at most 50.
    metrics_batch_size: ClassVar[int] = 25
    inbox_posts: ClassVar[int] = 25
    """How many of the Page's newest posts an inbox read looks at (one page of posts)."""
    comments_page: ClassVar[int] = 100
    """Comments asked for per page (``limit``; Meta's default is 25)."""
    inbox_pages: ClassVar[int] = 50
    """The most pages of comments read per post in one inbox read (in all, when the read
    goes on with posts an earlier read left unfinished); a post with more new comments is
    read on by the next call, which the first one's ``more`` asks for."""

    post_metrics: tuple[tuple[str, Metric], ...] = (
        ("post_media_view", Metric.IMPRESSIONS),
        ("post_total_media_view_unique", Metric.REACH),
        ("post_clicks_by_type", Metric.LINK_CLICKS),
    )

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.settings.get("page_id"):
            raise ConfigurationError("a Facebook account needs page_id")
        # Unpublished photos and videos uploaded for a part whose post is not confirmed yet,
        # by the part's key: a repeated publish_part reuses them.
        self._photos: dict[str, list[str]] = {}
        self._videos: dict[str, str] = {}
        self._sessions: dict[str, str] = {}
        # The Page token GET /me said is the Page's own: its permission refusals are real.
        self._page_own: str | None = None

    @property
    def page_id(self) -> str:
        """The Page's id."""
        return str(self.account.settings["page_id"])

    def token(self) -> str:
        return self.account.secret("page_token") or ""

    def bucket_of(self, request: httpx.Request) -> str:
        return "pages"

    def public_url(self, ref: PartRef) -> str | None:
        """The post's permalink, else ``https://www.facebook.com/{post-id}``."""
        return ref.url or f"https://www.facebook.com/{ref.id}"

    def auth_advice(self, code: int | None, subcode: int | None) -> str:
        if self.account.has_secret("user_token"):
            return (
                "The Page token and the user token were both refused: log in again (Facebook "
                "Login) and give brandkit the new long-lived user token"
            )
        return (
            "Page tokens do not expire but are invalidated by a password change, a removed "
            "permission or a lost Page role: get a new Page token (or give a user token, "
            "from which brandkit fetches one)"
        )

    # -- tokens ------------------------------------------------------------------------------

    def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool = False,
        creates: bool = False,
    ) -> Flow[httpx.Response]:
        """Send one request with the Page token (`GraphAdapter.get` sends through it too);
        when Meta refuses the token (code 190) and a user token is at hand, fetch a new
        Page token and send the request once more (a refused token did nothing, so even a
        create may be repeated). A permission refusal (code 10, 200-299) with a token not
        known to be the Page's own asks ``GET /me`` whose it is: another's (a user token
        given as the Page token, say) is replaced the same way with a user token at hand.

        Raises:
            AuthError: the Page token is not the Page's own and no user token is at hand.
        """
        if not self.account.has_secret("page_token"):
            yield from self._fetch_page_token()
        used = self.token()
        response = yield Send(build(), idempotent=idempotent, bucket="pages", creates=creates)
        code = _code(response)
        if code == 190 and self.account.has_secret("user_token"):
            if self.token() == used:
                yield from self._fetch_page_token()
            response = yield Send(build(), idempotent=idempotent, bucket="pages", creates=creates)
        elif code is not None and _permission(code) and used != self._page_own:
            owner = yield from self._token_owner(used)
            if owner is None or owner == self.page_id:
                self._page_own = used if owner is not None else None
                return response
            if not self.account.has_secret("user_token"):
                raise AuthError(
                    f"facebook: page_token is not the token of Page {self.page_id} (it is "
                    f"{owner}'s, a user token or another Page's), so Meta refuses the Page's "
                    "writes as unauthorised: give the Page's own token (GET /me/accounts "
                    "lists it), or pass the user token as user_token= and brandkit fetches it",
                    platform=self.name,
                    status_code=response.status_code,
                    platform_message=self.account.redact(
                        str(graph_error(response).get("message") or "")
                    ),
                    code=code,
                )
            if self.token() == used:
                yield from self._fetch_page_token()
            response = yield Send(build(), idempotent=idempotent, bucket="pages", creates=creates)
        return response

    def _token_owner(self, token: str) -> Flow[str | None]:
        """The id ``GET /me`` gives for ``token`` (a user's or a Page's), ``None`` when Meta
        does not say (a refusal, a throttle, an answer without one)."""
        request = self.request("GET", "/me", params={"fields": "id"}, token=token)
        response = yield Send(request, idempotent=True, bucket="pages")
        if not response.is_success:
            return None
        try:
            found = response.json().get("id")
        except (ValueError, AttributeError):
            return None
        return found if isinstance(found, str) and found.isdigit() else None

    def _fetch_page_token(self) -> Flow[None]:
        """``GET /{page-id}?fields=access_token`` with the user token; the Page token goes to
        the account (and its ``on_credentials_changed`` hook)."""
        user_token = self.account.secret("user_token")
        if not user_token:
            raise ConfigurationError("a Facebook account needs page_token= or user_token=")
        request = self.request(
            "GET", f"/{self.page_id}", params={"fields": "access_token"}, token=user_token
        )
        response = yield Send(request, idempotent=True, bucket="pages")
        page_token = parse_credentials(self, response, _PageToken).access_token
        if not page_token:
            raise AuthError(
                f"facebook: the user token gives no access token for Page {self.page_id}: the "
                "user needs a role on the Page and the pages_show_list and pages_manage_posts "
                "permissions",
                platform=self.name,
                status_code=response.status_code,
            )
        self.account.update_secrets(page_token=page_token)

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Fetch a Page token from the user token when no Page token is given."""
        if not self.account.has_secret("page_token"):
            yield from self._fetch_page_token()
        return self.capabilities

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Publish the post: a feed post (with the link card), one photo, an album of
        unpublished photos attached to a feed post, or a video (uploaded in chunks and
        waited for). Facebook has no threads: a long text is refused by rendering.

        Raises:
            PlatformError: Meta refused (typed by `error_for`); a 5xx on the create
                is `PlatformUnavailable` so that the driver looks the post up first.
            MalformedResponse: a success answer brandkit cannot read (no id, a wrong type,
                not JSON); after the create, the post may exist and is looked up.
        """
        if thread.reply_to is not None and part.index == 0:
            return (yield from self._publish_comment(part, thread.reply_to))
        media = part.media
        videos = [m for m in media if m.kind == "video"]
        if videos:
            post_id = yield from self._publish_video(part, videos[0], thread)
        elif len(media) == 1:
            post_id = yield from self._publish_photo(part, media[0])
        else:
            data: dict[str, Any] = {"message": part.text or None}
            if media:
                ids = self._photos.get(thread.key)
                if ids is None:
                    ids = []
                    for item in media:
                        ids.append((yield from self._upload_photo(item, published=False)))
                    self._photos[thread.key] = ids
                data["attached_media"] = [{"media_fbid": i} for i in ids]
            elif (card := self.link_card(rendered, part, thread)) is not None:
                data["link"] = card.url
            response = yield from self.send(
                lambda: self.request("POST", f"/{self.page_id}/feed", data=data), creates=True
            )
            post_id = self.parse(response, IdAnswer).id
            self._photos.pop(thread.key, None)
        url = yield from self._permalink(post_id)
        return PartRef(index=part.index, id=post_id, url=url)

    def _publish_photo(self, part: RenderedPart, media: Media) -> Flow[str]:
        response = yield from self.send(
            lambda: self._photo_request(media, published=True, caption=part.text), creates=True
        )
        photo = self.parse(response, _PhotoAnswer)
        return photo.post_id or f"{self.page_id}_{photo.id}"

    def _upload_photo(self, media: Media, *, published: bool) -> Flow[str]:
        # An unpublished photo is seen by nobody and may be sent again.
        response = yield from self.send(
            lambda: self._photo_request(media, published=published, caption=None),
            idempotent=True,
        )
        return self.parse(response, IdAnswer).id

    def _photo_request(
        self, media: Media, *, published: bool, caption: str | None
    ) -> httpx.Request:
        data: dict[str, Any] = {"published": published, "caption": caption or None}
        if media.alt:
            data["alt_text_custom"] = media.alt
        files = {"source": (media.filename, media.read(), media.mime_type)}
        request = self.request("POST", f"/{self.page_id}/photos", data=data, files=files)
        request.read()
        return request

    def _publish_video(self, part: RenderedPart, media: Media, thread: ThreadContext) -> Flow[str]:
        video_id = self._video_of(thread)
        if video_id is None:
            video_id = yield from self._upload_video(media)
            self._videos[thread.key] = video_id
            # Kept with the delivery before the finish leaves: the finish publishes the
            # video, and another process must then wait for this one, not upload it again.
            thread.progress.update(video_id=video_id, upload_session_id=self._sessions[video_id])
        session = self._sessions.get(video_id) or thread.progress.get("upload_session_id", "")
        response = yield from self.send(
            lambda: self.request(
                "POST",
                f"/{self.page_id}/videos",
                data={
                    "upload_phase": "finish",
                    "upload_session_id": session,
                    "description": part.text or None,
                },
            ),
            creates=True,
        )
        self.check(response)
        post_id = yield from self._wait_video(video_id)
        self._videos.pop(thread.key, None)
        return post_id

    def _video_of(self, thread: ThreadContext) -> str | None:
        """The video an earlier attempt of ``thread``'s part uploaded in full, in this
        process or (from the delivery's progress) in another."""
        return self._videos.get(thread.key) or thread.progress.get("video_id")

    def _upload_video(self, media: Media) -> Flow[str]:
        """The resumable upload: start, then the chunks Meta asks for, streamed from the
        file. Returns the video id (the post is made by the ``finish`` phase)."""
        start = yield from self.send(
            lambda: self.request(
                "POST",
                f"/{self.page_id}/videos",
                data={"upload_phase": "start", "file_size": media.size},
            ),
            idempotent=True,
        )
        body = self.parse(start, _VideoStart)
        video_id, session = body.video_id, body.upload_session_id
        self._sessions[video_id] = session
        reader = _Slicer(media.chunks(_VIDEO_CHUNK))
        begin, end = self._next_chunk(start, body, 0, media.size)
        while begin < end:
            chunk = reader.take(end - begin)
            offset = begin

            def transfer(chunk: bytes = chunk, offset: int = offset) -> httpx.Request:
                request = self.request(
                    "POST",
                    f"/{self.page_id}/videos",
                    data={
                        "upload_phase": "transfer",
                        "upload_session_id": session,
                        "start_offset": offset,
                    },
                    files={"video_file_chunk": ("chunk", chunk, "application/octet-stream")},
                )
                request.read()
                return request

            # Sending the same chunk at the same offset again is harmless.
            response = yield from self.send(transfer, idempotent=True)
            answer = self.parse(response, _VideoChunk)
            begin, end = self._next_chunk(response, answer, end, media.size)
        return video_id

    def _next_chunk(
        self, response: httpx.Response, answer: _VideoChunk | _VideoStart, sent: int, size: int
    ) -> tuple[int, int]:
        """The byte range Meta asks for next, once ``sent`` bytes went: it must start where
        the upload stands and end past it (an end past the file's is cut to it), or be
        ``(size, size)`` once every byte went. Anything else would resend or skip bytes (a
        garbled or cut video), or never end.

        Raises:
            MalformedResponse: the offsets do not walk the file.
        """
        begin, end = int(answer.start_offset), int(answer.end_offset)
        if begin == end == size and sent == size:
            return begin, end
        if begin == sent < size and end > begin:
            return begin, min(end, size)
        raise MalformedResponse(
            f"facebook asked for bytes {begin}-{end} of the {size}-byte video after "
            f"{sent} were sent: the upload offsets do not walk the file",
            platform=self.name,
            status_code=response.status_code,
            body=self.account.redact(response.text[:2000]),
        )

    def _wait_video(self, video_id: str) -> Flow[str]:
        """Poll the video until it is ready; returns its post id."""
        waited, delay = 0.0, self.poll_initial
        while True:
            body = yield from self.get(f"/{video_id}", {"fields": "status,post_id"}, _Video)
            state = body.status.video_status
            if state == "ready" and body.post_id:
                return body.post_id
            if state == "error":
                processing = body.status.processing_phase or _Phase()
                first = (processing.errors or (processing.error or _PhaseError(),))[0]
                message = first.message or "video processing failed"
                raise Rejected(
                    f"facebook: video {video_id} failed: {message}",
                    platform=self.name,
                    platform_message=message,
                    code="video_status:error",
                )
            if waited >= self.poll_timeout:
                raise PlatformUnavailable(
                    f"facebook: video {video_id} was still {state or 'processing'} after "
                    f"{waited:.0f} s",
                    platform=self.name,
                )
            yield Wait(delay)
            waited += delay
            delay = min(delay * 2, self.poll_max)

    def _permalink(self, post_id: str) -> Flow[str | None]:
        """The permalink of a post (or comment) just made, or ``None`` when Meta does not
        give it (the read is refused, fails or cannot be read: a new post is not always
        readable at once). The post exists either way: its create answered its id, and a
        failed read must not turn it into a failed delivery, nor make a retry post it
        again."""
        try:
            body = yield from self.get(f"/{post_id}", {"fields": "permalink_url"}, _Permalink)
        except PlatformError:
            return None
        return body.permalink_url or None

    # -- find --------------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the post an earlier attempt of this part created, without creating one.

        A video an earlier attempt uploaded (in this process, or in another: the
        delivery's `progress`) whose finish Meta received is waited for; one still idle
        after its upload (no finish received) is not there, and the next publish finishes
        it; one Meta could not process is forgotten, and the next publish uploads anew.
        Otherwise the Page's ``published_posts`` created since the part's key was made
        (less `readback_slack`) are read back and matched on the message; `first_made`
        chooses the match the attempt made: the oldest made since the key, else, by Meta's
        clock (the answer's ``Date``), the oldest made since the key less a minute (a local
        clock ahead of Meta's); an older one is a twin. ``None`` means nothing matched, so
        the post did not land.

        An answer to a comment (``thread.reply_to``) is looked for among the comment's
        replies: the Page's own with the same text, made since the part's key.

        Raises:
            PlatformError: Meta could not be asked.
        """
        if thread.reply_to is not None and part.index == 0:
            return (yield from self._find_comment(part, thread))
        video_id = self._video_of(thread)
        if video_id is not None:
            body = yield from self.get(f"/{video_id}", {"fields": "status,post_id"}, _Video)
            uploading = body.status.uploading_phase
            phase = uploading.status if uploading is not None else None
            processing = body.status.processing_phase
            # Every byte in but no finish received: Meta keeps such a video idle
            # (upload_complete, processing not_started) until a finish comes, which the
            # next publish sends on the same session.
            idle = body.status.video_status in ("uploading", "upload_complete") and (
                processing is None or processing.status in (None, "not_started")
            )
            if phase == "complete" and body.status.video_status != "error" and not idle:
                post_id = yield from self._wait_video(video_id)
                self._videos.pop(thread.key, None)
                url = yield from self._permalink(post_id)
                return PartRef(index=part.index, id=post_id, url=url)
            if body.status.video_status == "error":
                self._videos.pop(thread.key, None)
                thread.progress.clear()
            return None
        oldest = yield from self.read_back_post(
            f"/{self.page_id}/published_posts",
            "id,message,created_time,permalink_url",
            _Published,
            thread,
            part.text,
            text_of=lambda p: p.message,
            when=lambda p: parse_time(p.created_time),
        )
        if oldest is None:
            return None
        self._photos.pop(thread.key, None)
        return PartRef(index=part.index, id=oldest.id, url=oldest.permalink_url)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The comments (every level) on the Page's `inbox_posts` newest posts that are
        new since ``cursor``, the Page's own left out, oldest first, at most ``limit``
        (a read that found more gives whole pages, and the reads after it go on after
        the last one given; see `new_messages`).

        One request reads them all while no post has more than `comments_page` new
        comments: the posts come with their comments expanded, newest first
        (``comments.filter(stream).order(reverse_chronological).limit(100)``); a post
        whose first page is all new is read on at ``/{post-id}/comments`` until a comment
        already seen. When a post still has new comments after `inbox_pages` pages (or
        once about ``limit`` messages were read), the read gives what it found with
        ``more`` and a cursor that goes on with those posts from Meta's ``after`` cursor
        (older comments, down to the cursor's mark) before the mark moves. Comments on
        older posts are not read (Meta's Page webhooks announce those).

        Raises:
            ConfigurationError: ``cursor`` is not one this Page's inbox returned.
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        state = InboxCursor.decode(cursor, self.name, self.page_id)
        if state.resume:
            return (yield from self._inbox_round(state, limit))
        n = self.comments_page
        expand = (
            f"comments.filter(stream).order(reverse_chronological).limit({n}){{{COMMENT_FIELDS}}}"
        )
        # The Page Feed, not published_posts: it also holds the posts visitors write on
        # the Page, which are messages themselves and have comments of their own.
        posts, clock = yield from self.get_dated(
            f"/{self.page_id}/feed",
            {"fields": f"{FEED_FIELDS},{expand}", "limit": self.inbox_posts},
            EdgePage[_PostComments],
        )
        visitors = self._visitor_posts(posts.data)
        reads: list[EdgeRead] = [EdgeRead(edge=self.page_id, pages=((visitors, None),))]
        # The posts' first pages came with them; the pages read past them share what is
        # left of ``limit``, so that the read gives what it reads.
        left = limit - len(visitors)
        left -= sum(len(p.comments.data) for p in posts.data if p.comments is not None)
        for post in posts.data:
            if post.comments is None:
                continue  # Meta leaves the edge out of a post without comments
            read = yield from self.read_edge_pages(
                f"/{post.id}/comments",
                self._comment_params(),
                _Comment,
                post.comments,
                max_pages=self.inbox_pages,
                stop=lambda c: not state.is_new(c.created_time, c.id),
                budget=len(post.comments.data) + max(0, left),
            )
            left -= sum(len(page) for page, _ in read.pages[1:])
            reads.append(
                EdgeRead(
                    edge=post.id,
                    pages=tuple(
                        (tuple(self._message(c, post.id) for c in page if not self._ours(c)), a)
                        for page, a in read.pages
                    ),
                    after=read.after,
                )
            )
        return new_messages(reads, state, limit, clock=clock, stops_at_mark=True)

    def _inbox_round(self, state: InboxCursor, limit: int) -> Flow[InboxPage]:
        """Go on reading the posts of a round (``state.resume``) from Meta's ``after``
        cursors, older comments down to the mark, at most `inbox_pages` pages and
        ``limit`` messages. A cursor Meta invalidated (its comment deleted) reads the post
        from its first page again, the comments down to the post's floor left out (read
        before: `InboxCursor.floors`), at this read and the round's later ones
        (`InboxCursor.again`)."""
        todo = list(state.resume)
        floors: dict[str, InboxCursor | None] = dict(state.floors)
        went = set(state.again)
        found: list[Message] = []
        requests = 0
        while todo and len(found) < limit and requests < self.inbox_pages:
            post_id, after = todo.pop(0)
            if post_id == self.page_id:
                # The visitor posts a read held back: the feed's posts again (one page).
                feed = yield from self.get(
                    f"/{self.page_id}/feed",
                    {"fields": FEED_FIELDS, "limit": self.inbox_posts},
                    EdgePage[_PostComments],
                )
                requests += 1
                found.extend(self._visitor_posts(feed.data))
                continue
            params = self._comment_params()
            if after:  # "": the post's first page, which the read that began the round left
                params["after"] = after
            floor = floors.get(post_id)

            def restart(c: _Comment, floor: InboxCursor | None = floor) -> bool:
                return before_floor(floor, c.created_time, c.id)

            read = yield from self.read_edge_pages(
                f"/{post_id}/comments",
                params,
                _Comment,
                None,
                max_pages=self.inbox_pages - requests,
                stop=lambda c: not state.is_new(c.created_time, c.id),
                budget=limit - len(found),
                gone_ends=True,
                restart=restart,
                again=post_id in went,
            )
            if read.again:
                went.add(post_id)
            requests += read.requests
            messages = [
                self._message(c, post_id)
                for page, _ in read.pages
                for c in page
                if not self._ours(c)
            ]
            if read.after is not None:
                todo.insert(0, (post_id, read.after))
                places = ((m.created_at, m.id) for m in messages)
                floors[post_id] = edge_floor(floor, places)
            found.extend(messages)
        return resumed_messages(found, state, todo, floors, went)

    def _comment_params(self) -> dict[str, Any]:
        """The query of ``GET /{post-id}/comments`` for the inbox (every level, newest
        first)."""
        return {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": self.comments_page,
        }

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Every comment (every level) on the post, oldest first, the Page's own left out
        (``GET /{post-id}/comments?filter=stream&order=chronological``).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        post_id = refs[0].id
        comments = yield from self.rest_of_edge(
            f"/{post_id}/comments",
            {
                "fields": COMMENT_FIELDS,
                "filter": "stream",
                "order": "chronological",
                "limit": self.comments_page,
            },
            _Comment,
            None,
            max_pages=self.inbox_pages,
        )
        return [self._message(c, post_id) for c in comments if not self._ours(c)]

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        """An answer to a comment is a comment: its text alone."""
        return comment_rules(capabilities)

    def reply_target(self, message: Message) -> PartRef:
        """The comment to answer. Facebook threads one level deep: an answer to a reply
        joins the replies of its comment (``extra["thread"]``), where a lost answer is
        looked for."""
        return self.comment_target(message)

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """``POST /{comment-id}`` with ``is_hidden`` (hidden comments stay visible to their
        author and friends).

        Raises:
            PlatformError: Meta refused (the Page's own comments cannot be hidden).
        """
        response = yield from self.send(
            lambda: self.request("POST", f"/{message.id}", data={"is_hidden": hidden}),
            idempotent=True,
        )
        self.check(response)

    def delete_message(self, message: Message) -> Flow[None]:
        """``DELETE /{comment-id}`` as the Page; a comment already gone counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.delete_node(message.id)

    def like(self, message: Message) -> Flow[None]:
        """``POST /{comment-id}/likes`` as the Page (liking twice changes nothing).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        response = yield from self.send(
            lambda: self.request("POST", f"/{message.id}/likes"), idempotent=True
        )
        self.check(response)

    def _visitor_posts(self, posts: Sequence[_PostComments]) -> tuple[Message, ...]:
        """The posts visitors wrote on the Page, as messages of kind ``"mention"`` (someone
        writing to the brand); the Page's own posts, and posts whose writer Meta does not
        name, left out."""
        out: list[Message] = []
        for post in posts:
            if post.author is None or post.author.id == self.page_id:
                continue
            if post.created_time is None:
                continue  # not one brandkit can place in time, so never new
            raw = post.raw
            raw.pop("comments", None)
            out.append(
                Message(
                    platform=self.name,
                    account=self.account.key,
                    id=post.id,
                    kind="mention",
                    author=Author(id=post.author.id, name=post.author.name),
                    text=post.message,
                    created_at=post.created_time,
                    url=post.permalink_url,
                    in_reply_to=None,
                    conversation=post.id,
                    our_post=None,
                    raw=raw,
                    extra={self.comment_post_key: post.id, "parent": None},
                )
            )
        return tuple(out)

    def _ours(self, comment: _Comment) -> bool:
        return comment.author is not None and comment.author.id == self.page_id

    def _message(self, c: _Comment, post_id: str) -> Message:
        parent = c.parent.id if c.parent is not None else None
        author = (
            Author(id=c.author.id, name=c.author.name)
            if c.author is not None
            # Meta hides who wrote it from apps the person has not granted access.
            else Author(id="unknown")
        )
        return self.comment_message(
            c.id,
            post=post_id,
            parent=parent,
            author=author,
            text=c.message,
            created_at=c.created_time,
            url=c.permalink_url,
            hidden=c.is_hidden,
            raw=c.raw,
        )

    def _publish_comment(self, part: RenderedPart, target: PartRef) -> Flow[PartRef]:
        """``POST /{comment-id}/comments`` with the answer's text (no idempotency: a lost
        answer is looked up by `find_part` before anything is sent again)."""
        if part.media:
            raise ContentError(
                "facebook: brandkit answers comments with text only; remove the media",
                field="media",
                platform=self.name,
            )
        response = yield from self.send(
            lambda: self.request("POST", f"/{target.id}/comments", data={"message": part.text}),
            creates=True,
        )
        comment_id = self.parse(response, IdAnswer).id
        url = yield from self._permalink(comment_id)
        return PartRef(index=part.index, id=comment_id, url=url, extra={"parent": target.id})

    def _find_comment(self, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        assert thread.reply_to is not None
        under = self.answer_thread(thread)
        since = self.readback_since(thread)
        comments = yield from self.rest_of_edge(
            f"/{under}/comments",
            {"fields": COMMENT_FIELDS, "order": "reverse_chronological", "limit": 100},
            _Comment,
            None,
            max_pages=self.readback_pages,
            stop=lambda c: since is not None and c.created_time < since,
        )
        matches = [
            c
            for c in comments
            if self._ours(c)
            and c.message.strip() == part.text.strip()
            and (since is None or c.created_time >= since)
        ]
        oldest = self.made_by_attempt(matches, thread, lambda c: c.created_time)
        if oldest is None:
            return None
        return PartRef(
            index=part.index,
            id=oldest.id,
            url=oldest.permalink_url,
            extra={"parent": thread.reply_to.id},
        )

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /{post-id}``; a post that is already gone counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.delete_node(ref.id)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Views, viewers, link clicks (post insights), reactions, comments and shares of up
        to 25 posts in one batch request (two reads per post). Retired metrics, and metrics
        Meta refuses, come back unavailable with the reason.

        Raises:
            PlatformError: Meta refused the batch itself.
        """
        wanted = [(raw, m) for raw, m in self.post_metrics if raw not in RETIRED_POST_METRICS]
        urls: list[str] = []
        for ref in refs:
            urls.append(
                f"{ref.id}?fields=created_time,shares,reactions.summary(total_count).limit(0),"
                "comments.summary(total_count).limit(0)"
            )
            if wanted:
                metric = ",".join(raw for raw, _ in wanted)
                urls.append(f"{ref.id}/insights?metric={metric}&period=lifetime")
        answers: list[httpx.Response | None] = []
        for start in range(0, len(urls), 50):
            answers.extend((yield from self._batch(urls[start : start + 50])))
        fetched_at = datetime.now(UTC)
        samples: list[MetricSample] = []
        step = 2 if wanted else 1
        for i, ref in enumerate(refs):
            node = answers[i * step]
            insights = answers[i * step + 1] if wanted else None
            samples.extend(self._post_samples(ref, node, insights, wanted, fetched_at))
        return samples

    def _batch(self, urls: Sequence[str]) -> Flow[list[httpx.Response | None]]:
        if not self.account.has_secret("page_token"):
            yield from self._fetch_page_token()
        answers = yield from self.batch(urls, bucket="pages")
        return answers

    def _post_samples(
        self,
        ref: PartRef,
        node: httpx.Response | None,
        insights: httpx.Response | None,
        wanted: Sequence[tuple[str, Metric]],
        fetched_at: datetime,
    ) -> Iterator[MetricSample]:
        common: dict[str, Any] = {
            "platform": self.name,
            "account": self.account.key,
            "post_id": ref.id,
            "fetched_at": fetched_at,
        }
        body, reason = self.read_item(node, _PostNode, "the post")
        posted_at = parse_time(body.created_time) if body is not None else None
        counts = (
            ("reactions", Metric.LIKES),
            ("comments", Metric.REPLIES),
            ("shares", Metric.SHARES),
        )
        for raw, metric in counts:
            value = _count(body, raw) if body is not None else None
            if value is not None:
                yield MetricSample(
                    metric=metric.value, value=value, raw_name=raw, posted_at=posted_at, **common
                )
            else:
                yield MetricSample.unavailable(
                    metric=metric.value,
                    raw_name=raw,
                    reason=reason or f"Meta sent no {raw} count",
                    **common,
                )
        read, refused = self.read_insights(insights) if insights is not None else (None, None)
        values = read.values() if read is not None else {}
        for raw, metric in self.post_metrics:
            insight = values.get(raw)
            if raw == "post_clicks_by_type" and isinstance(insight, dict):
                insight = insight.get("link clicks", 0)
            if isinstance(insight, int | float) and raw not in RETIRED_POST_METRICS:
                yield MetricSample(
                    metric=metric.value, value=insight, raw_name=raw, posted_at=posted_at, **common
                )
                continue
            if raw in RETIRED_POST_METRICS:
                why = RETIRED_POST_METRICS[raw]
            elif refused is not None:
                why = refused
            elif insights is None:
                why = describe_failure(None, "the post's insights")
            else:
                why = f"Meta sent no value for {raw} (insights need a Page with 100 or more likes)"
            yield MetricSample.unavailable(metric=metric.value, raw_name=raw, reason=why, **common)
        yield MetricSample.unavailable(
            metric=Metric.BOOKMARKS.value,
            reason="Facebook does not report saves of Page posts",
            **common,
        )

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """The Page's followers (``GET /{page-id}?fields=followers_count``).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        return (yield from self.followers(self.page_id, "followers_count,fan_count", "this Page"))


def _count(body: _PostNode, edge: str) -> int | None:
    """A post's count: ``shares.count`` (absent when 0) or an edge's summary total."""
    if edge == "shares":
        return body.shares.count
    node = body.reactions if edge == "reactions" else body.comments
    return node.summary.total_count if node is not None and node.summary is not None else None


def _permission(code: int) -> bool:
    """Whether a Graph error code is a permission refusal (10, 200-299)."""
    return code == 10 or 200 <= code < 300


def _code(response: httpx.Response) -> int | None:
    if response.is_success:
        return None
    code = graph_error(response).get("code")
    return code if isinstance(code, int) else None


class _Slicer:
    """Exact byte ranges from a stream of chunks (Meta names each chunk's offsets)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out
