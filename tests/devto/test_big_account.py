"""The account's list (``me/all``) is read in pages that fit what brandkit reads of an
answer. It was read 1000 articles a page, and ``me/all`` carries each article's Markdown:
for an account whose newest thousand articles hold more than 16 MiB, every page was larger
than the 16 MiB brandkit reads of an answer, so the lookup after a lost answer, the
campaign's look at the article and the metrics all failed. Pages are now 100 articles,
and one may hold 100 articles of Forem's largest body."""

from __future__ import annotations

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms.devto import DevtoAdapter
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import FAST


def test_a_list_larger_than_16_mib_is_read() -> None:
    emu = DevtoEmulator(write_throttle=False, creation_limit=1000)
    body = ("Long read. " * 65_000)[:700_000]
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        for n in range(26):  # 26 x 700 kB: more than 16 MiB
            article = {"title": f"Old {n}", "body_markdown": body, "published": True}
            r = http.post(
                "/api/articles", json={"article": article}, headers={"api-key": emu.api_key}
            )
            assert r.status_code == 201, r.text[:200]
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Article(title="New", body="Short."), account)
        assert d.ok, d.error
        devto = DevtoAdapter(account)
        ref = client.run(devto, devto.read_article(d.parts[0]))
        assert ref.extra["status"] == "published"
        old = client.run(devto, devto.find_article(Article(title="Old 0", body=body)))
        assert old is not None
