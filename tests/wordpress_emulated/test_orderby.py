"""The emulator orders post lists by ``orderby`` as WordPress does: it sorted by date
whatever was asked, so a client asking ``orderby=id`` (as brandkit's lookup after a lost
answer does) got a scheduled post dated next week before a newer post, where WordPress
answers newest id first; and an ``orderby`` WordPress does not know is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit.testing.wordpress import WordPressEmulator

BASE = "http://emulator.invalid"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    emu = WordPressEmulator()
    password = emu.app_password()
    with httpx.Client(transport=emu.transport(), base_url=BASE, auth=("admin", password)) as client:
        yield client


def make(http: httpx.Client, title: str, when: datetime | None = None) -> int:
    body = {"title": title, "content": "Text.", "status": "publish"}
    if when is not None:
        body["date_gmt"] = when.strftime("%Y-%m-%dT%H:%M:%S")
    r = http.post("/wp-json/wp/v2/posts", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def titles(http: httpx.Client, **params: str) -> list[str]:
    r = http.get("/wp-json/wp/v2/posts", params={"status": "any", **params})
    assert r.status_code == 200, r.text
    return [p["title"]["rendered"] for p in r.json() if p["title"]["rendered"] != "Hello world!"]


def test_orderby_id_and_the_others(http: httpx.Client) -> None:
    make(http, "Bravo later", datetime.now(UTC) + timedelta(days=7))
    make(http, "Alpha now")
    assert titles(http) == ["Bravo later", "Alpha now"]  # date, newest first
    assert titles(http, orderby="id", order="desc") == ["Alpha now", "Bravo later"]
    assert titles(http, orderby="id", order="asc") == ["Bravo later", "Alpha now"]
    assert titles(http, orderby="title", order="asc") == ["Alpha now", "Bravo later"]
    assert titles(http, orderby="slug", order="desc") == ["Bravo later", "Alpha now"]


def test_an_unknown_orderby_is_refused_in_wordpress_words(http: httpx.Client) -> None:
    r = http.get("/wp-json/wp/v2/posts", params={"orderby": "views"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): orderby"
    assert body["data"]["params"]["orderby"] == (
        "orderby is not one of author, date, id, include, modified, parent, relevance, slug, "
        "include_slugs, and title."
    )
