"""An emulator bug answers 500 in the platform's shape and fails the test loudly."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing import Emulator
from brandkit.testing._emulator import HandlerError
from brandkit.testing.mastodon import MastodonEmulator
from tests.emulator_base.conftest import EchoEmulator


def test_over_a_socket_a_handler_error_is_a_500_and_fails_serve() -> None:
    """The client gets a 500 (not a dropped connection, which is the scripted ``drop``
    fault's signal); leaving ``serve()`` raises with the request and the traceback."""
    emu = EchoEmulator()
    with (  # noqa: PT012
        pytest.raises(AssertionError) as failed,
        emu.serve() as url,
        httpx.Client(base_url=url) as http,
    ):
        response = http.get("/boom", params={"access_token": "s3cret"})
        assert response.status_code == 500
        assert response.json() == {"error": "Internal Server Error"}
        assert http.get("/ping").status_code == 200  # the connection still works
    [error] = emu.errors
    assert error.request_line == "GET /boom"  # no query: it may carry a token
    assert isinstance(error.exception, KeyError)
    message = str(failed.value)
    assert "GET /boom: KeyError: 'an emulator bug'" in message
    assert "raise KeyError" in message  # the traceback, to fix the emulator
    assert "s3cret" not in message


def test_in_process_a_handler_error_is_a_500_and_fails_on_close() -> None:
    """In-process the client gets the same 500; closing the transport raises."""
    emu = EchoEmulator()
    http = httpx.Client(transport=emu.transport(), base_url="http://echo.test")
    assert http.get("/boom").status_code == 500
    with pytest.raises(AssertionError, match="GET /boom"):
        http.close()
    with pytest.raises(AssertionError, match="1 request"):
        emu.check()


@pytest.mark.anyio
async def test_the_async_transport_fails_on_close_too() -> None:
    """``aclose()`` of an async client checks as ``close()`` does."""
    emu = EchoEmulator()
    http = httpx.AsyncClient(transport=emu.transport(), base_url="http://echo.test")
    assert (await http.get("/boom")).status_code == 500
    with pytest.raises(AssertionError, match="GET /boom"):
        await http.aclose()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


def test_accepted_errors_and_strict_false_do_not_fail() -> None:
    """A test that provokes a bug on purpose clears ``emu.errors``; an emulator built with
    ``strict=False`` only records."""
    emu = EchoEmulator()
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        assert http.get("/boom").status_code == 500
        assert len(emu.errors) == 1
        emu.errors.clear()
    lax = EchoEmulator(strict=False)
    with lax.serve() as url, httpx.Client(base_url=url) as http:
        assert http.get("/boom").status_code == 500
    with httpx.Client(transport=lax.transport(), base_url="http://echo.test") as http:
        assert http.get("/boom").status_code == 500
    assert [str(e) for e in lax.errors] == ["GET /boom: KeyError: 'an emulator bug'"] * 2


def test_scripted_faults_are_not_errors() -> None:
    """A scripted drop still drops; a scripted status is the platform's answer; neither is
    recorded."""
    emu = EchoEmulator()
    emu.fault(path="/ping", drop="before")
    emu.fault(path="/ping", status=503)
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/ping")
        assert http.get("/ping").status_code == 503
        assert http.get("/ping").status_code == 200
    assert emu.errors == []


def test_the_test_s_own_failure_is_not_hidden() -> None:
    """When the test body fails too, its exception propagates, noting the emulator's."""
    emu = EchoEmulator()
    with (  # noqa: PT012
        pytest.raises(ZeroDivisionError) as failed,
        emu.serve() as url,
        httpx.Client(base_url=url) as http,
    ):
        http.get("/boom")
        1 / 0  # noqa: B018
    assert "echo emulator errors: GET /boom" in "".join(failed.value.__notes__)


def test_the_platform_s_error_shape() -> None:
    """The 500 comes in the platform's error envelope (here Mastodon's)."""

    class Broken(MastodonEmulator):
        def _instance(self, *args: object, **kwargs: object) -> httpx.Response:
            raise RuntimeError("bug")  # the handler of GET /api/v2/instance, broken

    emu = Broken()
    emu.strict = False  # the per-platform constructors do not all take it
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        response = http.get("/api/v2/instance")
    assert response.status_code == 500
    assert response.json() == MastodonEmulator().error(500, "Internal Server Error").json()
    assert [e.request_line for e in emu.errors] == ["GET /api/v2/instance"]


def test_a_broken_error_hook_still_answers_500() -> None:
    """If ``internal_error`` itself raises, a plain JSON 500 goes out."""

    class Worse(EchoEmulator):
        def internal_error(self, request: httpx.Request) -> httpx.Response:
            raise ValueError("no")

    emu = Worse(strict=False)
    with httpx.Client(transport=emu.transport(), base_url="http://echo.test") as http:
        response = http.get("/boom")
    assert (response.status_code, response.json()) == (500, {"error": "Internal Server Error"})


def test_handler_error_record() -> None:
    """The record prints as request line and exception, and keeps the traceback."""
    try:
        raise ValueError("x")
    except ValueError as exc:
        record = HandlerError("POST /2/tweets", exc)
    assert str(record) == "POST /2/tweets: ValueError: x"
    assert "Traceback" in record.traceback()
    assert Emulator.strict is True
