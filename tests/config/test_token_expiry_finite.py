"""``token_expires_at`` is a time: NaN (which TOML writes as ``nan``) or infinity is refused
when the account is made, naming the key, rather than taken as an expiry no comparison
holds for (Meta's adapters then ask for a new token at every request, and an X or LinkedIn
token is never refreshed ahead)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "make",
    [
        lambda t: Account.x(user_token="tok-123456", token_expires_at=t),
        lambda t: Account.instagram(ig_user_id="1", token="tok-123456", token_expires_at=t),
        lambda t: Account.threads(user_id="1", token="tok-123456", token_expires_at=t),
        lambda t: Account.linkedin(
            author="urn:li:person:a", token="tok-123456", token_expires_at=t
        ),
    ],
    ids=["x", "instagram", "threads", "linkedin"],
)
def test_non_finite_expiry_is_refused(make: Callable[[float], Account], value: float) -> None:
    with pytest.raises(ConfigurationError, match="token_expires_at"):
        make(value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf"])
def test_non_finite_expiry_in_a_file_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        f'[accounts.ig]\nplatform = "instagram"\nig_user_id = "1"\ntoken_env = "T"\n'
        f"token_expires_at = {value}\n"
    )
    with pytest.raises(ConfigurationError, match=r"\[accounts.ig\].*token_expires_at"):
        Account.load(path, environ={"T": "tok-123456"})


def test_finite_expiry_is_kept() -> None:
    account = Account.x(user_token="tok-123456", token_expires_at=1_900_000_000)
    assert account.settings["token_expires_at"] == 1_900_000_000
    assert Account.x(user_token="tok-123456").settings["token_expires_at"] is None
