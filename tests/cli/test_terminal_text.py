"""A platform's words reach the terminal as text, never as escape sequences it obeys: the
outbox's stored errors and history, and every command's one-line error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from brandkit import Post
from brandkit.cli import main
from brandkit.errors import Rejected
from brandkit.outbox import Outbox
from brandkit.testing.mastodon import MastodonEmulator

HOSTILE = "bad request\x1b]0;pwned\x07\x1b[2J\u202eevil"


def test_a_stored_error_is_shown_escaped(tmp_path: Path) -> None:
    """A platform refused with a message holding a window-title sequence, a screen clear
    and a bidirectional override: `outbox list` and `outbox show` printed it raw."""
    db = tmp_path / "o.db"
    emu = MastodonEmulator()
    with Outbox(db) as outbox:
        (d,) = outbox.add(Post(text="hello"), emu.account())
        d.error = Rejected(HOSTILE, platform="mastodon", status_code=422)
        outbox.save(d)
    for command in (["outbox", "list"], ["outbox", "show", d.id]):
        out = io.StringIO()
        assert main([*command, "--db", str(db)], out=out) == 0
        text = out.getvalue()
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b]0;pwned\\x07" in text or "\\x1b]0;pwn" in text


def test_a_commands_error_line_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise Rejected(HOSTILE, platform="mastodon", status_code=422)

    db = tmp_path / "o.db"
    Outbox(db).close()
    monkeypatch.setattr(Outbox, "list", refuse)
    assert main(["outbox", "list", "--db", str(db)], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.startswith("brandkit: bad request\\x1b]0;pwned\\x07\\x1b[2J\\u202eevil")
