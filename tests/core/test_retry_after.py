"""Retry-After in seconds, as the adapters read it: a hostile or broken header never becomes
an endless (or negative) wait."""

from __future__ import annotations

import httpx
import pytest

from brandkit.errors import AuthError, RateLimited, Rejected
from brandkit.platforms._base import classify, retry_after_seconds


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
