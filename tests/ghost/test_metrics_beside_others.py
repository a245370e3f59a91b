"""Ghost's Admin API gives integrations no post or account metrics. A Ghost article in a
collect beside other posts made `Client.collect` raise a bare ``NotImplementedError``, and the
other platforms' samples were lost with it; ``brandkit metrics collect`` over an outbox that
held a Ghost article ended in a traceback with nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Article, Client, MetricsStore, Outbox, Post, Unsupported
from brandkit.cli import main
from brandkit.testing.ghost import GhostEmulator
from brandkit.testing.mastodon import MastodonEmulator
from tests.ghost.conftest import FAST


def test_a_ghost_article_beside_other_posts_keeps_their_samples() -> None:
    ghost, masto = GhostEmulator(), MastodonEmulator()
    with ghost.serve(), masto.serve(), Client(retry=FAST) as client:
        blog, brand = ghost.account(), masto.account()
        (article,) = client.publish(Article(title="Launch", body="We launched."), blog)
        (post,) = client.publish(Post(text="We launched"), brand)
        assert article.ok and post.ok
        reads = ghost.count("GET")
        samples = client.collect([article, post])
        assert ghost.count("GET") == reads  # nothing asked of Ghost
        with pytest.raises(Unsupported, match="account metrics") as refused:
            client.collect_account(blog)
    assert refused.value.operation == "collect_account"
    assert "brandkit.platforms.capabilities('ghost')" in str(refused.value)
    ours = [s for s in samples if s.platform == "mastodon"]
    assert any(s.available for s in ours)
    theirs = [s for s in samples if s.platform == "ghost"]
    assert {s.metric for s in theirs} == {"impressions", "likes", "replies"}
    assert all(not s.available and "Admin API" in (s.reason or "") for s in theirs)
    assert {s.post_id for s in theirs} == {article.ids[0]}


def test_metrics_collect_over_a_ghost_blog_and_its_article(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command (which reads every account's followers by default) stores what it can
    and says the blog has no followers to read; exit 0. It ended in a traceback."""
    ghost, masto = GhostEmulator(), MastodonEmulator()
    db = tmp_path / "brandkit.db"
    with ghost.serve() as ghost_url, masto.serve() as masto_url:
        blog, brand = ghost.account(name="blog"), masto.account(name="brand")
        monkeypatch.setenv("BK_GHOST_KEY", blog.secret("admin_key") or "")
        monkeypatch.setenv("BK_MASTO_TOKEN", brand.secret("token") or "")
        toml = tmp_path / "brandkit.toml"
        toml.write_text(
            f'[accounts.blog]\nplatform = "ghost"\nurl = "{ghost_url}"\n'
            'admin_key_env = "BK_GHOST_KEY"\n\n'
            f'[accounts.brand]\nplatform = "mastodon"\ninstance_url = "{masto_url}"\n'
            'token_env = "BK_MASTO_TOKEN"\n'
        )
        with Outbox(db) as outbox, Client(outbox=outbox, retry=FAST) as client:
            (article,) = client.publish(Article(title="Launch", body="We launched."), blog)
            (post,) = client.publish(Post(text="We launched"), brand)
            assert article.ok and post.ok
        # Followers are read by default (--no-followers skips them).
        status = main(["metrics", "collect", "--db", str(db), "--accounts", str(toml)])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert "no followers for ghost:blog" in out
    assert "failed" not in out
    with MetricsStore(db) as store:
        latest = store.latest()
    assert {s.platform for s in latest if s.available} == {"mastodon"}
    assert "samples read" in out
