"""Retry-After in seconds, as the adapters read it: a hostile or broken header never becomes
an endless (or negative) wait."""

from __future__ import annotations

import httpx
import pytest

from brandkit.errors import AuthError, RateLimited, Rejected
from brandkit.platforms._base import classify, retry_after_of, retry_after_seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("1e400", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def _answer(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://blog.example/api"))


def test_classify_names_the_bucket_and_the_reset_of_a_429() -> None:
    error = classify("ghost", _answer(429), "slow down", retry_after=60, bucket="ghost:api")
    assert isinstance(error, RateLimited)
    assert error.bucket == "ghost:api" and error.retry_after == 60
    assert error.reset_at is not None


def test_classify_adds_what_to_check_to_an_auth_error() -> None:
    error = classify(
        "devto", _answer(403), "forbidden", auth_statuses=(401, 403), auth_hint="Check the key"
    )
    assert isinstance(error, AuthError)
    assert str(error) == "devto answered 403: forbidden. Check the key"
    plain = classify("x", _answer(403), "forbidden")
    assert isinstance(plain, Rejected) and not plain.duplicate


def test_classify_marks_a_duplicate() -> None:
    error = classify("devto", _answer(422), "title used", duplicate=True)
    assert isinstance(error, Rejected) and error.duplicate


def test_an_http_date_counts_from_the_answers_date() -> None:
    """RFC 9110 lets Retry-After be an HTTP date (Cloudflare and Apache in front of a blog
    send one): it was read as no wait at all, so the adapters retried at once into the
    same 429. It counts from the answer's own Date (both are the server's clock), or from
    ours without one; one already past is no wait, and an absurd one is cut to a day."""
    date = "Mon, 07 Dec 2026 10:00:00 GMT"
    assert retry_after_seconds("Mon, 07 Dec 2026 10:02:30 GMT", date) == 150.0
    assert retry_after_seconds("Mon, 07 Dec 2026 09:00:00 GMT", date) == 0.0
    assert retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", date) == 86_400.0
    assert retry_after_seconds("Mon, 07 Dec 2026 10:02:30 GMT", "garbled") is not None
    assert retry_after_seconds("Mon, 32 Foo 2026 10:02:30 GMT", date) is None
    import email.utils
    import time

    soon = email.utils.formatdate(time.time() + 120, usegmt=True)
    wait = retry_after_seconds(soon)
    assert wait is not None and 100 < wait <= 120
    response = httpx.Response(
        429, headers={"Retry-After": "Mon, 07 Dec 2026 10:01:00 GMT", "Date": date}
    )
    assert retry_after_of(response) == 60.0
