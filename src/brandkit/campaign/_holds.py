"""Announcements held until their article is live, beside the outbox (tables ``campaign_*``).

A hold names the article's deliveries (one per blog) and keeps the announcement built with a
stand-in URL. `release` (which the outbox worker runs before each claim) looks at the
article's deliveries: once one is sent, its scheduled time has passed and its blog says it
is public, the stand-in becomes the article's real URL and one delivery per network is
written to the outbox, with ids made from the hold and the account, so that a release
repeated after a crash writes nothing twice.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from brandkit._limits import check_limit
from brandkit._sqlite import SQLiteStore
from brandkit.accounts import Account
from brandkit.campaign._model import STATUS_PLATFORMS
from brandkit.content._model import Post
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import BrandkitError, ConfigurationError, PlatformError

if TYPE_CHECKING:
    from brandkit._client import AsyncClient, Client
    from brandkit.campaign._model import Campaign
    from brandkit.outbox._store import Outbox
    from brandkit.platforms._base import PartRef

__all__ = [
    "Hold",
    "HoldStore",
    "Plan",
    "announce",
    "arelease",
    "holds_for",
    "public",
    "release",
    "states",
]

logger = logging.getLogger("brandkit.campaign")

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaign_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_holds (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    articles TEXT NOT NULL,
    accounts TEXT NOT NULL,
    live_at TEXT,
    check_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    url TEXT,
    announcements TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_holds_due ON campaign_holds (status, check_at)
"""

STAND_IN = "https://article.brandkit.invalid/"
"""The URL a held announcement carries until the article's real one is known (``.invalid``
is reserved: it can never be a real address, RFC 6761)."""

_NS = uuid.UUID("0b3c2c43-8a7e-4a52-9d0c-3f0c8f1e6a21")
_LIVE = frozenset({"publish", "published", "live"})

POLL = timedelta(minutes=1)
"""How soon a hold is looked at again while its article is not live yet."""

STATUSES = ("held", "released", "failed", "cancelled")
"""A hold's statuses (see `Hold.status`)."""

# A hold in one of these keeps no announcement: released, it is in the outbox's deliveries;
# cancelled, it will never go out. Kept, every launch's announcement (its media inline, a
# featured image some 350 KB) stayed in the file for ever.
_SETTLED = ("released", "cancelled")

GIVE_UP = timedelta(days=1)
"""How long after its scheduled time (or after the article went out, or the time the blog now
gives it, if later) a hold waits for the blog to say the article is public (or to answer at
all) before it fails with the blog's last word."""


@attrs.frozen
class Hold:
    """Announcements waiting for their article.

    Attributes:
        id: the hold's id.
        name: the campaign's name.
        articles: the ids of the article's deliveries, one per blog, in the order given.
        accounts: the keys of the accounts to announce on.
        live_at: when the article is scheduled to be public (``None``: at once).
        status: ``"held"``, ``"released"`` (the announcements are in the outbox),
            ``"failed"`` (``reason`` says why) or ``"cancelled"``.
        reason: why it failed, or what it waits for.
        url: the article's URL the announcements carry, once released.
        announcements: the ids of the announcements' deliveries, once released.
        data: the held announcement (JSON, its media inline) while the hold is held (or
            failed); empty in a listing (`brandkit.campaign.holds`), which leaves it out
            (``HoldStore.get(id)`` has it), and once the hold is released (the
            announcements are the outbox's deliveries) or cancelled: it is not kept.
    """

    id: str
    name: str
    articles: tuple[str, ...]
    accounts: tuple[str, ...]
    live_at: datetime | None
    check_at: datetime
    status: str
    reason: str | None = None
    url: str | None = None
    announcements: tuple[str, ...] = ()
    data: str = attrs.field(default="", repr=False)

    def announcement(self, url: str) -> Post:
        """The held announcement carrying ``url``.

        Raises:
            ConfigurationError: the hold was listed without its announcement (`holds`
                leaves it out), or its row was damaged.
        """
        if not self.data and self.status in _SETTLED:
            raise ConfigurationError(
                f"hold {self.id!r} is {self.status} and keeps no announcement any more"
                + (
                    f" (it is the outbox's deliveries {', '.join(self.announcements)})"
                    if self.announcements
                    else ""
                )
            )
        if not self.data:
            raise ConfigurationError(
                f"hold {self.id!r} carries no announcement: a listing (holds()) leaves it "
                "out, as its media may take megabytes; read the hold with "
                "holds_for(outbox).get(hold.id)"
            )
        return Post.model_validate_json(self.data.replace(STAND_IN, json.dumps(url)[1:-1]))

    def delivery_id(self, account: str) -> str:
        """The id of the announcement's delivery to ``account`` (the same on every try)."""
        return uuid.uuid5(_NS, f"{self.id}\n{account}").hex


def public(url: str | None) -> bool:
    """Whether ``url`` is an address an announcement can point at: absolute http(s). A
    blog's answer is not trusted to give one (a relative or ``javascript:`` URL would make
    the announcement fail to build after the article is out, or point nowhere)."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced bracket where the host goes
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    if not isinstance(text, str):
        raise ValueError(f"not an ISO 8601 time: {text!r:.100}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r:.100} has no time zone")
    return moment


def _texts(text: Any, name: str) -> tuple[str, ...]:
    """A JSON list of texts (a hold's articles, accounts or announcements) as a tuple.

    Raises:
        ValueError: ``text`` is not one.
    """
    value = json.loads(text) if isinstance(text, str) else None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} is not a JSON list of texts: {text!r:.100}")
    return tuple(value)


def _damaged(exc: Exception) -> str:
    return f"the hold's row cannot be read back ({exc}): it was damaged or edited by hand"


class HoldStore(SQLiteStore):
    """The held announcements, in a SQLite file (the outbox's own, by default).

    Args:
        path: the SQLite file.
        timeout: how long to wait for another process's lock, in seconds.

    Raises:
        ConfigurationError: the file cannot be opened or belongs to a newer brandkit.
    """

    what = "campaign holds"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    meta_table = "campaign_meta"

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        # Whether the tables are known to be there (checked and migrated). Until the first
        # hold they are not made: listing the holds of an outbox that never held a
        # campaign created them, a read writing (and waiting for the file's write lock).
        self._made = False
        self._open(path, timeout)

    def _has_tables(self) -> bool:
        with self._reading() as db:
            row = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'campaign_holds'"
            ).fetchone()
        return row is not None

    def _migrate(self) -> None:
        """Migrate tables that are there (checking their version); make none."""
        if self._has_tables():
            self._made = True
            super()._migrate()

    def _upgrade(self, db: sqlite3.Connection) -> None:
        """Drop the announcement of every released or cancelled hold an earlier brandkit
        kept (the freed pages are reused by later writes; ``VACUUM`` shrinks the file)."""
        db.execute(
            "UPDATE campaign_holds SET data = '' "
            "WHERE status IN ('released', 'cancelled') AND data != ''"
        )

    def _ready(self) -> bool:
        """Whether there are holds to read: the tables may have been made since the store
        was opened (by the worker's process), and are then migrated as at opening."""
        if not self._made:
            self._migrate()
        return self._made

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, the tables made first when they are not there yet."""
        if not self._made:
            self._made = True  # the migration's own transaction comes back here
            try:
                super()._migrate()
            except BaseException:
                self._made = False
                raise
        with super()._tx() as db:
            yield db

    def add(self, campaign: Campaign, articles: Sequence[Delivery], now: datetime) -> Hold:
        """Hold ``campaign``'s announcement until one of ``articles`` is live."""
        with self._tx() as db:
            return self.add_in(db, campaign, articles, now)

    def make(self) -> None:
        """Make the tables if they are not there yet (their own transaction), so that a
        hold can be written in another connection's transaction (`add_in`)."""
        with self._tx():
            pass

    def add_in(
        self,
        db: sqlite3.Connection,
        campaign: Campaign,
        articles: Sequence[Delivery],
        now: datetime,
    ) -> Hold:
        """`add` in the transaction of ``db``, a connection to this store's file whose
        tables are made (`make`): the outbox's, writing the article's deliveries."""
        proto = campaign.announcement(STAND_IN)
        live_at = campaign.article.scheduled_at
        hold = Hold(
            id=uuid.uuid4().hex,
            name=campaign.campaign_name,
            articles=tuple(d.id for d in articles),
            accounts=tuple(a.key for a in campaign.to),
            live_at=live_at,
            check_at=max(live_at, now) if live_at else now,
            status="held",
            data=proto.model_dump_json(),
        )
        db.execute(
            "INSERT INTO campaign_holds (id, name, articles, accounts, live_at, check_at, "
            "status, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hold.id,
                hold.name,
                json.dumps(hold.articles),
                json.dumps(hold.accounts),
                _iso(live_at) if live_at else None,
                _iso(hold.check_at),
                hold.status,
                hold.data,
                _iso(now),
                _iso(now),
            ),
        )
        return hold

    @staticmethod
    def _read(row: Sequence[Any]) -> Hold:
        """The hold of a row, each column checked.

        Raises:
            ValueError: a column is not what `add` writes (damaged, or edited by hand).
        """
        accounts = _texts(row[3], "accounts")
        if not accounts:
            # Released, it would announce on no network and call itself done.
            raise ValueError("accounts is empty")
        live_at = _when(row[4]) if row[4] is not None else None
        for name, value in (("id", row[0]), ("name", row[1]), ("status", row[6])):
            if not isinstance(value, str):
                raise ValueError(f"{name} is not text: {value!r:.100}")
        for name, value in (("reason", row[7]), ("url", row[8]), ("data", row[10])):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} is not text: {value!r:.100}")
        check_at = _when(row[5])
        if check_at is None:
            raise ValueError("check_at is empty")
        return Hold(
            id=row[0],
            name=row[1],
            articles=_texts(row[2], "articles"),
            accounts=accounts,
            live_at=live_at,
            check_at=check_at,
            status=row[6],
            reason=row[7],
            url=row[8],
            announcements=_texts(row[9], "announcements") if row[9] else (),
            data=row[10] or "",
        )

    def _hold(self, row: Sequence[Any]) -> Hold:
        """The hold of a row; one that cannot be read back as it is listed from its id,
        status and reason (never an exception for every listing), which `due` fails."""
        try:
            return self._read(row)
        except (ValueError, TypeError) as exc:
            return Hold(
                id=str(row[0]),
                name=str(row[1]),
                articles=(),
                accounts=(),
                live_at=None,
                check_at=datetime(1970, 1, 1, tzinfo=UTC),
                status=str(row[6]),
                reason=row[7] if isinstance(row[7], str) else _damaged(exc),
            )

    _COLUMNS = (
        "id, name, articles, accounts, live_at, check_at, status, reason, url, announcements, data"
    )
    _LISTED = _COLUMNS.removesuffix("data") + "NULL"

    def get(self, hold_id: str) -> Hold | None:
        """The hold ``hold_id``, or ``None``."""
        if not self._ready():
            return None
        with self._reading() as db:
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM campaign_holds WHERE id = ?",  # noqa: S608
                (hold_id,),
            ).fetchone()
        return None if row is None else self._hold(row)

    def list(self, status: str | None = None) -> list[Hold]:
        """Every hold (or those with ``status``), oldest first, without its announcement
        (``data`` is empty: `get` has it).

        Raises:
            ConfigurationError: ``status`` is none of `STATUSES`.
        """
        # Not the announcement: it carries its media inline (a 1200x630 featured image is
        # some 350 KB of base64), and every hold ever made is listed, so a year of
        # launches had each listing read hundreds of megabytes to show ids and statuses.
        query = f"SELECT {self._LISTED} FROM campaign_holds"  # noqa: S608
        args: tuple[str, ...] = ()
        if status is not None:
            if status not in STATUSES:
                # A typo ("hold", "canceled") matched no hold: as if none were waiting.
                raise ConfigurationError(
                    f"a hold's status is 'held', 'released', 'failed' or 'cancelled'; "
                    f"got {status!r:.100}"
                )
            query += " WHERE status = ?"
            args = (status,)
        if not self._ready():
            return []
        with self._reading() as db:
            rows = db.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [self._hold(r) for r in rows]

    def due(self, now: datetime, limit: int = 100) -> builtins.list[Hold]:
        """Held announcements whose next look is due at ``now``, at most ``limit``, the
        longest due first.

        Raises:
            ConfigurationError: ``limit`` is not a whole number from 0 up (SQLite would read
                a negative one as no limit at all).
        """
        check_limit(limit, what="holds")
        if not self._ready():
            return []
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {self._COLUMNS} FROM campaign_holds "  # noqa: S608
                "WHERE status = 'held' AND check_at <= ? ORDER BY check_at LIMIT ?",
                (_iso(now), limit),
            ).fetchall()
        out = []
        for row in rows:
            try:
                out.append(self._read(row))
            except (ValueError, TypeError) as exc:
                # One damaged row must not stop every release: it fails, saying why.
                logger.warning("campaign hold %r: %s", row[0], _damaged(exc))
                self.failed(str(row[0]), _damaged(exc), now)
        return out

    def later(self, hold_id: str, at: datetime, reason: str, now: datetime) -> None:
        """Look at the hold again at ``at``; ``reason`` says what it waits for."""
        self._update(hold_id, now, check_at=_iso(at), reason=reason)

    def released(self, hold_id: str, url: str, deliveries: Sequence[str], now: datetime) -> bool:
        """The announcements are in the outbox; ``False`` when the hold was no longer held
        (cancelled, or released by another worker, meanwhile)."""
        with self._tx() as db:
            return self.released_in(db, hold_id, url, deliveries, now)

    @staticmethod
    def released_in(
        db: sqlite3.Connection, hold_id: str, url: str, deliveries: Sequence[str], now: datetime
    ) -> bool:
        """`released` in the transaction of ``db`` (the outbox's, writing the
        announcements): held becomes released there or not at all, so a cancel (its own
        transaction on the same row) comes either before, and nothing is written, or
        after, and is refused."""
        return HoldStore._update_in(
            db,
            hold_id,
            now,
            status="released",
            reason=None,
            url=url,
            announcements=json.dumps(list(deliveries)),
            data="",
        )

    def cancel(self, hold_id: str, now: datetime) -> Hold:
        """Cancel a held announcement: it will not be released. Returns the hold.

        Raises:
            ConfigurationError: no such hold, or it was released (its announcements are in
                the outbox: cancel those deliveries there) or failed already.
        """
        if not self._ready():
            raise ConfigurationError(f"no campaign hold {hold_id!r}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE campaign_holds SET status = 'cancelled', reason = ?, data = '', "
                "updated_at = ? WHERE id = ? AND status = 'held'",
                ("cancelled by the user", _iso(now), hold_id),
            )
            # Read in the same transaction: the status that refused the cancel, not one
            # another process wrote after it.
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM campaign_holds WHERE id = ?",  # noqa: S608
                (hold_id,),
            ).fetchone()
        if row is None:
            raise ConfigurationError(f"no campaign hold {hold_id!r}")
        hold = self._hold(row)
        if cur.rowcount != 1:
            more = (
                f"; cancel its deliveries in the outbox: {', '.join(hold.announcements)}"
                if hold.status == "released"
                else ""
            )
            raise ConfigurationError(f"campaign hold {hold_id!r} is {hold.status}{more}")
        return hold

    def failed(self, hold_id: str, reason: str, now: datetime) -> None:
        """The announcements will not go out; ``reason`` says why."""
        self._update(hold_id, now, status="failed", reason=reason)

    def _update(self, hold_id: str, now: datetime, **values: str | None) -> bool:
        """Set ``values`` on the hold if it is still held; whether it was."""
        with self._tx() as db:
            return self._update_in(db, hold_id, now, **values)

    @staticmethod
    def _update_in(
        db: sqlite3.Connection, hold_id: str, now: datetime, **values: str | None
    ) -> bool:
        """`_update` in the transaction of ``db``: one compare-and-set on the status."""
        sets = ", ".join(f"{k} = ?" for k in values)
        cur = db.execute(
            f"UPDATE campaign_holds SET {sets}, updated_at = ? "  # noqa: S608 - fixed names
            "WHERE id = ? AND status = 'held'",
            (*values.values(), _iso(now), hold_id),
        )
        return cur.rowcount == 1


_STORES: weakref.WeakKeyDictionary[Any, HoldStore] = weakref.WeakKeyDictionary()


def holds_for(outbox: Outbox) -> HoldStore:
    """The hold store beside ``outbox`` (in its SQLite file; one per outbox object).

    Raises:
        ConfigurationError: the outbox is not in a SQLite file.
    """
    store = _STORES.get(outbox)
    if store is None:
        path = getattr(outbox, "path", None)
        if not isinstance(path, str) or "://" in path:
            raise ConfigurationError(
                "campaign announcements are held beside a SQLite outbox; this outbox is not "
                "one (announce at once with a published article, or use a SQLite outbox)"
            )
        # An outbox in ":memory:" gets holds in memory too, kept with the outbox object.
        store = HoldStore(path, timeout=getattr(outbox, "timeout", 30.0))
        _STORES[outbox] = store
    return store


def _existing(outbox: Outbox) -> HoldStore | None:
    """The hold store beside ``outbox`` if any campaign was ever held there, else ``None``
    (without creating tables in an outbox that never held one)."""
    store = _STORES.get(outbox)
    if store is not None:
        return store
    path = getattr(outbox, "path", None)
    if not isinstance(path, str) or "://" in path or path == ":memory:":
        return None
    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'campaign_holds'"
            ).fetchone()
    except (sqlite3.Error, OSError, ValueError):
        return None
    return holds_for(outbox) if found else None


# -- releasing ---------------------------------------------------------------------------------


@attrs.frozen
class Plan:
    """What to do with one due hold: read its sent articles (each blog is asked when the
    worker has its account; ``reads`` says of which the stored answer cannot stand in for
    the blog's word), then `settle`."""

    hold: Hold
    articles: tuple[Delivery, ...]
    reads: tuple[bool, ...]


Answer = tuple["PartRef | None", "BrandkitError | None"]
"""What a blog said of one article when asked: its part as it is now, or the error."""


def states(deliveries: Sequence[Delivery]) -> str:
    """``"ghost:acme: failed (the error); ..."`` for messages."""
    return "; ".join(
        f"{d.account}: {d.status.value}" + (f" ({d.error})" if d.error else "") for d in deliveries
    )


def _status(ref: PartRef) -> str | None:
    value = ref.extra.get("status")
    if isinstance(value, bool):  # Forem: "published": true
        return "published" if value else "draft"
    return str(value) if value is not None else None


def plan(outbox: Outbox, hold: Hold, now: datetime, store: HoldStore) -> Plan | None:
    """The next step for ``hold``: ``None`` when it was settled (failed or put off) here."""
    stored = [outbox.get(i) for i in hold.articles]
    found = [d for d in stored if d is not None]
    # Sent without a public address yet (WordPress "pending" review) counts too: the blog
    # is asked, and the hold waits for it to publish the article like any status not live.
    sent = [d for d in found if d.status is DeliveryStatus.SENT and d.parts]
    if not sent:
        waiting = [
            d
            for d in found
            if d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)
        ]
        if not waiting:
            why = "; ".join(
                f"{d.account}: {d.status.value}" + (f" ({d.error})" if d.error else "")
                for d in found
            ) or ("its deliveries are gone from the outbox")
            store.failed(hold.id, f"the article was not published: {why}", now)
            logger.warning("campaign %s: not announced: the article was not published", hold.name)
            return None
        # Looked at again by the next run: the article may go out in this one (a look is
        # a read of the outbox, not of the blog).
        store.later(hold.id, now, "waiting for the article to be published", now)
        return None
    if hold.live_at is not None and hold.live_at > now:
        store.later(hold.id, hold.live_at, "waiting for the article's scheduled time", now)
        return None
    reads = []
    for article in sent:
        status = _status(article.parts[0])
        # A scheduled article's stored answer is from before it went live (WordPress gives
        # a future post a ?p= address): ask the blog again.
        reads.append(
            hold.live_at is not None
            or (status is not None and status not in _LIVE)
            or (status is None and article.platform in STATUS_PLATFORMS)
        )
    return Plan(hold, tuple(sent), tuple(reads))


@attrs.frozen
class _Look:
    """What one blog's answer means for the hold: ``live`` at ``text`` (the URL), or not,
    ``text`` saying why; ``wait``: it may be live later (``given_up`` says why not, once
    the hold stops waiting); ``until``: when the blog says it will make the article public
    (its scheduled time as the blog has it now)."""

    live: bool
    text: str
    wait: bool = False
    given_up: str = ""
    until: datetime | None = None


# The statuses of an article a blog will make public at its time (WordPress, Ghost, dev.to).
_SCHEDULED = frozenset({"future", "scheduled"})


def _blog_time(ref: PartRef) -> datetime | None:
    """The time the blog gives a scheduled article (WordPress ``date_gmt``, UTC without an
    offset; Ghost ``published_at``), or ``None`` when it gives none that can be read."""
    for key in ("date_gmt", "published_at"):
        value = ref.extra.get(key)
        if not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None


def _look(article: Delivery, read: bool, answer: Answer) -> _Look:
    ref, error = answer
    if error is not None:
        if _gone(error):
            return _Look(False, f"the article is gone from the blog: {error}")
        if not read:
            # Asked only in case it was taken down since: a blog that cannot answer now
            # (down, refusing the key) leaves its answer from when the article was made.
            return _look(article, read, (None, None))
        # A key revoked for good must not keep a hold asking every minute for ever, nor
        # release a stale announcement weeks later once someone fixes the key.
        why = f"could not ask the blog: {error}"
        return _Look(False, why, wait=True, given_up=why)
    if read and ref is None:
        # The blog must be asked (a scheduled article, or one not public when it was
        # made) and cannot be from here: the stored answer (its status, its URL, for Ghost
        # a /p/<uuid>/ preview) says nothing of now. Keep the hold for a worker that can.
        why = (
            f"the worker needs the account {article.account} to ask the blog whether the "
            "article is live (give it to the worker, e.g. Worker(outbox, [..., the blog's "
            "account]))"
        )
        return _Look(False, why, wait=True, given_up=f"could not ask the blog: {why}")
    current = ref or article.parts[0]
    status = _status(current)
    if status == "trash":
        return _Look(False, "the article is in the blog's trash")
    if status is not None and status not in _LIVE:
        return _Look(
            False,
            f"the blog says the article is {status!r}",
            wait=True,
            given_up=f"the blog still says the article is {status!r}",
            until=_blog_time(current) if status in _SCHEDULED else None,
        )
    url = current.url or article.url
    if not url:
        return _Look(False, "the blog gave the article no public URL")
    if not public(url):
        # What publish refuses to announce at once is held when there is an outbox: the
        # same check here, or the worker announced "javascript:..." or a relative path.
        return _Look(
            False, f"the blog gave the article no public http(s) address (it gave {url!r})"
        )
    return _Look(True, url)


def _said(articles: Sequence[Delivery], texts: Sequence[str]) -> str:
    """One blog's reason as it is; several blogs' each after its account."""
    if len(texts) == 1:
        return texts[0]
    return "; ".join(f"{a.account}: {t}" for a, t in zip(articles, texts, strict=True))


def settle(
    outbox: Outbox, store: HoldStore, step: Plan, answers: Sequence[Answer], now: datetime
) -> list[Delivery]:
    """Release ``step``'s hold when one of its articles is live (``answers``: what each
    blog says now, when it was asked, in the order of ``step.articles``, up to the first
    live one), else put it off or fail it. Returns the deliveries written."""
    hold = step.hold
    # The day's wait counts from the article's time, or from when it went out if that was
    # later (a time already past when it was queued, a worker down over the weekend):
    # else the first look that the blog did not answer failed the hold of a live article.
    sent = min(article.updated_at for article in step.articles)
    since = max(hold.live_at, sent) if hold.live_at else sent
    looked = list(zip(step.articles, step.reads, answers, strict=False))
    looks = [_look(article, read, answer) for article, read, answer in looked]
    articles = [article for article, _, _ in looked]
    url = next((look.text for look in looks if look.live), None)
    if url is None:
        waiting = [(a, look) for a, look in zip(articles, looks, strict=True) if look.wait]
        # An embargo moved later on the blog (rescheduled there after it was queued): its
        # new time is waited for, and the blog gets its day from then. Else the hold asked
        # every minute from the first time on and failed a day later, and the article went
        # live unannounced.
        until = [w.until for _, w in waiting if w.until is not None]
        if until:
            since = max(since, *until)
        if not waiting:
            store.failed(hold.id, _said(articles, [look.text for look in looks]), now)
        elif now - since > GIVE_UP:
            # The same bound whatever keeps the hold waiting: the blog saying "not live",
            # or not answering at all.
            store.failed(
                hold.id, _said([a for a, _ in waiting], [w.given_up for _, w in waiting]), now
            )
        else:
            at = now + POLL
            why = _said([a for a, _ in waiting], [w.text for _, w in waiting])
            if len(until) == len(waiting) and min(until) > at:
                # Every blog that may make it public has a time for it: the first one.
                at = min(until)
                why = f"{why}, until {at.isoformat()}"
            store.later(hold.id, at, why, now)
        return []
    try:
        post = hold.announcement(url)
    except BrandkitError as exc:
        store.failed(hold.id, f"the announcement cannot be built: {exc}", now)
        return []
    out = announce(outbox, store, hold, url, post, now)
    if out is None:
        # Cancelled (or settled by another worker) while the blog was asked.
        logger.info("campaign %s: hold %s was settled meanwhile", hold.name, hold.id)
        return []
    logger.info(
        "campaign %s: article live at %s; %d announcement(s) queued", hold.name, url, len(out)
    )
    return out


def announce(
    outbox: Outbox,
    store: HoldStore,
    hold: Hold,
    url: str,
    post: Post,
    now: datetime,
    *,
    take: bool = False,
) -> list[Delivery] | None:
    """Mark ``hold`` released at ``url`` and write its announcements (``post``, one
    delivery per account, with ids made from the hold and the account) to ``outbox``, in
    one transaction; ``None`` (nothing written) when the hold is no longer held: cancelled,
    failed, or released by another process.

    ``take``: this process sends them now, so they are written leased to it (as
    `Client.publish` writes its own first), else ``pending`` for a worker to claim.
    """
    deliveries = [
        Delivery(
            id=hold.delivery_id(key),
            account=key,
            platform=key.split(":", 1)[0],
            post=post,
            created_at=now,
            updated_at=now,
        )
        for key in hold.accounts
    ]
    ids = [d.id for d in deliveries]
    if outbox.path in ("", ":memory:"):
        # The holds are in a database of their own (see queue): no shared transaction,
        # and in one process nothing else can release or cancel between the two writes.
        if not store.released(hold.id, url, ids, now):
            return None
        if take:
            outbox.save_many(deliveries)
            return deliveries
        return [outbox.insert_once(d) for d in deliveries]
    # One transaction for the hold's status and its announcements: written apart, a
    # cancel (or another worker's claim) slipped in between, and a cancelled hold's
    # announcements were sent, or a released hold's lost to a crash.
    with outbox.transaction() as tx:
        if not store.released_in(tx.connection, hold.id, url, ids, now):
            return None
        # One already stored was written by an earlier brandkit's release that stopped
        # before the hold: it is returned as stored.
        return [tx.insert_once(d, lease=take) for d in deliveries]


def _gone(error: BrandkitError) -> bool:
    """Whether ``error`` is the blog saying the article is not there (404, 410)."""
    return isinstance(error, PlatformError) and getattr(error, "status_code", None) in (404, 410)


def _noted(
    down: dict[str, BrandkitError], article: Delivery, error: BrandkitError
) -> BrandkitError:
    """``error``, noted in ``down`` under the blog's account when it is not about this
    article (the blog down, refusing the key): each look runs the client's whole retry
    sequence, and a run with many holds on one blog must not wait it out for each of
    them while no other account's posts go out. Its other holds wait as this one does."""
    if not _gone(error):
        down[article.account] = error
    return error


def _reader(
    accounts: Mapping[str, Account], article: Delivery, adapter_for: Callable[[Account], Any]
) -> tuple[Any, Any] | None:
    account = accounts.get(article.account)
    if account is None:
        return None
    adapter = adapter_for(account)
    read = getattr(adapter, "read_article", None)
    if read is None:
        return None
    return adapter, read(article.parts[0])


def _known(
    accounts: Mapping[str, Account] | Iterable[Account] | None, client: Client | AsyncClient
) -> dict[str, Account]:
    """The accounts a release may ask blogs with, by key (the client's when none given).

    Raises:
        ConfigurationError: ``accounts`` holds something other than accounts.
    """
    if accounts is None:
        return client._core.accounts
    if isinstance(accounts, Account):
        values: Iterable[Any] = (accounts,)
    elif isinstance(accounts, Mapping):
        values = accounts.values()
    elif isinstance(accounts, str | bytes) or not isinstance(accounts, Iterable):
        values = (accounts,)
    else:
        values = accounts
    out: dict[str, Account] = {}
    for account in values:
        if not isinstance(account, Account):
            raise ConfigurationError(
                "release(outbox, client, accounts) takes Account objects (a list, or a "
                f"mapping by key), got {type(account).__name__} {account!r:.60}"
            )
        out[account.key] = account
    return out or client._core.accounts


def _aware(now: datetime | None) -> datetime:
    """``now`` (default: the current time), checked to carry a time zone.

    Raises:
        ConfigurationError: ``now`` is not a datetime, or has no time zone.
    """
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        # A naive time was read as the machine's local time to pick the due holds, then
        # failed every release comparing it with the aware scheduled times.
        raise ConfigurationError(
            f"release(now=...) takes a datetime with a time zone, e.g. "
            f"datetime.now(UTC); got {now!r:.80}"
        )
    return now


def release(
    outbox: Outbox,
    client: Client,
    accounts: Mapping[str, Account] | Iterable[Account] | None = None,
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """Queue the announcements whose article is now live; returns their deliveries.

    Holds whose article is not live yet are looked at again later (see `POLL`); those
    whose article failed fail with the reason. ``accounts`` (a list, or a mapping by key;
    the client's when not given) are those the blogs may be asked with.

    Raises:
        ConfigurationError: ``accounts`` holds something other than accounts, or ``now``
            has no time zone.
        OutboxConflict: the outbox stayed locked by another process.
    """
    known = _known(accounts, client)
    at = _aware(now)
    store = _existing(outbox)
    if store is None:
        return []
    out: list[Delivery] = []
    down: dict[str, BrandkitError] = {}
    for hold in store.due(at):
        step = plan(outbox, hold, at, store)
        if step is None:
            continue
        answers: list[Answer] = []
        for article, read in zip(step.articles, step.reads, strict=True):
            ref, error = None, None
            # Asked whenever the worker can, not only when it must: the article may have
            # been taken down since the answer stored when it was made.
            found = _reader(known, article, client._core.adapter_for)
            if article.account in down:
                error = down[article.account]
            elif found is not None:
                try:
                    ref = client.run(*found)
                except BrandkitError as exc:
                    error = _noted(down, article, exc)
            answers.append((ref, error))
            if _look(article, read, (ref, error)).live:
                break  # the other blogs need not be asked
        out.extend(settle(outbox, store, step, answers, at))
    return out


async def arelease(
    outbox: Outbox,
    client: AsyncClient,
    accounts: Mapping[str, Account] | Iterable[Account] | None = None,
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """`release` with an `AsyncClient`: its reads and writes of the SQLite file run off
    the event loop (a file locked by another process must not stop the loop, where other
    accounts' requests are under way), the blogs are asked on it."""
    known = _known(accounts, client)
    at = _aware(now)
    store = await asyncio.to_thread(_existing, outbox)
    if store is None:
        return []
    out: list[Delivery] = []
    down: dict[str, BrandkitError] = {}
    for hold in await asyncio.to_thread(store.due, at):
        step = await asyncio.to_thread(plan, outbox, hold, at, store)
        if step is None:
            continue
        answers: list[Answer] = []
        for article, read in zip(step.articles, step.reads, strict=True):
            ref, error = None, None
            # Asked whenever the worker can, not only when it must: the article may have
            # been taken down since the answer stored when it was made.
            found = _reader(known, article, client._core.adapter_for)
            if article.account in down:
                error = down[article.account]
            elif found is not None:
                try:
                    ref = await client.run(*found)
                except BrandkitError as exc:
                    error = _noted(down, article, exc)
            answers.append((ref, error))
            if _look(article, read, (ref, error)).live:
                break  # the other blogs need not be asked
        out.extend(await asyncio.to_thread(settle, outbox, store, step, answers, at))
    return out


def before_claim(
    outbox: Outbox, client: Client, accounts: Mapping[str, Account], now: datetime
) -> None:
    """The worker's hook: release what is due before it claims, so that announcements
    whose article is live go out in the same run. Never raises: a hold that cannot be
    looked at now is looked at in a later run, and the worker's own work goes on."""
    try:
        release(outbox, client, accounts, now=now)
    except Exception:
        logger.exception("campaign holds could not be released in this run")


async def abefore_claim(
    outbox: Outbox, client: AsyncClient, accounts: Mapping[str, Account], now: datetime
) -> None:
    """`before_claim` with an `AsyncClient`."""
    try:
        await arelease(outbox, client, accounts, now=now)
    except Exception:
        logger.exception("campaign holds could not be released in this run")
