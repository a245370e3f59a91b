"""What a feed watcher remembers across restarts, in SQLite: each feed's validators and the
entries seen, each with whether it was announced (tables ``feeds_*``, so the file may be the
outbox's own)."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from brandkit._sqlite import SQLiteStore
from brandkit.feeds._parse import Entry

__all__ = ["FeedState", "Pending"]

logger = logging.getLogger("brandkit.feeds")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds_feeds (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    title TEXT,
    checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds_entries (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    published TEXT,
    data TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    done_at TEXT,
    outcome TEXT,
    PRIMARY KEY (feed, key)
);
CREATE INDEX IF NOT EXISTS feeds_entries_pending ON feeds_entries (feed, done_at, seq)
"""


def _feed(url: str) -> str:
    # A private feed's URL carries its token: the file keeps a digest of it, never the URL.
    return "sha256:" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class Pending:
    """An entry seen and not yet announced."""

    feed: str
    entry: Entry


def _seen_as(
    db: sqlite3.Connection,
    feed: str,
    entries: Sequence[Entry],
    aliases: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """For each of ``entries`` not stored under its key but stored under another (the same
    date and title: a CMS that changed its guids, a plugin that made them permalinks, an
    edited slug), its key to that one. The link alone proves nothing: a changelog's entries
    all link to one page, two of them on one day.

    A stored entry that this fetch still lists (under its own key, or under a key
    ``aliases`` maps to it) did not move: a new entry of the same date and title is another
    post ("Weekly update" twice at the same time). And a stored entry is the old key of one
    new entry at most."""
    dated = {e.key: e for e in entries if e.published is not None}
    if not dated:
        return {}
    fresh = [
        e
        for k, e in dated.items()
        if db.execute(
            "SELECT 1 FROM feeds_entries WHERE feed = ? AND key = ?", (feed, k)
        ).fetchone()
        is None
    ]
    if not fresh:
        return {}
    stamps = {e.published.isoformat() for e in fresh if e.published is not None}
    by_stamp: dict[str, list[tuple[str, object]]] = {}
    # One pass over the feed's rows, only when an entry is new: rarely, and never per entry.
    for key, published, data in db.execute(
        "SELECT key, published, data FROM feeds_entries WHERE feed = ? AND published IS NOT NULL",
        (feed,),
    ):
        if published not in stamps:
            continue
        try:
            title = json.loads(data).get("title")
        except (ValueError, TypeError, AttributeError):
            continue  # a damaged row: `pending` says so
        by_stamp.setdefault(published, []).append((key, title))
    listed = {e.key for e in entries} | set(aliases.values() if aliases else ())
    out: dict[str, str] = {}
    for entry in fresh:
        stamp = entry.published.isoformat() if entry.published is not None else ""
        for key, title in by_stamp.get(stamp, ()):
            if key in listed:
                continue
            if entry.title and title == entry.title:
                out[entry.key] = key
                listed.add(key)
                break
    return out


class FeedState(SQLiteStore):
    """Feeds' validators and the entries seen, announced or skipped, in one SQLite file.

    An entry is known by its feed's URL (as given to the watcher) and its key (guid, Atom
    id or link): the same entry is stored once, whatever later fetches return, so it is
    announced once across restarts. The file keeps a SHA-256 digest of each feed's URL,
    never the URL itself (a private feed's URL carries its token).

    Args:
        path: the SQLite file (created ``0600`` when missing); may be the outbox's file.
        timeout: how long to wait for another process's lock, in seconds.
        clock: the current time (tests pass a fake).

    Raises:
        ConfigurationError: the file cannot be opened or belongs to a newer brandkit.
    """

    what = "feed state"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    meta_table = "feeds_meta"
    # A power cut may lose the last commit: the entries come back with the next fetch.
    synchronous = "NORMAL"

    def __init__(
        self,
        path: str = "brandkit.db",
        *,
        timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self._open(path, timeout)

    def validators(self, feed: str) -> tuple[str | None, str | None] | None:
        """The ``(etag, last_modified)`` of the last fetch of ``feed`` stored, or ``None``
        when it was never stored (the first run)."""
        with self._reading() as db:
            row = db.execute(
                "SELECT etag, last_modified FROM feeds_feeds WHERE url = ?", (_feed(feed),)
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def record(
        self,
        feed: str,
        entries: Sequence[Entry],
        *,
        etag: str | None,
        last_modified: str | None,
        title: str | None = None,
        skip_new: bool = False,
        skip_first: bool = False,
        aliases: Mapping[str, str] | None = None,
    ) -> int:
        """Store a fetch of ``feed`` in one transaction: its entries not seen before (as
        pending, or as skipped with ``skip_new``) and its validators. Returns how many
        entries were new.

        ``skip_first`` stores them as skipped when no entry of ``feed`` was stored before:
        its first fetch that lists any (a feed may answer an empty list for a while, and
        its history must not be announced once it comes back).

        ``aliases`` maps an entry's key to the key it may be stored under (a relative guid
        made absolute against the address a redirect led to, as brandkit once did): an
        entry stored so is known by that key, announced or not as it was, instead of being
        new again.

        An entry under a key not stored, but with the date and title of one that is and
        that this fetch no longer lists (its guid changed: a CMS migration, an edited
        slug), is stored as skipped: it was offered under its first key already.

        The validators are stored with the entries, never before them: a crash between the
        two cannot leave a ``304 Not Modified`` hiding entries never stored.
        """
        now = self.clock().isoformat()
        new = 0
        feed = _feed(feed)
        with self._tx() as db:
            (top,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM feeds_entries WHERE feed = ?", (feed,)
            ).fetchone()
            # Decided in the transaction: another watcher may have stored the feed meanwhile.
            skip_new = skip_new or (skip_first and top == 0)
            seen = _seen_as(db, feed, entries, aliases)
            # Feeds list the newest first: number them so that the oldest gets the lowest.
            for i, entry in enumerate(reversed(entries), start=1):
                before = aliases.get(entry.key) if aliases else None
                if (
                    before is not None
                    and db.execute(
                        "SELECT 1 FROM feeds_entries WHERE feed = ? AND key = ?", (feed, before)
                    ).fetchone()
                    is not None
                ):
                    # Kept under the key it was stored with, not renamed: an announcement
                    # queued under it before a crash has its delivery id made from it.
                    continue
                same = seen.get(entry.key)
                if same is not None:
                    # Kept, as done, under its new key too: the next polls know it at once.
                    logger.info(
                        "feed state: entry %r is %r under a new key; not announced again",
                        entry.key,
                        same,
                    )
                cur = db.execute(
                    "INSERT OR IGNORE INTO feeds_entries "
                    "(feed, key, seq, published, data, seen_at, done_at, outcome) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        feed,
                        entry.key,
                        top + i,
                        entry.published.isoformat() if entry.published else None,
                        json.dumps(entry.to_dict()),
                        now,
                        now if skip_new or same is not None else None,
                        "skipped" if skip_new or same is not None else None,
                    ),
                )
                new += cur.rowcount if same is None else 0
            db.execute(
                "INSERT INTO feeds_feeds (url, etag, last_modified, title, checked_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, "
                "title = COALESCE(excluded.title, feeds_feeds.title), "
                "checked_at = excluded.checked_at",
                (feed, etag, last_modified, title, now),
            )
        return new

    def pending(self, feed: str, limit: int) -> list[Pending]:
        """Up to ``limit`` entries of ``feed`` not yet announced, oldest first (by their
        date, else by the order they were first seen in).

        An entry stored in a form this brandkit cannot read back (its JSON damaged or
        edited by hand) is marked skipped, with a WARNING naming it, and left out: one bad
        row must not stop every later poll of the feed.
        """
        with self._reading() as db:
            rows = db.execute(
                "SELECT key, data FROM feeds_entries WHERE feed = ? AND done_at IS NULL "
                "ORDER BY COALESCE(published, '9999') ASC, seq ASC LIMIT ?",
                (_feed(feed), limit),
            ).fetchall()
        out: list[Pending] = []
        for key, data in rows:
            try:
                entry = Entry.from_dict(json.loads(data))
            except (ValueError, TypeError) as exc:  # TypeError: data that is not text
                logger.warning("feed state: entry %r cannot be read back (%s); skipped", key, exc)
                self.done(feed, key, "skipped")
                continue
            out.append(Pending(feed, entry))
        return out

    def done(self, feed: str, key: str, outcome: str = "announced") -> bool:
        """Mark the entry ``key`` of ``feed`` as done (``outcome``: ``"announced"`` or
        ``"skipped"``); returns ``False`` when it already was."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE feeds_entries SET done_at = ?, outcome = ? "
                "WHERE feed = ? AND key = ? AND done_at IS NULL",
                (self.clock().isoformat(), outcome, _feed(feed), key),
            )
        return cur.rowcount == 1

    def outcome(self, feed: str, key: str) -> str | None:
        """``"announced"``, ``"skipped"``, ``"pending"``, or ``None`` for an entry never
        seen."""
        with self._reading() as db:
            row = db.execute(
                "SELECT done_at, outcome FROM feeds_entries WHERE feed = ? AND key = ?",
                (_feed(feed), key),
            ).fetchone()
        if row is None:
            return None
        return "pending" if row[0] is None else str(row[1])
