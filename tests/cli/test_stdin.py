"""Text read from standard input (``-``) by ``brandkit preview``, ``outbox add`` and
``inbox reply``: read up to 1 MiB, more refused in one line before any file is touched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from brandkit._stdin import MAX_TEXT_BYTES, text_argument
from brandkit.errors import ConfigurationError
from tests.cli.conftest import cli


class Endless(io.TextIOBase):
    """Standard input that never ends (``/dev/zero`` piped in by mistake): a read without a
    bound would never return, so it fails the test instead."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            raise AssertionError("standard input read without a bound")
        self.given += size
        return "x" * size


def test_an_argument_is_the_text_itself() -> None:
    assert text_argument("hello", stdin=Endless()) == "hello"


def test_standard_input_up_to_the_cap_is_read() -> None:
    text = "é" * (MAX_TEXT_BYTES // 2)  # two bytes each: exactly the cap
    assert text_argument("-", stdin=io.StringIO(text)) == text
    assert text_argument("-", stdin=io.StringIO("line\r\n")) == "line\r\n"


@pytest.mark.parametrize(
    "held",
    ["x" * (MAX_TEXT_BYTES + 1), "é" * (MAX_TEXT_BYTES // 2) + "x"],
    ids=["characters", "bytes"],
)
def test_standard_input_over_the_cap_is_refused(held: str) -> None:
    with pytest.raises(ConfigurationError, match=r"more than 1 MiB.*check what is piped in"):
        text_argument("-", stdin=io.StringIO(held))


def _argv(command: str, tmp_path: Path) -> list[str]:
    missing = str(tmp_path / "none.toml")
    db = str(tmp_path / "brandkit.db")
    return {
        "preview": ["preview", "-", "--platforms", "x"],
        "outbox add": ["outbox", "add", "-", "--account", "a", "--accounts", missing, "--db", db],
        "inbox reply": ["inbox", "reply", "k", "-", "--accounts", missing, "--db", db],
    }[command].copy()


@pytest.mark.parametrize("command", ["preview", "outbox add", "inbox reply"])
def test_each_command_bounds_what_it_reads_from_standard_input(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stdin = Endless()
    monkeypatch.setattr("sys.stdin", stdin)
    status, out = cli(*_argv(command, tmp_path))
    err = capsys.readouterr().err
    assert status == 1 and out == ""
    assert "standard input holds more than 1 MiB" in err
    assert stdin.given == MAX_TEXT_BYTES + 1
    assert list(tmp_path.iterdir()) == []


def test_preview_still_reads_its_text_from_standard_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("piped hello"))
    status, out = cli("preview", "-", "--platforms", "x")
    assert status == 0 and "piped hello" in out
