"""`brandkit.testing.account_spec`: an emulated account handed to another process as JSON
and made again there, for the worker processes tests and benchmarks start."""

from __future__ import annotations

import json

import pytest

from brandkit.errors import ConfigurationError
from brandkit.testing import EMULATORS, account_from_spec, account_spec, emulator


@pytest.mark.parametrize("platform", sorted(EMULATORS))
def test_an_account_goes_through_json_and_back(platform: str) -> None:
    """Every emulator's account: the same key, base URL, secrets and plain settings; an
    object of this process (a media host) is left out, as JSON cannot carry it."""
    emu = emulator(platform)
    with emu.serve():
        account = emu.account()
    back = account_from_spec(json.loads(json.dumps(account_spec(account))))
    assert (back.key, back.base_url) == (account.key, account.base_url)
    assert {k: back.secret(k) for k in back.secret_names} == {
        k: account.secret(k) for k in account.secret_names
    }
    plain = {k: v for k, v in account.settings.items() if k != "media_host" or v is None}
    assert back.settings == plain


def test_what_is_no_spec_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an account spec"):
        account_from_spec({"platform": "x", "name": "a"})
