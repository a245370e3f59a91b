"""The listener's tables on PostgreSQL, versioned beside the inbox's (``brandkit db upgrade``
applies them too).

The listener keeps its queries, cursors, hits, spend and hashtags beside the inbox's messages
under the inbox's table prefix; its statements are the SQLite file's, run through the
PostgreSQL inbox's cursor (which prefixes the tables). Importing this module needs no driver.
"""

from __future__ import annotations

from brandkit.backends import Schema, register

__all__ = ["SCHEMA"]

# The text columns of each table, given byte order in version 2.
_TEXT: dict[str, tuple[str, ...]] = {
    "listening_queries": ("name", "query", "accounts"),
    "listening_cursors": ("name", "account", "cursor", "error"),
    "listening_hits": ("name", "platform", "id", "key", "author", "label"),
    "listening_spend": ("name", "account", "day"),
    "listening_hashtags": ("account", "hashtag"),
}
# The numeric columns version 2 widens to SQLite's 64 bits.
_NUMBERS = {
    "listening_queries": (
        "ALTER COLUMN budget TYPE BIGINT",
        "ALTER COLUMN every TYPE DOUBLE PRECISION",
    ),
    "listening_spend": ("ALTER COLUMN read TYPE BIGINT",),
}

SCHEMA = register(
    Schema(
        "listening",
        (
            # 1: the tables as brandkit created them before they had a version (IF NOT
            # EXISTS, so that a database whose tables an older brandkit made adopts them).
            # Times are microseconds since the epoch, as in the SQLite file.
            (
                """CREATE TABLE IF NOT EXISTS {prefix}listening_queries (
                    name TEXT PRIMARY KEY,
                    query TEXT NOT NULL,
                    accounts TEXT NOT NULL,
                    budget INTEGER,
                    every REAL NOT NULL,
                    last_run BIGINT
                )""",
                """CREATE TABLE IF NOT EXISTS {prefix}listening_cursors (
                    name TEXT NOT NULL,
                    account TEXT NOT NULL,
                    cursor TEXT,
                    error TEXT,
                    PRIMARY KEY (name, account)
                )""",
                """CREATE TABLE IF NOT EXISTS {prefix}listening_hits (
                    name TEXT NOT NULL,
                    platform TEXT NOT NULL,
                    id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    author TEXT NOT NULL,
                    followers BIGINT,
                    label TEXT,
                    PRIMARY KEY (name, platform, id)
                )""",
                "CREATE INDEX IF NOT EXISTS {prefix}listening_hits_time "
                "ON {prefix}listening_hits (name, created_at)",
                "CREATE INDEX IF NOT EXISTS {prefix}listening_hits_post "
                "ON {prefix}listening_hits (platform, id)",
                """CREATE TABLE IF NOT EXISTS {prefix}listening_spend (
                    name TEXT NOT NULL,
                    account TEXT NOT NULL,
                    day TEXT NOT NULL,
                    read INTEGER NOT NULL,
                    PRIMARY KEY (name, account, day)
                )""",
                """CREATE TABLE IF NOT EXISTS {prefix}listening_hashtags (
                    account TEXT NOT NULL,
                    hashtag TEXT NOT NULL,
                    used_at BIGINT NOT NULL,
                    PRIMARY KEY (account, hashtag)
                )""",
            ),
            # 2: text compares byte by byte (COLLATE "C"), as in the SQLite file and the
            # inbox's tables (schema 2), so that orderings (queries by name, authors, labels,
            # hashtags) and ties answer the same whatever the database's locale. Numbers
            # hold what SQLite's do: a budget or a day's spend past 2**31 - 1 (INTEGER is 32
            # bits here) failed, and ``every`` lost precision past 2**24 s (REAL is 32 bits).
            # PostgreSQL rebuilds the indexes on these columns in place; the rows stay.
            tuple(
                f"ALTER TABLE {{prefix}}{table} "
                + ", ".join(
                    [f'ALTER COLUMN {column} TYPE TEXT COLLATE "C"' for column in columns]
                    + list(_NUMBERS.get(table, ()))
                )
                for table, columns in _TEXT.items()
            ),
        ),
    )
)
