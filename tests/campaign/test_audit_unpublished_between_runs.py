"""An article taken down between the worker's run that published it and the run that
releases its announcement (an editor pulled it, deleted it, moved it to the trash) is not
announced: the worker asks the blog before it releases whenever it has the blog's account,
rather than trust the answer stored when the article was made."""

from __future__ import annotations

from pathlib import Path

from brandkit import Client
from brandkit.campaign import holds, queue
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import Site
from tests.campaign.test_publish import campaign


def test_an_article_taken_down_before_the_release_is_not_announced(
    site: Site, tmp_path: Path
) -> None:
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    queue(outbox, campaign(site), [site.blog_account])
    with Worker(outbox, [site.blog_account, *site.networks], client=Client(outbox=outbox)) as w:
        (article,) = w.run_once()
        assert article.ok
        assert w.client is not None
        site.remove(w.client, article.parts[0], force=False)  # WordPress: to the trash
        assert w.run_once() == []
        w.client.close()
    (hold,) = holds(outbox)
    assert hold.status == "failed"
    assert "trash" in (hold.reason or "") or "gone from the blog" in (hold.reason or "")
    assert site.network_posts == 0


def test_a_blog_that_cannot_be_asked_leaves_the_stored_answer_to_stand(
    site: Site, tmp_path: Path
) -> None:
    """An article the blog called public when it was made is announced when the blog cannot
    be asked at release time (down, or refusing the key): only its word that the article is
    gone (404) or taken down stops the announcement."""
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    queue(outbox, campaign(site), [site.blog_account])
    with Worker(outbox, [site.blog_account, *site.networks], client=Client(outbox=outbox)) as w:
        (article,) = w.run_once()
        assert article.ok
        site.blog.fault(method="GET", path=".*", status=503, times=1000)
        sent = w.run_once()
        assert sorted(d.platform for d in sent if d.ok) == ["bluesky", "linkedin", "x"]
        assert w.client is not None
        w.client.close()
    (hold,) = holds(outbox)
    assert hold.status == "released"
