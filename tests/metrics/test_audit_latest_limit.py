"""``brandkit metrics latest`` read every latest sample of the store (about 249,000 of them
at five million samples, each built into a MetricSample) to print the first 100: the
command took as long and as much memory as the whole export. The limit is now the
query's: as many samples are built as rows are shown, the table and its "… N more" line as
before, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brandkit.cli import main
from brandkit.metrics import MetricSample, MetricsStore
from brandkit.metrics import _queries as q

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def many(db: Path) -> Path:
    """60 posts × 2 metrics, each read twice: 120 latest samples."""
    with MetricsStore(db) as store:
        store.add(
            MetricSample(
                platform="x",
                account="x:brand",
                metric=metric,
                value=post * 10 + reading,
                fetched_at=T0 + timedelta(hours=reading),
                post_id=f"{post:03d}",
            )
            for post in range(60)
            for metric in ("likes", "reposts")
            for reading in range(2)
        )
    return db


def _run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[str, int]:
    built = 0
    original = q.row_to_sample

    def counting(*args: Any, **kwargs: Any) -> MetricSample:
        nonlocal built
        built += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(q, "row_to_sample", counting)
    out = io.StringIO()
    assert main(["metrics", "latest", *argv], out=out) == 0
    monkeypatch.setattr(q, "row_to_sample", original)
    return out.getvalue(), built


def test_the_table_builds_only_the_rows_it_shows(
    many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, built = _run(monkeypatch, "--db", str(many), "--limit", "5")
    lines = out.splitlines()
    assert built == 5
    assert [line.split()[2:5] for line in lines[1:6]] == [
        ["000", "likes", "1"],
        ["000", "reposts", "1"],
        ["001", "likes", "11"],
        ["001", "reposts", "11"],
        ["002", "likes", "21"],
    ]
    assert lines[6] == "… 115 more (use --limit 0 for all)" and len(lines) == 7

    out, built = _run(monkeypatch, "--db", str(many))
    assert built == 100 and out.splitlines()[-1] == "… 20 more (use --limit 0 for all)"


def test_every_row_when_asked(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, built = _run(monkeypatch, "--db", str(many), "--limit", "0")
    assert built == 120 and len(out.splitlines()) == 121 and "more" not in out
    out, built = _run(monkeypatch, "--db", str(many), "--json")
    assert built == 120 and len(json.loads(out)) == 120
    out, built = _run(monkeypatch, "--db", str(many), "--json", "--limit", "3")
    assert built == 3 and [s["post_id"] for s in json.loads(out)] == ["000", "000", "001"]


def test_a_limit_past_the_rows_says_no_more(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, built = _run(monkeypatch, "--db", str(many), "--limit", "500", "--metric", "likes")
    assert built == 60 and len(out.splitlines()) == 61 and "more" not in out
    out, built = _run(monkeypatch, "--db", str(many), "--platform", "nowhere")
    assert built == 0 and out.strip() == "no samples match"
