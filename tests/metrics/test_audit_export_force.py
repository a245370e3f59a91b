"""``brandkit metrics export --csv FILE`` wrote over an existing FILE without a word, where
``brandkit report --out FILE`` refuses one unless ``--force`` is given: a mistyped name
replaced last month's export. Both now refuse alike (exit 1, naming --force), and
``--force`` overwrites."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from brandkit.cli import main
from brandkit.metrics import MetricsStore, read_csv
from tests.metrics._data import small_samples


def _run(*argv: str) -> int:
    return main(list(argv), out=io.StringIO())


def test_export_refuses_an_existing_file_as_report_does(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with MetricsStore(db) as store:
        store.add(small_samples())
    kept = tmp_path / "march.csv"
    kept.write_text("last month's export\n", encoding="utf-8")
    page = tmp_path / "r.html"
    page.write_text("last report\n", encoding="utf-8")

    refused = _run("metrics", "export", "--db", str(db), "--csv", str(kept))
    said = capsys.readouterr().err
    assert _run("report", "--db", str(db), "--out", str(page)) == refused == 1
    assert "--force" in said and str(kept) in said
    assert kept.read_text(encoding="utf-8") == "last month's export\n"

    assert _run("metrics", "export", "--db", str(db), "--csv", str(kept), "--force") == 0
    assert len(read_csv(kept)) == len(small_samples())


def test_stdout_needs_no_force(db: Path) -> None:
    with MetricsStore(db) as store:
        store.add(small_samples())
    out = io.StringIO()
    assert main(["metrics", "export", "--db", str(db), "--csv", "-"], out=out) == 0
    assert len(read_csv(io.StringIO(out.getvalue()))) == len(small_samples())
