"""A faithful, stateful DEV (dev.to) community, i.e. the Forem API v1, for tests.

```python
from brandkit import Article, Client
from brandkit.testing.devto import DevtoEmulator

emu = DevtoEmulator()
with emu.serve():
    account = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Article(title="Hello", body="Hi *all*"), account)
    assert emu.post_titles() == ["Hello"]
```

What it answers like Forem (forem/forem: ``app/controllers/concerns/api/articles_controller.rb``,
``app/controllers/api/v1/api_controller.rb``, the ``api/v1/articles`` views, ``Article``'s
validations and ``config/initializers/rack_attack.rb``):

- ``POST /api/articles`` with ``{"article": {title, body_markdown, published, series,
  main_image, canonical_url, description, tags, published_at}}`` answers 201 with the
  article (``tag_list`` a string, ``tags`` a list, ``body_html``, ``user``) and a
  ``Location``. Unknown keys are dropped, as Rails' strong parameters do.
- Validation in Forem's words, answered 422 ``{"error": "...", "status": 422}`` (several
  joined as Rails' ``to_sentence`` joins them: ``A, B, and C``): ``Body markdown has
  already been taken`` (the same user, title and body again, at any time), ``Canonical url
  has already been taken. Email yo@dev.to for further details.`` (a published article's, by
  any published article of the community; drafts are not checked), ``Title can't
  be blank``, ``Title is too long (maximum is 128 characters)``, ``Tag list exceed the maximum of
  4 tags``, a tag that is not letters and digits, ``Title has already been used in the last
  five minutes`` (the same user, the same title, created less than 5 minutes ago), ``Body
  markdown is too long.`` (over 800 KiB in UTF-8, ``bytesize: { maximum: 800.kilobytes }``),
  and an ``article`` that is not an
  object; a published article whose ``published_at`` is more than 15 minutes past, ``Published
  at only future or current published_at allowed`` (``future_or_current_published_at``); on
  an update, a
  new ``published_at`` (more than a minute off) for an article published once, also after it
  was unpublished, ``Published at updating published_at for articles that have already been
  published is not allowed``. Titles are
  stored as ``Article#normalize_title`` leaves them: characters Forem does
  not allow (``°``, ``≥``, ``½``...) become spaces, runs of spaces one.
- Slugs are Forem's: the title parameterized plus 4 random characters; a draft gets a
  ``-temp-slug-`` one that is replaced when it is first published. Renaming never moves a
  slug. ``published`` with a future ``published_at`` is a scheduled article; a
  ``published_at`` more than 5 years ahead is dropped (``Article#remove_invalid_published_at``),
  the article left published without a date.
- ``PUT /api/articles/{id}`` (the user's own; another's is 404), ``GET /api/articles/me/all``
  (also ``me``, ``me/published``, ``me/unpublished``) newest first with ``page`` and
  ``per_page`` (30, at most 1000), ``GET /api/articles/{id}`` and ``/{username}/{slug}``
  (published only). The API has no delete.
- ``api-key`` header; missing or wrong: 401 ``{"error": "unauthorized", "status": 401}``.
- Rate limits: Rack::Attack's ``api_write_throttle`` (1 write per second per key: 429
  ``Retry later`` with ``Retry-After``), its ``api_throttle`` (3 GETs under ``/api/`` per
  second per address, in windows of the epoch's seconds; every client of the emulator is
  one address), and the limit on articles created (checked before every create, a draft's
  too: refused while more than 9 of the user's live articles were created in the last 30
  seconds, 429 ``Rate limit reached, try again in 30 seconds``, ``Retry-After: 30``); all
  configurable
  (``write_throttle``, ``read_throttle``, ``creation_limit``).
- Front matter, as Forem's ``ContentRenderer`` reads it (the front_matter_parser gem's
  Markdown syntax: optional whitespace, ``---``, anything, ``---`` ending a line, at the
  start of ``body_markdown``) on every save: a YAML mapping sets ``title``, ``tags``,
  ``published``, ``description``, ``canonical_url`` and ``cover_image`` (the main image) over
  what the request says, and is left out of ``body_html`` (``body_markdown`` is stored as
  sent); YAML that is no mapping (a line of text between two rules, nothing between them) is
  Forem's 500 (it calls ``any?`` on it), a line that breaks the mapping 422 with YAML's
  message. The emulator reads ``key: value`` lines and ``- item`` lists, not all of YAML.
- AI disclosure (``DevtoEmulator(ai_disclosure=True)``, Forem's
  ``Settings::General.enable_ai_disclosure``): ``ai_disclosure_level`` is taken (one of
  ``not_disclosed``, ``no_ai``, ``some_ai``, ``fully_autonomous``; another is refused 422 in
  the emulator's words) and shown in every answer; a create that names none, neither there
  nor in front matter (``ai_disclosure_level``, ``ai_disclosure``, ``ai_generated``,
  ``ai_assisted``), is refused 422 with ``{"ai_disclosure_level": {"required": true,
  "allowed_values": [...], "policy_url": ".../llms.txt"}}``. Off (the default), the field is
  dropped.
- Counts: `DevtoEmulator.engage` adds views, reactions and comments; ``me`` lists show
  ``page_views_count`` (the author's own view), every answer the reactions and comments.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import attrs
import httpx
import regex

from brandkit.accounts import Account
from brandkit.testing._emulator import Clock, Emulator, Refusal, route

__all__ = ["DevtoEmulator"]

_ALLOWED = (
    "title",
    "body_markdown",
    "published",
    "series",
    "main_image",
    "canonical_url",
    "description",
    "tags",
    "published_at",
    "organization_id",
)
AI_DISCLOSURE_LEVELS = ("not_disclosed", "no_ai", "some_ai", "fully_autonomous")
"""``Article.ai_disclosure_levels``' names, in the enum's order."""
_AI_FRONT_MATTER = ("ai_disclosure_level", "ai_disclosure", "ai_generated", "ai_assisted")
"""The front matter keys that disclose (``AI_DISCLOSURE_FRONT_MATTER_KEYS``)."""
TITLE_MAX = 128
BODY_MAX_BYTES = 800 * 1024
"""Article's ``validates :body_markdown, bytesize: { maximum: 800.kilobytes }``: bytes."""
TAGS_MAX = 4
TAG_MAX = 30
DUPLICATE_WINDOW = timedelta(minutes=5)
API_READS = 3
"""Rack::Attack's ``api_throttle``: GETs under ``/api/`` per second per address."""
PAST_PUBLISHED_AT = timedelta(minutes=15)
"""How far in the past a new published article's ``published_at`` may be (Forem's
``future_or_current_published_at``)."""
PAST_PUBLISHED_AT_MESSAGE = "Published at only future or current published_at allowed"
"""Forem's refusal of a ``published_at`` more than 15 minutes past
(``models.article.future_or_current_published_at``)."""
IMMUTABLE_PUBLISHED_AT = (
    "Published at updating published_at for articles that have already been published is "
    "not allowed"
)
"""Forem's refusal of a new ``published_at`` for an article published once
(``models.article.immutable_published_at``)."""
IMMUTABLE_SLACK = 60
"""Seconds a published article's ``published_at`` may move (front matter without seconds)."""


def years_later(moment: datetime, years: int) -> datetime:
    """``moment`` ``years`` calendar years later, as Rails' ``years.from_now`` counts (29
    February becomes 28 February in a year without it)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


# Tag#validate_name's [[:alnum:]]: in Onigmo, Alphabetic or a decimal digit.
_TAG = regex.compile(r"[\p{Alphabetic}\p{Nd}]+")


@attrs.define
class _User:
    id: int
    username: str
    name: str
    api_key: str


@attrs.define
class _Article:
    id: int
    user_id: int
    title: str
    body_markdown: str
    description: str
    published: bool
    published_at: datetime | None
    created_at: datetime
    edited_at: datetime | None
    slug: str
    main_image: str | None = None
    canonical_url: str | None = None
    series: str | None = None
    tags: list[str] = attrs.field(factory=list)
    ai_disclosure_level: str = "not_disclosed"
    views: int = 0
    reactions: int = 0
    comments: int = 0


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parameterize(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:100] or "article"


def _text_of(markdown: str) -> str:
    return " ".join(re.sub(r"[#*_`>\[\]()!~|-]+", " ", markdown).split())


class DevtoEmulator(Emulator):
    """A Forem with one user (more with `add_user`) and their API key.

    Attributes:
        api_key: the first user's API key.
        username: the first user's username.
        write_throttle: Rack::Attack's 1 write per second per API key is enforced.
        read_throttle: Rack::Attack's 3 reads (GETs under ``/api/``) per second per address
            are enforced.
        creation_limit: Forem's ``published_article_creation`` setting (9): a create (a
            draft's too) is refused while more than this many of the user's published
            articles (live, not scheduled) were created in the last 30 seconds.
        contact_email: the community's contact address, which some refusals name
            (``ForemInstance.contact_email``; DEV's is ``yo@dev.to``).
        ai_disclosure: the community asks each article how much AI wrote it
            (``Settings::General.enable_ai_disclosure``, off by default as in Forem): the
            API takes ``ai_disclosure_level`` (otherwise dropped) and refuses a new article
            that discloses neither there nor in its front matter.
    """

    platform: ClassVar[str] = "devto"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/api/articles")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        strict: bool | None = None,
        username: str = "acme",
        write_throttle: bool = True,
        read_throttle: bool = True,
        creation_limit: int = 9,
        contact_email: str = "yo@dev.to",
        ai_disclosure: bool = False,
    ) -> None:
        super().__init__(clock=clock, strict=strict)
        self.contact_email = contact_email
        self.ai_disclosure = ai_disclosure
        self.write_throttle = write_throttle
        self.read_throttle = read_throttle
        self.creation_limit = creation_limit
        # Rack::Attack's api_throttle count: (the window's second, the reads in it).
        self._reads: tuple[int, int] = (0, 0)
        self._users: dict[int, _User] = {}
        self._articles: dict[int, _Article] = {}
        self._next_id = 1_000_001
        self._writes: dict[str, float] = {}
        user = self.add_user(username)
        self.api_key = user.api_key
        self.username = user.username

    def add_user(self, username: str, *, name: str | None = None) -> _User:
        """Another user with an API key of their own (``.api_key``)."""
        with self.lock:
            user = _User(
                id=len(self._users) + 1,
                username=username,
                name=name or username.title(),
                api_key="".join(
                    secrets.choice(string.ascii_letters + string.digits) for _ in range(24)
                ),
            )
            self._users[user.id] = user
            return user

    # -- for tests ------------------------------------------------------------------------

    def account(self, *, name: str | None = None, **kwargs: Any) -> Account:
        """An ``Account.devto`` with the first user's API key, at `base_url` (call it inside
        ``serve()`` for the socket URL)."""
        return Account.devto(api_key=self.api_key, base_url=self.base_url, name=name, **kwargs)

    def post_texts(self) -> list[str]:
        """The Markdown bodies of every article, oldest first (dev.to has no delete)."""
        with self.lock:
            return [a.body_markdown for a in self._articles.values()]

    def post_titles(self) -> list[str]:
        """The titles of every article, oldest first."""
        with self.lock:
            return [a.title for a in self._articles.values()]

    def engage(
        self, article_id: int | str, *, views: int = 0, reactions: int = 0, comments: int = 0
    ) -> None:
        """Readers view, react to and comment on an article (the counts grow by these).

        Raises:
            KeyError: no such article.
        """
        with self.lock:
            a = self._articles[int(article_id)]
            a.views += views
            a.reactions += reactions
            a.comments += comments

    def articles(self) -> list[dict[str, Any]]:
        """Every article, oldest first, as ``GET /api/articles/{id}`` shows it (drafts too)."""
        with self.lock:
            return [self._show(a) for a in self._articles.values()]

    # -- answers --------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """Forem's API error body: ``{"error": message, "status": status}`` and the
        refusal's ``extra`` fields."""
        return self.json({"error": message, "status": status, **extra}, status=status)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        """Rails' 500."""
        return self.error(500, "Internal Server Error")

    def refused(self, refusal: Refusal) -> httpx.Response:
        """Forem's error body, except Rack::Attack's throttle: its own plain-text 429."""
        if refusal.status == 429 and refusal.message == "Retry later":
            return httpx.Response(
                429,
                content=b"Retry later\n",
                headers={"content-type": "text/plain", **refusal.headers},
            )
        return super().refused(refusal)

    def _authenticate(self, request: httpx.Request) -> _User:
        key = request.headers.get("api-key")
        for user in self._users.values():
            if key and secrets.compare_digest(user.api_key, key):
                return user
        raise Refusal(401, "unauthorized")

    def _throttle(self, request: httpx.Request) -> None:
        """Rack::Attack's api_write_throttle: 1 write per second per API key, counted
        before authentication (a refused key still spends its second)."""
        if not self.write_throttle:
            return
        key = request.headers.get("api-key") or "-"
        now = self.clock.time()
        period = int(now)
        if self._writes.get(key) == period:
            raise Refusal(429, "Retry later", headers={"retry-after": "1"})
        self._writes[key] = period

    def _read_throttle(self, request: httpx.Request) -> None:
        """Rack::Attack's api_throttle: 3 GETs under ``/api/`` per second per address
        (every request counts, refused ones too)."""
        if not self.read_throttle:
            return
        window = int(self.clock.time())
        start, count = self._reads
        count = count + 1 if start == window else 1
        self._reads = (window, count)
        if count > API_READS:
            raise Refusal(429, "Retry later", headers={"retry-after": "1"})

    def _url(self, a: _Article) -> str:
        return f"{self.base_url}/{self._users[a.user_id].username}/{a.slug}"

    def _cover(self, a: _Article) -> str | None:
        if not a.main_image:
            return None
        return (
            f"{self.base_url}/dynamic/image/width=1000,height=420,fit=cover,gravity=auto,"
            f"format=auto/{quote(a.main_image, safe='')}"
        )

    def _user_json(self, user: _User) -> dict[str, Any]:
        return {
            "name": user.name,
            "username": user.username,
            "twitter_username": None,
            "github_username": None,
            "user_id": user.id,
            "website_url": None,
            "profile_image": f"{self.base_url}/uploads/user/{user.id}/profile.png",
            "profile_image_90": f"{self.base_url}/uploads/user/{user.id}/profile_90.png",
        }

    def _common(self, a: _Article) -> dict[str, Any]:
        return {
            "type_of": "article",
            "id": a.id,
            "title": a.title,
            "description": a.description,
            "slug": a.slug,
            "path": f"/{self._users[a.user_id].username}/{a.slug}",
            "url": self._url(a),
            "comments_count": a.comments,
            "public_reactions_count": a.reactions,
            "positive_reactions_count": a.reactions,
            "published_timestamp": _time(a.published_at) or "",
            "cover_image": self._cover(a),
            "canonical_url": a.canonical_url or self._url(a),
            "reading_time_minutes": max(1, len(a.body_markdown.split()) // 275),
            **({"ai_disclosure_level": a.ai_disclosure_level} if self.ai_disclosure else {}),
        }

    def _show(self, a: _Article) -> dict[str, Any]:
        from markdown_it import MarkdownIt

        return {
            **self._common(a),
            "readable_publish_date": a.published_at.strftime("%b %-d") if a.published_at else None,
            "collection_id": None,
            "language": "en",
            "social_image": self._cover(a) or f"{self.base_url}/social_previews/article/{a.id}.png",
            "created_at": _time(a.created_at),
            "edited_at": _time(a.edited_at),
            "crossposted_at": None,
            "published_at": _time(a.published_at),
            "last_comment_at": _time(a.published_at or a.created_at),
            "tag_list": ", ".join(a.tags),
            "tags": list(a.tags),
            "body_html": MarkdownIt("commonmark").render(_front_matter(a.body_markdown)[1]),
            "body_markdown": a.body_markdown,
            "user": self._user_json(self._users[a.user_id]),
        }

    def _me(self, a: _Article) -> dict[str, Any]:
        return {
            **self._common(a),
            "published": a.published,
            "published_at": _time(a.published_at),
            "page_views_count": a.views,
            "body_markdown": a.body_markdown,
            "tag_list": list(a.tags),
            "user": self._user_json(self._users[a.user_id]),
        }

    # -- writing --------------------------------------------------------------------------

    def _params(self, request: httpx.Request) -> dict[str, Any]:
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            raise Refusal(400, "Error occurred while parsing request parameters") from None
        article = body.get("article") if isinstance(body, dict) else None
        if article is None:
            raise Refusal(422, "param is missing or the value is empty: article")
        if not isinstance(article, dict):
            kind = {str: "String", list: "Array", int: "Integer", bool: "Boolean"}.get(
                type(article), type(article).__name__
            )
            raise Refusal(
                422, f"article param must be a JSON object. You provided article as a {kind}"
            )
        # Strong parameters: ai_disclosure_level is permitted only where the setting is on.
        allowed = (*_ALLOWED, "ai_disclosure_level") if self.ai_disclosure else _ALLOWED
        return {k: v for k, v in article.items() if k in allowed}

    def _require_disclosure(self, params: dict[str, Any]) -> None:
        """``render_missing_ai_disclosure``: with the setting on, a new article names its
        level, in the field or in its body's front matter (a malformed one does not
        count)."""
        if not self.ai_disclosure or _present(params.get("ai_disclosure_level")):
            return
        try:
            matter = _front_matter(str(params.get("body_markdown") or ""))[0] or {}
        except Refusal:
            matter = {}
        if any(_present(matter.get(key)) for key in _AI_FRONT_MATTER):
            return
        raise Refusal(
            422,
            "ai_disclosure_level is required when creating an article. Set it to one of: "
            f"{', '.join(AI_DISCLOSURE_LEVELS)}.",
            ai_disclosure_level={
                "required": True,
                "allowed_values": list(AI_DISCLOSURE_LEVELS),
                "policy_url": f"{self.base_url}/llms.txt",
            },
        )

    def _tags(self, raw: Any) -> list[str]:
        if raw is None:
            return []
        names = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(names, list):
            raise Refusal(422, "Tag list is invalid")
        out: list[str] = []
        for name in names:
            tag = str(name).strip().lower()
            if tag and tag not in out:
                out.append(tag)
        return out

    def _validate(self, a: _Article, *, new: bool, was: _Article | None = None) -> None:
        problems: list[str] = []
        others = [o for o in self._articles.values() if o.id != a.id]
        # Article's validations, in their order: the body is unique per user and title (the
        # same article cannot be made twice, however long after), the canonical URL across
        # the whole community.
        if any(
            o.user_id == a.user_id and o.title == a.title and o.body_markdown == a.body_markdown
            for o in others
        ):
            problems.append("Body markdown has already been taken")
        # uniqueness: { scope: :published, message: unique_url_error }, if: :published?:
        # among published articles only, drafts neither checked nor counted.
        if (
            a.published
            and a.canonical_url
            and any(o.published and o.canonical_url == a.canonical_url for o in others)
        ):
            problems.append(
                f"Canonical url has already been taken. Email {self.contact_email} for "
                "further details."
            )
        if not a.title.strip():
            problems.append("Title can't be blank")
        elif len(a.title) > TITLE_MAX:
            problems.append(f"Title is too long (maximum is {TITLE_MAX} characters)")
        if len(a.body_markdown.encode()) > BODY_MAX_BYTES:
            problems.append("Body markdown is too long.")
        if len(a.tags) > TAGS_MAX:
            problems.append(f"Tag list exceed the maximum of {TAGS_MAX} tags")
        else:
            for tag in a.tags:
                if len(tag) > TAG_MAX:
                    problems.append(f'Tag "{tag}" is too long (maximum is {TAG_MAX} characters)')
                elif not _TAG.fullmatch(tag):
                    problems.append(
                        f'Tag "{tag}" contains non-alphanumeric or prohibited unicode characters'
                    )
        for field in ("canonical_url", "main_image"):
            value = getattr(a, field)
            if value and not re.match(r"https?://[^\s/]+", value):
                problems.append(f"{field.replace('_', ' ').capitalize()} must be a valid URL")
        late = a.published_at is not None and a.published_at < self.clock.now() - PAST_PUBLISHED_AT
        if new and a.published and late:
            problems.append(PAST_PUBLISHED_AT_MESSAGE)
        if was is not None and a.published_at != was.published_at:
            problems.extend(self._published_at_change(was.published_at, a.published_at))
        if new and a.title:
            since = self.clock.now() - DUPLICATE_WINDOW
            if any(
                o.user_id == a.user_id and o.title == a.title and o.created_at > since
                for o in self._articles.values()
            ):
                problems.append("Title has already been used in the last five minutes")
        if problems:
            raise Refusal(422, _sentence(problems))

    def _published_at_change(self, was: datetime | None, now: datetime | None) -> list[str]:
        """Article#correct_published_at? (on update): a draft never published or a scheduled
        article may get a time in the future (or up to 15 minutes past); an article published
        once (also one unpublished since) keeps its date, give or take a minute."""
        clock = self.clock.now()
        if was is None or was > clock:
            if now is not None and now < clock - PAST_PUBLISHED_AT:
                return [PAST_PUBLISHED_AT_MESSAGE]
            return []
        if now is None or abs((was - now).total_seconds()) > IMMUTABLE_SLACK:
            return [IMMUTABLE_PUBLISHED_AT]
        return []

    def _assign(self, a: _Article, params: dict[str, Any]) -> None:
        for field in ("title", "body_markdown", "series"):
            if field in params:
                value = params[field]
                setattr(a, field, "" if value is None and field != "series" else value)
        for field in ("main_image", "canonical_url"):
            if field in params:
                setattr(a, field, params[field] or None)
        if "tags" in params:
            a.tags = self._tags(params["tags"])
        if "ai_disclosure_level" in params:
            level = params["ai_disclosure_level"]
            if level not in AI_DISCLOSURE_LEVELS:
                # Rails' enum refuses a name it does not have (the wording is Rails'
                # ArgumentError's; how Forem answers it is the emulator's guess).
                raise Refusal(422, f"{level!r} is not a valid ai_disclosure_level")
            a.ai_disclosure_level = level
        if params.get("description"):
            a.description = str(params["description"])
        elif "description" in params or not a.description:
            # Article#evaluate_markdown: a blank description is made of the body again.
            a.description = _text_of(a.body_markdown)[:100]
        if "published" in params:
            a.published = params["published"] in (True, "true", "1", 1)
        if params.get("published_at"):
            try:
                moment = datetime.fromisoformat(str(params["published_at"]).replace("Z", "+00:00"))
            except ValueError:
                raise Refusal(422, "Published at is not a valid date") from None
            a.published_at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # Article#evaluate_markdown (before validation, on every save): the body's front
        # matter has the last word on what it names.
        matter = _front_matter(a.body_markdown or "")[0]
        if matter is not None:
            self._evaluate_front_matter(a, matter)
        if isinstance(a.title, str):
            # Article#normalize_title, before validation (the five-minute check and the
            # length see the stored title).
            from brandkit.platforms.devto import forem_title

            a.title = forem_title(a.title)
        if a.published and a.published_at is None:
            a.published_at = self.clock.now()
        if a.published_at is not None and a.published_at > years_later(self.clock.now(), 5):
            # Article#remove_invalid_published_at (before validation, after
            # set_published_date): a date more than 5 years ahead is taken for a mistake and
            # dropped, the article left published without a date.
            a.published_at = None
        if a.published and "-temp-slug-" in a.slug:
            a.slug = self._slug(a.title)

    def _evaluate_front_matter(self, a: _Article, matter: dict[str, Any]) -> None:
        """Article#evaluate_front_matter: what a mapping at the body's start sets."""
        if matter.get("title"):
            a.title = str(matter["title"])
        if matter.get("tags"):
            raw = matter["tags"]
            a.tags = self._tags(raw if isinstance(raw, list) else str(raw))
        if matter.get("published") in (True, False):
            a.published = bool(matter["published"])
        if matter.get("cover_image"):
            a.main_image = str(matter["cover_image"])
        if matter.get("canonical_url"):
            a.canonical_url = str(matter["canonical_url"])
        if self.ai_disclosure:
            # Article#set_ai_disclosure_from_front_matter (the four keys; Forem's aliases
            # of the level names are not read here).
            named = matter.get("ai_disclosure_level") or matter.get("ai_disclosure")
            if named in AI_DISCLOSURE_LEVELS:
                a.ai_disclosure_level = str(named)
            elif matter.get("ai_generated") is True:
                a.ai_disclosure_level = "fully_autonomous"
            elif matter.get("ai_assisted") is True:
                a.ai_disclosure_level = "some_ai"
        if matter.get("description") or matter.get("title"):
            description = matter.get("description")
            content = _front_matter(a.body_markdown)[1]
            a.description = str(description) if description else _text_of(content)[:100]

    def _slug(self, title: str) -> str:
        tail = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))
        return f"{_parameterize(title)}-{tail}"

    def _rate_limit(self, user: _User) -> None:
        # RateLimitChecker#check_published_article_creation_limit: the user's articles in
        # the published scope (published, published_at not ahead) created in the last 30
        # seconds, refused when more than the setting: the setting's 9 lets 10 through.
        since = self.clock.now() - timedelta(seconds=30)
        recent = sum(
            1
            for a in self._articles.values()
            if a.user_id == user.id and self._visible(a) and a.created_at > since
        )
        if recent > self.creation_limit:
            raise Refusal(
                429, "Rate limit reached, try again in 30 seconds", headers={"retry-after": "30"}
            )

    # -- routes ---------------------------------------------------------------------------

    @route("POST", r"/api/articles")
    def _create(self, request: httpx.Request) -> httpx.Response:
        self._throttle(request)
        user = self._authenticate(request)
        params = self._params(request)
        self._require_disclosure(params)
        # Articles::Creator#call checks the limit first, for every create (a draft too).
        self._rate_limit(user)
        now = self.clock.now()
        a = _Article(
            id=self._next_id,
            user_id=user.id,
            title="",
            body_markdown="",
            description="",
            published=False,
            published_at=None,
            created_at=now,
            edited_at=None,
            slug="",
        )
        self._assign(a, params)
        if not a.published:
            a.published_at = None
            a.slug = (
                f"{_parameterize(a.title)}-temp-slug-{secrets.randbelow(9_000_000) + 1_000_000}"
            )
        elif not a.slug:
            a.slug = self._slug(a.title)
        self._validate(a, new=True)
        self._next_id += 1
        self._articles[a.id] = a
        response = self.json(self._show(a), status=201)
        response.headers["location"] = self._url(a)
        return response

    @route("PUT", r"/api/articles/(?P<article_id>[0-9]+)")
    def _update(self, request: httpx.Request, article_id: str) -> httpx.Response:
        self._throttle(request)
        user = self._authenticate(request)
        params = self._params(request)
        found = self._articles.get(int(article_id))
        if found is None or found.user_id != user.id:
            raise Refusal(404, "not found")
        a = attrs.evolve(found, tags=list(found.tags))
        self._assign(a, params)
        if "published" in params and not a.published:
            a.published_at = found.published_at if found.published else None
        self._validate(a, new=False, was=found)
        a.edited_at = self.clock.now()
        self._articles[a.id] = a
        return self.json(self._show(a))

    @route("DELETE", r"/api/articles/(?P<article_id>[0-9]+)")
    def _no_delete(self, request: httpx.Request, article_id: str) -> httpx.Response:
        # Forem routes no DELETE for articles: Rails answers its routing 404.
        return self.error(404, "not found")

    @route("GET", r"/api/articles/me(?:/(?P<which>all|published|unpublished))?")
    def _mine(self, request: httpx.Request, which: str | None) -> httpx.Response:
        self._read_throttle(request)
        user = self._authenticate(request)
        now = self.clock.now()
        # Forem's published scope is published AND published_at <= now: a scheduled
        # article counts as unpublished until its time.
        keep: Callable[[_Article], bool] = {
            "all": lambda a: True,
            "unpublished": lambda a: not self._visible(a),
        }.get(which or "published", self._visible)
        found = [a for a in self._articles.values() if a.user_id == user.id and keep(a)]
        # ORDER BY published_at DESC, created_at DESC: PostgreSQL puts NULLs (drafts) first.
        found.sort(
            key=lambda a: (
                a.published_at is None,
                a.published_at or now,
                a.created_at,
            ),
            reverse=True,
        )
        params = request.url.params
        per_page = _int(params.get("per_page"), 30)
        page = max(_int(params.get("page"), 1), 1)
        per_page = min(max(per_page, 1), 1000)
        chunk = found[(page - 1) * per_page : page * per_page]
        return self.json([self._me(a) for a in chunk])

    @route("GET", r"/api/articles/(?P<article_id>[0-9]+)")
    def _read(self, request: httpx.Request, article_id: str) -> httpx.Response:
        self._read_throttle(request)
        a = self._articles.get(int(article_id))
        if a is None or not self._visible(a):
            return self.error(404, "not found")
        return self.json(self._show(a))

    @route("GET", r"/api/articles/(?P<username>[A-Za-z0-9_]+)/(?P<slug>[a-z0-9-]+)")
    def _read_slug(self, request: httpx.Request, username: str, slug: str) -> httpx.Response:
        self._read_throttle(request)
        for a in self._articles.values():
            if a.slug == slug and self._users[a.user_id].username == username and self._visible(a):
                return self.json(self._show(a))
        return self.error(404, "not found")

    def _visible(self, a: _Article) -> bool:
        return a.published and a.published_at is not None and a.published_at <= self.clock.now()


# The front_matter_parser gem's Markdown syntax (MultiLineComment['', '']): optional
# whitespace, "---", anything (lazily), "---", blanks to a line's end.
_FRONT = re.compile(r"\A\s*---(?P<matter>.*?)---\s*[ \t]*$[\n\r]?(?P<content>.*)\Z", re.S | re.M)
_KEY = re.compile(r"([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*")
_ITEM = re.compile(r"[ \t]*-[ \t]+(.*?)[ \t]*")


def _scalar(raw: str | None) -> Any:
    """A YAML scalar as Psych reads the plain ones tests write."""
    if raw is None or raw == "" or raw in ("~", "null"):
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    if raw in ("true", "false"):
        return raw == "true"
    return raw


def _front_matter(body: str) -> tuple[dict[str, Any] | None, str]:
    """What Forem's ``ContentRenderer#process_article`` makes of ``body``: its front
    matter (``None`` without one) and the rest.

    Raises:
        Refusal: 500 for YAML that is no mapping (Forem calls ``any?`` on a String or
            nil), 422 with YAML's words for a line that breaks a mapping.
    """
    fixed = body.replace("\r\n", "\n")
    match = _FRONT.match(fixed)
    if match is None:
        return None, fixed
    lines = [
        (n, line)
        for n, line in enumerate(match.group("matter").split("\n"), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not any(_KEY.fullmatch(line) for _, line in lines):
        raise Refusal(500, "Internal Server Error")  # a String or nil: NoMethodError any?
    mapping: dict[str, Any] = {}
    key: str | None = None
    for n, line in lines:
        pair = _KEY.fullmatch(line)
        item = _ITEM.fullmatch(line)
        if pair is not None:
            key = pair.group(1)
            mapping[key] = _scalar(pair.group(2))
        elif item is not None and key is not None and mapping[key] in (None, []):
            mapping[key] = [*(mapping[key] or []), _scalar(item.group(1))]
        else:
            raise Refusal(
                422,
                f"(<unknown>): could not find expected ':' while scanning a simple key at "
                f"line {n} column 1",
            )
    return mapping, match.group("content")


def _present(value: Any) -> bool:
    """Rails' ``present?``: not ``nil``, ``false``, blank text or an empty collection."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value is not False and value != [] and value != {}


def _sentence(messages: list[str]) -> str:
    """Rails' ``Array#to_sentence``, as Forem's ``errors_as_sentence`` joins its messages:
    ``"A"``, ``"A and B"``, ``"A, B, and C"``."""
    if len(messages) <= 2:
        return " and ".join(messages)
    return ", ".join(messages[:-1]) + ", and " + messages[-1]


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default
