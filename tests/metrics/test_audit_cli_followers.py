"""`brandkit metrics latest --metric followers` shows the accounts' follower counts, as
``store.latest(metric="followers")`` does; and the docs say which filters
`follower_growth` takes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from brandkit.cli import main
from brandkit.metrics import MetricsStore
from tests.metrics._data import small_samples

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


@pytest.fixture
def filled(db: Path | str) -> Path | str:
    with MetricsStore(db) as store:
        store.add(small_samples())
    return db


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_latest_followers_without_accounts_flag(filled: Path | str) -> None:
    """--metric followers alone reads the account series, like the API."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--metric", "followers")
    assert status == 0
    rows = {line.split()[1]: line.split()[4] for line in out.splitlines()[1:]}
    assert rows == {"x:brand": "1030", "bluesky:b": "220"}
    with MetricsStore(filled) as store:
        api = {(s.account, s.value) for s in store.latest(metric="followers")}
    status, out = _run("metrics", "latest", "--db", str(filled), "--metric", "followers", "--json")
    assert {(s["account"], s["value"]) for s in json.loads(out)} == api


def test_latest_posts_are_still_the_default(filled: Path | str) -> None:
    """Without --metric followers or --accounts the table is of post metrics."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--metric", "likes")
    assert status == 0
    assert {line.split()[2] for line in out.splitlines()[1:]} == {"1", "2", "b1"}
    status, out = _run(
        "metrics", "latest", "--db", str(filled), "--metric", "followers", "--metric", "likes"
    )
    assert {line.split()[3] for line in out.splitlines()[1:]} == {"likes"}


def test_docs_say_follower_growth_takes_no_campaign(filled: Path | str) -> None:
    """follower_growth() refuses campaign (follower counts belong to accounts), and the
    docs' sentence on the filters says so rather than promising campaign everywhere."""
    with MetricsStore(filled) as store, pytest.raises(TypeError, match="campaign"):
        store.follower_growth(campaign="launch")  # type: ignore[call-arg]
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    sentence = re.search(r"Every query returns typed rows[^.]*\.[^.]*\.", text)
    assert sentence is not None
    assert "follower_growth" in sentence.group(0), sentence.group(0)
