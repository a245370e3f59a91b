"""A handler refuses a request by raising `Refusal`: the client gets the platform's error."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit.testing import Emulator, route
from brandkit.testing._emulator import Refusal


class _Shop(Emulator):
    platform = "shop"

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        return self.json({"problem": message, **extra}, status=status)

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        return {"x-left": "9"}

    @route("GET", r"/items/(?P<item>\w+)")
    def _item(self, request: httpx.Request, item: str) -> httpx.Response:
        self._in_stock(item)
        return self.json({"item": item})

    def _in_stock(self, item: str) -> None:
        if item == "gone":
            raise Refusal(404, "no such item", headers={"x-why": "sold"}, code="GONE")


def test_a_refusal_raised_below_a_handler_is_the_platforms_error_with_its_headers() -> None:
    emu = _Shop()
    with httpx.Client(transport=emu.transport(), base_url="http://shop.test") as http:
        assert http.get("/items/cup").json() == {"item": "cup"}
        refused = http.get("/items/gone")
    assert refused.status_code == 404
    assert refused.json() == {"problem": "no such item", "code": "GONE"}
    assert refused.headers["x-why"] == "sold"
    assert refused.headers["x-left"] == "9"  # every answer's headers, as on a success
    assert emu.errors == []  # a refusal is an answer, not an emulator bug


class _Made(_Shop):
    @route("GET", r"/made")
    def _made(self, request: httpx.Request) -> httpx.Response:
        raise Refusal.answering(httpx.Response(418, text="teapot", headers={"x-own": "1"}))


def test_a_refusal_answering_a_response_made_already_answers_it_as_it_is() -> None:
    emu = _Made()
    with httpx.Client(transport=emu.transport(), base_url="http://shop.test") as http:
        made = http.get("/made")
    assert (made.status_code, made.text, made.headers["x-own"]) == (418, "teapot", "1")
    assert made.headers["x-left"] == "9"
