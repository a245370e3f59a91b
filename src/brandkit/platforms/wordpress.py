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
  article; WordPress makes a ``future`` date that has passed, or is less than a minute
  ahead, ``publish`` at once: a time less than 90 seconds ahead is sent as 90 seconds ahead
  (a little late, never early).
- Never twice: WordPress has no idempotency key. After a lost answer the adapter looks the
  post up by slug (``?slug=s,s-2,...&status=any``, authenticated: WordPress gives a taken
  slug the first free ``-2``, ``-3``..., cutting the slug so that it stays within 200
  characters, as ``wp_unique_post_slug`` does), a batch of variants at a time until one is
  free, and only a post with the article's title dated since the delivery began counts.
- The featured image's upload has no key either: after a lost answer the file is looked up
  (``/media?search=<stem>``: same name or its ``-N``, same size, uploaded since the delivery
  began) and reused; only if it is not there is it uploaded again.
- ``Article.author`` as a login, slug or e-mail address is found with
  ``/users?search=...&context=edit`` (administrators) and matched exactly; a login's slug is
  not the login (``Jane.Doe`` is ``jane-doe``). Without ``list_users`` (403) the slug is
  looked up in the public view.
- ``DELETE`` moves a post to the trash; ``force=true`` deletes it for good.
- The inbox is the site's comments: ``/comments?context=edit&status=all&orderby=id``
  newest first down to the cursor's id (ids only grow; ``after`` compares site-local
  dates, which an id avoids), the account's own left out (``author_exclude``). There is no
  id bound: next pages are asked by ``offset``, each starting on the last comment read, so a
  comment trashed or written mid-read shows (and the page is asked again higher up). A held
  comment (``hold``) is hidden; hiding sets ``hold``, showing ``approved``; deleting trashes.
  Answers are ``POST /comments`` with ``post`` and ``parent``.
- Core WordPress counts no views (statistics need a plugin such as Jetpack): metrics are the
  comment count (``X-WP-Total`` of ``/wp/v2/comments?post=``), views are reported
  unavailable with that reason.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import httpx
import pydantic

from brandkit._flow import Flow, Send, Wait
from brandkit.content._html import html_tags
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
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.platforms._base import (
    Answer,
    BlogAdapter,
    Capabilities,
    PartRef,
    ThreadContext,
    article_of,
    bound_base,
    bound_slug,
    names_slug,
    redirect_target,
    retry_after_of,
    sent_size,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import comment_rules

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._article import Article
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart
    from brandkit.metrics._sample import MetricSample

__all__ = ["WordPressAdapter"]

INBOX_PAGES = 10
"""The most requests for pages of 100 comments one inbox read makes (older ones wait for
the next read, which ``more`` asks for)."""
_PER_PAGE = 100
_STEP_BACK = 50
"""How far up the list a page is asked again first when comments above it left the list
(then twice as far, and so on)."""
COMMENT_MAX_BYTES = 65525
"""WordPress's bound on a comment's text (``wp_get_comment_fields_max_lengths``), in bytes."""
SLUG_FAMILY = 10
"""How many media items an upload lookup reads."""
SLUG_VARIANTS = 1000
"""The most of a slug's ``-2``, ``-3``... variants a post lookup reads (it stops at the first
batch with a free variant)."""
_SLUG_BATCH_CHARS = 3000
"""How many characters of slugs one post lookup names (its URL stays short)."""
POST_SLUG_MAX = 200
"""WordPress's ``post_name`` column: a slug made unique is cut to fit it with its suffix."""
LOOKUP_SKEW = timedelta(minutes=5)
"""How far the site's clock may be behind brandkit's for a found post to still count."""
FUTURE_LEAD = timedelta(seconds=90)
"""How far ahead a scheduled post is dated at least: ``wp_insert_post`` publishes at once a
post dated less than a minute ahead; 30 seconds more for the request and the clocks."""
TERM_WAIT = 0.05
"""Seconds between looks at a term another flow of the adapter is finding or creating."""
TERM_WAITS = 1200
"""How many such looks at most (a minute): then the term is looked up regardless."""
ALT_QUERY_MAX = 2000
"""The longest alt text (URL-encoded) sent in an upload's query; a longer one is set on the
attachment afterwards, keeping the request line within what web servers take."""
_LOOKUP_FIELDS = (
    "id,link,slug,status,type,date_gmt,modified_gmt,title,featured_media,permalink_template"
)
"""What a post lookup reads of each post: what `_Item` is made of, without its content."""
_FMT = "%Y-%m-%dT%H:%M:%S"
_STATUS = {"published": "publish", "draft": "draft", "scheduled": "future"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
M = TypeVar("M", bound=pydantic.BaseModel)
logger = logging.getLogger(__name__)


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
    content: _Rendered = _Rendered()
    featured_media: int = 0
    permalink_template: str | None = None


class _Media(Answer):
    id: int
    source_url: str = ""
    alt_text: str = ""
    date_gmt: str | None = None
    media_details: dict[str, Any] = pydantic.Field(default_factory=dict)


class _Id(Answer):
    id: int


class _Term(Answer):
    id: int
    name: str


class _User(Answer):
    id: int
    username: str = ""
    slug: str = ""
    email: str = ""


class _Comment(Answer):
    id: int
    post: int
    parent: int = 0
    author: int = 0
    author_name: str = ""
    author_url: str = ""
    date_gmt: str
    content: _Rendered = _Rendered()
    link: str = ""
    status: str = "approved"


class _Settings(Answer):
    default_category: int = 0


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


def truncate_post_slug(slug: str, length: int) -> str:
    """WordPress's ``_truncate_post_slug``: ``slug`` cut to ``length`` bytes (a URL-encoded
    one without splitting an escape), then its trailing hyphens dropped."""
    if len(slug.encode()) > length:
        decoded = urllib.parse.unquote_plus(slug)
        if decoded == slug:
            slug = slug.encode()[:length].decode("utf-8", "ignore")
        else:
            # utf8_uri_encode($decoded, $length, true): whole escapes only.
            out: list[str] = []
            used = 0
            for char in decoded:
                if ord(char) < 128:
                    piece = urllib.parse.quote(char, safe="-_.~")
                else:
                    piece = "".join(f"%{b:02x}" for b in char.encode())
                if used + len(piece) > length:
                    break
                out.append(piece)
                used += len(piece)
            slug = "".join(out)
    return slug.rstrip("-")


def unique_slug_variant(slug: str, n: int) -> str:
    """The slug WordPress gives a post whose ``slug`` is taken, with suffix ``n`` (2, 3...):
    ``wp_unique_post_slug`` cuts the slug so that it stays within 200 characters."""
    suffix = f"-{n}"
    return truncate_post_slug(slug, POST_SLUG_MAX - len(suffix)) + suffix


_RAW_TEXT = ("pre", "textarea", "script", "style", "svg", "math", "xmp", "listing", "plaintext")
"""Elements whose line endings show (or matter): kept as they are."""
_KEPT_HTML = re.compile(
    r"<(" + "|".join(_RAW_TEXT) + r")\b.*?</\1\s*>|<!--.*?-->|<[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
# wpautop's $allblocks, and <br>: a line ending beside one of these never becomes a <br />.
_BLOCK_TAG = re.compile(
    r"</?(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section"
    r"|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary|br)\b",
    re.IGNORECASE,
)
_LINE_END = re.compile(r"\r\n|\r|\n")
_BR = re.compile(r"<br\b", re.IGNORECASE)
_PRESERVED = re.compile(r"white-space\s*:\s*(?:pre|break-spaces)", re.IGNORECASE)
"""CSS that shows line endings: content using it is sent as it is."""


def unwrapped(html: str) -> str:
    """``html`` with the line endings of its text as spaces, which a browser shows alike,
    for WordPress's ``wpautop``: it made each line ending inside an element a ``<br />``,
    and a paragraph wrapped over several lines (Word's "Save as HTML", a CMS's export)
    showed broken lines. What is inside ``<pre>``, ``<textarea>``, scripts and styles, in
    tags and in comments is kept, and so are the line endings between block-level tags
    (``</p>`` and ``<ul>``) or after a ``<br>``, which ``wpautop`` leaves alone. Content
    made of blocks (``<!-- wp:``), which WordPress does not run through ``wpautop``,
    content with CSS that shows line endings (``white-space: pre-wrap``) and content whose
    ``<pre>`` (or the like) is never closed come back as they are."""
    if "<!-- wp:" in html or not _LINE_END.search(html) or _PRESERVED.search(html):
        return html
    for tag in _RAW_TEXT:
        opened = len(re.findall(rf"<{tag}\b", html, re.IGNORECASE))
        if opened != len(re.findall(rf"</{tag}\s*>", html, re.IGNORECASE)):
            return html  # an element left open: where its text ends cannot be told
    parts: list[str] = []
    done = 0
    for kept in _KEPT_HTML.finditer(html):
        parts += [html[done : kept.start()], kept.group(0)]
        done = kept.end()
    parts.append(html[done:])
    out: list[str] = []
    for n, part in enumerate(parts):
        if n % 2 == 1 or not _LINE_END.search(part):
            out.append(part)
            continue
        beside = [parts[i] for i in (n - 1, n + 1) if 0 <= i < len(parts)]
        if not part.strip() and any(_BLOCK_TAG.match(tag) for tag in beside):
            out.append(part)  # between blocks: wpautop adds nothing there
            continue
        lead = ""
        if n > 0 and _BR.match(parts[n - 1]):
            # The line ending a <br> ends: wpautop adds no second one.
            ending = _LINE_END.match(part)
            if ending is not None:
                lead, part = ending.group(0), part[ending.end() :]
        out.append(lead + _LINE_END.sub(" ", part))
    return "".join(out)


def _as_html(text: str) -> str:
    """Plain ``text`` as HTML text that shows it as written: ``&``, ``<`` and ``>`` as
    entities (quotes stay: WordPress shows them, and kses keeps them in text)."""
    return html.escape(text, quote=False)


def _plain(message: str) -> str:
    """WordPress's message without its HTML (``<strong>Error:</strong> ...``)."""
    return html.unescape(re.sub(r"<[^>]+>", "", message)).strip()


def _safe_filename(media: Media, fallback: str) -> str:
    """A file name WordPress keeps as it is (ASCII letters, digits, dots, hyphens), with
    the extension of what the file really is."""
    stem = media.filename.rsplit(".", 1)[0] if media.filename else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or fallback
    return f"{stem[:100]}.{_EXTENSIONS.get(media.mime_type, 'bin')}"


class WordPressAdapter(BlogAdapter):
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
        # The account's own user id, read once (its own comments are not inbox messages).
        self._me: int | None = None
        # The site's default category, read once when an update needs it (0: not readable).
        self._default: int | None = None
        # The terms (taxonomy, name) one of this adapter's flows is finding or creating.
        self._terms_busy: set[tuple[str, str]] = set()
        self._terms_lock = threading.Lock()

    # -- requests ----------------------------------------------------------------------------

    def _authorization(self) -> str:
        user = str(self.account.settings["user"])
        raw = f"{user}:{self.account.secret('app_password') or ''}".encode()
        login = base64.b64encode(raw).decode("ascii")
        # The encoded login is the password in all but name: a server may echo it back.
        self.account.conceal(login)
        return "Basic " + login

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
            Rejected: the site answers neither (not WordPress, or its REST API is off), or
                its address redirects elsewhere (the error names that address).
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
                moved = _moved_site(response)
                if moved is not None and moved != base:
                    # A site that lives elsewhere (https, "www."): redirects are not followed
                    # (a POST would come back a GET), and "no REST API" did not say where.
                    raise Rejected(
                        self.account.redact(
                            f"wordpress: {base} redirects ({response.status_code}) to "
                            f"{moved}: use {moved} as the account's URL"
                        ),
                        platform=self.name,
                        status_code=response.status_code,
                    )
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
        """Publish the article being delivered (see `publish_article`), or an answer to a
        comment (``POST /comments`` with ``post`` and ``parent``).

        Raises:
            ContentError: what is delivered is not a `brandkit.Article` (nor an answer).
        """
        if thread.reply_to is not None:
            return (yield from self._publish_comment(part, thread.reply_to))
        article = article_of(rendered, self.name)
        return (
            yield from self.publish_article(
                article, since=tid_time(thread.key), progress=thread.progress
            )
        )

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the article (or the answer to a comment) an earlier attempt published (see
        `find_article`)."""
        if thread.reply_to is not None:
            return (yield from self._find_comment(part, thread))
        return (yield from super().find_part(rendered, part, thread))

    def article_url_bound(self, article: Article) -> str:
        """A stand-in never shorter than the URL WordPress will give ``article`` (see
        `BlogAdapter.article_url_bound`). WordPress serves the REST API under the site's
        home URL, the start of every post's address; what follows depends on the site's
        permalink structure, which is not known before the post exists, so the longest of
        the built-in structures counts: day and name behind ``/index.php``
        (``/index.php/2026/12/06/<slug>-N/``, the slug made unique with ``-2``, ``-3``...),
        or a post id of up to 20 digits (``/?p=123``, ``/archives/123``). A custom
        structure with ``%category%``, ``%author%`` or the time of day can be longer: the
        announcement then fails on its network after the article is out, saying by how much.

        Raises:
            ConfigurationError: the account has no base URL.
        """
        home = bound_base(self.account.base_url)
        dated = f"{home}/index.php/0000/00/00/{bound_slug(article.slug)}/"
        # wp_posts.ID is a BIGINT UNSIGNED: at most 20 digits.
        numbered = f"{home}/index.php/archives/{'9' * 20}/"
        return max(dated, numbered, key=len)

    def publish_article(
        self,
        article: Article,
        *,
        since: datetime | None = None,
        progress: dict[str, str] | None = None,
    ) -> Flow[PartRef]:
        """Upload the featured image with its alt text (if any), find or create the tags
        and categories, then create the post or page.

        ``since`` is when the delivery began: an image upload whose answer is lost is
        looked up among the files uploaded since then (see `upload_image`). ``progress``
        is the delivery's (`ThreadContext.progress`): the uploaded image's id is written
        there (``featured_media``), and an attempt that finds one there uses that
        attachment again when it still holds the image (read from the site, byte for
        byte) rather than uploading another copy.

        Returns:
            The post: its id, its public URL (``link``; for a scheduled post the address it
            will have once live, for a draft ``None``), and in ``extra`` its ``slug``,
            ``status``, ``type`` (``posts`` or ``pages``), ``link`` as WordPress answered it,
            ``date_gmt``, ``featured_media`` and ``removed_html``: the elements of the body
            WordPress did not keep (``[]`` when it kept all; a user without
            ``unfiltered_html`` has ``<iframe>``, ``<script>`` and the like removed by kses,
            which is also logged as a WARNING).

        Raises:
            ContentError: tags or categories on a page (WordPress pages have none).
            AuthError: the user or application password was refused, or the user may not
                publish.
            Rejected: WordPress refused the post or the image, with WordPress's message
                (e.g. "Sorry, you are not allowed to upload this file type.").
        """
        yield from self.prepare()
        self._check(article)
        fields = yield from self._fields(article, since=since, progress=progress)
        response = yield Send(
            self._request("POST", _resource(article), body=fields),
            creates=True,
            bucket="api",
        )
        return self._kept(fields, self.parse(response, _Item))

    def upload_image(self, media: Media, *, since: datetime | None = None) -> Flow[int]:
        """Upload ``media`` with its alt text; returns the attachment's id.

        The upload is never repeated blindly: when its answer is lost, the file is looked up
        (`find_upload`, uploaded since ``since``, when the delivery began, or since now) and
        used if WordPress stored it; only if not is it uploaded once more.

        Raises:
            MediaError: not an image type brandkit sends to WordPress (JPEG, PNG, GIF, WebP),
                or larger than 64 MiB.
            Rejected: WordPress refused the file (its message, e.g. a type the site does
                not allow).
            AuthError: the user may not upload.
        """
        rules = self.capabilities.media
        if media.mime_type not in rules.image_types:
            raise MediaError(
                f"wordpress: a featured image must be JPEG, PNG, GIF or WebP, not "
                f"{media.mime_type}",
                field="featured_image",
                platform=self.name,
            )
        limit = rules.max_gif_bytes if media.mime_type == "image/gif" else rules.max_image_bytes
        if media.size > limit:
            # Checked before reading: the whole file was read into memory and sent, to be
            # refused by the site's upload limit (usually far lower) after the upload.
            raise MediaError(
                f"wordpress: the featured image is {media.size:,} bytes; brandkit uploads at "
                f"most {limit:,} (a site's own upload limit is often lower): make it smaller",
                field="featured_image",
                platform=self.name,
                over_by=media.size - limit,
            )
        filename = _safe_filename(media, "image")
        data = media.read()
        # In the query only when short: a long alt text (1,000 Chinese characters are 9,000
        # bytes escaped) made the request line longer than web servers take (Apache: 8,190),
        # and the upload failed with 414. `_alt_text` sets it on the attachment after.
        short = len(urllib.parse.quote(media.alt)) <= ALT_QUERY_MAX
        upload = self._request(
            "POST",
            "media",
            params={"alt_text": media.alt} if media.alt and short else None,
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
        # A site whose filters drop the query's alt text (or an earlier attempt's upload
        # found again, made with other words): the alt text is set on the attachment.
        yield from self._alt_text(uploaded, media)
        return uploaded.id

    def _alt_text(self, item: _Media, media: Media) -> Flow[None]:
        """Set ``media``'s alt text on the attachment ``item`` where it has other words."""
        if media.alt and item.alt_text != media.alt:
            response = yield Send(
                self._request("POST", f"media/{item.id}", body={"alt_text": media.alt}),
                idempotent=True,
                bucket="api",
            )
            self.parse(response, _Media)

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
            AuthError: a term must be created and the user may not (only Editors and
                Administrators create categories); the message names the term.
            PlatformError: another refusal (typed by `error_for`).
        """
        ids: list[int] = []
        for name in names:
            key = (taxonomy, name.strip().casefold())
            # WordPress checks a new term's name and inserts it in two steps: articles sent
            # at once (an AsyncClient, threads sharing a client) each found nothing and each
            # created the term, and the site kept every copy ("launch", "launch-2"...), the
            # posts split between them. One flow of this adapter finds or creates a name at
            # a time; the others wait for it, then find it.
            claimed = False
            for _ in range(TERM_WAITS):
                with self._terms_lock:
                    if key not in self._terms_busy:
                        self._terms_busy.add(key)
                        claimed = True
                        break
                yield Wait(TERM_WAIT)
            try:
                ids.append((yield from self._term(taxonomy, name)))
            finally:
                if claimed:
                    with self._terms_lock:
                        self._terms_busy.discard(key)
        return list(dict.fromkeys(ids))

    def _term(self, taxonomy: str, name: str) -> Flow[int]:
        """The id of the term ``name`` of ``taxonomy``, found or created (see `terms`)."""
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
            # The oldest of copies an earlier race left: every article then takes the same.
            return min(t.id for t in found)
        response = yield Send(
            self._request("POST", taxonomy, body={"name": name}),
            # A repeat finds the name taken and answers its id: safe to retry.
            idempotent=True,
            bucket="api",
        )
        if response.status_code == 400:
            exists = _term_exists(response)
            if exists is not None:
                return exists
        if response.status_code == 403:
            # Logged in, but not allowed: only Editors and Administrators create
            # categories (an Author may create tags). "Check the user and the
            # application password", as for a wrong login, sent users after a password
            # that was right.
            refused = self.error_for(response)
            kind = "category" if taxonomy == "categories" else "tag"
            raise AuthError(
                f"wordpress: the user {self.account.settings.get('user')!r} may not "
                f"create the {kind} {name!r}, which the site does not have "
                f"({refused.platform_message}): create it on the site or name one it has, "
                f"or publish as a user who may create {taxonomy} (an Editor or "
                "Administrator)",
                platform=self.name,
                status_code=403,
                platform_message=refused.platform_message,
                code=refused.code,
            )
        return self.parse(response, _Term).id

    def find_article(
        self, article: Article, *, since: datetime | None = None, taken: Collection[str] = ()
    ) -> Flow[PartRef | None]:
        """The post an earlier attempt created for ``article``, or ``None``.

        Reads the posts (any status but the trash) whose slug is the article's or one of its
        ``-2``, ``-3``... variants, and takes the newest with the article's title dated no
        earlier than ``since`` (less 5 minutes of clock skew; a scheduled post's date is
        its publication time, later still), or dated exactly as the article was scheduled
        (a time already past when it was sent: WordPress dates the post, and its modified
        time, as asked).

        Raises:
            AuthError: the look-up of drafts and scheduled posts needs a valid login.
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        slug = article.slug
        family = [slug, *(unique_slug_variant(slug, n) for n in range(2, SLUG_VARIANTS + 1))]
        start = 0
        while start < len(family):
            batch: list[str] = []
            size = 0
            while start < len(family) and len(batch) < _PER_PAGE:
                if batch and size + len(family[start]) + 1 > _SLUG_BATCH_CHARS:
                    break
                batch.append(family[start])
                size += len(family[start]) + 1
                start += 1
            response = yield Send(
                self._request(
                    "GET",
                    _resource(article),
                    params={
                        "slug": ",".join(batch),
                        "status": "any",
                        "context": "edit",
                        "per_page": str(_PER_PAGE),
                        "orderby": "id",
                        "order": "desc",
                        # Not the posts' content and excerpt: a family of long posts made
                        # the answer larger than brandkit reads, and the lookup failed.
                        "_fields": _LOOKUP_FIELDS,
                    },
                ),
                idempotent=True,
                bucket="api",
            )
            items = self._list(response, _Item)
            for item in items:
                # Another delivery's post (`ThreadContext.taken`) is not this one's, however
                # alike: a weekly article's lost create took last week's post.
                if self._ours(item, article, since) and str(item.id) not in taken:
                    return self._ref(item)
            if not {item.slug for item in items}.issuperset(batch):
                return None  # a free variant: WordPress gives the first, the family ends
        return None

    @staticmethod
    def _ours(item: _Item, article: Article, since: datetime | None) -> bool:
        title = item.title.raw if item.title.raw is not None else _plain(item.title.rendered)
        # The title is sent as HTML text (`_as_html`) and comes back so, through kses for a
        # user without unfiltered_html (it keeps escaped text as it is). A post an older
        # brandkit sent raw is compared as it was then: kses stores a bare "&" as "&amp;".
        said = html.unescape(title)
        if article.title not in (title, said) and said != html.unescape(article.title):
            return False
        if since is not None:
            dated = max(
                (t for t in (_gmt(item.date_gmt), _gmt(item.modified_gmt)) if t), default=None
            )
            if dated is not None and dated < since - LOOKUP_SKEW and not _as_asked(item, article):
                return False
        return True

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
        status and date. The slug is sent when the article names one (``Article(slug=...)``)
        or the post is not public yet (a draft, or pending review); a published, scheduled
        or private post keeps its address when the article's slug is only the one derived
        from its title (a corrected title does not move the URL). A featured image is
        uploaded unless it is the one the post has already (the same file name and bytes,
        read from the site: then only its alt text is set), none leaves the post without
        one, and an article without tags leaves the post without any. Categories are
        replaced by the article's; without any the post goes into the site's default
        category, as a new post does (read from ``/wp/v2/settings``, once per adapter:
        WordPress would leave a post sent none without a category at all). A user who may
        not read the settings (not an administrator: 403) cannot know that category: the
        post then keeps its categories, and a WARNING says so.

        A scheduled (``future``) post updated to ``status="published"`` is published now:
        its date becomes now, since WordPress keeps a post whose date is still to come
        ``future`` whatever status it is sent (``wp_insert_post``); so does a draft dated in
        the future (a scheduled post put back to draft keeps its date). A post already live
        keeps its date.

        Raises:
            Rejected: WordPress refused the change, or the post no longer exists.
            PlatformError: another refusal (typed by `error_for`).
        """
        yield from self.prepare()
        self._check(article)
        current: PartRef | None = None
        kept: int | None = None
        named = names_slug(article)
        if article.status == "published" or article.featured_image is not None or not named:
            # Asked again, not taken from the stored answer: the post may have gone live
            # since (a live post must keep its date and its address), or its image been
            # changed.
            current = yield from self.read_article(ref)
        if article.featured_image is not None and current is not None:
            kept = yield from self._same_image(current, article.featured_image)
        fields = yield from self._fields(article, featured_media=kept)
        if not named and current is not None and current.extra.get("status") in _PUBLIC:
            # The slug derived from a corrected title moved a live post's URL, and every
            # link shared (the announcements among them) led to a 404: it keeps its own.
            del fields["slug"]
        fields.setdefault("featured_media", 0)
        if article.kind == "post":
            # WordPress keeps the terms of what is not sent: without this an article updated
            # without its tags kept them all.
            fields.setdefault("tags", [])
            if "categories" not in fields:
                # Nor its categories: the post goes where a new one without any goes, the
                # site's default category (categories=[] would leave it in none at all).
                default = yield from self._default_category()
                if default is not None:
                    fields["categories"] = [default]
                else:
                    logger.warning(
                        "%s: the article has no categories, but the user %r may not read "
                        "the site's settings (an administrator's) to find its default "
                        "category: post %s keeps the categories it has; name them on the "
                        "article to change them",
                        self.account.key,
                        self.account.settings.get("user"),
                        ref.id,
                    )
        if article.status == "published" and current is not None:
            now = datetime.now(UTC)
            status = current.extra.get("status")
            dated = _gmt(str(current.extra.get("date_gmt") or ""))
            # A scheduled post put back to draft keeps its date: published without a date
            # it became "future" again, days away, though "published" was asked.
            if status == "future" or (status != "publish" and dated is not None and dated > now):
                fields["date_gmt"] = now.strftime(_FMT)
        resource = str(ref.extra.get("type") or _resource(article))
        response = yield Send(
            self._request("POST", f"{resource}/{ref.id}", body=fields),
            idempotent=True,
            bucket="api",
        )
        return self._kept(fields, self.parse(response, _Item))

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Move the post to the trash (see `delete_article`)."""
        yield from self.delete_article(ref, force=False)

    def delete_article(self, ref: PartRef, *, force: bool = False) -> Flow[None]:
        """Move the post (or page) to the trash, or with ``force`` delete it for good. One
        already in the trash (410 ``rest_already_trashed``, when trashing) or already gone
        (404 ``rest_post_invalid_id``) counts as done; any other answer, a 404 without that
        code included, is an error.

        Raises:
            AuthError: the user may not delete it.
            Rejected: WordPress has no such route (404 ``rest_no_route``: a plugin removed
                it, or the address leads elsewhere), or something other than WordPress
                answered 404; the post may still be on the site.
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
        # Only WordPress's own word that the post is not there: a 404 from a route that
        # does not exist (a plugin that removed it, a proxy, a wrong address) was taken
        # for "already deleted", and the delivery marked deleted while the post was live.
        if _gone(response, "rest_post_invalid_id"):
            return
        self.check(response)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The comments on the site's posts and pages new since ``cursor``, the account's own
        left out, oldest first, at most ``limit`` (then ``more`` is set).

        Reads ``/comments?context=edit&status=all&orderby=id&order=desc`` (held comments
        too, with their status: a held one is ``hidden``), 100 a page, until a comment the
        cursor has seen (comment ids only grow). Spam and trashed comments are not read.

        WordPress has no id bound for comments, and numbered pages shift when a comment is
        trashed or written mid-read; so each next page starts (``offset``) on the lowest id
        read so far, and counts only if it starts there or above: one that starts lower
        (comments above it left the list) is asked again further up. Ids read already are
        skipped, so no comment is missed or read twice.

        At most `INBOX_PAGES` requests: a read that stops there with older new comments
        left returns the ones it read with ``more`` set, and its cursor keeps the mark it
        started from and where it stopped; the next read goes on below, and once it reaches
        the mark the cursor becomes the newest id read.

        The cursor names the site (comment ids are the site's own): another site's cursor is
        refused before any request. A cursor saved before it named its site is read as this
        site's.

        Raises:
            ConfigurationError: ``cursor`` is not one an inbox read returned, or was
                returned for another site.
            AuthError: the account may not moderate comments (``context=edit``).
            PlatformError: another refusal (typed by `error_for`).
        """
        state = _decode_cursor(cursor, self.name)
        site = _site(self.account.base_url)
        if state.site is not None and state.site != site:
            raise ConfigurationError(
                f"this WordPress inbox cursor belongs to another site ({state.site}) than "
                f"{self.account.key} ({site}): pass since=None, or the cursor saved for this "
                "account"
            )
        yield from self.prepare()
        me = yield from self._my_id()
        mark, gap = state.mark, state.gap
        # Every comment the site lists from ``lowest`` (the lowest id read so far) up to
        # the top of the read (``gap.top``, or the newest id read) has been read.
        lowest = gap.below if gap is not None else None
        offset = gap.at if gap is not None else 0
        back = _STEP_BACK
        found: dict[int, tuple[Message, int]] = {}  # id: (message, offset in the list)
        reached = False
        for _ in range(INBOX_PAGES):
            params = {
                "context": "edit",
                "status": "all",
                "orderby": "id",
                "order": "desc",
                "per_page": str(_PER_PAGE),
                "author_exclude": str(me),
            }
            if offset:
                params["offset"] = str(offset)
            comments = yield from self._comments(params)
            if offset and lowest is not None and (not comments or comments[0][0].id < lowest):
                # Comments above left the list: this page may start below some never read.
                offset, back = max(0, offset - back), back * 2
                continue
            for index, (c, raw) in enumerate(comments):
                if mark is not None and c.id <= mark:
                    reached = True
                    break
                if lowest is not None and c.id >= lowest:
                    continue  # read already, or new since the read began (read next time)
                found[c.id] = (self._message(c, raw), offset + index)
                lowest = c.id
            if reached or len(comments) < _PER_PAGE:
                reached = True
                break
            # The next page starts on the last comment of this one, to show none was skipped.
            offset += len(comments) - 1
        ids = sorted(found)
        top = gap.top if gap is not None else max(ids, default=mark)
        if reached:
            if len(ids) <= limit:
                return _inbox_page(found, ids, _Cursor(top, site=site), more=False)
            # The oldest ``limit``: the next read goes on above them.
            taken = ids[:limit]
            return _inbox_page(found, taken, _Cursor(taken[-1], gap, site), more=True)
        # Stopped at the page bound with older new comments left: the newest ``limit`` read,
        # right below what the earlier reads of this gap returned; the next read goes on.
        taken = ids[-limit:]
        if taken and top is not None:
            below = taken[0]
            resume = _Gap(top=top, below=below, at=found[below][1])
        elif gap is not None:
            resume = attrs.evolve(gap, at=offset)
        else:  # pragma: no cover - a first page with nothing new has reached the mark
            return _inbox_page(found, [], _Cursor(mark, site=site), more=False)
        return _inbox_page(found, taken, _Cursor(mark, resume, site), more=True)

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Every comment (held ones too) on the post ``refs[0]``, oldest first, the
        account's own left out; at most `INBOX_PAGES` pages of 100.

        Raises:
            PlatformError: WordPress refused (typed by `error_for`).
        """
        yield from self.prepare()
        me = yield from self._my_id()
        out: list[Message] = []
        for page in range(1, INBOX_PAGES + 1):
            comments = yield from self._comments(
                {
                    "post": refs[0].id,
                    "context": "edit",
                    "status": "all",
                    "orderby": "id",
                    "order": "asc",
                    "per_page": "100",
                    "page": str(page),
                    "author_exclude": str(me),
                }
            )
            out.extend(self._message(c, raw) for c, raw in comments)
            if len(comments) < 100:
                break
        return out

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        """An answer to a comment is a comment: its text alone, one part.

        brandkit's text engine has no WordPress entry yet: the text is counted in code points
        as Facebook's comments are (63,206 at most); `_publish_comment` also checks
        WordPress's own bound, 65,525 bytes of UTF-8.
        """
        return attrs.evolve(comment_rules(capabilities), text_rules="facebook")

    def reply_target(self, message: Message) -> PartRef:
        """The comment to answer, with the post it is on (``extra["post"]``)."""
        self.check_message(message)
        return PartRef(
            index=0,
            id=message.id,
            url=message.url,
            extra={"post": message.our_post or message.extra.get("post")},
        )

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """Hold the comment for moderation (``status`` ``hold``: off the site) or approve it
        (``approved``) again.

        Raises:
            AuthError: the account may not moderate comments.
            PlatformError: another refusal (typed by `error_for`).
        """
        self.check_message(message)
        yield from self.prepare()
        response = yield Send(
            self._request(
                "POST",
                f"comments/{message.id}",
                body={"status": "hold" if hidden else "approved"},
            ),
            idempotent=True,
            bucket="api",
        )
        self.check(response)

    def delete_message(self, message: Message) -> Flow[None]:
        """Move the comment to the trash (``DELETE /comments/:id``; a moderator can restore
        it from the dashboard). One already trashed (410 ``rest_already_trashed``) or gone
        (404 ``rest_comment_invalid_id``) counts as deleted; any other 404 is an error.

        Raises:
            AuthError: the account may not moderate comments.
            PlatformError: another refusal (typed by `error_for`).
        """
        self.check_message(message)
        yield from self.prepare()
        response = yield Send(
            self._request("DELETE", f"comments/{message.id}"),
            idempotent=True,
            bucket="api",
        )
        if _gone(response, "rest_comment_invalid_id"):
            return  # WordPress says the comment is gone, or in the trash already
        self.check(response)

    def _default_category(self) -> Flow[int | None]:
        """The site's default category (``default_category`` of ``/wp/v2/settings``), read
        once; ``None`` when the user may not read the settings."""
        if self._default is None:
            response = yield Send(
                self._request("GET", "settings", params={"_fields": "default_category"}),
                idempotent=True,
                bucket="api",
            )
            if response.status_code in (401, 403):
                self._default = 0  # not this user's to read
            else:
                found = self.parse(response, _Settings).default_category
                self._default = found if found > 0 else 0
        return self._default or None

    def _my_id(self) -> Flow[int]:
        if self._me is None:
            response = yield Send(
                self._request("GET", "users/me", params={"_fields": "id"}),
                idempotent=True,
                bucket="api",
            )
            self._me = self.parse(response, _Id).id
        return self._me

    def _comments(self, params: Mapping[str, str]) -> Flow[list[tuple[_Comment, dict[str, Any]]]]:
        """One page of ``/comments``, each comment with its JSON."""
        response = yield Send(
            self._request("GET", "comments", params=params), idempotent=True, bucket="api"
        )
        self.check(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, list):
            raise MalformedResponse(
                "wordpress answered a comment list with something other than a list",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )
        out: list[tuple[_Comment, dict[str, Any]]] = []
        for entry in body:
            try:
                out.append((_Comment.model_validate(entry), entry))
            except pydantic.ValidationError as exc:
                raise MalformedResponse(
                    f"wordpress answered a comment brandkit cannot read: {exc.errors()[0]['msg']}",
                    platform=self.name,
                    status_code=response.status_code,
                    body=self.account.redact(response.text[:2000]),
                ) from None
        return out

    def _message(self, c: _Comment, raw: Mapping[str, Any]) -> Message:
        post = str(c.post)
        parent = str(c.parent) if c.parent else None
        # A comment's raw content is HTML (a visitor's saved through kses: "Q&A" is stored
        # "Q&amp;A", a link as its <a> tag): given as it was, the message's plain text
        # showed entities and tags.
        text = _plain(c.content.raw if c.content.raw is not None else c.content.rendered)
        created = _gmt(c.date_gmt) or datetime.now(UTC)
        return Message(
            platform=self.name,
            account=self.account.key,
            id=str(c.id),
            kind="comment",
            # A visitor has no user: their name (and e-mail, kept out of here) is all there is.
            author=Author(
                id=str(c.author) if c.author else f"guest:{c.author_name}",
                name=c.author_name or None,
                url=c.author_url or None,
            ),
            text=text,
            created_at=created,
            url=c.link or None,
            in_reply_to=parent or post,
            conversation=post,
            our_post=post,
            hidden=c.status != "approved",
            raw=raw,
            extra={"post": post, "parent": parent, "status": c.status},
        )

    def _publish_comment(self, part: RenderedPart, target: PartRef) -> Flow[PartRef]:
        """``POST /comments`` under ``target`` (no idempotency key: a lost answer is looked
        up by `find_part` before anything is sent again)."""
        if part.media:
            raise ContentError(
                "wordpress: brandkit answers comments with text only; remove the media",
                field="media",
                platform=self.name,
            )
        # Measured as sent: escaped, each "<" is four bytes and each "&" five.
        content = html.escape(part.text, quote=False)
        size = len(content.encode())
        if size > COMMENT_MAX_BYTES:
            raise ContentError(
                f"wordpress: a comment holds at most {COMMENT_MAX_BYTES} bytes of UTF-8 (as "
                f"sent, with <, > and & escaped); this answer has {size}: shorten it",
                field="text",
                platform=self.name,
                over_by=size - COMMENT_MAX_BYTES,
            )
        post = target.extra.get("post")
        if not post:
            raise ContentError(
                "wordpress: the comment to answer names no post; answer a message read from "
                "the inbox",
                field="reply_to",
                platform=self.name,
            )
        yield from self.prepare()
        response = yield Send(
            self._request(
                "POST",
                "comments",
                # A comment's content is HTML: the answer's plain text is escaped, else a
                # "<details>" in it became an element and "&" an entity's start.
                body={"post": int(post), "parent": int(target.id), "content": content},
            ),
            creates=True,
            bucket="api",
        )
        made = self.parse(response, _Comment)
        return PartRef(
            index=part.index,
            id=str(made.id),
            url=made.link or None,
            extra={"post": str(made.post), "parent": target.id, "status": made.status},
        )

    def _find_comment(self, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        """The account's answer under ``thread.reply_to`` with the part's text, written since
        the delivery began (less 5 minutes of skew), or ``None``."""
        assert thread.reply_to is not None
        target = thread.reply_to
        yield from self.prepare()
        me = yield from self._my_id()
        params = {
            "parent": target.id,
            "author": str(me),
            "context": "edit",
            "status": "all",
            "orderby": "id",
            "order": "desc",
            "per_page": "20",
        }
        if target.extra.get("post"):
            params["post"] = str(target.extra["post"])
        since = tid_time(thread.key)
        for c, _ in (yield from self._comments(params)):
            text = c.content.raw if c.content.raw is not None else _plain(c.content.rendered)
            dated = _gmt(c.date_gmt)
            if since is not None and dated is not None and dated < since - LOOKUP_SKEW:
                continue
            # The answer is sent escaped, and a user without unfiltered_html has it saved
            # through kses, which stores a bare "&" as "&amp;": compared strictly, the answer
            # was missed, sent again, and refused as a duplicate while it was live. (An
            # answer sent unescaped by an older brandkit still counts.)
            said = part.text.strip()
            stored = html.unescape(text).strip()
            if said in (text.strip(), stored) or stored == html.unescape(said):
                return PartRef(
                    index=part.index,
                    id=str(c.id),
                    url=c.link or None,
                    extra={"post": str(c.post), "parent": target.id, "status": c.status},
                )
        return None

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """The number of approved comments of each post (``X-WP-Total``); views are
        unavailable: core WordPress does not count them.

        Raises:
            PlatformError: WordPress refused (typed by `error_for`).
        """
        from brandkit.metrics._sample import MAX_VALUE, Metric, MetricSample

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
            # ASCII digits only (str.isdigit takes "²", which int() refuses), and no more
            # than a float holds exactly: anything else is no comment count.
            if not (
                total.isascii() and total.isdigit() and len(total) <= 16 and int(total) <= MAX_VALUE
            ):
                raise MalformedResponse(
                    "wordpress answered a comment list without a readable X-WP-Total "
                    f"(a count from 0 to {MAX_VALUE}; got {total[:40]!r})",
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

    def _fields(
        self,
        article: Article,
        *,
        since: datetime | None = None,
        featured_media: int | None = None,
        progress: dict[str, str] | None = None,
    ) -> Flow[dict[str, Any]]:
        """The post's fields, after the image upload (none when ``featured_media``, the
        attachment the post already has for the article's image, is given; see
        `publish_article` for ``progress``), the terms and the author look-up."""
        fields: dict[str, Any] = {
            # Plain text, and WordPress shows both as HTML: sent raw, "<canvas>" in a title
            # became an element (its words gone for readers; for a user without
            # unfiltered_html, kses removed it from the stored title) and "&amp;" an "&".
            "title": _as_html(article.title),
            "content": unwrapped(article.html()),
            "excerpt": _as_html(article.excerpt or ""),
            "slug": article.slug,
            "status": _STATUS[article.status],
        }
        if article.status == "scheduled" and article.scheduled_at is not None:
            at = article.scheduled_at
            now = datetime.now(UTC)
            if now < at < now + FUTURE_LEAD:
                # WordPress counts a date less than a minute ahead as now and publishes the
                # post at once, early: it is dated at the earliest time WordPress keeps
                # scheduled, late by that much but never early (an embargo).
                at = now + FUTURE_LEAD
            fields["date_gmt"] = at.astimezone(UTC).strftime(_FMT)
        if article.kind == "post":
            if article.categories:
                fields["categories"] = yield from self.terms("categories", article.categories)
            if article.tags:
                fields["tags"] = yield from self.terms("tags", article.tags)
        if article.author is not None:
            fields["author"] = yield from self._author(article.author)
        if featured_media is not None:
            fields["featured_media"] = featured_media
        elif article.featured_image is not None:
            fields["featured_media"] = yield from self._featured_media(
                article.featured_image, since=since, progress=progress
            )
        return fields

    def _featured_media(
        self, media: Media, *, since: datetime | None, progress: dict[str, str] | None
    ) -> Flow[int]:
        """The attachment for a new post's featured image: the one an earlier attempt of
        the delivery uploaded (its id in ``progress``) while the site still has it, else a
        new upload, whose id is then kept in ``progress``."""
        # A create tried again (its answer lost, a 5xx, a worker's later attempt) uploaded
        # the image again each time: one more copy in the media library per attempt, each
        # but the last attached to no post.
        kept = (progress or {}).get("featured_media", "")
        if kept.isascii() and kept.isdigit():
            found = yield from self._uploaded(int(kept), media)
            if found is not None:
                return found
        media_id = yield from self.upload_image(media, since=since)
        if progress is not None:
            progress["featured_media"] = str(media_id)
        return media_id

    def _media_item(self, media_id: int) -> Flow[_Media | None]:
        """The site's attachment ``media_id`` as the edit context shows it, or ``None``
        when it is gone or not this user's to see."""
        response = yield Send(
            self._request(
                "GET",
                f"media/{media_id}",
                params={"context": "edit", "_fields": "id,source_url,alt_text,media_details"},
            ),
            idempotent=True,
            bucket="api",
        )
        if response.status_code != 200:
            return None
        return self.parse(response, _Media)

    def _uploaded(self, media_id: int, media: Media) -> Flow[int | None]:
        """``media_id`` when the site still has that attachment, an upload of ``media`` by
        this delivery (WordPress never gives an id twice), its size ``media``'s where
        WordPress says it; its alt text is then set to ``media``'s. Else ``None``. Not
        compared byte for byte: a site whose files are served from elsewhere (a CDN,
        offloaded media) would never match, and each attempt upload again."""
        item = yield from self._media_item(media_id)
        if item is None:
            return None  # gone (deleted since), or not this user's to see: uploaded again
        stored = item.media_details.get("filesize")
        if item.id != media_id or (isinstance(stored, int) and stored != media.size):
            return None
        yield from self._alt_text(item, media)
        return item.id

    def _same_image(self, current: PartRef, media: Media) -> Flow[int | None]:
        """The id of the post's featured image when it is ``media`` (the same file name and
        bytes, read from the site itself), its alt text set to ``media``'s; else ``None``.

        An image served from another host (a CDN, offloaded media) or scaled down by
        WordPress is not compared: ``None``, and the image is uploaded again.
        """
        media_id = current.extra.get("featured_media")
        if not isinstance(media_id, int) or isinstance(media_id, bool) or media_id <= 0:
            return None
        item = yield from self._media_item(media_id)
        if item is None:
            return None  # gone, or not this user's to see: uploaded again, as before
        stem, _, ext = _safe_filename(media, "image").rpartition(".")
        data = media.read()
        stored = item.media_details.get("filesize")
        if isinstance(stored, int) and stored != len(data):
            return None
        same = yield from self.same_file(item.source_url, stem, f".{ext}", data, ignore_case=True)
        if not same:
            return None  # another file, or one that cannot be read: uploaded again
        yield from self._alt_text(item, media)
        return item.id

    def _author(self, author: str) -> Flow[int]:
        """The id of the user ``author`` names: an id, or a login, slug or e-mail address.

        Found with ``/users?search=...&context=edit`` (an administrator's view, the only one
        showing logins and e-mail addresses) and matched exactly; a user who may not list
        users (403) falls back to the slug WordPress makes of the login.
        """
        # ASCII digits only: str.isdigit takes "²" or "١", which int() refuses or reads as
        # another number, and the delivery broke off with an internal error.
        if author.isascii() and author.isdigit():
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

    def _kept(self, fields: Mapping[str, Any], item: _Item) -> PartRef:
        """`_ref` of the post WordPress saved, with ``extra["removed_html"]`` naming the
        elements of the body it did not keep (``[]``: all kept), and a WARNING when any.
        A user without ``unfiltered_html`` (an author; on multisite every user but a
        super admin) has the body saved through kses, which drops ``<iframe>``, ``<script>``,
        ``<style>``, forms and the like: the article is live, but not as written."""
        ref = self._ref(item)
        sent = str(fields.get("content") or "")
        if item.content.raw is None or not sent:
            return ref  # nothing to compare (an answer without context=edit)
        removed = sorted(html_tags(sent) - html_tags(item.content.raw))
        # Set even when empty: an update that kept everything must not carry on the
        # removals of the version it replaced.
        ref = attrs.evolve(ref, extra={**ref.extra, "removed_html": removed})
        if not removed:
            return ref
        logger.warning(
            "%s: WordPress saved post %s without its %s: the user %r may not publish such "
            "HTML (it lacks unfiltered_html); give the article without them, or publish "
            "as an administrator",
            self.account.key,
            item.id,
            ", ".join(f"<{tag}>" for tag in removed),
            self.account.settings.get("user"),
        )
        return ref

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
        if status == 413:
            text += _too_large(response)
        if code == "rest_no_route":
            try:
                asked = f" on {response.request.method} {response.request.url.path}"
            except RuntimeError:  # an answer made without its request
                asked = ""
            text += (
                f"{asked}: this site has no such REST route (check the account's URL, and "
                "that no security plugin removed or renamed it); nothing was done"
            )
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
            if str(self.account.base_url or "").startswith("http://"):
                # WordPress ignores application passwords over plain http (unless the site
                # says it is a local one): a right password is refused as no login at all.
                hint = (
                    " (check the user and the application password; WordPress treats a "
                    "wrong one as no login at all, and ignores any over plain http unless "
                    "the site's WP_ENVIRONMENT_TYPE is 'local': the account's URL is "
                    "http://, use the site's https:// address)"
                )
            if status == 403 and code is not None and code.startswith("rest_cannot"):
                # WordPress answers 403 (not 401) only to a user it knows: the password is
                # right, and "check the password" sent users after the wrong thing.
                hint = (
                    f" (the user {self.account.settings.get('user')!r} is logged in, but "
                    "their role may not do this: an Author publishes their own posts only; "
                    "pages, categories and other users' posts need an Editor or "
                    "Administrator)"
                )
            return AuthError(text + hint, **common)
        if status == 429:
            # Bounded as every adapter's is: a Retry-After of twenty digits was taken as it
            # came, a wait of three trillion years handed to the caller and the outbox.
            after = retry_after_of(response)
            return RateLimited(text, retry_after=after, **common)
        if code is not None and code.startswith("rest_upload"):
            return Rejected(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)


def _as_asked(item: _Item, article: Article) -> bool:
    """Whether ``item`` is dated exactly as ``article`` was scheduled (to the second, as
    ``date_gmt`` is sent). A scheduled time already past when the post is created makes
    WordPress publish it at once with that date, and ``wp_insert_post`` gives a new post
    with a date of its own that date as its modified time too: both are before the delivery
    began, and only the date asked for tells the post from an older one."""
    if article.status != "scheduled" or article.scheduled_at is None:
        return False
    return _gmt(item.date_gmt) == article.scheduled_at.astimezone(UTC).replace(microsecond=0)


def _too_large(response: httpx.Response) -> str:
    """What to do about a 413: the site's web server (nginx's ``client_max_body_size`` is 1
    MiB unless raised) or PHP refused the request's body as too large, before WordPress saw
    it, and its page said only "Request Entity Too Large"."""
    try:
        request = response.request
    except RuntimeError:  # an answer made without its request
        return ": the site's web server refused the request as too large"
    size = sent_size(request)
    # The route is in the path, or in the query of a site without pretty permalinks.
    media = re.search(r"/wp/v2/media(?:$|[?&/])", urllib.parse.unquote(str(request.url)))
    what = "the featured image" if media is not None else "the article"
    return (
        f": the site's web server refused the request{size} as too large; make "
        f"{what} smaller, or raise the site's limits (nginx client_max_body_size, Apache "
        "LimitRequestBody, PHP post_max_size and upload_max_filesize)"
    )


def _gone(response: httpx.Response, invalid_id: str) -> bool:
    """Whether ``response`` to a delete is WordPress's word that what it names is not there:
    404 ``invalid_id`` (``rest_post_invalid_id``, ``rest_comment_invalid_id``), or 410
    ``rest_already_trashed`` (in the trash already). Not any 404: ``rest_no_route`` (a route
    the site has not) or a web server's page says nothing of the post."""
    code = _code(response)
    if response.status_code == 404:
        return code == invalid_id
    return response.status_code == 410 and code == "rest_already_trashed"


def _code(response: httpx.Response) -> str | None:
    """WordPress's error ``code`` of ``response``, or ``None`` (not its error shape)."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _moved_site(response: httpx.Response) -> str | None:
    """The site's address a redirect of the REST API's root leads to (its ``Location``
    without ``/wp-json/`` and the query), or ``None`` when ``response`` is no redirect."""
    target = redirect_target(response)
    if target is None:
        return None
    # Only the same root elsewhere: a redirect to a login page or a plugin's page says
    # nothing of where the site is.
    tail = next(
        (t for t in ("/wp-json/", "/wp-json", "/index.php", "/") if target.path.endswith(t)), None
    )
    if tail is None:
        return None
    path = target.path[: -len(tail)] or "/"
    return str(target.copy_with(path=path, query=None, fragment=None)).rstrip("/")


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


_PUBLIC = ("publish", "future", "private")
"""The statuses of a post whose address is out (or, scheduled, announced)."""


@attrs.frozen
class _Gap:
    """Comments an inbox read has still to go through: those between the cursor's mark and
    ``below`` (the lowest id returned so far); ``top`` is the newest id returned, the mark
    once the gap is read; ``at`` where ``below`` was in the list (where to ask next)."""

    top: int
    below: int
    at: int


@attrs.frozen
class _Cursor:
    """Where an inbox read stopped: ``mark``, the newest comment id read (``None``: nothing
    read yet), the ``gap`` below the newer comments returned that is still to read, and the
    ``site`` (`_site`) whose comments these are (``None`` in cursors saved before)."""

    mark: int | None
    gap: _Gap | None = None
    site: str | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"v": 1, "id": self.mark}
        if self.gap is not None:
            # Still version 1: a brandkit that knows no gap reads on from the mark (comments
            # above it again, none lost).
            data["gap"] = {"top": self.gap.top, "below": self.gap.below, "at": self.gap.at}
        if self.site is not None:
            data["site"] = self.site
        return json.dumps(data, separators=(",", ":"))


_MAX_SITE = 2000
"""The longest site a cursor may name (a URL's practical bound)."""


def _site(url: str) -> str:
    """The site as an inbox cursor names it: host, port and path of its address.

    Not the scheme, so that a site moved to https keeps its cursor; nor a user or password
    written into the address, which must not end up in a stored cursor.
    """
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.host}{port}{parsed.path.rstrip('/')}"


def _inbox_page(
    found: Mapping[int, tuple[Message, int]], ids: Sequence[int], cursor: _Cursor, *, more: bool
) -> InboxPage:
    return InboxPage(messages=[found[i][0] for i in ids], cursor=cursor.encode(), more=more)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode_cursor(text: str | None, platform: str) -> _Cursor:
    """The cursor an inbox read returned (``None``: nothing read yet).

    Raises:
        ConfigurationError: ``text`` is not a cursor `WordPressAdapter.inbox` made.
    """
    if text is None:
        return _Cursor(None)
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1 or "id" not in data:
            raise ValueError("not a version 1 cursor of WordPress comments")
        newest = data["id"]
        if newest is not None and not _count(newest):
            raise ValueError("the id is not a comment id")
        site = data.get("site")
        if site is not None and not (isinstance(site, str) and 0 < len(site) <= _MAX_SITE):
            raise ValueError("its site is not a site's address")
        raw_gap = data.get("gap")
        if raw_gap is None:
            return _Cursor(newest, site=site)
        if not isinstance(raw_gap, dict) or not all(
            _count(raw_gap.get(k)) for k in ("top", "below", "at")
        ):
            raise ValueError("its gap is not one of comment ids")
        gap = _Gap(top=raw_gap["top"], below=raw_gap["below"], at=raw_gap["at"])
        if gap.below > gap.top or (newest is not None and newest >= gap.below):
            raise ValueError("its gap is not above its id")
    except ValueError as exc:
        raise ConfigurationError(
            f"{platform}: the inbox cursor is not one brandkit made ({exc}); pass the cursor "
            "of the last InboxPage unchanged, or None to read from the start"
        ) from None
    return _Cursor(newest, gap, site)
