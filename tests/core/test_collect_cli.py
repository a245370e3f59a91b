"""`brandkit metrics collect`: the outbox's published posts, collected into the store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from brandkit import Account, Client, MetricsStore, Outbox, Post
from brandkit.cli import main
from brandkit.testing.mastodon import MastodonEmulator


def accounts_file(
    emu: MastodonEmulator, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Account]:
    """An accounts file naming the served emulator's account (its token in the
    environment), and the account it loads."""
    token = emu.account().secret("token")
    assert token
    monkeypatch.setenv("BRAND_MASTO_TOKEN", token)
    accounts = tmp_path / "brandkit.toml"
    accounts.write_text(
        f'[accounts.brand]\nplatform = "mastodon"\ninstance_url = "{url}"\n'
        'token_env = "BRAND_MASTO_TOKEN"\n'
    )
    return accounts, Account.load(accounts)["brand"]


def test_collect_command_stores_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Posts published through a durable client are collected by the CLI into the same file,
    with the account's followers; a second run adds a new snapshot."""
    emu = MastodonEmulator()
    db = tmp_path / "brandkit.db"
    with emu.serve() as url:
        accounts, account = accounts_file(emu, url, tmp_path, monkeypatch)
        with Outbox(db) as outbox, Client(outbox=outbox) as client:
            for i in range(3):
                (d,) = client.publish(Post(text=f"launch post {i}", campaign="c1"), account)
                assert d.ok
        out = io.StringIO()
        assert (
            main(["metrics", "collect", "--db", str(db), "--accounts", str(accounts)], out=out) == 0
        )
        assert "from 3 deliveries" in out.getvalue()
        emu.clock.advance(3600)
        assert (
            main(
                ["metrics", "collect", "--db", str(db), "--accounts", str(accounts)],
                out=io.StringIO(),
            )
            == 0
        )
    with MetricsStore(db) as store:
        latest = store.latest(metric="likes")
        assert {s.campaign for s in latest} == {"c1"}
        assert len(latest) == 3
        followers = store.latest(metric="followers")
        assert len(followers) == 1
        assert followers[0].account == "mastodon:brand"
        assert store.count(metric="likes") == 6  # two snapshots of three posts


def test_collect_limit_says_what_it_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--limit 2`` reads the newest two sent deliveries and says older ones were left out
    (the summary alone hid it); ``--limit 0`` is every delivery, as ``metrics latest
    --limit 0`` is every row (it collected nothing)."""
    emu = MastodonEmulator()
    db = tmp_path / "brandkit.db"
    with emu.serve() as url:
        accounts, account = accounts_file(emu, url, tmp_path, monkeypatch)
        with Outbox(db) as outbox, Client(outbox=outbox) as client:
            for i in range(3):
                (d,) = client.publish(Post(text=f"launch post {i}"), account)
                assert d.ok
        base = ["metrics", "collect", "--db", str(db), "--accounts", str(accounts)]
        out = io.StringIO()
        assert main([*base, "--limit", "2", "--no-followers"], out=out) == 0
        assert "from 2 deliveries" in out.getvalue()
        assert "only the newest 2 sent deliveries were read (--limit 0 for all)" in out.getvalue()
        out = io.StringIO()
        assert main([*base, "--limit", "0", "--no-followers"], out=out) == 0
        assert "from 3 deliveries" in out.getvalue()
        assert "only the newest" not in out.getvalue()
