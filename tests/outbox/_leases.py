"""Ending an outbox's leases from outside, as the clock does to a crashed machine's."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def expire_leases(db: Path | str) -> None:
    """Every lease in the outbox at ``db`` (an SQLite file or a PostgreSQL URL) ended."""
    if isinstance(db, Path):
        con = sqlite3.connect(db)
        con.execute("UPDATE outbox_deliveries SET lease_until = 0 WHERE lease_until IS NOT NULL")
        con.commit()
        con.close()
        return
    import psycopg

    from brandkit.backends import DEFAULT_PREFIX

    with psycopg.connect(db, autocommit=True) as conn:
        for table in ("outbox_deliveries", "outbox_accounts"):
            conn.execute(
                f"UPDATE {DEFAULT_PREFIX}{table} SET lease_until = now() - interval '1 second' "
                "WHERE lease_until IS NOT NULL"
            )
