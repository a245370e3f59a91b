"""What brandkit's SQLite stores (outbox, metrics, inbox) share: private files."""

from __future__ import annotations

import os

__all__ = ["create_private"]


def create_private(path: str) -> None:
    """Create a new database file readable by its owner only (0600) if it does not exist.

    Posts not yet public, audience messages and metrics are private. SQLite gives its
    ``-wal`` and ``-shm`` files the database file's permissions, so they are private too.
    An existing file is left as it is.
    """
    if path in (":memory:", "") or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
