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


@pytest.mark.parametrize("written", ["${ACME_TOKEN}", "$ACME_TOKEN"])
def test_a_shell_variable_in_an_env_key_says_to_write_its_name(
    tmp_path: Path, written: str
) -> None:
    body = (
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
        f'token_env = "{written}"\n'
    )
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body, env={"ACME_TOKEN": "tok-123456"})
    message = str(err.value)
    # Not "did you paste the token itself?": it is the variable, written as a shell would.
    assert "paste" not in message
    assert 'write token_env = "ACME_TOKEN"' in message
    assert "does not expand" in message


def test_a_shell_variable_in_a_url_says_brandkit_does_not_expand_it(tmp_path: Path) -> None:
    body = (
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "${MASTO_URL}"\ntoken_env = "PW"\n'
    )
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body)
    message = str(err.value)
    assert "brandkit.toml [accounts.masto] instance_url: " in message
    assert "does not expand ${...}" in message
    assert "write the URL itself" in message


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    # Windows editors (Notepad before 2019, PowerShell's Out-File -Encoding utf8) start a
    # UTF-8 file with U+FEFF: it was refused as "Invalid statement (at line 1, column 1)".
    path = tmp_path / "brandkit.toml"
    body = '[accounts.acme]\nplatform = "bluesky"\nhandle = "acme.bsky.social"\n'
    path.write_bytes(b"\xef\xbb\xbf" + (body + 'app_password_env = "PW"\n').encode())
    accounts = Account.load(path, environ={"PW": "pw-123456"})
    assert accounts["acme"].platform == "bluesky"
    assert accounts["acme"].secret("app_password") == "pw-123456"


def test_a_syntax_error_gives_its_line(tmp_path: Path) -> None:
    body = '[accounts.acme]\nplatform = "bluesky"\nhandle = acme.bsky.social\n'
    with pytest.raises(ConfigurationError, match=r"not valid TOML: .*line 3"):
        load(tmp_path, body)


def test_keys_outside_an_account_table_say_where_they_go(tmp_path: Path) -> None:
    body = 'platform = "bluesky"\nhandle = "acme.bsky.social"\napp_password_env = "PW"\n'
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body)
    message = str(err.value)
    # It is a key, not a table: "unknown table [platform]" sent people looking for one.
    assert "unknown table" not in message
    assert "platform: a key outside any table" in message
    assert "[accounts.<name>]" in message
    assert "bluesky" not in message  # the value is not quoted: it may be a secret


def test_a_variable_set_but_empty_says_so(tmp_path: Path) -> None:
    # `export ACME_TOKEN=` (or an empty line in a .env file): "is not set" sent people to
    # check a variable that `env` shows them is there.
    body = (
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
        'token_env = "ACME_TOKEN"\n'
    )
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body, env={"ACME_TOKEN": ""})
    assert "environment variable 'ACME_TOKEN' (for token) is set but empty" in str(err.value)
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body, env={})
    assert "environment variable 'ACME_TOKEN' (for token) is not set" in str(err.value)


def test_a_secret_written_in_the_file_says_to_replace_it_if_shared(tmp_path: Path) -> None:
    # brandkit.toml is meant to be committed: a secret written there may already be in a
    # repository's history, where moving it to the environment does not take it back.
    body = (
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
        'token = "tok-written-in-the-file"\n'
    )
    with pytest.raises(ConfigurationError) as err:
        load(tmp_path, body)
    message = str(err.value)
    assert "tok-written-in-the-file" not in message
    assert 'write token_env = "VARIABLE"' in message
    assert "committed or shared, revoke that token and make a new one" in message


def test_a_file_not_in_utf8_gives_the_line(tmp_path: Path) -> None:
    # Saved as Latin-1 (or Windows-1252) by an editor: the message gave a byte offset.
    path = tmp_path / "brandkit.toml"
    path.write_bytes(
        b'[accounts.acme]\nplatform = "bluesky"\n# caf\xe9\nhandle = "a.bsky.social"\n'
    )
    with pytest.raises(ConfigurationError) as err:
        Account.load(path, environ={})
    message = str(err.value)
    assert "is not UTF-8 at line 3, column 6" in message
    assert "save it as UTF-8" in message
    assert "position" not in message
