"""``brandkit metrics collect`` when a platform refuses part of the collection: what the
other batches read is stored, each failure is printed, and the exit status says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Client, MetricsStore, Outbox, Post
from brandkit.cli import main
from tests.cli.conftest import Served


def test_a_refused_batch_costs_only_itself(
    mastodon: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """21 posts are two batches of Mastodon's 20 ids; the first is refused (401): the
    second's samples are stored, the failure is printed, and the exit status is 1. Before,
    the command stopped with the error and the summary was never printed."""
    db = tmp_path / "brandkit.db"
    with Outbox(db) as outbox, Client(outbox=outbox) as client:
        for i in range(21):
            (d,) = client.publish(Post(text=f"post {i}"), mastodon.account)
            assert d.ok, d.error
    mastodon.emu.fault(method="GET", path="/api/v1/statuses", status=401, times=1)
    status = main(["metrics", "collect", "--db", str(db), "--accounts", str(mastodon.toml)])
    out = capsys.readouterr().out
    assert status == 1
    assert "failed mastodon:brand: AuthError" in out
    with MetricsStore(db) as store:
        stored = {s.post_id for s in store.latest()}
    assert len(stored) == 1  # the second batch: one post
    assert "samples read" in out
