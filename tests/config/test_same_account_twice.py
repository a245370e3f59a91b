"""Account.load: two tables that are the same account (a table copied under a new name and
not changed) are refused. Both were loaded, and publishing to the file's accounts posted
everything twice to that one account."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client, ConfigurationError, Post
from brandkit.testing import emulator

TABLE = '[accounts.{name}]\nplatform = "mastodon"\ninstance_url = "{url}"\ntoken_env = "{env}"\n'


def write(tmp_path: Path, *tables: str) -> Path:
    path = tmp_path / "brandkit.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def test_the_same_account_twice_is_refused(tmp_path: Path) -> None:
    emu = emulator("mastodon")
    with emu.serve() as url:
        token = emu.account().secret("token")
        assert token is not None
        # Two variables holding one token: the same account under two names.
        path = write(
            tmp_path,
            TABLE.format(name="acme", url=url, env="ACME_TOKEN"),
            TABLE.format(name="acme_copy", url=url, env="ACME_TOKEN_2"),
        )
        env = {"ACME_TOKEN": token, "ACME_TOKEN_2": token}
        with pytest.raises(ConfigurationError) as err:
            Account.load(path, environ=env)
        message = str(err.value)
        assert "[accounts.acme_copy] is the same account as [accounts.acme]" in message
        assert "remove one" in message
        assert token not in message
        # One table of it loads and posts once.
        only = write(tmp_path, TABLE.format(name="acme", url=url, env="ACME_TOKEN"))
        with Client() as client:
            deliveries = client.publish(
                Post(text="once"), list(Account.load(only, environ=env).values())
            )
        assert [d.status.value for d in deliveries] == ["sent"]


def test_other_accounts_on_one_instance_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TABLE.format(name="acme", url="https://m.example", env="A"),
        TABLE.format(name="beta", url="https://m.example", env="B"),
    )
    accounts = Account.load(path, environ={"A": "tok-a-123456", "B": "tok-b-123456"})
    assert sorted(accounts) == ["acme", "beta"]
