"""The lookup after a lost answer reads only the fields it uses (``_fields``): it read
whole posts, excerpt and content raw and rendered, 100 a page, so a slug family of long posts (a weekly
report, ``report-2``, ``report-3``...) made an answer larger than the 16 MiB brandkit reads,
and the lookup failed instead of finding the post."""

from __future__ import annotations

import httpx

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
CREATE = r"/wp-json/wp/v2/posts"


def test_a_family_of_long_posts_is_looked_up() -> None:
    emu = WordPressEmulator()
    long = "x" * 2_000_000  # raw and rendered: 4 MB a post
    password = emu.app_password()
    with httpx.Client(
        transport=emu.transport(), base_url="http://wp.invalid", auth=("admin", password)
    ) as http:
        for _ in range(5):  # 20 MB in all
            post = {"title": "Weekly report", "excerpt": long, "content": "Hi", "status": "publish"}
            r = http.post("/wp-json/wp/v2/posts", json=post)
            assert r.status_code == 201
    made = emu.count("POST", CREATE)
    with emu.serve(), Client(retry=FAST) as client:
        emu.fault(method="POST", path=CREATE, drop="after")
        article = Article(title="Weekly report", body="Short this week.", slug="weekly-report")
        (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert emu.count("POST", CREATE) == made + 1  # found, not sent again
    assert d.parts[0].extra["slug"] == "weekly-report-6"
