"""A ``Date`` header whose time no UTC clock holds is read as no ``Date``: a refused token
is the `AuthError` that says to check this machine's clock, never a ValueError from
writing Ghost's clock out."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import AuthError
from brandkit.testing.ghost import GhostEmulator

from .conftest import CREATE, EXPIRED_REFUSAL


def test_a_refusal_dated_past_year_9999_in_utc_is_an_auth_error(
    emu: GhostEmulator, client: Client
) -> None:
    """``Fri, 31 Dec 9999 23:59:59 -0100`` is past year 9999 once in UTC: the publish used
    to fail with "year 10000 is out of range" instead of the refusal."""
    late = "Fri, 31 Dec 9999 23:59:59 -0100"
    emu.fault(
        method="POST",
        path=CREATE,
        status=401,
        body=EXPIRED_REFUSAL,
        headers={"date": late},
        times=5,
    )
    (d,) = client.publish(Article(title="Garbled date", body="x"), emu.account())
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError), repr(d.error)
    assert "jwt expired" in str(d.error) and "clock may be behind" in str(d.error)
    assert emu.count("POST", CREATE) == 1  # no repeat signed with a time no clock holds
    assert emu.post_titles() == []
