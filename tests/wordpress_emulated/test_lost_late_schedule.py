"""A lost answer for an article whose scheduled time had passed when it was sent (a worker
that ran late, a retry) is found, not published twice. WordPress publishes such a post at
once dated as asked, and ``wp_insert_post`` gives a new post with a date of its own that
same date as its modified time: both were before the delivery began, so the lookup took
the post for an older one and created a second (``q3-results-2``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Client, RetryPolicy
from brandkit._flow import run_flow
from brandkit.content import Article
from brandkit.platforms.wordpress import WordPressAdapter
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
CREATE = r"/wp-json/wp/v2/posts"


@pytest.mark.parametrize("late", [timedelta(minutes=30), timedelta(days=3)])
def test_a_lost_late_create_is_found_not_sent_again(late: timedelta) -> None:
    emu = WordPressEmulator()
    when = (datetime.now(UTC) - late).replace(microsecond=0)
    with emu.serve(), Client(retry=FAST) as client:
        emu.fault(method="POST", path=CREATE, drop="after")
        article = Article(title="Q3 results", body="Up 31%.", scheduled_at=when)
        (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert emu.count("POST", CREATE) == 1
    (post,) = emu.items()
    assert post["slug"] == "q3-results" and post["status"] == "publish"
    assert d.parts[0].id == str(post["id"])


def test_only_a_post_dated_as_asked_counts() -> None:
    """A post with the title, dated before the delivery began, counts only when it is dated
    exactly as the article was scheduled: an older post of the same title (another date) is
    not this delivery's, and the article is created."""
    emu = WordPressEmulator()
    days_ago = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    with emu.serve(), Client(retry=FAST) as client:
        old = Article(title="Q3 results", body="Old.", scheduled_at=days_ago)
        (first,) = client.publish(old, emu.account())
    assert first.ok, first.error
    wp = WordPressAdapter(emu.account())
    now = datetime.now(UTC)
    with httpx.Client(transport=emu.transport()) as http:
        found = run_flow(wp.find_article(old, since=now), http.send)
        assert found is not None and found.id == first.parts[0].id
        other = old.model_copy(update={"scheduled_at": days_ago + timedelta(hours=1)})
        assert run_flow(wp.find_article(other, since=now), http.send) is None
        plain = Article(title="Q3 results", body="Old.")
        assert run_flow(wp.find_article(plain, since=now), http.send) is None
