"""Outbox.transaction on PostgreSQL: the caller's rows and the deliveries commit together,
and a statement of the caller that breaks its own table's key is the caller's error, as on
SQLite, not a conflict with another process that a retry would settle."""

from __future__ import annotations

import pytest

from brandkit import Post
from brandkit.errors import BrandkitError, OutboxConflict
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator


def test_a_duplicate_key_of_the_callers_table_is_its_error_not_a_conflict(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """It used to come out as `OutboxConflict` saying another process wrote the same rows
    and to try again: a caller retrying conflicts retried for ever, as the row it collides
    with is there to stay."""
    account = emu.account()
    with Outbox(pg) as box:
        with box.transaction() as tx:
            tx.connection.execute("CREATE TABLE my_jobs (name TEXT PRIMARY KEY)")
            tx.connection.execute("INSERT INTO my_jobs (name) VALUES (%s)", ("launch",))
            (first,) = tx.add(Post(text="spring"), account)

        def again() -> None:
            with box.transaction() as tx:
                tx.add(Post(text="spring again"), account)
                tx.connection.execute("INSERT INTO my_jobs (name) VALUES (%s)", ("launch",))

        with pytest.raises(BrandkitError) as caught:
            again()
        assert not isinstance(caught.value, OutboxConflict)
        message = str(caught.value)
        assert "my_jobs_pkey" in message and "try again" not in message
        assert "***" in message  # the URL's password is not in it
        # Nothing of the failed block was written; the first one is there.
        assert [d.id for d in box.list()] == [first.id]
