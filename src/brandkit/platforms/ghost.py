"""Ghost Admin API: publishes articles (posts and pages) to a Ghost site.

Facts used here (https://docs.ghost.org/admin-api, and Ghost's own source for the token
checks, ``core/server/services/auth/api-key/admin.js``):

- Authentication with a custom integration's Admin API key ``{id}:{secret}``: every request
  carries ``Authorization: Ghost <token>``, a JWT signed HS256 with the hex-decoded secret,
  its header ``kid`` the key's id, its ``aud`` ``/admin/``, valid 5 minutes from ``iat``.
  brandkit signs one per request with the standard library's ``hmac`` (the key itself never
  leaves the machine), and signs again when a request is repeated. Ghost checks ``exp`` and
  ``iat`` on its own clock: on a machine whose clock is 5 minutes or more behind Ghost's,
  every token is refused, 401 "Invalid token: jwt expired". After one such refusal whose
  ``Date`` shows Ghost's clock that far ahead, the adapter signs with Ghost's time (its
  clock plus the difference) and sends the request once more; the difference is kept for
  the adapter's later requests (and its scheduling decisions, which are Ghost's to make).
  A refusal the ``Date`` does not explain is an `AuthError` that says what Ghost's clock
  reads.
- ``POST /ghost/api/admin/posts/?source=html`` (``/pages/`` for a page) creates the post from
  HTML; without ``source=html`` Ghost would drop the HTML. Ghost stores it as Lexical, and
  that conversion is lossy (Ghost's docs say so): an element Lexical and Koenig have no node
  for (a table, a ``div``, an ``iframe``, a ``class`` or ``id``) is flattened to its text.
  Ghost keeps HTML whole inside an HTML card, ``<!--kg-card-begin: html-->`` ...
  ``<!--kg-card-end: html-->``, so `ghost_html` puts each top-level block that would lose
  something in one; the rest stays editable in Ghost's editor.
  ``status`` is ``draft``, ``published`` or ``scheduled`` (``published_at`` at least 2
  minutes ahead: a scheduled article whose time has passed is sent ``published``, dated as
  asked, and one due in less than 2 minutes is scheduled at the earliest time Ghost takes,
  2.5 minutes from now, late but never early); ``tags`` are found by name or created;
  ``custom_excerpt`` (300 characters), ``feature_image`` with ``feature_image_alt`` (191) and
  ``canonical_url``.
- The featured image is uploaded first (``POST /ghost/api/admin/images/upload/``, multipart)
  and its URL set as ``feature_image``, under a name Ghost stores as sent (`_image_name`).
  The Admin API cannot list images, so after a lost answer the upload is not repeated
  blindly: the addresses Ghost's local storage gives the file (``/content/images/YYYY/MM/
  <name>.<ext>``, or its ``-1``, ``-2``... for a name taken: every Ghost 5 and 6 release) are
  read, and one holding the same bytes is used; only if none does is it uploaded once more,
  which may leave an unused copy: so on a site storing images elsewhere (Ghost(Pro), S3) or
  with a storage naming uploads with random digits (``ghost-storage-base`` 1.1.0/1.1.1's
  ``<name>-<16 hex digits>.<ext>``, reverted in Ghost within a week).
- Never twice: Ghost has no idempotency key. After a lost answer the adapter looks the post up
  by its slug (``?filter=slug:['...',...]``, quoted: NQL has no token for a one-character
  bare word), as Ghost stores it (`ghost_slug`: ``x`` is ``post-x``, ``rss`` is
  ``rss-post``); Ghost gives a taken slug ``-2``, ``-3``..., so the slug's family is read, a
  batch of variants at a time, until a variant is free (at most `SLUG_FAMILY` variants), and
  only a post with the article's title created since the delivery began counts.
- Editing needs the post's current ``updated_at`` (Ghost refuses an older one with 409
  ``UpdateCollisionError``): `GhostAdapter.update_article` reads it first and tries once more
  after a collision.
- The Admin API has no view counts (they live in Ghost's own analytics), so there is no
  metrics flow. Self-hosted Ghost sets no rate limit on the Admin API; Ghost(Pro) answers
  429 ``TooManyRequestsError`` when it does, which becomes `RateLimited`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pydantic

from brandkit._flow import Flow, Send
from brandkit.content._html import html_blocks
from brandkit.errors import (
    ConfigurationError,
    ContentError,
    MalformedResponse,
    MediaError,
    PlatformError,
    TransportError,
)
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    Answer,
    BlogAdapter,
    Capabilities,
    PartRef,
    ThreadContext,
    article_of,
    bound_base,
    bound_slug,
    classify,
    http_time,
    names_slug,
    redirect_target,
    retry_after_of,
    sent_size,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._times import parse_time

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._article import Article
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["CARD_BEGIN", "CARD_END", "GhostAdapter", "admin_token", "ghost_html", "ghost_slug"]

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = 5 * 60
"""Ghost refuses a token more than 5 minutes after its ``iat`` (``maxAge``)."""
CLOCK_SLACK = 60
"""Seconds of the way there and back (and of ``Date``'s rounding) allowed when a refused
token's age is put down to the clocks: Ghost's ``Date`` must be at least
`TOKEN_LIFETIME` less this ahead of the time the token was signed with."""
_EXPIRED = ("Invalid token: jwt expired", "Invalid token: maxAge exceeded")
"""The words of Ghost's 401 (``UnauthorizedError``, code ``INVALID_JWT``) for a token whose
``exp`` has passed or whose ``iat`` is more than 5 minutes old, on Ghost's clock."""
_NO_METRICS = (
    "Ghost's Admin API gives integrations no view, like or comment counts of a post (its "
    "post analytics are shown only in Ghost Admin)"
)
TITLE_MAX = 255
EXCERPT_MAX = 300
SLUG_MAX = 191
ALT_MAX = 191
TAG_MAX = 191
"""The longest tag name Ghost keeps (Ghost has tags only: categories are sent as tags)."""
CANONICAL_URL_MAX = 2000
SLUG_FAMILY = 1000
"""The most of a slug's ``-2``, ``-3``... variants a lookup reads (it stops at the first
batch with a free variant)."""
_BATCH = 50
"""How many slugs one lookup request names."""
_GHOST_SLUG_CUT = 185
"""Ghost cuts a slug to 185 characters before making it unique."""
PROTECTED_SLUGS = frozenset({"ghost", "rss", "amp"})
"""Ghost's ``slugs.protected`` (its config's defaults): a post given one of these is stored
as ``<slug>-post``, as is one given the last segment of the site's subdirectory."""
IMAGE_FAMILY = 10
"""How many of a file name's ``-1``, ``-2``... variants an image lookup reads."""
_NAME_BYTES = 255
"""The longest file name Ghost's local storage can write (the file system's limit): a longer
one fails the upload with 400 ``ENAMETOOLONG``."""
_NAME_ROOM = len("-") + 16 + len("_o")
"""What Ghost's storage may add to a stem: ``-1``, ``-2``... for a name taken (or the 16 hex
digits of ``ghost-storage-base`` 1.1's random names), and ``_o`` for the original it keeps of
an image its optimisation re-encoded."""
LOOKUP_SKEW = timedelta(minutes=5)
"""How far Ghost's clock may be behind brandkit's for a found post to still count."""
SCHEDULE_LEAD = timedelta(minutes=2)
"""Ghost refuses to schedule a post less than this ahead (``cannotScheduleAPostBeforeInMinutes``,
"Date must be at least 2 minutes in the future.")."""
_LEAD_MARGIN = timedelta(seconds=30)
"""Added to `SCHEDULE_LEAD` for the request's way and the difference between the clocks."""

_OPTIMIZED = frozenset({".jpg", ".png", ".webp"})
"""The extensions of the images Ghost's image optimisation re-encodes (keeping the original
beside it as ``<name>_o.<ext>``)."""

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
}


def ghost_slug(slug: str, subdir: str = "") -> str:
    """The slug Ghost stores for a post sent ``slug`` (lowercase letters, digits and
    hyphens) when it is free (``generateSlug``): cut to 185 characters (a hyphen left at the
    cut stays), one character made ``post-<slug>``, a protected slug (``ghost``, ``rss``,
    ``amp``, or ``subdir``, the last segment of the site's path) ``<slug>-post``. A taken
    one gets ``-2``, ``-3``... after that."""
    made = slug[:_GHOST_SLUG_CUT]
    if len(made) == 1:
        made = f"post-{made}"
    if made in PROTECTED_SLUGS or (subdir and made == subdir):
        made = f"{made}-post"
    return made or "post"


def _sent_slug(article: Article) -> str:
    """The slug sent for ``article``: the one it names as it is (`GhostAdapter._check`
    refuses one over 191 characters, as Ghost's Admin API does), the one derived from its
    title cut to 191 characters. Ghost stores either cut to 185 (`ghost_slug`); a derived
    slug of a title of about 192 to 255 characters was refused, which Ghost takes, cutting
    the slug it makes of the title. Cut to 191, not 185: Ghost drops a trailing hyphen
    before its own cut, so a slug sent cut at a hyphen would be stored one shorter than
    `ghost_slug` says and a lost create would not be found by it."""
    return article.slug if names_slug(article) else article.slug[:SLUG_MAX]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def admin_token(admin_key: str, now: float) -> str:
    """A Ghost Admin API token (JWT, HS256) for ``admin_key`` (``{id}:{hex secret}``),
    issued at ``now`` (epoch seconds) and valid for 5 minutes.

    Raises:
        ConfigurationError: ``admin_key`` is not ``{id}:{hex secret}`` (the message never
            shows the key).
    """
    key_id, _, secret = admin_key.partition(":")
    try:
        key = bytes.fromhex(secret)
    except ValueError:
        key = b""
    if not key_id or not key:
        raise ConfigurationError(
            "the Ghost admin_key must be '{id}:{secret}' with the secret in hexadecimal "
            "(Settings -> Integrations -> your custom integration -> Admin API key)"
        )
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id}
    claims = {"iat": int(now), "exp": int(now) + TOKEN_LIFETIME, "aud": "/admin/"}
    signing = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(key, signing.encode("ascii"), hashlib.sha256).digest()
    return f"{signing}.{_b64url(signature)}"


# -- answers ---------------------------------------------------------------------------------


class _Post(Answer):
    # Ghost's ids are ObjectIds (24 hexadecimal digits). The id goes into the paths of later
    # reads, updates and deletes: "../pages/<id>" would aim them at another resource.
    id: str = pydantic.Field(pattern=r"^[0-9a-f]{24}$")
    uuid: str | None = None
    slug: str
    title: str
    status: str
    url: str | None = None
    updated_at: str
    created_at: str | None = None
    published_at: str | None = None
    feature_image: str | None = None


_LOOKUP_FIELDS = ",".join(_Post.model_fields)


class _Posts(Answer):
    posts: tuple[_Post, ...]


class _Pages(Answer):
    pages: tuple[_Post, ...]


class _Slug(Answer):
    id: str
    slug: str


class _Slugs(Answer):
    posts: tuple[_Slug, ...] = ()
    pages: tuple[_Slug, ...] = ()

    def items(self, resource: str) -> tuple[_Slug, ...]:
        return self.pages if resource == "pages" else self.posts


class _Image(Answer):
    url: str


class _Images(Answer):
    images: tuple[_Image, ...] = pydantic.Field(min_length=1)


def _ghost_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class GhostAdapter(BlogAdapter):
    """Publishes articles to one Ghost site (``Account.ghost(url, admin_key=)``); see the
    module docstring for the protocol.

    Attributes:
        accept_version: the ``Accept-Version`` header sent (the oldest Ghost API version whose
            behaviour brandkit relies on).
        clock: seconds since the epoch, for the tokens' ``iat`` (tests move it).
    """

    name: ClassVar[str] = "ghost"
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["ghost"]
    accept_version: ClassVar[str] = "v5.0"
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.has_secret("admin_key"):
            raise ConfigurationError(f"{account.key} has no admin_key: use Account.ghost(...)")
        # Ghost's clock less ours (seconds), learnt from the Date of a refusal of a token as
        # expired (see `_send`); 0 until then.
        self.skew: float = 0.0

    # -- requests ----------------------------------------------------------------------------

    def now(self) -> float:
        """Ghost's time as far as brandkit knows it: `clock` plus the difference learnt
        from a token refused as expired (seconds since the epoch)."""
        return self.clock() + self.skew

    def _authorization(self) -> str:
        token = admin_token(self.account.secret("admin_key") or "", self.now())
        # A bearer credential for 5 minutes: a server may echo it back in an error.
        self.account.conceal(token)
        return f"Ghost {token}"

    def _send(
        self, request: httpx.Request | Callable[[], httpx.Request], **step: Any
    ) -> Flow[httpx.Response]:
        """`Send` the request (or the one ``request()`` makes); after a 401 "Invalid token:
        jwt expired" whose ``Date`` puts Ghost's clock at least `TOKEN_LIFETIME` (less
        `CLOCK_SLACK`) ahead of the token's ``iat``, sign it again with Ghost's time and
        send it once more. Nothing was done by the refused request (Ghost checks the token
        first), so the repeat is safe even for a create. At most one repeat: a second
        refusal is returned as it is (and the difference learnt is dropped)."""
        make: Callable[[], httpx.Request] = request if callable(request) else (lambda: request)
        response = yield Send(make(), **step)
        skew = self._clock_skew(response)
        if skew is None:
            return response
        before, self.skew = self.skew, skew
        logger.warning(
            "%s: Ghost refused a token as expired; its clock is %.0f s ahead of this "
            "machine's: signing with Ghost's time (set this machine's clock right: NTP)",
            self.account.key,
            skew,
        )
        again = make()
        again.headers["Authorization"] = self._authorization()
        response = yield Send(again, **step)
        if _expired(response):
            self.skew = before
        return response

    def _clock_skew(self, response: httpx.Response) -> float | None:
        """Ghost's clock less ours (seconds) when ``response`` refuses the token as expired
        and its ``Date`` shows Ghost's clock far enough ahead of the time the token was
        signed with to be the cause; else ``None``."""
        if not _expired(response):
            return None
        date = _date_of(response)
        if date is None:
            return None
        skew = date + 0.5 - self.clock()
        # The token was signed with our clock plus the skew then known: Ghost's clock must
        # be a token's lifetime past it (less the way there and back) to have refused it.
        if skew - self.skew < TOKEN_LIFETIME - CLOCK_SLACK:
            return None
        return skew

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        files: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        headers = {"Authorization": self._authorization(), "Accept-Version": self.accept_version}
        url = f"{self.account.base_url}/ghost/api/admin/{path}"
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            return httpx.Request(method, url, params=params, content=content, headers=headers)
        return httpx.Request(method, url, params=params, files=files, data=data, headers=headers)

    def prepare_retry(self, request: httpx.Request) -> httpx.Request:
        """The same request with a freshly signed token (the first may be near its 5
        minutes)."""
        request.headers["Authorization"] = self._authorization()
        return request

    # -- publish -----------------------------------------------------------------------------

    def article_url_bound(self, article: Article) -> str:
        """A stand-in never shorter than the URL Ghost will give ``article`` (see
        `BlogAdapter.article_url_bound`): the site's URL (the account's, as the Admin API is
        served under it), then the slug made unique with ``-2``, ``-3``... at ``/<slug>/``
        (Ghost's default routes) or under a date (``/2026/12/06/<slug>/``, the longest
        ``permalink`` of Ghost's documented ``routes.yaml`` examples). A site whose admin
        lives at another address than its public pages, or whose collection puts a longer
        prefix before the slug, can give a longer URL: the announcement then fails on its
        network after the article is out, saying by how much.

        Raises:
            ConfigurationError: the account has no base URL.
        """
        slug = bound_slug(ghost_slug(article.slug, self._subdir()))
        return f"{bound_base(self.account.base_url)}/0000/00/00/{slug}/"

    def _holds_slug(self, current: PartRef, slug: str, resource: str) -> Flow[bool]:
        """Whether the post ``current`` already has the slug Ghost stores for ``slug`` (see
        `ghost_slug`), or one of its ``-2``, ``-3``... while another post or page holds that
        slug (read from the site): sent, Ghost would only number it again. A variant whose slug
        is free is not held: sent, the post moves to it, as asked ("launch-2026" asked to
        be "launch")."""
        held = current.extra.get("slug")
        if not isinstance(held, str):
            return False
        base = ghost_slug(slug, self._subdir())
        if held == base:
            return True
        if re.fullmatch(rf"{re.escape(base)}-[0-9]+", held) is None:
            return False
        # Posts and pages share one family of slugs (generateSlug looks among both): a post
        # numbered because a page holds its slug was sent it on every update, and moved.
        for kind in dict.fromkeys((resource, "posts", "pages")):
            response = yield from self._send(
                self._request(
                    "GET",
                    f"{kind}/",
                    params={"filter": f"slug:'{base}'", "limit": "1", "fields": "id,slug"},
                ),
                idempotent=True,
                bucket="api",
            )
            posts = self.parse(response, _Slugs).items(kind)
            if any(post.slug == base and post.id != current.id for post in posts):
                return True
        return False

    def _subdir(self) -> str:
        """The last segment of the site's path (``blog`` for ``https://example.com/blog``),
        which Ghost protects as a slug; ``""`` for a site at its domain's root."""
        path = httpx.URL(self.account.base_url or "").path
        return path.rstrip("/").rsplit("/", 1)[-1]

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Publish the article being delivered (see `publish_article`), with the delivery's
        progress.

        Raises:
            ContentError: what is delivered is not a `brandkit.Article`.
        """
        article = article_of(rendered, self.name)
        return (yield from self.publish_article(article, progress=thread.progress))

    def publish_article(
        self, article: Article, *, progress: dict[str, str] | None = None
    ) -> Flow[PartRef]:
        """Upload the featured image (if any), then create the post or page.

        ``progress`` is the delivery's (`ThreadContext.progress`): the uploaded image's URL
        is written there (``feature_image``), and an attempt that finds one there uses it
        again when the site still serves the image there (compared byte for byte) rather
        than uploading another copy (the Admin API cannot delete one).

        Returns:
            The post: its id, its URL as Ghost answers it (a ``/p/<uuid>/`` preview for a
            draft or a scheduled post), and in ``extra`` its ``slug``, ``status``,
            ``updated_at``, ``resource`` (``posts`` or ``pages``) and ``uuid``.

        Raises:
            ContentError: a title, slug, excerpt, canonical URL, alt text or tag name
                longer than Ghost keeps.
            MediaError: a featured image Ghost does not take.
            AuthError: the Admin API key was refused.
            Rejected: Ghost refused the post, with Ghost's message (e.g. "Date must be at
                least 2 minutes in the future.").
            RateLimited: Ghost(Pro) said too many requests.
        """
        self._check(article)
        image_url: str | None = None
        if article.featured_image is not None:
            image_url = yield from self._feature_image(article.featured_image, progress)
        resource = _resource(article)
        response = yield from self._send(
            # Made again for a repeat signed with Ghost's time: the fields depend on it (a
            # scheduled time already past on Ghost's clock is sent "published").
            lambda: self._request(
                "POST",
                f"{resource}/",
                params={"source": "html"},
                body={resource: [self._fields(article, image_url)]},
            ),
            creates=True,
            bucket="api",
        )
        return self._ref(self._one(response, resource), resource)

    def upload_image(self, media: Media) -> Flow[str]:
        """Upload ``media`` to the site's images; returns its URL.

        Raises:
            MediaError: not an image Ghost takes (JPEG, PNG, GIF, WebP, SVG), or too large.
            PlatformError: Ghost refused the upload (typed by `error_for`).
        """
        stem, extension = _image_name(media)
        rules = self.capabilities.media
        if not extension or media.mime_type not in rules.image_types:
            raise MediaError(
                f"ghost takes JPEG, PNG, GIF, WebP or SVG images, not {media.mime_type}",
                field="featured_image",
                platform=self.name,
            )
        if media.size > rules.max_image_bytes:
            raise MediaError(
                f"the featured image is {media.size} bytes; ghost takes at most "
                f"{rules.max_image_bytes}",
                field="featured_image",
                platform=self.name,
                over_by=media.size - rules.max_image_bytes,
            )
        filename = f"{stem}{extension}"
        data = media.read()

        def upload() -> httpx.Request:
            return self._request(
                "POST",
                "images/upload/",
                files={"file": (filename, data, media.mime_type)},
                data={"purpose": "image", "ref": filename},
            )

        # No idempotency key: a blind repeat after a lost answer would leave a copy, so the
        # driver must not repeat it; the file is looked for first.
        try:
            response = yield from self._send(upload, creates=True, bucket="api")
        except TransportError as exc:
            if not exc.maybe_delivered:
                raise
            found = yield from self.find_image(stem, extension, data)
            if found is not None:
                return found
            response = yield from self._send(upload, creates=True, bucket="api")
        return self.parse(response, _Images).images[0].url

    def _feature_image(self, media: Media, progress: dict[str, str] | None) -> Flow[str]:
        """The URL of a new post's featured image: the one an earlier attempt of the
        delivery uploaded (kept in ``progress``) while the site serves ``media`` there, else
        a new upload, whose URL is then kept in ``progress``."""
        # A create tried again (its answer lost, a 5xx, a worker's later attempt) uploaded
        # the image again each time: one more copy on the site per attempt, which the Admin
        # API cannot delete.
        kept = (progress or {}).get("feature_image")
        if kept:
            same = yield from self._image_is(kept, media)
            if same is not None:
                return same
        url = yield from self.upload_image(media)
        if progress is not None:
            progress["feature_image"] = url
        return url

    def _same_image(self, current: PartRef, media: Media) -> Flow[str | None]:
        """The post's featured image URL when that file is ``media`` (its name, or a ``-1``,
        ``-2``... of it, under the site's ``/content/images/``, and the same bytes), else
        ``None``. A file that cannot be read, or is served elsewhere, is not compared."""
        return (yield from self._image_is(current.extra.get("feature_image"), media))

    def _image_is(self, url: object, media: Media) -> Flow[str | None]:
        """`_same_image` of the image at ``url``: ``url`` when it is ``media``, else
        ``None``."""
        stem, extension = _image_name(media)
        if not isinstance(url, str) or not extension:
            return None
        path = httpx.URL(url).path
        if "/content/images/" not in path:
            return None  # not where Ghost's own storage keeps images
        # A storage on ghost-storage-base 1.1.1 stores every upload as "<name>-<16 hex
        # digits>.<ext>": compared only as the "-1", "-2"... of Ghost's own storage, the
        # post's own image was never recognised, and each update uploaded it again, one
        # more copy in the site's images each time.
        name = path.rsplit("/", 1)[-1]
        secure = rf"{re.escape(stem)}-[0-9a-f]{{16}}{re.escape(extension)}"
        if re.fullmatch(secure, name):
            stem = name[: -len(extension)]
        data = media.read()
        same = yield from self.same_file(url, stem, extension, data)
        if not same and name.endswith(extension):
            # Ghost's image optimisation (on by default) re-encodes an upload, which then
            # never held our bytes: the original it keeps beside it ("<name>_o.<ext>") does.
            kept = name[: -len(extension)] + "_o"
            original = url[: len(url) - len(name)] + kept + extension
            same = yield from self.same_file(original, kept, extension, data)
        return url if same else None

    def find_image(self, stem: str, extension: str, data: bytes) -> Flow[str | None]:
        """The URL of an image the site stores as ``stem`` + ``extension`` (or its ``-1``,
        ``-2``... for a name taken) this month (or last, near a month's turn) holding exactly
        ``data`` (or, re-encoded by Ghost's image optimisation, whose original beside it,
        ``<name>_o.<ext>``, holds it), or ``None``.

        Ghost's Admin API cannot list images; this reads the addresses Ghost's local storage
        gives them (``/content/images/YYYY/MM/``), as every Ghost 5 and 6 release names them
        (``ghost-storage-base``'s ``getUniqueFileName``). A site storing images elsewhere
        answers 404, and ``None`` follows; so does one whose storage names each upload anew
        with random digits (``ghost-storage-base`` 1.1.0/1.1.1), after two reads.
        """
        # Not skipped by version: Ghost 6's local storage names uploads as Ghost 5's does,
        # and skipping the lookup there uploaded the image again after every lost answer.
        now = datetime.now(UTC)
        months = dict.fromkeys(
            f"{t:%Y}/{t:%m}" for t in (now - LOOKUP_SKEW, now, now + LOOKUP_SKEW)
        )
        for month in months:
            misses = 0
            for n in range(IMAGE_FAMILY + 1):
                name = f"{stem}-{n}" if n else stem
                url = f"{self.account.base_url}/content/images/{month}/{name}{extension}"
                try:
                    # One byte more than ours is enough to tell a file differs: read whole,
                    # a large image (ours, or another of its name) went over the most an
                    # answer may hold and failed the article.
                    response: httpx.Response | None = yield Send(
                        httpx.Request("GET", url),
                        idempotent=True,
                        bucket="api",
                        max_bytes=len(data) + 1,
                    )
                except MalformedResponse:
                    response = None  # larger than ours: another file, or ours re-encoded
                if response is not None and response.status_code != 200:
                    # Ghost numbers from -1; allow one gap before the name runs out.
                    misses += 1
                    if misses > 1:
                        break
                    continue
                if response is not None and response.content == data:
                    return url
                if extension in _OPTIMIZED:
                    # Ghost's image optimisation (on by default) re-encodes JPEG, PNG and
                    # WebP uploads, which then never held our bytes: compared as served
                    # alone, the lost upload was never found and a copy was uploaded. The
                    # original is kept beside it, "<name>_o.<ext>"; the upload answered
                    # the re-encoded one's URL.
                    original = url[: -len(extension)] + "_o" + extension
                    same = yield from self.same_file(original, f"{name}_o", extension, data)
                    if same:
                        return url
        return None

    def find_article(
        self, article: Article, *, since: datetime | None = None, taken: Collection[str] = ()
    ) -> Flow[PartRef | None]:
        """The post an earlier attempt created for ``article``, or ``None``.

        Reads the posts whose slug is the article's as Ghost stores it (`ghost_slug`) or one
        of its ``-2``, ``-3``... variants (Ghost renames a taken slug so), 50 variants a
        request, until a batch has a free variant (Ghost gives the first free one), at most
        `SLUG_FAMILY`; takes the newest with the article's title created no earlier than
        ``since`` (less 5 minutes of clock skew).

        Raises:
            PlatformError: Ghost refused the lookup (typed by `error_for`).
        """
        resource = _resource(article)
        # What Ghost makes of the slug: a one-letter slug ("X") is stored "post-x", "rss"
        # "rss-post", and a cut that ends on a hyphen keeps it; looked for as sent, such a
        # post was never found, and a lost answer published it twice.
        base = ghost_slug(article.slug, self._subdir())
        first = list(dict.fromkeys([article.slug, base]))
        family = [*first, *(f"{base}-{n}" for n in range(2, SLUG_FAMILY + 1))]
        for start in range(0, len(family), _BATCH):
            slugs = family[start : start + _BATCH]
            response = yield from self._send(
                self._request(
                    "GET",
                    f"{resource}/",
                    params={
                        # Quoted: NQL's lexer has no token for a one-character bare word,
                        # and Ghost refused the lookup of a slug such as "x" (title "X").
                        "filter": "slug:[" + ",".join(f"'{s}'" for s in slugs) + "]",
                        "limit": str(len(slugs)),
                        "order": "created_at desc",
                        # Only what the match and the reference read: whole posts of a
                        # family of long ones went over the most brandkit reads.
                        "fields": _LOOKUP_FIELDS,
                    },
                ),
                idempotent=True,
                bucket="api",
            )
            posts = self._many(response, resource)
            for post in posts:
                created = parse_time(post.created_at)
                if since is not None and created is not None and created < since - LOOKUP_SKEW:
                    continue
                # Another delivery's post (`ThreadContext.taken`) is not this one's.
                if post.title == article.title and post.id not in taken:
                    return self._ref(post, resource)
            used = {post.slug for post in posts}
            if not used.issuperset(s for s in slugs if s not in first or s == base):
                return None  # a free variant: the family ends here
        return None

    def read_article(self, ref: PartRef) -> Flow[PartRef]:
        """The post as Ghost has it now (its status and URL change when a scheduled post
        goes live).

        Raises:
            Rejected: the post no longer exists (404, "Post not found.").
            PlatformError: another refusal (typed by `error_for`).
        """
        resource = str(ref.extra.get("resource") or "posts")
        response = yield from self._send(
            self._request("GET", f"{resource}/{ref.id}/"), idempotent=True, bucket="api"
        )
        return self._ref(self._one(response, resource), resource)

    def update_article(self, ref: PartRef, article: Article) -> Flow[PartRef]:
        """Replace the post ``ref`` with ``article`` (title, body, excerpt, tags, image,
        status...). The slug is sent when the article names one (``Article(slug=...)``) or
        the post is a draft; a published or scheduled post keeps its address when the
        article's slug is only the one derived from its title (a corrected title does not
        move the URL). Ghost needs the post's current ``updated_at``: it is read first, and
        read again once if someone saved the post in between (409). The featured image is
        uploaded only when it is not the file the post has already (read from the site and
        compared byte for byte). A post dated ahead (scheduled, or a draft that was) updated
        to ``status="published"`` is dated now: Ghost would keep its time ahead.

        Raises:
            ContentError: ``status="scheduled"`` for a post already live (Ghost refuses it:
                put it back to draft first).
            Rejected: Ghost refused the change (or the post was saved by someone else twice
                in a row), with Ghost's message.
            PlatformError: another refusal (typed by `error_for`).
        """
        self._check(article)
        image_url: str | None = None
        resource = str(ref.extra.get("resource") or _resource(article))
        for attempt in (1, 2):
            current = yield from self.read_article(ref)
            if article.featured_image is not None and image_url is None:
                # The image the post has already is kept: uploading it on every update left
                # one more copy in the site's images each time.
                image_url = yield from self._same_image(current, article.featured_image)
                if image_url is None:
                    image_url = yield from self.upload_image(article.featured_image)
            fields = self._fields(article, image_url, current)
            if fields["status"] == "scheduled" and current.extra.get("status") == "published":
                # Ghost refuses published -> scheduled with "Your post is already published,
                # please reload your page.", which says nothing of what to do.
                raise ContentError(
                    "ghost cannot schedule a post that is already live: update it with "
                    "status='draft' first, then with status='scheduled' and its new time (or "
                    "keep it published)",
                    field="status",
                    platform=self.name,
                )
            if image_url is None:
                # Its alt text goes with it: Ghost kept the old words for the next image.
                fields["feature_image"] = None
                fields["feature_image_alt"] = None
            if not names_slug(article) and current.extra.get("status") in (
                "published",
                "scheduled",
                "sent",
            ):
                # The slug derived from a corrected title moved a live post's URL (links
                # shared, announcements among them, led to a 404): it keeps its own.
                del fields["slug"]
            elif (yield from self._holds_slug(current, article.slug, resource)):
                # Ghost makes a slug sent unlike the stored one unique again, and finds the
                # post itself holding it: a post stored as "launch-2" (or "post-x") sent
                # "launch" moved to "launch-3", and back on the next update, its URL broken
                # each time. What Ghost would make of it, the post has already.
                del fields["slug"]
            fields["updated_at"] = current.extra["updated_at"]
            response = yield from self._send(
                self._request(
                    "PUT",
                    f"{resource}/{ref.id}/",
                    params={"source": "html"},
                    body={resource: [fields]},
                ),
                idempotent=True,
                bucket="api",
            )
            if response.status_code == 409 and attempt == 1:
                continue
            return self._ref(self._one(response, resource), resource)
        raise AssertionError("unreachable")  # pragma: no cover

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Delete the post (or page). One already gone counts as deleted: Ghost's posts
        endpoint answers 404 ``NotFoundError`` "Resource not found error, cannot delete
        post." (its context "Post not found."). Any other 404 is an error: an unknown route
        ("Resource not found", no context: the account's URL leads to another Ghost path
        or an older Ghost), or a page from a proxy or another server.

        Raises:
            Rejected: a 404 that is not Ghost's word that the post does not exist (the post
                may still be on the site).
            PlatformError: Ghost refused (typed by `error_for`).
        """
        resource = str(ref.extra.get("resource") or "posts")
        response = yield from self._send(
            self._request("DELETE", f"{resource}/{ref.id}/"), idempotent=True, bucket="api"
        )
        if _post_missing(response):
            return
        self.check(response)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Unavailable samples, each with the reason: Ghost's Admin API gives integrations
        no view, like or comment counts of a post. Sends nothing and never raises, so that
        a collect of a Ghost article beside other posts keeps the others' samples."""
        return self.unavailable_samples(
            refs, ((m, _NO_METRICS) for m in (Metric.IMPRESSIONS, Metric.LIKES, Metric.REPLIES))
        )
        yield  # pragma: no cover

    # -- helpers -----------------------------------------------------------------------------

    def _check(self, article: Article) -> None:
        """Refuse, before any request, what Ghost would refuse for its length: the title
        (255), a slug the article names (191; one derived from the title is sent cut, see
        `_sent_slug`), excerpt (300), canonical URL (2000), the image's alt text (191) and
        each tag or category name (191)."""
        limits: Sequence[tuple[str, str | None, int]] = (
            ("title", article.title, TITLE_MAX),
            ("slug", article.slug if names_slug(article) else None, SLUG_MAX),
            ("excerpt", article.excerpt, EXCERPT_MAX),
            ("canonical_url", article.canonical_url, CANONICAL_URL_MAX),
            (
                "featured_image.alt",
                article.featured_image.alt if article.featured_image else None,
                ALT_MAX,
            ),
        )
        author = article.author
        if author and "@" not in author and not re.fullmatch(r"[0-9a-f]{24}", author):
            raise ContentError(
                f"ghost takes the author as a staff user's email or id (24 hexadecimal "
                f"characters), not {author[:40]!r}",
                field="author",
                platform=self.name,
            )
        for field, value, limit in limits:
            if value is not None and len(value) > limit:
                raise ContentError(
                    f"ghost keeps at most {limit} characters of the article's {field}; this "
                    f"one has {len(value)}",
                    field=field,
                    platform=self.name,
                    over_by=len(value) - limit,
                )
        # Checked here, not left to Ghost: its refusal came after the featured image was
        # uploaded, which stayed on the site unused.
        for field, names in (("tags", article.tags), ("categories", article.categories)):
            for name in names:
                if len(name) > TAG_MAX:
                    raise ContentError(
                        f"ghost keeps tag names of at most {TAG_MAX} characters; "
                        f"{name[:40]!r}... in the article's {field} has {len(name)}",
                        field=field,
                        platform=self.name,
                        over_by=len(name) - TAG_MAX,
                    )

    def _fields(
        self, article: Article, image_url: str | None, current: PartRef | None = None
    ) -> dict[str, Any]:
        """The post's fields; ``current`` is the post as Ghost has it, for an update."""
        status = article.status
        published_at = article.scheduled_at if status == "scheduled" else None
        # Ghost's clock: it decides whether a time has passed or is 2 minutes ahead.
        now = datetime.fromtimestamp(self.now(), UTC)
        kept = parse_time(str(current.extra.get("published_at") or "")) if current else None
        if published_at is not None and published_at <= now:
            # Its time passed before it was sent (a worker that ran late, a retry): Ghost
            # refuses to schedule in the past, which failed the article altogether. It is
            # published now, dated as asked, as WordPress does.
            status = "published"
        elif (
            published_at is not None
            and published_at < now + SCHEDULE_LEAD + _LEAD_MARGIN
            and kept != published_at.replace(microsecond=0)
        ):
            # Ghost refuses a new time less than 2 minutes ahead, which failed the article:
            # it is scheduled at the earliest time Ghost takes (with a margin for the
            # request's way and the clocks' difference), late by that much but never early,
            # which an embargoed press release must not be. The time a post already has is
            # kept (Ghost checks only a changed time): an edit just before it goes live must
            # not move it later.
            published_at = now + SCHEDULE_LEAD + _LEAD_MARGIN
        if status == "published" and published_at is None and kept is not None and kept > now:
            # Ghost sets published_at only when a post has none: a scheduled post (or one
            # put back to draft, which keeps its time) sent "published" alone went live dated
            # days ahead. Dated now, as asked; a post already live keeps its date.
            published_at = now
        fields: dict[str, Any] = {
            "title": article.title,
            "slug": _sent_slug(article),
            "html": ghost_html(article.html()),
            "status": status,
            "tags": [{"name": name} for name in _names(article)],
            "custom_excerpt": article.excerpt,
            "canonical_url": article.canonical_url,
        }
        if published_at is not None:
            fields["published_at"] = _ghost_time(published_at)
        if image_url is not None:
            fields["feature_image"] = image_url
            alt = article.featured_image.alt if article.featured_image else ""
            fields["feature_image_alt"] = alt or None
        if article.author:
            # Ghost takes a staff user by email or by id (24 hexadecimal characters).
            key = "email" if "@" in article.author else "id"
            fields["authors"] = [{key: article.author}]
        return fields

    def _one(self, response: httpx.Response, resource: str) -> _Post:
        posts = self._many(response, resource)
        if not posts:
            raise MalformedResponse(
                f"ghost answered {response.status_code} to {response.request.method} "
                f"{response.request.url.path} without the {resource[:-1]}",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )
        return posts[0]

    def _many(self, response: httpx.Response, resource: str) -> tuple[_Post, ...]:
        if resource == "pages":
            return self.parse(response, _Pages).pages
        return self.parse(response, _Posts).posts

    def _ref(self, post: _Post, resource: str) -> PartRef:
        return PartRef(
            index=0,
            id=post.id,
            url=post.url,
            extra={
                "slug": post.slug,
                "status": post.status,
                "updated_at": post.updated_at,
                "published_at": post.published_at,
                "resource": resource,
                "uuid": post.uuid,
                "feature_image": post.feature_image,
            },
        )

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Ghost's ``{"errors": [{"message", "context", "type", "code"}]}`` as a typed error
        whose platform message is Ghost's message and context.

        401 and 403 are `AuthError` (a wrong, revoked or Content API key; the message says
        where to find the Admin API key); 429 is `RateLimited` (``Retry-After`` read when
        sent); 5xx is `PlatformUnavailable`; every other refusal (422 validation, 409
        collision, 415 image type, 404) is `Rejected`, with Ghost's ``type`` as its code.
        """
        first = _first_error(response)
        message = str(first.get("message") or response.reason_phrase or "no message")
        context = first.get("context")
        if isinstance(context, str) and context and context not in message:
            message = f"{message} {context}"
        kind = first.get("type") if isinstance(first.get("type"), str) else None
        hint = (
            "Check the Admin API key (Settings -> Integrations -> your custom integration; "
            "not the Content API key) and that this machine's clock is right"
        )
        if _expired(response):
            hint = self._clock_hint(response)
        if response.status_code == 413:
            message = f"{message}{_too_large(response)}"
        moved = _moved_admin(response)
        if moved is not None:
            # Ghost sends the Admin API of a site whose admin lives elsewhere (its admin URL,
            # https) there with a 301; not followed (a POST would come back a GET), and
            # "Moved Permanently" said nothing of where.
            message = (
                f"{message}: this site's Admin API is at {moved} (Ghost's admin URL): use "
                f"{moved} as the account's URL"
            )
        return classify(
            self.name,
            response,
            message,
            code=kind or first.get("code"),
            retry_after=retry_after_of(response),
            bucket=f"{self.name}:api",
            auth_statuses=(401, 403),
            auth_hint=hint,
        )

    def _clock_hint(self, response: httpx.Response) -> str:
        """What to do about a token Ghost refused as expired: it lives 5 minutes from the
        time it was signed, on Ghost's clock, which its ``Date`` shows."""
        date = _date_of(response)
        lead = (
            "Ghost refused the token as expired: tokens live 5 minutes from the time they "
            "are signed, and Ghost checks them on its own clock"
        )
        if date is None:
            return f"{lead}; this machine's clock may be behind Ghost's: set it right (NTP)"
        ahead = date - self.clock()
        when = datetime.fromtimestamp(date, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"{lead}; Ghost's clock read {when}, {ahead:+.0f} s from this machine's "
            "(brandkit signs with Ghost's time once it has seen it off by 4 minutes or "
            "more): set this machine's clock right (NTP), and check the Admin API key"
        )


def _too_large(response: httpx.Response) -> str:
    """What to do about a 413: the web server in front of Ghost refused the body as too
    large (nginx's ``client_max_body_size`` is 1 MiB unless raised; Ghost-CLI's setup makes
    it 50 MB), and its page said only "Request Entity Too Large"."""
    try:
        request = response.request
    except RuntimeError:  # an answer made without its request
        return ": the site refused the request as too large"
    size = sent_size(request)
    image = "/images/upload/" in request.url.path
    return (
        f": the site refused the request{size} as too large; make "
        f"{'the featured image' if image else 'the article'} smaller, or raise the limit of "
        "the web server in front of Ghost (nginx client_max_body_size, 1 MiB unless set; "
        "Ghost-CLI sets 50m)"
    )


def _moved_admin(response: httpx.Response) -> str | None:
    """The site address a redirect of an Admin API request leads to (its ``Location`` up to
    ``/ghost/``), or ``None`` when ``response`` is no such redirect."""
    target = redirect_target(response)
    if target is None:
        return None
    path, found, _ = target.path.partition("/ghost/")
    if not found:
        return None
    return str(target.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def _expired(response: httpx.Response) -> bool:
    """Whether ``response`` is Ghost's 401 for a token expired on Ghost's clock."""
    if response.status_code != 401:
        return False
    message = _first_error(response).get("message")
    return isinstance(message, str) and message.startswith(_EXPIRED)


def _date_of(response: httpx.Response) -> float | None:
    """The epoch seconds of ``response``'s ``Date`` (Ghost's clock), or ``None``."""
    return http_time(response.headers.get("date"))


_MISSING = re.compile(
    r"\b(?:Post|Page) not found\.|^Resource not found error, cannot \w+ (?:post|page)\.$"
)
"""What Ghost says of a post or page that does not exist: the model's "Post not found."
(the context of the posts endpoint's "Resource not found error, cannot delete post.", or
the message itself on older Ghosts)."""


def _post_missing(response: httpx.Response) -> bool:
    """Whether ``response`` is Ghost's 404 for a post (page) that does not exist, not a
    404 of a route Ghost does not have ("Resource not found") or of another server."""
    if response.status_code != 404:
        return False
    first = _first_error(response)
    # "errorType" in the error renderer of Ghosts before 5.
    if "NotFoundError" not in (first.get("type"), first.get("errorType")):
        return False
    said = [first.get(key) for key in ("message", "context")]
    return any(isinstance(text, str) and _MISSING.search(text) for text in said)


def _first_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:300].strip()}
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


CARD_BEGIN = "<!--kg-card-begin: html-->"
CARD_END = "<!--kg-card-end: html-->"
"""The comments around an HTML card: Ghost keeps what is between them as it is."""

# What Ghost's HTML import (Lexical's, with Koenig's cards) turns into its own nodes and back
# into the same HTML: paragraphs, headings, lists, quotes, code, rules, images and the text
# formats. Anything else, or these with other attributes, goes into an HTML card.
_GHOST_KEEPS = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote"),
        *("pre", "code", "hr", "br", "img", "figure", "figcaption", "a"),
        *("strong", "b", "em", "i", "u", "s", "sub", "sup"),
    }
)
_GHOST_KEEPS_ATTRIBUTES = frozenset(
    {
        *("a.href", "a.title", "a.rel", "a.target", "ol.start", "code.class"),
        *("img.src", "img.alt", "img.title", "img.width", "img.height"),
    }
)


def ghost_html(html: str) -> str:
    """``html`` with each top-level block that Ghost's HTML import would change (a table,
    a ``div``, an ``iframe``, an ``id`` or ``class``...) wrapped in an HTML card, which Ghost
    keeps as it is; paragraphs, headings, lists, quotes, code and images stay as they are,
    editable in Ghost's editor. A fragment that is not a well-formed tree goes in one card
    whole. Blocks already inside an HTML card are left alone."""
    if not html.strip():
        return html
    blocks = html_blocks(html)
    if blocks is None:
        return f"{CARD_BEGIN}\n{html}\n{CARD_END}"
    out: list[str] = []
    done = 0
    in_card = False
    for block in blocks:
        if block.tag == "!--":
            marker = block.comment.strip()
            if marker == CARD_BEGIN[4:-3]:
                in_card = True
            elif marker == CARD_END[4:-3]:
                in_card = False
            continue
        if in_card or (block.tags <= _GHOST_KEEPS and block.attributes <= _GHOST_KEEPS_ATTRIBUTES):
            continue
        out += [html[done : block.start], CARD_BEGIN, html[block.start : block.end], CARD_END]
        done = block.end
    out.append(html[done:])
    return "".join(out)


def _image_name(media: Media) -> tuple[str, str]:
    """The stem and extension of the name brandkit uploads ``media`` as, which Ghost's storage
    keeps as it is: what is not an ASCII word character replaced, an ``_o`` at the end left
    out (Ghost trims it: the suffix of the originals it keeps), and cut so that the name, with
    what Ghost may add to it (`_NAME_ROOM`), stays within the file system's 255 bytes; the
    extension is ``""`` for a type Ghost does not take."""
    extension = _EXTENSIONS.get(media.mime_type, "")
    stem = media.filename.rsplit(".", 1)[0] if media.filename else "image"
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.ASCII)
    # A long name failed the upload with 400 ENAMETOOLONG (or, named with random digits, was
    # cut by Ghost, so an update no longer knew the post's image and uploaded it again).
    stem = stem[: _NAME_BYTES - _NAME_ROOM - len(extension)].strip("-.")
    while stem.endswith("_o"):
        # Ghost stores "photo_o.png" as "photo.png": looked up as sent, it was never found.
        stem = stem[:-2].strip("-.")
    return stem or "image", extension


def _names(article: Article) -> list[str]:
    """Tags then categories (Ghost has tags only), each name once whatever its case."""
    out: list[str] = []
    seen: set[str] = set()
    for name in (*article.tags, *article.categories):
        if name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    return out


def _resource(article: Article) -> str:
    return "pages" if article.kind == "page" else "posts"
