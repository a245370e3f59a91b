"""X's search over several pages when a later page fails: the pages X already returned
(and billed) are kept, stored and counted against the query's budget, and the next run
goes on below them instead of reading and paying for them again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import Client, Query, RetryPolicy
from brandkit.listening import Listener
from brandkit.testing.x import XEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)
SEARCH = "/2/tweets/search/recent"


class FailingSearch(httpx.BaseTransport):
    """The emulator's transport, failing the ``nth`` search request once: with a 503 that
    echoes the request's bearer token (a careless server), or a timeout."""

    def __init__(self, inner: httpx.BaseTransport, nth: int, how: str) -> None:
        self.inner, self.nth, self.how = inner, nth, how
        self.searches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == SEARCH:
            self.searches += 1
            if self.searches == self.nth:
                if self.how == "timeout":
                    raise httpx.ReadTimeout("the read timed out", request=request)
                return httpx.Response(
                    503,
                    json={
                        "title": "Service Unavailable",
                        "detail": f"down ({request.headers['authorization']})",
                        "status": 503,
                    },
                )
        return self.inner.handle_request(request)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    with Listener(tmp_path / "listening.db") as listener:
        yield listener


def fans(emu: XEmulator, n: int) -> None:
    for i in range(n):
        emu.audience(f"fan{i % 5}").post(f"brandkit {i}", lang="en")


@pytest.mark.parametrize("how", ["503", "timeout"])
def test_pages_read_before_a_failed_page_are_kept_and_billed_once(
    listener: Listener, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    fans(emu, 150)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=150)
    transport = FailingSearch(emu.transport(), nth=2, how=how)
    with (
        caplog.at_level(logging.WARNING, logger="brandkit.platforms.x"),
        Client(http=httpx.Client(transport=transport), retry=FAST) as c,
    ):
        (first,) = listener.sync(c, force=True)
        # The first page (100 posts, billed) is stored and counted; the run goes on later.
        assert emu.posts_read == 100
        assert (first.read, first.found, first.error) == (100, 100, None)
        assert first.stopped == "limit"
        assert listener.spent("brand", brand.key) == 100
        assert len(listener.messages("brand")) == 100
        (second,) = listener.sync(c, force=True)
    # Only what the first run did not read is read (and billed) again: the budget holds.
    assert (second.read, second.found, second.error) == (50, 50, None)
    assert emu.posts_read == 150 == listener.spent("brand", brand.key)
    assert len(listener.messages("brand")) == 150
    warned = [r for r in caplog.records if r.name == "brandkit.platforms.x"]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    said = warned[0].getMessage()
    assert brand.key in said and "100" in said
    for name in brand.secret_names:
        assert str(brand.secret(name)) not in said
    if how == "503":  # the server echoed the bearer token: redacted
        assert "**********" in said


def test_a_usage_cap_on_a_later_page_keeps_the_pages_before_it() -> None:
    """X's 429 ``usage-capped`` once the cap is reached: the page served before it stays."""
    emu = XEmulator(usage_cap=100)
    brand = emu.account(name="brand", known_user=True)
    fans(emu, 150)
    with Client(http=httpx.Client(transport=emu.transport()), retry=FAST) as c:
        page = c.search(brand, Query(any=["brandkit"]), since=None, limit=1000)
    assert (page.read, len(page.messages), page.more) == (100, 100, True)
    assert page.cursor is not None


def test_a_failed_first_page_still_raises(listener: Listener) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    fans(emu, 150)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=150)
    transport = FailingSearch(emu.transport(), nth=1, how="503")
    with Client(http=httpx.Client(transport=transport), retry=FAST) as c:
        (run,) = listener.sync(c, force=True)
        assert run.error is not None and "PlatformUnavailable" in run.error
        assert run.read == 0 == listener.spent("brand", brand.key)
        (again,) = listener.sync(c, force=True)
    assert (again.read, again.found, again.error) == (150, 150, None)
    assert emu.posts_read == 150
