"""Files the metrics write whole or not at all: the report and the CSV export."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["replaced"]


@contextlib.contextmanager
def replaced(path: str | os.PathLike[str], *, newline: str | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text file that becomes ``path`` once the block ends without an error: it is
    written beside it and renamed over it, so that a write cut short (a full disk, a failed
    query) leaves the file already there, and a reader never sees half a file.

    The new file has the old one's mode (else what ``open`` gives one under the process's
    umask), and a symbolic link is written through, as writing in place did.

    Raises:
        OSError: the file cannot be written (named as ``path``, not the file beside it).
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            if mode is not None:
                os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        if exc.filename == os.fspath(temporary):
            exc.filename = os.fspath(path)  # the file the caller named, not the one beside it
        raise
