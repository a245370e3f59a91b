"""A media file given by a relative path is the file it named when the post was made, even
when it is read from another working directory (an outbox worker started elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit import Media, Post
from brandkit.testing import TINY_JPEG


def test_a_relative_path_is_kept_as_the_file_it_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path was kept relative: a post queued from the project directory (brandkit outbox
    add --media photo.jpg) was uploaded by a worker running in another directory, which
    read "photo.jpg" there and failed ("it does not exist any more")."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "photo.jpg").write_bytes(TINY_JPEG)
    monkeypatch.chdir(project)
    post = Post("look", media=[Media.from_path("photo.jpg", alt="a dot")])
    stored = post.model_dump_json()
    monkeypatch.chdir(elsewhere)
    assert post.media[0].read() == TINY_JPEG
    assert post.media[0].path == project / "photo.jpg"
    again = Post.model_validate_json(stored)
    assert again.media[0].read() == TINY_JPEG
    assert json.loads(stored)["media"][0]["path"] == str(project / "photo.jpg")
