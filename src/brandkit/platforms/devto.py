"""dev.to (DEV Community) and any other Forem, through the Forem API v1.

Facts used here (forem/forem: ``app/controllers/concerns/api/articles_controller.rb``,
``app/controllers/api/v1/api_controller.rb``, ``Article``'s validations,
``config/initializers/rack_attack.rb``; https://developers.forem.com/api/v1):

- Every request carries the user's key in the ``api-key`` header and
  ``Accept: application/vnd.forem.api-v1+json`` (without it Forem answers with the deprecated
  v0).
- ``POST /api/articles`` with ``{"article": {title, body_markdown, published, published_at,
  tags, canonical_url, description, main_image}}``; ``PUT /api/articles/{id}`` changes one;
  ``GET /api/articles/me/all`` lists the user's own, drafts included. The API cannot delete an
  article: unpublish it with an update (``status="draft"``).
- The body is Markdown; an HTML article body is sent as it is (Markdown passes HTML blocks
  through). Forem reads a body that starts with ``---`` and has another ``---`` ending a
  line as front matter (``ContentRenderer``, the front_matter_parser gem): a YAML mapping
  there would set the title, tags, published state, description, canonical URL and cover
  (and be cut from the text), anything else makes Forem refuse the article or fail (500).
  Such a body is sent with an HTML comment before it (``<!-- -->``, see `forem_body`): it
  reads the same as Markdown, Forem's sanitizer drops the comment from the page, and the
  article's fields stay the Article's. The cover image (``main_image``) is a public URL
  that Forem fetches: the account's ``media_host`` makes the featured image one. Forem
  keeps no alt text for it.
- Tags: at most 4, letters and digits only (``[[:alnum:]]``: Alphabetic or decimal digits).
  brandkit sends each tag lowercased without its other characters (``"Press Release"``
  becomes ``pressrelease``; ``"C#"``, ``"C++"`` and ``".NET"`` are spelt ``csharp``, ``cpp``
  and ``dotnet``, as DEV's tags are) and keeps the first 4, logging those it drops. Titles: at most
  128 characters.
- dev.to has no slug you set: Forem makes one from the title plus 4 random characters
  (``-temp-slug-`` for a draft, replaced when it is first published), so an article is never
  looked up by slug. Never twice: after a lost answer the adapter reads the user's articles
  (``me/all``) for one with the same title (and canonical URL, when the article has one) and
  the published state asked for, published since the attempt began (``me/all`` dates no
  draft, so a draft counts only with the same body: an old draft is never taken for an
  article asked to be published).
  Forem itself refuses the same title from the same user twice within five minutes (422
  "Title has already been used in the last five minutes") and the same title and body from
  the same user at any time ("Body markdown has already been taken"), which brandkit reports
  as a duplicate.
- Limits: Rack::Attack allows 1 write (POST/PUT) per second per key and 3 reads per second
  per address, answering 429 ``Retry later`` with ``Retry-After``; Forem limits published
  articles created per 30 seconds (429 "Rate limit reached, try again in 30 seconds").
- AI disclosure: a Forem with ``Settings::General.enable_ai_disclosure`` on (off by default)
  takes ``ai_disclosure_level`` (``not_disclosed``, ``no_ai``, ``some_ai`` or
  ``fully_autonomous``; dropped where the setting is off) and refuses a new article that
  names none, 422 with ``{"ai_disclosure_level": {"required": true, "allowed_values": [...],
  "policy_url": "..."}}`` (``render_missing_ai_disclosure``). brandkit sends the article's
  ``ai_disclosure``, else the account's ``ai_disclosure_level``, on every create and update,
  and turns that refusal into a `Rejected` (``code="ai_disclosure_level"``) that says what
  to set.
- Metrics: ``me/all`` carries each article's ``page_views_count`` (shown to its author only),
  ``public_reactions_count`` and ``comments_count``. It carries each article's Markdown too
  (up to 800 KiB each), so it is read 100 articles a page.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pydantic
import regex

from brandkit._counts import MetricCount
from brandkit._flow import Flow, Send
from brandkit.content._article import AI_DISCLOSURE_LEVELS
from brandkit.errors import (
    ConfigurationError,
    ContentError,
    MediaError,
    PlatformError,
    Rejected,
)
from brandkit.platforms._base import (
    Answer,
    BlogAdapter,
    Capabilities,
    PartRef,
    RatePolicy,
    bound_base,
    classify,
    retry_after_of,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._times import parse_time

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._article import Article
    from brandkit.content._media import Media
    from brandkit.metrics._sample import MetricSample

__all__ = ["DevtoAdapter", "devto_tags", "forem_body", "forem_title"]

logger = logging.getLogger(__name__)

ACCEPT = "application/vnd.forem.api-v1+json"
TITLE_MAX = 128
TAGS_MAX = 4
TAG_MAX = 30
USERNAME_MAX = 30
"""The longest username Forem allows (``User`` validates ``username`` to 2..30 characters)."""
TRANSLITERATION_BOUND = 8
"""How many characters one non-ASCII character of a title is taken to become in Forem's slug
(transliterated: ``щ`` becomes ``shch``, a CJK character a syllable such as ``Zhuang``)."""
LOOKUP_SKEW = timedelta(minutes=5)
"""How far Forem's clock may be behind brandkit's for a found article to still count."""
IMMUTABLE_SLACK = 60
"""Seconds Forem lets the date of an article published once move (none more)."""
SCHEDULE_YEARS_MAX = 5
"""How far ahead Forem keeps a ``published_at`` (``Article#remove_invalid_published_at``
drops a later one as a mistake)."""
PAGE_SIZE = 100
"""Articles per page of ``me/all``, which carries each article's Markdown: 1000 a page made
an account's pages larger than brandkit reads of an answer, failing every lookup."""
BODY_MAX_BYTES = 800 * 1024
"""Forem's largest ``body_markdown`` (``bytesize: { maximum: 800.kilobytes }``)."""
PAGE_MAX_BYTES = PAGE_SIZE * 2 * BODY_MAX_BYTES
"""The most of a ``me/all`` page brandkit reads: a page of articles of the largest body,
twice over for what JSON escapes (Rails writes ``<``, ``>`` and ``&`` as ``\u003c``...)
and the articles' other fields."""


# Forem's Article::TITLE_CHARACTERS_ALLOWED, the characters a title keeps besides word
# characters, whitespace and punctuation: currency symbols, (R), (C), TM and the emoji ranges.
_TITLE_EXTRA = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x061C, 0x061C), (0x180E, 0x180E),
    (0x200C, 0x200F), (0x202C, 0x202E), (0x2066, 0x2069), (0x20E3, 0x20E3),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x23CF, 0x23CF), (0x23E9, 0x23F3),
    (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB), (0x25B6, 0x25B6),
    (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x273F), (0x2744, 0x2744),
    (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
    (0x2757, 0x2757), (0x2763, 0x2764), (0x2795, 0x2797), (0x27A1, 0x27A1),
    (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B00, 0x2BFF),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1FFFF),
)  # fmt: skip
# Onigmo's [[:punct:]] is Unicode's punctuation plus these ASCII symbols.
_ASCII_PUNCT_SYMBOLS = frozenset("$+<=>^`|~")


def _title_keeps(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category[0] in "LMP" or category in ("Nd", "Sc") or ch.isspace():
        return True
    if ch in _ASCII_PUNCT_SYMBOLS:
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in _TITLE_EXTRA)


def forem_title(title: str) -> str:
    """``title`` as Forem stores it (``Article#normalize_title``): every run of characters
    that is not a word character, whitespace, punctuation, a currency symbol or one of the
    emoji Forem allows becomes a space, runs of spaces become one, and the ends are
    stripped. ``"Revenue ≥ 40°C → ½ off"`` is stored as ``"Revenue 40 C off"``."""
    spaced = "".join(ch if _title_keeps(ch) else " " for ch in title)
    return re.sub(r"[ \t\r\n\f\v]+", " ", spaced).strip(" \t\r\n\f\v\0")


# Tag#validate_name: /\A[[:alnum:]]+\z/i, which in Onigmo is Alphabetic or a decimal digit
# (an Indic vowel sign is Alphabetic; "½" and "²" are no decimal digits). Python's isalnum
# differs both ways.
_TAG_DROPS = regex.compile(r"[^\p{Alphabetic}\p{Nd}]+")


# The front_matter_parser gem's Markdown syntax as Forem runs it (after turning CRLF into LF):
# optional whitespace, "---", anything, "---" and blanks to a line's end.
_FRONT_MATTER = re.compile(r"\A\s*---.*?---\s*$", re.S | re.M)
NOT_FRONT_MATTER = "<!-- -->\n"
"""What goes before a body Forem would read as front matter: an HTML comment, a block of
its own in Markdown (so what follows means what it meant), dropped from the page by
Forem's sanitizer."""


def forem_body(body: str) -> str:
    """``body`` as brandkit sends it to Forem: as it is, unless Forem would read its start
    as front matter (``---``, anything, ``---`` ending a line), which would set the
    article's title, tags and published state from the body, or refuse it; then with
    `NOT_FRONT_MATTER` before it."""
    if _FRONT_MATTER.match(body.replace("\r\n", "\n")) is None:
        return body
    return NOT_FRONT_MATTER + body


# Signs that name a language or platform, spelt as DEV's own tags spell them: stripped,
# "C#" was tagged "c" (another language) and "C++" "c"; "#" after a letter or digit is
# "sharp" (csharp, fsharp), "++" "pp" (cpp), a leading "." "dot" (dotnet). A leading "#" is a
# hashtag's sign and goes.
_TAG_SIGNS = ((re.compile(r"(?<=[a-z0-9])#"), "sharp"), (re.compile(r"\+\+"), "pp"))


def _spelt(name: str) -> str:
    tag = name.strip().lower()
    if tag.startswith("."):
        tag = "dot" + tag[1:]
    for sign, word in _TAG_SIGNS:
        tag = sign.sub(word, tag)
    return tag


def devto_tags(names: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """Tag names as Forem takes them: lowercase, only the characters of Forem's
    ``[[:alnum:]]`` (letters and other alphabetic characters, such as Indic vowel signs, and
    decimal digits), each once, at most 4 and 30 characters each. Signs that name a language
    are spelt as DEV's tags are (``"C#"`` is ``csharp``, ``"C++"`` ``cpp``, ``".NET"``
    ``dotnet``). Returns the tags sent and the names dropped."""
    kept: list[str] = []
    dropped: list[str] = []
    for name in names:
        tag = _TAG_DROPS.sub("", _spelt(name))
        if not tag or len(tag) > TAG_MAX or len(kept) >= TAGS_MAX:
            dropped.append(name)
        elif tag not in kept:
            kept.append(tag)
    return kept, dropped


# -- answers ---------------------------------------------------------------------------------


class _Article(Answer):
    id: int = pydantic.Field(strict=True)
    title: str
    slug: str
    url: str
    canonical_url: str | None = None
    published_at: str | None = None


class _Mine(_Article):
    published: bool
    body_markdown: str | None = None
    page_views_count: MetricCount = 0
    public_reactions_count: MetricCount = 0
    comments_count: MetricCount = 0


class _MinePage(pydantic.RootModel[tuple[_Mine, ...]]):
    pass


def _status(published: bool, published_at: str | None) -> str:
    """``"draft"``, ``"scheduled"`` (published at a future time) or ``"published"``."""
    if not published:
        return "draft"
    when = parse_time(published_at)
    return "scheduled" if when is not None and when > datetime.now(UTC) else "published"


def _years_later(moment: datetime, years: int) -> datetime:
    """``moment`` ``years`` calendar years later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _close(when: datetime, sent: str) -> bool:
    """Whether the ``published_at`` sent is within the minute Forem lets a published
    article's date move (``Article#correct_published_at?``)."""
    moment = parse_time(sent)
    return moment is not None and abs((moment - when).total_seconds()) <= IMMUTABLE_SLACK


def _text(body: str | None) -> str:
    return (body or "").replace("\r\n", "\n").strip()


class DevtoAdapter(BlogAdapter):
    """Publishes articles to one DEV (or other Forem) account (``Account.devto(api_key=)``);
    see the module docstring for the protocol.

    Attributes:
        lookup_pages: most pages of ``me/all`` (`PAGE_SIZE` articles each) a lookup reads.
    """

    name: ClassVar[str] = "devto"
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["devto"]
    # Rack::Attack: api_write_throttle 1/s per key, api_throttle 3 GETs/s per address.
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        RatePolicy("write", 1, 1.0),
        RatePolicy("read", 3, 1.0),
    )
    lookup_pages: ClassVar[int] = 50
    # One page of me/all (up to 100 articles) answers the metrics of many articles.
    metrics_batch_size: ClassVar[int] = 100

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.has_secret("api_key"):
            raise ConfigurationError(f"{account.key} has no api_key: use Account.devto(...)")

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Request:
        headers = {"api-key": self.account.secret("api_key") or "", "Accept": ACCEPT}
        url = f"{self.account.base_url}/api/{path}"
        if body is None:
            return httpx.Request(method, url, params=params, headers=headers)
        headers["Content-Type"] = "application/json"
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return httpx.Request(method, url, params=params, content=content, headers=headers)

    # -- publish -----------------------------------------------------------------------------

    def article_url_bound(self, article: Article) -> str:
        """A stand-in never shorter than the URL Forem will give ``article`` (see
        `BlogAdapter.article_url_bound`): ``<base>/<username>/<slug>-<suffix>``, where Forem
        makes the slug of the title as it stores it (``Article#title_to_slug``:
        ``Sterile.sluggerize(title)`` and ``rand(100_000).to_s(26)``, at most 4
        characters). The username is not known before the article exists: Forem allows 30
        characters. Sluggerize transliterates: an ASCII character stays one character at
        most (an ``&`` counts as ``and``, in case it is spelled out), any other counts as
        `TRANSLITERATION_BOUND` (a rare ligature that transliterates to more, such as
        U+FDFA, can still make the URL longer: the announcement then fails on its network
        after the article is out, saying by how much).

        Raises:
            ConfigurationError: the account has no base URL.
        """
        slug = "".join(
            ("and" if ch == "&" else ch.lower() if ch.isalnum() else "-")
            if ch.isascii()
            else "x" * TRANSLITERATION_BOUND
            for ch in forem_title(article.title)
        )
        return f"{bound_base(self.account.base_url)}/{'u' * USERNAME_MAX}/{slug or 'x'}-zzzz"

    def publish_article(self, article: Article) -> Flow[PartRef]:
        """Create the article (published, scheduled or a draft).

        Returns:
            The article: its id, its URL, and in ``extra`` its ``slug`` and ``status``
            (``"draft"``, ``"scheduled"`` or ``"published"``).

        Raises:
            ContentError: a page (``kind="page"``: Forem has articles only), a title longer
                than 128 characters as Forem stores it (see `forem_title`), or of no
                character Forem keeps, or a ``scheduled_at`` more than 5 years ahead (Forem
                would drop it and publish at once).
            MediaError: a featured image Forem does not take: not JPEG, PNG, GIF or WebP,
                or over 25 MB (``capabilities.media``), refused before it is hosted.
            ConfigurationError: a featured image, and the account has no ``media_host``.
            AuthError: the API key was refused.
            Rejected: Forem refused the article, with its message; ``duplicate`` is set when
                it says the title was used in the last five minutes.
            RateLimited: too many writes, or too many articles published.
        """
        fields = self._fields(article)
        response = yield Send(
            self._request("POST", "articles", body={"article": fields}),
            creates=True,
            bucket="write",
        )
        return self._ref(self.parse(response, _Article), article)

    def find_article(
        self, article: Article, *, since: datetime | None = None, taken: Collection[str] = ()
    ) -> Flow[PartRef | None]:
        """The article an earlier attempt created, or ``None``: the user's articles
        (``me/all``, newest first) are read for one with the same title, the same canonical
        URL when the article has one, and the published state asked for.

        A published article counts only when Forem published it no earlier than ``since``
        (less 5 minutes of clock skew), a scheduled one only at the time asked for. ``me/all``
        gives a draft no date (no ``created_at``, no ``published_at``), so an old draft
        cannot be told from the one just made: a draft counts only when its body is the one
        sent too (an identical draft, harmless to adopt); a draft never counts for an article
        asked to be published, which is created anew rather than left unpublished.

        Raises:
            PlatformError: Forem refused the lookup (typed by `error_for`).
        """
        wanted = article.status != "draft"
        # Forem stores the title without the characters it does not allow ("40°C" is
        # "40 C"): compared as stored, else the article is sent again and refused as a
        # duplicate title, reported failed while it is live.
        title = forem_title(article.title)
        for page in range(1, self.lookup_pages + 1):
            mine = yield from self._mine(page)
            for item in mine:
                if forem_title(item.title) != title or item.published != wanted:
                    continue
                if article.canonical_url and item.canonical_url != article.canonical_url:
                    continue
                if not self._made_by(item, article, since) or str(item.id) in taken:
                    continue  # not made by this attempt, or another delivery's article
                return self._ref(item, article)
            if len(mine) < PAGE_SIZE:
                return None
        return None

    def _made_by(self, item: _Mine, article: Article, since: datetime | None) -> bool:
        """Whether ``item`` (same title, same published state) can be the article an attempt
        that began at ``since`` created."""
        if not item.published:
            # As sent (`forem_body`), or as an older brandkit sent it.
            stored = _text(item.body_markdown)
            return stored in (_text(forem_body(article.body)), _text(article.body))
        published = parse_time(item.published_at)
        if published is None:
            return False
        if article.status == "scheduled" and article.scheduled_at is not None:
            at = article.scheduled_at.astimezone(UTC)
            if abs(published - at) < timedelta(seconds=1):
                return True
            if published < at:
                return False
            # Published after its time: the time had passed when it was sent, and it went
            # out then (see `_fields`).
        return since is None or published >= since - LOOKUP_SKEW

    def read_article(self, ref: PartRef) -> Flow[PartRef]:
        """The article as Forem has it now, with ``extra["status"]`` ``"draft"``,
        ``"scheduled"`` (published at a future time) or ``"published"``.

        Raises:
            Rejected: the article is not among the user's (404).
            PlatformError: another refusal (typed by `error_for`).
        """
        item = yield from self._own(ref)
        status = _status(item.published, item.published_at)
        return PartRef(
            index=0,
            id=str(item.id),
            url=item.url,
            extra={**ref.extra, "slug": item.slug, "status": status},
        )

    def _own(self, ref: PartRef) -> Flow[_Mine]:
        """The article ``ref`` as ``me/all`` lists it.

        Raises:
            Rejected: the article is not among the user's (404).
        """
        for page in range(1, self.lookup_pages + 1):
            mine = yield from self._mine(page)
            for item in mine:
                if str(item.id) == ref.id:
                    return item
            if len(mine) < PAGE_SIZE:
                break
        raise Rejected(
            f"devto: article {ref.id} is not among this account's articles",
            platform=self.name,
            status_code=404,
            platform_message="not found",
        )

    def update_article(self, ref: PartRef, article: Article) -> Flow[PartRef]:
        """Replace the article ``ref`` with ``article``. Its URL stays (Forem never moves a
        slug, except a draft's on its first publication); an excerpt, canonical URL or cover
        the article has not is removed (Forem then makes the description of the body);
        ``status="draft"`` unpublishes it,
        and ``status="published"`` publishes a scheduled one now, or a draft that was
        scheduled (its ``published_at`` becomes now; the article is read first, as Forem
        keeps it otherwise), as does ``status="scheduled"`` with a time already past.

        Raises:
            ContentError: ``status="scheduled"`` for an article published once (Forem never
                changes such an article's date, also after it is unpublished).
            MediaError: a featured image Forem does not take (its type, or over 25 MB).
            Rejected: Forem refused the change, with its message.
            PlatformError: another refusal (typed by `error_for`).
        """
        fields = self._fields(article, update=True)
        # A scheduled time already past goes live now, as a new article does: sent without
        # a date, the article kept its old time ahead and stayed scheduled.
        live_now = article.status == "published" or (
            article.status == "scheduled" and "published_at" not in fields
        )
        if live_now or "published_at" in fields:
            # Forem keeps a scheduled article's published_at when it is sent published: it
            # would stay scheduled. Asked, not taken from the stored answer: an article live
            # since then must keep its published_at (Forem refuses to change it). A scheduled
            # article put back to draft keeps its published_at too: looked at whatever the
            # published flag, else it went back to its old time rather than live.
            current = yield from self._own(ref)
            when = parse_time(current.published_at)
            now = datetime.now(UTC)
            if live_now:
                if when is not None and when > now:
                    fields["published_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif when is not None and when <= now and not _close(when, fields["published_at"]):
                # Forem refuses a new date for an article published once (also after it was
                # unpublished): "updating published_at for articles that have already been
                # published is not allowed", which said nothing of what to do.
                raise ContentError(
                    "devto cannot schedule an article that has already been published: "
                    "Forem never changes a published article's date, also after it is "
                    "unpublished; keep it published (status='published') or publish a new "
                    "article at the new time",
                    field="status",
                    platform=self.name,
                )
        response = yield Send(
            self._request("PUT", f"articles/{ref.id}", body={"article": fields}),
            idempotent=True,
            bucket="write",
        )
        return self._ref(self.parse(response, _Article), article, update=True)

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """The Forem API has no delete.

        Raises:
            Unsupported: always; unpublish the article with an update to ``status="draft"``.
        """
        raise self.unsupported(
            "delete", "delete articles (unpublish one instead: update it with status='draft')"
        )
        yield  # pragma: no cover

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Views (``page_views_count``, which Forem shows only to the author), reactions and
        comments of each article, from the account's own list (``me/all``, 100 articles a
        page, read until every article is found). An article not among them (gone from the
        account) comes back as unavailable samples with the reason.

        Raises:
            PlatformError: Forem refused (typed by `error_for`).
        """
        from brandkit.metrics._sample import Metric, MetricSample

        wanted = {ref.id for ref in refs}
        found: dict[str, _Mine] = {}
        for page in range(1, self.lookup_pages + 1):
            mine = yield from self._mine(page)
            found.update((str(item.id), item) for item in mine if str(item.id) in wanted)
            if len(found) == len(wanted) or len(mine) < PAGE_SIZE:
                break
        now = datetime.now(UTC)
        samples: list[MetricSample] = []
        for ref in refs:
            item = found.get(ref.id)
            for metric, raw in (
                (Metric.IMPRESSIONS, "page_views_count"),
                (Metric.LIKES, "public_reactions_count"),
                (Metric.REPLIES, "comments_count"),
            ):
                if item is None:
                    samples.append(
                        MetricSample.unavailable(
                            platform=self.name,
                            account=self.account.key,
                            metric=metric.value,
                            reason="the article is not among this account's articles any more",
                            fetched_at=now,
                            post_id=ref.id,
                        )
                    )
                    continue
                samples.append(
                    MetricSample(
                        platform=self.name,
                        account=self.account.key,
                        metric=metric.value,
                        value=getattr(item, raw),
                        fetched_at=now,
                        post_id=ref.id,
                        raw_name=raw,
                    )
                )
        return samples

    # -- helpers -----------------------------------------------------------------------------

    def _mine(self, page: int) -> Flow[tuple[_Mine, ...]]:
        response = yield Send(
            self._request(
                "GET", "articles/me/all", params={"page": str(page), "per_page": str(PAGE_SIZE)}
            ),
            idempotent=True,
            bucket="read",
            max_bytes=PAGE_MAX_BYTES,
        )
        return self.parse(response, _MinePage).root

    def _fields(self, article: Article, *, update: bool = False) -> dict[str, Any]:
        """The ``article`` object Forem takes (for an ``update``, with blanks for the excerpt,
        canonical URL and cover the article has not); checks what Forem would refuse first."""
        if article.kind == "page":
            # Forem has articles only: a page (an "About us") went out as a public article.
            raise ContentError(
                "devto has no pages, only articles: publish a post (kind='post') or leave "
                "dev.to out for this page",
                field="kind",
                platform=self.name,
            )
        # Measured as Forem stores it (normalize_title runs before its validations): a
        # title of characters Forem drops was sent and refused as blank, and one that
        # Forem shortens to 128 was refused here for its length before.
        stored = forem_title(article.title)
        if not stored:
            raise ContentError(
                f"devto keeps none of the characters of the title {article.title[:60]!r} "
                "(it drops symbols such as ½, ≥ or °): give it words",
                field="title",
                platform=self.name,
            )
        if len(stored) > TITLE_MAX:
            raise ContentError(
                f"devto takes titles of at most {TITLE_MAX} characters; this one has {len(stored)}",
                field="title",
                platform=self.name,
                over_by=len(stored) - TITLE_MAX,
            )
        body = forem_body(article.body)
        # Measured as sent: what goes before a body Forem would read as front matter counts.
        size = len(body.encode())
        if size > BODY_MAX_BYTES:
            raise ContentError(
                f"devto takes an article body of at most {BODY_MAX_BYTES:,} bytes in UTF-8 "
                f"(800 KiB); this one has {size:,}: shorten it or split it into a series",
                field="body",
                platform=self.name,
                over_by=size - BODY_MAX_BYTES,
            )
        tags, dropped = devto_tags([*article.tags, *article.categories])
        if dropped:
            logger.warning(
                "devto: tags dropped (Forem takes at most 4, of letters and digits): %s",
                ", ".join(repr(d) for d in dropped),
            )
        fields: dict[str, Any] = {
            "title": article.title,
            "body_markdown": body,
            "published": article.status != "draft",
            "tags": tags,
        }
        level = article.ai_disclosure or self._ai_disclosure()
        if level is not None:
            fields["ai_disclosure_level"] = level
        if (
            article.status == "scheduled"
            and article.scheduled_at is not None
            and article.scheduled_at > datetime.now(UTC)
        ):
            if article.scheduled_at > _years_later(datetime.now(UTC), SCHEDULE_YEARS_MAX):
                # Forem drops such a date as a mistake (remove_invalid_published_at) and
                # keeps the article published without one: an embargo turned into "now".
                raise ContentError(
                    f"devto keeps no publication time more than {SCHEDULE_YEARS_MAX} years "
                    f"ahead (it drops it and publishes at once); "
                    f"{article.scheduled_at:%Y-%m-%d %H:%M} UTC is: check the year",
                    field="scheduled_at",
                    platform=self.name,
                )
            fields["published_at"] = article.scheduled_at.astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        # A scheduled time already past when the article is sent (a worker that ran late, a
        # retry) is published now, as WordPress does: Forem refuses a new article's
        # published_at more than 15 minutes past, which failed the article altogether.
        # Forem keeps what an update does not send: an article updated without its excerpt,
        # canonical URL or cover kept the old ones. A blank one clears it (Forem makes the
        # description of the body again, and nullifies a blank canonical URL).
        if article.excerpt or update:
            fields["description"] = article.excerpt or ""
        if article.canonical_url or update:
            fields["canonical_url"] = article.canonical_url or ""
        if article.featured_image is not None:
            fields["main_image"] = self._image_url(article.featured_image)
        elif update:
            fields["main_image"] = ""
        return fields

    def _ai_disclosure(self) -> str | None:
        """The account's ``settings["ai_disclosure_level"]``, or ``None`` when unset.

        Raises:
            ConfigurationError: a value Forem does not have (it would refuse or fail the
                article).
        """
        level = self.account.settings.get("ai_disclosure_level")
        if level is None:
            return None
        if level not in AI_DISCLOSURE_LEVELS:
            raise ConfigurationError(
                f"devto: settings['ai_disclosure_level'] is {str(level)[:60]!r}; Forem takes "
                f"one of {', '.join(AI_DISCLOSURE_LEVELS)}"
            )
        return str(level)

    def _image_url(self, media: Media) -> str:
        rules = self.capabilities.media
        if media.mime_type not in rules.image_types:
            raise MediaError(
                f"devto takes JPEG, PNG, GIF or WebP cover images, not {media.mime_type}",
                field="featured_image",
                platform=self.name,
            )
        limit = rules.max_gif_bytes if media.mime_type == "image/gif" else rules.max_image_bytes
        if media.size > limit:
            # Checked before the media host is asked: a larger cover was hosted and its URL
            # sent, for Forem to refuse or keep as a broken cover.
            raise MediaError(
                f"devto: the cover image is {media.size:,} bytes; dev.to takes at most "
                f"{limit:,}: make it smaller",
                field="featured_image",
                platform=self.name,
                over_by=media.size - limit,
            )
        host = self.account.settings.get("media_host")
        if not callable(host):
            raise ConfigurationError(
                "devto fetches the cover image from a public URL: give Account.devto a "
                "media_host (a callable media_host(media) -> https URL, or a configuration "
                "such as {'dir': ..., 'base_url': ...}; in tests brandkit.testing."
                "LoopbackMediaHost())"
            )
        url = host(media)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"devto: media_host returned {url!r} for {media.filename}; it must return an "
                "http(s) URL"
            )
        return url

    def _ref(self, item: _Article, article: Article, *, update: bool = False) -> PartRef:
        # The create answer has no "published" (only published_at, null for a draft);
        # me/all's items have both. A new article asked to be published now is "published"
        # (its published_at is Forem's clock, which may be ahead of this one). An update
        # keeps the published_at Forem had: one dated further ahead than any clock skew is
        # still scheduled, whatever was asked.
        published = item.published if isinstance(item, _Mine) else item.published_at is not None
        if update and article.status == "draft":
            # Sent unpublished; the answer has no "published", and a draft that was scheduled
            # keeps its published_at ahead: it was reported "scheduled".
            published = False
        status = _status(published, item.published_at)
        if status == "scheduled" and article.status != "scheduled":
            when = parse_time(item.published_at)
            if not update or (when is not None and when <= datetime.now(UTC) + LOOKUP_SKEW):
                status = "published"
        return PartRef(
            index=0, id=str(item.id), url=item.url, extra={"slug": item.slug, "status": status}
        )

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Forem's ``{"error": "...", "status": n}`` (or Rack::Attack's plain ``Retry later``)
        as a typed error carrying Forem's message.

        401 and 403 are `AuthError`; 429 is `RateLimited` with ``Retry-After``; 422
        "Title has already been used in the last five minutes" and "Body markdown has already
        been taken" (the same title and body from the user) are ``Rejected(duplicate=True)``;
        5xx is `PlatformUnavailable`; a 422 asking for ``ai_disclosure_level`` (a community
        with AI disclosure on) is ``Rejected(code="ai_disclosure_level")`` saying to set the
        account's ``ai_disclosure_level`` or the article's ``ai_disclosure``, and to which
        values; any other refusal is `Rejected`.
        """
        try:
            body = response.json()
        except ValueError:
            body = None
        message = ""
        if isinstance(body, dict):
            error = body.get("error")
            message = error if isinstance(error, str) else json.dumps(error) if error else ""
        message = message or response.text[:300].strip() or response.reason_phrase
        if response.status_code == 422 and isinstance(body, dict):
            asked = _disclosure_asked(body.get("ai_disclosure_level"))
            if asked is not None:
                return Rejected(
                    f"{self.name} answered 422: {message} Say how much AI wrote the article: "
                    "Account.devto(ai_disclosure_level=...) (ai_disclosure_level in an "
                    "accounts file) for all of the account's articles, or "
                    f"Article(ai_disclosure=...) for one; one of {asked}",
                    platform=self.name,
                    status_code=422,
                    platform_message=message,
                    code="ai_disclosure_level",
                )
        return classify(
            self.name,
            response,
            message,
            retry_after=retry_after_of(response),
            # Rack::Attack throttles reads (per address) apart from writes (per key): a
            # refused read named the write bucket.
            bucket=f"{self.name}:{'read' if _is_read(response) else 'write'}",
            auth_statuses=(401, 403),
            auth_hint="Check the API key (Settings -> Extensions -> DEV Community API Keys; "
            "a suspended account's key is refused too)",
            # Forem refuses the same title from the user within five minutes, and the same
            # title and body from the user at any time: either says the article is there.
            duplicate="already been used in the last five minutes" in message
            or "Body markdown has already been taken" in message,
        )


def _disclosure_asked(raw: object) -> str | None:
    """What a 422's ``ai_disclosure_level`` object asks for: the allowed values and the
    community's policy, as words (``None`` when the refusal is about something else)."""
    if not isinstance(raw, dict) or raw.get("required") is not True:
        return None
    allowed = raw.get("allowed_values")
    values = (
        [v[:40] for v in allowed[:10] if isinstance(v, str)] if isinstance(allowed, list) else []
    ) or list(AI_DISCLOSURE_LEVELS)
    said = ", ".join(values)
    policy = raw.get("policy_url")
    if isinstance(policy, str) and policy.startswith(("https://", "http://")):
        said += f" (the community's policy: {policy[:200]})"
    return said


def _is_read(response: httpx.Response) -> bool:
    """Whether ``response`` answers a read (GET), which Forem throttles apart from writes."""
    try:
        return response.request.method == "GET"
    except RuntimeError:  # an answer made without its request
        return False
