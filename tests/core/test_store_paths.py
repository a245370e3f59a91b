"""What names no store is refused by every store: an empty path (an unset ``--db "$DB"``)
opened SQLite's temporary database, and everything written went with it at close; ``None``
made a file named ``None`` (the outbox) or raised a TypeError."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from brandkit import Inbox
from brandkit.cli import main
from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsStore
from brandkit.outbox import Outbox

STORES: dict[str, Callable[[Any], Any]] = {
    "outbox": Outbox,
    "inbox": Inbox,
    "metrics": MetricsStore,
}


@pytest.mark.parametrize("store", sorted(STORES))
@pytest.mark.parametrize("path", ["", "   ", None, 5])
def test_what_names_no_store_is_refused(
    store: str, path: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="give a file"):
        STORES[store](path)
    assert list(tmp_path.iterdir()) == []  # no file named None, nothing else


@pytest.mark.parametrize("command", [["outbox", "list"], ["metrics", "latest"]])
def test_the_command_line_says_so_in_one_line(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command, "--db", ""], out=io.StringIO())
    err = capsys.readouterr().err
    assert code != 0
    assert "give a file" in err and "Traceback" not in err
