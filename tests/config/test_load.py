"""Account.load: the TOML file is read through pydantic models, and every error names the
file, the table and the key, with the closest known name for a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError

ENV = {"TOKEN": "tok-123456", "PW": "pw-123456"}


def load(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> dict[str, Account]:
    path = tmp_path / "brandkit.toml"
    path.write_text(body, encoding="utf-8")
    return Account.load(path, environ=ENV if env is None else env)


MASTO = '[accounts.masto]\nplatform = "mastodon"\ntoken_env = "TOKEN"\n'
TG = '[accounts.tg]\nplatform = "telegram"\nbot_token_env = "TOKEN"\n'
X = '[accounts.brand_x]\nplatform = "x"\nuser_token_env = "TOKEN"\n'
INSTA = '[accounts.insta]\nplatform = "instagram"\nig_user_id = "1784"\ntoken_env = "TOKEN"\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            MASTO + "instance_url = 5\n",
            "brandkit.toml [accounts.masto] instance_url: expected a string, got 5",
        ),
        (
            TG + "chat_id = [1, 2]\n",
            "[accounts.tg] chat_id: expected a string or an integer, got [1, 2]",
        ),
        (
            X + 'base_url = "file:///etc"\n',
            "[accounts.brand_x] base_url: expected an http(s) URL such as https://example.com, "
            "got 'file:///etc'",
        ),
        (
            MASTO + 'instance_url = "mastodon.social"\n',
            "[accounts.masto] instance_url: expected an http(s) URL",
        ),
        (
            MASTO + 'instanse_url = "https://m.example"\n',
            "[accounts.masto] instanse_url: unknown key (did you mean 'instance_url'?); "
            "known keys: instance_url, platform, token_env",
        ),
        (
            X + 'usernme = "brand"\n',
            "[accounts.brand_x] usernme: unknown key (did you mean 'username'?)",
        ),
        (
            MASTO + 'instance_url = "https://m.example"\ntoken_env = 7\n',
            "brandkit.toml' is not valid TOML",  # a key written twice
        ),
        (
            '[accounts.m]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
            "token_env = 7\n",
            "[accounts.m] token_env: expected a string, got 7",
        ),
        (
            '[accounts.m]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n',
            "[accounts.m] token_env: missing",
        ),
        (
            '[accounts.m]\nplatform = "mastodon"\ntoken_env = "TOKEN"\n',
            "[accounts.m] instance_url: missing",
        ),
        ('[accounts.t]\nplatform = "twitter"\n', "platform: must be one of x, mastodon"),
        ('[accounts.t]\nplatform = "twitter"\n', "(did you mean 'x'?), got 'twitter'"),
        ("[accounts.t]\nplatform = 3\n", "[accounts.t] platform: must be one of"),
        ("[accounts]\nt = 3\n", "[accounts.t] must be a table (its keys under [accounts.t])"),
        ("[accounts]\nt = 3\n", "got an integer (not shown)"),
        ('[acounts.t]\nplatform = "x"\n', "unknown table [acounts] (did you mean 'accounts'?)"),
        (
            '[accounts.l]\nplatform = "linkedin"\nauthor = "urn:li:person:a"\n'
            'token_env = "TOKEN"\nversion = 202608\n',
            "[accounts.l] version: expected a string, got 202608",
        ),
        (
            INSTA + 'token_expires_at = "soon"\n',
            "[accounts.insta] token_expires_at: expected a number, got 'soon'",
        ),
        (
            '[accounts.b]\nplatform = "bluesky"\nhandle = "a.example"\napp_password_env = "PW"\n'
            "did = true\n",
            "[accounts.b] did: expected a string, got True",
        ),
    ],
)
def test_wrong_files_name_file_table_and_key(tmp_path: Path, body: str, message: str) -> None:
    """Wrong types, non-http URLs, unknown keys and platforms are ConfigurationErrors that
    say where (file, table, key) and what to write instead."""
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, body)
    assert message in str(info.value)
    assert "tok-123456" not in str(info.value)


def test_secret_in_file_and_unset_variable_are_named(tmp_path: Path) -> None:
    """A secret written in the file and an unset variable are refused with the key named; a
    placeholder credential in the environment is refused like one passed in Python."""
    with pytest.raises(ConfigurationError, match=r"\[accounts.tg\] bot_token: a secret") as i:
        load(tmp_path, TG.replace('bot_token_env = "TOKEN"', 'bot_token = "1:abc"'))
    assert "1:abc" not in str(i.value) and 'bot_token_env = "VARIABLE"' in str(i.value)
    with pytest.raises(ConfigurationError, match="'NOPE' \\(for token\\) is not set"):
        load(tmp_path, MASTO.replace("TOKEN", "NOPE") + 'instance_url = "https://m.example"\n')
    with pytest.raises(ConfigurationError, match="token contains a non-ASCII character"):
        load(tmp_path, MASTO + 'instance_url = "https://m.example"\n', env={"TOKEN": "…"})


def test_valid_file_types_are_kept(tmp_path: Path) -> None:
    """TOML's own types reach the factories: an integer chat id stays an integer, an integer
    expiry is a number, and every key of the docs' examples loads."""
    accounts = load(
        tmp_path,
        TG
        + "chat_id = -1001234\n\n"
        + INSTA
        + "token_expires_at = 1900000000\n\n"
        + MASTO
        + 'instance_url = "https://m.example/"\n',
    )
    assert accounts["tg"].settings["chat_id"] == -1001234
    assert accounts["insta"].settings["token_expires_at"] == 1900000000
    assert accounts["masto"].base_url == "https://m.example"
    assert accounts["masto"].secret("token") == "tok-123456"


def test_a_huge_or_deeply_nested_file_is_refused_with_a_message(tmp_path: Path) -> None:
    """A file over 1 MiB (a path given by mistake) and one nested thousands of brackets deep
    are refused as configuration errors naming the file: neither is read until memory runs
    out, nor ends the program with a RecursionError traceback."""
    path = tmp_path / "brandkit.toml"
    path.write_text(MASTO + 'instance_url = "https://m.example"\n' + "#" * (1 << 20) + "\n")
    with pytest.raises(ConfigurationError, match=r"brandkit.toml' is larger than 1 MiB"):
        Account.load(path, environ=ENV)
    with pytest.raises(ConfigurationError, match="nested too deeply"):
        load(tmp_path, MASTO + "deep = " + "[" * 5000 + "\n")
    # A file of exactly 1 MiB still loads.
    body = MASTO + 'instance_url = "https://m.example"\n'
    path.write_text(body + "#" * ((1 << 20) - len(body) - 1) + "\n")
    assert path.stat().st_size == 1 << 20
    assert list(Account.load(path, environ=ENV)) == ["masto"]
