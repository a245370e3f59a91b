"""``Inbox``: the audience's messages in SQLite, with cursors, states and response times."""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from brandkit._durations import lock_wait
from brandkit._limits import check_limit
from brandkit._sqlite import SQLiteStore
from brandkit._terminal import escaped
from brandkit.backends import sql_kind
from brandkit.content._model import check_answer
from brandkit.errors import AnswerNotRecorded, BrandkitError, ConfigurationError, Unsupported
from brandkit.inbox._model import KINDS, InboxPage, Message

if TYPE_CHECKING:
    from brandkit._client import AsyncClient, Client
    from brandkit.accounts import Account
    from brandkit.content._model import Post
    from brandkit.delivery import Delivery
    from brandkit.outbox import Outbox

__all__ = ["AccountSync", "Inbox", "MessageStatus", "ResponseTimes", "SyncReport", "Volume"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox_messages (
    key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    assignee TEXT,
    our_post TEXT,
    conversation TEXT,
    replied_at INTEGER,
    reply_delivery TEXT,
    data TEXT NOT NULL,
    edited_at INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_messages_status ON inbox_messages (status, created_at);
CREATE INDEX IF NOT EXISTS inbox_messages_account ON inbox_messages (account, created_at);
CREATE INDEX IF NOT EXISTS inbox_messages_created ON inbox_messages (created_at);
CREATE TABLE IF NOT EXISTS inbox_cursors (
    account TEXT PRIMARY KEY,
    cursor TEXT,
    synced_at INTEGER NOT NULL,
    error TEXT
);
"""

# A message is stored once per key (account|id). A post that listening found first (kind
# "found") gives way to the inbox's own reading of it (a mention, a reply, ...): the team must
# see and answer that one, so it counts as added; its status and assignee stay. SQLite and
# PostgreSQL both run these statements.
_INSERT = (
    "INSERT INTO inbox_messages (key, platform, account, id, kind, author, created_at, "
    "fetched_at, status, our_post, conversation, data, edited_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
    "kind = excluded.kind, author = excluded.author, created_at = excluded.created_at, "
    "our_post = excluded.our_post, conversation = excluded.conversation, data = excluded.data, "
    "edited_at = excluded.edited_at "
    "WHERE inbox_messages.kind = 'found' AND excluded.kind != 'found'"
)

# A stored message read again as its author edited it since (the platform's edit time is
# later than the stored one's, or the stored one was never edited) takes the new reading's
# content: the team reads what the author says now. The team's work on it (status,
# assignee, the answer and its time) stays. A read that is not later (the same edit read
# again, an older copy served late) changes nothing, so that nothing counts twice. A post
# that listening found does not replace the audience's message it is.
_EDIT = (
    "UPDATE inbox_messages SET kind = ?, author = ?, our_post = ?, conversation = ?, "
    "data = ?, edited_at = ? WHERE key = ? AND (edited_at IS NULL OR edited_at < ?) "
    "AND (? != 'found' OR kind = 'found')"
)

# The answers on their way to one message are kept in its ``reply_delivery`` column, their
# ids joined by a newline (no delivery id holds one), the last few only.
_ANSWERS_SEP = "\n"
_MAX_PENDING_ANSWERS = 20

# How many keys one statement of `Inbox._statuses` asks for (SQLite takes at most 32,766
# parameters).
_STATUS_BATCH = 500

# The longest name `Inbox.assign` takes: a name or an address, not a document.
_MAX_ASSIGNEE = 1000

# A sync reads at most this many pages per account in one call: a platform that keeps
# answering "more" cannot hold it forever (the next sync goes on from the saved cursor).
_MAX_PAGES = 100


class MessageStatus(enum.StrEnum):
    """Where a message is in the team's work: ``new`` (just synced), ``seen``, ``replied``
    (the brand answered it), ``hidden`` (hidden on the platform), ``archived``."""

    NEW = "new"
    SEEN = "seen"
    REPLIED = "replied"
    HIDDEN = "hidden"
    ARCHIVED = "archived"


@attrs.frozen
class AccountSync:
    """What one account's sync did.

    Attributes:
        account: the account's key.
        added: messages new to the store.
        read: messages the platform returned (some may have been stored already).
        requests: requests made.
        error: why the account could not be read (its cursor was not moved), else ``None``.
        more: the sync stopped at its bound (100 reads) with more to read: the next sync
            goes on from the saved cursor.
        updated: stored messages read again as their authors edited them since (see
            `Message.edited_at`): their text is now the edited one. Not counted in
            ``added``.
    """

    account: str
    added: int = 0
    read: int = 0
    requests: int = 0
    error: str | None = None
    more: bool = False
    updated: int = 0


@attrs.frozen
class SyncReport:
    """What a sync did, per account.

    Attributes:
        accounts: one `AccountSync` per account, in the order given.
    """

    accounts: tuple[AccountSync, ...]

    @property
    def added(self) -> int:
        """Messages new to the store, over every account."""
        return sum(a.added for a in self.accounts)

    @property
    def updated(self) -> int:
        """Stored messages brought up to their authors' later edits, over every account."""
        return sum(a.updated for a in self.accounts)

    @property
    def requests(self) -> int:
        """Requests made, over every account."""
        return sum(a.requests for a in self.accounts)

    @property
    def errors(self) -> dict[str, str]:
        """The accounts that could not be read, and why."""
        return {a.account: a.error for a in self.accounts if a.error}


@attrs.frozen
class ResponseTimes:
    """How fast one account answers its audience (first answer per message).

    Attributes:
        account: the account's key.
        answered: messages answered: those answered through the inbox (`Inbox.reply`,
            `Inbox.queue_reply`, `Inbox.replied`) and those the team marked ``replied``
            after answering them elsewhere; not those marked ``new`` or ``seen`` again
            since.
        unanswered: messages still waiting (``new`` or ``seen``), as `Inbox.unanswered`
            lists them.
        median: the median time to the first answer, over the answers whose time is known
            (those recorded through the inbox; ``None`` when there is none).
        p90: the 90th percentile, over the same answers.
    """

    account: str
    answered: int
    unanswered: int
    median: timedelta | None
    p90: timedelta | None


@attrs.frozen
class Volume:
    """Messages received on one day on one platform.

    Attributes:
        day: the day (UTC), ``YYYY-MM-DD``.
        platform: the platform's name.
        count: how many messages.
    """

    day: str
    platform: str
    count: int


def _us(value: datetime) -> int:
    if not isinstance(value, datetime):
        # A date (or a number) has no time zone to read it in: say so, not AttributeError.
        raise ConfigurationError(
            f"{value!r} is not a datetime: pass an aware datetime (UTC), such as "
            "datetime(2026, 3, 1, tzinfo=UTC)"
        )
    if value.tzinfo is None:
        raise ConfigurationError(f"{value!r} has no time zone: pass an aware datetime (UTC)")
    # Whole microseconds, exactly: a float timestamp loses the last one far from 1970.
    return (value - _EPOCH) // _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _row(m: Message, now: int) -> tuple[Any, ...]:
    """The stored columns of ``m`` (fetched at ``now``), in `Inbox._insert_rows`' order."""
    return (
        m.key,
        m.platform,
        m.account,
        m.id,
        m.kind,
        # Who wrote it, for reading the table: a WordPress guest names themselves (id
        # ``guest:<name>``), and PostgreSQL refuses a NUL in text. ``data`` keeps it whole.
        (m.author.handle or m.author.id).replace("\x00", ""),
        _us(m.created_at),
        now,
        MessageStatus.HIDDEN.value if m.hidden else MessageStatus.NEW.value,
        m.our_post,
        m.conversation,
        m.to_json(),
        None if m.edited_at is None else _us(m.edited_at),
    )


def _edit_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """`_EDIT`'s parameters for the `_row` of an edited message."""
    key, _, _, _, kind, author, _, _, _, our_post, conversation, data, edited_at = row
    return (kind, author, our_post, conversation, data, edited_at, key, edited_at, kind)


def _message(data: str, key: str | None = None) -> Message:
    """The message stored as ``data`` (its ``data`` column, of row ``key``).

    Raises:
        BrandkitError: the row is damaged (it names the row, so that it can be removed or
            synced again).
    """
    try:
        return Message.from_dict(json.loads(data))
    except (ValueError, TypeError) as exc:
        raise _damaged(key, exc) from None


def _damaged(key: str | None, exc: BaseException) -> BrandkitError:
    """The error of the stored message ``key`` whose ``data`` cannot be read (``exc``)."""
    # A sync leaves a stored message as it is (found posts and later edits aside): syncing
    # again, even from the start, did not rewrite the damaged row, as this error once advised.
    return BrandkitError(
        f"inbox message {key or '(unknown key)'} is damaged in the store ({exc}): delete its "
        "row from the inbox's messages table (a sync never rewrites a stored message); to "
        "store it again, read its account from the start: "
        "inbox.add(client.inbox(account).messages)"
    )


def _after_prefix(prefix: str) -> str | None:
    """The first text after every text that starts with ``prefix``, in code point order
    (which is UTF-8's byte order, the store's); ``None`` when there is none."""
    for i in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[i]) + 1
        if code <= 0x10FFFF:
            # Surrogates cannot be stored as UTF-8; the next code point that can is U+E000.
            return prefix[:i] + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)
    return None


def _stored_status(value: str, key: str | None = None) -> MessageStatus:
    """A ``status`` column as a `MessageStatus`.

    Raises:
        BrandkitError: the column holds no status brandkit knows (the row, or the rows
            with it, were written by something else).
    """
    try:
        return MessageStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in MessageStatus)
        where = f"inbox message {key}" if key else f"inbox messages with status {value!r}"
        raise BrandkitError(
            f"{where}: the stored status {value!r} is not one of {names}; set it with "
            "inbox.mark(...), or correct the row"
        ) from None


def _key(message: Message | str) -> str:
    """The key of ``message`` (a `Message` or its key).

    Raises:
        ConfigurationError: ``message`` is neither (SQLite would find nothing for a
            number where PostgreSQL refuses the statement).
    """
    if isinstance(message, Message):
        return message.key
    if not isinstance(message, str):
        raise ConfigurationError(
            f"a {type(message).__name__} is no message: give a message, or its key as text "
            "(Message.key, such as 'mastodon:acme|1091')"
        )
    return message


class Inbox(SQLiteStore):
    """The audience's messages in a SQLite file, beside the outbox and the metrics (its
    tables are named ``inbox_*``, so one file may hold all three).

    ```python
    with Inbox("brandkit.db") as inbox, Client() as client:
        inbox.sync(client, [x, masto, sky])
        for message in inbox.unanswered():
            inbox.reply(client, message, Post(text="Thank you!"))
        print(inbox.response_times())
    ```

    Adding is idempotent (a message is stored once per account, whatever reads return it),
    a sync moves each account's cursor in the same transaction that stores its messages,
    so a crash between the two can neither lose nor repeat a message. One inbox may be used
    from several threads; several processes may share the file.

    A ``postgresql://`` URL gives the same inbox in PostgreSQL, for syncs on several
    machines (``PostgresInbox``, which also takes ``prefix=``).

    Args:
        path: the SQLite file (created ``0600`` when missing), or a ``postgresql://`` URL.
        clock: the current time (tests pass a fake).
        timeout: how long to wait for another process's lock, in seconds.
        prefix: (PostgreSQL only) put before every table name.

    Raises:
        ConfigurationError: the file cannot be opened or belongs to a newer brandkit,
            ``prefix`` was given for an SQLite file, ``path`` is empty or a URL of another
            kind (``redis://``), or ``timeout`` is not a number of seconds from 0 to 7 days.
    """

    what = "inbox"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    meta_table = "inbox_meta"
    # Messages can be read again from the platform: a power cut may lose the last sync.
    synchronous = "NORMAL"
    # The UTC day of ``created_at`` (microseconds since the epoch), as ``YYYY-MM-DD``. The
    # seconds are floored: SQLite's division rounds toward zero, which put a time before
    # 1970 (a Bluesky post's createdAt is what its client wrote) on the next day.
    _day: ClassVar[str] = (
        "date((created_at - ((created_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')"
    )
    # What a read-then-write of one message's row adds to its SELECT (PostgreSQL locks the
    # row; SQLite's write transaction already holds the whole file).
    _row_lock: ClassVar[str] = ""
    # A local file's short writes need no thread in `async_sync`; a server's do.
    _blocking: ClassVar[bool] = False

    def __new__(cls, path: str | os.PathLike[str] = "brandkit.db", *_: Any, **__: Any) -> Inbox:
        # A PostgreSQL URL gives the same inbox on a server (brandkit.inbox._postgres).
        # Checked for subclasses too: an empty path is a temporary database (see sql_kind).
        if sql_kind(path, "the inbox is") == "postgresql" and cls is Inbox:
            from brandkit.inbox._postgres import PostgresInbox

            return object.__new__(PostgresInbox)
        return object.__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str] = "brandkit.db",
        *,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
        prefix: str | None = None,
    ) -> None:
        if prefix is not None:
            raise ConfigurationError(
                "prefix= names PostgreSQL tables; an SQLite inbox's tables are always inbox_*"
                " (give a postgresql:// URL, or leave prefix out)"
            )
        self.clock = clock or (lambda: datetime.now(UTC))
        self._open(os.fspath(path), lock_wait(timeout))

    # -- writing -----------------------------------------------------------------------

    def _upgrade(self, db: Any) -> None:
        columns = {row[1] for row in db.execute("PRAGMA table_info(inbox_messages)")}
        if "edited_at" not in columns:
            # A file from before brandkit kept edit times: its messages count as never
            # edited, so the next read of an edited one brings its text up to date.
            db.execute("ALTER TABLE inbox_messages ADD COLUMN edited_at INTEGER")

    def _insert(self, db: Any, messages: Iterable[Message], now: int) -> int:
        return self._store(db, messages, now)[0]

    def _store(self, db: Any, messages: Iterable[Message], now: int) -> tuple[int, int]:
        """Store ``messages`` (fetched at ``now``): new ones are added, stored ones that
        these are later edits of are brought up to date (`_EDIT`).

        Returns:
            How many were new, and how many stored ones were updated.
        """
        rows = [_row(m, now) for m in messages]
        added = self._insert_rows(db, rows)
        # Only edited messages can update a stored one: a sync of unedited messages (nearly
        # all of them) runs no second statement.
        edits = [_edit_row(r) for r in rows if r[-1] is not None]
        return added, self._update_rows(db, edits) if edits else 0

    def _insert_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> int:
        """Store ``rows`` (`_row`) by `_INSERT`; returns how many were new (or became the
        audience's messages)."""
        before = db.total_changes
        db.executemany(_INSERT, rows)
        return int(db.total_changes - before)

    def _update_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> int:
        """Run `_EDIT` for ``rows`` (`_edit_row`); returns how many stored messages changed."""
        before = db.total_changes
        db.executemany(_EDIT, rows)
        return int(db.total_changes - before)

    def add(self, messages: Iterable[Message]) -> int:
        """Store ``messages``; one already stored (same account and id) is left as it is,
        unless the new one is a later edit of it (its `Message.edited_at` is later than the
        stored one's, or the stored one was never edited): its content (text, author,
        ``raw``...) is then replaced, and the team's work on it (status, assignee, answer)
        kept.

        Returns:
            How many were new (an updated message is not new).

        Raises:
            ConfigurationError: ``messages`` is one message (or text) rather than a list
                of them, or holds something that is not a `Message` (nothing is stored).
        """
        if isinstance(messages, (Message, str, bytes)) or not isinstance(messages, Iterable):
            raise ConfigurationError(
                f"messages is a {type(messages).__name__}: give a list of messages (one "
                "message: [message])"
            )
        checked = list(messages)
        for m in checked:
            if not isinstance(m, Message):
                raise ConfigurationError(
                    f"messages holds a {type(m).__name__}, not a Message: give messages "
                    "(Message.from_dict reads one back from plain data)"
                )
        with self._tx() as db:
            return self._insert(db, checked, _us(self.clock()))

    def _save_page(
        self, account: str, page: InboxPage, read_from: str | None
    ) -> tuple[int, int, str | None]:
        """Store ``page``'s messages and, when the saved cursor is still ``read_from`` (the
        one the page was read from), its cursor, in one transaction.

        Returns:
            How many messages were new, how many stored ones it updated (later edits), and
            the account's saved cursor after it.
        """
        now = _us(self.clock())
        with self._tx() as db:
            added, updated = self._store(db, page.messages, now)
            row = db.execute(
                f"SELECT cursor FROM inbox_cursors WHERE account = ?{self._row_lock}",  # noqa: S608
                (account,),
            ).fetchone()
            saved = row[0] if row else None
            if saved != read_from:
                # Another sync of this account (a cron run overlapping this one) moved it
                # since: written over, a newer cursor went back and the next sync read
                # again (on X, paid again) what was stored. Its own are stored all the same.
                return added, updated, saved
            db.execute(
                "INSERT INTO inbox_cursors (account, cursor, synced_at, error) "
                "VALUES (?, ?, ?, NULL) ON CONFLICT (account) DO UPDATE SET "
                "cursor = excluded.cursor, synced_at = excluded.synced_at, error = NULL",
                (account, page.cursor, now),
            )
        return added, updated, page.cursor

    def _save_error(self, account: str, error: str) -> None:
        # The platform's words: PostgreSQL refuses a NUL in text, and the refusal, raised
        # while the sync handles the read's, would end the sync of every account.
        error = error.replace("\x00", "\\x00")
        with self._tx() as db:
            db.execute(
                "INSERT INTO inbox_cursors (account, cursor, synced_at, error) "
                "VALUES (?, NULL, ?, ?) ON CONFLICT (account) DO UPDATE SET error = "
                "excluded.error",
                (account, _us(self.clock()), error),
            )

    def cursor(self, account: Account | str) -> str | None:
        """Where the next sync of ``account`` (an account or its key) starts.

        Raises:
            ConfigurationError: ``account`` is neither an account nor its key.
        """
        from brandkit.accounts import account_key

        key = account_key(account)
        with self._reading() as db:
            row = db.execute(
                "SELECT cursor FROM inbox_cursors WHERE account = ?", (key,)
            ).fetchone()
        return row[0] if row else None

    def forget_cursor(self, account: Account | str) -> None:
        """Forget where ``account`` (an account or its key) was read up to: its next sync
        reads it from the start, as far back as the platform lists, and stores what is not
        stored yet (a message read again is not stored twice).

        For an account whose platform refuses its saved cursor (the account's name now
        stands for another user on the platform, or the cursor is damaged): every sync
        failed, and no sync can pass ``since=None``.

        Raises:
            ConfigurationError: ``account`` is neither an account nor its key.
        """
        from brandkit.accounts import account_key

        key = account_key(account)
        with self._tx() as db:
            db.execute("DELETE FROM inbox_cursors WHERE account = ?", (key,))

    # -- syncing -----------------------------------------------------------------------

    def sync(self, client: Client, accounts: Sequence[Account], *, limit: int = 5000) -> SyncReport:
        """Read every account's inbox from its saved cursor and store what is new.

        A second sync with nothing new costs each account the cheapest read its platform
        allows and adds nothing. An account whose platform has no inbox, or refuses the
        read, is reported with the reason; the others are read all the same.

        Args:
            client: the client that reads.
            accounts: the accounts to read.
            limit: most messages per read (a read that stops at it continues at once, up
                to 100 reads per account per sync; one that says there is more without
                moving its cursor is not repeated, as it would read the same again).

        Raises:
            ConfigurationError: ``client`` is an ``AsyncClient`` (use `async_sync`),
                ``limit`` is less than 1, or ``accounts`` is not a list of accounts each
                given once.
        """
        _check_client(client, asynchronous=False)
        _check_limit(limit)
        from brandkit.accounts import account_list

        accounts = account_list(accounts, once=True)
        outbox = client.outbox
        if outbox is not None:
            self._settle_from(outbox)
        results = []
        for account in accounts:
            got = _Reading(self, account)
            try:
                while got.more():
                    got.take(client.inbox(account, since=got.cursor, limit=limit))
            except (BrandkitError, OSError) as exc:
                got.fail(exc)
            results.append(got.result())
        return SyncReport(tuple(results))

    async def async_sync(
        self,
        client: AsyncClient,
        accounts: Sequence[Account],
        *,
        limit: int = 5000,
        concurrency: int = 32,
    ) -> SyncReport:
        """`sync` with an ``AsyncClient``: up to ``concurrency`` accounts are read at the
        same time, the next one starting as soon as one is done.

        The bound keeps an agency's hundreds of accounts from opening as many connections
        at once, and what the reads hold in memory to about ``concurrency`` × ``limit``
        messages (a read stops at ``limit``, or at the end of the page or post it is on:
        see `brandkit.Client.inbox`).

        Raises:
            ConfigurationError: ``client`` is a ``Client`` (use `sync`), ``concurrency``
                or ``limit`` is not a whole number of 1 or more, or ``accounts`` is not
                a list of accounts each given once.
        """
        _check_client(client, asynchronous=True)
        _check_limit(limit)
        from brandkit.accounts import account_list

        accounts = account_list(accounts, once=True)
        check_limit(
            concurrency, what="accounts may be read at the same time", least=1, name="concurrency"
        )
        if client.outbox is not None:
            await asyncio.to_thread(self._settle_from, client.outbox)
        slots = asyncio.Semaphore(concurrency)

        async def one(account: Account) -> AccountSync:
            async with slots:
                return await read(account)

        async def store(work: Callable[..., T], *args: Any) -> T:
            # A local file's short write does not need a thread; a server's round trip
            # must not block the event loop.
            if self._blocking:
                return await asyncio.to_thread(work, *args)
            return work(*args)

        async def read(account: Account) -> AccountSync:
            got = await store(_Reading, self, account)
            try:
                while got.more():
                    page = await client.inbox(account, since=got.cursor, limit=limit)
                    await store(got.take, page)
            except (BrandkitError, OSError) as exc:
                await store(got.fail, exc)
            return got.result()

        results = await asyncio.gather(*(one(a) for a in accounts))
        return SyncReport(tuple(results))

    # -- the team's work ---------------------------------------------------------------

    def get(self, message: Message | str) -> Message | None:
        """The stored message with this key (`Message.key`), or ``None``."""
        with self._reading() as db:
            row = db.execute(
                "SELECT data FROM inbox_messages WHERE key = ?", (_key(message),)
            ).fetchone()
        return _message(row[0], _key(message)) if row else None

    def find(self, prefix: str) -> Message:
        """The one stored message whose key is or starts with ``prefix``, or whose platform
        id is ``prefix`` (for the command line: a platform id is matched whole).

        Raises:
            ConfigurationError: none or several match, or ``prefix`` is empty or not text.
        """
        if not isinstance(prefix, str) or not prefix:
            # An empty prefix starts every key: the only message would be found (and, from
            # the command line, answered) for an unset shell variable.
            raise ConfigurationError(
                f"prefix={prefix!r}: give the message's key, or the start of it "
                "(brandkit inbox list shows them)"
            )
        with self._reading() as db:
            rows = db.execute(
                "SELECT data, key FROM inbox_messages WHERE key = ? OR id = ? LIMIT 2",
                (prefix, prefix),
            ).fetchall()
            if not rows:
                # A range of keys, not LIKE: SQLite's LIKE ignores the case of ASCII letters
                # (PostgreSQL's does not), so "x:brand|AB" found another message on a file.
                upper = _after_prefix(prefix)
                if upper is None:
                    rows = db.execute(
                        "SELECT data, key FROM inbox_messages WHERE key >= ? ORDER BY key LIMIT 2",
                        (prefix,),
                    ).fetchall()
                else:
                    rows = db.execute(
                        "SELECT data, key FROM inbox_messages WHERE key >= ? AND key < ? "
                        "ORDER BY key LIMIT 2",
                        (prefix, upper),
                    ).fetchall()
        if len(rows) != 1:
            what = "no message" if not rows else "several messages"
            raise ConfigurationError(
                f"{what} match {prefix!r}: give the whole key (brandkit inbox list shows them)"
            )
        return _message(rows[0][0], rows[0][1])

    def status(self, message: Message | str) -> MessageStatus | None:
        """The stored status of ``message``, or ``None`` when it is not stored.

        Raises:
            BrandkitError: its row holds a status brandkit does not know (the error names
                the row).
        """
        with self._reading() as db:
            row = db.execute(
                "SELECT status FROM inbox_messages WHERE key = ?", (_key(message),)
            ).fetchone()
        return _stored_status(row[0], _key(message)) if row else None

    def _statuses(self, messages: Sequence[Message]) -> dict[str, MessageStatus]:
        """The stored status of each of ``messages`` by key (those stored), read a few
        hundred at a time rather than one round trip each.

        Raises:
            BrandkitError: a row holds a status brandkit does not know (the error names it).
        """
        return {key: status for key, (status, _) in self._work(messages).items()}

    def _work(self, messages: Sequence[Message]) -> dict[str, tuple[MessageStatus, str | None]]:
        """The stored status and assignee of each of ``messages`` by key (those stored),
        read as `_statuses` reads them.

        Raises:
            BrandkitError: a row holds a status brandkit does not know (the error names it).
        """
        keys = list(dict.fromkeys(m.key for m in messages))
        found: dict[str, tuple[MessageStatus, str | None]] = {}
        with self._reading() as db:
            for start in range(0, len(keys), _STATUS_BATCH):
                batch = keys[start : start + _STATUS_BATCH]
                marks = ", ".join("?" * len(batch))
                rows = db.execute(
                    "SELECT key, status, assignee FROM inbox_messages "  # noqa: S608
                    f"WHERE key IN ({marks})",
                    batch,
                ).fetchall()
                found.update(
                    (key, (_stored_status(value, key), assignee)) for key, value, assignee in rows
                )
        return found

    def mark(self, message: Message | str, status: MessageStatus | str) -> None:
        """Set the status of a stored message (``seen``, ``archived``, ...).

        Raises:
            ConfigurationError: no such message, or not a status.
        """
        try:
            value = MessageStatus(status)
        except ValueError:
            names = ", ".join(s.value for s in MessageStatus)
            raise ConfigurationError(f"{status!r} is not a status (one of {names})") from None
        self._update(message, "status = ?", (value.value,))

    def assign(self, message: Message | str, to: str | None) -> None:
        """Give ``message`` to a team member (``None`` takes it back).

        Raises:
            ConfigurationError: no such message, or ``to`` is not a name: text that is not
                blank, at most 1000 characters.
        """
        # A number (a user id passed by mistake) was stored silently as its digits, and a
        # blank name left the message looking taken while no one had it.
        if to is not None and (
            not isinstance(to, str) or not to.strip() or len(to) > _MAX_ASSIGNEE
        ):
            shown = repr(to) if isinstance(to, str) and len(to) <= 60 else type(to).__name__
            raise ConfigurationError(
                f"to={shown}: give the team member's name or address as text (1 to "
                f"{_MAX_ASSIGNEE} characters), or None to take the message back"
            )
        self._update(message, "assignee = ?", (to,))

    def _update(self, message: Message | str, assignment: str, values: tuple[Any, ...]) -> None:
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE inbox_messages SET {assignment} WHERE key = ?",  # noqa: S608 - constant
                (*values, _key(message)),
            )
            if cur.rowcount == 0:
                raise ConfigurationError(
                    f"no message {_key(message)!r} in this inbox: sync first, or check the key"
                )

    def replied(self, message: Message | str, delivery: Delivery) -> None:
        """Record that ``delivery`` answered ``message``: a sent answer makes it
        ``replied`` at the time of its first part; one still on its way (queued, scheduled,
        failed for now) is remembered, and `settle` marks the message once it is sent.

        Raises:
            ConfigurationError: no such message.
        """
        sent_at = self._sent_at(delivery)
        if sent_at is None:
            self._remember_answer(_key(message), delivery.id)
        else:
            self._update(
                message,
                "status = 'replied', reply_delivery = ?, replied_at = COALESCE(replied_at, ?)",
                (delivery.id, sent_at),
            )

    def _sent_at(self, delivery: Delivery) -> int | None:
        """When ``delivery``'s first part was posted (microseconds; the inbox's clock when
        the part does not say), or ``None`` when it is not sent."""
        if not (delivery.ok and delivery.parts):
            return None
        posted = delivery.parts[0].extra.get("posted_at")
        try:
            when = datetime.fromisoformat(posted) if isinstance(posted, str) else None
        except ValueError:
            when = None
        if when is None:
            when = self.clock()
        elif when.tzinfo is None:
            # Written by a client whose clock gave naive times (datetime.now): local time, as
            # Python reads it. Refused, the answer was sent but never recorded.
            when = when.astimezone()
        return _us(when)

    def _remember_answer(self, key: str, delivery_id: str) -> None:
        """Add ``delivery_id`` to the answers on their way to message ``key``.

        Several answers may be on their way at once (two team members queued different
        ones): each is kept, so that the first one sent marks the message, whichever it is.

        Raises:
            ConfigurationError: no such message.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT reply_delivery, replied_at FROM inbox_messages "  # noqa: S608 - constant
                f"WHERE key = ?{self._row_lock}",
                (key,),
            ).fetchone()
            if row is None:
                raise ConfigurationError(
                    f"no message {key!r} in this inbox: sync first, or check the key"
                )
            known, replied_at = row
            # Once answered, only the latest answer is worth keeping (settle reads none).
            ids = known.split(_ANSWERS_SEP) if known and replied_at is None else []
            if delivery_id not in ids:
                ids.append(delivery_id)
            db.execute(
                "UPDATE inbox_messages SET reply_delivery = ? WHERE key = ?",
                (_ANSWERS_SEP.join(ids[-_MAX_PENDING_ANSWERS:]), key),
            )

    def queue_reply(
        self, outbox: Outbox, message: Message | str, post: Post, account: Account
    ) -> Delivery:
        """Queue ``post`` as the answer to a stored message for the outbox's worker (see
        `brandkit.Outbox.add_reply`: queued twice, it lands once), and remember it: once
        the worker has sent it, `settle` (run by every `sync` through a client with an
        outbox) marks the message ``replied`` at the time the answer was posted.

        Raises:
            ConfigurationError: no such message, ``post`` is not a `Post`, or the account
                is not in the outbox's configuration.
            Unsupported: its platform cannot answer messages.
            ContentError: the answer breaks a rule of the platform.
        """
        check_answer(post)
        found, stored = self._lookup(message)
        # Stored once the outbox took the answer, as `reply` does once it is sent: an answer
        # refused (another account's message) must not leave a message no sync read.
        # Queued again after a crash in between, the answer is the same delivery.
        delivery = outbox.add_reply(found, post, account)
        if not stored:
            self.add([found])
        self.replied(found, delivery)
        return delivery

    def settle(self, outbox: Outbox) -> int:
        """Mark ``replied`` each message whose recorded answer was still on its way
        (`queue_reply`, or a `reply` scheduled for later or that failed for now) and that
        ``outbox`` now has sent; returns how many. `sync` does this first when its client
        has an outbox.

        Raises:
            ConfigurationError: the inbox or the outbox is closed.
        """
        return self._settle_from(outbox)

    def _answers_on_their_way(self) -> bool:
        """Whether some message waits for an answer recorded as on its way (`settle`)."""
        with self._reading() as db:
            row = db.execute(
                "SELECT 1 FROM inbox_messages "
                "WHERE reply_delivery IS NOT NULL AND replied_at IS NULL LIMIT 1"
            ).fetchone()
        return row is not None

    def _has_table_beside(self, table: str) -> bool:
        """Whether the inbox's file holds ``table`` (another store's, such as the outbox's)."""
        with self._reading() as db:
            row = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
        return row is not None

    def _settle_from(self, outbox: Any) -> int:
        get = getattr(outbox, "get", None)
        if get is None:
            return 0  # an outbox that cannot be read back (a custom one) has nothing to say
        with self._reading() as db:
            pending = db.execute(
                "SELECT key, reply_delivery FROM inbox_messages "
                "WHERE reply_delivery IS NOT NULL AND replied_at IS NULL"
            ).fetchall()
        settled = 0
        for key, delivery_ids in pending:
            ids = delivery_ids.split(_ANSWERS_SEP)
            deliveries = [get(i) for i in ids]
            sent = [
                (at, delivery)
                for delivery in deliveries
                if delivery is not None and (at := self._sent_at(delivery)) is not None
            ]
            if sent:
                # The first answer posted is the message's answer time.
                self.replied(key, min(sent, key=lambda pair: pair[0])[1])
                settled += 1
                continue
            # A cancelled answer will never be sent: forgotten, so that it is not looked up
            # again at every sync for as long as the inbox lives. (One this outbox does not
            # hold may be another outbox's: kept.)
            kept = [
                i
                for i, d in zip(ids, deliveries, strict=True)
                if d is None or d.status.value != "cancelled"
            ]
            if len(kept) < len(ids):
                self._forget_answers(key, delivery_ids, kept)
        return settled

    def _forget_answers(self, key: str, seen: str, kept: list[str]) -> None:
        """Keep only ``kept`` of message ``key``'s pending answers, unless another process
        changed them since they were read as ``seen`` (it queued one more: left for the
        next sync)."""
        with self._tx() as db:
            db.execute(
                "UPDATE inbox_messages SET reply_delivery = ? "
                "WHERE key = ? AND reply_delivery = ? AND replied_at IS NULL",
                (_ANSWERS_SEP.join(kept) or None, key, seen),
            )

    def reply(self, client: Client, message: Message | str, post: Post) -> Delivery:
        """Answer a stored message through ``client`` (see `brandkit.Client.reply`: never
        twice) and record the answer.

        Raises:
            ConfigurationError: no such message, ``post`` is not a `Post`, its account is
                not known to ``client``, or this inbox recorded the same answer to it
                already (sent, or on its way through an outbox) and neither ``client`` nor
                its outbox holds it: sent again, it would be a second answer.
            Unsupported: its platform cannot answer messages.
            AnswerNotRecorded: the answer was sent (or is on its way) but the store could
                not record it (locked, unreachable); ``.delivery`` is the answer, for
                `replied` once the store is back.
        """
        check_answer(post)
        found, stored = self._lookup(message)
        if stored:
            self._refuse_a_second_answer(client, found, post)
        delivery = client.reply(found, post)
        try:
            if not stored:
                self.add([found])
            self.replied(found, delivery)
        except (BrandkitError, OSError) as exc:
            # The answer is on the platform: raised without it, the message stays
            # unanswered and answering it again (no outbox) posts a second answer.
            what = "posted" if delivery.ok else f"{delivery.status.value}, not posted yet"
            raise AnswerNotRecorded(
                f"the answer to {found.key} is {what} (delivery {delivery.id}), but the inbox "
                f"could not record it: {exc} -- do not answer again; once the store is free, "
                "record it with inbox.replied(message, error.delivery)",
                delivery=delivery,
            ) from exc
        return delivery

    def _refuse_a_second_answer(self, client: Client, message: Message, post: Post) -> None:
        """Refuse, before anything is sent, the answer this inbox recorded for ``message``
        already (sent, or on its way through an outbox) when ``client`` cannot find it.

        A client without an outbox remembers only its own answers: a new process (a script
        run again, a second worker) asked for the same answer would post it a second time.

        Raises:
            ConfigurationError: the same answer was recorded for this message, and neither
                ``client`` nor its outbox holds it.
        """
        with self._reading() as db:
            row = db.execute(
                "SELECT reply_delivery, replied_at FROM inbox_messages WHERE key = ?",
                (message.key,),
            ).fetchone()
        if row is None or not row[0]:
            return
        core = client._core
        # Its id is the account's, the message's and the answer's (Client.reply's): the
        # errors this raises (an unknown account, no answers) are those client.reply would.
        draft = core.new_reply(core.adapter_for(core.account_of(message, None)), message, post)
        if draft.id not in row[0].split(_ANSWERS_SEP) or draft.id in core.answers:
            return
        get = getattr(client.outbox, "get", None)
        if get is not None and get(draft.id) is not None:
            return  # the client's outbox returns it rather than send it again
        if row[1] is not None:
            what = f"was answered at {_at(row[1]):%Y-%m-%d %H:%M:%S} UTC with this same answer"
        else:
            what = "has this same answer on its way through an outbox"
        raise ConfigurationError(
            f"{message.key} {what} (delivery {draft.id}): it is not sent again; to get that "
            "delivery back, answer through a client with the outbox that holds it "
            "(Client(outbox=Outbox(...)))"
        )

    def hide(self, client: Client, message: Message | str) -> None:
        """Hide a stored message on its platform and mark it ``hidden``.

        Raises:
            Unsupported: its platform cannot hide (nothing changes in the store).
            PlatformError: the platform refused.
        """
        found, stored = self._lookup(message)
        client.hide(found)
        if not stored:
            self.add([found])
        self.mark(found, MessageStatus.HIDDEN)

    def _lookup(self, message: Message | str) -> tuple[Message, bool]:
        """The stored copy of ``message`` and ``True``, or a message not stored yet and
        ``False`` (stored once the platform did what was asked of it).

        Raises:
            ConfigurationError: a key of no stored message.
        """
        found = self.get(message)
        if found is not None:
            return found, True
        if isinstance(message, Message):
            return message, False
        raise ConfigurationError(f"no message {message!r} in this inbox: sync first")

    # -- queries -----------------------------------------------------------------------

    def messages(
        self,
        *,
        status: MessageStatus | str | Iterable[MessageStatus | str] | None = None,
        account: Account | str | None = None,
        platform: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        assignee: str | None = None,
        limit: int | None = None,
    ) -> list[Message]:
        """The stored messages that match every filter given, oldest first (``account``:
        an account or its key; ``status``: one or several (a list, a set), an empty one
        matching none).

        Raises:
            ConfigurationError: an unknown status or kind, a naive datetime, a filter that
                is not text, or a ``limit`` that is not a whole number from 0 to 2**63 - 1.
            BrandkitError: a stored row is damaged (the error names it).
        """
        where, params = _where(
            status=status,
            account=account,
            platform=platform,
            kind=kind,
            since=since,
            until=until,
            assignee=assignee,
        )
        if limit is not None:
            limit = check_limit(limit, what="messages (or None for all)")
        return self._select(where, params, limit)

    def _select(
        self, where: str, params: list[Any], limit: int | None = None, *, latest: bool = False
    ) -> list[Message]:
        """The messages of a WHERE clause built from constants (`_where`), oldest first:
        the first ``limit`` of them, or with ``latest`` the last ``limit``."""
        # The values are parameters; only constants are written into the statement.
        order = "created_at DESC, key DESC" if latest else "created_at, key"
        sql = f"SELECT data, key FROM inbox_messages{where} ORDER BY {order}"  # noqa: S608
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._reading() as db:
            rows = db.execute(sql, params).fetchall()
        if latest:
            rows.reverse()
        return [_message(data, key) for data, key in rows]

    def _latest(
        self,
        limit: int | None,
        *,
        unanswered: bool = False,
        older_than: timedelta | None = None,
        status: str | None = None,
        account: str | None = None,
        kind: str | None = None,
    ) -> list[Message]:
        """The last ``limit`` messages of `messages` (or, with ``unanswered``, of
        `unanswered`) with these filters, oldest first: only those are read (the command
        line's ``--limit``). Posts that listening found are left out unless ``kind`` asks
        for them: they are not messages to the brand, and a saved search stores them by the
        thousand.

        Raises:
            ConfigurationError: a filter `messages` or `unanswered` refuses.
        """
        if unanswered:
            where, params = _where(
                status=(MessageStatus.NEW, MessageStatus.SEEN),
                account=account,
                kind=kind,
                until=self._waited_until(older_than),
            )
        else:
            where, params = _where(status=status, account=account, kind=kind)
        if kind is None or unanswered:
            where += f"{' AND' if where else ' WHERE'} kind != 'found'"
        if limit is not None:
            limit = check_limit(limit, what="messages (or None for all)")
        return self._select(where, params, limit, latest=True)

    def _waited_until(self, older_than: timedelta | None) -> datetime | None:
        """The latest time a message may have come to have waited ``older_than``.

        Raises:
            ConfigurationError: ``older_than`` is negative or reaches before year 1.
        """
        if older_than is None:
            return None
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ConfigurationError(
                f"older_than={older_than!r}: give how long a message has waited, a "
                "timedelta of 0 or more"
            )
        try:
            return self.clock() - older_than
        except OverflowError:
            raise ConfigurationError(
                f"older_than={older_than!r} reaches before year 1: give a shorter wait"
            ) from None

    def unanswered(
        self, *, older_than: timedelta | None = None, account: Account | str | None = None
    ) -> list[Message]:
        """Messages still waiting for the brand (``new`` or ``seen``; found posts of
        listening excluded), oldest first; with ``older_than``, only those that have waited
        at least that long.

        Raises:
            ConfigurationError: ``older_than`` is negative or reaches before year 1.
        """
        where, params = _where(
            status=(MessageStatus.NEW, MessageStatus.SEEN),
            account=account,
            until=self._waited_until(older_than),
        )
        # Left out by the database: a saved search stores found posts (all "new") by the
        # thousand, which would otherwise be read and decoded on every call.
        return self._select(f"{where} AND kind != 'found'", params)

    def counts(self) -> dict[MessageStatus, int]:
        """How many of the audience's messages are in each status (posts that listening
        found are left out, as `unanswered`, `volume` and `response_times` leave them out).

        Raises:
            BrandkitError: a row holds a status brandkit does not know (the error says it).
        """
        with self._reading() as db:
            rows = db.execute(
                "SELECT status, COUNT(*) FROM inbox_messages WHERE kind != 'found' GROUP BY status"
            )
            got = {_stored_status(s): n for s, n in rows}
        return {s: got.get(s, 0) for s in MessageStatus}

    def response_times(
        self,
        *,
        account: Account | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ResponseTimes]:
        """Time to the first answer per account: how many messages were answered, the
        median and 90th percentile of the answers whose time is known, and how many still
        wait (see `ResponseTimes`; posts that listening found are left out).

        Args:
            account: one account (or its key).
            since: only messages received at or after this time (aware).
            until: only messages received at or before this time (aware).

        Raises:
            ConfigurationError: a naive datetime, or an account that is not text.
        """
        where, params = _where(account=account, since=since, until=until)
        where = f"{where}{' AND' if where else ' WHERE'} kind != 'found'"
        # Waiting, as `unanswered` lists it, even when the team marked it so again after an
        # answer (a follow-up to give): not answered, its old time left out. Answered on
        # the platform itself and marked so: answered, at no known time.
        waiting = "status IN ('new', 'seen')"
        timed = f"NOT ({waiting}) AND replied_at IS NOT NULL"
        # Counted in the database and the waits read in order, one at a time: only the
        # ranks a quantile needs are kept (a busy inbox's whole period is not loaded).
        with self._reading() as db:
            counts = db.execute(
                f"SELECT account, SUM(CASE WHEN {waiting} THEN 1 ELSE 0 END), "  # noqa: S608
                f"SUM(CASE WHEN {timed} THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status = 'replied' AND replied_at IS NULL THEN 1 ELSE 0 END) "
                f"FROM inbox_messages{where} GROUP BY account ORDER BY account",
                params,
            ).fetchall()
            known = {acct: int(n) for acct, _, n, _ in counts if n}
            ranks = {acct: _ranks(n, (0.5, 0.9)) for acct, n in known.items()}
            picked: dict[str, dict[int, float]] = {acct: {} for acct in known}
            seen: dict[str, int] = dict.fromkeys(known, 0)
            for acct, wait in db.execute(
                "SELECT account, CASE WHEN replied_at > created_at "  # noqa: S608
                f"THEN replied_at - created_at ELSE 0 END AS waited FROM inbox_messages{where} "
                f"AND {timed} ORDER BY account, waited",
                params,
            ):
                i = seen[acct]
                seen[acct] = i + 1
                if i in ranks[acct]:
                    picked[acct][i] = wait / 1_000_000
        out = []
        for acct, waiting_n, timed_n, untimed in counts:
            median = p90 = None
            if timed_n:
                values = picked[acct]
                median = timedelta(seconds=_at_rank(values, int(timed_n), 0.5))
                p90 = timedelta(seconds=_at_rank(values, int(timed_n), 0.9))
            out.append(
                ResponseTimes(acct, int(timed_n) + int(untimed), int(waiting_n), median, p90)
            )
        return out

    def volume(
        self,
        *,
        account: Account | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Volume]:
        """Messages received per day (UTC) per platform, oldest day first (posts that
        listening found are not messages to the brand: they are left out).

        Args:
            account: one account (or its key).
            since: only messages received at or after this time (aware).
            until: only messages received at or before this time (aware).

        Raises:
            ConfigurationError: a naive datetime, or an account that is not text.
        """
        where, params = _where(account=account, since=since, until=until)
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {self._day} AS day, platform, COUNT(*) "  # noqa: S608
                f"FROM inbox_messages{where}{' AND' if where else ' WHERE'} kind != 'found' "
                "GROUP BY day, platform ORDER BY day, platform",
                params,
            ).fetchall()
        return [Volume(day, platform, n) for day, platform, n in rows]


class _Reading:
    """One account's part of a sync: reads from the saved cursor, saves page by page."""

    def __init__(self, inbox: Inbox, account: Account) -> None:
        self.inbox = inbox
        self.account = account
        self.cursor = inbox.cursor(account)
        self.pages = 0
        self.added = 0
        self.updated = 0
        self.read = 0
        self.requests = 0
        self.error: str | None = None
        self._more = True

    def more(self) -> bool:
        return self._more and self.pages < _MAX_PAGES

    def take(self, page: InboxPage) -> None:
        self.pages += 1
        self.requests += page.requests
        self.read += len(page.messages)
        added, updated, saved = self.inbox._save_page(self.account.key, page, self.cursor)
        self.added += added
        self.updated += updated
        stuck = page.more and page.cursor == self.cursor
        # Another sync saved its own cursor meanwhile: this one goes on from there (read
        # from anything else, its cursor would not be saved).
        self.cursor = saved
        self._more = page.more and not stuck
        if stuck:
            # Read again from where it stands, the platform would answer the same: up to
            # _MAX_PAGES requests (and its rate limit) for nothing. The next sync goes on.
            logger.warning(
                "inbox read of %s said there was more but did not move its cursor: stopped "
                "until the next sync",
                self.account.key,
            )

    def fail(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if (
            isinstance(exc, ConfigurationError)
            and self.cursor is not None
            and "since=None" in str(exc)
        ):
            # The platform's adapter refused the saved cursor and says to read from the
            # start, which a sync never does by itself: say how, or every sync fails alike.
            reason += (
                f" -- to read {self.account.key} from the start, forget its saved cursor: "
                "inbox.forget_cursor(account), or brandkit inbox sync --from-start "
                f"--account {self.account.name}"
            )
        self.error = self.account.redact(reason)
        if not isinstance(exc, Unsupported):
            # The platform's words: escaped, a line break in them would forge a log line.
            logger.warning("inbox sync of %s stopped: %s", self.account.key, escaped(self.error))
        try:
            self.inbox._save_error(self.account.key, self.error)
        except BrandkitError as kept:
            # The store itself failed (locked by another process past its timeout): the
            # report still says why, and the other accounts are read; raised, the sync lost
            # every account's report (and `async_sync` left the other reads running).
            logger.warning(
                "inbox sync of %s: its failure could not be kept beside its cursor: %s",
                self.account.key,
                escaped(str(kept)),
            )

    def result(self) -> AccountSync:
        # Stopped at the bound while the platform still said "more" (not after a failure).
        cut = self.error is None and self._more and self.pages >= _MAX_PAGES
        if cut:
            logger.warning(
                "inbox sync of %s stopped after %d reads with more to read: the next sync goes on",
                self.account.key,
                _MAX_PAGES,
            )
        return AccountSync(
            self.account.key,
            self.added,
            self.read,
            self.requests,
            self.error,
            more=cut,
            updated=self.updated,
        )


def _check_client(client: object, *, asynchronous: bool) -> None:
    """Refuse, before anything is read or written, the client of the other sync.

    Raises:
        ConfigurationError: ``client`` is not the kind ``asynchronous`` says.
    """
    read = getattr(client, "inbox", None)
    # Something that reads no inbox at all (None, a path) is refused too, not met later
    # as an AttributeError.
    if not callable(read) or inspect.iscoroutinefunction(read) != asynchronous:
        raise ConfigurationError(
            "Inbox.async_sync takes an AsyncClient; with a Client, call inbox.sync(...)"
            if asynchronous
            else "Inbox.sync takes a Client; with an AsyncClient, await inbox.async_sync(...)"
        )


def _check_limit(limit: int) -> None:
    check_limit(limit, what="messages at most per read", least=1)


def _ranks(n: int, quantiles: Sequence[float]) -> set[int]:
    """The positions (from 0, in ascending order) that `_at_rank` reads for ``quantiles``
    of ``n`` values."""
    out: set[int] = set()
    for q in quantiles:
        low = int((n - 1) * q)
        out.update((low, min(low + 1, n - 1)))
    return out


def _at_rank(values: Mapping[int, float], n: int, q: float) -> float:
    """The ``q`` quantile of ``n`` ascending values of which ``values`` holds the positions
    `_ranks` named, interpolated as `brandkit._quantiles.percentile` does."""
    pos = (n - 1) * q
    low = int(pos)
    high = min(low + 1, n - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def _where(
    *,
    status: MessageStatus | str | Iterable[MessageStatus | str] | None = None,
    account: Account | str | None = None,
    platform: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    assignee: str | None = None,
) -> tuple[str, list[Any]]:
    """One WHERE clause for every query's filters, written once."""
    clauses: list[str] = []
    params: list[Any] = []
    if status is not None:
        # One status, or any collection of them (a list, a set, a generator).
        wanted = [status] if isinstance(status, str) or not isinstance(status, Iterable) else status
        values = []
        for s in wanted:
            try:
                values.append(MessageStatus(s).value)
            except (ValueError, TypeError):
                names = ", ".join(m.value for m in MessageStatus)
                raise ConfigurationError(f"unknown status {s!r} (one of {names})") from None
        # Sorted: a set's order would change the statement (and PostgreSQL's plan cache).
        values.sort()
        # No status at all matches nothing: PostgreSQL refuses an empty ``IN ()``, which
        # SQLite reads as false.
        clauses.append(f"status IN ({', '.join('?' * len(values))})" if values else "1 = 0")
        params.extend(values)
    if kind is not None:
        if kind not in KINDS:
            raise ConfigurationError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
        clauses.append("kind = ?")
        params.append(kind)
    key = account if account is None or isinstance(account, str) else account.key
    for column, value in (("account", key), ("platform", platform), ("assignee", assignee)):
        if value is not None:
            if not isinstance(value, str):
                raise ConfigurationError(
                    f"{column}={value!r}: give a {column} as text"
                    + (" (or an Account)" if column == "account" else "")
                )
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(_us(since))
    if until is not None:
        clauses.append("created_at <= ?")
        params.append(_us(until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
