"""An article body is measured as Forem measures it: ``bytesize: { maximum: 800.kilobytes }``,
UTF-8 bytes, not characters. brandkit refuses a larger one before anything is sent (it
was sent, and refused by Forem, or by the emulator only past 800,000 characters), and the
emulator refuses it in Forem's words."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.devto import DevtoEmulator

LIMIT = 800 * 1024


def test_a_body_over_800_kib_in_utf8_is_refused_before_sending(
    emu: DevtoEmulator, client: Client
) -> None:
    body = "é" * (LIMIT // 2 + 1)  # 409,601 characters: 819,202 bytes
    (d,) = client.publish(Article(title="Q3", body=body), emu.account())
    assert isinstance(d.error, ContentError) and d.error.field == "body"
    assert d.error.over_by == 2 and "800 KiB" in str(d.error)
    assert emu.requests == []
    (ok,) = client.publish(Article(title="Q3", body="é" * (LIMIT // 2)), emu.account())
    assert ok.ok, ok.error


def test_the_emulator_counts_bytes_in_forems_words(emu: DevtoEmulator) -> None:
    account = emu.account()
    headers = {"api-key": account.secret("api_key") or ""}
    with httpx.Client(base_url=emu.base_url, headers=headers) as http:
        big = {"title": "Q3", "body_markdown": "é" * (LIMIT // 2 + 1)}
        refused = http.post("/api/articles", json={"article": big})
        assert refused.status_code == 422
        assert refused.json()["error"] == "Body markdown is too long."
        emu.clock.advance(timedelta(seconds=2))  # Forem takes one write a second
        fits = {"title": "Q4", "body_markdown": "é" * (LIMIT // 2)}
        assert http.post("/api/articles", json={"article": fits}).status_code == 201
