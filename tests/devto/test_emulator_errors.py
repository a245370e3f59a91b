"""The emulator joins several validation messages as Forem does (``errors_as_sentence``,
Rails' ``to_sentence``: "A and B", "A, B, and C"); it joined three or more with " and "
throughout, which no Forem answers."""

from __future__ import annotations

import httpx

from brandkit.testing.devto import DevtoEmulator


def create(emu: DevtoEmulator, article: dict[str, object]) -> httpx.Response:
    with httpx.Client(transport=emu.transport(), base_url="http://forem.invalid") as http:
        return http.post(
            "/api/articles", json={"article": article}, headers={"api-key": emu.api_key}
        )


def test_three_messages_are_one_sentence() -> None:
    emu = DevtoEmulator(write_throttle=False)
    r = create(
        emu,
        {
            "title": "x" * 129,
            "body_markdown": "Hi",
            "tags": ["a", "b", "c", "d", "e"],
            "canonical_url": "not a url",
        },
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error.count(", ") == 2 and ", and " in error, error
    assert " and " not in error.replace(", and ", ""), error


def test_two_messages_are_joined_with_and() -> None:
    emu = DevtoEmulator(write_throttle=False)
    r = create(emu, {"title": "x" * 129, "body_markdown": "Hi", "canonical_url": "not a url"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert ", " not in error and error.count(" and ") == 1, error
