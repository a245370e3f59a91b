"""The emulator decides a post's status from its date as ``wp_insert_post`` does: a date
less than a minute ahead is now (a ``future`` post so dated is published at once, a
``publish`` one stays published), one a minute ahead or more is ``future``. It compared the
date with the very second, so a post scheduled 30 seconds ahead stayed ``future`` where
WordPress publishes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from brandkit.testing.wordpress import WordPressEmulator

BASE = "http://emulator.invalid"


@pytest.fixture
def emu() -> WordPressEmulator:
    return WordPressEmulator()


@pytest.fixture
def http(emu: WordPressEmulator) -> Iterator[httpx.Client]:
    password = emu.app_password()
    with httpx.Client(transport=emu.transport(), base_url=BASE, auth=("admin", password)) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "ahead", "stored"),
    [
        ("future", 30, "publish"),
        ("future", 59, "publish"),
        ("future", 90, "future"),
        ("publish", 30, "publish"),
        ("publish", 90, "future"),
        ("future", -30, "publish"),
    ],
)
def test_the_status_follows_the_date_as_wordpress_decides(
    emu: WordPressEmulator, http: httpx.Client, status: str, ahead: int, stored: str
) -> None:
    when = (emu.clock.now() + timedelta(seconds=ahead)).strftime("%Y-%m-%dT%H:%M:%S")
    r = http.post(
        "/wp-json/wp/v2/posts",
        json={"title": "Q3", "content": "Up.", "status": status, "date_gmt": when},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == stored
    assert r.json()["date_gmt"] == when
