"""Every command line option that counts (``--limit``, ``--concurrency``, ``--budget``,
``-n``) refuses a number out of range as a usage error, exit status 2 with the option's name,
as docs/outbox.md promises for usage errors: ``outbox list --limit -1`` opened the store and
failed with the library's refusal (exit status 1), ``--concurrency 0`` and the others alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.cli import main


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["outbox", "list", "--limit", "-1"], "--limit"),
        (["run", "--once", "--concurrency", "0"], "--concurrency"),
        (["inbox", "sync", "--concurrency", "0"], "--concurrency"),
        (["inbox", "list", "--limit", "-5"], "--limit"),
        (["metrics", "latest", "--limit", "-1"], "--limit"),
        (["metrics", "collect", "--limit", "-1"], "--limit"),
        (["listen", "add", "brand", "brandkit", "--budget", "0"], "--budget"),
        (["listen", "top", "brand", "-n", "-1"], "-n"),
        (["outbox", "list", "--limit", "many"], "--limit"),
        (["outbox", "list", "--limit", str(2**63)], "--limit"),
    ],
)
def test_a_count_out_of_range_is_a_usage_error(
    argv: list[str], option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "brandkit.db"
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and ("out of range" in err or "whole number" in err)
    assert not db.exists()  # refused before anything was opened


def test_counts_in_range_are_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 stays a limit the commands take (metrics: all rows), and a plain number too."""
    db = tmp_path / "brandkit.db"
    assert main(["metrics", "latest", "--limit", "0", "--db", str(db)]) in (0, 1)
    assert "argument --limit" not in capsys.readouterr().err
