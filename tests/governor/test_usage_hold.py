"""A Meta usage hold lasts its time: an answer below the threshold does not lift it.

Every request of the app (``X-App-Usage``) or of the account (the business, page and
ad-account headers) waits while a hold is on, so the only answers that can arrive during one
are those of requests sent before it (still in flight when the throttled answer came, their
usage measured earlier). Such an answer used to lift the hold at once, and the next request
went out while Meta had said to wait: Meta extends a throttle on every call made during it.
"""

from __future__ import annotations

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from tests.governor.conftest import FakeClock

PAGE = BucketKey("facebook", "graph.facebook.com", "facebook:page", "feed")
OTHER = BucketKey("facebook", "graph.facebook.com", "facebook:other", "feed")


def test_a_late_page_usage_answer_keeps_the_account_hold(clock: FakeClock) -> None:
    """Two requests of a Page in flight; the first answer is throttled with the Page's
    usage at 100 %, the second, measured before, shows 40 %: the Page still waits."""
    gov = Governor(clock=clock)
    assert gov.acquire(PAGE, 1, ()) == 0.0
    assert gov.acquire(PAGE, 1, ()) == 0.0
    throttled = httpx.Response(
        400,
        headers={"X-Page-Usage": '{"call_count":100,"total_cputime":3,"total_time":3}'},
        json={"error": {"code": 32, "message": "(#32) Page request limit reached"}},
    )
    hold = gov.observe(PAGE, throttled)
    assert hold is not None and hold > 300.0
    clock.advance(1.0)
    gov.observe(PAGE, httpx.Response(200, headers={"X-Page-Usage": '{"call_count":40}'}))
    assert gov.acquire(PAGE, 1, ()) == pytest.approx(hold - 1.0)


def test_a_late_app_usage_answer_keeps_the_app_wide_hold(clock: FakeClock) -> None:
    """App usage at 100 % holds every account of the app; an answer at 30 % to another
    account's request sent before does not lift it."""
    gov = Governor(clock=clock)
    assert gov.acquire(PAGE, 1, ()) == 0.0
    assert gov.acquire(OTHER, 1, ()) == 0.0
    full = httpx.Response(
        400,
        headers={"X-App-Usage": '{"call_count":100,"total_time":20,"total_cputime":20}'},
        json={"error": {"code": 4, "message": "Application request limit reached"}},
    )
    hold = gov.observe(PAGE, full)
    assert hold is not None and hold > 300.0
    gov.observe(OTHER, httpx.Response(200, headers={"X-App-Usage": '{"call_count":30}'}))
    assert gov.acquire(OTHER, 1, ()) == pytest.approx(hold)
    assert gov.acquire(PAGE, 1, ()) == pytest.approx(hold)
    clock.advance(hold)
    assert gov.acquire(PAGE, 1, ()) == 0.0


def test_one_page_throttled_does_not_hold_the_other_pages(clock: FakeClock) -> None:
    """A Page over its Business Use Case budget (code 80001, regain in 7 minutes) waits the
    7 minutes; the app's other Pages, whose app-wide usage is 10 %, go on at once."""
    gov = Governor(clock=clock)
    assert gov.acquire(PAGE, 1, ()) == 0.0
    buc = (
        '{"page":[{"type":"pages","call_count":100,"total_cputime":25,"total_time":33,'
        '"estimated_time_to_regain_access":7}]}'
    )
    throttled = httpx.Response(
        400,
        headers={
            "X-App-Usage": '{"call_count":10,"total_cputime":2,"total_time":3}',
            "X-Business-Use-Case-Usage": buc,
        },
        json={"error": {"code": 80001, "message": "There have been too many calls"}},
    )
    assert gov.observe(PAGE, throttled) == pytest.approx(420.0)
    assert gov.acquire(PAGE, 1, ()) == pytest.approx(420.0)
    assert gov.acquire(OTHER, 1, ()) == 0.0
