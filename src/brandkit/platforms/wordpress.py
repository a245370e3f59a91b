"""WordPress REST API (``wp/v2``): publishes articles (posts and pages) to a WordPress site.

Facts used here (https://developer.wordpress.org/rest-api/reference/, and WordPress 6.1's
``wp-includes/rest-api/endpoints``, checked against a real site from Debian's package):

- Authentication with an application password over HTTP Basic auth (WordPress 5.6+). A
  wrong password is not always refused as such: WordPress may treat the request as anonymous,
  and then refuses the write with 401 ``rest_cannot_create`` (or a look-up of drafts with 400
  ``rest_forbidden_status``). All of these become `AuthError`.
- The API root is found once per adapter: ``/wp-json/`` on sites with pretty permalinks,
  ``/?rest_route=/`` on the others.
- The featured image is uploaded first as the raw body of ``POST /wp/v2/media`` with
  ``Content-Disposition: attachment; filename=...``, its ``alt_text`` in the same request's
  query (WordPress reads it there). A file type WordPress refuses comes back as a 500
  ``rest_upload_sideload_error`` ("Sorry, you are not allowed to upload this file type."),
  which is a refusal, not an outage: `Rejected`, never retried.
- Tags and categories are named on the article: each is found (``?search=``, then its exact
  name) or created; a create that finds the name taken (400 ``term_exists``) uses the
  ``term_id`` WordPress gives.
- ``status`` ``publish``, ``draft`` or ``future`` with ``date_gmt`` (UTC) for a scheduled
  article; WordPress makes a ``future`` date that has passed ``publish``.
- Never twice: WordPress has no idempotency key. After a lost answer the adapter looks the
  post up by slug (``?slug=s,s-2,...&status=any``, authenticated: WordPress gives a taken
  slug ``-2``, ``-3``...), and only a post with the article's title dated since the
  delivery began counts.
- ``DELETE`` moves a post to the trash; ``force=true`` deletes it for good.
- Core WordPress counts no views (statistics need a plugin such as Jetpack): metrics are the
  comment count (``X-WP-Total`` of ``/wp/v2/comments?post=``), views are reported
  unavailable with that reason.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
import pydantic

from brandkit._flow import Flow, Send
from brandkit.delivery import tid_time
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    MediaError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    TransportError,
)
from brandkit.platforms._base import (
    Adapter,
    Answer,
    Capabilities,
    PartRef,
    ThreadContext,
    article_of,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._article import Article
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart
    from brandkit.metrics._sample import MetricSample

__all__ = ["WordPressAdapter"]

SLUG_FAMILY = 10
"""How many of a slug's ``-2``, ``-3``... variants a lookup reads."""
LOOKUP_SKEW = timedelta(minutes=5)
"""How far the site's clock may be behind brandkit's for a found post to still count."""
_FMT = "%Y-%m-%dT%H:%M:%S"
_STATUS = {"published": "publish", "draft": "draft", "scheduled": "future"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
M = TypeVar("M", bound=pydantic.BaseModel)


class _Rendered(Answer):
    rendered: str = ""
    raw: str | None = None


class _Item(Answer):
    id: int
    link: str
    slug: str = ""
    status: str
    type: str = "post"
    date_gmt: str | None = None
    modified_gmt: str | None = None
    title: _Rendered = _Rendered()
    featured_media: int = 0
    permalink_template: str | None = None


class _Media(Answer):
    id: int
    source_url: str = ""
    alt_text: str = ""
    date_gmt: str | None = None
    media_details: dict[str, Any] = pydantic.Field(default_factory=dict)


class _Term(Answer):
    id: int
    name: str


class _User(Answer):
    id: int
    username: str = ""
    slug: str = ""
    email: str = ""


class _TermExists(Answer):
    code: str
    data: dict[str, Any]


def _gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value[:19], _FMT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _plain(message: str) -> str:
    """WordPress's message without its HTML (``<strong>Error:</strong> ...``)."""
    return html.unescape(re.sub(r"<[^>]+>", "", message)).strip()


def _safe_filename(media: Media, fallback: str) -> str:
    """A file name WordPress keeps as it is (ASCII letters, digits, dots, hyphens), with
    the extension of what the file really is."""
    stem = media.filename.rsplit(".", 1)[0] if media.filename else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or fallback
    return f"{stem[:100]}.{_EXTENSIONS.get(media.mime_type, 'bin')}"


class WordPressAdapter(Adapter):
    """Publishes articles to one WordPress site (``Account.wordpress(url, user=,
    app_password=)``); see the module docstring for the protocol.

    Besides the flows every adapter has, it offers `publish_article`, `find_article`,
    `read_article`, `update_article` and `delete_article` (which
    [`Client.update`][brandkit.Client.update] and [`Client.delete`][brandkit.Client.delete]
    drive).
    """

    name: ClassVar[str] = "wordpress"
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["wordpress"]

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.has_secret("app_password") or not account.settings.get("user"):
            raise ConfigurationError(
                f"{account.key} has no user and application password: use Account.wordpress(...)"
            )
        # Found by `prepare`: "/wp-json" or "/?rest_route=".
        self._root: str | None = None

    # -- requests ----------------------------------------------------------------------------

    def _authorization(self) -> str:
        user = str(self.account.settings["user"])
        raw = f"{user}:{self.account.secret('app_password') or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _url(self, route: str) -> str:
        base = self.account.base_url
        if self._root == "rest_route":
            return f"{base}/?rest_route=/wp/v2/{route}"
        return f"{base}/wp-json/wp/v2/{route}"

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        all_headers = {"Authorization": self._authorization(), **(headers or {})}
        url = httpx.URL(self._url(route))
        if params:
            url = url.copy_merge_params(dict(params))
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json"
            return httpx.Request(method, url, content=data, headers=all_headers)
        return httpx.Request(method, url, content=content, headers=all_headers)

    def prepare(self) -> Flow[Capabilities]:
        """Find the site's REST API root: ``/wp-json/`` or, on a site without pretty
        permalinks, ``/?rest_route=/``.

        Raises:
            Rejected: the site answers neither (not WordPress, or its REST API is off).
        """
        if self._root is None:
            base = self.account.base_url
            for root, url in (("wp-json", f"{base}/wp-json/"), ("rest_route", f"{base}/")):
                params = {"_fields": "namespaces"}
                if root == "rest_route":
                    params["rest_route"] = "/"
                # Authenticated: security plugins often close the REST API to visitors.
                request = httpx.Request(
                    "GET", url, params=params, headers={"Authorization": self._authorization()}
                )
                response = yield Send(request, idempotent=True, bucket="api")
                if response.status_code == 200 and _is_json(response):
                    self._root = root
                    break
                if response.status_code in (401, 403, 429) or response.status_code >= 500:
                    raise self.error_for(response)
            else:
                raise Rejected(
                    f"wordpress: no REST API at {base} (neither /wp-json/ nor /?rest_route=/ "
                    "answered): check the site's URL and that its REST API is on",
                    platform=self.name,
                )
        return self.capabilities

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Publish the article being delivered (see `publish_article`).

        Raises:
            ContentError: what is delivered is not a `brandkit.Article`.
        """
        article = article_of(rendered, self.name)
        return (yield from self.publish_article(article, since=tid_time(thread.key)))

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the article an earlier attempt published (see `find_article`)."""
        article = article_of(rendered, self.name)
        return (yield from self.find_article(article, since=tid_time(thread.key)))

    def publish_article(self, article: Article, *, since: datetime | None = None) -> Flow[PartRef]:
        """Upload the featured image with its alt text (if any), find or create the tags
        and categories, then create the post or page.

        ``since`` is when the delivery began: an image upload whose answer is lost is
        looked up among the files uploaded since then (see `upload_image`).

        Returns:
            The post: its id, its public URL (``link``; for a scheduled post the address it
            will have once live, for a draft ``None``), and in ``extra`` its ``slug``,
            ``status``, ``type`` (``posts`` or ``pages``), ``link`` as WordPress answered it,
            ``date_gmt`` and ``featured_media``.

        Raises:
            ContentError: tags or categories on a page (WordPress pages have none).
            AuthError: the user or application password was refused, or the user may not
                publish.
            Rejected: WordPress refused the post or the image, with WordPress's message
                (e.g. "Sorry, you are not allowed to upload this file type.").
        """
        yield from self.prepare()
        self._check(article)
        fields = yield from self._fields(article, since=since)
        response = yield Send(
            self._request("POST", _resource(article), body=fields),
            creates=True,
            bucket="api",
        )
        return self._ref(self.parse(response, _Item))

    def upload_image(self, media: Media, *, since: datetime | None = None) -> Flow[int]:
        """Upload ``media`` with its alt text; returns the attachment's id.

        The upload is never repeated blindly: when its answer is lost, the file is looked up
        (`find_upload`, uploaded since ``since``, when the delivery began, or since now) and
        used if WordPress stored it; only if not is it uploaded once more.

        Raises:
            MediaError: not an image type brandkit sends to WordPress (JPEG, PNG, GIF, WebP).
            Rejected: WordPress refused the file (its message, e.g. a type the site does
                not allow).
            AuthError: the user may not upload.
        """
        if media.mime_type not in self.capabilities.media.image_types:
            raise MediaError(
                f"wordpress: a featured image must be JPEG, PNG, GIF or WebP, not "
                f"{media.mime_type}",
                field="featured_image",
                platform=self.name,
            )
        filename = _safe_filename(media, "image")
        data = media.read()
        upload = self._request(
            "POST",
            "media",
            params={"alt_text": media.alt} if media.alt else None,
            content=data,
            headers={
                "Content-Type": media.mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        # An upload has no idempotency key: a blind repeat after a lost answer would leave
        # the first copy orphaned in the media library, so the driver must not repeat it.
        began = since or datetime.now(UTC)
        uploaded: _Media | None = None
        try:
            response = yield Send(upload, creates=True, bucket="api")
        except TransportError as exc:
            if not exc.maybe_delivered:
                raise
            # The answer was lost: use the file if WordPress stored it, else upload again.
            uploaded = yield from self.find_upload(filename, len(data), since=began)
            if uploaded is None:
                response = yield Send(upload, creates=True, bucket="api")
        if uploaded is None:
            uploaded = self.parse(response, _Media)
        if media.alt and uploaded.alt_text != media.alt:
            # A site whose filters drop the query's alt text (or an earlier attempt's upload
            # found again, made with other words): set it on the attachment.
            response = yield Send(
                self._request("POST", f"media/{uploaded.id}", body={"alt_text": media.alt}),
                idempotent=True,
                bucket="api",
            )
            self.parse(response, _Media)
        return uploaded.id

    def find_upload(self, filename: str, size: int, *, since: datetime) -> Flow[_Media | None]:
        """The image an earlier attempt uploaded as ``filename`` (``size`` bytes) since
        ``since`` (less 5 minutes of clock skew), or ``None``.

        WordPress has no idempotency key for uploads: after a lost answer the file is
        looked up (``/media?search=<file name's stem>``, newest first) and taken only if
        its file is that name (or WordPress's ``-1``, ``-2``... of it for a name taken, or
        ``-scaled`` for an image it scaled down), its size the same, and it was uploaded
        since the delivery began.

        Raises:
            PlatformError: WordPress refused the look-up (typed by `error_for`).
        """
        stem, _, ext = filename.rpartition(".")
        response = yield Send(
            self._request(
                "GET",
                "media",
                params={
                    "search": stem,
                    "media_type": "image",
                    "context": "edit",
                    "orderby": "date",
                    "order": "desc",
                    "per_page": str(SLUG_FAMILY),
                    "_fields": "id,date_gmt,source_url,alt_text,media_details",
                },
            ),
            idempotent=True,
            bucket="api",
        )
        same_name = re.compile(
            rf"{re.escape(stem)}(?:-\d+)?(-scaled)?\.{re.escape(ext)}", re.IGNORECASE
        )
        for item in self._list(response, _Media):
            dated = _gmt(item.date_gmt)
            if dated is None or dated < since - LOOKUP_SKEW:
                continue
            match = same_name.fullmatch(item.source_url.rsplit("/", 1)[-1])
            stored = item.media_details.get("filesize")
            # A large image WordPress scaled down ("-scaled") has another size than ours.
            if match and (match.group(1) or stored is None or stored == size):
                return item
        return None

    def terms(self, taxonomy: str, names: Sequence[str]) -> Flow[list[int]]:
        """The ids of the terms ``names`` of ``taxonomy`` (``"categories"`` or ``"tags"``),
        each found by its exact name (whatever its case) or created.

        Raises:
            AuthError: a term must be created and the user may not.
            PlatformError: another refusal (typed by `error_for`).
        """
        ids: list[int] = []
        for name in names:
            response = yield Send(
                self._request(
                    "GET",
                    taxonomy,
                    params={"search": name, "per_page": "100", "_fields": "id,name"},
                ),
                idempotent=True,
                bucket="api",
            )
            found = [t for t in self._list(response, _Term) if _same(t.name, name)]
            if found:
                ids.append(found[0].id)
                continue
            response = yield Send(
                self._request("POST", taxonomy, body={"name": name}),
                # A repeat finds the name taken and answers its id: safe to retry.
                idempotent=True,
                bucket="api",
            )
            if response.status_code == 400:
                exists = _term_exists(response)
                if exists is not None:
                    ids.append(exists)
                    continue
            ids.append(self.parse(response, _Term).id)
        return list(dict.fromkeys(ids))

    def find_article(
        self, article: Article, *, since: datetime | None = None
    ) -> Flow[PartRef | None]:
        """The post an earlier attempt created for ``article``, or ``None``.

        Reads the posts (any status but the trash) whose slug is the article's or one of its
        ``-2``...``-10`` variants, and takes the newest with the article's title dated no
        earlier than ``since`` (less 5 minutes of clock skew; a scheduled post's date is
        its publication time, later still).

        Raises:
            AuthError: the look-up of drafts and scheduled posts needs a valid login.
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        slugs = [article.slug] + [f"{article.slug}-{n}" for n in range(2, SLUG_FAMILY + 1)]
        response = yield Send(
            self._request(
                "GET",
                _resource(article),
                params={
                    "slug": ",".join(slugs),
                    "status": "any",
                    "context": "edit",
                    "per_page": str(SLUG_FAMILY),
                    "orderby": "id",
                    "order": "desc",
                },
            ),
            idempotent=True,
            bucket="api",
        )
        for item in self._list(response, _Item):
            title = item.title.raw if item.title.raw is not None else _plain(item.title.rendered)
            if title != article.title:
                continue
            if since is not None:
                dated = max(
                    (t for t in (_gmt(item.date_gmt), _gmt(item.modified_gmt)) if t), default=None
                )
                if dated is not None and dated < since - LOOKUP_SKEW:
                    continue
            return self._ref(item)
        return None

    def read_article(self, ref: PartRef) -> Flow[PartRef]:
        """The post as WordPress has it now (its status and URL change when a scheduled post
        goes live).

        Raises:
            Rejected: the post no longer exists (404 ``rest_post_invalid_id``).
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        resource = str(ref.extra.get("type") or "posts")
        response = yield Send(
            self._request("GET", f"{resource}/{ref.id}", params={"context": "edit"}),
            idempotent=True,
            bucket="api",
        )
        return self._ref(self.parse(response, _Item))

    def update_article(self, ref: PartRef, article: Article) -> Flow[PartRef]:
        """Replace the post ``ref`` with ``article``: title, body, excerpt, slug, terms,
        status and date; a featured image is uploaded again (none: the post keeps none).

        Raises:
            Rejected: WordPress refused the change, or the post no longer exists.
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        self._check(article)
        fields = yield from self._fields(article)
        fields.setdefault("featured_media", 0)
        resource = str(ref.extra.get("type") or _resource(article))
        response = yield Send(
            self._request("POST", f"{resource}/{ref.id}", body=fields),
            idempotent=True,
            bucket="api",
        )
        return self._ref(self.parse(response, _Item))

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Move the post to the trash (see `delete_article`)."""
        yield from self.delete_article(ref, force=False)

    def delete_article(self, ref: PartRef, *, force: bool = False) -> Flow[None]:
        """Move the post (or page) to the trash, or with ``force`` delete it for good. One
        already in the trash (when trashing) or already gone counts as done.

        Raises:
            AuthError: the user may not delete it.
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        resource = str(ref.extra.get("type") or "posts")
        params = {"force": "true"} if force else None
        response = yield Send(
            self._request("DELETE", f"{resource}/{ref.id}", params=params),
            idempotent=True,
            bucket="api",
        )
        if response.status_code in (404, 410):
            return
        self.check(response)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """The number of approved comments of each post (``X-WP-Total``); views are
        unavailable: core WordPress does not count them.

        Raises:
            PlatformError: WordPress refused (typed by `error_for`).
        """
        from brandkit.metrics._sample import Metric, MetricSample

        yield from self.prepare()
        samples: list[MetricSample] = []
        now = datetime.now(UTC)
        for ref in refs:
            response = yield Send(
                self._request(
                    "GET", "comments", params={"post": ref.id, "per_page": "1", "_fields": "id"}
                ),
                idempotent=True,
                bucket="api",
            )
            self.check(response)
            total = response.headers.get("x-wp-total", "")
            if not total.isdigit():
                raise MalformedResponse(
                    "wordpress answered a comment list without X-WP-Total",
                    platform=self.name,
                    status_code=response.status_code,
                    body=response.text[:500],
                )
            samples.append(
                MetricSample(
                    platform=self.name,
                    account=self.account.key,
                    metric=Metric.REPLIES.value,
                    value=int(total),
                    fetched_at=now,
                    post_id=ref.id,
                    raw_name="X-WP-Total",
                )
            )
            samples.append(
                MetricSample.unavailable(
                    platform=self.name,
                    account=self.account.key,
                    metric=Metric.IMPRESSIONS.value,
                    reason="core WordPress counts no views; statistics need a plugin "
                    "(such as Jetpack Stats) whose API brandkit does not read",
                    fetched_at=now,
                    post_id=ref.id,
                )
            )
        return samples

    # -- helpers -----------------------------------------------------------------------------

    def _check(self, article: Article) -> None:
        """Refuse, before any request, what a WordPress page cannot carry."""
        if article.kind == "page" and (article.tags or article.categories):
            raise ContentError(
                "wordpress pages have no tags or categories: drop them or publish a post "
                "(kind='post')",
                field="tags" if article.tags else "categories",
                platform=self.name,
            )

    def _fields(self, article: Article, *, since: datetime | None = None) -> Flow[dict[str, Any]]:
        """The post's fields, after the image upload, the terms and the author look-up."""
        fields: dict[str, Any] = {
            "title": article.title,
            "content": article.html(),
            "excerpt": article.excerpt or "",
            "slug": article.slug,
            "status": _STATUS[article.status],
        }
        if article.status == "scheduled" and article.scheduled_at is not None:
            fields["date_gmt"] = article.scheduled_at.astimezone(UTC).strftime(_FMT)
        if article.kind == "post":
            if article.categories:
                fields["categories"] = yield from self.terms("categories", article.categories)
            if article.tags:
                fields["tags"] = yield from self.terms("tags", article.tags)
        if article.author is not None:
            fields["author"] = yield from self._author(article.author)
        if article.featured_image is not None:
            fields["featured_media"] = yield from self.upload_image(
                article.featured_image, since=since
            )
        return fields

    def _author(self, author: str) -> Flow[int]:
        """The id of the user ``author`` names: an id, or a login, slug or e-mail address.

        Found with ``/users?search=...&context=edit`` (an administrator's view, the only one
        showing logins and e-mail addresses) and matched exactly; a user who may not list
        users (403) falls back to the slug WordPress makes of the login.
        """
        if author.isdigit():
            return int(author)
        response = yield Send(
            self._request(
                "GET",
                "users",
                params={
                    "search": author,
                    "context": "edit",
                    "per_page": "100",
                    "_fields": "id,username,slug,email",
                },
            ),
            idempotent=True,
            bucket="api",
        )
        wanted = author.strip().casefold()
        if response.status_code != 403:
            for user in self._list(response, _User):
                if wanted in (user.username.casefold(), user.slug, user.email.casefold()):
                    return user.id
        else:
            # Not an administrator: only the public view, which has the slug.
            slug = re.sub(r"[^a-z0-9_-]+", "-", wanted).strip("-")
            response = yield Send(
                self._request("GET", "users", params={"slug": slug, "_fields": "id,slug"}),
                idempotent=True,
                bucket="api",
            )
            for user in self._list(response, _User):
                if user.slug == slug:
                    return user.id
        raise ContentError(
            f"wordpress has no user {author!r} (Article.author takes a user id, login, slug "
            "or e-mail address)",
            field="author",
            platform=self.name,
        )

    def _list(self, response: httpx.Response, model: type[M]) -> list[M]:
        self.check(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, list):
            raise MalformedResponse(
                f"wordpress answered {response.request.url.path} with something other than a list",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )
        out: list[M] = []
        for entry in body:
            try:
                out.append(model.model_validate(entry))
            except pydantic.ValidationError:
                # One entry in a shape brandkit cannot read is not the one looked for.
                continue
        return out

    def _ref(self, item: _Item) -> PartRef:
        resource = "pages" if item.type == "page" else "posts"
        url: str | None = item.link
        if item.status == "future" and item.permalink_template:
            # Live later: the address it will have, from the site's permalink structure.
            url = item.permalink_template.replace("%postname%", item.slug).replace(
                "%pagename%", item.slug
            )
        elif item.status not in ("publish", "future", "private"):
            url = None
        return PartRef(
            index=0,
            id=str(item.id),
            url=url,
            extra={
                "slug": item.slug,
                "status": item.status,
                "type": resource,
                "link": item.link,
                "date_gmt": item.date_gmt,
                "featured_media": item.featured_media,
            },
        )

    def error_for(self, response: httpx.Response) -> PlatformError:
        """WordPress's ``{"code", "message", "data": {"status"}}`` as a typed error: 401 and
        403 (and a look-up refused for want of a login) `AuthError`, a refused upload
        `Rejected` (its status is 500), 429 `RateLimited`, other 5xx `PlatformUnavailable`,
        the rest `Rejected`; the message is WordPress's, without its HTML."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        code: str | None = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = _plain(body["message"])
            code = body.get("code") if isinstance(body.get("code"), str) else None
        elif status == 404:
            message = (
                "not found (no WordPress REST API at this address, or its REST API is off: "
                "check the account's URL)"
            )
        else:
            message = response.reason_phrase or f"HTTP {status}"
        text = f"{self.name} answered {status}: {message}"
        if code:
            text += f" ({code})"
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": code,
        }
        details = body.get("data") if isinstance(body, dict) else None
        forbidden_status = (
            code == "rest_invalid_param"
            and isinstance(details, dict)
            and "rest_forbidden_status" in json.dumps(details.get("details", {}))
        )
        if status in (401, 403) or forbidden_status:
            hint = (
                " (check the user and the application password; WordPress treats a wrong "
                "one as no login at all)"
            )
            return AuthError(text + hint, **common)
        if status == 429:
            after = response.headers.get("retry-after", "")
            return RateLimited(
                text, retry_after=float(after) if after.isdigit() else None, **common
            )
        if code is not None and code.startswith("rest_upload"):
            return Rejected(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, **common)
        return Rejected(text, **common)


def _is_json(response: httpx.Response) -> bool:
    if "json" not in response.headers.get("content-type", ""):
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def _same(stored: str, name: str) -> bool:
    """WordPress keeps term names HTML-escaped (``R&amp;D``) and finds them whatever their
    case."""
    return html.unescape(stored).strip().casefold() == name.strip().casefold()


def _term_exists(response: httpx.Response) -> int | None:
    try:
        body = _TermExists.model_validate_json(response.content)
    except ValueError:
        return None
    term_id = body.data.get("term_id")
    if body.code == "term_exists" and isinstance(term_id, int):
        return term_id
    return None


def _resource(article: Article) -> str:
    return "pages" if article.kind == "page" else "posts"
