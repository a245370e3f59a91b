"""Organization Social Action Notifications of the LinkedIn emulator: members' posts that
mention a page, pulled with ``GET /rest/organizationalEntityNotifications?q=criteria``.

`LinkedInNotifications` is a mixin of `brandkit.testing.linkedin.LinkedInEmulator`: it
holds the mentions the audience writes (`LinkedInNotifications.audience_mention`, which
``fan.mention(text)`` reaches) and answers the finder as LinkedIn documents it
(learn.microsoft.com, *Organization Social Action Notifications*):

- ``q=criteria``, ``organizationalEntity`` (the page's URN, encoded), ``actions=List(...)``
  of the documented actions (``LIKE``, ``COMMENT``, ``SHARE``, ``SHARE_MENTION``,
  ``ADMIN_COMMENT``, ``COMMENT_EDIT``, ``COMMENT_DELETE``), ``timeRange=(start:ms,end:ms)``,
  Rest.li ``start``/``count`` paging;
- ``rw_organization_admin`` and the ADMINISTRATOR role on the page, else 403;
- notifications are kept 60 days (`LinkedInNotifications.notification_retention`);
- each element has ``notificationId``, ``organizationalEntity``, ``action``,
  ``lastModifiedAt``, ``subscriber``, and the mentioning post as ``generatedActivity``
  with ``decoratedGeneratedActivity.share`` (``entity``, ``owner``, ``text``).

The page answers a mention with a comment on the member's post and likes it with a
reaction, through the emulator's own comment and reaction handlers; listing that post's
comments is a 403, as reading any member's post (LinkedIn grants it with the restricted
``r_member_social``). LinkedIn does not say whether a page may comment on a member's post
it was mentioned in: the emulator takes it, as its pages let a page do.

Not documented by LinkedIn, and so switchable for tests: which field names the mentioning
post (`mention_field`: ``"generatedActivity"``, or ``"sourcePost"`` with
``decoratedSourcePost`` as some clients read it), whether the decorated text is sent
(`mention_decorated`), whether the page's token may read the member's post with ``GET
/rest/posts/{urn}`` (`mention_posts_readable`), the order of the elements (newest first
here), and whether ``timeRange`` includes its end (here ``start <= t < end``). An action
that is not documented (``COMMENT_MENTION``, which some clients send) is a 400 here.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import httpx

from brandkit.testing._emulator import Emulator, Refusal, route

if TYPE_CHECKING:
    from brandkit.testing._emulator import Audience

__all__ = ["ACTIONS", "LinkedInMention", "LinkedInNotifications"]

ACTIONS = frozenset(
    {"LIKE", "COMMENT", "SHARE", "SHARE_MENTION", "ADMIN_COMMENT", "COMMENT_EDIT", "COMMENT_DELETE"}
)
"""The actions LinkedIn documents for Organization Social Action Notifications."""

_TIME_RANGE = re.compile(r"\(start:(-?\d+),end:(-?\d+)\)|\(start:(-?\d+)\)")
_HANDLERS = frozenset(
    {
        "_notifications",
        "_get_post_or_mention",
        "_create_comment_or_on_mention",
        "_list_comments_or_on_mention",
        "_create_reaction_or_on_mention",
    }
)


@attrs.define
class LinkedInMention:
    """A member's post that mentions a page, as the emulator holds it.

    Attributes:
        notification_id: the notification's ``notificationId``.
        organization: the page mentioned.
        urn: the mentioning post (``urn:li:share:…``).
        actor: the member who wrote it (``urn:li:person:<name>``).
        commentary: its little text, the mention as ``@[Name](urn:li:organization:…)``.
        created_at: emulator time of the post (its notification's ``lastModifiedAt``).
    """

    notification_id: int
    organization: str
    urn: str
    actor: str
    commentary: str
    created_at: float


class LinkedInNotifications(Emulator):
    """The notifications finder and the audience's mentions (see the module docstring).

    Attributes:
        notification_retention: seconds a notification can be pulled (LinkedIn: 60 days).
        mention_field: ``"generatedActivity"`` or ``"sourcePost"``: where the mentioning
            post is named (LinkedIn's docs do not say for ``SHARE_MENTION``).
        mention_decorated: send the post's text in the decorated field.
        mention_posts_readable: the page's token may ``GET /rest/posts/{urn}`` a
            mentioning member's post (else 403 ``ACCESS_DENIED``).
        notification_page_max: the largest ``count`` of a page.
    """

    notification_retention: float = 60 * 86_400.0
    mention_field: str = "generatedActivity"
    mention_decorated: bool = True
    mention_posts_readable: bool = True
    notification_page_max: int = 100
    _table: ClassVar[list[tuple[str, re.Pattern[str], str]]]

    if TYPE_CHECKING:
        # What it uses of `brandkit.testing.linkedin.LinkedInEmulator`, which it is mixed into.
        _orgs: dict[str, Any]
        _posts: dict[str, Any]
        _comments: dict[str, Any]

        def _new_id(self) -> str: ...
        def _authenticate(self, request: httpx.Request) -> Any: ...
        def _spend(self, caller: Any, bucket: str) -> None: ...
        def _org(self, urn: str) -> Any: ...
        def _get_post(self, request: httpx.Request, urn: str) -> httpx.Response: ...
        def _create_comment(self, request: httpx.Request, target: str) -> httpx.Response: ...
        def _list_comments(self, request: httpx.Request, target: str) -> httpx.Response: ...
        def _create_reaction(self, request: httpx.Request) -> httpx.Response: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # These routes go first whatever the class order: ``GET /rest/posts/{urn}`` of a
        # mentioning post is answered here, any other post by the emulator's own handler.
        own = [row for row in cls._table if row[2] in _HANDLERS]
        cls._table = own + [row for row in cls._table if row[2] not in _HANDLERS]

    @property
    def _mentions(self) -> dict[str, LinkedInMention]:
        found: dict[str, LinkedInMention] = self.__dict__.setdefault("_mention_store", {})
        return found

    def mentions(self, organization: str | None = None) -> list[LinkedInMention]:
        """The mentions held (of one page, given its URN), oldest first."""
        with self.lock:
            return [
                attrs.evolve(m)
                for m in self._mentions.values()
                if organization is None or m.organization == organization
            ]

    def audience_mention(self, member: Audience, text: str) -> str:
        """``member`` posts ``text`` mentioning a page: the one whose URN or name ``text``
        holds, else the page made last (a mention of it is put first). Returns the post's
        URN, the id the adapter reports as `brandkit.Message.id`.

        Raises:
            ValueError: the emulator has no page yet (make an account first).
        """
        with self.lock:
            orgs = list(self._orgs.values())
            if not orgs:
                raise ValueError("no LinkedIn page to mention: make an account first")
            named = [o for o in orgs if o.urn in text] or [
                o for o in orgs if o.name.lower() in text.lower()
            ]
            org = named[-1] if named else orgs[-1]
            commentary = _escape(text)
            if org.urn not in text:
                commentary = f"@[{org.name}]({org.urn}) {commentary}"
            slug = re.sub(r"[^A-Za-z0-9_-]", "", member.name) or "member"
            mention = LinkedInMention(
                notification_id=int(self._new_id()) % 10_000_000_000,
                organization=org.urn,
                urn=f"urn:li:share:{self._new_id()}",
                actor=f"urn:li:person:{slug}",
                commentary=commentary,
                created_at=self.clock.time(),
            )
            self._mentions[mention.urn] = mention
            return mention.urn

    def _notification_json(self, m: LinkedInMention, subscriber: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "notificationId": m.notification_id,
            "organizationalEntity": m.organization,
            "action": "SHARE_MENTION",
            "lastModifiedAt": int(m.created_at * 1000),
            "subscriber": subscriber,
        }
        decorated = {"entity": m.urn, "owner": m.actor, "text": m.commentary}
        if self.mention_field == "sourcePost":
            data["sourcePost"] = m.urn
            if self.mention_decorated:
                data["decoratedSourcePost"] = {**decorated, "mediaCategory": "NONE"}
        else:
            data["generatedActivity"] = m.urn
            if self.mention_decorated:
                data["decoratedGeneratedActivity"] = {"share": decorated}
        return data

    @route("GET", r"/rest/organizationalEntityNotifications")
    def _notifications(self, request: httpx.Request) -> httpx.Response:
        from brandkit.testing.linkedin import _paged

        caller = self._authenticate(request)
        self._spend(caller, "read")
        params = request.url.params
        if params.get("q") != "criteria":
            raise Refusal(400, "Unsupported finder", code="ILLEGAL_ARGUMENT")
        org = self._org(params.get("organizationalEntity", ""))
        if org is None:
            raise Refusal(400, "Invalid organizationalEntity", code="ILLEGAL_ARGUMENT")
        if caller.member.id not in org.admins or "rw_organization_admin" not in caller.token.scopes:
            raise Refusal(
                403,
                "Not enough permissions to access: organizationalEntityNotifications"
                f".FINDER-criteria.{caller.version}00",
                code="ACCESS_DENIED",
                serviceErrorCode=100,
            )
        actions = _actions(params.get("actions"))
        start, end = _time_range(params.get("timeRange"))
        now = self.clock.time()
        oldest = (now - self.notification_retention) * 1000
        items = [
            m
            for m in self._mentions.values()
            if m.organization == org.urn
            and "SHARE_MENTION" in actions
            and start <= m.created_at * 1000 < end
            and m.created_at * 1000 >= oldest
        ]
        items.sort(key=lambda m: m.created_at, reverse=True)
        page, paging = _paged(request, items, self.notification_page_max)
        elements = [self._notification_json(m, caller.member.urn) for m in page]
        return self.json({"paging": paging, "elements": elements})

    @route("GET", r"/rest/posts/(?P<urn>urn:li:(?:share|ugcPost):[^/]+)")
    def _get_post_or_mention(self, request: httpx.Request, urn: str) -> httpx.Response:
        mention = self._mentions.get(urn)
        if mention is None:
            return self._get_post(request, urn=urn)
        caller = self._authenticate(request)
        self._spend(caller, "read")
        if not self.mention_posts_readable:
            raise Refusal(
                403,
                f"Not enough permissions to access: partnerApiPostsExternal.GET.{caller.version}00",
                code="ACCESS_DENIED",
                serviceErrorCode=100,
            )
        ms = int(mention.created_at * 1000)
        return self.json(
            {
                "id": mention.urn,
                "author": mention.actor,
                "commentary": mention.commentary,
                "visibility": "PUBLIC",
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "lifecycleStateInfo": {"isEditedByAuthor": False},
                "isReshareDisabledByAuthor": False,
                "createdAt": ms,
                "lastModifiedAt": ms,
                "publishedAt": ms,
            }
        )

    # -- comments and reactions on a mentioning post ------------------------------------------
    # The page may answer a mention with a comment on the member's post and react to it, as
    # on any post it can see: the emulator's own comment and reaction handlers do it, the
    # mentioning post lent to them for the request (it is not one of the emulator's posts,
    # which hold the accounts' own). Reading that post's comments takes reading the
    # member's post: refused (403) as for any member's post, r_member_social being theirs.

    @route("POST", r"/rest/socialActions/(?P<target>urn:li:[^/]+)/comments")
    def _create_comment_or_on_mention(self, request: httpx.Request, target: str) -> httpx.Response:
        with self._lent(self._mention_under(target)):
            return self._create_comment(request, target=target)

    @route("GET", r"/rest/socialActions/(?P<target>urn:li:[^/]+)/comments")
    def _list_comments_or_on_mention(self, request: httpx.Request, target: str) -> httpx.Response:
        with self._lent(self._mention_under(target)):
            return self._list_comments(request, target=target)

    @route("POST", r"/rest/reactions")
    def _create_reaction_or_on_mention(self, request: httpx.Request) -> httpx.Response:
        try:
            root = json.loads(request.content or b"{}").get("root")
        except (ValueError, AttributeError):
            root = None
        with self._lent(self._mention_under(root) if isinstance(root, str) else None):
            return self._create_reaction(request)

    def _mention_under(self, target: str) -> LinkedInMention | None:
        """The mention ``target`` is (its post's URN) or is a comment under."""
        mention = self._mentions.get(target)
        if mention is None and target.startswith("urn:li:comment:"):
            comment = self._comments.get(target)
            mention = self._mentions.get(comment.post) if comment is not None else None
        return mention

    @contextlib.contextmanager
    def _lent(self, mention: LinkedInMention | None) -> Iterator[None]:
        """The mention's post among the emulator's posts while a handler runs (under the
        emulator's lock: no other request sees it)."""
        if mention is None or mention.urn in self._posts:
            yield
            return
        from brandkit.testing.linkedin import LinkedInPost

        self._posts[mention.urn] = LinkedInPost(
            urn=mention.urn,
            author=mention.actor,
            commentary=mention.commentary,
            sent_commentary=mention.commentary,
            text=mention.commentary,
            truncated=False,
            visibility="PUBLIC",
            content=None,
            lifecycle_state="PUBLISHED",
            reshare_disabled=False,
            created_at=mention.created_at,
        )
        try:
            yield
        finally:
            del self._posts[mention.urn]


_MENTION = re.compile(r"@\[[^\]\n]+\]\(urn:li:(?:person|organization):[A-Za-z0-9_-]+\)")
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def _escape(text: str) -> str:
    """``text`` as little text, as a member's client sends it: every reserved character
    escaped, mentions written ``@[Name](urn:li:…)`` kept as mentions."""
    out, position = [], 0
    for match in _MENTION.finditer(text):
        out.append(_RESERVED.sub(r"\\\1", text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(out)


def _actions(value: str | None) -> frozenset[str]:
    """The actions of ``List(A,B)``; all of them when the parameter is left out.

    Raises:
        Refusal: not a Rest.li list, or an action LinkedIn does not document (400; the
            wording is not LinkedIn's).
    """
    if value is None:
        return ACTIONS
    match = re.fullmatch(r"List\(([A-Z_,]*)\)", value)
    if match is None:
        raise Refusal(400, "Invalid Rest.li list syntax for actions", code="ILLEGAL_ARGUMENT")
    names = frozenset(v for v in match.group(1).split(",") if v)
    unknown = sorted(names - ACTIONS)
    if unknown:
        raise Refusal(
            400,
            f"Invalid value for param: actions: {', '.join(unknown)}",
            code="ILLEGAL_ARGUMENT",
        )
    return names


def _time_range(value: str | None) -> tuple[float, float]:
    """``(start:ms,end:ms)`` (or ``(start:ms)``) as bounds in ms; everything when absent.

    Raises:
        Refusal: not a Rest.li record of whole numbers, or ``end`` before ``start`` (400).
    """
    if value is None:
        return float("-inf"), float("inf")
    match = _TIME_RANGE.fullmatch(value)
    if match is None:
        raise Refusal(400, "Invalid value for param: timeRange", code="ILLEGAL_ARGUMENT")
    if match.group(3) is not None:
        return float(match.group(3)), float("inf")
    start, end = float(match.group(1)), float(match.group(2))
    if end < start:
        raise Refusal(400, "Invalid value for param: timeRange", code="ILLEGAL_ARGUMENT")
    return start, end
