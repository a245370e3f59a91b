"""brandkit and its Meta emulators against the real Graph API bodies in tests/data/meta."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.platforms._graph import graph_error, parse_time
from brandkit.testing import png
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import META, answer, real

TIME_KEYS = ("created_time", "updated_time", "timestamp", "end_time")


def _times(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TIME_KEYS and isinstance(item, str):
                yield item
            else:
                yield from _times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times(item)


BODIES = sorted(p.relative_to(META).as_posix() for p in META.rglob("*.json"))


@pytest.mark.parametrize("name", BODIES)
def test_every_real_timestamp_parses(name: str) -> None:
    """Every timestamp in every real body parses to an aware UTC time."""
    for text in _times(real(name)):
        when = parse_time(text)
        assert when is not None and when.utcoffset() is not None, text


def test_real_bodies_are_all_read() -> None:
    """The real data is there (so the tests above are not vacuous)."""
    assert len(BODIES) > 60
    assert sum(1 for name in BODIES for _ in _times(real(name))) > 100


def test_real_error_envelope_is_parsed() -> None:
    """graph_error reads Meta's envelope and nothing else."""
    err = graph_error(answer(400, real("error.json")))
    assert err["code"] == 100 and err["type"] == "OAuthException"
    assert graph_error(answer(200, {"data": []})) == {}
    assert graph_error(httpx.Response(502, text="<html>")) == {}


@pytest.fixture
def http_and_page() -> Iterator[tuple[httpx.Client, str, dict[str, str]]]:
    """An in-process Facebook emulator, a Page and its auth header."""
    emu = FacebookEmulator()
    acct = emu.account()
    headers = {"authorization": f"Bearer {acct.secret('page_token')}"}
    with httpx.Client(transport=emu.transport(), base_url="http://graph.test") as client:
        yield client, acct.settings["page_id"], headers


def test_photo_and_video_nodes_have_the_real_fields(
    http_and_page: tuple[httpx.Client, str, dict[str, str]],
) -> None:
    """A photo and a video read back with the fields of the real bodies have exactly their
    keys."""
    http, page, headers = http_and_page
    photo = http.post(
        f"/v25.0/{page}/photos", files={"source": ("a.png", png(), "image/png")}, headers=headers
    ).json()
    sample = real("facebook/apidata/photos/photo_info_fields.json")
    got = http.get(
        f"/v25.0/{photo['id']}", params={"fields": ",".join(sample)}, headers=headers
    ).json()
    assert set(got) == set(sample)
    video = http.post(
        f"/v25.0/{page}/videos",
        data={"description": "clip"},
        files={"source": ("v.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\0" * 10, "video/mp4")},
        headers=headers,
    ).json()
    sample = real("facebook/apidata/videos/video_info_fields.json")
    got = http.get(
        f"/v25.0/{video['id']}", params={"fields": ",".join(sample)}, headers=headers
    ).json()
    assert set(got) == set(sample)


def test_page_fields_match_the_real_page(
    http_and_page: tuple[httpx.Client, str, dict[str, str]],
) -> None:
    """The Page node answers the real single_fields_page's fields with the same types."""
    http, page, headers = http_and_page
    sample = real("facebook/apidata/pages/single_fields_page.json")
    got = http.get(f"/v25.0/{page}", params={"fields": ",".join(sample)}, headers=headers).json()
    assert set(got) == set(sample)
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in sample.items()}
    assert json.dumps(got)  # plain JSON
