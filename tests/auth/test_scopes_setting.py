"""An account's ``scopes`` setting written by hand as text reads as its scopes, on every
platform whose credentials ``credentials_of`` gives back."""

from __future__ import annotations

import pytest

from brandkit import Account, auth


@pytest.mark.parametrize(
    "written", ["tweet.read users.read", "tweet.read,users.read", ["tweet.read", "users.read"]]
)
def test_x_scopes_written_as_text(written: object) -> None:
    account = Account("x", secrets={"user_token": "t0ken"}, settings={"scopes": written})
    creds = auth.x.credentials_of(account)
    assert creds is not None and creds.scopes == ("tweet.read", "users.read")


def test_linkedin_scopes_written_as_text() -> None:
    account = Account(
        "linkedin",
        secrets={"token": "t0ken"},
        settings={"scopes": "w_organization_social r_organization_social"},
    )
    creds = auth.linkedin.credentials_of(account)
    assert creds is not None
    assert creds.scopes == ("w_organization_social", "r_organization_social")


def test_bluesky_scopes_written_as_text_are_not_single_letters() -> None:
    account = Account(
        "bluesky",
        secrets={"oauth_access_token": "t0ken", "dpop_key": "k3y"},
        settings={"oauth": {"scopes": "atproto transition:generic"}},
    )
    creds = auth.bluesky.credentials_of(account)
    assert creds is not None and creds.scopes == ("atproto", "transition:generic")
