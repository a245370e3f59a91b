"""Forem stores a title without the characters it does not allow (``normalize_title``):
``"Revenue ≥ 40°C → ½ off"`` becomes ``"Revenue 40 C off"``. A lost create is looked up by
the title as stored: found once, never sent again (which Forem refused as a duplicate title,
so the delivery was reported failed while the article was live)."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms.devto import forem_title
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE

TITLE = "Revenue ≥ 40°C → ½ off"


def test_forem_title_follows_normalize_title() -> None:
    assert forem_title(TITLE) == "Revenue 40 C off"
    kept = "Acme — €5M™ ✓ 🚀 café + more & co: (R&D)"
    assert forem_title(kept) == kept
    assert forem_title("  a\u2192b  ") == "a b"


def test_the_emulator_stores_the_title_as_forem_does(emu: DevtoEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title=TITLE, body="Up."), emu.account())
    assert d.ok
    assert emu.post_titles() == ["Revenue 40 C off"]


def test_a_lost_create_is_found_by_the_stored_title(emu: DevtoEmulator, client: Client) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    (d,) = client.publish(Article(title=TITLE, body="Up."), emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "published"
    assert emu.count("POST", CREATE) == 1
    assert emu.post_titles() == ["Revenue 40 C off"]
