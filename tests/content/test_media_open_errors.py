"""A media file that cannot be opened is refused saying which case it is (it does not
exist, a directory, a FIFO, no permission) and what to do: a missing file said only "No
such file or directory", a directory the same as a FIFO or a device, a file brandkit may not
read only the system's words."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from brandkit import Media, MediaError
from brandkit.content._media import largest_media_bytes
from brandkit.testing import TINY_JPEG


def _refused(path: Path | str) -> str:
    with pytest.raises(MediaError) as info:
        Media.from_path(path)
    assert info.value.field == "media"
    return str(info.value)


def test_a_missing_file_is_said_to_be_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    said = _refused("missing.png")
    assert "'missing.png' does not exist" in said
    assert "check the path" in said
    assert str(tmp_path) in said  # where a relative path was looked for


def test_a_path_through_a_file_is_said_to_be_wrong(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(TINY_JPEG)
    said = _refused(tmp_path / "photo.jpg" / "x.png")
    assert "does not exist" in said and "is not a directory" in said


def test_a_directory_is_said_to_be_a_directory(tmp_path: Path) -> None:
    said = _refused(tmp_path)
    assert "is a directory, not a regular file" in said
    assert "give the path of an image or video file" in said


def test_a_fifo_is_said_to_be_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    said = _refused(fifo)
    assert "is a FIFO (named pipe), not a regular file" in said


def _refused_as_nobody(path: Path) -> str:
    """What `_refused` says for ``path``, read in a child process that runs as the user
    ``nobody`` (root reads every file, whatever its mode)."""
    largest_media_bytes()  # its import done here: the child only opens the file
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                Media.from_path(path)
                said = "read"
            except MediaError as exc:
                said = str(exc)
            os.write(write, said.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        said = fh.read().decode()
    os.waitpid(pid, 0)
    return said


def test_a_file_that_may_not_be_read_says_so() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # the unprivileged reader must reach the file
        path = Path(folder) / "private.jpg"
        path.write_bytes(TINY_JPEG)
        path.chmod(0o000)
        said = _refused(path) if os.geteuid() != 0 else _refused_as_nobody(path)
    assert "permission denied" in said
    assert "give the user running brandkit read access" in said


def test_a_file_gone_before_its_upload_says_to_put_it_back(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(TINY_JPEG)
    media = Media.from_path(path)
    path.unlink()
    with pytest.raises(MediaError) as info:
        list(media.chunks())
    said = str(info.value)
    assert "cannot read media file" in said and "does not exist any more" in said
    assert "put it back" in said
