"""The outbox on SQLite: every delivery written down before its first byte is sent.

One file, WAL mode, ``synchronous=FULL`` (a committed row survives a power cut, not only a
killed process), every table prefixed ``outbox_`` so other stores may share the file.

Concurrency rests on two things:

* a **lease** (``lease_owner`` as ``host:pid:fingerprint.nonce``, ``lease_until``): the
  process that is publishing a delivery holds it; `Outbox.claim` takes only deliveries
  (and accounts) no live process holds, inside one ``BEGIN IMMEDIATE`` transaction, so two
  workers never take the same delivery. A process of this machine (and process namespace:
  the fingerprint) holds its leases as long as it runs and loses them the moment it is
  gone (a worker restarted after ``kill -9`` does not wait); leases of other machines and
  namespaces end when they expire.
* a **version check in** `Outbox.save`: a save that would start another attempt from a
  stale copy, forget a confirmed part, reopen a finished delivery or overwrite another live
  process's work is refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import itertools
import json
import os
import socket
import sqlite3
import stat
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import pydantic_core

from brandkit._durations import MAX_LOCK_WAIT, checked_seconds, lock_wait
from brandkit._limits import check_limit
from brandkit._sqlite import SQLiteStore
from brandkit.accounts import Account
from brandkit.backends import sql_kind
from brandkit.content import render
from brandkit.content._article import Article
from brandkit.content._media import Media
from brandkit.content._model import Post
from brandkit.delivery import Content, Delivery, DeliveryStatus, send_at
from brandkit.errors import (
    BrandkitError,
    ConfigurationError,
    ContentError,
    MediaError,
    OutboxConflict,
    TransportError,
)
from brandkit.platforms._base import PartRef

if TYPE_CHECKING:
    from brandkit.inbox._model import Message

__all__ = ["Outbox", "OutboxEvent", "OutboxTransaction", "media_files", "missing_media"]

SCHEMA_VERSION = 1

# The history table's columns, for the schema and for the rebuild of an older file.
_EVENTS_TABLE = """(
    seq INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    note TEXT
)"""
_EVENTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS outbox_events_delivery ON outbox_events (delivery_id, seq)"
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS outbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    platform TEXT NOT NULL,
    status TEXT NOT NULL,
    campaign TEXT,
    scheduled_at TEXT,
    not_before TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    parts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_deliveries_due
    ON outbox_deliveries (status, scheduled_at);
CREATE INDEX IF NOT EXISTS outbox_deliveries_account ON outbox_deliveries (account, status);
CREATE INDEX IF NOT EXISTS outbox_deliveries_in_campaign
    ON outbox_deliveries (campaign) WHERE campaign IS NOT NULL;
-- Every index a write touches is one more page in each commit's fsync'd WAL: no query
-- reads by update time, a listing by platform scans as an unfiltered one does, and a post
-- outside a campaign has no campaign entry. Files made before lose these three.
DROP INDEX IF EXISTS outbox_deliveries_platform;
DROP INDEX IF EXISTS outbox_deliveries_campaign;
DROP INDEX IF EXISTS outbox_deliveries_updated;
CREATE INDEX IF NOT EXISTS outbox_deliveries_leased
    ON outbox_deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox_events {_EVENTS_TABLE};
{_EVENTS_INDEX};
"""

# History rows are never deleted, so a plain rowid key grows as AUTOINCREMENT's did, without
# writing the sqlite_sequence page in every commit. Files made before are rebuilt to it.
_EVENTS_WITHOUT_AUTOINCREMENT = f"""
CREATE TABLE outbox_events_new {_EVENTS_TABLE};
INSERT INTO outbox_events_new (seq, delivery_id, at, status, attempts, parts, note)
    SELECT seq, delivery_id, at, status, attempts, parts, note FROM outbox_events;
DROP TABLE outbox_events;
ALTER TABLE outbox_events_new RENAME TO outbox_events;
{_EVENTS_INDEX};
DELETE FROM sqlite_sequence WHERE name = 'outbox_events'
"""  # noqa: S608 - constant text

# A finished delivery may only move on to these (a sent post may still be deleted).
_AFTER_FINISHED: dict[str, frozenset[str]] = {
    "sent": frozenset({"sent", "deleted"}),
    "deleted": frozenset({"deleted"}),
    "cancelled": frozenset({"cancelled"}),
}
# While a delivery is in these states the process saving it holds its lease.
_IN_FLIGHT = frozenset({"pending", "sending"})

_HOST = socket.gethostname()


def _fingerprint() -> str | None:
    """This machine's boot and process namespace, in 8 hex digits (``None`` where they
    cannot be read): two containers with the same host name differ, so a process id is
    only ever checked in the namespace it belongs to."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return hashlib.blake2b(f"{boot}:{namespace}".encode(), digest_size=4).hexdigest()


# In every owner (``host:pid:fingerprint.nonce``): a process id is only ever judged in the
# process namespace it belongs to.
_HERE = _fingerprint()


def _iso(dt: datetime) -> str:
    """A fixed-width UTC timestamp, so that text order is time order in SQL.

    Raises:
        ConfigurationError: ``dt`` is not a timezone-aware `datetime`, or has no UTC time
            (year 0 or 10000 once its offset is taken away).
    """
    if not isinstance(dt, datetime):
        raise ConfigurationError(
            f"outbox times must be timezone-aware datetimes (e.g. datetime.now(UTC)), "
            f"not {type(dt).__name__} {dt!r}"
        )
    tz = dt.tzinfo
    if tz is None:
        raise ConfigurationError("outbox times must be timezone-aware")
    if tz is not UTC:
        try:
            dt = dt.astimezone(UTC)
        except OverflowError:
            raise ConfigurationError(
                f"outbox time {dt.isoformat()} is out of range: give a time between years 1 "
                "and 9999 in UTC"
            ) from None
    return dt.isoformat(timespec="microseconds")


def _isoformat(dt: datetime, fixed: str | None) -> str:
    """``dt.isoformat()``, taken from ``fixed`` (its `_iso`) when that is the same text: a
    UTC time with microseconds."""
    if fixed is not None and dt.tzinfo is UTC and dt.microsecond:
        return fixed
    return dt.isoformat()


MAX_LEASE = 7 * 86_400.0
"""The longest lease an outbox takes (seconds): a crashed machine's deliveries are taken
over at the latest this long after it stopped."""


def _lease_seconds(lease: Any) -> float:
    """``lease`` as seconds.

    Raises:
        ConfigurationError: it is not a number of seconds above 0 and at most `MAX_LEASE`.
    """
    # A lease that is already over when it is taken lets a second worker send the same
    # delivery while the first is still sending it: the double post the lease is there
    # to prevent.
    return checked_seconds(
        lease,
        name="lease",
        most=MAX_LEASE,
        why="how long a process of another machine holds a delivery without saving it, at "
        "most 7 days; 0 would let two workers send the same post; e.g. 600",
    )


# The furthest end of a lease an outbox can have written (`MAX_LEASE`, and a day for a
# clock set back meanwhile): one ending later holds nothing.
_FAR_LEASE = MAX_LEASE + 86_400.0

MAX_TIMEOUT = MAX_LOCK_WAIT
"""The longest an outbox waits for another process's lock (seconds)."""


def _alive(pid: int) -> bool:
    if os.name != "posix":
        # os.kill(pid, 0) would terminate the process on Windows: rely on lease expiry.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# What each open SQLite outbox of this process is working on: its owner, and the ids of the
# deliveries it leased and has not given back (claimed, or saved pending or sending).
# Another process is told alive by its id; an outbox of this one holds a delivery while it
# is here (see _local_owner_alive), as a PostgreSQL outbox renews only what it holds. An
# outbox leaves at close, or when it is collected without one.
_IN_HAND: dict[str, set[str]] = {}


def _local_owner_alive(owner: str, delivery_id: str | None = None) -> bool | None:
    """Whether ``owner`` (``host:pid:fingerprint.nonce``) is a live process of this
    machine, or an open outbox of this very process working on ``delivery_id``; ``None``
    when that cannot be told (another machine, another process namespace under the same
    host name, an outbox of this process that was closed or has let the delivery go, an
    unknown format). An owner written before owners carried a fingerprint
    (``host:pid:nonce``) is judged by its process id alone."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return None
    host, pid_text, nonce = parts
    if host != _HOST or not pid_text.isdigit():
        return None
    fingerprint, dot, _ = nonce.partition(".")
    if dot and fingerprint != (_HERE or "x"):
        # A container sharing the host's name (host networking): its process ids are not
        # this namespace's, and one that no process here has may be sending right now.
        return None
    if int(pid_text) == os.getpid():
        # Another worker of this process (or this outbox's own next claim, made while the
        # send is still on its way) must not take a delivery whose send outlasts the lease:
        # it would find nothing on the platform yet and send the post again. A lease its
        # outbox let go of (a release that failed) or left behind (closed) expires.
        held = _IN_HAND.get(owner)
        return True if held is not None and delivery_id in held else None
    if os.name != "posix":
        # _alive cannot ask (it answers "alive" for every process): judged so, a worker
        # killed mid-send would hold its delivery, and its account's later posts, for ever.
        return None
    return _alive(int(pid_text))


def _stored_media(value: Any) -> Any:
    """A stored media item back as [`Media`][brandkit.Media] without opening its file.

    The values were measured from the file when the post was made; reading the file again
    at every load would let one deleted image make the whole outbox unreadable. Whether the
    file is still there is checked when the delivery is sent (`missing_media`).
    """
    if isinstance(value, dict) and value.get("path") is not None:
        fields = {k: v for k, v in value.items() if k in Media.model_fields}
        fields["path"] = Path(fields["path"])
        return Media.model_construct(**fields)
    return value


def _stored_post(post: dict[str, Any], article: bool = False) -> dict[str, Any]:
    post = dict(post)
    if article:
        post["featured_image"] = _stored_media(post.get("featured_image"))
        return post
    post["media"] = [_stored_media(m) for m in post.get("media") or ()]
    link = post.get("link")
    if isinstance(link, dict) and link.get("thumbnail") is not None:
        post["link"] = {**link, "thumbnail": _stored_media(link["thumbnail"])}
    variants = post.get("variants")
    if isinstance(variants, dict):
        post["variants"] = {
            name: (
                {**v, "media": [_stored_media(m) for m in v["media"]]}
                if isinstance(v, dict) and v.get("media") is not None
                else v
            )
            for name, v in variants.items()
        }
    return post


# Deliveries whose stored post could not be read: the post as stored, and why.
_UNREADABLE: weakref.WeakKeyDictionary[Delivery, tuple[Any, str]] = weakref.WeakKeyDictionary()
# Each delivery's post object and the JSON written for it (see Outbox._post_json).
_POST_JSON: weakref.WeakKeyDictionary[Delivery, tuple[Content, str]] = weakref.WeakKeyDictionary()

# The columns every write sets, in this order (Outbox._columns), then the lease.
_COLUMNS = (
    "account, platform, status, campaign, scheduled_at, attempts, error, parts, created_at, "
    "updated_at, data, lease_owner, lease_until"
)
# Fixed texts, so that sqlite3's statement cache prepares each of them once per connection.
_SELECT_STATE = (
    "SELECT status, attempts, parts, lease_owner, lease_until, error, "
    "account, platform, campaign, scheduled_at, created_at FROM outbox_deliveries WHERE id = ?"
)
_INSERT = (
    f"INSERT INTO outbox_deliveries ({_COLUMNS}, not_before, id) "  # noqa: S608 - constant
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
_UPDATE = f"UPDATE outbox_deliveries SET {_SET} WHERE id = ?"  # noqa: S608 - constant text
_UPDATE_NOT_BEFORE = f"UPDATE outbox_deliveries SET {_SET}, not_before = ? WHERE id = ?"  # noqa: S608
# A save that leaves the row's identity (account, platform, the post's campaign and time,
# creation) as stored sets only what changes: the indexes on the rest are not touched, and
# every index page a commit touches is written to the WAL and synced.
_UPDATE_STATE = (
    "UPDATE outbox_deliveries SET status = ?, attempts = ?, error = ?, parts = ?, "
    "updated_at = ?, data = ?, lease_owner = ?, lease_until = ? WHERE id = ?"
)
# A save of a delivery this outbox wrote last: its state row as remembered must still be
# the stored one (the values of _SELECT_STATE, in its order), else nothing is written and
# the save reads the row (see Outbox._save_in).
_UPDATE_STATE_IF = (
    f"{_UPDATE_STATE} AND status = ? AND attempts = ? AND parts = ? AND lease_owner IS ? "
    "AND lease_until IS ? AND error IS ? AND account = ? AND platform = ? AND campaign IS ? "
    "AND scheduled_at IS ? AND created_at = ?"
)
# A delivery's first save: no read before it; a row already there writes nothing.
_INSERT_NEW = f"{_INSERT} ON CONFLICT (id) DO NOTHING"
_SELECT_LEASE = "SELECT status, lease_owner FROM outbox_deliveries WHERE id = ?"
_RELEASE = "UPDATE outbox_deliveries SET lease_owner = NULL, lease_until = NULL WHERE id = ?"
_RELEASE_UNTIL = (
    "UPDATE outbox_deliveries SET lease_owner = NULL, lease_until = NULL, not_before = ? "
    "WHERE id = ?"
)

# One history row: delivery_id, at, status, attempts, parts, note.
_EventRow = tuple[str, str, str, int, int, str | None]
# A delivery's state row as _SELECT_STATE reads it: status, attempts, parts, lease_owner,
# lease_until, error, account, platform, campaign, scheduled_at, created_at.
_State = tuple[Any, ...]
# How many deliveries' last written state an outbox remembers (see Outbox._save_in).
_REMEMBERED = 4096


@functools.cache
def _insert_events_sql(rows: int) -> str:
    """One INSERT for ``rows`` history rows (a state change writes one or two)."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    head = "INSERT INTO outbox_events (delivery_id, at, status, attempts, parts, note) VALUES "
    return head + values


# One encoder for every save: json.dumps with options makes a new one per call.
_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _dumps(value: Any) -> str:
    """Compact JSON with non-ASCII text kept, as the standard library writes it (the same
    text for the plain data stored here), by pydantic-core's serializer: a delivery's data
    in a third of the time. What it refuses (a lone surrogate) goes to the standard
    library, which decides as it always did."""
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError:
        return _std_dumps(value)


def _accounts_given(accounts: Any) -> builtins.list[Account]:
    """``accounts`` (an `Account`, or a list or other iterable of them) as a list.

    Raises:
        ConfigurationError: it is anything else: a key, a mapping (iterated, it gives its
            keys), something holding what is not an `Account`.
    """
    if isinstance(accounts, Account):
        return [accounts]
    what = f"{type(accounts).__name__} {accounts!r}"
    if not isinstance(accounts, str | bytes | Mapping):
        try:
            items = builtins.list(accounts)
        except TypeError:
            items = None
        if items is not None:
            wrong = [a for a in items if not isinstance(a, Account)]
            if not wrong:
                return items
            what = f"a {type(accounts).__name__} holding {type(wrong[0]).__name__} {wrong[0]!r}"
    raise ConfigurationError(
        f"accounts must be an Account or a list of Account objects, not {what} (for "
        "Account.load's mapping, pass its .values())"
    )


def _account_keys(accounts: Any) -> builtins.list[str] | None:
    """``accounts`` (account keys, ``platform:name``) as a list; ``None`` stays ``None``.

    Raises:
        ConfigurationError: it is a single string (read as its characters, it matched
            nothing), not iterable, or holds something that is not a string.
    """
    if accounts is None:
        return None
    if not isinstance(accounts, str | bytes):
        try:
            keys = builtins.list(accounts)
        except TypeError:
            keys = None
        if keys is not None and all(isinstance(k, str) for k in keys):
            return keys
    raise ConfigurationError(
        f"accounts must be a list of account keys (platform:name, e.g. "
        f"['mastodon:acme']), not {accounts!r}"
    )


# The columns a delivery is read with: its JSON, then the row's own columns, which stand in
# for a JSON that cannot be read (Outbox._load).
_ROW = "data, id, account, platform, status, created_at"

RECALL_LIMIT = 10_000
"""The most deliveries `Outbox.recorded_ids` reads (the newest written)."""


def _damaged(row: Sequence[Any] | None, stored: Any, reason: str) -> Delivery:
    """The stand-in of a delivery whose stored JSON cannot be read, from its row's
    columns (`_ROW` after ``data``), marked unreadable so that `Outbox.claim` fails it
    alone; its post is written back as stored (``None`` when even that is lost).

    Raises:
        BrandkitError: ``row`` is not given, or its id, account or platform cannot make
            a delivery either.
    """
    what = f"the stored delivery cannot be read ({reason})"
    if row is None:
        raise BrandkitError(f"{what}: list the outbox to find it, then cancel it")
    delivery_id, account, platform, status, created = row[:5]
    try:
        # A status or time column damaged too must not make every listing and claim
        # raise: such a row is shown failed (claims read the column, and never take it)
        # and dated at the epoch, and can be cancelled.
        state = DeliveryStatus(status) if status in _STATUSES else DeliveryStatus.FAILED
        delivery = Delivery(
            id=str(delivery_id),
            account=str(account),
            platform=str(platform),
            status=state,
            post=_stand_in(stored),
            created_at=_column_time(created),
            updated_at=_column_time(created),
        )
    except (ValueError, TypeError) as exc:
        raise BrandkitError(f"delivery {delivery_id!r}: {what}; its row too: {exc}") from None
    _UNREADABLE[delivery] = (stored, reason)
    _POST_JSON[delivery] = (delivery.post, _dumps(stored))
    return delivery


_STATUSES = frozenset(s.value for s in DeliveryStatus)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _column_time(value: Any) -> datetime:
    """A row's time column as an aware datetime; the epoch when it holds none."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return _EPOCH
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


# The text `_iso` writes, as a GLOB: a time column that does not match it (a hand edit,
# another tool, a write cut short) is found by the due query itself, however its text sorts
# against a real time, and the claim fails its row (`_time_faults`) rather than leave it
# never due, holding its account's later posts back, or sent at a time nobody wrote.
_ISO_GLOB = (
    "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]."
    "[0-9][0-9][0-9][0-9][0-9][0-9]+00:00"
)
# The time columns a claim checks, in the order the due query selects them.
_TIME_COLUMNS = ("scheduled_at", "not_before")


def _bad_time(value: Any) -> bool:
    """Whether a stored time column holds anything but a time `_iso` wrote (``None`` is
    no time, not a bad one)."""
    if value is None:
        return False
    if not isinstance(value, str):
        return True
    try:
        return _iso(datetime.fromisoformat(value)) != value
    except (ValueError, ConfigurationError):
        return True


def _time_faults(values: Sequence[Any]) -> builtins.list[tuple[str, Any]]:
    """The damaged ones of a row's time columns (`_TIME_COLUMNS`' values), by name."""
    return [(name, v) for name, v in zip(_TIME_COLUMNS, values, strict=True) if _bad_time(v)]


def _row_faults(status: Any, times: Sequence[Any]) -> builtins.list[tuple[str, Any]]:
    """The damaged columns of a due row: its status column (one no brandkit writes: the
    due query takes such a row, see `_UNKNOWN_STATUS`), then its times."""
    faults = [("status", status)] if status not in _STATUSES else []
    return faults + _time_faults(times)


def _unknown_status_sql() -> str:
    """SQL: the status column holds no status (a hand edit, e.g. ``PENDING`` meant to
    requeue a post; another tool). Such a row is due at once, so that the claim settles it
    from the delivery it stores, rather than list it as one thing while no claim ever takes
    it. Written as the ranges between the statuses, not ``NOT IN``: each is a search of the
    status index, where ``NOT IN`` made every claim scan the whole table."""
    known = sorted(s.value for s in DeliveryStatus)
    gaps = [f"(status > '{a}' AND status < '{b}')" for a, b in itertools.pairwise(known)]
    return "(" + " OR ".join([f"status < '{known[0]}'", f"status > '{known[-1]}'", *gaps]) + ")"


_UNKNOWN_STATUS = _unknown_status_sql()


def _read_events(rows: Iterable[Sequence[Any]]) -> builtins.list[OutboxEvent]:
    """History rows (at, status, attempts, parts, note) as events. A row no brandkit wrote
    (a hand edit, another tool) is shown, not raised for the whole history: what cannot be
    read is taken from the step before (the first: pending, at the epoch, 0) and its note
    says which columns are damaged and what they held."""
    events: builtins.list[OutboxEvent] = []
    for at, status, attempts, parts, note in rows:
        before = events[-1] if events else None
        damaged: builtins.list[str] = []
        when = at if isinstance(at, datetime) else None
        if when is None and isinstance(at, str):
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                when = None
        if when is None or when.tzinfo is None:
            damaged.append(f"time {str(at)[:40]!r}")
            when = before.at if before is not None else _EPOCH
        if status in _STATUSES:
            state = DeliveryStatus(status)
        else:
            damaged.append(f"status {str(status)[:40]!r}")
            state = before.status if before is not None else DeliveryStatus.PENDING
        counts = []
        for name, value in (("attempts", attempts), ("parts", parts)):
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                counts.append(value)
            else:
                damaged.append(f"{name} {str(value)[:40]!r}")
                counts.append(getattr(before, name) if before is not None else 0)
        text = note if isinstance(note, str) or note is None else str(note)
        if damaged:
            said = f"(damaged history row: {', '.join(damaged)})"
            text = f"{said} {text}" if text else said
        events.append(OutboxEvent(when, state, counts[0], counts[1], text))
    return events


class _Unset:
    """Marks an argument that was not given (``None`` is a value: "clear it")."""


_UNSET = _Unset()


def _stand_in(stored: Any) -> Post:
    """A post to show for one that cannot be read: its text (an article's title), campaign
    and time, if any."""
    post = stored if isinstance(stored, dict) else {}
    text, campaign, when = post.get("text"), post.get("campaign"), post.get("scheduled_at")
    if text is None and "title" in post:
        # An article: never held for later (the blog schedules it), shown by its title.
        text, when = post.get("title"), None
    try:
        scheduled = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        scheduled = None
    if scheduled is not None and scheduled.tzinfo is None:
        scheduled = None
    return Post.model_construct(
        # Some text: a post with none (and no media or link) is refused when it is read back,
        # and the delivery would have to be taken apart from its row again.
        text=text if isinstance(text, str) and text else "(a post this brandkit cannot read)",
        campaign=campaign if isinstance(campaign, str) else None,
        scheduled_at=scheduled,
    )


def media_files(post: Content, platform: str) -> list[Media]:
    """The media of ``post`` that are local files, as ``platform`` gets them (an article's
    featured image); empty for a post without any (nothing to check on the disk)."""
    media: list[Media] = []
    if isinstance(post, Article):
        if post.featured_image is not None:
            media.append(post.featured_image)
    else:
        effective = post.for_platform(platform)
        media.extend(effective.media)
        if effective.link is not None and effective.link.thumbnail is not None:
            media.append(effective.link.thumbnail)
    return [item for item in media if item.path is not None]


def missing_media(post: Content, platform: str) -> MediaError | None:
    """The error for the first media file of ``post`` (as ``platform`` gets it; an
    article's featured image) that is gone, is no longer a regular file, or changed size
    since the post was made; else ``None``. Only ``stat`` is called: nothing is read."""
    for item in media_files(post, platform):
        assert item.path is not None  # media_files keeps files only
        name = str(item.path)
        try:
            info = os.stat(item.path)
        except OSError as exc:
            return MediaError(
                f"media file {name!r} is gone ({exc.strerror or exc}): put it back and retry "
                "the delivery, or cancel it",
                field="media",
                platform=platform,
            )
        if not stat.S_ISREG(info.st_mode):
            return MediaError(
                f"media file {name!r} is no longer a regular file", field="media", platform=platform
            )
        if item.size and info.st_size != item.size:
            return MediaError(
                f"media file {name!r} changed since the post was made ({item.size:,} bytes "
                f"then, {info.st_size:,} now): add the post again to use the new file",
                field="media",
                platform=platform,
            )
    return None


class OutboxTransaction:
    """One write transaction of an outbox, as [`Outbox.transaction`][brandkit.Outbox.transaction]
    yields it: deliveries written through it and the caller's own statements on
    `connection` are committed together when the ``with`` block ends, or not at all when
    it raises.

    Attributes:
        connection: the database handle the transaction runs on, for the caller's own
            statements: a ``sqlite3.Connection`` for a SQLite outbox (``?`` parameters), a
            psycopg cursor for a PostgreSQL one (``%s`` parameters). Never commit or roll
            back on it: the ``with`` block does.
    """

    def __init__(self, outbox: Outbox, connection: Any) -> None:
        self._outbox: Outbox | None = outbox
        self.connection = connection

    def _open(self) -> Outbox:
        if self._outbox is None:
            raise ConfigurationError(
                "this outbox transaction is over (its with block ended): write in a new "
                "one, with outbox.transaction() as tx: ..."
            )
        return self._outbox

    def _end(self) -> None:
        self._outbox = None
        self.connection = None

    def save(self, delivery: Delivery) -> None:
        """[`Outbox.save`][brandkit.Outbox.save] in this transaction: a delivery
        ``pending`` or ``sending`` is written leased to this outbox (it sends it now).

        Raises:
            BrandkitError: as `Outbox.save` (the save conflicts with what is stored);
                raised out of the ``with`` block, nothing of the transaction is written.
        """
        outbox = self._open()
        error = outbox._error_text(delivery)
        outbox._save_in(self.connection, delivery, error, outbox._columns(delivery, error))

    def insert_once(self, delivery: Delivery, *, lease: bool = False) -> Delivery:
        """[`Outbox.insert_once`][brandkit.Outbox.insert_once] in this transaction:
        write ``delivery`` unless one with its id is stored already, and return the stored
        one (as it is stored, never written twice).

        Args:
            delivery: the delivery, with an id made from what it is for, so that writing
                it again (after a crash, by another process) finds the first.
            lease: write it leased to this outbox, as `save` writes a delivery this process
                sends now, so that no worker claims it meanwhile (``False``: for a worker).
                A delivery already stored is returned as it is, leased or not.

        Raises:
            ConfigurationError: the transaction is over (its block ended).
            BrandkitError: the database failed.
        """
        return self._open()._insert_once_in(self.connection, delivery, lease)

    def add(
        self, post: Content, accounts: Account | Sequence[Account], *, check: bool = True
    ) -> builtins.list[Delivery]:
        """[`Outbox.add`][brandkit.Outbox.add] in this transaction: ``post`` as a
        pending delivery for each account, after the same checks (made while the
        transaction holds the write lock).

        Raises:
            ConfigurationError, ContentError, MediaError: as `Outbox.add`.
        """
        outbox = self._open()
        targets = outbox._to_add(post, accounts, check)
        return outbox._add_in(self.connection, post, targets)


@attrs.frozen
class OutboxEvent:
    """One step in a delivery's history, as [`Outbox.history`][brandkit.Outbox.history] returns it.

    Attributes:
        at: when it happened (aware UTC).
        status: the status after the step.
        attempts: the attempts counted so far.
        parts: how many parts were confirmed so far.
        note: what happened (the error, or what the outbox did), if anything.
    """

    at: datetime
    status: DeliveryStatus
    attempts: int
    parts: int
    note: str | None = None


class Outbox(SQLiteStore):
    """Durable deliveries in one SQLite file; implements the drivers' outbox protocol.

    ```python
    from brandkit import Client
    from brandkit.outbox import Outbox

    with Outbox("brandkit.db") as outbox, Client(outbox=outbox) as client:
        client.publish(post, [account])        # every state change is written first
        print(outbox.counts())
    ```

    Args:
        path: the database file (created if missing); ``":memory:"`` for tests. A
            ``postgresql://`` URL opens the outbox on a PostgreSQL server instead
            (``brandkit.outbox.PostgresOutbox``: the same API and guarantees, for workers on
            many machines; needs ``brandkit[postgres]``).
        lease: seconds a process of another machine holds a delivery without saving it
            (every save renews it). A process of this machine holds its deliveries as long
            as it runs and loses them at once when it dies. Above 0, at most 7 days.
        clock: the current time, for the times the outbox itself writes (tests pass a fake).
        timeout: seconds to wait for another process's write lock before giving up with
            [`OutboxConflict`][brandkit.errors.OutboxConflict]; from 0 to 7 days.
        accounts: the configured accounts, when known (e.g. ``Account.load(...)``). Then
            `add` refuses a post for any other account, and every error stored for a
            delivery has its account's secrets redacted (a server may echo a token back).
            A [`Worker`][brandkit.Worker] adds its accounts here itself.
        create: create the file if it does not exist (``False``: refuse a missing file,
            so that a mistyped path is an error rather than a new, empty outbox).
        prefix: (PostgreSQL only) put before every table name.
        accounts_per_claim: (PostgreSQL only) how many accounts one claim may take.

    A new file is created readable by its owner only (``0600``), and so are SQLite's
    ``-wal`` and ``-shm`` files beside it: posts not yet public are private.

    Raises:
        ConfigurationError: the file cannot be opened, is missing while ``create`` is
            ``False``, or belongs to a newer brandkit; ``lease`` is not above 0 and at most
            7 days, ``timeout`` is not from 0 to 7 days, or ``accounts`` holds something
            that is not an `Account`.
        OutboxConflict: another process kept the file locked for longer than ``timeout``.
    """

    what = "outbox"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    meta_table = "outbox_meta"
    # FULL: a save acknowledged before a send must survive a power cut, else the restarted
    # worker would find the delivery "pending" and send it a second time.
    synchronous = "FULL"

    def __new__(cls, path: str | os.PathLike[str] = "brandkit.db", *_: Any, **__: Any) -> Outbox:
        # A PostgreSQL URL gives the same outbox on a server (brandkit.outbox._postgres);
        # another URL (redis://) is refused, not read as a path (a file named after the URL,
        # its password included).
        # Checked for subclasses too: an empty path is a temporary database (see sql_kind).
        if sql_kind(path, "deliveries are") == "postgresql" and cls is Outbox:
            from brandkit.outbox._postgres import PostgresOutbox

            return object.__new__(PostgresOutbox)
        return object.__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str] = "brandkit.db",
        *,
        lease: float = 600.0,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
        accounts: Mapping[str, Account] | Iterable[Account] | None = None,
        create: bool = True,
        prefix: str | None = None,
        accounts_per_claim: int | None = None,
    ) -> None:
        # Declared here so that type checkers accept Outbox("postgresql://…", prefix=...),
        # which __new__ turns into a PostgresOutbox; an SQLite file has neither.
        for name, value in (("prefix", prefix), ("accounts_per_claim", accounts_per_claim)):
            if value is not None:
                raise ConfigurationError(
                    f"{name}= applies to a PostgreSQL outbox; an SQLite outbox's tables are "
                    f"always outbox_* and its claims take every free account (give a "
                    f"postgresql:// URL, or leave {name} out)"
                )
        self.path = str(path)
        self.lease = _lease_seconds(lease)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timeout = lock_wait(timeout)
        self.owner = f"{_HOST}:{os.getpid()}:{_HERE or 'x'}.{uuid.uuid4().hex[:8]}"
        self.accounts: dict[str, Account] | None = None
        if accounts is not None:
            self.use_accounts(accounts)
        # The last post serialised, shared by its deliveries to several accounts.
        self._last_post: tuple[weakref.ref[Content], str] | None = None
        # The state row this outbox last wrote for a delivery, by id: its next save checks
        # that row and writes it in one conditional UPDATE instead of a read and a write.
        self._written: dict[str, _State] = {}
        if not create and str(path) != ":memory:" and not Path(path).exists():
            raise ConfigurationError(
                f"no outbox at {str(path)!r}: check the path, or create a new one "
                "(Outbox(path, create=True); on the command line, --create)"
            )
        self._open(str(path), self.timeout)
        _IN_HAND[self.owner] = set()
        # Dropped without close(): its leases end as a closed outbox's do.
        weakref.finalize(self, _IN_HAND.pop, self.owner, None)
        self.recover()

    def close(self) -> None:
        """Close the file. A lease this outbox still holds then ends when it expires, as
        another machine's does (a worker releases its own before)."""
        _IN_HAND.pop(self.owner, None)
        super().close()

    def _hold(self, delivery_id: str, owner: str | None) -> None:
        """Note whether this outbox now leases ``delivery_id`` (``owner`` is its own): only
        what it works on is held past the lease's end, so a lease it failed to give back
        still ends."""
        held = _IN_HAND.get(self.owner)
        if held is None:
            return
        if owner is not None and owner == self.owner:
            held.add(delivery_id)
        else:
            held.discard(delivery_id)

    def use_accounts(self, accounts: Mapping[str, Account] | Iterable[Account]) -> None:
        """Add ``accounts`` to the configuration this outbox knows (see ``accounts`` above):
        `add` then refuses posts for accounts outside it, and stored errors have the
        secrets of their delivery's account redacted.

        Raises:
            ConfigurationError: ``accounts`` holds something that is not an `Account`.
        """
        values = accounts.values() if isinstance(accounts, Mapping) else accounts
        known = dict(self.accounts or {})
        known.update((a.key, a) for a in _accounts_given(values))
        self.accounts = known

    def redact(self, account: str, text: str) -> str:
        """``text`` with the secrets of ``account`` (a key, ``platform:name``) redacted,
        when this outbox knows that account; else unchanged."""
        acct = (self.accounts or {}).get(account)
        return acct.redact(text) if acct is not None else text

    # -- plumbing ------------------------------------------------------------------------

    def _upgrade(self, db: sqlite3.Connection) -> None:
        row = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_events'"
        ).fetchone()
        if row is not None and "AUTOINCREMENT" in str(row[0]).upper():
            for statement in _EVENTS_WITHOUT_AUTOINCREMENT.split(";"):
                db.execute(statement)

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.create_function("outbox_lease_open", 3, self._stored_lease_open)

    @staticmethod
    def _lease_open(owner: str | None, until: float | None, delivery_id: str | None = None) -> bool:
        """No live process holds the lease (of the delivery ``delivery_id``).

        A process of this machine holds it as long as it runs, and an outbox of this very
        process as long as it works on the delivery, expired or not: a slow upload past
        its lease must not let a second worker send the same part. Only when the process
        is gone is the lease open, at once. Leases of other machines, and those an outbox
        of this process let go of or left behind, end when they expire.
        """
        if owner is None:
            return True
        alive = _local_owner_alive(owner, delivery_id)
        if alive is not None:
            return not alive
        now = time.time()
        # A lease ending past the longest any outbox takes was written by hand or by
        # another tool: it would hold the delivery, and its account, for ever.
        return until is None or until < now or until > now + _FAR_LEASE

    @classmethod
    def _stored_lease_open(cls, owner: object, until: object, delivery_id: object) -> bool:
        """`_lease_open` of a row's columns as SQLite holds them. A lease no outbox writes
        (a hand edit keeps text in the REAL column) holds nothing, rather than raising
        inside every query that reads leases (opening the outbox among them): a delivery
        left ``sending`` under it comes back ``unknown``, looked up before anything is
        sent."""
        if owner is not None and not isinstance(owner, str):
            return True
        if until is not None and (isinstance(until, bool) or not isinstance(until, int | float)):
            until = 0.0  # long past
        return cls._lease_open(owner, until, delivery_id if isinstance(delivery_id, str) else None)

    def _lease_free(self, owner: str | None, until: float | None, delivery_id: str) -> bool:
        """This outbox may write the delivery: the lease is open or is its own."""
        return owner == self.owner or self._stored_lease_open(owner, until, delivery_id)

    def _columns(self, delivery: Delivery, error: str | None) -> tuple[Any, ...]:
        """The row's values in `_COLUMNS` order (the post's JSON made at most once)."""
        post = delivery.post
        # An article is sent at once (the blog schedules it): only a post waits here.
        scheduled = send_at(post)
        created = _iso(delivery.created_at)
        updated = _iso(delivery.updated_at)
        return (
            delivery.account,
            delivery.platform,
            delivery.status.value,
            post.campaign,
            _iso(scheduled) if scheduled else None,
            delivery.attempts,
            error,
            len(delivery.parts),
            created,
            updated,
            self._data_json(delivery, created, updated),
        )

    def _error_text(self, delivery: Delivery) -> str | None:
        err = delivery.error
        return self.redact(delivery.account, str(err)) if err is not None else None

    def _post_json(self, delivery: Delivery) -> str:
        """The JSON of ``delivery.post``, made once per post object.

        A [`Post`][brandkit.Post] is immutable, so while a delivery holds the same object
        (every save of one publish does) its JSON is the one made before. The last post made
        is remembered too: the deliveries of one post to several accounts share it.
        """
        post = delivery.post
        cached = _POST_JSON.get(delivery)
        if cached is not None and cached[0] is post:
            return cached[1]
        last = self._last_post
        if last is not None and last[0]() is post:
            text = last[1]
        else:
            text = post.model_dump_json()
            self._last_post = (weakref.ref(post), text)
        _POST_JSON[delivery] = (post, text)
        return text

    def _data_json(
        self, delivery: Delivery, created: str | None = None, updated: str | None = None
    ) -> str:
        """The stored JSON of ``delivery``: `Delivery.to_dict` (the same keys in the same
        order), with the error's secrets redacted and the post's JSON made once (see
        `_post_json`). A post this brandkit could not read is written back as it was
        stored (see `_load`). ``created`` and ``updated``: the row's `_iso` of its times,
        reused where `Delivery.to_dict`'s would be the same text."""
        error = delivery.error_dict()
        if error is not None and self.accounts:
            error = {
                k: self.redact(delivery.account, v) if isinstance(v, str) else v
                for k, v in error.items()
            }
        kind = {"content": "article"} if isinstance(delivery.post, Article) else {}
        text = _dumps(
            {
                "id": delivery.id,
                "account": delivery.account,
                "platform": delivery.platform,
                "status": delivery.status.value,
                **kind,
                "post": 0,
                "keys": delivery.keys,
                "parts": [p.to_dict() for p in delivery.parts],
                "error": error,
                "attempts": delivery.attempts,
                "look_first": delivery.look_first,
                "reply_to": delivery.reply_to.to_dict() if delivery.reply_to else None,
                "created_at": _isoformat(delivery.created_at, created),
                "updated_at": _isoformat(delivery.updated_at, updated),
                "progress": delivery.progress,
            }
        )
        # The post's JSON goes where its key is: the first '"post":0,' of the text, since
        # no string value before it can hold an unescaped quote.
        return text.replace('"post":0,', f'"post":{self._post_json(delivery)},', 1)

    def _data(self, delivery: Delivery) -> dict[str, Any]:
        """The stored data of ``delivery`` as plain data (what `_data_json` writes)."""
        data: dict[str, Any] = json.loads(self._data_json(delivery))
        return data

    @staticmethod
    def _load(data: str, row: Sequence[Any] | None = None) -> Delivery:
        """A stored delivery, read without opening its media files (see _stored_media).

        A post this brandkit cannot read any more (stored by another version, edited by
        hand) is loaded as a stand-in with its text, campaign and time, so that listing and
        every other row still work; `claim` fails such a delivery instead of sending
        it. Every later write keeps the post exactly as it was stored.

        A row whose JSON cannot be read at all (cut short, a field of the wrong type) is
        loaded the same way from ``row``, the row's own columns (`_ROW` after ``data``:
        id, account, platform, status, created_at), with no keys nor parts: one damaged row
        must not make every listing and every claim fail.

        Raises:
            BrandkitError: the JSON cannot be read and ``row`` is not given.
        """
        stored: Any = None
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict):
                raise TypeError(f"the stored delivery is a JSON {type(raw).__name__}")
            stored = raw["post"]
        except (ValueError, TypeError, KeyError) as exc:
            return _damaged(row, stored, f"{type(exc).__name__}: {exc}")
        try:
            raw["post"] = _stored_post(stored, article=raw.get("content") == "article")
            return Delivery.from_dict(raw)
        except (BrandkitError, ValueError, TypeError, KeyError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        raw["post"] = _stand_in(stored)
        raw.pop("content", None)
        try:
            delivery = Delivery.from_dict(raw)
        except (BrandkitError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return _damaged(row, stored, f"{type(exc).__name__}: {exc}")
        _UNREADABLE[delivery] = (stored, reason)
        # Written back as stored, never re-serialised from the stand-in it is shown as.
        _POST_JSON[delivery] = (delivery.post, _dumps(stored))
        return delivery

    def _event(
        self, db: sqlite3.Connection, delivery: Delivery, note: str | None, at: datetime
    ) -> None:
        if note is not None:
            note = self.redact(delivery.account, note)
        self._events(db, [self._event_row(delivery, delivery.status.value, note, _iso(at))])

    @staticmethod
    def _event_row(delivery: Delivery, status: str, note: str | None, at: str) -> _EventRow:
        return (delivery.id, at, status, delivery.attempts, len(delivery.parts), note)

    @staticmethod
    def _events(db: sqlite3.Connection, rows: builtins.list[_EventRow]) -> None:
        """Every history row of one state change in one statement."""
        if rows:
            db.execute(_insert_events_sql(len(rows)), [v for row in rows for v in row])

    def _insert(
        self,
        db: sqlite3.Connection,
        delivery: Delivery,
        lease_owner: str | None,
        lease_until: float | None,
        *,
        error: str | _Unset | None = _UNSET,
        columns: tuple[Any, ...] | None = None,
    ) -> None:
        if isinstance(error, _Unset):
            error = self._error_text(delivery)
        if columns is None:
            columns = self._columns(delivery, error)
        db.execute(_INSERT, (*columns, lease_owner, lease_until, None, delivery.id))
        self._first_events(db, delivery, error, columns)

    def _insert_new(
        self,
        db: sqlite3.Connection,
        delivery: Delivery,
        lease_owner: str | None,
        lease_until: float | None,
        error: str | None,
        columns: tuple[Any, ...],
    ) -> bool:
        """`_insert`, unless a row has the delivery's id: then nothing is written and the
        answer is ``False``."""
        values = (*columns, lease_owner, lease_until, None, delivery.id)
        if db.execute(_INSERT_NEW, values).rowcount != 1:
            return False
        self._first_events(db, delivery, error, columns)
        return True

    def _first_events(
        self,
        db: sqlite3.Connection,
        delivery: Delivery,
        error: str | None,
        columns: tuple[Any, ...],
    ) -> None:
        """The history of a delivery just inserted."""
        status = delivery.status.value
        events: builtins.list[_EventRow] = []
        if status != "pending":
            # First written past "pending" (a publish that goes out at once): its history
            # still starts where every delivery's does, when it was made.
            events.append((delivery.id, columns[8], "pending", 0, 0, None))
        events.append(self._event_row(delivery, status, error, columns[9]))
        self._events(db, events)

    def _write(
        self,
        db: sqlite3.Connection,
        delivery: Delivery,
        *,
        lease_owner: str | None,
        lease_until: float | None,
        not_before: str | _Unset | None = _UNSET,
        columns: tuple[Any, ...] | None = None,
    ) -> None:
        """Update the whole row (``not_before`` too when given)."""
        self._hold(delivery.id, lease_owner)
        if columns is None:
            columns = self._columns(delivery, self._error_text(delivery))
        if isinstance(not_before, _Unset):
            db.execute(_UPDATE, (*columns, lease_owner, lease_until, delivery.id))
        else:
            db.execute(
                _UPDATE_NOT_BEFORE, (*columns, lease_owner, lease_until, not_before, delivery.id)
            )

    def _fetch(
        self, db: sqlite3.Connection, delivery_id: str
    ) -> tuple[Delivery, str | None, float | None]:
        """The delivery ``delivery_id`` as stored (a damaged row as its stand-in, see
        `_load`), and its lease's owner and end.

        Raises:
            BrandkitError: no such delivery.
        """
        row = db.execute(
            f"SELECT {_ROW}, lease_owner, lease_until FROM outbox_deliveries "  # noqa: S608
            "WHERE id = ?",
            (delivery_id,),
        ).fetchone()
        if row is None:
            raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
        return self._load(row[0], row[1:6]), row[6], row[7]

    # -- the drivers' protocol -----------------------------------------------------------

    def save(self, delivery: Delivery) -> None:
        """Insert or update ``delivery``; called by the drivers before the first byte of
        every attempt and at every state change.

        One transaction (one commit) per call, its history rows included: a first save
        past ``pending`` (a delivery that goes out at once) records the ``pending`` step
        too, and a save that confirms a part and changes the status with it (the last part
        and ``sent``) records both steps.

        While a delivery is pending (to be sent now) or sending, this outbox holds its
        lease, so no worker takes it meanwhile; a final state releases it.

        Raises:
            BrandkitError: the save conflicts with what is stored: another live process
                holds the delivery, it is already finished (sent, cancelled, deleted), it
                would forget a confirmed part, or it starts an attempt from a stale copy
                (a delivery that became ``unknown`` meanwhile must be reconciled, not sent).
                Nothing was written, and since the drivers save before sending, nothing
                was sent either.
        """
        self.save_many([delivery])

    def save_many(self, deliveries: Iterable[Delivery]) -> None:
        """`save` several deliveries in one transaction (one commit): all or none.

        For a driver that writes a post's deliveries to several accounts before it sends
        the first (should the process die after one account, a worker publishes the
        others): one fsync instead of one per account.

        Raises:
            BrandkitError: as `save`, for any of them; then none was written.
        """
        # Made before the write lock is taken: other writers wait for the commit only.
        prepared = []
        for delivery in deliveries:
            error = self._error_text(delivery)
            prepared.append((delivery, error, self._columns(delivery, error)))
        with self._tx() as db:
            for delivery, error, columns in prepared:
                self._save_in(db, delivery, error, columns)

    async def asave(self, delivery: Delivery) -> None:
        """`save` for async code ([`AsyncClient`][brandkit.AsyncClient] awaits it): the same
        transaction, run in a worker thread, so that the event loop never waits for the
        file's write lock (another process may hold it for up to ``timeout``) or its fsync.

        On PostgreSQL too it is a thread, not psycopg's ``AsyncConnection``: what a save
        checks and refuses (the lease, a finished delivery, a forgotten part, a stale
        attempt) and the history it writes are written once, in the synchronous transaction;
        an async copy would be a second place for the never-twice rules to drift apart, and a
        second connection whose leases the heartbeat would have to renew. A save's wait is
        bounded by ``timeout`` either way.

        Raises:
            BrandkitError: as `save` ([`OutboxConflict`][brandkit.errors.OutboxConflict]
                included); then nothing was written.
        """
        await asyncio.to_thread(self.save, delivery)

    async def asave_many(self, deliveries: Iterable[Delivery]) -> None:
        """`save_many` for async code, in a worker thread (see `asave`).

        Raises:
            BrandkitError: as `save_many`; then none was written.
        """
        await asyncio.to_thread(self.save_many, builtins.list(deliveries))

    def _save_in(
        self,
        db: sqlite3.Connection,
        delivery: Delivery,
        error: str | None,
        columns: tuple[Any, ...],
    ) -> None:
        status = delivery.status.value
        lease_owner: str | None = None
        lease_until: float | None = None
        if status in _IN_FLIGHT:
            lease_owner, lease_until = self.owner, time.time() + self.lease
        account, platform, _, campaign, scheduled_at, attempts, _, parts, created, at, data = (
            columns
        )
        identity = (account, platform, campaign, scheduled_at, created)
        # The row as this outbox last wrote it is what the save checks, and the UPDATE
        # writes only if every value the check and the history read is still so (another
        # process, or another call, may have changed it since): the decision a read of the
        # row would make, without the read. In any other case the row is read.
        row: _State | None = None
        known = self._written.get(delivery.id)
        state = (status, attempts, error, parts, at, data, lease_owner, lease_until)
        if (
            known is not None
            and known[6:] == identity
            and self._passes(delivery, known)
            and db.execute(_UPDATE_STATE_IF, (*state, delivery.id, *known)).rowcount == 1
        ):
            row = known
        if row is None:
            # A row is inserted with the lease, unless it is written for later (the worker
            # takes it when it is due).
            owner_new, until_new = lease_owner, lease_until
            scheduled = send_at(delivery.post) if status == "pending" else None
            if scheduled is not None and scheduled > self.clock():
                owner_new, until_new = None, None
            # A delivery this outbox has not written is most often new: its first save is
            # an INSERT that writes nothing when the row exists (then the row is read).
            if known is None and self._insert_new(
                db, delivery, owner_new, until_new, error, columns
            ):
                self._remember(delivery.id, columns, owner_new, until_new)
                return
            row = db.execute(_SELECT_STATE, (delivery.id,)).fetchone()
            if row is None:
                self._insert(db, delivery, owner_new, until_new, error=error, columns=columns)
                self._remember(delivery.id, columns, owner_new, until_new)
                return
            stored, stored_attempts, stored_parts, owner, until, _, *stored_identity = row
            self._check_save(delivery, stored, stored_attempts, stored_parts, owner, until)
            if tuple(stored_identity) == identity:
                db.execute(_UPDATE_STATE, (*state, delivery.id))
            else:
                self._write(
                    db, delivery, lease_owner=lease_owner, lease_until=lease_until, columns=columns
                )
        self._remember(delivery.id, columns, lease_owner, lease_until)
        stored, stored_attempts, stored_parts, _, _, stored_error = row[:6]
        events: builtins.list[_EventRow] = []
        if parts > stored_parts and stored == "sending" and status != stored:
            # The part was confirmed while sending, and the status moved on with it.
            events.append(self._event_row(delivery, stored, None, at))
        if (
            stored != status
            or stored_parts != parts
            or stored_attempts != attempts
            or (error is not None and error != stored_error)
        ):
            events.append(self._event_row(delivery, status, error, at))
        self._events(db, events)

    def _passes(self, delivery: Delivery, state: _State) -> bool:
        """`_check_save` of ``delivery`` against a stored ``state`` finds no conflict."""
        try:
            self._check_save(delivery, *state[:5])
        except OutboxConflict:
            return False
        return True

    def _remember(
        self,
        delivery_id: str,
        columns: tuple[Any, ...],
        lease_owner: str | None,
        lease_until: float | None,
    ) -> None:
        """Keep the state row just written for ``delivery_id`` (`_SELECT_STATE`'s values,
        from the row's ``columns`` and lease) for its next save. The memory is bounded: the
        oldest is forgotten first, and a forgotten delivery's next save reads its row."""
        account, platform, status, campaign, scheduled_at, attempts, error, parts, created = (
            columns[:9]
        )
        self._hold(delivery_id, lease_owner)
        written = self._written
        written.pop(delivery_id, None)
        if len(written) >= _REMEMBERED:
            del written[next(iter(written))]
        written[delivery_id] = (
            status,
            attempts,
            parts,
            lease_owner,
            lease_until,
            error,
            account,
            platform,
            campaign,
            scheduled_at,
            created,
        )

    def _check_save(
        self,
        delivery: Delivery,
        stored: str,
        stored_attempts: int,
        stored_parts: int,
        owner: str | None,
        until: float | None,
    ) -> None:
        status = delivery.status.value
        what = f"delivery {delivery.id}"
        if not self._lease_free(owner, until, delivery.id):
            raise OutboxConflict(f"{what} is being published by another process ({owner})")
        allowed = _AFTER_FINISHED.get(stored)
        if allowed is not None and status not in allowed:
            raise OutboxConflict(f"{what} is already {stored}; it cannot become {status}")
        if len(delivery.parts) < stored_parts:
            raise OutboxConflict(
                f"{what} has {stored_parts} confirmed part(s) stored but this copy has "
                f"{len(delivery.parts)}: load it again from the outbox"
            )
        if status == "sending" and stored != "sending" and delivery.attempts != stored_attempts + 1:
            raise OutboxConflict(
                f"{what} is stored as {stored} after {stored_attempts} attempt(s); this copy "
                "is stale: load it again from the outbox"
            )

    # -- reading -------------------------------------------------------------------------

    def get(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id, or ``None``."""
        with self._reading() as db:
            row = db.execute(
                f"SELECT {_ROW} FROM outbox_deliveries WHERE id = ?",  # noqa: S608 - constant
                (delivery_id,),
            ).fetchone()
        return self._load(row[0], row[1:]) if row else None

    def _release_finished(self, delivery_id: str) -> DeliveryStatus | None:
        """After an attempt: release the delivery as `release` does when it is finished
        (sent, cancelled, deleted: nothing is left to retry); returns its stored status
        either way (``None``: no such delivery), so that a worker settles the rest without
        loading the delivery (its post's JSON) again. A read, in the usual case: the last
        save of a finished attempt gave its lease back."""
        with self._reading() as db:
            row = db.execute(_SELECT_LEASE, (delivery_id,)).fetchone()
        if row is None:
            return None
        status = DeliveryStatus(row[0])
        if status.value in _AFTER_FINISHED and self._release_writes(row[0], row[1], None):
            self.release(delivery_id)
        return status

    def list(
        self,
        status: DeliveryStatus | str | None = None,
        account: str | None = None,
        campaign: str | None = None,
        *,
        platform: str | None = None,
        limit: int | None = 100,
    ) -> builtins.list[Delivery]:
        """Deliveries, newest first, filtered by status, account key (``platform:name``),
        campaign and platform; at most ``limit`` (``None``: all).

        Raises:
            ValueError: ``status`` is not a delivery status.
            ConfigurationError: ``limit`` is not ``None`` or a whole number from 0 to
                2**63 - 1; or ``account`` is not an account key (it would match nothing).
        """
        if limit is not None:
            check_limit(limit, what="deliveries (or None for all)")
        if account is not None and (not isinstance(account, str) or ":" not in account):
            raise ConfigurationError(
                f"account is an account's key, platform:name (e.g. mastodon:{account}), not "
                f"{account!r}: every delivery is filed under its key, so this matches none"
            )
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        for column, value in (
            ("status", DeliveryStatus(status).value if status is not None else None),
            ("account", account),
            ("campaign", campaign),
            ("platform", platform),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_ROW} FROM outbox_deliveries"  # noqa: S608 - constant
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._reading() as db:
            rows = db.execute(sql, args).fetchall()
        return [self._load(r[0], r[1:]) for r in rows]

    def _failed_not_now(
        self, accounts: Sequence[str], max_attempts: int, after: int, limit: int
    ) -> tuple[builtins.list[Delivery], int, bool]:
        """The ``failed`` deliveries of ``accounts`` whose stored error may mean "not now"
        (a rate limit; an outage or a connection that failed, with fewer than
        ``max_attempts`` attempts), in insertion order after row number ``after``: at most
        ``limit`` of them, the last one's row number, and whether there are no more.

        Only such rows are read (a failure that means "no" is never loaded): the worker
        looks again at this superset of the failures it puts back (`Worker`).
        """
        if not accounts:
            return [], after, True
        # The type as `error_dict` writes it; a post's text that quotes it is escaped
        # (\"RateLimited\"), and a row matched wrongly is read and left by the worker.
        sql = (
            f"SELECT rowid, {_ROW} FROM outbox_deliveries "  # noqa: S608 - constant
            f"WHERE status = 'failed' AND account IN ({', '.join('?' for _ in accounts)}) "
            "AND rowid > ? AND (data LIKE ? OR (attempts < ? AND (data LIKE ? OR data LIKE ?))) "
            "ORDER BY rowid LIMIT ?"
        )
        args = [
            *accounts,
            after,
            '%"RateLimited"%',
            max_attempts,
            '%"PlatformUnavailable"%',
            '%"TransportError"%',
            limit,
        ]
        with self._reading() as db:
            rows = db.execute(sql, args).fetchall()
        last = int(rows[-1][0]) if rows else after
        return [self._load(r[1], r[2:]) for r in rows], last, len(rows) < limit

    def recorded_ids(
        self, account: str, since: datetime, *, exclude: str | None = None
    ) -> builtins.set[str]:
        """The platform ids of the parts that deliveries of ``account`` (a key) recorded,
        among the deliveries written since ``since``, all but the delivery ``exclude``.

        A client asks before a read-back (`brandkit.Client`): a post another delivery
        recorded is never taken for a part whose answer was lost, however alike their
        text. At most the newest `RECALL_LIMIT` deliveries are read; a row brandkit cannot
        read adds nothing.

        Raises:
            ConfigurationError: ``since`` is not an aware datetime.
        """
        with self._reading() as db:
            rows = db.execute(
                "SELECT data FROM outbox_deliveries WHERE account = ? AND parts > 0 "
                "AND updated_at >= ? AND id != ? ORDER BY updated_at DESC LIMIT ?",
                (account, _iso(since), exclude or "", RECALL_LIMIT),
            ).fetchall()
        ids: builtins.set[str] = builtins.set()
        for (data,) in rows:
            try:
                parts = (json.loads(data) if isinstance(data, str | bytes) else data)["parts"]
                ids.update(p["id"] for p in parts if isinstance(p["id"], str))
            except (ValueError, TypeError, KeyError):
                continue  # an unreadable row (a hand edit): `list` shows it as damaged
        return ids

    def counts(self) -> dict[DeliveryStatus, int]:
        """How many deliveries are in each status (every status is present, maybe 0)."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT status, COUNT(*) FROM outbox_deliveries GROUP BY status"
            ).fetchall()
        out = dict.fromkeys(DeliveryStatus, 0)
        known = {s.value: s for s in DeliveryStatus}
        for status, n in rows:
            # A status no brandkit writes (a hand edit) is not one of these: left out, not
            # a ValueError for every count.
            if status in known:
                out[known[status]] = int(n)
        return out

    def history(self, delivery_id: str) -> builtins.list[OutboxEvent]:
        """Every recorded step of one delivery, oldest first (empty for an unknown id)."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT at, status, attempts, parts, note FROM outbox_events "
                "WHERE delivery_id = ? ORDER BY seq",
                (delivery_id,),
            ).fetchall()
        return _read_events(rows)

    def _due_sql(
        self, stamp: str, accounts: Sequence[str] | None
    ) -> tuple[str, builtins.list[Any]]:
        # A worker takes pending (publish), unknown (reconcile first) and sending whose lease
        # is free (its process died mid-send: reconciled as unknown, never re-sent blindly).
        sql = (
            f"SELECT id, {_ROW}, scheduled_at, not_before FROM outbox_deliveries AS d "  # noqa: S608
            "WHERE (status IN ('pending', 'unknown', 'sending') "
            "AND ((scheduled_at IS NULL OR scheduled_at <= ?) "
            "  AND (not_before IS NULL OR not_before <= ?) "
            # A time column no brandkit wrote is due at once, to be failed by the claim.
            f"  OR scheduled_at NOT GLOB '{_ISO_GLOB}' OR not_before NOT GLOB '{_ISO_GLOB}') "
            f"  OR {_UNKNOWN_STATUS}) "
            "AND outbox_lease_open(lease_owner, lease_until, id) "
            # One publisher per account at a time keeps an account's posts in order.
            "AND account NOT IN (SELECT account FROM outbox_deliveries "
            "  WHERE lease_owner IS NOT NULL "
            "  AND NOT outbox_lease_open(lease_owner, lease_until, id)) "
            # So does this: a post given a retry time holds its account's later posts back
            # until then (an unknown one does not: it may be on the platform already).
            "AND NOT EXISTS (SELECT 1 FROM outbox_deliveries AS e "
            "  WHERE e.account = d.account AND e.status = 'pending' AND e.not_before > ? "
            f"  AND e.not_before GLOB '{_ISO_GLOB}' "
            "  AND (COALESCE(e.scheduled_at, e.created_at), e.created_at, e.rowid) "
            "    < (COALESCE(d.scheduled_at, d.created_at), d.created_at, d.rowid)) "
        )
        args: builtins.list[Any] = [stamp, stamp, stamp]
        if accounts is not None:
            sql += f"AND account IN ({', '.join('?' for _ in accounts)}) "
            args.extend(accounts)
        sql += "ORDER BY COALESCE(scheduled_at, created_at), created_at, rowid LIMIT ?"
        return sql, args

    def next_due(self, accounts: Iterable[str] | None = None) -> datetime | None:
        """When the earliest pending or unknown delivery (of these account keys) is due:
        the later of its scheduled time and its retry time; ``None`` when there is none.
        A time in the past means it is due now (maybe held by a running worker).

        Raises:
            ConfigurationError: ``accounts`` is not a list of account keys.
        """
        sql = (
            "SELECT MIN(MAX(COALESCE(scheduled_at, ''), COALESCE(not_before, ''))) "
            "FROM outbox_deliveries WHERE status IN ('pending', 'unknown')"
        )
        args: builtins.list[Any] = []
        keys = _account_keys(accounts)
        if keys is not None:
            if not keys:
                return None
            sql += f" AND account IN ({', '.join('?' for _ in keys)})"
            args.extend(keys)
        with self._reading() as db:
            row = db.execute(sql, args).fetchone()
        if row is None or row[0] is None:
            return None
        # A time no brandkit wrote is due at once: the next claim fails its row.
        return datetime.fromisoformat(row[0]) if not _bad_time(row[0]) else self.clock()

    def due(
        self,
        now: datetime | None = None,
        *,
        accounts: Iterable[str] | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """What a worker would take at ``now`` (default: the clock): pending and unknown
        deliveries whose time has come and that no live process holds, oldest first.
        Reads only; `claim` takes them.

        Raises:
            ConfigurationError: ``limit`` is not a whole number from 0 to 2**63 - 1,
                ``now`` is not a timezone-aware datetime, or ``accounts`` is not a list of
                account keys.
        """
        check_limit(limit, what="deliveries")
        with self._reading() as db:
            return [d for _, d, _ in self._select_due(db, now, accounts, limit)]

    def due_accounts(self, now: datetime | None = None) -> builtins.list[str]:
        """The accounts (keys, sorted) of every delivery `due` would return at ``now``,
        however many deliveries there are: who has posts waiting, for a dashboard or a
        worker that checks it serves them all.

        Raises:
            ConfigurationError: ``now`` is not a timezone-aware datetime.
        """
        sql, args = self._due_sql(_iso(now or self.clock()), None)
        args.append(-1)  # LIMIT -1: no limit
        with self._reading() as db, self._lock, self._errors():
            rows = db.execute(
                f"SELECT DISTINCT account FROM ({sql}) ORDER BY account",  # noqa: S608
                args,
            ).fetchall()
        return [str(r[0]) for r in rows]

    def _select_due(
        self,
        db: sqlite3.Connection,
        now: datetime | None,
        accounts: Iterable[str] | None,
        limit: int,
    ) -> builtins.list[tuple[str, Delivery, builtins.list[tuple[str, Any]]]]:
        """The due rows: id, delivery and its damaged columns (`_row_faults`)."""
        stamp = _iso(now or self.clock())
        keys = _account_keys(accounts)
        if keys is not None and not keys:
            return []
        sql, args = self._due_sql(stamp, keys)
        args.append(limit)
        with self._lock, self._errors():
            rows = db.execute(sql, args).fetchall()
        return [(r[0], self._load(r[1], r[2:7]), _row_faults(r[5], r[7:9])) for r in rows]

    def _any_due(self, at: datetime, keys: Sequence[str] | None) -> bool:
        """Whether `claim` at ``at`` would take anything, read without the write lock (the
        first match found, in no order)."""
        if keys is not None and not keys:
            return False
        sql, args = self._due_sql(_iso(at), keys)
        exists = sql.replace(
            f"SELECT id, {_ROW}, scheduled_at, not_before FROM", "SELECT 1 FROM", 1
        )
        exists = exists.rsplit("ORDER BY", 1)[0]
        with self._reading() as db:
            return db.execute(exists + "LIMIT 1", args).fetchone() is not None

    # -- taking work ---------------------------------------------------------------------

    def claim(
        self,
        now: datetime | None = None,
        *,
        accounts: Iterable[str] | None = None,
        limit: int = 100,
        failed: builtins.list[Delivery] | None = None,
    ) -> builtins.list[Delivery]:
        """Take the deliveries due at ``now`` for this outbox's lease, oldest first.

        In one ``BEGIN IMMEDIATE`` transaction: no other worker can take the same ones.
        A delivery found ``sending`` whose publisher died comes back ``unknown`` (with a
        ``TransportError(maybe_delivered=True)`` saying so): its next part is looked up on
        the platform before anything is sent. A due row that is damaged (a post this
        brandkit cannot read, a time it did not write) is failed instead of taken.

        Args:
            now: the time that decides what is due (default: the clock).
            accounts: only deliveries of these account keys (``platform:name``).
            limit: the most deliveries to take.
            failed: a list the deliveries this claim failed for their damage are added to
                (the worker reports them with its attempts).

        Raises:
            ConfigurationError: ``limit`` is not a whole number from 0 to 2**63 - 1,
                ``now`` is not a timezone-aware datetime, or ``accounts`` is not a list of
                account keys.
        """
        check_limit(limit, what="deliveries")
        at = now or self.clock()
        keys = _account_keys(accounts)
        if not self._any_due(at, keys):
            # An idle worker looks at every poll: a look that finds nothing takes no write
            # lock (every other worker's fsync'd commit waits for it) and writes nothing.
            return []
        with self._tx() as db:
            taken: builtins.list[Delivery] = []
            for _, delivery, faults in self._select_due(db, at, keys, limit):
                if not self._takes(db, delivery, faults, at, failed):
                    continue
                columns = self._columns(delivery, self._error_text(delivery))
                owner, until = self.owner, time.time() + self.lease
                self._write(db, delivery, lease_owner=owner, lease_until=until, columns=columns)
                # The driver's first save of it checks this row without reading it.
                self._remember(delivery.id, columns, owner, until)
                taken.append(delivery)
            return taken

    def _takes(
        self,
        db: Any,
        delivery: Delivery,
        faults: Sequence[tuple[str, Any]],
        at: datetime,
        failed: builtins.list[Delivery] | None,
    ) -> bool:
        """A due row a claim holds: whether it is taken (the caller leases it). A damaged
        one (a post this brandkit cannot read, a time it did not write) is failed instead
        and added to ``failed``; one found ``sending`` comes back ``unknown``."""
        unreadable = _UNREADABLE.get(delivery)
        if unreadable is not None or faults:
            if unreadable is not None:
                self._fail_unreadable(db, delivery, unreadable[1], at)
            elif not self._fail_damaged(db, delivery, faults, at):
                return False
            if failed is not None:
                failed.append(delivery)
            return False
        if delivery.status is DeliveryStatus.SENDING:
            self._mark_unknown(db, delivery, at)
        return True

    def _fail_unreadable(
        self, db: sqlite3.Connection, delivery: Delivery, reason: str, at: datetime
    ) -> None:
        maybe = delivery.status is not DeliveryStatus.PENDING
        delivery.status = DeliveryStatus.FAILED
        delivery.error = ContentError(
            f"the stored post cannot be read by this brandkit ({reason}); "
            + (
                "it may already be on the platform: check there, then cancel this delivery "
                "or add the post again"
                if maybe
                else "cancel this delivery and add the post again"
            ),
            field="post",
            platform=delivery.platform,
        )
        delivery.updated_at = at
        self._write(db, delivery, lease_owner=None, lease_until=None)
        self._event(db, delivery, str(delivery.error), at)

    def _fail_damaged(
        self, db: Any, delivery: Delivery, faults: Sequence[tuple[str, Any]], at: datetime
    ) -> bool:
        """Settle a due row whose columns hold what no brandkit writes (``faults``: the
        columns and what they hold; its stored delivery reads well): an unfinished delivery
        is failed, saying so and what to do, and the row written from the delivery (its
        retry makes it due at its post's own time again; one that may be on the platform
        already is looked up first). A finished one (sent, cancelled, deleted) only has its
        row written again. Returns whether it was failed."""
        what = " and ".join(f"{name} {str(value)[:40]!r}" for name, value in faults)
        damage = (
            f"its row's {what} is no value this brandkit writes (edited by hand, written by "
            "another tool, or cut short)"
        )
        if delivery.status.value in _AFTER_FINISHED:
            self._write(db, delivery, lease_owner=None, lease_until=None, not_before=None)
            self._event(db, delivery, f"{damage}; written again as the delivery stored says", at)
            return False
        maybe = delivery.status is not DeliveryStatus.PENDING or delivery.look_first
        when = send_at(delivery.post)
        delivery.status = DeliveryStatus.FAILED
        delivery.look_first = delivery.look_first or maybe
        delivery.error = ContentError(
            f"delivery {delivery.id}: {damage}, so it could never be due; "
            + (
                "its part may already be on the platform: `brandkit outbox retry "
                f"{delivery.id}` looks it up before anything is sent, or cancel it"
                if maybe
                else f"nothing was sent: `brandkit outbox retry {delivery.id}` sends it at "
                + (f"its post's own time ({_iso(when)})" if when else "once")
                + ", or cancel it"
            ),
            field=faults[0][0],
            platform=delivery.platform,
        )
        delivery.updated_at = at
        # Written from the delivery, the row holds its values again (its retry time cleared).
        self._write(db, delivery, lease_owner=None, lease_until=None, not_before=None)
        self._event(db, delivery, str(delivery.error), at)
        return True

    def _mark_unknown(self, db: sqlite3.Connection, delivery: Delivery, at: datetime) -> None:
        delivery.status = DeliveryStatus.UNKNOWN
        delivery.error = TransportError(
            f"{delivery.platform}: the process publishing part {len(delivery.parts) + 1} "
            "stopped before it recorded the outcome; the part may have been published, so "
            "it is looked up before anything is sent again",
            platform=delivery.platform,
            maybe_delivered=True,
        )
        delivery.updated_at = at
        self._event(db, delivery, str(delivery.error), at)

    def recover(self) -> int:
        """Mark every delivery left ``sending`` by a process that died as ``unknown``.

        Runs when the outbox opens; returns how many were found.
        """
        at = self.clock()
        with self._tx() as db:
            rows = db.execute(
                f"SELECT {_ROW} FROM outbox_deliveries WHERE status = 'sending' "  # noqa: S608
                "AND outbox_lease_open(lease_owner, lease_until, id)"
            ).fetchall()
            return self._recover_rows(db, rows, at)

    def _recover_rows(self, db: Any, rows: Sequence[Sequence[Any]], at: datetime) -> int:
        """`recover`'s rows (`_ROW`: deliveries left ``sending`` by a process that is gone)
        made ``unknown``, their lease cleared; returns how many."""
        for row in rows:
            delivery = self._load(row[0], row[1:])
            self._mark_unknown(db, delivery, at)
            self._write(db, delivery, lease_owner=None, lease_until=None)
        return len(rows)

    def _pend_again(self, db: Any, delivery: Delivery, retry_at: datetime) -> None:
        """A released ``failed`` delivery made ``pending`` again, due at ``retry_at``."""
        delivery.status = DeliveryStatus.PENDING
        delivery.updated_at = self.clock()
        self._write(db, delivery, lease_owner=None, lease_until=None, not_before=_iso(retry_at))
        self._event(db, delivery, f"retry at {_iso(retry_at)}", delivery.updated_at)

    def release(self, delivery_id: str, *, retry_at: datetime | None = None) -> None:
        """Give up this outbox's lease on a delivery (a no-op when another holds it).

        With ``retry_at``: a ``failed`` delivery becomes ``pending`` again and a pending or
        ``unknown`` one waits, until then; workers use it to retry transient failures
        (rate limits, outages) and to pace reconciliation, and the drivers to hand over
        what a publish outside a worker could not finish.

        Raises:
            BrandkitError: no such delivery.
            ConfigurationError: ``retry_at`` is not a timezone-aware datetime.
            OutboxConflict: the file stayed locked by another process.
        """
        if retry_at is not None:
            _iso(retry_at)  # refused the same whoever holds the delivery
        # Let go of from here on, even if giving it back fails: its lease then expires.
        self._hold(delivery_id, None)
        # Most releases have nothing to write (a finished attempt's last save gave the lease
        # back): a read tells, without the file's write lock, which every other worker's
        # fsync'd commit waits for. Only this outbox makes a row its own, so a row it does
        # not hold now cannot need its release meanwhile.
        with self._reading() as db:
            row = db.execute(_SELECT_LEASE, (delivery_id,)).fetchone()
        if row is None:
            # Nothing to give back (a delivery whose first save was refused): said without
            # waiting for the write lock, which may be what refused that save.
            raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
        if not self._release_writes(row[0], row[1], retry_at):
            return
        with self._tx() as db:
            row = db.execute(_SELECT_LEASE, (delivery_id,)).fetchone()
            if row is None:
                raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
            status, owner = row
            if not self._release_writes(status, owner, retry_at):
                return
            if retry_at is not None and status in ("failed", "pending", "unknown"):
                if status != "failed":
                    db.execute(_RELEASE_UNTIL, (_iso(retry_at), delivery_id))
                    return
                delivery, _, _ = self._fetch(db, delivery_id)
                self._pend_again(db, delivery, retry_at)
            elif owner is not None:
                # Only the lease changes: the row's data is not read nor written again.
                db.execute(_RELEASE, (delivery_id,))

    def _release_writes(self, status: str, owner: str | None, retry_at: datetime | None) -> bool:
        """Whether `release` writes anything to a row in ``status`` leased by ``owner``: the
        lease is this outbox's, or a retry time is set on a row no other process holds."""
        if owner not in (None, self.owner):
            return False
        return owner is not None or (
            retry_at is not None and status in ("failed", "pending", "unknown")
        )

    # -- user actions --------------------------------------------------------------------

    def add(
        self, post: Content, accounts: Account | Sequence[Account], *, check: bool = True
    ) -> builtins.list[Delivery]:
        """Write ``post`` for every account as a pending delivery, for a worker to publish
        (at ``post.scheduled_at``, or as soon as possible).

        ``post`` may be an `Article` for blog accounts (WordPress,
        Ghost, dev.to): the worker sends it as soon as possible, a scheduled one too (the
        blog publishes it at its ``scheduled_at``).

        Before anything is written the post is rendered for each account's platform with
        the platform's published rules (`brandkit.content.render`), so that a post
        that can never go out (five images on Bluesky, a missing alt text where it is
        required) is refused now rather than at its scheduled time. Nothing is written when
        any account refuses it.

        Args:
            post: the post.
            accounts: the accounts to publish it to.
            check: ``False`` skips the rendering check (for an account whose own limits
                are wider than its platform's defaults, e.g. a Mastodon instance that takes
                longer posts; the worker still checks against the account's real limits).

        Raises:
            ConfigurationError: ``post`` is not a `Post` or an `Article`; no accounts,
                something other than an `Account` or a list of them, an unknown platform,
                or an account that is not in the configuration this outbox knows
                (``accounts=`` at creation).
            ContentError: the post breaks a rule of one account's platform (the error
                names the platform and the field), or an article is added for a social
                account or a post for a blog account.
            MediaError: a media file of the post is gone or breaks a platform's rule.
        """
        # Checked before the write lock is taken: other writers wait for the commit only.
        targets = self._to_add(post, accounts, check)
        with self._tx() as db:
            return self._add_in(db, post, targets)

    def _to_add(
        self, post: Content, accounts: Account | Sequence[Account], check: bool
    ) -> builtins.list[Account]:
        """The accounts ``post`` is added for, once each, after `add`'s checks.

        Raises:
            ConfigurationError, ContentError, MediaError: as `add`.
        """
        from brandkit._client import _once_each, check_content

        if not isinstance(post, Post | Article):
            raise ConfigurationError(
                f"add takes a Post (or an Article for blog accounts), not "
                f"{type(post).__name__} {post!r}"
            )
        targets = _accounts_given(accounts)
        if not targets:
            raise ConfigurationError("add needs at least one account")
        # One delivery per account, however often it is given (one post, one publication).
        targets = _once_each(targets)
        check_content(post, targets)
        if self.accounts is not None:
            unknown = [a.key for a in targets if a.key not in self.accounts]
            if unknown:
                raise ConfigurationError(
                    f"account(s) {', '.join(unknown)} are not in the configuration "
                    f"({', '.join(sorted(self.accounts)) or 'no accounts'}): no worker would "
                    "publish the post"
                )
        if check:
            for platform in dict.fromkeys(a.platform for a in targets):
                gone = missing_media(post, platform)
                if gone is not None:
                    raise gone
                if isinstance(post, Post):
                    render(post, platform)
        return targets

    def _add_in(
        self, db: Any, post: Content, targets: Sequence[Account]
    ) -> builtins.list[Delivery]:
        """`add`'s writes, in the transaction of ``db``."""
        now = self.clock()
        out = []
        for account in targets:
            delivery = Delivery(
                account=account.key,
                platform=account.platform,
                post=post,
                created_at=now,
                updated_at=now,
            )
            self._insert(db, delivery, None, None)
            out.append(delivery)
        return out

    @contextmanager
    def transaction(self) -> Iterator[OutboxTransaction]:
        """One write transaction for deliveries and the caller's own rows in the outbox's
        database, committed together when the ``with`` block ends, or rolled back whole
        when it raises (a crash in between leaves neither).

        ```python
        with outbox.transaction() as tx:
            tx.connection.execute("UPDATE my_jobs SET queued = 1 WHERE id = ?", (job,))
            tx.insert_once(delivery)     # or tx.save(d), tx.add(post, accounts)
        ```

        The block holds the database's write lock (and this outbox object's lock): keep it
        short, and write deliveries through the transaction (`OutboxTransaction.save`,
        `insert_once`, `add`), not through the outbox's own writing methods, which refuse
        (a `ConfigurationError`) in the block's thread; reading (`get`, `list`) is fine.

        Raises:
            ConfigurationError: this thread is already inside a transaction block of this
                outbox.
            OutboxConflict: another process kept the write lock for longer than
                ``timeout``: nothing was written.
            BrandkitError: the database failed, or a statement of the block did (the
                database's error, turned into brandkit's); nothing was written. An error
                the block raises itself comes out as it is, and nothing was written.
        """
        with self._tx() as db:
            tx = OutboxTransaction(self, db)
            self._tx_thread = threading.get_ident()
            try:
                yield tx
            finally:
                self._tx_thread = None
                tx._end()

    # The thread inside a `transaction` block, whose own writes through the outbox's methods
    # are refused (`_not_nested`); other threads wait for the block's lock as for any write.
    _tx_thread: int | None = None

    def _not_nested(self) -> None:
        """Refuse a write of the outbox's own methods inside this thread's `transaction`
        block: SQLite cannot nest it (its error said nothing of why), PostgreSQL would have
        folded it into the block without a word.

        Raises:
            ConfigurationError: this thread is inside ``with outbox.transaction()``.
        """
        if self._tx_thread is not None and self._tx_thread == threading.get_ident():
            raise ConfigurationError(
                "this outbox is inside a with outbox.transaction() block in this thread: "
                "write deliveries through the block's transaction (tx.save, tx.insert_once, "
                "tx.add), or after the block"
            )

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        self._not_nested()
        with super()._tx() as db:
            yield db

    def insert_once(self, delivery: Delivery) -> Delivery:
        """Write ``delivery`` unless one with its id is stored already; return the stored one.

        Answers (`brandkit.Client.reply`) have ids made from what they answer and say, so
        that the same answer queued twice, by two processes at once too, is one delivery.
        """
        with self._tx() as db:
            return self._insert_once_in(db, delivery, False)

    def _insert_once_in(self, db: Any, delivery: Delivery, lease: bool) -> Delivery:
        """`insert_once` in the transaction of ``db``; ``lease``: written as `save` writes
        it (leased to this outbox while pending), else for a worker."""
        row = db.execute(
            "SELECT data FROM outbox_deliveries WHERE id = ?", (delivery.id,)
        ).fetchone()
        if row is not None:
            return self._load(row[0])
        return self._insert_absent(db, delivery, lease)

    def _insert_absent(self, db: Any, delivery: Delivery, lease: bool) -> Delivery:
        """`_insert_once_in` once no row has the delivery's id."""
        if lease:
            error = self._error_text(delivery)
            self._save_in(db, delivery, error, self._columns(delivery, error))
        else:
            self._insert(db, delivery, None, None)
        return delivery

    def add_reply(self, message: Message, post: Post, account: Account) -> Delivery:
        """Queue ``post`` as the answer to ``message`` for the worker to send, threaded
        under it. Queuing the same answer to the same message again returns the delivery
        already queued (or sent): one answer lands.

        Raises:
            ConfigurationError: ``message`` belongs to another account, or the account is
                not in this outbox's configuration.
            Unsupported: the platform cannot answer messages.
            ContentError: the answer breaks a rule of the platform.
        """
        from brandkit._client import reply_delivery
        from brandkit.platforms import adapter_class

        if self.accounts is not None and account.key not in self.accounts:
            raise ConfigurationError(
                f"account {account.key} is not in the configuration: no worker would send "
                "the answer"
            )
        adapter = adapter_class(account.platform)(account)
        if not adapter.capabilities.inbox:
            raise adapter.unsupported("reply", "answer messages")
        delivery = reply_delivery(adapter, message, post, self.clock())
        assert delivery.reply_to is not None
        caps = adapter.answer_capabilities(adapter.capabilities, delivery.reply_to)
        answer = delivery.post
        assert isinstance(answer, Post)  # reply_delivery carries the post it was given
        render(answer, account.platform, capabilities=caps, reply=True)
        return self.insert_once(delivery)

    def retry(self, delivery_id: str) -> Delivery:
        """Try a delivery again at the next worker run, as a fresh start: its ``attempts``
        count from zero again, so a worker gives it ``max_attempts`` attempts (and its
        first backoff) anew; the history keeps the earlier attempts, and its step says how
        many there were.

        A ``failed`` one becomes ``pending`` (parts already confirmed are not sent again).
        An ``unknown`` one stays ``unknown``: the worker looks its part up on the platform
        first and sends it only if it is not there, never blindly. A ``pending`` one that
        waits for a retry time is made due now.

        Raises:
            BrandkitError: no such delivery, it is being published, or it is sent,
                cancelled or deleted.
        """
        with self._tx() as db:
            delivery, owner, until = self._fetch(db, delivery_id)
            if not self._lease_free(owner, until, delivery_id):
                raise OutboxConflict(f"delivery {delivery_id} is being published right now")
            if delivery.status.value not in ("failed", "unknown", "pending"):
                raise OutboxConflict(
                    f"delivery {delivery_id} is {delivery.status.value}; only failed, unknown "
                    "or waiting deliveries can be retried"
                )
            note = "retry requested"
            if delivery.status is DeliveryStatus.FAILED:
                delivery.status = DeliveryStatus.PENDING
            elif delivery.status is DeliveryStatus.UNKNOWN:
                note = "reconciliation requested"
            if delivery.attempts:
                # A person asked again: kept, the count left a delivery that had failed
                # after max_attempts one attempt, failed again at the first outage. What
                # is on the platform is known by the parts, keys and look_first, not by it.
                note += f" (a fresh start after {delivery.attempts} attempt(s))"
                delivery.attempts = 0
            delivery.updated_at = self.clock()
            self._write(db, delivery, not_before=None, lease_owner=None, lease_until=None)
            self._event(db, delivery, note, delivery.updated_at)
            return delivery

    def resolve(
        self,
        delivery_id: str,
        *,
        sent_url: str | None = None,
        sent_id: str | None = None,
        not_sent: bool = False,
    ) -> Delivery:
        """Settle an ``unknown`` delivery by hand, after looking at the platform yourself.

        A delivery is ``unknown`` when a create may have reached the platform and brandkit
        could not look it up (some platforms, e.g. Telegram, offer no lookup). Only a person
        can then say what happened:

        * ``sent_url=`` / ``sent_id=``: the part in doubt *is* on the platform. It is
          recorded as published (``sent_id`` defaults to the last path segment of
          ``sent_url``, which is the post's id on X, Mastodon, Telegram and Bluesky). The
          delivery becomes ``sent``, or ``pending`` when parts of its thread remain to be
          published (the worker sends them, replying to the one you gave).
        * ``not_sent=True``: the part is *not* on the platform. The delivery becomes
          ``pending`` and **the part is sent again** at the next worker run.

        Either way a step is added to `history`.

        Raises:
            ConfigurationError: neither or both of ``not_sent`` and ``sent_url``/``sent_id``
                were given, ``sent_url`` is not an http(s) URL or has no last path segment
                (without ``sent_id``), or ``sent_id`` is empty or holds spaces.
            BrandkitError: no such delivery.
            OutboxConflict: it is being published right now, or it is not ``unknown``.
        """
        sent = sent_url is not None or sent_id is not None
        if sent == bool(not_sent):
            raise ConfigurationError(
                "resolve needs either sent_url/sent_id (the post is on the platform) or "
                "not_sent=True (it is not, send it again)"
            )
        ref_id = sent_id
        if sent_url is not None:
            if not isinstance(sent_url, str) or not sent_url.startswith(("https://", "http://")):
                raise ConfigurationError(f"sent_url must be an http(s) URL, got {sent_url!r}")
            parsed = urlsplit(sent_url)
            last = parsed.path.rstrip("/").rsplit("/", 1)[-1]
            if not parsed.netloc or (ref_id is None and not last):
                # "https://t.me/" would otherwise record the host as the post's id, and the
                # rest of a thread would be sent as replies to a post that does not exist.
                raise ConfigurationError(
                    f"sent_url {sent_url!r} has no post id as its last path segment: give "
                    "the post's own URL, or its id with sent_id= (--sent-id)"
                )
            if ref_id is None:
                ref_id = last
        if ref_id is not None and (
            not isinstance(ref_id, str) or not ref_id or ref_id != "".join(ref_id.split())
        ):
            raise ConfigurationError(
                f"sent_id must be the post's id on the platform, text without spaces, not "
                f"{ref_id!r}"
            )
        with self._tx() as db:
            delivery, owner, until = self._fetch(db, delivery_id)
            if not self._lease_free(owner, until, delivery_id):
                raise OutboxConflict(f"delivery {delivery_id} is being published right now")
            if delivery.status is not DeliveryStatus.UNKNOWN:
                raise OutboxConflict(
                    f"delivery {delivery_id} is {delivery.status.value}; only an unknown "
                    "delivery can be resolved by hand"
                )
            index = len(delivery.parts)
            if sent:
                assert ref_id is not None
                delivery.parts.append(PartRef(index=index, id=ref_id, url=sent_url))
                done = len(delivery.parts) >= len(delivery.keys)
                delivery.status = DeliveryStatus.SENT if done else DeliveryStatus.PENDING
                where = sent_url or ref_id
                note = f"resolved by hand: part {index + 1} is on the platform ({where})"
            else:
                delivery.status = DeliveryStatus.PENDING
                note = (
                    f"resolved by hand: part {index + 1} is not on the platform; sending it again"
                )
            delivery.error = None
            delivery.updated_at = self.clock()
            self._write(db, delivery, not_before=None, lease_owner=None, lease_until=None)
            self._event(db, delivery, note, delivery.updated_at)
            return delivery

    def cancel(self, delivery_id: str) -> Delivery:
        """Stop a delivery that is not finished: pending, failed or unknown (an unknown
        one may already be on the platform; cancelling only stops brandkit from trying).

        Raises:
            BrandkitError: no such delivery, it is being published right now, or it is
                already sent, cancelled or deleted.
        """
        with self._tx() as db:
            delivery, owner, until = self._fetch(db, delivery_id)
            if (
                not self._lease_free(owner, until, delivery_id)
                or delivery.status is DeliveryStatus.SENDING
            ):
                raise OutboxConflict(
                    f"delivery {delivery_id} is being published right now; cancel it when "
                    "the attempt has ended"
                )
            if delivery.status.value not in ("pending", "failed", "unknown"):
                raise OutboxConflict(
                    f"delivery {delivery_id} is {delivery.status.value} and cannot be cancelled"
                )
            delivery.status = DeliveryStatus.CANCELLED
            delivery.updated_at = self.clock()
            self._write(db, delivery, lease_owner=None, lease_until=None)
            self._event(db, delivery, "cancelled", delivery.updated_at)
            return delivery

    def _expand_id(self, prefix: str) -> builtins.list[str]:
        """Ids starting with ``prefix`` (for the command line's short ids)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._reading() as db:
            rows = db.execute(
                "SELECT id FROM outbox_deliveries WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (escaped + "%",),
            ).fetchall()
        return [r[0] for r in rows]
