"""Account.load: mistakes a newcomer writes in a first brandkit.toml get a message that says
what is wrong and what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError


def load(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> dict[str, Account]:
    path = tmp_path / "brandkit.toml"
    path.write_text(body, encoding="utf-8")
    return Account.load(path, environ={"PW": "pw-123456"} if env is None else env)


def test_a_table_without_platform_says_it_is_missing(tmp_path: Path) -> None:
    body = '[accounts.acme]\nhandle = "acme.bsky.social"\napp_password_env = "PW"\n'
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body)
    message = str(err.value)
    assert "[accounts.acme] platform: missing" in message
    assert 'platform = "bluesky"' in message
    assert "not shown" not in message
