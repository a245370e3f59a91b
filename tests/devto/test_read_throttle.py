"""Forem's Rack::Attack ``api_throttle``: 3 GETs a second per address on ``/api/`` (limit 3,
period 1; ``config/initializers/rack_attack.rb``), answered 429 "Retry later" with
``Retry-After``. The emulator had the write throttle only; with the read one, brandkit's
reads of a large account (page after page of ``me/all``) are shown to keep within it."""

from __future__ import annotations

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms.devto import PAGE_SIZE, DevtoAdapter
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import FAST

MINE = r"/api/articles/me/all"


def test_the_emulator_allows_three_reads_a_second() -> None:
    emu = DevtoEmulator()
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        emu.clock.start_window(1.0)
        answers = [
            http.get("/api/articles/me/all", headers={"api-key": emu.api_key}) for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[3].text == "Retry later\n"
        assert answers[3].headers["retry-after"] == "1"
        emu.clock.advance(1.0)
        assert http.get("/api/articles/me/all", headers={"api-key": emu.api_key}).is_success


def test_the_read_throttle_can_be_turned_off() -> None:
    emu = DevtoEmulator(read_throttle=False)
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        for _ in range(10):
            assert http.get("/api/articles/me/all", headers={"api-key": emu.api_key}).is_success


def test_a_lookup_through_many_pages_keeps_within_the_read_limit() -> None:
    emu = DevtoEmulator(write_throttle=False, creation_limit=10_000)
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        for n in range(PAGE_SIZE * 6):
            article = {"title": f"Old {n}", "body_markdown": f"Body {n}", "published": True}
            r = http.post(
                "/api/articles", json={"article": article}, headers={"api-key": emu.api_key}
            )
            assert r.status_code == 201, r.text[:200]
    with emu.serve(), Client(retry=FAST) as client:
        devto = DevtoAdapter(emu.account())
        # Not there: every page is read, seven in all, more than a second's worth.
        assert client.run(devto, devto.find_article(Article(title="New", body="x"))) is None
        assert emu.count("GET", MINE) == 7  # none refused and asked again
