"""A faithful, stateful Ghost site (Ghost Admin API, Ghost 5 and 6) for tests.

```python
from brandkit import Article, Client
from brandkit.testing.ghost import GhostEmulator

emu = GhostEmulator()
with emu.serve():
    account = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Article(title="Hello", body="Hi *all*"), account)
    assert emu.post_titles() == ["Hello"]
```

What it answers like Ghost (Ghost's own source: ``core/server/services/auth/api-key/admin.js``
for the token checks, ``web/api/middleware/upload.js`` for uploads, ``@tryghost/errors`` for the
error body; https://docs.ghost.org/admin-api for the rest):

- Token authentication: ``Authorization: Ghost <JWT>``, the JWT signed HS256 with the
  hex-decoded secret of an Admin API key ``{id}:{secret}``, its header ``kid`` the key's
  id, its ``aud`` ``/admin/`` (the path of the API asked), ``iat`` at most 5 minutes old
  (``maxAge``) and ``exp`` not passed. Each refusal in Ghost's words: ``Invalid token: jwt
  expired``, ``Invalid token: invalid signature``, ``Unknown Admin API Key``, ``Admin API kid
  missing.``, ``Authorization header format is "Authorization: Ghost [token]"``; no
  ``Authorization`` at all is 403 ``Authorization failed``.
- ``POST /ghost/api/admin/posts/`` (and ``/pages/``) with ``{"posts": [{...}]}``: ``title``,
  ``html`` (read only with ``?source=html``, as Ghost does: without it the HTML is dropped;
  imported as Ghost does, losing what Lexical has no node for: see `_import_html`),
  ``lexical``, ``slug`` (as Ghost's ``generateSlug`` makes it: cut to 185 characters, one
  character made ``post-x``, ``ghost``, ``rss`` and ``amp`` made ``<slug>-post``, then made
  unique with ``-2``, ``-3``...; derived from the title when absent), ``status``
  (``draft``, ``published``, ``scheduled`` with ``published_at`` at least 2 minutes ahead
  when it is set or changed, never for a published post: 422 "Your post is already
  published, please reload your page."; ``published_at`` is set to now only for
  a published post that has none, as Ghost's post model does: a scheduled post sent
  ``published`` alone keeps its time, and a draft keeps its ``published_at``), ``tags``
  (names, ``{"name"}``, ``{"slug"}`` or ``{"id"}``: found by what is sent, a name in any
  case, else created with a free slug, ``-2`` when the name's slug is another tag's),
  ``custom_excerpt`` (300),
  ``feature_image``, ``feature_image_alt`` (191), ``feature_image_caption``,
  ``canonical_url``. Answers 201 with the post.
- ``GET .../posts/`` with ``filter`` (``slug:x``, ``slug:[a,b]``, ``id:x``, ``status:x``,
  joined with ``+``; values quoted ``'x'`` or bare, a bare one a number or at least two
  characters, as NQL's lexer takes them, else 400 ``Error parsing filter``), ``limit``
  (15 by default, ``all``), ``page``, ``formats`` (``lexical`` by default, ``html``),
  ``order``; ``GET .../posts/{id}/`` and
  ``.../posts/slug/{slug}/``.
- ``PUT .../posts/{id}/`` makes a slug sent unlike the stored one unique again, the post
  itself holding it counting as taken (``launch-2`` sent ``launch`` becomes ``launch-3``).
  It needs the post's current ``updated_at``: an older one is 409
  ``UpdateCollisionError`` ("Saving failed! Someone else is editing this post."), none is
  422. ``DELETE .../posts/{id}/`` answers 204. An unknown id is 404 ``NotFoundError`` in the
  words the API framework gives an endpoint's error: "Resource not found error, cannot
  delete post." (``read``, ``edit``), its context "Post not found." ("Page not found.");
  a path or method the Admin API has no route for is 404 ``NotFoundError`` "Resource not
  found" without context.
- ``POST /ghost/api/admin/images/upload/`` (multipart ``file``, ``purpose``, ``ref``):
  jpg, jpeg, gif, png, svg, svgz, ico, webp; others 415 ``Please select a valid image.``;
  answers 201 ``{"images": [{"url", "ref"}]}`` and serves the file at that URL, named as
  Ghost's local storage names it in every release of Ghost 5 and 6 (``ghost-storage-base``
  1.0, 1.1.2, 2.x and 3.0's ``getUniqueFileName``): ``/content/images/YYYY/MM/<name>.<ext>``,
  then ``-1``, ``-2``... for a name taken, the name's ``_o`` before the extension trimmed
  (the images endpoint keeps that suffix for originals), and a name over 255 bytes refused
  with 400 (``ENAMETOOLONG``). ``numbered_image_names=False`` names uploads as
  ``ghost-storage-base`` 1.1.0/1.1.1's ``getUniqueSecureFilePath`` does (reverted in Ghost
  within a week, but a storage adapter may use it): ``<name>-<16 hex digits>.<ext>``, a new
  random name each time, the name cut to keep it within 253 bytes. ``optimize_images``
  re-encodes JPEG, PNG and WebP as Ghost's image optimisation does, the original kept beside
  it as ``<name>_o.<ext>``.
- ``GET /ghost/api/admin/site/`` (no authentication), and the public page of a
  published post at ``/{slug}/`` (with ``og:`` tags) for link cards.
- Scheduled posts go live when the emulator clock passes their ``published_at``.
- Errors in Ghost's shape: ``{"errors": [{"message", "context", "type", "details",
  "property", "help", "code", "id", "ghostErrorCode"}]}``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import html
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._article import html_text
from brandkit.content._html import html_blocks
from brandkit.testing._emulator import Clock, Emulator, Refusal, route
from brandkit.testing._forms import MultipartError, parse_multipart

__all__ = ["GhostEmulator", "ghost_time", "sign_admin_token"]

API = r"/ghost/api/admin"
RESOURCE = r"(?P<resource>posts|pages)"
TOKEN_MAX_AGE = 5 * 60
SCHEDULE_LEAD = timedelta(minutes=2)
PROTECTED_SLUGS = frozenset({"ghost", "rss", "amp"})
"""Ghost's config ``slugs.protected``: a post given one is stored as ``<slug>-post``."""
IMAGE_TYPES = {
    ".jpg": {"image/jpeg"},
    ".jpeg": {"image/jpeg"},
    ".gif": {"image/gif"},
    ".png": {"image/png"},
    ".svg": {"image/svg+xml"},
    ".svgz": {"image/svg+xml"},
    ".ico": {"image/x-icon", "image/vnd.microsoft.icon"},
    ".webp": {"image/webp"},
}
_TYPES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "NoPermissionError",
    404: "NotFoundError",
    409: "UpdateCollisionError",
    413: "RequestEntityTooLargeError",
    415: "UnsupportedMediaTypeError",
    422: "ValidationError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


def ghost_time(moment: datetime) -> str:
    """A time as Ghost writes it: ISO 8601 in UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_admin_token(
    admin_key: str, *, iat: float, lifetime: float = TOKEN_MAX_AGE, audience: str = "/admin/"
) -> str:
    """A Ghost Admin API token for ``admin_key`` (``{id}:{hex secret}``), issued at ``iat``
    (epoch seconds) and expiring ``lifetime`` seconds later, for tests that write their own
    requests."""
    key_id, _, secret = admin_key.partition(":")
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id}
    claims = {"iat": int(iat), "exp": int(iat + lifetime), "aud": audience}
    signing = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(bytes.fromhex(secret), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64url(signature)}"


def _slugify(text: str) -> str:
    # Ghost's slugify keeps Unicode letters; for the ASCII titles tests use, this agrees.
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-_")
    return slug[:185] or "untitled"


@attrs.define
class _Tag:
    id: str
    name: str
    slug: str


@attrs.define
class _Post:
    id: str
    uuid: str
    resource: str
    title: str
    slug: str
    html: str
    lexical: str
    status: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    custom_excerpt: str | None = None
    feature_image: str | None = None
    feature_image_alt: str | None = None
    feature_image_caption: str | None = None
    canonical_url: str | None = None
    tag_ids: list[str] = attrs.field(factory=list)
    deleted: bool = False


class GhostEmulator(Emulator):
    """One Ghost site with one staff user and one custom integration (its Admin API key).

    Attributes:
        admin_key: the integration's Admin API key, ``{24 hex id}:{64 hex secret}``.
        title: the site's title.
        numbered_image_names: name uploads as every Ghost 5 and 6 release's local storage
            does (``<name>.<ext>``, then ``-1``, ``-2``...; the default); ``False``: as
            ``ghost-storage-base`` 1.1.0/1.1.1's ``getUniqueSecureFilePath`` does
            (``<name>-<16 hex digits>.<ext>``, a new random name for every upload), which a
            storage adapter built on it may still do.
        optimize_images: re-encode JPEG, PNG and WebP uploads as Ghost's image optimisation
            does (its bytes change; the original is kept beside it as ``<name>_o.<ext>``).
        version: the Ghost version reported (``Content-Version`` as ``v<major>.<minor>``,
            and ``/site/``): ``"6.0"`` unless given.
    """

    platform: ClassVar[str] = "ghost"
    create_route: ClassVar[tuple[str, str]] = ("POST", rf"{API}/(posts|pages)/")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        strict: bool | None = None,
        title: str = "Acme Blog",
        numbered_image_names: bool = True,
        optimize_images: bool = False,
        version: str | None = None,
    ) -> None:
        super().__init__(clock=clock, strict=strict)
        self.title = title
        self.numbered_image_names = numbered_image_names
        self.optimize_images = optimize_images
        self.version = version or "6.0"
        self.admin_key = f"{secrets.token_hex(12)}:{secrets.token_hex(32)}"
        self._keys: dict[str, bytes] = {}
        self._add_key(self.admin_key)
        self._posts: dict[str, _Post] = {}
        self._tags: dict[str, _Tag] = {}
        self._images: dict[str, tuple[str, bytes]] = {}
        self._author = {
            "id": "1",
            "name": "Acme Editor",
            "slug": "acme",
            "email": "editor@example.com",
        }

    def _add_key(self, admin_key: str) -> None:
        key_id, _, secret = admin_key.partition(":")
        self._keys[key_id] = bytes.fromhex(secret)

    # -- for tests ------------------------------------------------------------------------

    def account(self, *, name: str | None = None, **kwargs: Any) -> Account:
        """An ``Account.ghost`` with this site's Admin API key, at `base_url` (call it
        inside ``serve()`` for the socket URL)."""
        return Account.ghost(self.base_url, admin_key=self.admin_key, name=name, **kwargs)

    def revoke(self) -> None:
        """Delete the integration's key (its tokens are then refused: ``Unknown Admin API
        Key``) and make a new one in `admin_key`."""
        with self.lock:
            self._keys.pop(self.admin_key.partition(":")[0], None)
            self.admin_key = f"{secrets.token_hex(12)}:{secrets.token_hex(32)}"
            self._add_key(self.admin_key)

    def post_texts(self) -> list[str]:
        """The titles of the posts and pages that exist now, oldest first."""
        return self.post_titles()

    def post_titles(self) -> list[str]:
        """The titles of the posts and pages that exist now, oldest first."""
        with self.lock:
            return [p.title for p in self._live()]

    def posts(self) -> list[dict[str, Any]]:
        """The posts and pages that exist now, oldest first, as the Admin API shows them
        with ``formats=html,lexical``."""
        with self.lock:
            return [self._post_json(p, {"html", "lexical"}) for p in self._live()]

    def post(self, id_or_slug: str) -> dict[str, Any]:
        """One post or page (by id or slug) as the Admin API shows it with ``formats=html``.

        Raises:
            KeyError: no such post.
        """
        with self.lock:
            for p in self._live():
                if id_or_slug in (p.id, p.slug):
                    return self._post_json(p, {"html", "lexical"})
        raise KeyError(id_or_slug)

    def image(self, url: str) -> bytes:
        """The bytes of an uploaded image, by the URL the upload answered.

        Raises:
            KeyError: no image was uploaded there.
        """
        path = httpx.URL(url).path
        with self.lock:
            return self._images[path][1]

    # -- answers --------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """Ghost's error body: one error with its ``type`` by status."""
        body = {
            "message": message,
            "context": extra.get("context"),
            "type": extra.get("type") or _TYPES.get(status, "InternalServerError"),
            "details": None,
            "property": None,
            "help": None,
            "code": extra.get("code"),
            "id": str(uuid.uuid4()),
            "ghostErrorCode": None,
        }
        return self.json({"errors": [body]}, status=status)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        """Ghost's 500."""
        return self.error(500, "An unexpected error occurred, please try again.")

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """Ghost sends its version on every Admin API answer, and (as every Node server)
        its clock in ``Date``: the emulator's, which tests move."""
        return {
            "content-version": f"v{self.version}",
            "date": email.utils.formatdate(self.clock.time(), usegmt=True),
        }

    # -- authentication -------------------------------------------------------------------

    def _authenticate(self, request: httpx.Request) -> None:
        header = request.headers.get("authorization")
        if not header:
            raise Refusal(
                403,
                "Authorization failed",
                context="Unable to determine the authenticated user or integration. Check "
                "that cookies are being passed through if using session authentication.",
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "ghost" or not token:
            raise Refusal(
                401,
                'Authorization header format is "Authorization: Ghost [token]"',
                code="INVALID_AUTH_HEADER",
            )
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three parts")
            head = json.loads(_unb64url(parts[0]))
            claims = json.loads(_unb64url(parts[1]))
            signature = _unb64url(parts[2])
            if not isinstance(head, dict) or not isinstance(claims, dict):
                raise ValueError("not objects")
        except (ValueError, binascii.Error):
            raise Refusal(400, "Invalid token", code="INVALID_JWT") from None
        key_id = head.get("kid")
        if not key_id:
            raise Refusal(400, "Admin API kid missing.", code="MISSING_ADMIN_API_KID")
        secret = self._keys.get(str(key_id))
        if secret is None:
            raise Refusal(401, "Unknown Admin API Key", code="UNKNOWN_ADMIN_API_KEY")

        def invalid(message: str) -> Refusal:
            return Refusal(401, f"Invalid token: {message}", code="INVALID_JWT")

        if head.get("alg") != "HS256":
            raise invalid("invalid algorithm")
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise invalid("invalid signature")
        # jsonwebtoken's order: exp, then the audience, then maxAge (from iat).
        now = self.clock.time()
        exp = claims.get("exp")
        if exp is not None and not isinstance(exp, int | float):
            raise invalid("invalid exp value")
        if exp is not None and now >= exp:
            raise invalid("jwt expired")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        # Ghost tests the audience with the RegExp /\/?admin\/?$/ (a search, not a full
        # match: "/v5/admin/" passes too).
        if not any(isinstance(a, str) and re.search(r"/?admin/?$", a) for a in audiences):
            raise invalid("jwt audience invalid. expected: /\\/?admin\\/?$/")
        iat = claims.get("iat")
        if not isinstance(iat, int | float):
            raise invalid("iat required when maxAge is specified")
        if now - iat > TOKEN_MAX_AGE:
            raise invalid("maxAge exceeded")

    # -- helpers --------------------------------------------------------------------------

    def _live(self) -> list[_Post]:
        self._go_live()
        return [p for p in self._posts.values() if not p.deleted]

    def _go_live(self) -> None:
        now = self.clock.now()
        for p in self._posts.values():
            if p.status == "scheduled" and p.published_at is not None and p.published_at <= now:
                p.status = "published"

    def _url(self, p: _Post) -> str:
        if p.status == "published":
            return f"{self.base_url}/{p.slug}/"
        return f"{self.base_url}/p/{p.uuid}/"

    def _tag_json(self, tag: _Tag) -> dict[str, Any]:
        return {
            "id": tag.id,
            "name": tag.name,
            "slug": tag.slug,
            "description": None,
            "feature_image": None,
            "visibility": "internal" if tag.name.startswith("#") else "public",
            "url": f"{self.base_url}/tag/{tag.slug}/",
        }

    def _post_json(self, p: _Post, formats: set[str]) -> dict[str, Any]:
        tags = [self._tag_json(self._tags[t]) for t in p.tag_ids if t in self._tags]
        author = {**self._author, "url": f"{self.base_url}/author/{self._author['slug']}/"}
        text = re.sub(r"<[^>]+>", " ", p.html)
        excerpt = " ".join(html.unescape(text).split())[:500]
        out: dict[str, Any] = {
            "id": p.id,
            "uuid": p.uuid,
            "title": p.title,
            "slug": p.slug,
            "comment_id": p.id,
            "feature_image": p.feature_image,
            "feature_image_alt": p.feature_image_alt,
            "feature_image_caption": p.feature_image_caption,
            "featured": False,
            "status": p.status,
            "visibility": "public",
            "created_at": ghost_time(p.created_at),
            "updated_at": ghost_time(p.updated_at),
            "published_at": ghost_time(p.published_at) if p.published_at else None,
            "custom_excerpt": p.custom_excerpt,
            "canonical_url": p.canonical_url,
            "tags": tags,
            "authors": [author],
            "primary_author": author,
            "primary_tag": tags[0] if tags else None,
            "url": self._url(p),
            "excerpt": p.custom_excerpt or excerpt,
            "reading_time": max(1, round(len(text.split()) / 275)) if text.strip() else 0,
            "og_image": None,
            "og_title": None,
            "og_description": None,
            "meta_title": None,
            "meta_description": None,
        }
        if "lexical" in formats:
            out["lexical"] = p.lexical
        if "html" in formats:
            out["html"] = p.html
        return out

    def _answer(
        self, posts: list[_Post], request: httpx.Request, status: int = 200
    ) -> httpx.Response:
        formats, only = _formats(request), _fields(request)
        return self.json(
            {_plural(request): [_only(self._post_json(p, formats), only) for p in posts]},
            status=status,
        )

    def _find(self, resource: str, post_id: str, verb: str = "read") -> _Post:
        self._go_live()
        p = self._posts.get(post_id)
        if p is None or p.deleted or p.resource != resource:
            raise _not_found(resource, verb)
        return p

    def _unique_slug(self, wanted: str, own: str | None = None) -> str:
        # generateSlug: a one-character slug is "post-<slug>", a protected one (Ghost's
        # slugs.protected) "<slug>-post".
        base = _slugify(wanted)
        if len(base) == 1:
            base = f"post-{base}"
        if base in PROTECTED_SLUGS:
            base = f"{base}-post"
        taken = {p.slug for p in self._posts.values() if not p.deleted and p.id != own}
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _tags_of(self, raw: Any) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise Refusal(422, "Validation error, cannot save post.", context="tags: not a list")
        ids: list[str] = []
        for item in raw:
            name = item if isinstance(item, str) else None
            slug = None
            tag: _Tag | None = None
            if isinstance(item, dict):
                if isinstance(item.get("id"), str) and item["id"] in self._tags:
                    tag = self._tags[item["id"]]
                name = item.get("name") if isinstance(item.get("name"), str) else None
                slug = item.get("slug") if isinstance(item.get("slug"), str) else None
            if tag is None and (name or slug):
                # bookshelf-relations' getMatchingTarget: the tag with the properties sent
                # (a name compared without case, as MySQL's collation does; a slug as it
                # is). Matched by slug first, "Launch" was filed under "Launch!", whose name
                # only makes the same slug, where Ghost makes a tag "Launch" of its own.
                tag = next(
                    (
                        t
                        for t in self._tags.values()
                        if (name is None or t.name.casefold() == name.casefold())
                        and (slug is None or t.slug == slug)
                    ),
                    None,
                )
            if tag is None:
                # generateSlug: a "#" name is an internal tag, its slug "hash-<slug>" (apart
                # from the public tag of the same words); a slug taken gets -2, -3...
                hashed = "hash-" if (name or "").startswith("#") else ""
                wanted = slug or hashed + _slugify(name or "")
                taken = {t.slug for t in self._tags.values()}
                free = wanted
                for n in range(2, len(taken) + 3):
                    if free not in taken:
                        break
                    free = f"{wanted}-{n}"
                if not (name or slug):
                    raise Refusal(
                        422,
                        "Validation error, cannot save tag.",
                        context="Value in [tags.name] cannot be blank.",
                    )
                if name and len(name) > 191:
                    raise Refusal(
                        422,
                        "Validation error, cannot save tag.",
                        context="Value in [tags.name] exceeds maximum length of 191 characters.",
                    )
                tag = _Tag(id=secrets.token_hex(12), name=name or str(slug), slug=free)
                self._tags[tag.id] = tag
            if tag.id not in ids:
                ids.append(tag.id)
        return ids

    def _apply(self, p: _Post, data: dict[str, Any], request: httpx.Request, *, new: bool) -> None:
        """Write the fields of ``data`` into ``p`` as Ghost validates them."""
        what = "post" if p.resource == "posts" else "page"

        def invalid(context: str) -> Refusal:
            verb = "save" if new else "edit"
            return Refusal(422, f"Validation error, cannot {verb} {what}.", context=context)

        for field, limit in (
            ("title", 255),
            ("custom_excerpt", 300),
            ("feature_image_alt", 191),
            ("canonical_url", 2000),
            ("slug", 191),
        ):
            value = data.get(field)
            if value is not None and not isinstance(value, str):
                raise invalid(f"Value in [posts.{field}] is not a string.")
            if isinstance(value, str) and len(value) > limit:
                raise invalid(
                    f"Value in [posts.{field}] exceeds maximum length of {limit} characters."
                )
        if "title" in data:
            p.title = (data.get("title") or "").strip() or "(Untitled)"
        if _source(request) == "html" and isinstance(data.get("html"), str):
            p.html, nodes = _import_html(data["html"])
            p.lexical = json.dumps(
                {
                    "root": {
                        "children": nodes,
                        "direction": None,
                        "format": "",
                        "indent": 0,
                        "type": "root",
                        "version": 1,
                    }
                },
                separators=(",", ":"),
            )
        elif isinstance(data.get("lexical"), str):
            p.lexical = data["lexical"]
            p.html = _lexical_html(p.lexical)
        for field in (
            "custom_excerpt",
            "feature_image",
            "feature_image_alt",
            "feature_image_caption",
            "canonical_url",
        ):
            if field in data:
                setattr(p, field, data[field] or None)
        if "tags" in data:
            p.tag_ids = self._tags_of(data["tags"])
        if new:
            p.slug = self._unique_slug(data.get("slug") or p.title, own=p.id)
        elif data.get("slug") and data["slug"] != p.slug:
            # Ghost makes only a changed slug unique (hasChanged('slug')), and its check
            # finds the post itself holding a variant: "launch-2" sent "launch" becomes
            # "launch-3".
            p.slug = self._unique_slug(data["slug"])
        status = data.get("status", p.status if not new else "draft")
        if status not in ("draft", "published", "scheduled", "sent"):
            raise invalid("Value in [posts.status] must be one of: draft, published, scheduled.")
        published_at = p.published_at
        if "published_at" in data:
            published_at = _parse_time(data["published_at"]) if data["published_at"] else None
            if data["published_at"] and published_at is None:
                raise invalid("Value in [posts.published_at] is not a valid date.")
        now = self.clock.now()
        if not new and status == "scheduled" and p.status == "published":
            # Ghost's post model: "disallow published -> scheduled".
            raise Refusal(422, "Your post is already published, please reload your page.")
        if status == "scheduled":
            if published_at is None:
                raise Refusal(422, "Value in published_at cannot be blank.", context=None)
            # Ghost checks the lead only when published_at changes (publishedAtHasChanged):
            # an edit of a scheduled post that keeps its time is taken however near it is.
            changed = new or published_at != p.published_at
            if changed and published_at < now + SCHEDULE_LEAD:
                raise Refusal(
                    422,
                    "Date must be at least 2 minutes in the future.",
                    context=None,
                )
        elif status in ("published", "sent") and published_at is None:
            # Ghost's post model sets published_at only when there is none: a scheduled post
            # (or a draft that was scheduled) sent "published" alone keeps its time ahead,
            # and a post put back to draft keeps its published_at.
            published_at = now
        p.status = status
        p.published_at = published_at

    # -- routes ---------------------------------------------------------------------------

    @route("GET", rf"{API}/site/")
    def _site(self, request: httpx.Request) -> httpx.Response:
        return self.json(
            {
                "site": {
                    "title": self.title,
                    "description": "Thoughts, stories and ideas.",
                    "logo": None,
                    "icon": None,
                    "accent_color": "#15171A",
                    "locale": "en",
                    "url": f"{self.base_url}/",
                    "version": self.version,
                }
            }
        )

    @route("POST", rf"{API}/{RESOURCE}/")
    def _create(self, request: httpx.Request, resource: str) -> httpx.Response:
        self._authenticate(request)
        data = _one(request, resource)
        now = self.clock.now()
        p = _Post(
            id=secrets.token_hex(12),
            uuid=str(uuid.uuid4()),
            resource=resource,
            title="(Untitled)",
            slug="",
            html="",
            lexical="",
            status="draft",
            created_at=now,
            updated_at=now,
            published_at=None,
        )
        self._apply(p, data, request, new=True)
        self._posts[p.id] = p
        response = self._answer([p], request, status=201)
        response.headers["location"] = f"{self.base_url}{API}/{resource}/{p.id}/"
        return response

    @route("GET", rf"{API}/{RESOURCE}/")
    def _browse(self, request: httpx.Request, resource: str) -> httpx.Response:
        self._authenticate(request)
        matches = _filter(request.url.params.get("filter"))
        found = [p for p in self._live() if p.resource == resource and matches(p)]
        order = request.url.params.get("order", "published_at desc")
        field, _, direction = order.partition(" ")
        if field not in ("published_at", "created_at", "updated_at", "title", "slug"):
            raise Refusal(400, f"Invalid order: {order}")

        def key(p: _Post) -> Any:
            value = getattr(p, field)
            # Ghost lists drafts (no published_at) first in "published_at desc".
            return (value is not None, value or datetime.max.replace(tzinfo=UTC))

        found.sort(key=key, reverse=direction.lower() != "asc")
        raw_limit = request.url.params.get("limit", "15")
        raw_page = request.url.params.get("page", "1")
        if not raw_page.isdigit() or int(raw_page) < 1:
            raise Refusal(422, "Validation error, cannot list posts.", context="page")
        page = int(raw_page)
        if raw_limit == "all":
            limit = max(len(found), 1)
        elif raw_limit.isdigit() and int(raw_limit) > 0:
            limit = int(raw_limit)
        else:
            raise Refusal(422, "Validation error, cannot list posts.", context="limit")
        pages = max(1, -(-len(found) // limit))
        chunk = found[(page - 1) * limit : page * limit]
        formats, only = _formats(request), _fields(request)
        return self.json(
            {
                resource: [_only(self._post_json(p, formats), only) for p in chunk],
                "meta": {
                    "pagination": {
                        "page": page,
                        "limit": raw_limit if raw_limit == "all" else limit,
                        "pages": pages,
                        "total": len(found),
                        "next": page + 1 if page < pages else None,
                        "prev": page - 1 if page > 1 else None,
                    }
                },
            }
        )

    @route("GET", rf"{API}/{RESOURCE}/(?P<post_id>[0-9a-f]{{24}})/")
    def _read(self, request: httpx.Request, resource: str, post_id: str) -> httpx.Response:
        self._authenticate(request)
        return self._answer([self._find(resource, post_id)], request)

    @route("GET", rf"{API}/{RESOURCE}/slug/(?P<slug>[^/]+)/")
    def _read_slug(self, request: httpx.Request, resource: str, slug: str) -> httpx.Response:
        self._authenticate(request)
        for p in self._live():
            if p.resource == resource and p.slug == slug:
                return self._answer([p], request)
        raise _not_found(resource, "read")

    @route("PUT", rf"{API}/{RESOURCE}/(?P<post_id>[0-9a-f]{{24}})/")
    def _edit(self, request: httpx.Request, resource: str, post_id: str) -> httpx.Response:
        self._authenticate(request)
        p = self._find(resource, post_id, "edit")
        data = _one(request, resource)
        sent = _parse_time(data.get("updated_at"))
        if sent is None:
            raise Refusal(
                422,
                f"Validation error, cannot edit {'post' if resource == 'posts' else 'page'}.",
                context=f"Value in [{resource}.updated_at] cannot be blank.",
            )
        if sent.replace(microsecond=sent.microsecond // 1000 * 1000) != p.updated_at.replace(
            microsecond=p.updated_at.microsecond // 1000 * 1000
        ):
            raise Refusal(
                409,
                "Saving failed! Someone else is editing this post.",
                code="UPDATE_COLLISION",
            )
        draft = attrs.evolve(p, tag_ids=list(p.tag_ids))
        self._apply(draft, data, request, new=False)
        draft.updated_at = max(self.clock.now(), p.updated_at + timedelta(milliseconds=1))
        self._posts[p.id] = draft
        return self._answer([draft], request)

    @route("DELETE", rf"{API}/{RESOURCE}/(?P<post_id>[0-9a-f]{{24}})/")
    def _delete(self, request: httpx.Request, resource: str, post_id: str) -> httpx.Response:
        self._authenticate(request)
        p = self._find(resource, post_id, "delete")
        p.deleted = True
        return httpx.Response(204)

    @route("POST", rf"{API}/images/upload/")
    def _upload(self, request: httpx.Request) -> httpx.Response:
        self._authenticate(request)
        try:
            parts = parse_multipart(request.content, request.headers.get("content-type", ""))
        except MultipartError:
            parts = []
        fields = {p.name: p for p in parts}
        file = fields.get("file")
        if file is None or file.filename is None:
            raise Refusal(422, "Please select an image.")
        name = file.filename.rsplit("/", 1)[-1]
        ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        # The images endpoint trims "_o" (the suffix it keeps for originals) from the name.
        name = re.sub(r"_o(\.\w+?)$", r"\1", name)
        mime = file.content_type.split(";")[0].strip().lower()
        if mime not in IMAGE_TYPES.get(ext, set()):
            raise Refusal(415, "Please select a valid image.")
        now = self.clock.now()
        folder = f"/content/images/{now:%Y}/{now:%m}"
        if self.numbered_image_names:
            # Ghost's local storage (getUniqueFileName): the name, then -1, -2... if taken.
            stem = re.sub(r"[^\w@.]", "-", name.rsplit(".", 1)[0], flags=re.ASCII)
            path, n = f"{folder}/{stem}{ext}", 0
            while path in self._images:
                n += 1
                path = f"{folder}/{stem}-{n}{ext}"
            longest = path.rsplit("/", 1)[-1]
            if self.optimize_images and ext in (".jpg", ".jpeg", ".png", ".webp"):
                longest = f"{longest[: len(longest) - len(ext)]}_o{ext}"
            if len(longest.encode()) > 255:
                # The file system's limit on a name: fs.copy fails with ENAMETOOLONG,
                # which LocalStorageBase.save answers as a BadRequestError.
                raise Refusal(
                    400,
                    f"ENAMETOOLONG: name too long, copyfile '{longest}'",
                    type="BadRequestError",
                )
        else:
            path = f"{folder}/{_secure_name(name)}"
        if self.optimize_images and ext in (".jpg", ".jpeg", ".png", ".webp"):
            # Ghost's image optimisation (on by default): the upload is re-encoded (its
            # bytes change) and served at its URL; the original is kept beside it, "_o".
            stem, dot, suffix = path.rpartition(".")
            self._images[f"{stem}_o{dot}{suffix}"] = (mime, file.data)
            self._images[path] = (mime, file.data[: max(1, len(file.data) - 1)])
        else:
            self._images[path] = (mime, file.data)
        ref = fields.get("ref")
        image = {
            "url": f"{self.base_url}{path}",
            "ref": ref.data.decode("utf-8", "replace") if ref is not None else None,
        }
        return self.json({"images": [image]}, status=201)

    @route("GET", rf"{API}/.*")
    @route("POST", rf"{API}/.*")
    @route("PUT", rf"{API}/.*")
    @route("DELETE", rf"{API}/.*")
    def _no_route(self, request: httpx.Request) -> httpx.Response:
        """The Admin API app's last handler (``errorHandler.resourceNotFound``): a path or
        method it has no route for, whatever the token, is a 404 "Resource not found"
        without context (no endpoint words it)."""
        return self.error(404, "Resource not found")

    @route("GET", r"/content/images/(?P<rest>.+)")
    def _image(self, request: httpx.Request, rest: str) -> httpx.Response:
        stored = self._images.get(request.url.path)
        if stored is None:
            return httpx.Response(404, content=b"Not Found")
        return httpx.Response(200, content=stored[1], headers={"content-type": stored[0]})

    @route("GET", r"/(?P<slug>[a-z0-9][a-z0-9-]*)/")
    def _page(self, request: httpx.Request, slug: str) -> httpx.Response:
        for p in self._live():
            if p.slug == slug and p.status == "published":
                meta = {
                    "og:type": "article",
                    "og:title": p.title,
                    "og:description": p.custom_excerpt or "",
                    "og:url": self._url(p),
                    "og:image": p.feature_image or "",
                }
                tags = "".join(
                    f'<meta property="{k}" content="{html.escape(v)}">'
                    for k, v in meta.items()
                    if v
                )
                canonical = html.escape(p.canonical_url or self._url(p))
                page = (
                    f"<!DOCTYPE html><html><head><title>{html.escape(p.title)}</title>"
                    f'<link rel="canonical" href="{canonical}">{tags}</head>'
                    f"<body><article>{p.html}</article></body></html>"
                )
                return self.html(page)
        return httpx.Response(404, content=b"<h1>404</h1>", headers={"content-type": "text/html"})


def _not_found(resource: str, verb: str) -> Refusal:
    """Ghost's 404 for a post (page) that does not exist, as the API framework words an
    endpoint's error (``prepareUserMessage``): "Resource not found error, cannot delete
    post." with the model's "Post not found." as its context."""
    what = "post" if resource == "posts" else "page"
    return Refusal(
        404,
        f"Resource not found error, cannot {verb} {what}.",
        context=f"{what.capitalize()} not found.",
    )


def _secure_name(filename: str) -> str:
    """The name ``ghost-storage-base`` 1.1.1's ``getUniqueSecureFilePath`` gives the upload
    ``filename``: what is not an ASCII word character, ``@`` or ``.`` becomes ``-``
    (``sanitizeFileName``), then ``-`` and 16 random hexadecimal digits follow the stem,
    before the extension as sent (``getFileExtension``: 2 to 10 letters or digits, else
    none), the stem cut so that the name stays within 253 bytes (``generateFileName``).
    Nothing else in the name is kept last: ``photo_o.png`` is ``photo_o-<digits>.png``."""
    sanitized = re.sub(r"[^\w@.]", "-", filename, flags=re.ASCII)
    stem, dot, last = sanitized.rpartition(".")
    # path.extname: none for a name without a dot, or whose only dot leads it.
    valid = dot and stem and re.fullmatch(r"[a-z0-9]{2,10}", last, flags=re.IGNORECASE)
    name, ext = (stem, f".{last}") if valid else (sanitized, "")
    tail = f"-{secrets.token_hex(8)}{ext}"
    return name[: max(0, 253 - len(tail.encode()))] + tail


def _plural(request: httpx.Request) -> str:
    return "pages" if "/pages/" in request.url.path else "posts"


def _fields(request: httpx.Request) -> set[str] | None:
    """The ``fields`` a read asks for (``None``: all of them)."""
    raw = request.url.params.get("fields")
    return {f.strip() for f in raw.split(",") if f.strip()} if raw else None


def _only(post: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
    """``post`` with only the ``fields`` asked for, and its ``id``, as Ghost answers a read
    with ``fields`` (a name it does not know is left out)."""
    if fields is None:
        return post
    return {k: v for k, v in post.items() if k == "id" or k in fields}


def _formats(request: httpx.Request) -> set[str]:
    raw = request.url.params.get("formats", "lexical")
    return {f.strip() for f in raw.split(",") if f.strip()}


def _source(request: httpx.Request) -> str | None:
    source: str | None = request.url.params.get("source")
    return source


def _one(request: httpx.Request, resource: str) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        raise Refusal(400, "Request body parsing failed") from None
    items = body.get(resource) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise Refusal(
            422,
            f"Validation error, cannot save {resource[:-1]}.",
            context=f"No root key ('{resource}') provided.",
        )
    return dict(items[0])


_TERM = re.compile(
    r"(?P<field>[a-z_]+):(?:\[(?P<many>[^\]]*)\]|'(?P<quoted>[^']*)'|(?P<bare>[^+]+))"
)


_NQL_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _check_bare(value: str, raw: str, at: int) -> None:
    """Refuse an unquoted value NQL's lexer has no token for: a number, or a literal of at
    least two characters not starting with ``-`` (``slug:[x]`` is "unrecognized text")."""
    if _NQL_NUMBER.fullmatch(value) or (len(value) >= 2 and not value.startswith("-")):
        return
    char = value[:1] or raw[at : at + 1]
    raise Refusal(
        400,
        "Error parsing filter",
        context=f'Query Error: unrecognized text "{char}" in filter at char {at + 1}',
    )


def _filter(raw: str | None) -> Any:
    """A predicate for Ghost's NQL filter, for the terms brandkit and tests use."""
    if not raw:
        return lambda p: True
    terms: list[tuple[str, set[str]]] = []
    pos = 0
    while pos < len(raw):
        m = _TERM.match(raw, pos)
        if m is None or m.group("field") not in ("slug", "id", "status", "title", "uuid"):
            raise Refusal(
                400,
                "Error parsing filter",
                context=f"Query Error: unexpected character in filter at char {pos + 1}",
            )
        if m.group("many") is not None:
            values = set()
            at = m.start("many")
            for item in m.group("many").split(","):
                value = item.strip()
                if not value.startswith("'"):
                    _check_bare(value, raw, at + len(item) - len(item.lstrip()))
                values.add(value.strip("'"))
                at += len(item) + 1
        elif m.group("quoted") is not None:
            values = {m.group("quoted")}
        else:
            _check_bare(m.group("bare"), raw, m.start("bare"))
            values = {m.group("bare")}
        terms.append((m.group("field"), values))
        pos = m.end()
        if pos < len(raw):
            if raw[pos] != "+":
                raise Refusal(
                    400,
                    "Error parsing filter",
                    context=f"Query Error: unexpected character in filter at char {pos + 1}",
                )
            pos += 1
    return lambda p: all(str(getattr(p, f)) in values for f, values in terms)


# What Ghost's HTML import (Lexical's nodes and Koenig's cards) keeps: the elements it has a
# node for, with the attributes those nodes carry. Others lose their markup.
_IMPORTED = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote"),
        *("pre", "code", "hr", "br", "img", "figure", "figcaption", "a", "span"),
        *("strong", "b", "em", "i", "u", "s", "sub", "sup"),
    }
)
_IMPORTED_ATTRIBUTES = frozenset(
    {
        *("a.href", "a.title", "a.rel", "a.target", "ol.start", "code.class"),
        *("img.src", "img.alt", "img.title", "img.width", "img.height"),
    }
)
_CARD_BEGIN = re.compile(r"^kg-card-begin:\s?html$")
_CARD_END = re.compile(r"^kg-card-end:\s?html$")


def _card(inner: str) -> tuple[str, dict[str, Any]]:
    # Koenig's html renderer writes the card between its comments, on lines of their own.
    rendered = f"\n<!--kg-card-begin: html-->\n{inner}\n<!--kg-card-end: html-->\n"
    return rendered, {"type": "html", "version": 1, "html": inner}


def _paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "version": 1, "children": [{"type": "text", "text": text}]}


def _import_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """What Ghost stores for ``?source=html``: its HTML as rendered again, and the Lexical
    nodes. As Koenig's html-parser does, the elements between ``<!--kg-card-begin: html-->``
    and ``<!--kg-card-end: html-->`` become an HTML card (their text between them and their
    comments are dropped), as does a top-level ``table``; elements Lexical has a node for
    keep their HTML; any other block (a ``div``, an ``iframe``, an ``id`` or ``class``) is
    flattened to a paragraph of its text, as Ghost's lossy import loses its markup. A fragment
    that is not a well-formed tree is flattened whole."""
    blocks = html_blocks(source)
    if blocks is None:
        text = html_text(source)
        return (f"<p>{html.escape(text)}</p>" if text else ""), [_paragraph(text)]
    out: list[str] = []
    nodes: list[dict[str, Any]] = []
    done = 0
    card: list[str] | None = None
    for block in blocks:
        piece = source[block.start : block.end]
        if card is not None:
            if block.tag == "!--" and _CARD_END.match(block.comment.strip()):
                rendered, node = _card("\n".join(card).strip())
                out.append(rendered)
                nodes.append(node)
                card, done = None, block.end
            elif block.tag != "!--":
                card.append(piece)
            continue
        out.append(source[done : block.start])
        done = block.end
        if block.tag == "!--":
            if _CARD_BEGIN.match(block.comment.strip()):
                card = []
            continue  # Lexical keeps no comment
        if block.tag == "table":
            rendered, node = _card(piece)
            out.append(rendered)
            nodes.append(node)
        elif block.tags <= _IMPORTED and block.attributes <= _IMPORTED_ATTRIBUTES:
            out.append(piece)
            nodes.append(_paragraph(html_text(piece)))
        else:
            text = html_text(piece)
            out.append(f"<p>{html.escape(text)}</p>")
            nodes.append(_paragraph(text))
    if card is not None:  # no end comment: the card runs to the end
        rendered, node = _card("\n".join(card).strip())
        out.append(rendered)
        nodes.append(node)
    else:
        out.append(source[done:])
    return "".join(out), nodes


def _lexical_html(lexical: str) -> str:
    """The HTML of the html cards and text of a Lexical document (enough for tests)."""
    try:
        doc = json.loads(lexical)
    except ValueError:
        return ""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "html" and isinstance(node.get("html"), str):
                out.append(node["html"])
            elif isinstance(node.get("text"), str):
                out.append(html.escape(node["text"]))
            for child in node.get("children") or ():
                walk(child)
            if node.get("type") == "paragraph":
                out.insert(len(out), "")

    walk(doc.get("root") if isinstance(doc, dict) else None)
    return "".join(out)
