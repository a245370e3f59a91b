"""Ghost checks an Admin API token's ``exp`` and ``iat`` on its own clock (jsonwebtoken,
``maxAge: '5m'``): on a machine whose clock is 5 minutes or more behind Ghost's, every token
was refused with 401 "Invalid token: jwt expired", an `AuthError` that said nothing of the
clock. Now one such refusal whose ``Date`` shows Ghost's clock that far ahead makes brandkit
sign with Ghost's time and send the request once more; a refusal the ``Date`` does not
explain is an `AuthError` that says what Ghost's clock reads."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Media
from brandkit.content import Article
from brandkit.errors import AuthError
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator, sign_admin_token

from .conftest import CREATE, EXPIRED_REFUSAL


def test_the_emulator_refuses_a_token_from_a_clock_behind_and_says_when(
    emu: GhostEmulator,
) -> None:
    emu.clock.advance(timedelta(minutes=10))
    token = sign_admin_token(emu.admin_key, iat=time.time())
    answer = httpx.get(
        f"{emu.base_url}/ghost/api/admin/posts/", headers={"Authorization": f"Ghost {token}"}
    )
    assert answer.status_code == 401
    (error,) = answer.json()["errors"]
    assert (error["message"], error["type"], error["code"]) == (
        "Invalid token: jwt expired",
        "UnauthorizedError",
        "INVALID_JWT",
    )
    # Its Date is Ghost's clock, ten minutes ahead of ours.
    date = email.utils.parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert abs(date - (time.time() + 600)) < 5


def test_a_clock_ahead_of_ghosts_is_no_refusal(emu: GhostEmulator, client: Client) -> None:
    """jsonwebtoken has no check of an iat in the future: a token from a clock ahead is
    good until Ghost's clock reaches its exp."""
    emu.clock.advance(timedelta(minutes=-10))
    (d,) = client.publish(Article(title="Ahead", body="x"), emu.account())
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("POST", CREATE) == 1


def test_a_clock_behind_ghosts_signs_with_ghosts_time_and_tries_once_more(
    emu: GhostEmulator, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    emu.clock.advance(timedelta(minutes=10))
    account = emu.account()
    with caplog.at_level(logging.WARNING, logger="brandkit.platforms.ghost"):
        (d,) = client.publish(Article(title="Behind", body="x"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_titles() == ["Behind"]
    assert emu.count("POST", CREATE) == 2  # refused once, then sent with Ghost's time
    assert "clock" in caplog.text and "ahead" in caplog.text
    # The adapter keeps the difference: later requests are signed right the first time.
    updated = client.update(d, Article(title="Behind", body="y", slug="behind"))
    assert updated.status is DeliveryStatus.SENT
    refused = [r for r in emu.requests if r.url.path.startswith("/ghost/api/admin/")]
    assert len(refused) == 2 + 2  # the create twice; then the read and the edit once each


def test_a_time_past_on_ghosts_clock_is_published_not_refused(
    emu: GhostEmulator, client: Client
) -> None:
    """Ghost decides whether a scheduled time has passed: the repeat is made anew with its
    clock, so a time five minutes ahead on ours (five past on Ghost's) goes out now, dated
    as asked, rather than being refused as less than 2 minutes ahead."""
    emu.clock.advance(timedelta(minutes=10))
    at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    (d,) = client.publish(
        Article(title="Embargo", body="x", status="scheduled", scheduled_at=at), emu.account()
    )
    assert d.status is DeliveryStatus.SENT, d.error
    post = emu.post("embargo")
    assert post["status"] == "published"
    assert post["published_at"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_refusal_the_date_does_not_explain_says_what_ghosts_clock_reads(
    emu: GhostEmulator, client: Client
) -> None:
    emu.clock.advance(timedelta(minutes=10))
    # A proxy in front of Ghost answers with its own Date, our clock's: nothing to learn.
    ours = email.utils.formatdate(time.time(), usegmt=True)
    emu.fault(method="POST", path=CREATE, headers={"date": ours}, times=5)
    (d,) = client.publish(Article(title="Unexplained", body="x"), emu.account())
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError)
    text = str(d.error)
    assert "jwt expired" in text and "clock" in text and "NTP" in text
    assert emu.count("POST", CREATE) == 1  # no blind repeat
    assert emu.post_titles() == []


def test_a_second_refusal_is_reported_not_repeated(emu: GhostEmulator, client: Client) -> None:
    """At most one repeat: a Ghost that refuses the token signed with its own time too is
    an AuthError, and the adapter does not keep the difference it learnt."""
    emu.clock.advance(timedelta(minutes=10))
    ahead = email.utils.formatdate(emu.clock.time(), usegmt=True)
    emu.fault(
        method="POST",
        path=CREATE,
        status=401,
        body=EXPIRED_REFUSAL,
        headers={"date": ahead},
        times=5,
    )
    (d,) = client.publish(Article(title="Twice refused", body="x"), emu.account())
    assert isinstance(d.error, AuthError)
    assert emu.count("POST", CREATE) == 2
    assert emu.post_titles() == []


def test_a_refused_image_upload_is_made_again_with_ghosts_time(
    emu: GhostEmulator, client: Client
) -> None:
    """The upload is the first signed request of an article with an image: refused for the
    clock, it is made anew (its multipart body too) and stored once."""
    emu.clock.advance(timedelta(minutes=30))
    image = Media.from_bytes(png(), alt="Chart")
    (d,) = client.publish(Article(title="Chart", body="x", featured_image=image), emu.account())
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("POST", r"/ghost/api/admin/images/upload/") == 2
    stored = emu.post("chart")["feature_image"]
    assert stored is not None and emu.image(stored) == image.read()
